//! What a failed request means and whether to repeat it: Telegram's flood control (429,
//! "retry after N s") is waited out a bounded number of times; nothing else is repeated here,
//! because a repeated send after a network error may deliver a message twice.

use std::future::Future;
use std::time::Duration;

use teloxide::{ApiError, RequestError};

/// How many times one request is repeated after a 429.
pub(crate) const MAX_RETRIES: u32 = 3;

/// The longest one 429 is waited out; longer waits give up (the caller logs, the outbox
/// retries later).
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(30);

/// What a failed request means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The edit changed nothing: not an error.
    NotModified,
    /// The person blocked the bot, deleted their account, or never started a chat with it:
    /// trying again will not help.
    Permanent,
    /// Flood control: try again after this long.
    RetryAfter(Duration),
    /// Anything else (network, server errors): may work later.
    Transient,
}

/// Classifies `error`.
pub(crate) fn classify(error: &RequestError) -> Failure {
    match error {
        RequestError::RetryAfter(seconds) => Failure::RetryAfter(seconds.duration()),
        RequestError::Api(api) => match api {
            ApiError::MessageNotModified => Failure::NotModified,
            ApiError::BotBlocked
            | ApiError::UserDeactivated
            | ApiError::CantInitiateConversation
            | ApiError::CantTalkWithBots
            | ApiError::BotKicked
            | ApiError::ChatNotFound => Failure::Permanent,
            ApiError::Unknown(text) if text.starts_with("Bad Request: message is not modified") => {
                Failure::NotModified
            }
            ApiError::Unknown(text) if text.starts_with("Forbidden") => Failure::Permanent,
            _ => Failure::Transient,
        },
        RequestError::MigrateToChatId(_) => Failure::Permanent,
        _ => Failure::Transient,
    }
}

/// How long to wait before repeating a request that failed with `error` after `retries`
/// repetitions already; `None` gives up.
pub(crate) fn delay(error: &RequestError, retries: u32) -> Option<Duration> {
    match classify(error) {
        Failure::RetryAfter(wait) if retries < MAX_RETRIES && wait <= MAX_WAIT => {
            // Telegram says 0 s at times; a small floor keeps a tight loop away.
            Some(wait.max(Duration::from_millis(100)))
        }
        _ => None,
    }
}

/// Runs `request` until it succeeds or fails with anything but a 429 that [`delay`] waits out.
pub(crate) async fn with_retry<T, F, Fut>(mut request: F) -> Result<T, RequestError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, RequestError>>,
{
    let mut retries = 0;
    loop {
        match request().await {
            Ok(value) => return Ok(value),
            Err(error) => match delay(&error, retries) {
                Some(wait) => {
                    tracing::debug!(wait_ms = wait.as_millis(), "flood control, waiting");
                    tokio::time::sleep(wait).await;
                    retries += 1;
                }
                None => return Err(error),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::atomic::{AtomicU32, Ordering};

    use teloxide::types::Seconds;

    use super::*;

    fn retry_after(seconds: u32) -> RequestError {
        RequestError::RetryAfter(Seconds::from_seconds(seconds))
    }

    #[test]
    fn a_429_is_waited_out_for_as_long_as_telegram_says() {
        assert_eq!(delay(&retry_after(3), 0), Some(Duration::from_secs(3)));
        assert_eq!(delay(&retry_after(0), 0), Some(Duration::from_millis(100)));
    }

    #[test]
    fn retries_are_bounded_in_number_and_length() {
        assert_eq!(delay(&retry_after(1), MAX_RETRIES), None);
        assert_eq!(delay(&retry_after(3600), 0), None);
    }

    #[test]
    fn only_flood_control_is_retried() {
        assert_eq!(delay(&RequestError::Api(ApiError::BotBlocked), 0), None);
        assert_eq!(
            delay(&RequestError::Api(ApiError::MessageNotModified), 0),
            None
        );
    }

    #[test]
    fn errors_are_classified_by_what_the_caller_should_do() {
        let api = |e: ApiError| classify(&RequestError::Api(e));
        assert_eq!(api(ApiError::MessageNotModified), Failure::NotModified);
        assert_eq!(api(ApiError::BotBlocked), Failure::Permanent);
        assert_eq!(api(ApiError::UserDeactivated), Failure::Permanent);
        assert_eq!(
            api(ApiError::Unknown(
                "Forbidden: bot can't send messages".into()
            )),
            Failure::Permanent
        );
        assert_eq!(
            api(ApiError::Unknown("Internal Server Error".into())),
            Failure::Transient
        );
        assert_eq!(
            classify(&retry_after(7)),
            Failure::RetryAfter(Duration::from_secs(7))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_refused_twice_with_429_is_sent_a_third_time() {
        let calls = AtomicU32::new(0);
        let result = with_retry(|| async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => Err(retry_after(2)),
                _ => Ok("sent"),
            }
        })
        .await;
        assert_eq!(result.unwrap(), "sent");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn endless_429s_give_up_after_the_bound() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = with_retry(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(retry_after(1))
        })
        .await;
        assert!(matches!(result, Err(RequestError::RetryAfter(_))));
        assert_eq!(calls.load(Ordering::SeqCst), MAX_RETRIES + 1);
    }

    #[tokio::test]
    async fn other_errors_are_not_repeated() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = with_retry(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(RequestError::Api(ApiError::BotBlocked))
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
