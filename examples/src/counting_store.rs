//! A custom [`Storage`]: a wrapper that counts the calls made to any store.
//!
//! This is the pattern for every cross-cutting concern around a store (metrics, logging,
//! tracing spans, fault injection): implement [`Storage`] by handing each method to the inner
//! store, and do the extra work around the call. The wrapper must never change what a call
//! answers, so the inner store's contract (atomicity, idempotency, which error when) carries
//! over unchanged, and the whole conformance suite passes through it
//! (`examples/tests/examples/conformance.rs`).

use shopbot_core::housekeeping::{Sweep, SweepReport};
use shopbot_core::jobs::{JobRecord, JobRound};
use shopbot_core::notice::{Notice, NoticeKinds};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use shopbot_core::Result;
use shopbot_core::audit::{AuditEntry, AuditRecord};
use shopbot_core::cart::{Cart, CartEdit};
use shopbot_core::catalog::{
    Category, NewCategory, NewProduct, Product, ProductFilter, ProductPatch,
};
use shopbot_core::dialogue::Dialogue;
use shopbot_core::ids::{
    CategoryId, ChatId, InvoiceId, OrderId, OutboxId, ProductId, UpdateId, UserId,
};
use shopbot_core::invoice::{
    Invoice, InvoiceEvent, InvoiceFilter, NewInvoice, PaymentEvent, PaymentOutcome,
};
use shopbot_core::money::Currency;
use shopbot_core::order::{
    CheckoutOutcome, CheckoutRequest, Order, OrderFilter, RefundOutcome, RefundRequest,
};
use shopbot_core::outbox::{DeliveryOutcome, OutboxClaim, OutboxMessage};
use shopbot_core::ports::{Page, Settings, Storage};
use shopbot_core::stock::{ImportReport, StockCounts, StockImport, StockRemoval, StockUnit};
use shopbot_core::text::{CategoryName, IdempotencyKey};
use shopbot_core::time::Timestamp;
use shopbot_core::user::{Role, User, UserProfile};
use shopbot_core::wallet::{Balance, LedgerEntry, LedgerRequest};

/// How many calls a [`CountingStore`] has seen, at the moment it was asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallCounts {
    /// Queries: calls that only read.
    pub reads: u64,
    /// Commands: calls that may change the store.
    pub writes: u64,
    /// Calls of either kind that the store answered with an error (a refused purchase, an
    /// unknown id, a conflict).
    pub refused: u64,
}

/// A [`Storage`] that forwards every call to another store and counts it.
pub struct CountingStore {
    inner: Arc<dyn Storage>,
    reads: AtomicU64,
    writes: AtomicU64,
    refused: AtomicU64,
}

impl CountingStore {
    /// Wraps `inner`; the counts start at zero.
    pub fn new(inner: Arc<dyn Storage>) -> CountingStore {
        CountingStore {
            inner,
            reads: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }
    }

    /// The counts so far.
    pub fn counts(&self) -> CallCounts {
        // Relaxed is enough: the counters are independent tallies, and no other memory is
        // published through them.
        CallCounts {
            reads: self.reads.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
        }
    }

    async fn read<T>(&self, call: impl Future<Output = Result<T>>) -> Result<T> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.tally(call.await)
    }

    async fn write<T>(&self, call: impl Future<Output = Result<T>>) -> Result<T> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.tally(call.await)
    }

    /// Counts an error and passes the answer on untouched: the caller must see exactly what
    /// the inner store said, or the wrapper would break the storage contract.
    fn tally<T>(&self, answer: Result<T>) -> Result<T> {
        if answer.is_err() {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        answer
    }
}

// Every method is forwarded, also those with default bodies in the trait (the combined
// queries such as `user_with_settings`): a backend may answer them in one round trip, and a
// wrapper that fell back to the defaults would quietly turn that into several.
#[async_trait]
impl Storage for CountingStore {
    async fn upsert_user(&self, profile: UserProfile, at: Timestamp) -> Result<User> {
        self.write(self.inner.upsert_user(profile, at)).await
    }

    async fn user(&self, id: UserId) -> Result<Option<User>> {
        self.read(self.inner.user(id)).await
    }

    async fn users(&self, page: Page) -> Result<Vec<User>> {
        self.read(self.inner.users(page)).await
    }

    async fn set_role(&self, user: UserId, role: Role, audit: AuditRecord) -> Result<User> {
        self.write(self.inner.set_role(user, role, audit)).await
    }

