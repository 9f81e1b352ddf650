//! Points in time as integer milliseconds since the Unix epoch, and calendar dates for people.
//!
//! Core reads time only through the [`Clock`](crate::ports::Clock) port, so tests control it and
//! a replayed command sees the time it was first applied at.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A point in time: milliseconds since 1970-01-01T00:00:00Z.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

/// Text that is not a date.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("`{0}` is not a date: use YYYY-MM-DD, for example 2026-01-31")]
pub struct DateError(pub String);

const MS_PER_DAY: i64 = 86_400_000;

impl Timestamp {
    /// Milliseconds since the epoch.
    pub const fn millis(self) -> i64 {
        self.0
    }

    /// This instant plus `duration`, saturating at the far future.
    pub fn plus(self, duration: Duration) -> Timestamp {
        let ms = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_add(ms))
    }

    /// Midnight UTC at the start of a `YYYY-MM-DD` date.
    pub fn parse_date(text: &str) -> Result<Timestamp, DateError> {
        let text = text.trim();
        let bad = || DateError(text.chars().take(32).collect());
        let mut parts = text.splitn(3, '-');
        let mut field = |len: usize| {
            parts
                .next()
                .filter(|p| p.len() == len && p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|p| p.parse::<i64>().ok())
        };
        let (Some(year), Some(month), Some(day)) = (field(4), field(2), field(2)) else {
            return Err(bad());
        };
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return Err(bad());
        }
        Ok(Timestamp(days_from_civil(year, month, day) * MS_PER_DAY))
    }

    /// The day that ends at this instant, `YYYY-MM-DD`, when it is midnight UTC: a deadline at
    /// the end of a day (an invoice due on a date) reads as that day, the last one to act on.
    pub fn day_ending(self) -> Option<String> {
        if self.0.rem_euclid(MS_PER_DAY) != 0 {
            return None;
        }
        let (y, m, d) = civil_from_days(self.0.div_euclid(MS_PER_DAY) - 1);
        Some(format!("{y:04}-{m:02}-{d:02}"))
    }
}

impl fmt::Display for Timestamp {
    /// `YYYY-MM-DD HH:MM:SSZ` in UTC.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(MS_PER_DAY);
        let secs = self.0.rem_euclid(MS_PER_DAY) / 1000;
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since the epoch of a proleptic Gregorian date (the well-known era-based algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_midnight_reads_as_the_day_it_ends() {
        let new_year = Timestamp::parse_date("2027-01-01").unwrap_or_default();
        assert_eq!(new_year.day_ending().as_deref(), Some("2026-12-31"));
        let leap = Timestamp::parse_date("2028-03-01").unwrap_or_default();
        assert_eq!(leap.day_ending().as_deref(), Some("2028-02-29"));
        assert_eq!(new_year.plus(Duration::from_secs(1)).day_ending(), None);
    }

    #[test]
    fn dates_round_trip_through_display() {
        let t = Timestamp::parse_date("2026-11-23");
        assert_eq!(t.map(|t| t.to_string()), Ok("2026-11-23 00:00:00Z".into()));
        assert_eq!(Timestamp(0).to_string(), "1970-01-01 00:00:00Z");
        assert_eq!(
            Timestamp::parse_date("2024-02-29").map(|t| t.0 % MS_PER_DAY),
            Ok(0)
        );
    }

    #[test]
    fn impossible_dates_are_refused() {
        for bad in [
            "2025-02-29",
            "2026-13-01",
            "2026-00-10",
            "26-01-01",
            "2026-1-1",
            "x",
        ] {
            assert!(Timestamp::parse_date(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn any_text_parses_or_errors(text in any::<String>()) {
            let _ = Timestamp::parse_date(&text);
        }

        #[test]
        fn civil_conversion_round_trips(days in -1_000_000i64..1_000_000) {
            let (y, m, d) = civil_from_days(days);
            prop_assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
