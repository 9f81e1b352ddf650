//! The outbox deliverer: sends the messages state changes owe people (keys of a paid order,
//! an invoice, a refund, a staff notice), which the store wrote in the same command as the
//! change, through any [`Messenger`].
//!
//! One round claims due messages with a lease (another deliverer skips them until it ends),
//! renders each with [`Flow::outbox_message`], sends it to the person's private chat (whose id
//! is their user id) and records the outcome: sent; retried later after flood control (when
//! the messenger says) or a transient failure (5 s, doubling up to an hour); failed when the
//! person cannot be reached, or after [`MAX_ATTEMPTS`]. A message is sent at least once: a
//! crash between sending and recording sends it again.
//!
//! On the way it raises the staff notices the message's event calls for (see
//! [`notices`](super::notices)), each once per event by its key. The notices about the event
//! itself (an order paid, stock running low, a payment received) are raised before sending, so
//! a store that cannot take them holds the message back rather than send it twice; a message
//! given up raises its notice before the outcome is recorded. A crash in between raises again,
//! which the key makes a no-op.
//!
//! This module never sleeps or reads the system time: the caller decides when a round runs
//! (the [`Scheduler`](super::Scheduler) through [`deliver_outbox`], or a front end's own loop).

use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument;

use super::notices::Notices;
use super::{Job, JobReport};
use crate::error::{Error, Result};
use crate::flow::Flow;
use crate::ids::ChatId;
use crate::outbox::{DeliveryOutcome, OutboxBody, OutboxClaim, OutboxMessage};
use crate::ports::{Messenger, SendError};
use crate::time::Timestamp;

/// The name of the job that delivers the outbox.
pub const DELIVER_OUTBOX: &str = "deliver-outbox";

/// How often the outbox is delivered unless configured otherwise: every second, so a buyer
/// gets their keys about a second after paying.
pub const DELIVER_OUTBOX_EVERY: Duration = Duration::from_secs(1);

/// After this many attempts a message is given up.
pub const MAX_ATTEMPTS: u32 = 8;

/// How many messages one round claims.
pub const BATCH: usize = 20;

/// How long a claim hides its messages from other deliverers: longer than a batch takes.
pub const LEASE: Duration = Duration::from_secs(120);

/// The first retry's delay after a transient failure; each further one doubles, up to
/// [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_secs(5);

/// The longest delay between two attempts at a message.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// What one round did with the messages it claimed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryRound {
    /// Messages sent.
    pub sent: u64,
    /// Messages to try again later.
    pub retried: u64,
    /// Messages given up.
    pub failed: u64,
    /// Messages not started because the round was asked to stop, due again at once.
    pub put_back: u64,
}

impl DeliveryRound {
    /// Every message the round claimed.
    pub fn claimed(&self) -> u64 {
        self.sent + self.retried + self.failed + self.put_back
    }

    fn count(&mut self, outcome: DeliveryOutcome) {
        match outcome {
            DeliveryOutcome::Sent => self.sent += 1,
            DeliveryOutcome::RetryAt { .. } => self.retried += 1,
            DeliveryOutcome::Failed => self.failed += 1,
        }
    }

    /// A line for the job list, such as "sent 3, 1 to retry, 0 given up".
    fn summary(&self) -> String {
        if self.claimed() == 0 {
            return "no messages due".to_owned();
        }
        let mut summary = format!(
            "sent {}, {} to retry, {} given up",
            self.sent, self.retried, self.failed
        );
        if self.put_back > 0 {
            summary.push_str(&format!(", {} put back", self.put_back));
        }
        summary
    }
}

/// Delivers the outbox of one shop through one messenger.
#[derive(Clone)]
pub struct Deliverer {
    flow: Flow,
    messenger: Arc<dyn Messenger>,
    notices: Notices,
}

