//! The one error type of shopbot's services and ports, with variants a person can act on.
//!
//! Each module keeps its own precise error; `From` impls here fold them into [`enum@Error`]. Wording
//! for chats lives in the front ends; [`Error::Internal`] carries details for the log only.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

use crate::cart::CartError;
use crate::catalog::PriceError;
use crate::ids::{IdError, ProductId};
use crate::invoice::{InvoiceError, TaxRateError};
use crate::money::{Money, MoneyError};
use crate::order::CheckoutError;
use crate::stock::StockError;
use crate::text::{QuantityError, TextError};
use crate::time::DateError;
use crate::user::Permission;
use crate::wallet::WalletError;

/// A shorthand for results of services and ports.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in terms a person can act on.
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum Error {
    /// Not enough units of a product.
    #[error("only {available} of product {product} left, {requested} requested")]
    OutOfStock {
        /// The product.
        product: ProductId,
        /// How many were asked for.
        requested: u32,
        /// How many are available.
        available: u64,
    },
    /// Not enough money available in the wallet.
    #[error("insufficient funds: {needed} needed, {available} available")]
    InsufficientFunds {
        /// What the operation needs.
        needed: Money,
        /// What is available.
        available: Money,
    },
    /// The acting user may not do this.
    #[error("not allowed: {0}")]
    Forbidden(Forbidden),
    /// Something named does not exist.
    #[error("{what} {id} not found")]
    NotFound {
        /// What kind of thing, e.g. "product".
        what: &'static str,
        /// Its id as given.
        id: String,
    },
    /// The input is not acceptable; nothing changed.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Too many requests; try again later.
    #[error("too many requests; try again in {} s", retry_after.as_secs().max(1))]
    RateLimited {
        /// When to try again.
        retry_after: Duration,
    },
    /// The shop is in maintenance mode.
    #[error("the shop is closed for maintenance")]
    Maintenance,
    /// The request clashes with the current state (a reused key, a changed cart, a closed
    /// invoice); nothing changed.
    #[error("{0}")]
    Conflict(String),
    /// Something broke inside; the details are for the log, never for a chat.
    #[error("internal error")]
    Internal(InternalError),
}

/// Why the acting user may not do something.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Forbidden {
    /// Banned users can do nothing.
    #[error("the user is banned")]
    Banned,
    /// The user's role lacks the permission.
    #[error("the role lacks permission {0:?}")]
    Missing(Permission),
    /// The user is unknown to the shop.
    #[error("the user is unknown")]
    UnknownUser,
    /// Nobody may change their own role or ban themselves.
    #[error("staff cannot change their own role or ban themselves")]
    SelfTarget,
    /// Staff may only moderate people below their own role.
    #[error("staff can only moderate people below their own role")]
    Rank,
}

/// Input that was refused, by kind.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Invalid {
    /// An amount.
    #[error(transparent)]
    Money(#[from] MoneyError),
    /// A price outside the shop's limits.
    #[error(transparent)]
    Price(#[from] PriceError),
    /// A piece of text.
    #[error(transparent)]
    Text(#[from] TextError),
    /// A quantity.
    #[error(transparent)]
    Quantity(#[from] QuantityError),
    /// An identifier.
    #[error(transparent)]
    Id(#[from] IdError),
    /// A date.
    #[error(transparent)]
    Date(#[from] DateError),
    /// A tax rate.
    #[error(transparent)]
    TaxRate(#[from] TaxRateError),
    /// A stock import.
    #[error(transparent)]
    Stock(#[from] StockError),
    /// A cart edit or an empty cart.
    #[error(transparent)]
    Cart(#[from] CartError),
    /// An invoice.
    #[error(transparent)]
    Invoice(InvoiceError),
    /// A wallet operation.
    #[error(transparent)]
    Wallet(WalletError),
    /// Anything else, described.
    #[error("{0}")]
    Other(String),
}

/// An unexpected failure: kept whole for the log, shown to nobody.
#[derive(Clone)]
pub struct InternalError(Arc<dyn std::error::Error + Send + Sync>);

impl InternalError {
    /// The underlying error, for the log.
    pub fn source_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.0
    }
}

impl fmt::Debug for InternalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Internal({:?})", self.0)
    }
}

impl Error {
    /// Wraps an unexpected failure.
    pub fn internal<E>(error: E) -> Error
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Error::Internal(InternalError(Arc::new(error)))
    }

    /// Wraps an unexpected failure described in words.
    pub fn internal_msg(message: impl Into<String>) -> Error {
        #[derive(Debug, Error)]
        #[error("{0}")]
        struct Message(String);
        Error::internal(Message(message.into()))
    }

    /// A `NotFound` for `what` with `id`.
    pub fn not_found(what: &'static str, id: impl fmt::Display) -> Error {
        Error::NotFound {
            what,
            id: id.to_string(),
        }
    }

    /// Refused input described in words.
    pub fn invalid(message: impl Into<String>) -> Error {
        Error::Invalid(Invalid::Other(message.into()))
    }
}

macro_rules! invalid_from {
    ($($source:ty),*) => {$(
        impl From<$source> for Error {
            fn from(e: $source) -> Error {
                Error::Invalid(e.into())
            }
        }
    )*};
}

invalid_from!(
    MoneyError,
    PriceError,
    TextError,
    QuantityError,
    IdError,
    DateError,
    TaxRateError,
    StockError,
    CartError
);

impl From<Forbidden> for Error {
    fn from(f: Forbidden) -> Error {
        Error::Forbidden(f)
    }
}

impl From<WalletError> for Error {
    fn from(e: WalletError) -> Error {
        match e {
            WalletError::InsufficientFunds { needed, available } => {
                Error::InsufficientFunds { needed, available }
            }
            WalletError::HoldNotFound(id) => Error::not_found("hold", id),
            WalletError::HoldResolved(_) => Error::Conflict(e.to_string()),
            WalletError::NonPositiveAmount
            | WalletError::TooLarge { .. }
            | WalletError::Unconfirmed { .. }
            | WalletError::Money(_) => Error::Invalid(Invalid::Wallet(e)),
        }
    }
}

impl From<InvoiceError> for Error {
    fn from(e: InvoiceError) -> Error {
        match e {
            InvoiceError::Closed(_) | InvoiceError::ChargeReused => Error::Conflict(e.to_string()),
            _ => Error::Invalid(Invalid::Invoice(e)),
        }
    }
}

impl From<CheckoutError> for Error {
    fn from(e: CheckoutError) -> Error {
        match e {
            CheckoutError::Cart(e) => e.into(),
            CheckoutError::Money(e) => e.into(),
            CheckoutError::Unavailable(_)
            | CheckoutError::CartChanged
            | CheckoutError::PriceChanged
            | CheckoutError::WrongStatus { .. } => Error::Conflict(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    #[test]
    fn internal_details_stay_out_of_the_message() {
        let e = Error::internal_msg("disk /var/secret full");
        assert_eq!(e.to_string(), "internal error");
        assert!(format!("{e:?}").contains("disk"));
    }

    #[test]
    fn wallet_errors_fold_into_actionable_variants() {
        let needed = Money::new(5, Currency::USD);
        let available = Money::new(1, Currency::USD);
        let e: Error = WalletError::InsufficientFunds { needed, available }.into();
        assert!(matches!(e, Error::InsufficientFunds { .. }));
        let e: Error = InvoiceError::Closed(crate::invoice::InvoiceStatus::Paid).into();
        assert!(matches!(e, Error::Conflict(_)));
    }
}
