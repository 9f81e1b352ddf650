//! Which staff notices an outbox message's event calls for, and the key that makes each one
//! happen once however often the message is handled.
//!
//! * An `OrderDelivered` message: [`Notice::OrderPaid`] (key `order-paid:<order>`), and for
//!   each stock-keeping product of the order with at most the threshold available,
//!   [`Notice::LowStock`] (key `low-stock:<product>:<units ever stocked>`, so it warns once per
//!   stock level and again after a restock).
//! * A `PaymentReceived` message: [`Notice::PaymentReceived`] (key `payment-received:<invoice>`).
//! * A customer message given up: [`Notice::DeliveryFailed`] (key `delivery-failed:<outbox id>`).
//! * A staff notice never raises another.
//!
//! The store queues each notice to every opted-in staff member
//! ([`Storage::notify_staff`](crate::ports::Storage::notify_staff)); nobody opted in is not an
//! error. This module decides nothing about delivery.

use std::collections::BTreeSet;

use crate::error::{Error, Result};
use crate::notice::Notice;
use crate::outbox::{OutboxBody, OutboxMessage};
use crate::services::Shop;

/// Raises the notices of one shop.
#[derive(Clone)]
pub(super) struct Notices {
    shop: Shop,
    low_stock_threshold: u64,
}

impl Notices {
    pub(super) fn new(shop: Shop, low_stock_threshold: u64) -> Self {
        Notices {
            shop,
            low_stock_threshold,
        }
    }

    /// The notices about the event `message` tells of (none for most messages).
    pub(super) async fn for_event(&self, message: &OutboxMessage) -> Result<()> {
        match &message.body {
            OutboxBody::OrderDelivered { order } => {
                let key = format!("order-paid:{order}");
                self.raise(Notice::OrderPaid { order: *order }, key).await?;
                self.low_stock(message).await
            }
            OutboxBody::PaymentReceived { invoice } => {
                let key = format!("payment-received:{invoice}");
                let notice = Notice::PaymentReceived { invoice: *invoice };
                self.raise(notice, key).await
            }
            OutboxBody::InvoiceIssued { .. }
            | OutboxBody::OrderRefunded { .. }
            | OutboxBody::StaffNotice { .. } => Ok(()),
        }
    }

    /// The notice that `message`, owed to a customer, was given up.
    pub(super) async fn delivery_failed(&self, message: &OutboxMessage) -> Result<()> {
        let notice = Notice::DeliveryFailed {
            message: message.id,
            user: message.user,
            about: Some(Box::new(message.body.clone())),
        };
        let key = format!("delivery-failed:{}", message.id);
        self.raise(notice, key).await
    }

    /// A low-stock notice for each stock-keeping product of the delivered order at or below
    /// the threshold.
    async fn low_stock(&self, message: &OutboxMessage) -> Result<()> {
        let OutboxBody::OrderDelivered { order } = &message.body else {
            return Ok(());
        };
        let storage = self.shop.storage();
        let order = storage
            .order(*order)
            .await?
            .ok_or_else(|| Error::not_found("order", order))?;
        let products: BTreeSet<_> = order
            .lines
            .iter()
            .filter(|line| line.kind.uses_stock())
            .map(|line| line.product)
            .collect();
        for product in products {
            let counts = storage.stock_counts(product).await?;
            if counts.available > self.low_stock_threshold {
                continue;
            }
            let stocked = counts
                .available
                .saturating_add(counts.reserved)
                .saturating_add(counts.sold);
            let notice = Notice::LowStock {
                product,
                available: counts.available,
                threshold: self.low_stock_threshold,
            };
            self.raise(notice, format!("low-stock:{product}:{stocked}"))
                .await?;
        }
        Ok(())
    }

    async fn raise(&self, notice: Notice, key: String) -> Result<()> {
        let now = self.shop.clock().now();
        let queued = self.shop.storage().notify_staff(notice, key, now).await?;
        if queued > 0 {
            tracing::info!(queued, "staff notified");
        }
        Ok(())
    }
}