impl Deliverer {
    /// A deliverer that renders with `flow`, sends through `messenger` and warns staff of
    /// products with `low_stock_threshold` units available or fewer after an order.
    pub fn new(flow: Flow, messenger: Arc<dyn Messenger>, low_stock_threshold: u64) -> Self {
        let notices = Notices::new(flow.shop().clone(), low_stock_threshold);
        Deliverer {
            flow,
            messenger,
            notices,
        }
    }

    /// One round: claims up to [`BATCH`] due messages and delivers each. Fails only when the
    /// messages cannot be claimed; a message that fails is recorded for a retry or given up.
    pub async fn round(&self) -> Result<DeliveryRound> {
        self.round_until(|| false).await
    }

    /// As [`round`](Self::round), but once `stop` says true the messages not started yet are
    /// put back, due at once, for the next deliverer (the message in hand is finished).
    pub async fn round_until(&self, stop: impl Fn() -> bool) -> Result<DeliveryRound> {
        let storage = self.flow.shop().storage();
        let now = self.flow.shop().clock().now();
        let claim = OutboxClaim {
            now,
            lease_until: now.plus(LEASE),
            limit: BATCH,
        };
        let messages = storage.claim_outbox(claim).await?;
        let mut round = DeliveryRound::default();
        for message in messages {
            let span = tracing::info_span!(
                "outbox",
                outbox_id = message.id.0,
                user_id = message.user.0,
                attempt = message.attempts
            );
            let outcome = if stop() {
                round.put_back += 1;
                DeliveryOutcome::RetryAt {
                    at: self.flow.shop().clock().now(),
                }
            } else {
                let outcome = self.deliver(&message).instrument(span.clone()).await;
                round.count(outcome);
                outcome
            };
            if let Err(error) = storage.complete_outbox(message.id, outcome).await {
                span.in_scope(|| tracing::warn!(%error, "cannot record the outcome"));
            }
        }
        Ok(round)
    }

    /// Renders and sends one message, raising the notices it calls for; the outcome to record.
    async fn deliver(&self, message: &OutboxMessage) -> DeliveryOutcome {
        let result = match self.flow.outbox_message(message).await {
            Ok(screen) => match self.notices.for_event(message).await {
                Ok(()) => {
                    let chat = ChatId(message.user.0);
                    self.messenger.send(chat, &screen).await.map_err(|error| {
                        tracing::warn!(%error, "cannot send an outbox message");
                        Failure::from(error)
                    })
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot raise staff notices; holding the message back");
                    Err(Failure::Transient)
                }
            },
            Err(error) => {
                tracing::warn!(%error, "cannot render an outbox message");
                Err(render_failure(&error))
            }
        };
        let now = self.flow.shop().clock().now();
        let outcome = outcome(result, message.attempts, now);
        if outcome != DeliveryOutcome::Failed {
            return outcome;
        }
        tracing::warn!("giving up on an outbox message");
        if matches!(message.body, OutboxBody::StaffNotice { .. }) {
            return outcome;
        }
        match self.notices.delivery_failed(message).await {
            Ok(()) => outcome,
            Err(error) => {
                // Given up only once staff can be told; until then it is tried again.
                tracing::warn!(%error, "cannot raise the delivery-failed notice");
                DeliveryOutcome::RetryAt {
                    at: now.plus(backoff(message.attempts)),
                }
            }
        }
    }
}

/// The job [`DELIVER_OUTBOX`]: one [`Deliverer::round`] every `period`, rendering with `flow`,
/// sending through `messenger`, and warning staff of products with `low_stock_threshold`
/// units available or fewer (the CLI's `shop.low_stock_threshold`).
pub fn deliver_outbox(
    flow: &Flow,
    messenger: Arc<dyn Messenger>,
    period: Duration,
    low_stock_threshold: u64,
) -> Job {
    let deliverer = Deliverer::new(flow.clone(), messenger, low_stock_threshold);
    Job::new(DELIVER_OUTBOX, period, move || {
        let deliverer = deliverer.clone();
        async move {
            let round = deliverer.round().await?;
            Ok(JobReport::new(round.claimed(), round.summary()))
        }
    })
}

