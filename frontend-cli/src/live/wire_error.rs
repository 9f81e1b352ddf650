//! Core errors on the wire: [`WireError`], and back into the same [`Error`] variant.
//!
//! A command run through the shop socket must fail exactly as it would on a direct open: same
//! exit code, same message. The variant travels typed; what a variant wraps that has no wire
//! form (an `Invalid`'s inner kind, an `Internal` cause) travels as its text, which is all the
//! CLI shows of it. This module never does I/O.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use shopbot_core::Error;
use shopbot_core::error::{Forbidden, Invalid};
use shopbot_core::ids::ProductId;
use shopbot_core::money::Money;
use shopbot_core::user::Permission;

use crate::error::cause_chain;

/// A [`shopbot_core::Error`] as it crosses the socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum WireError {
    /// [`Error::OutOfStock`].
    OutOfStock {
        /// The product.
        product: ProductId,
        /// How many were asked for.
        requested: u32,
        /// How many are available.
        available: u64,
    },
    /// [`Error::InsufficientFunds`].
    InsufficientFunds {
        /// What the operation needs.
        needed: Money,
        /// What is available.
        available: Money,
    },
    /// [`Error::Forbidden`].
    Forbidden {
        /// Why.
        reason: WireForbidden,
    },
    /// [`Error::NotFound`].
    NotFound {
        /// What kind of thing.
        what: String,
        /// Its id as given.
        id: String,
    },
    /// [`Error::Invalid`], as its message.
    Invalid {
        /// The message.
        message: String,
    },
    /// [`Error::RateLimited`].
    RateLimited {
        /// When to try again, in milliseconds.
        retry_after_ms: u64,
    },
    /// [`Error::Maintenance`].
    Maintenance,
    /// [`Error::Conflict`].
    Conflict {
        /// The message.
        message: String,
    },
    /// [`Error::Internal`], as its cause chain (the one person who sees it is the operator at
    /// the terminal, who owns the store anyway).
    Internal {
        /// The cause chain.
        message: String,
    },
}

/// [`Forbidden`] on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WireForbidden {
    /// [`Forbidden::Banned`].
    Banned,
    /// [`Forbidden::Missing`].
    Missing(Permission),
    /// [`Forbidden::UnknownUser`].
    UnknownUser,
    /// [`Forbidden::SelfTarget`].
    SelfTarget,
    /// [`Forbidden::Rank`].
    Rank,
}

impl From<&Error> for WireError {
    fn from(error: &Error) -> WireError {
        match error {
            Error::OutOfStock {
                product,
                requested,
                available,
            } => WireError::OutOfStock {
                product: *product,
                requested: *requested,
                available: *available,
            },
            Error::InsufficientFunds { needed, available } => WireError::InsufficientFunds {
                needed: *needed,
                available: *available,
            },
            Error::Forbidden(reason) => WireError::Forbidden {
                reason: match reason {
                    Forbidden::Banned => WireForbidden::Banned,
                    Forbidden::Missing(permission) => WireForbidden::Missing(*permission),
                    Forbidden::UnknownUser => WireForbidden::UnknownUser,
                    Forbidden::SelfTarget => WireForbidden::SelfTarget,
                    Forbidden::Rank => WireForbidden::Rank,
                },
            },
            Error::NotFound { what, id } => WireError::NotFound {
                what: (*what).to_owned(),
                id: id.clone(),
            },
            Error::Invalid(invalid) => WireError::Invalid {
                message: invalid.to_string(),
            },
            Error::RateLimited { retry_after } => WireError::RateLimited {
                retry_after_ms: u64::try_from(retry_after.as_millis()).unwrap_or(u64::MAX),
            },
            Error::Maintenance => WireError::Maintenance,
            Error::Conflict(message) => WireError::Conflict {
                message: message.clone(),
            },
            Error::Internal(inner) => WireError::Internal {
                message: cause_chain(inner.source_error()),
            },
            other => WireError::Internal {
                message: other.to_string(),
            },
        }
    }
}

impl From<WireError> for Error {
    fn from(error: WireError) -> Error {
        match error {
            WireError::OutOfStock {
                product,
                requested,
                available,
            } => Error::OutOfStock {
                product,
                requested,
                available,
            },
            WireError::InsufficientFunds { needed, available } => {
                Error::InsufficientFunds { needed, available }
            }
            WireError::Forbidden { reason } => Error::Forbidden(match reason {
                WireForbidden::Banned => Forbidden::Banned,
                WireForbidden::Missing(permission) => Forbidden::Missing(permission),
                WireForbidden::UnknownUser => Forbidden::UnknownUser,
                WireForbidden::SelfTarget => Forbidden::SelfTarget,
                WireForbidden::Rank => Forbidden::Rank,
            }),
            WireError::NotFound { what, id } => Error::NotFound {
                what: static_what(&what),
                id,
            },
            WireError::Invalid { message } => Error::Invalid(Invalid::Other(message)),
            WireError::RateLimited { retry_after_ms } => Error::RateLimited {
                retry_after: Duration::from_millis(retry_after_ms),
            },
            WireError::Maintenance => Error::Maintenance,
            WireError::Conflict { message } => Error::Conflict(message),
            WireError::Internal { message } => Error::internal_msg(message),
        }
    }
}

/// `NotFound` names its kind with a `&'static str`: the kinds the core uses come back as
/// themselves (the CLI's hints key on them); an unknown one as "record".
fn static_what(what: &str) -> &'static str {
    const KINDS: [&str; 13] = [
        "product",
        "user",
        "order",
        "invoice",
        "category",
        "outbox message",
        "job",
        "cart",
        "unit",
        "dialogue",
        "payment",
        "hold",
        "record",
    ];
    KINDS
        .iter()
        .find(|kind| **kind == what)
        .copied()
        .unwrap_or("record")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CliError;

    fn round_trip(error: Error) -> Error {
        let wire = WireError::from(&error);
        let text = serde_json::to_string(&wire).unwrap_or_default();
        let back: WireError = serde_json::from_str(&text).unwrap_or(WireError::Maintenance);
        Error::from(back)
    }

    #[test]
    fn every_error_comes_back_with_the_same_exit_code_and_message() {
        let errors = vec![
            Error::OutOfStock {
                product: ProductId(7),
                requested: 3,
                available: 1,
            },
            Error::Forbidden(Forbidden::Missing(Permission::ManageStock)),
            Error::Forbidden(Forbidden::Banned),
            Error::not_found("product", 42),
            Error::invalid("the price must be positive"),
            Error::RateLimited {
                retry_after: Duration::from_secs(3),
            },
            Error::Maintenance,
            Error::Conflict("the key was used for another request".into()),
            Error::internal_msg("disk full"),
        ];
        for error in errors {
            let direct = CliError::from(error.clone());
            let remote = CliError::from(round_trip(error));
            assert_eq!(remote, direct);
        }
    }
}
