//! [`KeyedStore`]: the store as seen by one request that may be repeated.
//!
//! A process that forwards an admin's command to the shop (the CLI talking to `shopbot serve`)
//! cannot tell, when the connection drops, whether the command was applied. It repeats the
//! command under the same [`RequestKey`]: through a [`KeyedStore`] every mutating call is
//! numbered (1, 2, 3, … per handle) and sent as a keyed command, whose answer the store
//! records in the same journal record as its effect. A new handle with the same key that
//! makes the same calls gets the recorded answers and changes nothing — also after a restart
//! or a crash, since the records are part of the state (snapshot and journal alike). A call
//! that asks for something else under a recorded `(key, number)` is a `Conflict`.
//!
//! What counts as "the same call" is the command with every time left out (fields named `at`,
//! `now`, or ending in `_at` or `_until`): an honest repeat runs later and stamps its audit
//! record, its ledger request and its claims with a later time. Reads pass straight through.
//! One handle serves one request, whose calls it numbers in the order they are made: calls
//! made concurrently through one handle get numbers in an order nobody can repeat.

use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use serde_json::Value;

use shopbot_core::audit::{AuditEntry, AuditRecord};
use shopbot_core::cart::{Cart, CartEdit};
use shopbot_core::catalog::{
    Category, NewCategory, NewProduct, Product, ProductFilter, ProductPatch,
};
use shopbot_core::dialogue::Dialogue;
use shopbot_core::housekeeping::{Sweep, SweepReport};
use shopbot_core::idempotency::{Fingerprint, fingerprint};
use shopbot_core::ids::{
    CategoryId, ChatId, InvoiceId, OrderId, OutboxId, ProductId, UpdateId, UserId,
};
use shopbot_core::invoice::{
    Invoice, InvoiceEvent, InvoiceFilter, NewInvoice, PaymentEvent, PaymentOutcome,
};
use shopbot_core::jobs::{JobRecord, JobRound};
use shopbot_core::money::Currency;
use shopbot_core::notice::{Notice, NoticeKinds, check_notice_key};
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
use shopbot_core::{Error, Result};

use crate::engine::{Command, Outcome};
use crate::{JsonStore, RequestKey, STAGE_CHUNK_LINES};

impl JsonStore {
    /// The store as seen by the request named `key`, made at `at` (the caller's clock; the
    /// sweep forgets the request's answers a day later): see [`KeyedStore`].
    pub fn keyed(&self, key: RequestKey, at: Timestamp) -> KeyedStore {
        KeyedStore {
            store: JsonStore {
                shared: std::sync::Arc::clone(&self.shared),
                owner: false,
            },
            key,
            at,
            calls: AtomicU32::new(0),
        }
    }
}

/// Unwraps the outcome variant a call is known to return.
macro_rules! answer {
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

/// A [`Storage`] whose mutating calls apply once per request key: see the module docs.
///
/// It shares the store it was made from and keeps it open while it lives; dropping it never
/// waits for anything.
pub struct KeyedStore {
    store: JsonStore,
    key: RequestKey,
    at: Timestamp,
    calls: AtomicU32,
}

impl KeyedStore {
    /// The request's key.
    pub fn key(&self) -> &RequestKey {
        &self.key
    }

    /// The number of the next call.
    fn next_call(&self) -> u32 {
        self.calls.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Sends `command` as the next call of the request and returns its answer.
    async fn call(&self, command: Command) -> Result<Outcome> {
        let fingerprint = call_fingerprint(&command);
        self.call_as(self.next_call(), fingerprint, command).await
    }

    /// Sends `command` as call `call`, asking for what `fingerprint` names.
    async fn call_as(
        &self,
        call: u32,
        fingerprint: Fingerprint,
        command: Command,
    ) -> Result<Outcome> {
        let keyed = Command::Keyed {
            key: self.key.clone(),
            call,
            at: self.at,
            fingerprint,
            inner: Box::new(command),
        };
        answer_of(self.store.execute(keyed).await?)
    }

    /// A large import: staged like any other (see `staged_import`), with the publishing
    /// command as the keyed call, so the import's answer is recorded with its effect. A
    /// repeat of a recorded import is answered before anything is staged.
    async fn import_staged(&self, import: StockImport, audit: AuditRecord) -> Result<ImportReport> {
        let call = self.next_call();
        let fingerprint = call_fingerprint(&Command::ImportStock {
            import: import.clone(),
            audit: audit.clone(),
        });
        if let Some(recorded) = self
            .store
            .recorded_answer(&self.key, call, &fingerprint)
            .await?
        {
            return answer!(answer_of(recorded), Import);
        }
        let publish = async |stage, audit| {
            let command = Command::PublishStage { stage, audit };
            answer!(self.call_as(call, fingerprint, command).await, Import)
        };
        self.store
            .import_staged(import, audit, publish, async |_| {})
            .await
    }
}

/// The answer a keyed command's outcome carries.
fn answer_of(outcome: Outcome) -> Result<Outcome> {
    match outcome {
        Outcome::Keyed(answer) => answer.map_err(|refusal| refusal.to_error()),
        other => Err(Error::internal_msg(format!(
            "expected a keyed answer, got {other:?}"
        ))),
    }
}

/// What a call asks for, without its times: see the module docs.
pub(crate) fn call_fingerprint(command: &Command) -> Fingerprint {
    let mut value = serde_json::to_value(command).unwrap_or(Value::Null);
    strip_times(&mut value);
    fingerprint(&value)
}

fn strip_times(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            fields.retain(|name, _| {
                !(name == "at"
                    || name == "now"
                    || name.ends_with("_at")
                    || name.ends_with("_until"))
            });
            fields.values_mut().for_each(strip_times);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_times),
        _ => {}
    }
}

