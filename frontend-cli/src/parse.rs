//! Turning flag values into the core's domain types, naming the flag when one is refused.
//!
//! The domain types do the validating (they parse, they don't validate twice); this module
//! only adds which flag the value came from, and maps the refusal to exit code 3.

use std::fmt;

use shopbot_core::ids::IdError;
use shopbot_core::money::{Currency, Money};
use shopbot_core::time::Timestamp;

use crate::error::{CliError, CliResult};

/// The value of `flag`, or an "invalid input" error naming it.
pub fn value<T, E: fmt::Display>(flag: &str, parsed: Result<T, E>) -> CliResult<T> {
    parsed.map_err(|e| CliError::invalid(format!("{flag}: {e}")))
}

/// An id such as `42` or `#42`.
pub fn id<T>(flag: &str, text: &str) -> CliResult<T>
where
    T: std::str::FromStr<Err = IdError>,
{
    value(flag, text.parse::<T>())
}

/// An amount in `currency`, such as `10.99`.
pub fn money(flag: &str, text: &str, currency: Currency) -> CliResult<Money> {
    value(flag, Money::parse(text, currency))
}

/// A calendar date, `YYYY-MM-DD`, as midnight UTC at its start.
pub fn date(flag: &str, text: &str) -> CliResult<Timestamp> {
    value(flag, Timestamp::parse_date(text))
}

/// Validated text: the core's error names the field, `accepted` says what would pass. An
/// empty `flag` (a positional value) adds no prefix.
pub fn text<T, E: fmt::Display>(flag: &str, parsed: Result<T, E>, accepted: &str) -> CliResult<T> {
    parsed.map_err(|e| {
        let prefix = if flag.is_empty() {
            String::new()
        } else {
            format!("{flag}: ")
        };
        CliError::invalid(format!("{prefix}{e}; use {accepted}"))
    })
}
