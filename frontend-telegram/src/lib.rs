//! The Telegram front end of shopbot: long polling, the conversation [`Flow`], the outbox.
//!
//! [`run`] is the whole bot: it checks the token (`getMe`), removes any webhook, then polls
//! `getUpdates` and hands each update to its chat's worker, so updates of one chat are handled
//! strictly in order while other chats go on concurrently; a slow handler holds up only its
//! own chat. A handler only translates: text, button data and documents into an
//! [`Incoming`](shopbot_core::flow::Incoming), the flow's [`Reply`](shopbot_core::flow::Reply)
//! into edits and messages. Beside the poll loop, the outbox worker delivers what state
//! changes owe people.
//!
//! This crate decides no business rule (the flow and its services do), never logs the token
//! or what people typed, and never shows people internals: a failure is logged with its update
//! id and user id, and the person gets a short generic message.
//!
//! ```no_run
//! # async fn example(
//! #     flow: shopbot_core::flow::Flow,
//! #     stop: tokio::sync::oneshot::Receiver<()>,
//! # ) -> Result<(), shopbot_telegram::TelegramError> {
//! use shopbot_telegram::{TelegramConfig, run};
//!
//! let config = TelegramConfig::from_env()?; // TELEGRAM_BOT_TOKEN, TELEGRAM_API_URL
//! // Runs until `stop` fires (the `shopbot telegram` command uses SIGINT and SIGTERM).
//! run(config, flow, async move {
//!     let _ = stop.await;
//! })
//! .await
//! # }
//! ```

mod answer;
mod bot;
mod config;
mod error;
mod limit;
mod outbox;
mod poll;
mod queues;
mod render;
mod retry;
mod translate;

use std::future::Future;
use std::sync::Arc;

use shopbot_core::flow::Flow;
use teloxide::prelude::Requester;
use teloxide::{ApiError, RequestError};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

pub use config::{API_URL_VAR, SendLimit, TOKEN_VAR, TelegramConfig};
pub use error::TelegramError;

use crate::bot::Sender;
use crate::limit::Limiter;
use crate::poll::Handler;

/// Runs the bot until `shutdown` resolves, then stops taking updates, finishes the updates
/// in hand and the outbox batch in hand (waiting at most
/// [`shutdown_grace`](TelegramConfig::shutdown_grace)) and returns. The caller closes the
/// store afterwards.
///
/// Fails at start when the token is refused or the Bot API cannot be reached; once running,
/// failures are logged and retried, and `run` returns `Ok` at shutdown.
pub async fn run(
    config: TelegramConfig,
    flow: Flow,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), TelegramError> {
    let bot = bot::bot(&config)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopper = tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let mut stopped = stop_rx.clone();
    let me = tokio::select! {
        biased;
        // Asked to stop before the bot even started: nothing is in hand.
        _ = stopped.wait_for(|stop| *stop) => return Ok(()),
        me = bot.get_me().into_future() => me,
    };
    let me = me.map_err(|error| {
        stopper.abort();
        match error {
            RequestError::Api(ApiError::InvalidToken) => TelegramError::Unauthorized,
            other => TelegramError::Startup(other),
        }
    })?;
    tracing::info!(bot_id = me.id.0, "connected to the Bot API");
    // Polling and a webhook exclude each other; the bot polls.
    if let Err(error) = bot.delete_webhook().await {
        tracing::warn!(%error, "cannot remove the webhook; polling may be refused");
    }

    let limit = config.send_limit.map(|limit| Arc::new(Limiter::new(limit)));
    let sender = Sender::new(bot, limit);

    let outbox = tokio::spawn(outbox::work(
        flow.clone(),
        sender.clone(),
        config.outbox_interval,
        stop_rx.clone(),
    ));
    let handler = Arc::new(Handler::new(flow, sender.clone()));
    let mut workers = JoinSet::new();
    let offset = poll::poll(&handler, config.poll_timeout, &mut workers, stop_rx).await;

    tracing::info!(in_hand = workers.len(), "shutting down");
    let deadline = Instant::now() + config.shutdown_grace;
    let finished = tokio::time::timeout_at(deadline, async {
        while workers.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        tracing::warn!(
            unfinished = workers.len(),
            "shutdown grace over; abandoning updates in hand"
        );
        workers.abort_all();
    }
    let outbox_abort = outbox.abort_handle();
    if tokio::time::timeout_at(deadline, outbox).await.is_err() {
        tracing::warn!("shutdown grace over; abandoning the outbox batch in hand");
        outbox_abort.abort();
    }
    stopper.abort();
    // Updates abandoned above must come again after a restart: confirm only a clean finish.
    if finished.is_ok() {
        confirm(&sender, offset).await;
    }
    Ok(())
}

/// Tells Telegram the updates handled so far are done (a poll with their offset), so a
/// restart does not receive them again. Best effort: a redelivered update has no second
/// effect anyway.
async fn confirm(sender: &Sender, offset: i32) {
    if offset == 0 {
        return;
    }
    use teloxide::payloads::GetUpdatesSetters;
    let request = sender
        .bot()
        .get_updates()
        .offset(offset)
        .timeout(0)
        .limit(1);
    let confirmed =
        tokio::time::timeout(std::time::Duration::from_secs(1), request.into_future()).await;
    if !matches!(confirmed, Ok(Ok(_))) {
        tracing::debug!("cannot confirm the last updates; they may be delivered again");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `run` must be spawnable: callers (the e2e tests, embedders) run it with `tokio::spawn`.
    #[allow(dead_code)]
    fn run_is_send(config: TelegramConfig, flow: Flow) {
        fn send<T: Send>(_: &T) {}
        send(&run(config, flow, async {}));
    }
}
