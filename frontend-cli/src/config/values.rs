//! The value parsers of configuration keys: durations, rates, counts, ids and the token.
//!
//! Every parser takes the text as given (in the file, the environment or a flag) and either
//! returns the value or says why it is refused, in words that never repeat a secret. No
//! parser uses floating point: durations and rates are whole numbers of a unit.

use std::collections::BTreeSet;
use std::time::Duration;

use shopbot_core::flow::RateLimit;
use shopbot_core::ids::UserId;

use crate::error::{CliError, CliResult};

/// The units a duration may be written in, with their length in milliseconds.
const DURATION_UNITS: [(&str, u64); 5] = [
    ("ms", 1),
    ("s", 1_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
];

/// Parses a duration such as `30s`, `15m`, `2h`, `1d` or `500ms`: a whole number and one
/// unit, nothing else. Zero is refused: every duration a shop is configured with is a
/// timeout or a period, and none of them means anything at zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    if number.is_empty() {
        return Err("a duration starts with a whole number".into());
    }
    let Some((_, unit_ms)) = DURATION_UNITS.iter().find(|(name, _)| *name == unit) else {
        return Err(format!("unknown unit `{unit}`"));
    };
    let count: u64 = number
        .parse()
        .map_err(|_| "the number is too large".to_owned())?;
    let millis = count
        .checked_mul(*unit_ms)
        .ok_or_else(|| "the duration is too long".to_owned())?;
    if millis == 0 {
        return Err("a duration must be longer than zero".into());
    }
    Ok(Duration::from_millis(millis))
}

/// Writes a duration in the largest unit that holds it exactly, so that
/// [`parse_duration`] reads back the same duration (below a millisecond is dropped).
pub fn format_duration(duration: Duration) -> String {
    let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    let (unit, unit_ms) = DURATION_UNITS
        .iter()
        .rev()
        .find(|(_, unit_ms)| millis % unit_ms == 0)
        .copied()
        .unwrap_or(("ms", 1));
    format!("{}{unit}", millis / unit_ms)
}

/// The most requests a rate may name in its period.
const MAX_RATE_COUNT: u32 = 10_000;

/// Parses a rate such as `30/1s`: up to 30 at once, then one every 1/30 s (rounded up to
/// the millisecond, so the pace never exceeds what was asked).
pub fn parse_rate(text: &str) -> Result<RateLimit, String> {
    let (count, period) = text
        .trim()
        .split_once('/')
        .ok_or_else(|| "a rate is COUNT/DURATION".to_owned())?;
    let count: u32 = count
        .trim()
        .parse()
        .map_err(|_| "the count is not a whole number".to_owned())?;
    if !(1..=MAX_RATE_COUNT).contains(&count) {
        return Err(format!("the count must be from 1 to {MAX_RATE_COUNT}"));
    }
    let period = parse_duration(period)?;
    let period_ms = u64::try_from(period.as_millis()).unwrap_or(u64::MAX);
    let every_ms = period_ms.div_ceil(u64::from(count));
    Ok(RateLimit::new(count, Duration::from_millis(every_ms)))
}

/// Parses a whole number from `min` to `max`.
pub fn parse_count(text: &str, min: u32, max: u32) -> Result<u32, String> {
    let number: u32 = text
        .trim()
        .parse()
        .map_err(|_| "not a whole number".to_owned())?;
    if !(min..=max).contains(&number) {
        return Err(format!("out of range {min}..={max}"));
    }
    Ok(number)
}

/// Parses comma-separated Telegram user ids (positive whole numbers).
pub fn parse_user_ids(list: &str) -> Result<BTreeSet<UserId>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| match s.parse::<i64>() {
            Ok(id) if id > 0 => Ok(UserId(id)),
            _ => Err(format!(
                "`{}` is not a Telegram user id: use positive whole numbers",
                s.chars().take(32).collect::<String>()
            )),
        })
        .collect()
}

/// `SHOPBOT_ADMINS`: comma-separated Telegram user ids, as a usage error when refused.
pub fn parse_admins(list: &str) -> CliResult<BTreeSet<UserId>> {
    parse_user_ids(list).map_err(|why| CliError::usage(format!("SHOPBOT_ADMINS: {why}")))
}

/// Checks a bot token's shape (`123456:ABC-def_…`): the bot's id, a colon, and letters,
/// digits, `-` or `_`. The reason never quotes the token.
pub fn check_token(token: &str) -> Result<(), String> {
    let shape = "a token is the bot's numeric id, a colon, then letters, digits, - or _";
    let (id, rest) = token.split_once(':').ok_or_else(|| shape.to_owned())?;
    let id_ok = !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit());
    let rest_ok = !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if id_ok && rest_ok {
        Ok(())
    } else {
        Err(shape.to_owned())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn durations_are_a_whole_number_and_a_unit() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration(" 15m "), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        for bad in [
            "",
            "s",
            "10",
            "1.5h",
            "-1s",
            "1 h",
            "1w",
            "0s",
            "1h30m",
            "99999999999999999999s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(parse_duration("18446744073709551615d").is_err());
    }

    #[test]
    fn rates_round_the_pace_up_to_the_millisecond() {
        assert_eq!(
            parse_rate("30/1s"),
            Ok(RateLimit::new(30, Duration::from_millis(34)))
        );
        assert_eq!(
            parse_rate("3/3s"),
            Ok(RateLimit::new(3, Duration::from_secs(1)))
        );
        for bad in ["30", "0/1s", "x/1s", "30/0s", "30/", "10001/1s"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tokens_have_the_bot_id_then_a_colon() {
        assert!(check_token("123456:ABC-def_9").is_ok());
        for bad in [
            "123456",
            ":abc",
            "12a:abc",
            "123:",
            "123:ab c",
            "123:ab\u{e9}",
        ] {
            let why = check_token(bad).unwrap_err();
            assert!(bad.is_empty() || !why.contains(bad), "{why}");
        }
    }

    proptest! {
        #[test]
        fn every_millisecond_duration_reads_back_from_its_text(millis in 1u64..=u64::MAX / 1_000_000) {
            let duration = Duration::from_millis(millis);
            prop_assert_eq!(parse_duration(&format_duration(duration)), Ok(duration));
        }

        #[test]
        fn a_duration_is_its_number_times_its_unit(count in 1u64..=1_000_000, unit in 0usize..5) {
            let (name, unit_ms) = DURATION_UNITS[unit];
            prop_assert_eq!(
                parse_duration(&format!("{count}{name}")),
                Ok(Duration::from_millis(count * unit_ms))
            );
        }
    }
}
