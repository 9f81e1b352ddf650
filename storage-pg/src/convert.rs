//! Conversions between database values and core types.

use shopbot_core::Error;
use shopbot_core::money::{Currency, Money};
use shopbot_core::order::OrderStatus;
use shopbot_core::ports::Page;
use shopbot_core::time::Timestamp;
use time::OffsetDateTime;

/// A core timestamp as a database time.
pub(crate) fn to_db(t: Timestamp) -> OffsetDateTime {
    let nanos = i128::from(t.0) * 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A database time as a core timestamp (millisecond precision, as written).
pub(crate) fn from_db(t: OffsetDateTime) -> Timestamp {
    let millis = t.unix_timestamp_nanos() / 1_000_000;
    Timestamp(i64::try_from(millis).unwrap_or(i64::MAX))
}

/// Money from its columns.
pub(crate) fn money(minor: i64, currency: &str) -> Result<Money, Error> {
    // Stored amounts keep their code even if it is not on today's list (see `recorded`).
    let currency = Currency::recorded(currency).map_err(|e| Error::internal_msg(e.to_string()))?;
    Ok(Money::new(minor, currency))
}

/// A value stored as text that must parse back.
pub(crate) fn parsed<T, E: std::fmt::Display>(value: Result<T, E>, what: &str) -> Result<T, Error> {
    value.map_err(|e| Error::internal_msg(format!("stored {what} does not parse: {e}")))
}

/// A page's limit and offset as SQL integers.
pub(crate) fn window(page: Page) -> (i64, i64) {
    let limit = i64::try_from(page.effective_limit()).unwrap_or(i64::MAX);
    let offset = i64::try_from(page.offset).unwrap_or(i64::MAX);
    (limit, offset)
}

/// An order status as the `orders.status` column spells it.
pub(crate) fn status_name(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::AwaitingPayment => "awaiting_payment",
        OrderStatus::Paid => "paid",
        OrderStatus::Refunded => "refunded",
        OrderStatus::Cancelled => "cancelled",
    }
}

/// An `orders.status` value back as an order status; an unknown one is a broken row, not input.
pub(crate) fn status_of(name: &str) -> Result<OrderStatus, Error> {
    Ok(match name {
        "awaiting_payment" => OrderStatus::AwaitingPayment,
        "paid" => OrderStatus::Paid,
        "refunded" => OrderStatus::Refunded,
        "cancelled" => OrderStatus::Cancelled,
        _ => return Err(Error::internal_msg("stored order status unknown")),
    })
}