#[async_trait]
impl Storage for KeyedStore {
    async fn upsert_user(&self, profile: UserProfile, at: Timestamp) -> Result<User> {
        answer!(self.call(Command::UpsertUser { profile, at }).await, User)
    }

    async fn user(&self, id: UserId) -> Result<Option<User>> {
        self.store.user(id).await
    }

    async fn users(&self, page: Page) -> Result<Vec<User>> {
        self.store.users(page).await
    }

    async fn set_role(&self, user: UserId, role: Role, audit: AuditRecord) -> Result<User> {
        answer!(
            self.call(Command::SetRole { user, role, audit }).await,
            User
        )
    }

    async fn set_banned(&self, user: UserId, banned: bool, audit: AuditRecord) -> Result<User> {
        let command = Command::SetBanned {
            user,
            banned,
            audit,
        };
        answer!(self.call(command).await, User)
    }

    async fn settings(&self) -> Result<Settings> {
        self.store.settings().await
    }

    async fn set_maintenance(&self, on: bool, audit: AuditRecord) -> Result<Settings> {
        answer!(
            self.call(Command::SetMaintenance { on, audit }).await,
            Settings
        )
    }

    async fn shop_currency(&self) -> Result<Option<Currency>> {
        self.store.shop_currency().await
    }

    async fn adopt_currency(&self, currency: Currency) -> Result<Currency> {
        answer!(
            self.call(Command::AdoptCurrency { currency }).await,
            Currency
        )
    }

    async fn create_category(&self, new: NewCategory, audit: AuditRecord) -> Result<Category> {
        answer!(
            self.call(Command::CreateCategory { new, audit }).await,
            Category
        )
    }

    async fn categories(&self) -> Result<Vec<Category>> {
        self.store.categories().await
    }

    async fn rename_category(
        &self,
        id: CategoryId,
        name: CategoryName,
        audit: AuditRecord,
    ) -> Result<Category> {
        answer!(
            self.call(Command::RenameCategory { id, name, audit }).await,
            Category
        )
    }

    async fn delete_category(&self, id: CategoryId, audit: AuditRecord) -> Result<()> {
        self.call(Command::DeleteCategory { id, audit })
            .await
            .map(drop)
    }

    async fn create_product(&self, new: NewProduct, audit: AuditRecord) -> Result<Product> {
        answer!(
            self.call(Command::CreateProduct { new, audit }).await,
            Product
        )
    }

    async fn update_product(
        &self,
        id: ProductId,
        patch: ProductPatch,
        audit: AuditRecord,
    ) -> Result<Product> {
        let command = Command::UpdateProduct { id, patch, audit };
        answer!(self.call(command).await, Product)
    }

    async fn delete_product(&self, id: ProductId, audit: AuditRecord) -> Result<u64> {
        answer!(
            self.call(Command::DeleteProduct { id, audit }).await,
            Removed
        )
    }

    async fn product(&self, id: ProductId) -> Result<Option<Product>> {
        self.store.product(id).await
    }

    async fn products(&self, filter: ProductFilter) -> Result<Vec<Product>> {
        self.store.products(filter).await
    }

    async fn import_stock(&self, import: StockImport, audit: AuditRecord) -> Result<ImportReport> {
        if import.lines.len() > STAGE_CHUNK_LINES {
            return self.import_staged(import, audit).await;
        }
        answer!(
            self.call(Command::ImportStock { import, audit }).await,
            Import
        )
    }

    async fn stock_counts(&self, product: ProductId) -> Result<StockCounts> {
        self.store.stock_counts(product).await
    }

    async fn stock_units(&self, product: ProductId) -> Result<Vec<StockUnit>> {
        self.store.stock_units(product).await
    }

    async fn remove_stock(&self, removal: StockRemoval, audit: AuditRecord) -> Result<u64> {
        answer!(
            self.call(Command::RemoveStock { removal, audit }).await,
            Removed
        )
    }

    async fn cart(&self, user: UserId) -> Result<Cart> {
        self.store.cart(user).await
    }

    async fn edit_cart(&self, user: UserId, edit: CartEdit) -> Result<Cart> {
        answer!(self.call(Command::EditCart { user, edit }).await, Cart)
    }

