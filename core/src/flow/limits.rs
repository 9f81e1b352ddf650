//! Per-person rate limits, so one person flooding the bot slows only themselves.
//!
//! Each limit is a token bucket kept as one instant per person (the generic cell rate
//! algorithm): cheap, exact in integer milliseconds, and never blocking anyone — a request over
//! the limit is refused at once with the time to wait.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::ids::UserId;
use crate::time::Timestamp;

/// Allows `burst` requests at once, then one per `every`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed back to back.
    pub burst: u32,
    /// The pace after the burst: one request per this long.
    pub every: Duration,
}

impl RateLimit {
    /// `burst` at once, then one per `every`.
    pub const fn new(burst: u32, every: Duration) -> Self {
        RateLimit { burst, every }
    }

    /// No limit at all (for tests and trusted front ends).
    pub const fn unlimited() -> Self {
        RateLimit {
            burst: u32::MAX,
            every: Duration::ZERO,
        }
    }
}

/// Above this many remembered people, the ones whose buckets are full again are forgotten.
const PRUNE_ABOVE: usize = 10_000;

/// One [`RateLimit`] applied to each person separately.
#[derive(Debug)]
pub(super) struct Limiter {
    every: i64,
    tolerance: i64,
    /// When each person's bucket is next full, in milliseconds.
    full_at: Mutex<HashMap<UserId, i64>>,
}

impl Limiter {
    pub(super) fn new(limit: RateLimit) -> Self {
        let every = i64::try_from(limit.every.as_millis()).unwrap_or(i64::MAX);
        let tolerance = every.saturating_mul(i64::from(limit.burst.saturating_sub(1)));
        Limiter {
            every,
            tolerance,
            full_at: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request by `user` at `now`, or refuses it with how long to wait.
    pub(super) fn check(&self, user: UserId, now: Timestamp) -> Result<(), Duration> {
        if self.every == 0 {
            return Ok(());
        }
        let now = now.0;
        // A poisoned lock only means another request panicked mid-update of a counter.
        let mut full_at = self.full_at.lock().unwrap_or_else(|e| e.into_inner());
        if full_at.len() > PRUNE_ABOVE {
            full_at.retain(|_, at| *at > now);
        }
        let at = full_at.get(&user).copied().unwrap_or(now).max(now);
        let wait = at - now - self.tolerance;
        if wait > 0 {
            return Err(Duration::from_millis(wait.unsigned_abs()));
        }
        full_at.insert(user, at.saturating_add(self.every));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(burst: u32, every_ms: u64) -> Limiter {
        Limiter::new(RateLimit::new(burst, Duration::from_millis(every_ms)))
    }

    #[test]
    fn a_burst_is_allowed_then_the_next_request_waits_one_interval() {
        let limiter = limiter(3, 1000);
        let user = UserId(1);
        for _ in 0..3 {
            assert_eq!(limiter.check(user, Timestamp(0)), Ok(()));
        }
        assert_eq!(
            limiter.check(user, Timestamp(0)),
            Err(Duration::from_millis(1000))
        );
        assert_eq!(
            limiter.check(user, Timestamp(400)),
            Err(Duration::from_millis(600))
        );
        assert_eq!(limiter.check(user, Timestamp(1000)), Ok(()));
    }

    #[test]
    fn one_person_over_the_limit_does_not_slow_another() {
        let limiter = limiter(1, 10_000);
        assert_eq!(limiter.check(UserId(1), Timestamp(0)), Ok(()));
        assert!(limiter.check(UserId(1), Timestamp(1)).is_err());
        assert_eq!(limiter.check(UserId(2), Timestamp(1)), Ok(()));
    }

    #[test]
    fn a_refused_request_does_not_count() {
        let limiter = limiter(1, 1000);
        let user = UserId(7);
        assert_eq!(limiter.check(user, Timestamp(0)), Ok(()));
        for t in 1..100 {
            assert!(limiter.check(user, Timestamp(t)).is_err());
        }
        assert_eq!(limiter.check(user, Timestamp(1000)), Ok(()));
    }

    #[test]
    fn unlimited_never_refuses() {
        let limiter = Limiter::new(RateLimit::unlimited());
        for _ in 0..10_000 {
            assert_eq!(limiter.check(UserId(1), Timestamp(0)), Ok(()));
        }
    }
}