    async fn set_banned(&self, user: UserId, banned: bool, audit: AuditRecord) -> Result<User> {
        self.write(self.inner.set_banned(user, banned, audit)).await
    }

    async fn settings(&self) -> Result<Settings> {
        self.read(self.inner.settings()).await
    }

    async fn user_with_settings(&self, id: UserId) -> Result<(Option<User>, Settings)> {
        self.read(self.inner.user_with_settings(id)).await
    }

    async fn user_with_product(
        &self,
        id: UserId,
        product: ProductId,
    ) -> Result<(Option<User>, Settings, Option<Product>)> {
        self.read(self.inner.user_with_product(id, product)).await
    }

    async fn user_with_cart(
        &self,
        id: UserId,
    ) -> Result<(Option<User>, Settings, Cart, Vec<Product>)> {
        self.read(self.inner.user_with_cart(id)).await
    }

    async fn set_maintenance(&self, on: bool, audit: AuditRecord) -> Result<Settings> {
        self.write(self.inner.set_maintenance(on, audit)).await
    }

    async fn shop_currency(&self) -> Result<Option<Currency>> {
        self.read(self.inner.shop_currency()).await
    }

    async fn adopt_currency(&self, currency: Currency) -> Result<Currency> {
        self.write(self.inner.adopt_currency(currency)).await
    }

    async fn create_category(&self, new: NewCategory, audit: AuditRecord) -> Result<Category> {
        self.write(self.inner.create_category(new, audit)).await
    }

    async fn categories(&self) -> Result<Vec<Category>> {
        self.read(self.inner.categories()).await
    }

    async fn rename_category(
        &self,
        id: CategoryId,
        name: CategoryName,
        audit: AuditRecord,
    ) -> Result<Category> {
        self.write(self.inner.rename_category(id, name, audit))
            .await
    }

    async fn delete_category(&self, id: CategoryId, audit: AuditRecord) -> Result<()> {
        self.write(self.inner.delete_category(id, audit)).await
    }

    async fn create_product(&self, new: NewProduct, audit: AuditRecord) -> Result<Product> {
        self.write(self.inner.create_product(new, audit)).await
    }

    async fn update_product(
        &self,
        id: ProductId,
        patch: ProductPatch,
        audit: AuditRecord,
    ) -> Result<Product> {
        self.write(self.inner.update_product(id, patch, audit))
            .await
    }

    async fn delete_product(&self, id: ProductId, audit: AuditRecord) -> Result<u64> {
        self.write(self.inner.delete_product(id, audit)).await
    }

    async fn product(&self, id: ProductId) -> Result<Option<Product>> {
        self.read(self.inner.product(id)).await
    }

    async fn products(&self, filter: ProductFilter) -> Result<Vec<Product>> {
        self.read(self.inner.products(filter)).await
    }

    async fn import_stock(&self, import: StockImport, audit: AuditRecord) -> Result<ImportReport> {
        self.write(self.inner.import_stock(import, audit)).await
    }

    async fn stock_counts(&self, product: ProductId) -> Result<StockCounts> {
        self.read(self.inner.stock_counts(product)).await
    }

    async fn stock_units(&self, product: ProductId) -> Result<Vec<StockUnit>> {
        self.read(self.inner.stock_units(product)).await
    }

    async fn remove_stock(&self, removal: StockRemoval, audit: AuditRecord) -> Result<u64> {
        self.write(self.inner.remove_stock(removal, audit)).await
    }

    async fn cart(&self, user: UserId) -> Result<Cart> {
        self.read(self.inner.cart(user)).await
    }

    async fn cart_with_products(&self, user: UserId) -> Result<(Cart, Vec<Product>)> {
        self.read(self.inner.cart_with_products(user)).await
    }

    async fn edit_cart(&self, user: UserId, edit: CartEdit) -> Result<Cart> {
        self.write(self.inner.edit_cart(user, edit)).await
    }

    async fn commit_checkout(&self, request: CheckoutRequest) -> Result<CheckoutOutcome> {
        self.write(self.inner.commit_checkout(request)).await
    }

    async fn checkout_by_key(&self, user: UserId, key: IdempotencyKey) -> Result<Option<Order>> {
        self.read(self.inner.checkout_by_key(user, key)).await
    }

    async fn order(&self, id: OrderId) -> Result<Option<Order>> {
        self.read(self.inner.order(id)).await
    }

