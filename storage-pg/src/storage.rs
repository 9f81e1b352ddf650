//! The [`Storage`] implementation: each command one transaction, run again (a bounded number
//! of times) only when it lost a race and rolled back; each query one statement or a few on one
//! connection. The commands of a purchase (`edit_cart`, `commit_checkout`) are each one call of
//! a server-side function, run atomically inside a group of concurrent purchase commands that
//! shares one round trip and one commit (`lanes/commands.rs`).
//!
//! On a handle fenced by a leader's epoch ([`PgStore::fenced`]) every writing command checks the
//! epoch in its own transaction (`leader.rs`): [`transaction!`] takes the fence first, and the
//! single-statement writes go through [`write_command!`], which runs them in such a transaction.

use async_trait::async_trait;
use shopbot_core::housekeeping::{Sweep, SweepReport};
use shopbot_core::jobs::{JobRecord, JobRound};
use shopbot_core::notice::{Notice, NoticeKinds};
use sqlx::PgConnection;

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

use crate::error::{Attempt, PgError};
use crate::leader::hold_fence;
use crate::{
    ATTEMPTS, PgStore, catalog, category_edits, checkout, invoices, job_records, notices, records,
    stock, users, wallet,
};

/// Runs `$attempt` (a future giving an [`Attempt`]) again while it loses races (serialization
/// failures, deadlocks, a twin's unique key), at most `ATTEMPTS` times. Only an attempt that
/// rolled back whole is run again; one whose commit may or may not have happened (a lost
/// connection) is not a database error, so its error goes to the caller, whose idempotency key
/// settles it.
macro_rules! retrying {
    ($attempt:expr) => {{
        let mut tries = 0;
        loop {
            tries += 1;
            let attempt: Attempt<_> = $attempt.await;
            match attempt {
                Ok(value) => break Ok(value),
                Err(e) if e.retryable() && tries < ATTEMPTS => {
                    tracing::debug!(error = ?e, tries, "command lost a race; running it again");
                }
                Err(e) => break Err(PgError::into_core(e)),
            }
        }
    }};
}

/// Runs `$body` (a future using `$conn: &mut PgConnection`) in a transaction, [`retrying!`].
/// On a fenced handle the transaction holds the leader's fence first, and is refused when
/// leadership moved on.
macro_rules! transaction {
    ($store:expr, |$conn:ident| $body:expr) => {
        retrying!(async {
            let mut tx = $store.pool.begin().await?;
            let $conn: &mut PgConnection = &mut tx;
            if let Some(epoch) = $store.fence {
                hold_fence(&mut *$conn, epoch).await?;
            }
            let value = $body.await?;
            tx.commit().await?;
            Ok(value)
        })
    };
}

/// Runs `$body` on one pooled connection, outside any explicit transaction.
macro_rules! query {
    ($store:expr, |$conn:ident| $body:expr) => {{
        let attempt: Attempt<_> = async {
            let mut connection = $store.pool.acquire().await?;
            let $conn: &mut PgConnection = &mut connection;
            $body.await
        }
        .await;
        attempt.map_err(PgError::into_core)
    }};
}

/// Runs a write that is one statement (or a few that need no atomicity) as [`query!`] does,
/// in autocommit, no round trip added; on a fenced handle, as a fenced [`transaction!`].
macro_rules! write_command {
    ($store:expr, |$conn:ident| $body:expr) => {
        match $store.fence {
            None => query!($store, |$conn| $body),
            Some(_) => transaction!($store, |$conn| $body),
        }
    };
}

#[async_trait]
impl Storage for PgStore {
    async fn upsert_user(&self, profile: UserProfile, at: Timestamp) -> Result<User> {
        write_command!(self, |c| users::upsert(c, &profile, at))
    }

    async fn user(&self, id: UserId) -> Result<Option<User>> {
        query!(self, |c| users::find(c, id))
    }

    async fn users(&self, page: Page) -> Result<Vec<User>> {
        query!(self, |c| users::list(c, page))
    }

    async fn set_role(&self, user: UserId, role: Role, audit: AuditRecord) -> Result<User> {
        transaction!(self, |c| users::change(c, user, Some(role), None, &audit))
    }

    async fn set_banned(&self, user: UserId, banned: bool, audit: AuditRecord) -> Result<User> {
        transaction!(self, |c| users::change(c, user, None, Some(banned), &audit))
    }

    async fn settings(&self) -> Result<Settings> {
        query!(self, |c| users::settings(c))
    }

    async fn user_with_settings(&self, id: UserId) -> Result<(Option<User>, Settings)> {
        query!(self, |c| users::find_with_settings(c, id))
    }