    async fn commit_checkout(&self, request: CheckoutRequest) -> Result<CheckoutOutcome> {
        answer!(self.call(Command::Checkout { request }).await, Checkout)
    }

    async fn checkout_by_key(&self, user: UserId, key: IdempotencyKey) -> Result<Option<Order>> {
        self.store.checkout_by_key(user, key).await
    }

    async fn order(&self, id: OrderId) -> Result<Option<Order>> {
        self.store.order(id).await
    }

    async fn orders(&self, filter: OrderFilter) -> Result<Vec<Order>> {
        self.store.orders(filter).await
    }

    async fn refund_order(
        &self,
        request: RefundRequest,
        audit: AuditRecord,
    ) -> Result<RefundOutcome> {
        answer!(self.call(Command::Refund { request, audit }).await, Refund)
    }

    async fn post_ledger_entry(
        &self,
        request: LedgerRequest,
        audit: Option<AuditRecord>,
    ) -> Result<LedgerEntry> {
        let command = Command::PostLedgerEntry { request, audit };
        answer!(self.call(command).await, Entry)
    }

    async fn balance(&self, user: UserId, currency: Currency) -> Result<Balance> {
        self.store.balance(user, currency).await
    }

    async fn ledger(&self, user: UserId, page: Page) -> Result<Vec<LedgerEntry>> {
        self.store.ledger(user, page).await
    }

    async fn create_invoice(&self, new: NewInvoice) -> Result<Invoice> {
        answer!(self.call(Command::CreateInvoice { new }).await, Invoice)
    }

    async fn invoice(&self, id: InvoiceId) -> Result<Option<Invoice>> {
        self.store.invoice(id).await
    }

    async fn invoices(&self, filter: InvoiceFilter) -> Result<Vec<Invoice>> {
        self.store.invoices(filter).await
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
        answer!(self.call(command).await, Invoice)
    }

    async fn apply_payment(&self, payment: PaymentEvent) -> Result<PaymentOutcome> {
        answer!(self.call(Command::ApplyPayment { payment }).await, Payment)
    }

    async fn dialogue(
        &self,
        chat: ChatId,
        user: UserId,
        now: Timestamp,
    ) -> Result<Option<Dialogue>> {
        self.store.dialogue(chat, user, now).await
    }

    async fn save_dialogue(&self, dialogue: Dialogue) -> Result<()> {
        self.call(Command::SaveDialogue { dialogue })
            .await
            .map(drop)
    }

    async fn clear_dialogue(&self, chat: ChatId, user: UserId) -> Result<()> {
        self.call(Command::ClearDialogue { chat, user })
            .await
            .map(drop)
    }

    async fn mark_update_processed(&self, update: UpdateId, at: Timestamp) -> Result<bool> {
        answer!(self.call(Command::MarkUpdate { update, at }).await, Marked)
    }

    async fn claim_outbox(&self, claim: OutboxClaim) -> Result<Vec<OutboxMessage>> {
        answer!(self.call(Command::ClaimOutbox { claim }).await, Outbox)
    }

    async fn complete_outbox(&self, id: OutboxId, outcome: DeliveryOutcome) -> Result<()> {
        self.call(Command::CompleteOutbox { id, outcome })
            .await
            .map(drop)
    }

    async fn audit_log(&self, page: Page) -> Result<Vec<AuditEntry>> {
        self.store.audit_log(page).await
    }

    async fn write_audit(&self, audit: AuditRecord) -> Result<()> {
        self.call(Command::WriteAudit { audit }).await.map(drop)
    }

    async fn notice_kinds(&self, user: UserId) -> Result<NoticeKinds> {
        self.store.notice_kinds(user).await
    }

    async fn set_notice_kinds(
        &self,
        user: UserId,
        kinds: NoticeKinds,
        audit: AuditRecord,
    ) -> Result<NoticeKinds> {
        let command = Command::SetNoticeKinds { user, kinds, audit };
        answer!(self.call(command).await, NoticeKinds)
    }

    async fn notify_staff(&self, notice: Notice, key: String, at: Timestamp) -> Result<u64> {
        check_notice_key(&key)?;
        let command = Command::NotifyStaff { notice, key, at };
        answer!(self.call(command).await, Notified)
    }

    async fn record_job_round(&self, round: JobRound) -> Result<JobRecord> {
        answer!(self.call(Command::RecordJobRound { round }).await, Job)
    }

    async fn job_records(&self) -> Result<Vec<JobRecord>> {
        self.store.job_records().await
    }

    async fn request_job_run(&self, name: String, at: Timestamp) -> Result<JobRecord> {
        answer!(self.call(Command::RequestJobRun { name, at }).await, Job)
    }

    async fn sweep(&self, sweep: Sweep) -> Result<SweepReport> {
        answer!(self.call(Command::Sweep { sweep }).await, Swept)
    }
}
