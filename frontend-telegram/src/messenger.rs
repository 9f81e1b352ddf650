//! Telegram as a [`Messenger`]: core's outbox deliverer pushes messages through the bot's
//! throttled [`Sender`], the same one the conversation answers through, so both share one
//! send limit.
//!
//! A message is shown as a reply to a message the person sent would be (the `render` rules:
//! split to fit, picture first, buttons last); a failure is classified by `retry.rs` into the
//! port's [`SendError`]. Flood control is waited out here only as far as `retry.rs` allows;
//! a longer pause goes back to the deliverer, which retries from the store.

use async_trait::async_trait;
use shopbot_core::flow::Reply;
use shopbot_core::ids::ChatId;
use shopbot_core::ports::{Messenger, OutgoingMessage, SendError};
use teloxide::RequestError;

use crate::bot::Sender;
use crate::render::{Origin, plan};
use crate::retry::{Failure, classify};

/// Sends messages to people through the bot (see [`TelegramBot::messenger`](crate::TelegramBot::messenger)).
#[derive(Clone)]
pub struct TelegramMessenger {
    sender: Sender,
}

impl TelegramMessenger {
    pub(crate) fn new(sender: Sender) -> Self {
        TelegramMessenger { sender }
    }
}

#[async_trait]
impl Messenger for TelegramMessenger {
    async fn send(&self, chat: ChatId, message: &OutgoingMessage) -> Result<(), SendError> {
        let reply = Reply {
            screen: Some(message.clone()),
            notice: None,
        };
        let steps = plan(&reply, Origin::Message).steps;
        let chat = teloxide::types::ChatId(chat.0);
        match self.sender.execute(chat, steps).await {
            Ok(()) => Ok(()),
            Err(error) => send_error(&error),
        }
    }
}

/// What a failed send means for the deliverer (an edit that changed nothing is no failure).
fn send_error(error: &RequestError) -> Result<(), SendError> {
    match classify(error) {
        Failure::NotModified => Ok(()),
        Failure::Permanent => Err(SendError::Gone(error.to_string())),
        Failure::RetryAfter(wait) => Err(SendError::RetryAfter(wait)),
        Failure::Transient => Err(SendError::Transient(error.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use teloxide::ApiError;
    use teloxide::types::Seconds;

    use super::*;

    #[test]
    fn a_blocked_bot_is_gone_flood_control_waits_and_the_rest_may_pass() {
        let gone = send_error(&RequestError::Api(ApiError::BotBlocked));
        assert!(matches!(gone, Err(SendError::Gone(_))), "{gone:?}");
        let missing = send_error(&RequestError::Api(ApiError::ChatNotFound));
        assert!(matches!(missing, Err(SendError::Gone(_))), "{missing:?}");
        let flood = send_error(&RequestError::RetryAfter(Seconds::from_seconds(42)));
        assert_eq!(flood, Err(SendError::RetryAfter(Duration::from_secs(42))));
        let server = send_error(&RequestError::Api(ApiError::Unknown(
            "Internal Server Error".into(),
        )));
        assert!(matches!(server, Err(SendError::Transient(_))), "{server:?}");
    }
}