    async fn user_with_product(
        &self,
        id: UserId,
        product: ProductId,
    ) -> Result<(Option<User>, Settings, Option<Product>)> {
        self.purchases.user_with_product(id, product).await
    }

    async fn user_with_cart(
        &self,
        id: UserId,
    ) -> Result<(Option<User>, Settings, Cart, Vec<Product>)> {
        self.purchases.user_with_cart(id).await
    }

    async fn set_maintenance(&self, on: bool, audit: AuditRecord) -> Result<Settings> {
        transaction!(self, |c| users::set_maintenance(c, on, &audit))
    }

    async fn shop_currency(&self) -> Result<Option<Currency>> {
        query!(self, |c| users::shop_currency(c))
    }

    async fn adopt_currency(&self, currency: Currency) -> Result<Currency> {
        // A shop that has its currency changes nothing: answer without writing the row.
        if let Some(recorded) = self.shop_currency().await? {
            return Ok(recorded);
        }
        transaction!(self, |c| users::adopt_currency(c, currency))
    }

    async fn create_category(&self, new: NewCategory, audit: AuditRecord) -> Result<Category> {
        transaction!(self, |c| catalog::create_category(c, &new, &audit))
    }

    async fn categories(&self) -> Result<Vec<Category>> {
        query!(self, |c| catalog::categories(c))
    }

    async fn rename_category(
        &self,
        id: CategoryId,
        name: CategoryName,
        audit: AuditRecord,
    ) -> Result<Category> {
        transaction!(self, |c| category_edits::rename(c, id, &name, &audit))
    }

    async fn delete_category(&self, id: CategoryId, audit: AuditRecord) -> Result<()> {
        transaction!(self, |c| category_edits::delete(c, id, &audit))
    }

    async fn create_product(&self, new: NewProduct, audit: AuditRecord) -> Result<Product> {
        transaction!(self, |c| catalog::create_product(c, &new, &audit))
    }

    async fn update_product(
        &self,
        id: ProductId,
        patch: ProductPatch,
        audit: AuditRecord,
    ) -> Result<Product> {
        transaction!(self, |c| catalog::update_product(c, id, &patch, &audit))
    }

    async fn delete_product(&self, id: ProductId, audit: AuditRecord) -> Result<u64> {
        transaction!(self, |c| stock::delete_product(c, id, &audit))
    }

    async fn product(&self, id: ProductId) -> Result<Option<Product>> {
        query!(self, |c| catalog::product(c, id))
    }

    async fn products(&self, filter: ProductFilter) -> Result<Vec<Product>> {
        query!(self, |c| catalog::products(c, filter))
    }

    async fn import_stock(&self, import: StockImport, audit: AuditRecord) -> Result<ImportReport> {
        transaction!(self, |c| catalog::import_stock(c, &import, &audit))
    }

    async fn stock_counts(&self, product: ProductId) -> Result<StockCounts> {
        query!(self, |c| catalog::stock_counts(c, product))
    }

    async fn stock_units(&self, product: ProductId) -> Result<Vec<StockUnit>> {
        query!(self, |c| stock::stock_units(c, product))
    }

    async fn remove_stock(&self, removal: StockRemoval, audit: AuditRecord) -> Result<u64> {
        transaction!(self, |c| stock::remove_stock(c, &removal, &audit))
    }

    async fn cart(&self, user: UserId) -> Result<Cart> {
        query!(self, |c| catalog::cart(c, user))
    }

    async fn cart_with_products(&self, user: UserId) -> Result<(Cart, Vec<Product>)> {
        query!(self, |c| catalog::cart_with_products(c, user))
    }

    async fn edit_cart(&self, user: UserId, edit: CartEdit) -> Result<Cart> {
        self.refuse_purchase_when_fenced()?;
        catalog::edit_cart(&self.purchases, user, edit)
            .await
            .map_err(PgError::into_core)
    }

    async fn commit_checkout(&self, request: CheckoutRequest) -> Result<CheckoutOutcome> {
        self.refuse_purchase_when_fenced()?;
        checkout::commit_checkout(&self.purchases, &self.claim_starts, &self.pool, &request)
            .await
            .map_err(PgError::into_core)
    }

    async fn checkout_by_key(&self, user: UserId, key: IdempotencyKey) -> Result<Option<Order>> {
        query!(self, |c| checkout::checkout_by_key(c, user, &key))
    }

    async fn order(&self, id: OrderId) -> Result<Option<Order>> {
        query!(self, |c| checkout::load(c, id))
    }

