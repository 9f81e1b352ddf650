//! The outbox: messages a state change owes a user, written in the same atomic command as the
//! change and delivered later with retries, so a crash never loses a delivery.
//!
//! Owns [`OutboxMessage`] and its lifecycle: pending → (claimed with a lease) → sent, retried or
//! failed. A claim hides a message until its lease ends, so two workers never send it at once.

use serde::{Deserialize, Serialize};

use crate::ids::{InvoiceId, OrderId, OutboxId, UserId};
use crate::notice::Notice;
use crate::time::Timestamp;

/// What a message is about; the front end renders it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum OutboxBody {
    /// An order was paid: deliver its units.
    OrderDelivered {
        /// The order.
        order: OrderId,
    },
    /// An invoice was issued to the user.
    InvoiceIssued {
        /// The invoice.
        invoice: InvoiceId,
    },
    /// An invoice was paid.
    PaymentReceived {
        /// The invoice.
        invoice: InvoiceId,
    },
    /// An order was refunded to the wallet.
    OrderRefunded {
        /// The order.
        order: OrderId,
    },
    /// A notice to a staff member who opted into its kind
    /// ([`Storage::notify_staff`](crate::ports::Storage::notify_staff)).
    StaffNotice {
        /// What they are told.
        notice: Notice,
    },
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting to be sent (possibly claimed by a worker until `not_before`).
    Pending,
    /// Sent.
    Sent,
    /// Given up on.
    Failed,
}

/// A message owed to a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    /// Its id; ids grow in the order messages were written.
    pub id: OutboxId,
    /// Who gets it.
    pub user: UserId,
    /// What it is about.
    pub body: OutboxBody,
    /// Where it stands.
    pub status: OutboxStatus,
    /// Delivery attempts so far (claims).
    pub attempts: u32,
    /// Not to be claimed before this time.
    pub not_before: Timestamp,
    /// When it was written.
    pub created_at: Timestamp,
}

/// A message to write into the outbox with a state change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOutboxMessage {
    /// Who gets it.
    pub user: UserId,
    /// What it is about.
    pub body: OutboxBody,
}

/// What happened when a worker tried to deliver a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum DeliveryOutcome {
    /// Delivered.
    Sent,
    /// Try again at this time.
    RetryAt {
        /// When.
        at: Timestamp,
    },
    /// Give up.
    Failed,
}

/// A request to claim messages that are due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxClaim {
    /// Claim messages with `not_before ≤ now`.
    pub now: Timestamp,
    /// Hide claimed messages from other workers until this time.
    pub lease_until: Timestamp,
    /// At most this many.
    pub limit: usize,
}