    async fn orders(&self, filter: OrderFilter) -> Result<Vec<Order>> {
        self.read(self.inner.orders(filter)).await
    }

    async fn refund_order(
        &self,
        request: RefundRequest,
        audit: AuditRecord,
    ) -> Result<RefundOutcome> {
        self.write(self.inner.refund_order(request, audit)).await
    }

    async fn post_ledger_entry(
        &self,
        request: LedgerRequest,
        audit: Option<AuditRecord>,
    ) -> Result<LedgerEntry> {
        self.write(self.inner.post_ledger_entry(request, audit))
            .await
    }

    async fn balance(&self, user: UserId, currency: Currency) -> Result<Balance> {
        self.read(self.inner.balance(user, currency)).await
    }

    async fn ledger(&self, user: UserId, page: Page) -> Result<Vec<LedgerEntry>> {
        self.read(self.inner.ledger(user, page)).await
    }

    async fn create_invoice(&self, new: NewInvoice) -> Result<Invoice> {
        self.write(self.inner.create_invoice(new)).await
    }

    async fn invoice(&self, id: InvoiceId) -> Result<Option<Invoice>> {
        self.read(self.inner.invoice(id)).await
    }

    async fn invoices(&self, filter: InvoiceFilter) -> Result<Vec<Invoice>> {
        self.read(self.inner.invoices(filter)).await
    }

    async fn transition_invoice(
        &self,
        id: InvoiceId,
        event: InvoiceEvent,
        at: Timestamp,
        audit: Option<AuditRecord>,
    ) -> Result<Invoice> {
        self.write(self.inner.transition_invoice(id, event, at, audit))
            .await
    }

    async fn apply_payment(&self, payment: PaymentEvent) -> Result<PaymentOutcome> {
        self.write(self.inner.apply_payment(payment)).await
    }

    async fn dialogue(
        &self,
        chat: ChatId,
        user: UserId,
        now: Timestamp,
    ) -> Result<Option<Dialogue>> {
        self.read(self.inner.dialogue(chat, user, now)).await
    }

    async fn save_dialogue(&self, dialogue: Dialogue) -> Result<()> {
        self.write(self.inner.save_dialogue(dialogue)).await
    }

    async fn clear_dialogue(&self, chat: ChatId, user: UserId) -> Result<()> {
        self.write(self.inner.clear_dialogue(chat, user)).await
    }

    async fn mark_update_processed(&self, update: UpdateId, at: Timestamp) -> Result<bool> {
        self.write(self.inner.mark_update_processed(update, at))
            .await
    }

    async fn claim_outbox(&self, claim: OutboxClaim) -> Result<Vec<OutboxMessage>> {
        self.write(self.inner.claim_outbox(claim)).await
    }

    async fn complete_outbox(&self, id: OutboxId, outcome: DeliveryOutcome) -> Result<()> {
        self.write(self.inner.complete_outbox(id, outcome)).await
    }

    async fn audit_log(&self, page: Page) -> Result<Vec<AuditEntry>> {
        self.read(self.inner.audit_log(page)).await
    }

    async fn write_audit(&self, audit: AuditRecord) -> Result<()> {
        self.write(self.inner.write_audit(audit)).await
    }

    async fn notice_kinds(&self, user: UserId) -> Result<NoticeKinds> {
        self.read(self.inner.notice_kinds(user)).await
    }

    async fn set_notice_kinds(
        &self,
        user: UserId,
        kinds: NoticeKinds,
        audit: AuditRecord,
    ) -> Result<NoticeKinds> {
        self.write(self.inner.set_notice_kinds(user, kinds, audit))
            .await
    }

    async fn notify_staff(&self, notice: Notice, key: String, at: Timestamp) -> Result<u64> {
        self.write(self.inner.notify_staff(notice, key, at)).await
    }

    async fn record_job_round(&self, round: JobRound) -> Result<JobRecord> {
        self.write(self.inner.record_job_round(round)).await
    }

    async fn job_records(&self) -> Result<Vec<JobRecord>> {
        self.read(self.inner.job_records()).await
    }

    async fn request_job_run(&self, name: String, at: Timestamp) -> Result<JobRecord> {
        self.write(self.inner.request_job_run(name, at)).await
    }

    async fn sweep(&self, sweep: Sweep) -> Result<SweepReport> {
        self.write(self.inner.sweep(sweep)).await
    }
}