    async fn orders(&self, filter: OrderFilter) -> Result<Vec<Order>> {
        query!(self, |c| checkout::orders(c, filter))
    }

    async fn refund_order(
        &self,
        request: RefundRequest,
        audit: AuditRecord,
    ) -> Result<RefundOutcome> {
        transaction!(self, |c| checkout::refund(c, &request, &audit))
    }

    async fn post_ledger_entry(
        &self,
        request: LedgerRequest,
        audit: Option<AuditRecord>,
    ) -> Result<LedgerEntry> {
        transaction!(self, |c| wallet::post_ledger_entry(
            c,
            &request,
            audit.as_ref()
        ))
    }

    async fn balance(&self, user: UserId, currency: Currency) -> Result<Balance> {
        query!(self, |c| wallet::balance(c, user, currency))
    }

    async fn ledger(&self, user: UserId, page: Page) -> Result<Vec<LedgerEntry>> {
        query!(self, |c| wallet::ledger(c, user, page))
    }

    async fn create_invoice(&self, new: NewInvoice) -> Result<Invoice> {
        transaction!(self, |c| invoices::create(c, &new))
    }

    async fn invoice(&self, id: InvoiceId) -> Result<Option<Invoice>> {
        query!(self, |c| invoices::find(c, id))
    }

    async fn invoices(&self, filter: InvoiceFilter) -> Result<Vec<Invoice>> {
        query!(self, |c| invoices::list(c, filter))
    }

    async fn transition_invoice(
        &self,
        id: InvoiceId,
        event: InvoiceEvent,
        at: Timestamp,
        audit: Option<AuditRecord>,
    ) -> Result<Invoice> {
        transaction!(self, |c| invoices::transition(
            c,
            id,
            event,
            at,
            audit.as_ref()
        ))
    }

    async fn apply_payment(&self, payment: PaymentEvent) -> Result<PaymentOutcome> {
        transaction!(self, |c| invoices::apply_payment(c, &payment))
    }

    async fn dialogue(
        &self,
        chat: ChatId,
        user: UserId,
        now: Timestamp,
    ) -> Result<Option<Dialogue>> {
        query!(self, |c| records::dialogue(c, chat, user, now))
    }

    async fn save_dialogue(&self, dialogue: Dialogue) -> Result<()> {
        write_command!(self, |c| records::save_dialogue(c, &dialogue))
    }

    async fn clear_dialogue(&self, chat: ChatId, user: UserId) -> Result<()> {
        write_command!(self, |c| records::clear_dialogue(c, chat, user))
    }

    async fn mark_update_processed(&self, update: UpdateId, at: Timestamp) -> Result<bool> {
        write_command!(self, |c| records::mark_update_processed(c, update, at))
    }

    async fn claim_outbox(&self, claim: OutboxClaim) -> Result<Vec<OutboxMessage>> {
        transaction!(self, |c| records::claim(c, &claim))
    }

    async fn complete_outbox(&self, id: OutboxId, outcome: DeliveryOutcome) -> Result<()> {
        write_command!(self, |c| records::complete(c, id, outcome))
    }

    async fn audit_log(&self, page: Page) -> Result<Vec<AuditEntry>> {
        query!(self, |c| records::audit_log(c, page))
    }

    async fn write_audit(&self, audit: AuditRecord) -> Result<()> {
        write_command!(self, |c| records::write_audit(c, Some(&audit)))
    }

    async fn notice_kinds(&self, user: UserId) -> Result<NoticeKinds> {
        query!(self, |c| notices::kinds(c, user))
    }

    async fn set_notice_kinds(
        &self,
        user: UserId,
        kinds: NoticeKinds,
        audit: AuditRecord,
    ) -> Result<NoticeKinds> {
        transaction!(self, |c| notices::set_kinds(c, user, &kinds, &audit))
    }

    async fn notify_staff(&self, notice: Notice, key: String, at: Timestamp) -> Result<u64> {
        transaction!(self, |c| notices::notify(c, &notice, &key, at))
    }

    async fn record_job_round(&self, round: JobRound) -> Result<JobRecord> {
        write_command!(self, |c| job_records::record_round(c, &round))
    }

    async fn job_records(&self) -> Result<Vec<JobRecord>> {
        query!(self, |c| job_records::records(c))
    }

    async fn request_job_run(&self, name: String, at: Timestamp) -> Result<JobRecord> {
        write_command!(self, |c| job_records::request_run(c, &name, at))
    }

    async fn sweep(&self, sweep: Sweep) -> Result<SweepReport> {
        transaction!(self, |c| records::sweep(c, &sweep))
    }
}
