//! # shopbot-storage-json
//!
//! shopbot's embedded store. [`JsonStore::in_memory`] keeps the shop in memory (for tests,
//! demos and embedding); the durable mode journals every command to one directory.
//!
//! All state lives in one [`engine::State`] behind one lock: a command is applied whole under
//! the lock or not at all, which is what makes every storage invariant hold.

#![warn(missing_docs)]

pub mod engine;

use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use shopbot_core::audit::{AuditEntry, AuditRecord};
use shopbot_core::cart::{Cart, CartEdit};
use shopbot_core::catalog::{
    Category, NewCategory, NewProduct, Product, ProductFilter, ProductPatch,
};
use shopbot_core::dialogue::Dialogue;
use shopbot_core::ids::{ChatId, InvoiceId, OrderId, OutboxId, ProductId, UserId};
use shopbot_core::invoice::{
    Invoice, InvoiceEvent, InvoiceFilter, NewInvoice, PaymentEvent, PaymentOutcome,
};
use shopbot_core::money::Currency;
use shopbot_core::order::{CheckoutRequest, Order, OrderFilter, RefundRequest};
use shopbot_core::outbox::{DeliveryOutcome, OutboxClaim, OutboxMessage};
use shopbot_core::ports::{Page, Settings, Storage};
use shopbot_core::stock::{ImportReport, StockCounts, StockImport};
use shopbot_core::text::IdempotencyKey;
use shopbot_core::time::Timestamp;
use shopbot_core::user::{Role, User, UserProfile};
use shopbot_core::wallet::{Balance, LedgerEntry, LedgerRequest};
use shopbot_core::{Error, Result};

use engine::{Command, Outcome, State};

/// The embedded store.
pub struct JsonStore {
    state: Mutex<State>,
}

impl JsonStore {
    /// A store that lives in memory only and forgets everything when dropped.
    pub fn in_memory() -> Self {
        JsonStore {
            state: Mutex::new(State::new()),
        }
    }

    fn state(&self) -> Result<MutexGuard<'_, State>> {
        // A poisoned lock means a command panicked half-way: refuse rather than serve a state
        // that may break an invariant.
        self.state
            .lock()
            .map_err(|_| Error::internal_msg("the store's state lock is poisoned"))
    }

    fn execute(&self, command: Command) -> Result<Outcome> {
        self.state()?.apply(command)
    }
}

/// Unwraps the outcome variant a command is known to return.
macro_rules! outcome {
    ($outcome:expr, $variant:ident) => {
        match $outcome? {
            Outcome::$variant(value) => Ok(value),
            other => Err(Error::internal_msg(format!(
                "expected {} outcome, got {other:?}",
                stringify!($variant)
            ))),
        }
    };
}

#[async_trait]
impl Storage for JsonStore {
    async fn upsert_user(&self, profile: UserProfile, at: Timestamp) -> Result<User> {
        outcome!(self.execute(Command::UpsertUser { profile, at }), User)
    }

    async fn user(&self, id: UserId) -> Result<Option<User>> {
        Ok(self.state()?.user(id))
    }

    async fn users(&self, page: Page) -> Result<Vec<User>> {
        Ok(self.state()?.users(page))
    }

    async fn set_role(&self, user: UserId, role: Role, audit: AuditRecord) -> Result<User> {
        outcome!(self.execute(Command::SetRole { user, role, audit }), User)
    }

    async fn set_banned(&self, user: UserId, banned: bool, audit: AuditRecord) -> Result<User> {
        let command = Command::SetBanned {
            user,
            banned,
            audit,
        };
        outcome!(self.execute(command), User)
    }

    async fn settings(&self) -> Result<Settings> {
        Ok(self.state()?.settings())
    }

    async fn set_maintenance(&self, on: bool, audit: AuditRecord) -> Result<Settings> {
        outcome!(
            self.execute(Command::SetMaintenance { on, audit }),
            Settings
        )
    }

    async fn create_category(&self, new: NewCategory, audit: AuditRecord) -> Result<Category> {
        outcome!(
            self.execute(Command::CreateCategory { new, audit }),
            Category
        )
    }

    async fn categories(&self) -> Result<Vec<Category>> {
        Ok(self.state()?.categories())
    }

    async fn create_product(&self, new: NewProduct, audit: AuditRecord) -> Result<Product> {
        outcome!(self.execute(Command::CreateProduct { new, audit }), Product)
    }

    async fn update_product(
        &self,
        id: ProductId,
        patch: ProductPatch,
        audit: AuditRecord,
    ) -> Result<Product> {
        let command = Command::UpdateProduct { id, patch, audit };
        outcome!(self.execute(command), Product)
    }

