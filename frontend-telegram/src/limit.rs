//! The outgoing throttle: [`SendLimit`] says how fast the bot sends, and each message waits
//! until both the overall and its chat's [`RateLimit`] allow it.
//!
//! Each limit is kept as a theoretical arrival time (the generic cell rate algorithm), the
//! same scheme the flow's per-person limits use, but here a message over the limit is
//! scheduled later instead of refused. A message first waits for its chat's turn, then for
//! the overall turn, so a busy chat never holds up the others. The schedule is pure (it takes
//! the time), so it is tested without a clock; [`Limiter`] only sleeps until the slots.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use shopbot_core::flow::RateLimit;
use tokio::time::Instant;

/// How fast the bot sends: Telegram allows about 30 messages a second overall and about one
/// a second in one chat, with short bursts tolerated. A message over the limit waits its
/// turn; it is never dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendLimit {
    /// Messages (sends and edits) across all chats.
    pub overall: RateLimit,
    /// Messages (sends and edits) in one chat.
    pub per_chat: RateLimit,
}

impl Default for SendLimit {
    /// 30 at once and then 30 a second overall; 3 at once and then one a second per chat.
    fn default() -> Self {
        SendLimit {
            overall: RateLimit::new(30, Duration::from_millis(34)),
            per_chat: RateLimit::new(3, Duration::from_secs(1)),
        }
    }
}

/// Above this many remembered chats, the ones whose schedule is in the past are forgotten.
const PRUNE_ABOVE: usize = 10_000;

/// One limit's pace: one message per `every`, `tolerance` ahead of that allowed.
#[derive(Debug, Clone, Copy)]
struct Pace {
    every: Duration,
    tolerance: Duration,
}

impl Pace {
    fn new(limit: RateLimit) -> Pace {
        let tolerance = limit
            .every
            .checked_mul(limit.burst.saturating_sub(1))
            .unwrap_or(Duration::MAX);
        Pace {
            every: limit.every,
            tolerance,
        }
    }

    /// The earliest time a message may go, given the limit's arrival time `tat`.
    fn earliest(&self, tat: Instant, now: Instant) -> Instant {
        tat.checked_sub(self.tolerance).map_or(now, |t| t.max(now))
    }

    /// The arrival time after a message sent at `at`.
    fn after(&self, tat: Instant, at: Instant) -> Instant {
        let base = tat.max(at);
        base.checked_add(self.every).unwrap_or(base)
    }
}

/// When the next messages may go, overall and per chat.
#[derive(Debug)]
pub(crate) struct Schedule {
    overall: Pace,
    per_chat: Pace,
    overall_tat: Option<Instant>,
    chats: HashMap<i64, Instant>,
}

impl Schedule {
    pub(crate) fn new(limit: SendLimit) -> Schedule {
        Schedule {
            overall: Pace::new(limit.overall),
            per_chat: Pace::new(limit.per_chat),
            overall_tat: None,
            chats: HashMap::new(),
        }
    }

    /// Reserves `chat`'s next slot for a message asked for at `now`; returns when the chat's
    /// limit lets it go (`now` when at once).
    pub(crate) fn chat_slot(&mut self, chat: i64, now: Instant) -> Instant {
        let tat = self.chats.get(&chat).copied().unwrap_or(now);
        let at = self.per_chat.earliest(tat, now);
        self.chats.insert(chat, self.per_chat.after(tat, at));
        if self.chats.len() > PRUNE_ABOVE {
            self.chats.retain(|_, tat| *tat > now);
        }
        at
    }

    /// Reserves the next overall slot for a message ready at `now`; returns when it may go.
    ///
    /// Asked only once the chat's slot has come, so a chat that waits its turn never holds
    /// up messages to other chats.
    pub(crate) fn overall_slot(&mut self, now: Instant) -> Instant {
        let tat = self.overall_tat.unwrap_or(now);
        let at = self.overall.earliest(tat, now);
        self.overall_tat = Some(self.overall.after(tat, at));
        at
    }
}

/// A [`Schedule`] shared by every sender, sleeping until each message's turn.
#[derive(Debug)]
pub(crate) struct Limiter {
    schedule: Mutex<Schedule>,
}

impl Limiter {
    pub(crate) fn new(limit: SendLimit) -> Limiter {
        Limiter {
            schedule: Mutex::new(Schedule::new(limit)),
        }
    }

    /// Waits until a message to `chat` may be sent: its chat's turn, then the overall turn.
    pub(crate) async fn wait(&self, chat: i64) {
        let at = self.schedule().chat_slot(chat, Instant::now());
        tokio::time::sleep_until(at).await;
        let at = self.schedule().overall_slot(Instant::now());
        tokio::time::sleep_until(at).await;
    }

    fn schedule(&self) -> std::sync::MutexGuard<'_, Schedule> {
        self.schedule.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(overall: RateLimit, per_chat: RateLimit) -> Schedule {
        Schedule::new(SendLimit { overall, per_chat })
    }

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn one_chat_gets_its_burst_then_one_message_per_interval() {
        let mut schedule = limit(RateLimit::unlimited(), RateLimit::new(2, SECOND));
        let now = Instant::now();
        let slots: Vec<Instant> = (0..4).map(|_| schedule.chat_slot(1, now)).collect();
        assert_eq!(slots, vec![now, now, now + SECOND, now + 2 * SECOND]);
    }

    #[test]
    fn a_busy_chat_does_not_delay_another_chat() {
        let mut schedule = limit(RateLimit::unlimited(), RateLimit::new(1, SECOND));
        let now = Instant::now();
        schedule.chat_slot(1, now);
        schedule.chat_slot(1, now);
        assert_eq!(schedule.chat_slot(2, now), now);
        assert_eq!(schedule.overall_slot(now), now);
    }

    #[test]
    fn the_overall_limit_spans_all_chats() {
        let step = Duration::from_millis(100);
        let mut schedule = limit(RateLimit::new(2, step), RateLimit::unlimited());
        let now = Instant::now();
        let slots: Vec<Instant> = (1..=4)
            .map(|chat| {
                let ready = schedule.chat_slot(chat, now);
                schedule.overall_slot(ready)
            })
            .collect();
        assert_eq!(slots, vec![now, now, now + step, now + 2 * step]);
    }

    #[test]
    fn a_quiet_chat_gets_its_burst_back() {
        let mut schedule = limit(RateLimit::unlimited(), RateLimit::new(2, SECOND));
        let now = Instant::now();
        schedule.chat_slot(1, now);
        schedule.chat_slot(1, now);
        let later = now + 5 * SECOND;
        assert_eq!(schedule.chat_slot(1, later), later);
        assert_eq!(schedule.chat_slot(1, later), later);
    }

    #[test]
    fn unlimited_never_waits() {
        let unlimited = RateLimit::unlimited();
        let mut schedule = limit(unlimited, unlimited);
        let now = Instant::now();
        assert!((0..1000).all(|_| schedule.chat_slot(7, now) == now));
        assert!((0..1000).all(|_| schedule.overall_slot(now) == now));
    }
}
