//! The store's own errors, and how they become core errors a person can act on.

use shopbot_core::Error;

/// A failure inside one transaction attempt.
#[derive(Debug)]
pub(crate) enum PgError {
    /// The database refused or failed.
    Db(sqlx::Error),
    /// A business rule refused the command; the transaction rolled back.
    Rule(Error),
    /// A server-side function refused with a shopbot SQLSTATE (class `SB`, see
    /// `refusal.rs`); the command rolled back.
    Refused {
        /// The SQLSTATE.
        code: String,
        /// The core error it stands for.
        error: Error,
    },
}

impl From<sqlx::Error> for PgError {
    fn from(e: sqlx::Error) -> Self {
        PgError::Db(e)
    }
}

impl From<Error> for PgError {
    fn from(e: Error) -> Self {
        PgError::Rule(e)
    }
}

macro_rules! rule_from {
    ($($source:ty),*) => {$(
        impl From<$source> for PgError {
            fn from(e: $source) -> Self {
                PgError::Rule(e.into())
            }
        }
    )*};
}

rule_from!(
    shopbot_core::money::MoneyError,
    shopbot_core::text::TextError,
    shopbot_core::cart::CartError,
    shopbot_core::wallet::WalletError,
    shopbot_core::invoice::InvoiceError,
    shopbot_core::order::CheckoutError,
    shopbot_core::stock::StockError
);

/// Constraint names whose violation means "a concurrent twin got there first": retrying the
/// whole transaction finds the twin's result.
const RACE_CONSTRAINTS: [&str; 4] = [
    "orders_user_key",
    "ledger_entries_user_key",
    "payments_pkey",
    "stock_units_payload_key",
];

/// Whether a failure with SQLSTATE `code` (on `constraint`) lost a race, so the command it
/// rolled back may simply run again: it either succeeds or finds what a concurrent twin
/// recorded.
pub(crate) fn lost_race(code: Option<&str>, constraint: Option<&str>) -> bool {
    match code {
        // serialization_failure, deadlock_detected
        Some("40001" | "40P01") => true,
        // unique_violation on a key that records a command's result
        Some("23505") => constraint.is_some_and(|c| RACE_CONSTRAINTS.contains(&c)),
        _ => false,
    }
}

/// The refusal of a write that collides with an existing record's unique key.
pub(crate) fn conflict(constraint: Option<&str>) -> Error {
    Error::Conflict(format!(
        "conflicts with an existing record ({})",
        constraint.unwrap_or("unique key")
    ))
}

impl PgError {
    /// Whether the whole transaction may simply be run again: it rolled back, and running it
    /// again either succeeds or finds what a concurrent twin recorded.
    pub(crate) fn retryable(&self) -> bool {
        let PgError::Db(sqlx::Error::Database(db)) = self else {
            return false;
        };
        lost_race(db.code().as_deref(), db.constraint())
    }

    /// The core error for the caller.
    pub(crate) fn into_core(self) -> Error {
        match self {
            PgError::Rule(e) | PgError::Refused { error: e, .. } => e,
            PgError::Db(sqlx::Error::Database(db)) if db.code().as_deref() == Some("23505") => {
                conflict(db.constraint())
            }
            PgError::Db(sqlx::Error::PoolTimedOut) => {
                Error::internal_msg("the database is busy: no connection was free in time")
            }
            PgError::Db(e) => Error::internal(e),
        }
    }
}

/// Shorthand for one attempt's result.
pub(crate) type Attempt<T> = Result<T, PgError>;
