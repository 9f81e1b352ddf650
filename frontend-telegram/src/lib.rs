//! The Telegram front end of shopbot: long polling, the conversation [`Flow`], and Telegram as
//! the [`Messenger`](shopbot_core::ports::Messenger) that delivers the outbox.
//!
//! [`run`] is the whole bot: it checks the token (`getMe`), removes any webhook, then polls
//! `getUpdates` and hands each update to its chat's worker, so updates of one chat are handled
//! strictly in order while other chats go on concurrently; a slow handler holds up only its
//! own chat. A handler only translates: text, button data and documents into an
//! [`Incoming`](shopbot_core::flow::Incoming), the flow's [`Reply`](shopbot_core::flow::Reply)
//! into edits and messages. Beside the poll loop, core's outbox
//! `Deliverer` (in `shopbot_core::jobs`) sends what state changes owe people through
//! the bot as a [`Messenger`](shopbot_core::ports::Messenger) ([`TelegramMessenger`]): `run`
//! drives it unless the process runs the `deliver-outbox` job itself
//! ([`TelegramBot::without_outbox`]), so exactly one deliverer works the outbox.
//!
//! This crate decides no business rule (the flow and its services do), never logs the token
//! or what people typed, and never shows people internals: a failure is logged with its update
//! id and user id, and the person gets a short generic message.
//!
//! # Why its own polling loop, not teloxide's `Dispatcher` and `Throttle`
//!
//! teloxide is used as the Bot API client only (no default features: rustls, no `throttle`,
//! no `ctrlc_handler`). The loop around it is small and each of its parts holds a promise the
//! shop depends on, which is easier to keep, and to test against the fake Bot API in
//! `tests/telegram`, when the code that keeps it is here:
//!
//! - **One handler, no routing.** Every update goes to one place, [`Flow::handle_update`],
//!   which decides everything; a `Dispatcher`'s handler tree and dependency injection would
//!   route to that one function. The flow marks the update id processed in the store before
//!   acting on it, so an update Telegram delivers again (after a restart, or to another
//!   instance) has no second effect; the loop only has to hand it over with its id.
//! - **Per-chat order for every update.** `poll.rs` queues updates by chat (`queues.rs`): one
//!   chat strictly in order, chats concurrently. An update with no chat is ordered by its
//!   sender instead of running unordered (as a `Dispatcher` runs it), so two updates of one
//!   person never race. A handler
//!   that panics loses its own update only; its chat's worker goes on.
//! - **Every button press answered exactly once** (`answer.rs`): the answer is a value that a
//!   second answer cannot compile against and that answers with a generic message when it is
//!   dropped unanswered (an error, a panic, a cancelled task), so no button keeps spinning.
//! - **Sends throttled where they are made** (`limit.rs`, `bot.rs`): each message waits for
//!   its chat's turn, then the overall turn, so a busy chat never holds up the others. The
//!   schedule is a pure function of the time, tested without a clock, and [`SendLimit`] is
//!   `None` in tests. Polling and startup are never throttled.
//! - **429 handled by rule** (`retry.rs`): a "retry after N s" is waited out at most three
//!   times and never longer than 30 s; nothing else is repeated, because a send repeated after
//!   a network error may deliver a message twice (the outbox retries later, from the store).
//!   A failed poll backs off from 1 s to 30 s.
//! - **Graceful shutdown with a deadline.** On shutdown the loop stops polling, gives the
//!   updates and the outbox message in hand [`TelegramConfig::shutdown_grace`] to finish, and
//!   confirms the handled updates to Telegram only after a clean finish, so updates abandoned
//!   at the deadline come again after a restart.
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
mod messenger;
mod poll;
mod queues;
mod render;
mod retry;
mod translate;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use shopbot_core::flow::Flow;
use shopbot_core::jobs::Deliverer;
use teloxide::prelude::Requester;
use teloxide::{ApiError, RequestError};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

pub use config::{API_URL_VAR, TOKEN_VAR, TelegramConfig, parse_api_url};
pub use error::TelegramError;
pub use limit::SendLimit;
pub use messenger::TelegramMessenger;

use crate::bot::Sender;
use crate::limit::Limiter;
use crate::poll::Handler;

