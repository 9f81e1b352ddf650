//! What a failed command tells the operator: one line on stderr and an exit code.
//!
//! Owns [`ExitStatus`] (the codes scripts rely on) and [`CliError`], and the mapping from
//! [`shopbot_core::Error`] to them. It must never decide a business rule: it only translates
//! the core's verdict into words and a number.

use std::fmt;
use std::io;
use std::process::ExitCode;

use shopbot_core::Error;

/// The exit codes of `shopbot`, as documented in `shopbot --help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: the command did what it was asked.
    Success = 0,
    /// 1: something broke inside (a disk error, a damaged or locked store).
    Internal = 1,
    /// 2: the command line or the configuration is malformed.
    Usage = 2,
    /// 3: a value was refused (a malformed price, an invalid stock line); nothing changed.
    Invalid = 3,
    /// 4: something named does not exist.
    NotFound = 4,
    /// 5: a business rule refused the command (out of stock, insufficient funds, forbidden,
    /// conflict), or `store check` found problems.
    Refused = 5,
    /// 6: the outcome is unknown: the running shop went away after a change was sent to it.
    /// Repeat the command with the `--request-key` the message names to apply it once.
    OutcomeUnknown = 6,
}

impl ExitStatus {
    /// The number the process exits with.
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status.code())
    }
}

/// A command that failed: a one-line message for stderr and the exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    status: ExitStatus,
    message: String,
    /// Nothing is printed: stdout was closed by its reader (`shopbot export … | head`).
    quiet: bool,
}

impl CliError {
    fn new(status: ExitStatus, message: impl Into<String>) -> Self {
        CliError {
            status,
            message: one_line(&message.into()),
            quiet: false,
        }
    }

    /// A malformed command line or configuration (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        CliError::new(ExitStatus::Usage, message)
    }

    /// A refused value (exit 3).
    pub fn invalid(message: impl Into<String>) -> Self {
        CliError::new(ExitStatus::Invalid, message)
    }

    /// Something named that does not exist (exit 4).
    pub fn not_found(message: impl Into<String>) -> Self {
        CliError::new(ExitStatus::NotFound, message)
    }

    /// A business rule said no (exit 5).
    pub fn refused(message: impl Into<String>) -> Self {
        CliError::new(ExitStatus::Refused, message)
    }

    /// A change sent to a running shop whose outcome is unknown (exit 6).
    pub fn outcome_unknown(message: impl Into<String>) -> Self {
        CliError::new(ExitStatus::OutcomeUnknown, message)
    }

    /// An unexpected failure (exit 1).
    pub fn internal(message: impl Into<String>) -> Self {
        CliError::new(ExitStatus::Internal, message)
    }

    /// The exit status.
    pub fn status(&self) -> ExitStatus {
        self.status
    }

    /// The message, without the `error: ` prefix.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the error should be reported at all (not when our reader went away).
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// The same error with `context` in front, e.g. the flag a value came from.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// Errors are one line: line breaks from a wrapped cause become spaces.
fn one_line(text: &str) -> String {
    text.split(['\n', '\r'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

impl From<Error> for CliError {
    fn from(error: Error) -> CliError {
        match &error {
            Error::NotFound { what, .. } => {
                let hint = match *what {
                    "product" => " (see `shopbot product list`)",
                    "user" => " (see `shopbot user list`)",
                    "order" => " (see `shopbot order list`)",
                    "invoice" => " (see `shopbot invoice list`)",
                    "category" => " (see `shopbot category list`)",
                    _ => "",
                };
                CliError::not_found(format!("{error}{hint}"))
            }
            Error::Invalid(_) => CliError::invalid(error.to_string()),
            Error::OutOfStock { .. }
            | Error::InsufficientFunds { .. }
            | Error::Forbidden(_)
            | Error::Conflict(_)
            | Error::Maintenance
            | Error::RateLimited { .. } => CliError::refused(error.to_string()),
            Error::Internal(inner) => {
                // The message below carries the cause; the log gets the structure.
                tracing::debug!(error = ?inner, "internal error");
                // The operator at the terminal is the one person who may see the cause.
                CliError::internal(format!(
                    "internal error: {}",
                    cause_chain(inner.source_error())
                ))
            }
            _ => CliError::internal(error.to_string()),
        }
    }
}

impl From<io::Error> for CliError {
    /// An error writing the output. A reader that went away is not worth a message.
    fn from(error: io::Error) -> CliError {
        let mut e = CliError::internal(format!("cannot write the output: {error}"));
        e.quiet = error.kind() == io::ErrorKind::BrokenPipe;
        e
    }
}

/// `outer: inner: innermost`, for the operator.
pub fn cause_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The outcome of a command.
pub type CliResult<T = ()> = Result<T, CliError>;

#[cfg(test)]
mod tests {
    use super::*;
    use shopbot_core::error::Forbidden;
    use shopbot_core::money::{Currency, Money};

    #[test]
    fn core_errors_map_to_the_documented_exit_codes() {
        let cases: [(Error, ExitStatus); 6] = [
            (Error::not_found("product", 7), ExitStatus::NotFound),
            (Error::invalid("bad"), ExitStatus::Invalid),
            (Forbidden::Banned.into(), ExitStatus::Refused),
            (Error::Conflict("x".into()), ExitStatus::Refused),
            (
                Error::InsufficientFunds {
                    needed: Money::new(5, Currency::USD),
                    available: Money::new(1, Currency::USD),
                },
                ExitStatus::Refused,
            ),
            (Error::internal_msg("disk full"), ExitStatus::Internal),
        ];
        for (error, status) in cases {
            assert_eq!(CliError::from(error).status(), status);
        }
    }

    #[test]
    fn not_found_points_at_the_listing_command() {
        let e = CliError::from(Error::not_found("product", 7));
        assert_eq!(
            e.message(),
            "product 7 not found (see `shopbot product list`)"
        );
    }

    #[test]
    fn internal_errors_show_their_cause_to_the_operator() {
        let e = CliError::from(Error::internal_msg("disk full"));
        assert_eq!(e.message(), "internal error: disk full");
    }

    #[test]
    fn messages_are_one_line() {
        let e = CliError::invalid("first\n  second\r\nthird");
        assert_eq!(e.message(), "first second third");
    }

    #[test]
    fn a_closed_reader_is_quiet() {
        let e = CliError::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(e.is_quiet());
        assert!(!CliError::from(io::Error::other("x")).is_quiet());
    }
}
