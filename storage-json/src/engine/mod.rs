//! The in-memory engine: the whole shop state and one deterministic function per command.
//!
//! Every command checks everything first and changes state only once nothing can fail, so a
//! refused command leaves the state untouched. Commands read no clock and no randomness and
//! iterate only ordered maps, so applying the same commands in the same order always gives the
//! same state and results: that is what lets the durable store replay its journal.

mod catalog;
mod check;
mod checkout;
mod command;
mod dump;
mod housekeeping;
mod invoices;
mod jobs;
mod notices;
mod payload_index;
mod records;
mod requests;
mod snapshot;
mod staging;
mod users;
mod wallet;

use std::collections::{BTreeMap, BTreeSet};

pub use command::{Command, Outcome};
pub use requests::{Answer, RecordedRequest, Refusal};
pub use snapshot::Snapshot;
pub use staging::Stage;

use shopbot_core::Error;
use shopbot_core::audit::{AuditEntry, AuditRecord};
use shopbot_core::cart::Cart;
use shopbot_core::catalog::{Category, Product};
use shopbot_core::dialogue::Dialogue;
use shopbot_core::idempotency::Fingerprint;
use shopbot_core::ids::{
    AuditId, CategoryId, ChatId, EntryId, HoldId, InvoiceId, OrderId, OutboxId, ProductId, UnitId,
    UpdateId, UserId,
};
use shopbot_core::invoice::{Invoice, PaymentProvider};
use shopbot_core::jobs::JobRecord;
use shopbot_core::money::Currency;
use shopbot_core::notice::NoticeKinds;
use shopbot_core::order::Order;
use shopbot_core::outbox::{NewOutboxMessage, OutboxMessage, OutboxStatus};
use shopbot_core::ports::Settings;
use shopbot_core::stock::{StockCounts, StockUnit};
use shopbot_core::text::{IdempotencyKey, Note};
use shopbot_core::time::Timestamp;
use shopbot_core::user::User;
use shopbot_core::wallet::{Balance, Hold, LedgerEntry};

/// The last id handed out for each kind of record.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
struct Counters {
    category: i64,
    product: i64,
    unit: i64,
    order: i64,
    invoice: i64,
    invoice_number: u64,
    entry: i64,
    outbox: i64,
    audit: i64,
    /// Absent from snapshots written before staged imports.
    #[serde(default)]
    stage: u64,
}

/// Everything the shop knows, with the indexes that keep every command's cost independent of
/// the size of the store.
#[derive(Debug, Default)]
pub struct State {
    next: Counters,
    settings: Settings,
    /// The shop's currency, once recorded.
    currency: Option<Currency>,
    users: BTreeMap<UserId, User>,
    categories: BTreeMap<CategoryId, Category>,
    products: BTreeMap<ProductId, Product>,
    units: BTreeMap<UnitId, StockUnit>,
    /// Available units per product, oldest first.
    available: BTreeMap<ProductId, BTreeSet<UnitId>>,
    /// Every unit by payload, for duplicate checks on import.
    payloads: payload_index::PayloadIndex,
    counts: BTreeMap<ProductId, StockCounts>,
    carts: BTreeMap<UserId, Cart>,
    orders: BTreeMap<OrderId, Order>,
    orders_by_user: BTreeMap<UserId, Vec<OrderId>>,
    checkout_keys: BTreeMap<(UserId, IdempotencyKey), (Fingerprint, OrderId)>,
    entries: BTreeMap<EntryId, LedgerEntry>,
    entries_by_user: BTreeMap<UserId, Vec<EntryId>>,
    ledger_keys: BTreeMap<(UserId, IdempotencyKey), (Fingerprint, EntryId)>,
    balances: BTreeMap<(UserId, Currency), Balance>,
    holds: BTreeMap<HoldId, Hold>,
    invoices: BTreeMap<InvoiceId, Invoice>,
    open_invoices: BTreeSet<InvoiceId>,
    charges: BTreeMap<(PaymentProvider, Note), InvoiceId>,
    dialogues: BTreeMap<(ChatId, UserId), Dialogue>,
    /// The same by expiry, so a sweep finds expired ones without reading the live ones.
    dialogues_by_expiry: BTreeSet<(Timestamp, ChatId, UserId)>,
    /// Messenger updates handled, and the same by time for forgetting old ones.
    processed_updates: BTreeMap<UpdateId, Timestamp>,
    updates_by_time: BTreeSet<(Timestamp, UpdateId)>,
    outbox: BTreeMap<OutboxId, OutboxMessage>,
    pending_outbox: BTreeSet<OutboxId>,
    audit: Vec<AuditEntry>,
    /// The kinds of staff notice each person opted into; nobody with none.
    notice_kinds: BTreeMap<UserId, NoticeKinds>,
    /// Keys of the staff notices raised, with when each was first raised.
    notice_keys: BTreeMap<String, Timestamp>,
    /// What the store knows of each background job, by name.
    jobs: BTreeMap<String, JobRecord>,
    /// The answers of keyed calls, so a repeated request applies once.
    requests: requests::Requests,
    /// Large imports being staged, invisible until published.
    stages: staging::Stages,
}

impl State {
    /// An empty shop.
    pub fn new() -> Self {
        State::default()
    }

    fn write_audit(&mut self, record: Option<AuditRecord>) {
        if let Some(record) = record {
            self.next.audit += 1;
            let id = AuditId(self.next.audit);
            self.audit.push(AuditEntry { id, record });
        }
    }

    fn queue(&mut self, message: NewOutboxMessage, at: Timestamp) {
        self.next.outbox += 1;
        let id = OutboxId(self.next.outbox);
        self.outbox.insert(
            id,
            OutboxMessage {
                id,
                user: message.user,
                body: message.body,
                status: OutboxStatus::Pending,
                attempts: 0,
                not_before: at,
                created_at: at,
            },
        );
        self.pending_outbox.insert(id);
    }

    fn require_user(&self, id: UserId) -> Result<&User, Error> {
        self.users
            .get(&id)
            .ok_or_else(|| Error::not_found("user", id))
    }
}

/// The items of one page: skip `offset`, take at most `limit`.
fn page_of<'a, T: Clone + 'a, I>(items: I, offset: usize, limit: usize) -> Vec<T>
where
    I: Iterator<Item = &'a T>,
{
    items.skip(offset).take(limit).cloned().collect()
}
