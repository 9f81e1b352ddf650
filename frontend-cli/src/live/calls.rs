//! Every [`Storage`] method as a value that crosses the shop socket: [`Call`].
//!
//! One list (`storage_calls!`) names each method once, with its arguments, its result and
//! whether it changes the store. From it come the [`Call`] enum, the holder's
//! [`Call::apply`] and the client's `impl Storage for RemoteStorage`, so a method added to the
//! port and forgotten here does not compile (the remote store would not implement the trait).
//! This module never does I/O.

use serde::{Deserialize, Serialize};
use shopbot_core::Error;
use shopbot_core::audit::{AuditEntry, AuditRecord};
use shopbot_core::cart::{Cart, CartEdit};
use shopbot_core::catalog::{
    Category, NewCategory, NewProduct, Product, ProductFilter, ProductPatch,
};
use shopbot_core::dialogue::Dialogue;
use shopbot_core::housekeeping::{Sweep, SweepReport};
use shopbot_core::ids::{
    CategoryId, ChatId, InvoiceId, OrderId, OutboxId, ProductId, UpdateId, UserId,
};
use shopbot_core::invoice::{
    Invoice, InvoiceEvent, InvoiceFilter, NewInvoice, PaymentEvent, PaymentOutcome,
};
use shopbot_core::jobs::{JobRecord, JobRound};
use shopbot_core::money::Currency;
use shopbot_core::notice::{Notice, NoticeKinds};
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

use super::remote::RemoteStorage;

/// Defines [`Call`], [`Call::apply`], [`Call::changes_store`] and the remote `Storage`.
macro_rules! storage_calls {
    ($($variant:ident => $method:ident ( $($arg:ident : $ty:ty),* ) -> $result:ty, $changes:literal;)*) => {
        /// One [`Storage`] method call with its arguments.
        #[derive(Debug, Clone, Serialize, Deserialize)]
        #[serde(tag = "method", rename_all = "snake_case")]
        pub enum Call {
            $(
                #[doc = concat!("[`Storage::", stringify!($method), "`].")]
                $variant { $(#[doc = concat!("`", stringify!($arg), "`.")] $arg: $ty),* },
            )*
        }

        impl Call {
            /// Whether the call may change the store: if the connection drops after it was
            /// sent, its outcome is unknown.
            pub fn changes_store(&self) -> bool {
                match self {
                    $(Call::$variant { .. } => $changes,)*
                }
            }

            /// Whether the call carries the run's request key, so that a repeated run applies
            /// it once: every call that changes the store but the two that are safe to repeat
            /// by their own contract ([`Storage::upsert_user`], which a CLI run makes only the
            /// first time it meets the local owner, and [`Storage::adopt_currency`]).
            pub fn needs_key(&self) -> bool {
                self.changes_store()
                    && !matches!(self, Call::UpsertUser { .. } | Call::AdoptCurrency { .. })
            }

            /// The method's name, for logs and messages.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Call::$variant { .. } => stringify!($method),)*
                }
            }

            /// Runs the call on `store` and returns its result as JSON.
            pub async fn apply(self, store: &dyn Storage) -> Result<serde_json::Value, Error> {
                match self {
                    $(Call::$variant { $($arg),* } => {
                        let result = store.$method($($arg),*).await?;
                        serde_json::to_value(result).map_err(Error::internal)
                    })*
                }
            }
        }

        #[async_trait::async_trait]
        impl Storage for KeyedCalls {
            $(
                async fn $method(&self, $($arg: $ty),*) -> Result<$result, Error> {
                    let call = Call::$variant { $($arg),* };
                    let store = self.route(&call);
                    let value = call.apply(store).await?;
                    serde_json::from_value(value).map_err(Error::internal)
                }
            )*
        }

        #[async_trait::async_trait]
        impl Storage for RemoteStorage {
            $(
                async fn $method(&self, $($arg: $ty),*) -> Result<$result, Error> {
                    self.call(Call::$variant { $($arg),* }).await
                }
            )*
        }
    };
}

/// A direct open's storage under `--request-key`: the calls that need the key
/// ([`Call::needs_key`]) go to the keyed handle, the others to the plain store, exactly as
/// they are split on the way through a running shop; so a command repeated with its key
/// applies once whether or not a shop was running either time.
pub struct KeyedCalls {
    plain: std::sync::Arc<dyn Storage>,
    keyed: std::sync::Arc<dyn Storage>,
}

impl KeyedCalls {
    /// Calls that need a key go to `keyed`, the others to `plain`.
    pub fn new(plain: std::sync::Arc<dyn Storage>, keyed: std::sync::Arc<dyn Storage>) -> Self {
        KeyedCalls { plain, keyed }
    }

    fn route(&self, call: &Call) -> &dyn Storage {
        if call.needs_key() {
            self.keyed.as_ref()
        } else {
            self.plain.as_ref()
        }
    }
}

