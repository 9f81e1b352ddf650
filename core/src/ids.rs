//! Identifier newtypes, one per entity, so an order id can never be passed as a product id.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Text that is not an identifier.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("`{text}` is not a valid {kind} id: use a whole number such as 42")]
pub struct IdError {
    /// Which kind of id was expected.
    pub kind: &'static str,
    /// The offending text, shortened.
    pub text: String,
}

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            /// Parses digits, optionally after a `#`, ignoring surrounding spaces.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_id(s, $kind).map($name)
            }
        }
    };
}

fn parse_id(text: &str, kind: &'static str) -> Result<i64, IdError> {
    let trimmed = text.trim();
    let digits = trimmed.strip_prefix('#').unwrap_or(trimmed);
    let valid = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    valid
        .then(|| digits.parse::<i64>().ok())
        .flatten()
        .ok_or_else(|| IdError {
            kind,
            text: trimmed.chars().take(32).collect(),
        })
}

id_type!(
    /// A person, by their messenger (Telegram) user id.
    UserId,
    "user"
);
id_type!(
    /// A chat, by its messenger id.
    ChatId,
    "chat"
);
id_type!(
    /// A catalog category.
    CategoryId,
    "category"
);
id_type!(
    /// A product in the catalog.
    ProductId,
    "product"
);
id_type!(
    /// One unit of stock (one key, code or file).
    UnitId,
    "stock unit"
);
id_type!(
    /// An order.
    OrderId,
    "order"
);
id_type!(
    /// An invoice (its internal id; people see its sequential number).
    InvoiceId,
    "invoice"
);
id_type!(
    /// A wallet ledger entry.
    EntryId,
    "ledger entry"
);
id_type!(
    /// A hold on wallet funds: the id of the ledger entry that placed it.
    HoldId,
    "hold"
);
id_type!(
    /// A message waiting in the outbox.
    OutboxId,
    "outbox message"
);
id_type!(
    /// An audit log entry.
    AuditId,
    "audit entry"
);
id_type!(
    /// A messenger update (Telegram's `update_id`), recorded so a redelivery counts once.
    UpdateId,
    "update"
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ids_parse_digits_with_an_optional_hash() {
        assert_eq!("42".parse::<ProductId>(), Ok(ProductId(42)));
        assert_eq!(" #7 ".parse::<OrderId>(), Ok(OrderId(7)));
        assert!("-1".parse::<UserId>().is_err());
        assert!("1a".parse::<UserId>().is_err());
        assert!("".parse::<UserId>().is_err());
        assert!("99999999999999999999".parse::<UserId>().is_err());
    }

    proptest! {
        #[test]
        fn any_text_parses_or_errors(text in any::<String>()) {
            let _ = text.parse::<UserId>();
        }
    }
}