/// Why an attempt failed, as far as the next attempt is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// Trying again will not help.
    Permanent,
    /// Try again after this long.
    RetryAfter(Duration),
    /// May work later.
    Transient,
}

impl From<SendError> for Failure {
    fn from(error: SendError) -> Self {
        match error {
            SendError::Gone(_) => Failure::Permanent,
            SendError::RetryAfter(wait) => Failure::RetryAfter(wait),
            SendError::Transient(_) => Failure::Transient,
        }
    }
}

/// A message that cannot be rendered because what it is about is gone, or its reader may no
/// longer see it, never will be; a store that failed may work later.
fn render_failure(error: &Error) -> Failure {
    match error {
        Error::NotFound { .. } | Error::Invalid(_) | Error::Forbidden(_) => Failure::Permanent,
        _ => Failure::Transient,
    }
}

/// What to record after the `attempts`-th attempt ended with `result` at `now`.
fn outcome(result: Result<(), Failure>, attempts: u32, now: Timestamp) -> DeliveryOutcome {
    let wait = match result {
        Ok(()) => return DeliveryOutcome::Sent,
        Err(Failure::Permanent) => return DeliveryOutcome::Failed,
        _ if attempts >= MAX_ATTEMPTS => return DeliveryOutcome::Failed,
        Err(Failure::RetryAfter(wait)) => wait,
        Err(Failure::Transient) => backoff(attempts),
    };
    DeliveryOutcome::RetryAt {
        at: now.plus(wait.max(Duration::from_secs(1))),
    }
}

/// The delay after the `attempts`-th failed attempt: 5 s, 10 s, 20 s, … up to an hour.
fn backoff(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(16);
    FIRST_BACKOFF
        .checked_mul(1 << doublings)
        .unwrap_or(MAX_BACKOFF)
        .min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp(1_000_000);

    fn retry_in(seconds: i64) -> DeliveryOutcome {
        DeliveryOutcome::RetryAt {
            at: Timestamp(NOW.0 + seconds * 1000),
        }
    }

    #[test]
    fn a_delivered_message_is_sent() {
        assert_eq!(outcome(Ok(()), 1, NOW), DeliveryOutcome::Sent);
    }

    #[test]
    fn a_person_who_blocked_the_bot_is_not_retried() {
        let gone = Failure::from(SendError::Gone("blocked".into()));
        assert_eq!(outcome(Err(gone), 1, NOW), DeliveryOutcome::Failed);
    }

    #[test]
    fn transient_failures_back_off_exponentially() {
        let outcomes: Vec<DeliveryOutcome> = (1..=4)
            .map(|attempt| outcome(Err(Failure::Transient), attempt, NOW))
            .collect();
        assert_eq!(
            outcomes,
            vec![retry_in(5), retry_in(10), retry_in(20), retry_in(40)]
        );
        assert_eq!(backoff(30), MAX_BACKOFF);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn flood_control_is_retried_when_the_messenger_says() {
        let flood = Failure::from(SendError::RetryAfter(Duration::from_secs(17)));
        assert_eq!(outcome(Err(flood), 2, NOW), retry_in(17));
        let now_again = Failure::RetryAfter(Duration::ZERO);
        assert_eq!(outcome(Err(now_again), 2, NOW), retry_in(1));
    }

    #[test]
    fn retries_stop_after_the_last_attempt() {
        assert_eq!(
            outcome(Err(Failure::Transient), MAX_ATTEMPTS - 1, NOW),
            retry_in(FIRST_BACKOFF.as_secs() as i64 * (1 << (MAX_ATTEMPTS - 2)))
        );
        assert_eq!(
            outcome(Err(Failure::Transient), MAX_ATTEMPTS, NOW),
            DeliveryOutcome::Failed
        );
    }

    #[test]
    fn a_message_about_something_gone_is_given_up_and_a_failing_store_is_retried() {
        assert_eq!(
            render_failure(&Error::not_found("order", 7)),
            Failure::Permanent
        );
        assert_eq!(render_failure(&Error::Maintenance), Failure::Transient);
    }
}
