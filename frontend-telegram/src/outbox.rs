//! The outbox worker: delivers the messages state changes owe people (keys of a paid order,
//! an invoice, a refund), which the store wrote in the same command as the change.
//!
//! It claims due messages with a lease (another worker skips them until it ends), renders
//! each with [`Flow::outbox_message`], sends it to the person's private chat (whose id is
//! their user id) and records the outcome: sent; retried later with backoff after a
//! transient failure; failed when the person blocked the bot, or after [`MAX_ATTEMPTS`].
//! A message is sent at least once: a crash between sending and recording sends it again.

use std::time::Duration;

use shopbot_core::Error;
use shopbot_core::flow::{Flow, Reply};
use shopbot_core::outbox::{DeliveryOutcome, OutboxClaim, OutboxMessage};
use shopbot_core::time::Timestamp;
use teloxide::types::ChatId;
use tokio::sync::watch;
use tracing::Instrument;

use crate::bot::Sender;
use crate::render::{Origin, plan};
use crate::retry::{Failure, classify};

/// After this many attempts a message is given up.
pub(crate) const MAX_ATTEMPTS: u32 = 8;

/// How many messages one claim takes.
const BATCH: usize = 20;

/// How long a claim hides its messages from other workers: longer than a batch takes to send.
const LEASE: Duration = Duration::from_secs(120);

/// The first retry's delay; each further one doubles, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Delivers due messages every `interval` until `stop` turns true; a batch in hand when it
/// does is finished, except messages not started yet, which are put back as due at once.
pub(crate) async fn work(
    flow: Flow,
    sender: Sender,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        deliver_due(&flow, &sender, &stop).await;
        tokio::select! {
            biased;
            _ = stop.wait_for(|stop| *stop) => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

async fn deliver_due(flow: &Flow, sender: &Sender, stop: &watch::Receiver<bool>) {
    let storage = flow.shop().storage();
    let now = flow.shop().clock().now();
    let claim = OutboxClaim {
        now,
        lease_until: now.plus(LEASE),
        limit: BATCH,
    };
    let messages = match storage.claim_outbox(claim).await {
        Ok(messages) => messages,
        Err(error) => {
            tracing::warn!(%error, "cannot claim outbox messages");
            return;
        }
    };
    for message in messages {
        let span = tracing::info_span!(
            "outbox",
            outbox_id = message.id.0,
            user_id = message.user.0,
            attempt = message.attempts
        );
        let outcome = if *stop.borrow() {
            DeliveryOutcome::RetryAt {
                at: flow.shop().clock().now(),
            }
        } else {
            deliver(flow, sender, &message)
                .instrument(span.clone())
                .await
        };
        let recorded = storage.complete_outbox(message.id, outcome).await;
        if let Err(error) = recorded {
            span.in_scope(|| tracing::warn!(%error, "cannot record the outcome"));
        }
    }
}

/// Renders and sends one message; the outcome to record.
async fn deliver(flow: &Flow, sender: &Sender, message: &OutboxMessage) -> DeliveryOutcome {
    let result = match flow.outbox_message(message).await {
        Ok(screen) => {
            let reply = Reply {
                screen: Some(screen),
                notice: None,
            };
            let steps = plan(&reply, Origin::Message).steps;
            match sender.execute(ChatId(message.user.0), steps).await {
                Ok(()) => Ok(()),
                Err(error) => {
                    tracing::warn!(%error, "cannot send an outbox message");
                    Err(classify(&error))
                }
            }
        }
        Err(error) => {
            tracing::warn!(%error, "cannot render an outbox message");
            Err(match error {
                Error::NotFound { .. } | Error::Invalid(_) => Failure::Permanent,
                _ => Failure::Transient,
            })
        }
    };
    let now = flow.shop().clock().now();
    let outcome = outcome(result, message.attempts, now);
    if outcome == DeliveryOutcome::Failed {
        tracing::warn!("giving up on an outbox message");
    }
    outcome
}

/// What to record after the `attempts`-th attempt ended with `result` at `now`.
pub(crate) fn outcome(
    result: Result<(), Failure>,
    attempts: u32,
    now: Timestamp,
) -> DeliveryOutcome {
    let wait = match result {
        Ok(()) | Err(Failure::NotModified) => return DeliveryOutcome::Sent,
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
        assert_eq!(
            outcome(Err(Failure::Permanent), 1, NOW),
            DeliveryOutcome::Failed
        );
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
    }

    #[test]
    fn flood_control_is_retried_when_telegram_says() {
        let flood = Err(Failure::RetryAfter(Duration::from_secs(17)));
        assert_eq!(outcome(flood, 2, NOW), retry_in(17));
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
}
