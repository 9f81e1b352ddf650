//! The messenger port: how core pushes a message to a person, and how a send can fail.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::ids::ChatId;
use crate::text::ImageRef;

/// A button under a message; pressing it sends its [`Action`] back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    /// What the button says.
    pub label: String,
    /// What pressing it does.
    pub action: Action,
}

/// A platform-neutral message: text in the flow's small HTML subset (see
/// [`markup`](crate::markup)), rows of buttons and an optional picture.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OutgoingMessage {
    /// The text, as markup: user-provided parts are escaped.
    pub text: String,
    /// Rows of buttons, top to bottom.
    pub buttons: Vec<Vec<Button>>,
    /// A picture shown above the text (the text becomes its caption when it fits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageRef>,
}

impl OutgoingMessage {
    /// A message with `text` and `buttons` and no picture.
    pub fn new(text: impl Into<String>, buttons: Vec<Vec<Button>>) -> Self {
        OutgoingMessage {
            text: text.into(),
            buttons,
            image: None,
        }
    }

    /// The message cut into parts that each fit a messenger message of `max` code units (see
    /// [`markup::split`](crate::markup::split)); the picture goes with the first part and
    /// the buttons with the last.
    pub fn split(&self, max: usize) -> Vec<OutgoingMessage> {
        let texts = crate::markup::split(&self.text, max);
        let last = texts.len().saturating_sub(1);
        texts
            .into_iter()
            .enumerate()
            .map(|(i, text)| OutgoingMessage {
                text,
                buttons: if i == last {
                    self.buttons.clone()
                } else {
                    Vec::new()
                },
                image: if i == 0 { self.image.clone() } else { None },
            })
            .collect()
    }
}

/// Why a message could not be sent, in the three ways a deliverer must tell apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The person cannot be reached and never will be by trying again: they blocked the bot,
    /// deleted their account, never started a chat with it, or the chat does not exist.
    #[error("the person cannot be reached: {0}")]
    Gone(String),
    /// The messenger's flood control: try again after this long, not sooner.
    #[error("flood control: retry after {} s", .0.as_secs())]
    RetryAfter(Duration),
    /// Anything else (network, a server error, a refusal that may pass): may work later. A
    /// message may have been delivered all the same, so trying again may deliver it twice.
    #[error("sending failed: {0}")]
    Transient(String),
}

/// Pushes messages to people outside any conversation: the outbox deliverer (keys of a paid
/// order, invoices, staff notices) drives it. Replies within a conversation are the front
/// end's own business (it answers [`Reply`](crate::flow::Reply)s where the update came in).
///
/// # Contract
///
/// * **One message, one call.** [`send`](Messenger::send) shows `message` in `chat` as the
///   messenger can (split into several messages when the text is too long for one, the
///   picture first, the buttons on the last part) and returns once it was accepted.
/// * **Failures are classified, not retried forever.** An implementation may wait out a short
///   flood-control pause itself, but reports a longer one as [`SendError::RetryAfter`]; it
///   never repeats a send after a failure that may have delivered it (that is
///   [`SendError::Transient`]: the caller decides, from the store, when to try again).
/// * **A chat id is a person.** Core sends to a person's private chat, whose id is their user
///   id; [`SendError::Gone`] means that person, not the whole messenger, is out of reach.
/// * **No secrets in errors.** Error texts go to logs; they never carry a token.
#[async_trait]
pub trait Messenger: Send + Sync {
    /// Sends `message` to `chat`.
    async fn send(&self, chat: ChatId, message: &OutgoingMessage) -> Result<(), SendError>;
}