    async fn product(&self, id: ProductId) -> Result<Option<Product>> {
        Ok(self.state()?.product(id))
    }

    async fn products(&self, filter: ProductFilter) -> Result<Vec<Product>> {
        Ok(self.state()?.products(filter))
    }

    async fn import_stock(&self, import: StockImport, audit: AuditRecord) -> Result<ImportReport> {
        outcome!(self.execute(Command::ImportStock { import, audit }), Import)
    }

    async fn stock_counts(&self, product: ProductId) -> Result<StockCounts> {
        Ok(self.state()?.stock_counts(product))
    }

    async fn cart(&self, user: UserId) -> Result<Cart> {
        Ok(self.state()?.cart(user))
    }

    async fn edit_cart(&self, user: UserId, edit: CartEdit) -> Result<Cart> {
        outcome!(self.execute(Command::EditCart { user, edit }), Cart)
    }

    async fn commit_checkout(&self, request: CheckoutRequest) -> Result<Order> {
        outcome!(self.execute(Command::Checkout { request }), Order)
    }

    async fn checkout_by_key(&self, user: UserId, key: IdempotencyKey) -> Result<Option<Order>> {
        Ok(self.state()?.checkout_by_key(user, key))
    }

    async fn order(&self, id: OrderId) -> Result<Option<Order>> {
        Ok(self.state()?.order(id))
    }

    async fn orders(&self, filter: OrderFilter) -> Result<Vec<Order>> {
        Ok(self.state()?.orders(filter))
    }

    async fn refund_order(&self, request: RefundRequest, audit: AuditRecord) -> Result<Order> {
        outcome!(self.execute(Command::Refund { request, audit }), Order)
    }

    async fn post_ledger_entry(
        &self,
        request: LedgerRequest,
        audit: Option<AuditRecord>,
    ) -> Result<LedgerEntry> {
        let command = Command::PostLedgerEntry { request, audit };
        outcome!(self.execute(command), Entry)
    }

    async fn balance(&self, user: UserId, currency: Currency) -> Result<Balance> {
        Ok(self.state()?.balance(user, currency))
    }

    async fn ledger(&self, user: UserId, page: Page) -> Result<Vec<LedgerEntry>> {
        Ok(self.state()?.ledger(user, page))
    }

    async fn create_invoice(&self, new: NewInvoice) -> Result<Invoice> {
        outcome!(self.execute(Command::CreateInvoice { new }), Invoice)
    }

    async fn invoice(&self, id: InvoiceId) -> Result<Option<Invoice>> {
        Ok(self.state()?.invoice(id))
    }

    async fn invoices(&self, filter: InvoiceFilter) -> Result<Vec<Invoice>> {
        Ok(self.state()?.invoices(filter))
    }

    async fn transition_invoice(
        &self,
        id: InvoiceId,
        event: InvoiceEvent,
        at: Timestamp,
        audit: Option<AuditRecord>,
    ) -> Result<Invoice> {
        let command = Command::TransitionInvoice {
            id,
            event,
            at,
            audit,
        };
        outcome!(self.execute(command), Invoice)
    }

    async fn apply_payment(&self, payment: PaymentEvent) -> Result<PaymentOutcome> {
        outcome!(self.execute(Command::ApplyPayment { payment }), Payment)
    }

    async fn dialogue(
        &self,
        chat: ChatId,
        user: UserId,
        now: Timestamp,
    ) -> Result<Option<Dialogue>> {
        Ok(self.state()?.dialogue(chat, user, now))
    }

    async fn save_dialogue(&self, dialogue: Dialogue) -> Result<()> {
        self.execute(Command::SaveDialogue { dialogue }).map(drop)
    }

    async fn clear_dialogue(&self, chat: ChatId, user: UserId) -> Result<()> {
        self.execute(Command::ClearDialogue { chat, user })
            .map(drop)
    }

    async fn claim_outbox(&self, claim: OutboxClaim) -> Result<Vec<OutboxMessage>> {
        outcome!(self.execute(Command::ClaimOutbox { claim }), Outbox)
    }

    async fn complete_outbox(&self, id: OutboxId, outcome: DeliveryOutcome) -> Result<()> {
        self.execute(Command::CompleteOutbox { id, outcome })
            .map(drop)
    }

    async fn audit_log(&self, page: Page) -> Result<Vec<AuditEntry>> {
        Ok(self.state()?.audit_log(page))
    }
}
