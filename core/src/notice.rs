//! Staff notices: what the shop tells staff who asked to be told (a paid order, a product
//! running low, a delivery that failed for good, a payment received).
//!
//! A staff member opts in per [`NoticeKind`]; the set they chose is their [`NoticeKinds`].
//! The outbox deliverer raises a [`Notice`] with a key that names the event it is about, and
//! the store writes one [`StaffNotice`](crate::outbox::OutboxBody::StaffNotice)
//! message to every opted-in person at once, once per key
//! ([`Storage::notify_staff`](crate::ports::Storage::notify_staff)), so an event redelivered
//! or handled again after a crash notifies nobody twice.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::{InvoiceId, OrderId, OutboxId, ProductId, UserId};
use crate::outbox::OutboxBody;

/// One kind of notice a staff member can opt into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoticeKind {
    /// An order was paid (from the wallet or by an invoice).
    OrderPaid,
    /// A product's available units fell to its low-stock threshold or below.
    LowStock,
    /// A message owed to a customer (the keys of an order, an invoice) could not be delivered
    /// and was given up.
    DeliveryFailed,
    /// An invoice was paid.
    PaymentReceived,
}

impl NoticeKind {
    /// Every kind, in a stable order.
    pub const ALL: [NoticeKind; 4] = [
        NoticeKind::OrderPaid,
        NoticeKind::LowStock,
        NoticeKind::DeliveryFailed,
        NoticeKind::PaymentReceived,
    ];

    /// Its kebab-case name, as operators type it (`order-paid`).
    pub fn name(self) -> &'static str {
        match self {
            NoticeKind::OrderPaid => "order-paid",
            NoticeKind::LowStock => "low-stock",
            NoticeKind::DeliveryFailed => "delivery-failed",
            NoticeKind::PaymentReceived => "payment-received",
        }
    }
}

impl fmt::Display for NoticeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a notice kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown notice kind {0:?} (accepted: order-paid, low-stock, delivery-failed, payment-received)"
)]
pub struct UnknownNoticeKind(pub String);

impl FromStr for NoticeKind {
    type Err = UnknownNoticeKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        NoticeKind::ALL
            .into_iter()
            .find(|kind| kind.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownNoticeKind(s.to_owned()))
    }
}

/// The kinds of notice one person opted into; empty (the default) means none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NoticeKinds(BTreeSet<NoticeKind>);

impl NoticeKinds {
    /// No notices.
    pub fn none() -> Self {
        NoticeKinds::default()
    }

    /// Every kind of notice.
    pub fn all() -> Self {
        NoticeKind::ALL.into_iter().collect()
    }

    /// Whether `kind` is among them.
    pub fn contains(&self, kind: NoticeKind) -> bool {
        self.0.contains(&kind)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The kinds, in [`NoticeKind::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = NoticeKind> + '_ {
        self.0.iter().copied()
    }
}

impl FromIterator<NoticeKind> for NoticeKinds {
    fn from_iter<I: IntoIterator<Item = NoticeKind>>(iter: I) -> Self {
        NoticeKinds(iter.into_iter().collect())
    }
}

impl fmt::Display for NoticeKinds {
    /// `order-paid,low-stock`, or `none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        let names: Vec<&str> = self.iter().map(NoticeKind::name).collect();
        f.write_str(&names.join(","))
    }
}

/// Something staff are told about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "notice")]
pub enum Notice {
    /// An order was paid.
    OrderPaid {
        /// The order.
        order: OrderId,
    },
    /// A product runs low.
    LowStock {
        /// The product.
        product: ProductId,
        /// Units available when it was noticed.
        available: u64,
        /// The threshold it fell to or below.
        threshold: u64,
    },
    /// A message to a customer was given up.
    DeliveryFailed {
        /// The message given up.
        message: OutboxId,
        /// Whom it was for.
        user: UserId,
        /// What it was about (`None` when not recorded), so staff know what they did not get.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        about: Option<Box<OutboxBody>>,
    },
    /// An invoice was paid.
    PaymentReceived {
        /// The invoice.
        invoice: InvoiceId,
    },
}

impl Notice {
    /// Which kind of notice this is: who opted into it gets it.
    pub fn kind(&self) -> NoticeKind {
        match self {
            Notice::OrderPaid { .. } => NoticeKind::OrderPaid,
            Notice::LowStock { .. } => NoticeKind::LowStock,
            Notice::DeliveryFailed { .. } => NoticeKind::DeliveryFailed,
            Notice::PaymentReceived { .. } => NoticeKind::PaymentReceived,
        }
    }
}

/// The longest notice key a store accepts, in bytes.
pub const MAX_NOTICE_KEY: usize = 200;

/// Checks a notice key as stores do: 1 to [`MAX_NOTICE_KEY`] bytes of printable ASCII, else
/// `Invalid`. Keys name the event a notice is about (`order-paid:42`), so a repeat is found.
pub fn check_notice_key(key: &str) -> crate::Result<()> {
    let printable = key.bytes().all(|b| b.is_ascii_graphic());
    if !key.is_empty() && key.len() <= MAX_NOTICE_KEY && printable {
        Ok(())
    } else {
        Err(crate::error::Invalid::Other(format!(
            "a notice key is 1 to {MAX_NOTICE_KEY} printable ASCII characters"
        ))
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn kinds_parse_by_name_and_print_back() {
        for kind in NoticeKind::ALL {
            assert_eq!(kind.name().parse::<NoticeKind>(), Ok(kind));
            assert_eq!(kind.to_string(), kind.name());
        }
        assert_eq!(
            " Low-Stock ".parse::<NoticeKind>(),
            Ok(NoticeKind::LowStock)
        );
        assert!("low_stock".parse::<NoticeKind>().is_err());
        assert_eq!(NoticeKinds::none().to_string(), "none");
        assert_eq!(
            NoticeKinds::all().to_string(),
            "order-paid,low-stock,delivery-failed,payment-received"
        );
    }

    proptest! {
        #[test]
        fn any_text_parses_to_a_kind_or_errors(text in any::<String>()) {
            if let Ok(kind) = text.parse::<NoticeKind>() {
                prop_assert_eq!(kind.name(), text.trim().to_ascii_lowercase());
            }
        }
    }
}
