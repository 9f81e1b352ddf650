//! Long polling and handling: updates in, the flow's replies out.
//!
//! The poll loop only fetches updates and queues them per chat ([`Queues`]); each chat's
//! worker translates an update ([`translate`]), asks the [`Flow`] and shows the reply
//! ([`plan`] then [`Sender::execute`]). Handlers decide nothing: the flow does. Every
//! callback query is answered exactly once ([`AnswerOnce`]), every failure is logged in the
//! update's span (update id, user id; never the token or the text typed) and the person sees
//! [`GENERIC_FAILURE`], never internals.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use shopbot_core::flow::{Flow, Incoming};
use shopbot_core::ids::UpdateId;
use teloxide::RequestError;
use teloxide::payloads::setters::*;
use teloxide::prelude::Requester;
use teloxide::types::{AllowedUpdate, ChatId, Update};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::answer::{AnswerOnce, GENERIC_FAILURE};
use crate::bot::Sender;
use crate::queues::Queues;
use crate::render::{Origin, plan};
use crate::translate::{Event, What, translate};

/// The longest pause between failed polls.
const MAX_POLL_BACKOFF: Duration = Duration::from_secs(30);

/// What every chat worker shares.
pub(crate) struct Handler {
    pub(crate) flow: Flow,
    pub(crate) sender: Sender,
    queues: Queues<Update>,
}

impl Handler {
    pub(crate) fn new(flow: Flow, sender: Sender) -> Handler {
        Handler {
            flow,
            sender,
            queues: Queues::default(),
        }
    }

    /// Handles `update` to the end; never fails (failures are logged and answered).
    pub(crate) async fn handle(&self, update: Update) {
        let update_id = update.id.0;
        let Some(event) = translate(&update) else {
            tracing::debug!(update_id, "skipping an update the shop does not use");
            return;
        };
        let span = tracing::info_span!(
            "update",
            update_id,
            user_id = event.profile.id.0,
            chat_id = event.chat.0
        );
        self.handle_event(UpdateId(i64::from(update_id)), event)
            .instrument(span)
            .await;
    }

    async fn handle_event(&self, update: UpdateId, event: Event) {
        let Event {
            chat,
            profile,
            what,
        } = event;
        let telegram_chat = ChatId(chat.0);
        match what {
            What::Button {
                query,
                incoming,
                pressed,
            } => {
                let sender = self.sender.clone();
                let guard = AnswerOnce::new(move |toast: Option<String>| async move {
                    if let Err(error) = sender.answer(query, toast).await {
                        tracing::warn!(%error, "cannot answer the button press");
                    }
                });
                match self
                    .flow
                    .handle_update(update, chat, profile, incoming)
                    .await
                {
                    Ok(reply) => {
                        let plan = plan(&reply, Origin::Button { pressed });
                        guard.answer(plan.toast).await;
                        self.show(telegram_chat, plan.steps).await;
                    }
                    Err(error) => {
                        tracing::error!(error = %error, "the flow failed on a button press");
                        guard.answer(Some(GENERIC_FAILURE.to_owned())).await;
                    }
                }
            }
            What::Message(incoming) => {
                self.answer_message(update, chat, profile, incoming).await;
            }
            What::Document { file_id, file_name } => {
                let incoming = match self.sender.download(file_id).await {
                    Ok(Some(bytes)) => Incoming::Document { file_name, bytes },
                    Ok(None) => Incoming::TooLarge { file_name },
                    Err(error) => {
                        tracing::warn!(%error, "cannot download the document");
                        self.show_failure(telegram_chat).await;
                        return;
                    }
                };
                self.answer_message(update, chat, profile, incoming).await;
            }
        }
    }

    async fn answer_message(
        &self,
        update: UpdateId,
        chat: shopbot_core::ids::ChatId,
        profile: shopbot_core::user::UserProfile,
        incoming: Incoming,
    ) {
        match self
            .flow
            .handle_update(update, chat, profile, incoming)
            .await
        {
            Ok(reply) => {
                let plan = plan(&reply, Origin::Message);
                self.show(ChatId(chat.0), plan.steps).await;
            }
            Err(error) => {
                tracing::error!(error = %error, "the flow failed on a message");
                self.show_failure(ChatId(chat.0)).await;
            }
        }
    }