storage_calls! {
    UpsertUser => upsert_user(profile: UserProfile, at: Timestamp) -> User, true;
    User => user(id: UserId) -> Option<User>, false;
    Users => users(page: Page) -> Vec<User>, false;
    SetRole => set_role(user: UserId, role: Role, audit: AuditRecord) -> User, true;
    SetBanned => set_banned(user: UserId, banned: bool, audit: AuditRecord) -> User, true;
    Settings => settings() -> Settings, false;
    UserWithSettings => user_with_settings(id: UserId) -> (Option<User>, Settings), false;
    UserWithProduct => user_with_product(id: UserId, product: ProductId)
        -> (Option<User>, Settings, Option<Product>), false;
    UserWithCart => user_with_cart(id: UserId)
        -> (Option<User>, Settings, Cart, Vec<Product>), false;
    SetMaintenance => set_maintenance(on: bool, audit: AuditRecord) -> Settings, true;
    ShopCurrency => shop_currency() -> Option<Currency>, false;
    AdoptCurrency => adopt_currency(currency: Currency) -> Currency, true;
    CreateCategory => create_category(new: NewCategory, audit: AuditRecord) -> Category, true;
    Categories => categories() -> Vec<Category>, false;
    RenameCategory => rename_category(id: CategoryId, name: CategoryName, audit: AuditRecord)
        -> Category, true;
    DeleteCategory => delete_category(id: CategoryId, audit: AuditRecord) -> (), true;
    CreateProduct => create_product(new: NewProduct, audit: AuditRecord) -> Product, true;
    UpdateProduct => update_product(id: ProductId, patch: ProductPatch, audit: AuditRecord)
        -> Product, true;
    DeleteProduct => delete_product(id: ProductId, audit: AuditRecord) -> u64, true;
    Product => product(id: ProductId) -> Option<Product>, false;
    Products => products(filter: ProductFilter) -> Vec<Product>, false;
    ImportStock => import_stock(import: StockImport, audit: AuditRecord) -> ImportReport, true;
    StockCounts => stock_counts(product: ProductId) -> StockCounts, false;
    StockUnits => stock_units(product: ProductId) -> Vec<StockUnit>, false;
    RemoveStock => remove_stock(removal: StockRemoval, audit: AuditRecord) -> u64, true;
    Cart => cart(user: UserId) -> Cart, false;
    CartWithProducts => cart_with_products(user: UserId) -> (Cart, Vec<Product>), false;
    EditCart => edit_cart(user: UserId, edit: CartEdit) -> Cart, true;
    CommitCheckout => commit_checkout(request: CheckoutRequest) -> CheckoutOutcome, true;
    CheckoutByKey => checkout_by_key(user: UserId, key: IdempotencyKey) -> Option<Order>, false;
    Order => order(id: OrderId) -> Option<Order>, false;
    Orders => orders(filter: OrderFilter) -> Vec<Order>, false;
    RefundOrder => refund_order(request: RefundRequest, audit: AuditRecord) -> RefundOutcome, true;
    PostLedgerEntry => post_ledger_entry(request: LedgerRequest, audit: Option<AuditRecord>)
        -> LedgerEntry, true;
    Balance => balance(user: UserId, currency: Currency) -> Balance, false;
    Ledger => ledger(user: UserId, page: Page) -> Vec<LedgerEntry>, false;
    CreateInvoice => create_invoice(new: NewInvoice) -> Invoice, true;
    Invoice => invoice(id: InvoiceId) -> Option<Invoice>, false;
    Invoices => invoices(filter: InvoiceFilter) -> Vec<Invoice>, false;
    TransitionInvoice => transition_invoice(
        id: InvoiceId, event: InvoiceEvent, at: Timestamp, audit: Option<AuditRecord>
    ) -> Invoice, true;
    ApplyPayment => apply_payment(payment: PaymentEvent) -> PaymentOutcome, true;
    Dialogue => dialogue(chat: ChatId, user: UserId, now: Timestamp) -> Option<Dialogue>, false;
    SaveDialogue => save_dialogue(dialogue: Dialogue) -> (), true;
    ClearDialogue => clear_dialogue(chat: ChatId, user: UserId) -> (), true;
    MarkUpdateProcessed => mark_update_processed(update: UpdateId, at: Timestamp) -> bool, true;
    ClaimOutbox => claim_outbox(claim: OutboxClaim) -> Vec<OutboxMessage>, true;
    CompleteOutbox => complete_outbox(id: OutboxId, outcome: DeliveryOutcome) -> (), true;
    AuditLog => audit_log(page: Page) -> Vec<AuditEntry>, false;
    WriteAudit => write_audit(audit: AuditRecord) -> (), true;
    NoticeKinds => notice_kinds(user: UserId) -> NoticeKinds, false;
    SetNoticeKinds => set_notice_kinds(user: UserId, kinds: NoticeKinds, audit: AuditRecord)
        -> NoticeKinds, true;
    NotifyStaff => notify_staff(notice: Notice, key: String, at: Timestamp) -> u64, true;
    RecordJobRound => record_job_round(round: JobRound) -> JobRecord, true;
    JobRecords => job_records() -> Vec<JobRecord>, false;
    RequestJobRun => request_job_run(name: String, at: Timestamp) -> JobRecord, true;
    Sweep => sweep(sweep: Sweep) -> SweepReport, true;
}
