//! The state as plain data: what a snapshot file holds. Indexes are not stored; they are
//! rebuilt on load, so a snapshot can never disagree with its own indexes.

use serde::{Deserialize, Serialize};

use shopbot_core::audit::AuditEntry;
use shopbot_core::cart::Cart;
use shopbot_core::catalog::{Category, Product};
use shopbot_core::dialogue::Dialogue;
use shopbot_core::idempotency::Fingerprint;
use shopbot_core::ids::{EntryId, InvoiceId, OrderId, UpdateId, UserId};
use shopbot_core::invoice::{Invoice, InvoiceStatus, PaymentProvider};
use shopbot_core::jobs::JobRecord;
use shopbot_core::money::Currency;
use shopbot_core::notice::NoticeKinds;
use shopbot_core::order::Order;
use shopbot_core::outbox::{OutboxMessage, OutboxStatus};
use shopbot_core::ports::Settings;
use shopbot_core::stock::{StockUnit, UnitState};
use shopbot_core::text::{IdempotencyKey, Note};
use shopbot_core::time::Timestamp;
use shopbot_core::user::User;
use shopbot_core::wallet::{Balance, Hold, LedgerEntry};

use super::{Counters, RecordedRequest, Stage, State};

/// Everything in a [`State`] that is not an index.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Snapshot {
    pub(super) next: Counters,
    pub(super) settings: Settings,
    /// Absent from snapshots written before shops recorded their currency.
    #[serde(default)]
    pub(super) currency: Option<Currency>,
    pub(super) users: Vec<User>,
    pub(super) categories: Vec<Category>,
    pub(super) products: Vec<Product>,
    pub(super) units: Vec<StockUnit>,
    pub(super) carts: Vec<Cart>,
    pub(super) orders: Vec<Order>,
    pub(super) checkout_keys: Vec<(UserId, IdempotencyKey, Fingerprint, OrderId)>,
    pub(super) entries: Vec<LedgerEntry>,
    pub(super) ledger_keys: Vec<(UserId, IdempotencyKey, Fingerprint, EntryId)>,
    pub(super) balances: Vec<(UserId, Currency, Balance)>,
    pub(super) holds: Vec<Hold>,
    pub(super) invoices: Vec<Invoice>,
    pub(super) charges: Vec<(PaymentProvider, Note, InvoiceId)>,
    pub(super) dialogues: Vec<Dialogue>,
    /// Absent from snapshots written before updates were recorded.
    #[serde(default)]
    pub(super) processed_updates: Vec<(UpdateId, Timestamp)>,
    pub(super) outbox: Vec<OutboxMessage>,
    pub(super) audit: Vec<AuditEntry>,
    /// Absent from snapshots written before staff notices.
    #[serde(default)]
    pub(super) notice_kinds: Vec<(UserId, NoticeKinds)>,
    /// Absent from snapshots written before staff notices.
    #[serde(default)]
    pub(super) notice_keys: Vec<(String, Timestamp)>,
    /// Absent from snapshots written before job records.
    #[serde(default)]
    pub(super) jobs: Vec<JobRecord>,
    /// Absent from snapshots written before request keys.
    #[serde(default)]
    pub(super) requests: Vec<RecordedRequest>,
    /// Absent from snapshots written before staged imports.
    #[serde(default)]
    pub(super) stages: Vec<Stage>,
}

impl State {
    /// The state as plain data.
    pub fn to_snapshot(&self) -> Snapshot {
        Snapshot {
            next: self.next.clone(),
            settings: self.settings,
            currency: self.currency,
            users: self.users.values().cloned().collect(),
            categories: self.categories.values().cloned().collect(),
            products: self.products.values().cloned().collect(),
            units: self.units.values().cloned().collect(),
            carts: self.carts.values().cloned().collect(),
            orders: self.orders.values().cloned().collect(),
            checkout_keys: self
                .checkout_keys
                .iter()
                .map(|((u, k), (f, o))| (*u, k.clone(), f.clone(), *o))
                .collect(),
            entries: self.entries.values().cloned().collect(),
            ledger_keys: self
                .ledger_keys
                .iter()
                .map(|((u, k), (f, e))| (*u, k.clone(), f.clone(), *e))
                .collect(),
            balances: self
                .balances
                .iter()
                .map(|((u, c), b)| (*u, *c, *b))
                .collect(),
            holds: self.holds.values().copied().collect(),
            invoices: self.invoices.values().cloned().collect(),
            charges: self
                .charges
                .iter()
                .map(|((p, c), i)| (*p, c.clone(), *i))
                .collect(),
            dialogues: self.dialogues.values().cloned().collect(),
            processed_updates: self
                .processed_updates
                .iter()
                .map(|(u, at)| (*u, *at))
                .collect(),
            outbox: self.outbox.values().cloned().collect(),
            audit: self.audit.clone(),
            notice_kinds: self
                .notice_kinds
                .iter()
                .map(|(u, k)| (*u, k.clone()))
                .collect(),
            notice_keys: self
                .notice_keys
                .iter()
                .map(|(k, at)| (k.clone(), *at))
                .collect(),
            jobs: self.jobs.values().cloned().collect(),
            requests: self.requests.records().cloned().collect(),
            stages: self.stages.records().cloned().collect(),
        }
    }