/// Runs the bot until `shutdown` resolves, delivering the outbox itself: the same as
/// [`TelegramBot::new`] then [`TelegramBot::run`]. The caller closes the store afterwards.
///
/// Fails at start when the token is refused or the Bot API cannot be reached; once running,
/// failures are logged and retried, and `run` returns `Ok` at shutdown.
pub async fn run(
    config: TelegramConfig,
    flow: Flow,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), TelegramError> {
    TelegramBot::new(config)?.run(flow, shutdown).await
}

/// The bot, built before it runs so the process can take its [`messenger`](Self::messenger)
/// and deliver the outbox where it runs its other jobs.
///
/// By default [`run`](Self::run) also drives core's outbox [`Deliverer`] every
/// [`outbox_interval`](TelegramConfig::outbox_interval), so an embedder that only runs the bot
/// still gets deliveries. A process that schedules the
/// [`deliver_outbox`](shopbot_core::jobs::deliver_outbox) job itself (as `shopbot serve` does,
/// where on PostgreSQL only the elected leader runs jobs) calls
/// [`without_outbox`](Self::without_outbox), so exactly one deliverer works the outbox.
pub struct TelegramBot {
    config: TelegramConfig,
    sender: Sender,
    delivers_outbox: bool,
}

impl TelegramBot {
    /// The bot `config` describes, with its send throttle; nothing is sent yet.
    pub fn new(config: TelegramConfig) -> Result<TelegramBot, TelegramError> {
        let bot = bot::bot(&config)?;
        let limit = config.send_limit.map(|limit| Arc::new(Limiter::new(limit)));
        Ok(TelegramBot {
            sender: Sender::new(bot, limit),
            config,
            delivers_outbox: true,
        })
    }

    /// A [`Messenger`](shopbot_core::ports::Messenger) that sends through this bot, sharing its
    /// send throttle, for core's outbox deliverer.
    pub fn messenger(&self) -> TelegramMessenger {
        TelegramMessenger::new(self.sender.clone())
    }

    /// The same bot, leaving the outbox to the caller's `deliver-outbox` job.
    #[must_use]
    pub fn without_outbox(mut self) -> TelegramBot {
        self.delivers_outbox = false;
        self
    }

    /// Runs the bot until `shutdown` resolves, then stops taking updates, finishes the updates
    /// in hand and the outbox message in hand (waiting at most
    /// [`shutdown_grace`](TelegramConfig::shutdown_grace)) and returns. The caller closes the
    /// store afterwards.
    ///
    /// Fails at start when the token is refused or the Bot API cannot be reached; once
    /// running, failures are logged and retried, and `run` returns `Ok` at shutdown.
    pub async fn run(
        self,
        flow: Flow,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), TelegramError> {
        let TelegramBot {
            config,
            sender,
            delivers_outbox,
        } = self;
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
            me = sender.bot().get_me().into_future() => me,
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
        if let Err(error) = sender.bot().delete_webhook().await {
            tracing::warn!(%error, "cannot remove the webhook; polling may be refused");
        }

        let outbox = delivers_outbox.then(|| {
            let messenger = Arc::new(TelegramMessenger::new(sender.clone()));
            let threshold = flow.shop().config().low_stock_threshold;
            let deliverer = Deliverer::new(flow.clone(), messenger, threshold);
            tokio::spawn(deliver(deliverer, config.outbox_interval, stop_rx.clone()))
        });
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
        if let Some(outbox) = outbox {
            let outbox_abort = outbox.abort_handle();
            if tokio::time::timeout_at(deadline, outbox).await.is_err() {
                tracing::warn!("shutdown grace over; abandoning the outbox message in hand");
                outbox_abort.abort();
            }
        }
        stopper.abort();
        // Updates abandoned above must come again after a restart: confirm only a clean finish.
        if finished.is_ok() {
            confirm(&sender, offset).await;
        }
        Ok(())
    }
}

/// Runs a delivery round every `interval` until `stop` turns true; the message in hand when it
/// does is finished, and the rest of the round is put back as due at once.
async fn deliver(deliverer: Deliverer, interval: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        let stopping = stop.clone();
        if let Err(error) = deliverer.round_until(|| *stopping.borrow()).await {
            tracing::warn!(%error, "cannot claim outbox messages");
        }
        tokio::select! {
            biased;
            _ = stop.wait_for(|stop| *stop) => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
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