    async fn show(&self, chat: ChatId, steps: Vec<crate::render::Step>) {
        if let Err(error) = self.sender.execute(chat, steps).await {
            tracing::warn!(%error, "cannot show the reply");
        }
    }

    async fn show_failure(&self, chat: ChatId) {
        let steps = vec![crate::render::Step::Notice(GENERIC_FAILURE.to_owned())];
        self.show(chat, steps).await;
    }

    /// Handles `chat`'s queued updates one by one until its queue is empty. A handler that
    /// panics loses its own update only: the worker goes on, so the chat is never left with
    /// a queue and no worker.
    async fn drain(self: Arc<Self>, chat: i64) {
        while let Some(update) = self.queues.next(chat) {
            let update_id = update.id.0;
            if AssertUnwindSafe(self.handle(update))
                .catch_unwind()
                .await
                .is_err()
            {
                tracing::error!(update_id, "handling the update panicked");
            }
        }
    }
}

/// The chat an update is serialised by: the chat it happened in, else its sender, else
/// its own id (an update nobody else waits for).
fn queue_key(update: &Update) -> i64 {
    match (update.chat(), update.from()) {
        (Some(chat), _) => chat.id.0,
        (None, Some(user)) => i64::try_from(user.id.0).unwrap_or(i64::MAX),
        (None, None) => -i64::from(update.id.0),
    }
}

/// Polls until `stop` turns true, handing updates to per-chat workers in `workers`.
pub(crate) async fn poll(
    handler: &Arc<Handler>,
    poll_timeout: Duration,
    workers: &mut JoinSet<()>,
    mut stop: watch::Receiver<bool>,
) -> i32 {
    let mut offset: i32 = 0;
    let mut failures: u32 = 0;
    let timeout = u32::try_from(poll_timeout.as_secs()).unwrap_or(u32::MAX);
    loop {
        let request = handler
            .sender
            .bot()
            .get_updates()
            .offset(offset)
            .timeout(timeout)
            .allowed_updates([AllowedUpdate::Message, AllowedUpdate::CallbackQuery]);
        let result = tokio::select! {
            biased;
            _ = stop.wait_for(|stop| *stop) => return offset,
            result = request.into_future() => result,
        };
        match result {
            Ok(updates) => {
                failures = 0;
                for update in updates {
                    // Ids grow; the next poll's offset confirms everything up to this one.
                    offset = offset.max(
                        i32::try_from(update.id.0)
                            .unwrap_or(i32::MAX)
                            .saturating_add(1),
                    );
                    let chat = queue_key(&update);
                    if handler.queues.push(chat, update) {
                        workers.spawn(Arc::clone(handler).drain(chat));
                    }
                }
                while let Some(finished) = workers.try_join_next() {
                    if let Err(error) = finished {
                        tracing::error!(%error, "a chat worker ended abnormally");
                    }
                }
            }
            Err(error) => {
                failures = failures.saturating_add(1);
                let wait = poll_backoff(&error, failures);
                tracing::warn!(%error, wait_ms = wait.as_millis(), "getUpdates failed");
                tokio::select! {
                    _ = stop.wait_for(|stop| *stop) => return offset,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
}

/// How long to pause after the `failures`-th failed poll in a row.
fn poll_backoff(error: &RequestError, failures: u32) -> Duration {
    if let RequestError::RetryAfter(seconds) = error {
        return seconds.duration().min(MAX_POLL_BACKOFF);
    }
    let exponent = failures.saturating_sub(1).min(5);
    Duration::from_secs(1u64 << exponent).min(MAX_POLL_BACKOFF)
}

#[cfg(test)]
mod tests {
    use teloxide::types::Seconds;

    use super::*;

    #[test]
    fn failed_polls_back_off_up_to_a_bound() {
        let network = RequestError::Io(Arc::new(std::io::Error::other("reset")));
        let waits: Vec<u64> = (1..=8)
            .map(|n| poll_backoff(&network, n).as_secs())
            .collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 30, 30, 30]);
        let flood = RequestError::RetryAfter(Seconds::from_seconds(3));
        assert_eq!(poll_backoff(&flood, 1), Duration::from_secs(3));
    }
}