    /// Rebuilds a state, indexes included, from plain data.
    pub fn from_snapshot(snapshot: Snapshot) -> State {
        let mut state = State {
            next: snapshot.next,
            settings: snapshot.settings,
            currency: snapshot.currency,
            audit: snapshot.audit,
            ..State::default()
        };
        state.users = snapshot.users.into_iter().map(|u| (u.id, u)).collect();
        state.categories = snapshot.categories.into_iter().map(|c| (c.id, c)).collect();
        state.products = snapshot.products.into_iter().map(|p| (p.id, p)).collect();
        for unit in &snapshot.units {
            state.index_unit(unit);
        }
        // Ids arrive sorted, so the map is built in bulk rather than insert by insert.
        state.units = snapshot.units.into_iter().map(|u| (u.id, u)).collect();
        state.carts = snapshot.carts.into_iter().map(|c| (c.user, c)).collect();
        for order in snapshot.orders {
            state
                .orders_by_user
                .entry(order.user)
                .or_default()
                .push(order.id);
            state.orders.insert(order.id, order);
        }
        state.checkout_keys = snapshot
            .checkout_keys
            .into_iter()
            .map(|(u, k, f, o)| ((u, k), (f, o)))
            .collect();
        for entry in snapshot.entries {
            state
                .entries_by_user
                .entry(entry.user)
                .or_default()
                .push(entry.id);
            state.entries.insert(entry.id, entry);
        }
        state.ledger_keys = snapshot
            .ledger_keys
            .into_iter()
            .map(|(u, k, f, e)| ((u, k), (f, e)))
            .collect();
        state.balances = snapshot
            .balances
            .into_iter()
            .map(|(u, c, b)| ((u, c), b))
            .collect();
        state.holds = snapshot.holds.into_iter().map(|h| (h.id, h)).collect();
        for invoice in snapshot.invoices {
            if invoice.status == InvoiceStatus::Open {
                state.open_invoices.insert(invoice.id);
            }
            state.invoices.insert(invoice.id, invoice);
        }
        state.charges = snapshot
            .charges
            .into_iter()
            .map(|(p, c, i)| ((p, c), i))
            .collect();
        state.dialogues_by_expiry = snapshot
            .dialogues
            .iter()
            .map(|d| (d.expires_at, d.chat, d.user))
            .collect();
        state.dialogues = snapshot
            .dialogues
            .into_iter()
            .map(|d| ((d.chat, d.user), d))
            .collect();
        for (update, at) in snapshot.processed_updates {
            state.processed_updates.insert(update, at);
            state.updates_by_time.insert((at, update));
        }
        for message in snapshot.outbox {
            if message.status == OutboxStatus::Pending {
                state.pending_outbox.insert(message.id);
            }
            state.outbox.insert(message.id, message);
        }
        state.notice_kinds = snapshot
            .notice_kinds
            .into_iter()
            .filter(|(_, kinds)| !kinds.is_empty())
            .collect();
        state.notice_keys = snapshot.notice_keys.into_iter().collect();
        state.jobs = snapshot
            .jobs
            .into_iter()
            .map(|j| (j.name.clone(), j))
            .collect();
        for recorded in snapshot.requests {
            state.requests.insert(recorded);
        }
        for stage in snapshot.stages {
            state.stages.insert(stage);
        }
        state
    }

    /// Adds a unit to the stock indexes (payloads, availability, counts).
    pub(super) fn index_unit(&mut self, unit: &StockUnit) {
        self.payloads.insert(unit);
        let counts = self.counts.entry(unit.product).or_default();
        match unit.state {
            UnitState::Available => {
                counts.available += 1;
                self.available
                    .entry(unit.product)
                    .or_default()
                    .insert(unit.id);
            }
            UnitState::Reserved { .. } => counts.reserved += 1,
            UnitState::Sold { .. } => counts.sold += 1,
        }
    }
}
