//! How long a failing job waits before its next try.

use std::time::Duration;

/// The wait after a job's first consecutive failure; each further failure doubles it.
pub const RETRY_DELAY: Duration = Duration::from_secs(30);

/// The longest wait between tries of a failing job (shorter when the job's period is).
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(60 * 60);

/// The wait before the next try of a job with `period` after `consecutive_failures` failures
/// in a row (at least one): [`RETRY_DELAY`] doubled for each failure after the first, never
/// longer than the period or [`MAX_RETRY_DELAY`].
///
/// Capping by the period means a failing job is never tried less often than a healthy one;
/// capping by an hour means a daily job that failed is not left broken until tomorrow.
pub fn retry_delay(period: Duration, consecutive_failures: u32) -> Duration {
    let cap = period.min(MAX_RETRY_DELAY);
    // Past 2^16 × 30 s the cap has long been reached; stopping there keeps the shift in range.
    let doublings = consecutive_failures.saturating_sub(1).min(16);
    RETRY_DELAY.saturating_mul(1 << doublings).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);
    const DAY: Duration = Duration::from_secs(24 * 60 * 60);

    #[test]
    fn the_delay_doubles_from_thirty_seconds_up_to_an_hour() {
        let delays: Vec<u64> = (1..=9).map(|n| retry_delay(DAY, n).as_secs()).collect();
        assert_eq!(delays, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }

    #[test]
    fn the_delay_never_exceeds_the_jobs_period() {
        assert_eq!(retry_delay(MINUTE, 1), RETRY_DELAY);
        assert_eq!(retry_delay(MINUTE, 2), MINUTE);
        assert_eq!(retry_delay(MINUTE, 50), MINUTE);
        assert_eq!(
            retry_delay(Duration::from_secs(10), 1),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn endless_failures_do_not_overflow() {
        assert_eq!(retry_delay(DAY, u32::MAX), MAX_RETRY_DELAY);
        assert_eq!(retry_delay(Duration::MAX, u32::MAX), MAX_RETRY_DELAY);
        assert_eq!(retry_delay(DAY, 0), RETRY_DELAY);
    }
}
