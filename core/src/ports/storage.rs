//! The storage port: atomic commands and queries.
//!
//! # Contract (every method)
//!
//! * **Atomic.** A command either applies whole or changes nothing. Records it writes together
//!   (an order, its units, the ledger entry that pays it, the outbox message that delivers it,
//!   the audit entry that explains it) become visible together.
//! * **Invariants enforced here, not only in core.** Core validates and plans; the backend checks
//!   again under its lock or transaction: a unit is sold to at most one order, `available =
//!   balance − held` never goes below zero, invoice numbers have no gaps, final invoice states
//!   never change, a payment charge id is applied once, idempotency keys are unique per user.
//! * **Idempotent where a key is given.** Repeating a command with the same key and the same
//!   request (by its `fingerprint`) returns the recorded result and changes nothing; the same
//!   key with a different request is [`Error::Conflict`](crate::Error::Conflict).
//! * **Errors.** Unknown ids are `NotFound`; broken business rules are `OutOfStock`,
//!   `InsufficientFunds`, `Conflict` or `Invalid`; anything else is `Internal`.
//! * **Durable before answered.** A command returns only once its effect is durable. A query
//!   may see effects that are not durable yet (their commands' callers are still waiting), so
//!   a query never acknowledges a commit, with one exception: [`Storage::checkout_by_key`]
//!   returns only durable orders, because callers hand its order to the buyer.
//! * **Time.** Backends never read a clock; every time comes in the request. A final invoice's
//!   `closed_at` is the time of the event that closed it; a new outbox message is due at once,
//!   and a claimed one is due again exactly at its lease's end.
//! * **Refusals leave no trace.** A refused command writes nothing, not even its idempotency
//!   key: the same key may be used again.
//! * **Derived records.** A wallet checkout's `Charge` names its order; a wallet-paid
//!   invoice's `Charge` names its invoice. Ledger keys the store derives (`checkout:…`,
//!   `invoice:…`, `refund:…`) share the ledger's key space, which is why services refuse
//!   callers' keys with those prefixes.
//!
//! The conformance suite (`shopbot_core::testkit`, feature `testkit`) checks all of this.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::audit::{AuditEntry, AuditRecord};
use crate::cart::{Cart, CartEdit};
use crate::catalog::{Category, NewCategory, NewProduct, Product, ProductFilter, ProductPatch};
use crate::dialogue::Dialogue;
use crate::error::Result;
use crate::housekeeping::{Sweep, SweepReport};
use crate::ids::{CategoryId, ChatId, InvoiceId, OrderId, OutboxId, ProductId, UpdateId, UserId};
use crate::invoice::{
    Invoice, InvoiceEvent, InvoiceFilter, NewInvoice, PaymentEvent, PaymentOutcome,
};
use crate::jobs::{JobRecord, JobRound};
use crate::money::Currency;
use crate::notice::{Notice, NoticeKinds};
use crate::order::{
    CheckoutOutcome, CheckoutRequest, Order, OrderFilter, RefundOutcome, RefundRequest,
};
use crate::outbox::{DeliveryOutcome, OutboxClaim, OutboxMessage};
use crate::stock::{ImportReport, StockCounts, StockImport, StockRemoval, StockUnit};
use crate::text::{CategoryName, IdempotencyKey};
use crate::time::Timestamp;
use crate::user::{Role, User, UserProfile};
use crate::wallet::{Balance, LedgerEntry, LedgerRequest};

/// Shop-wide switches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Customers are turned away; staff keep working.
    pub maintenance: bool,
}

/// A window into a long listing: skip `offset`, return at most `limit` (0 means 100).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// How many to skip.
    pub offset: usize,
    /// How many at most.
    pub limit: usize,
}

impl Page {
    /// The first `limit` items.
    pub fn first(limit: usize) -> Page {
        Page { offset: 0, limit }
    }

    /// The limit to apply.
    pub fn effective_limit(&self) -> usize {
        if self.limit == 0 { 100 } else { self.limit }
    }
}

/// Where the shop keeps its state. Object-safe: use it as `Arc<dyn Storage>`.
///
/// See the module documentation for the contract every method keeps.
#[async_trait]
pub trait Storage: Send + Sync {
    // ----- users and settings -----

    /// Records that a person was seen: creates them as a customer the first time, updates
    /// their name afterwards. Never changes role or ban.
    async fn upsert_user(&self, profile: UserProfile, at: Timestamp) -> Result<User>;

    /// A user by id.
    async fn user(&self, id: UserId) -> Result<Option<User>>;

    /// Users in id order.
    async fn users(&self, page: Page) -> Result<Vec<User>>;

    /// Changes a user's role. `NotFound` for an unknown user.
    async fn set_role(&self, user: UserId, role: Role, audit: AuditRecord) -> Result<User>;

    /// Bans or unbans a user. `NotFound` for an unknown user.
    async fn set_banned(&self, user: UserId, banned: bool, audit: AuditRecord) -> Result<User>;

    /// The shop-wide switches.
    async fn settings(&self) -> Result<Settings>;

    /// [`user`](Self::user) and [`settings`](Self::settings) together: what every customer
    /// operation checks first. A backend that can answer both at once overrides this, and
    /// must answer exactly what the two queries do. The conformance suite (`testkit::reads`)
    /// holds every backend to that for this and the other combined reads below.
    async fn user_with_settings(&self, id: UserId) -> Result<(Option<User>, Settings)> {
        Ok((self.user(id).await?, self.settings().await?))
    }

    /// [`user_with_settings`](Self::user_with_settings) and [`product`](Self::product)
    /// together: what a cart edit reads. A backend that can answer at once overrides this, and
    /// must answer exactly what those queries do.
    async fn user_with_product(
        &self,
        id: UserId,
        product: ProductId,
    ) -> Result<(Option<User>, Settings, Option<Product>)> {
        let (user, settings) = self.user_with_settings(id).await?;
        Ok((user, settings, self.product(product).await?))
    }

    /// [`user_with_settings`](Self::user_with_settings) and
    /// [`cart_with_products`](Self::cart_with_products) together: what a checkout reads. A
    /// backend that can answer at once overrides this, and must answer exactly what those
    /// queries do.
    async fn user_with_cart(
        &self,
        id: UserId,
    ) -> Result<(Option<User>, Settings, Cart, Vec<Product>)> {
        let (user, settings) = self.user_with_settings(id).await?;
        let (cart, products) = self.cart_with_products(id).await?;
        Ok((user, settings, cart, products))
    }

    /// Turns maintenance mode on or off.
    async fn set_maintenance(&self, on: bool, audit: AuditRecord) -> Result<Settings>;

    // ----- the shop's currency -----

    /// The currency the shop sells in, or `None` while it has recorded none: a store made
    /// before shops recorded their currency, or one that nobody has set up yet.
    async fn shop_currency(&self) -> Result<Option<Currency>>;

    /// Records `currency` as the shop's currency unless the shop already has one, and returns
    /// the shop's currency: `currency` the first time, the recorded one ever after. A recorded
    /// currency never changes, so a call that finds one changes nothing (and is not an error:
    /// the caller compares the answer with what it asked for).
    ///
    /// Atomic: of concurrent calls with different currencies, exactly one is recorded and
    /// every call returns that one.
    async fn adopt_currency(&self, currency: Currency) -> Result<Currency>;

    // ----- catalog and stock -----

    /// Creates a category. `Conflict` if one with the same name exists.
    async fn create_category(&self, new: NewCategory, audit: AuditRecord) -> Result<Category>;

    /// All categories, in id order.
    async fn categories(&self) -> Result<Vec<Category>>;

    /// Renames a category and writes `audit`. `NotFound` for an unknown category; `Conflict`
    /// if another category has the name (in any case).
    async fn rename_category(
        &self,
        id: CategoryId,
        name: CategoryName,
        audit: AuditRecord,
    ) -> Result<Category>;

    /// Deletes an empty category and writes `audit`. `NotFound` for an unknown category;
    /// `Conflict` naming how many products it holds, hidden ones included, when it holds any.
    async fn delete_category(&self, id: CategoryId, audit: AuditRecord) -> Result<()>;

    /// Creates a product. `NotFound` for an unknown category.
    async fn create_product(&self, new: NewProduct, audit: AuditRecord) -> Result<Product>;

    /// Changes a product. `NotFound` for an unknown product or category.
    async fn update_product(
        &self,
        id: ProductId,
        patch: ProductPatch,
        audit: AuditRecord,
    ) -> Result<Product>;

    /// Deletes a product that no order names, with its units (all available, since none was
    /// ever ordered), writes `audit`, and returns how many units went with it. `NotFound` for
    /// an unknown product; `Conflict` for one that an order names.
    async fn delete_product(&self, id: ProductId, audit: AuditRecord) -> Result<u64>;

    /// A product by id.
    async fn product(&self, id: ProductId) -> Result<Option<Product>>;

    /// Products passing `filter`, in id order.
    async fn products(&self, filter: ProductFilter) -> Result<Vec<Product>>;

    /// Adds units to a stock-keeping product, all or nothing. Lines that repeat each other or a
    /// unit of the same product already in stock are found with
    /// [`find_duplicates`](crate::stock::find_duplicates): with `OnDuplicate::Refuse` the whole
    /// import fails with `Invalid(Stock(Duplicates))` naming every one; with `Skip` the rest is
    /// imported and the duplicates reported. `NotFound` for an unknown product, `Invalid` for a
    /// service product.
    async fn import_stock(&self, import: StockImport, audit: AuditRecord) -> Result<ImportReport>;

    /// Unit counts of a product (all zero for an unknown one).
    async fn stock_counts(&self, product: ProductId) -> Result<StockCounts>;

    /// Every unit of a product, whatever its state, in id order (none for an unknown one).
    async fn stock_units(&self, product: ProductId) -> Result<Vec<StockUnit>>;

    /// Takes the named units out of stock and writes `audit`, all or nothing, and returns how
    /// many it removed. `NotFound` for an unknown product or a unit that is not one of its
    /// units; `Conflict` when any of them is reserved or sold (those stay, as does every other).
    async fn remove_stock(&self, removal: StockRemoval, audit: AuditRecord) -> Result<u64>;

    // ----- carts, checkout, orders -----

    /// A user's cart (empty, version 0, if never edited).
    async fn cart(&self, user: UserId) -> Result<Cart>;

    /// A user's [`cart`](Self::cart) with the [`product`](Self::product)s its lines name (those
    /// that exist, in any order): what planning a checkout reads. A backend that can answer
    /// at once overrides this, and must answer exactly what those queries do.
    async fn cart_with_products(&self, user: UserId) -> Result<(Cart, Vec<Product>)> {
        let cart = self.cart(user).await?;
        let mut products = Vec::with_capacity(cart.lines.len());
        for line in &cart.lines {
            if let Some(product) = self.product(line.product).await? {
                products.push(product);
            }
        }
        Ok((cart, products))
    }

    /// Applies an edit with [`Cart::apply`] and bumps the version.
    ///
    /// A user's cart version only ever grows, whatever empties the cart (an edit, a checkout):
    /// it never shows a version it showed before, not even after a restart, a compaction or a
    /// migration. The conversation keys a cart confirmation by its version, so a version that
    /// came back would make a new purchase return an old order.
    async fn edit_cart(&self, user: UserId, edit: CartEdit) -> Result<Cart>;

    /// Turns the cart into an order, all or nothing, and says whether this call made it:
    ///
    /// 1. a recorded checkout with this `(user, key)` is returned as it is, with
    ///    [`replayed`](CheckoutOutcome::replayed) set, when the fingerprint matches, else
    ///    `Conflict`; of any number of identical requests, however concurrent, exactly one
    ///    is answered with `replayed: false`;
    /// 2. the cart's version must equal `cart_version`, and re-planning it with
    ///    [`plan`](crate::order::plan) must give exactly `lines` (prices, visibility), else
    ///    `Conflict`; with no `cart_version` (a purchase straight from a product) the lines'
    ///    own products and quantities are re-planned instead, and the cart is not looked at;
    /// 3. every stock-keeping line claims `quantity` available units, else `OutOfStock`;
    /// 4. with wallet payment, a `Charge` of `total` is posted (key `checkout:<key>`), else
    ///    `InsufficientFunds`; the units are sold and an `OrderDelivered` message is queued;
    ///    with invoice payment, the units are reserved and an open invoice for the order is
    ///    created and an `InvoiceIssued` message queued;
    /// 5. the cart is emptied (its version bumped), unless there is no `cart_version`: then it
    ///    stays exactly as it was.
    async fn commit_checkout(&self, request: CheckoutRequest) -> Result<CheckoutOutcome>;

    /// The order a checkout with `(user, key)` created, if any, once it is durable.
    async fn checkout_by_key(&self, user: UserId, key: IdempotencyKey) -> Result<Option<Order>>;

    /// An order by id.
    async fn order(&self, id: OrderId) -> Result<Option<Order>>;

    /// Orders passing `filter`, newest first.
    async fn orders(&self, filter: OrderFilter) -> Result<Vec<Order>>;

    /// Refunds a paid order's total to the buyer's wallet (a `Refund` entry with key
    /// `refund:<order>`), marks it refunded, queues an `OrderRefunded` message and writes
    /// `audit`. Refunding a refunded order returns it unchanged with
    /// [`already_refunded`](RefundOutcome::already_refunded) set and writes nothing, not even
    /// the audit record; of any number of refunds of one order, however concurrent, exactly
    /// one is answered with `already_refunded: false`. Any other status is `Conflict`.
    async fn refund_order(
        &self,
        request: RefundRequest,
        audit: AuditRecord,
    ) -> Result<RefundOutcome>;

    // ----- wallet -----

    /// Posts one ledger entry after checking it with [`effect`](crate::wallet::effect).
    /// Idempotent per `(user, key)`. Manual adjustments come with an audit record.
    async fn post_ledger_entry(
        &self,
        request: LedgerRequest,
        audit: Option<AuditRecord>,
    ) -> Result<LedgerEntry>;

    /// A user's balance in `currency` (zero if they never had any).
    async fn balance(&self, user: UserId, currency: Currency) -> Result<Balance>;

    /// A user's ledger, newest first.
    async fn ledger(&self, user: UserId, page: Page) -> Result<Vec<LedgerEntry>>;

    // ----- invoices -----

    /// Issues an invoice with the next number (1, 2, 3, … without gaps) and queues an
    /// `InvoiceIssued` message. `NotFound` for an unknown user.
    async fn create_invoice(&self, new: NewInvoice) -> Result<Invoice>;

    /// An invoice by id.
    async fn invoice(&self, id: InvoiceId) -> Result<Option<Invoice>>;

    /// Invoices passing `filter`, newest first.
    async fn invoices(&self, filter: InvoiceFilter) -> Result<Vec<Invoice>>;

    /// Voids or expires an open invoice (`Pay` is refused: payments come through
    /// [`apply_payment`](Self::apply_payment)). An order invoice's order is cancelled and its
    /// units go back to stock. A final invoice is `Conflict`.
    async fn transition_invoice(
        &self,
        id: InvoiceId,
        event: InvoiceEvent,
        at: Timestamp,
        audit: Option<AuditRecord>,
    ) -> Result<Invoice>;

    /// Applies a payment, once per `(provider, charge_id)`: a repeat returns the invoice with
    /// `newly_applied: false`; a charge id that paid another invoice is `Conflict`. The amount
    /// must equal the total (`Invalid`), the invoice must be open (`Conflict`). Paying marks
    /// it paid and, by purpose: a top-up deposits the subtotal into the wallet (key
    /// `invoice:<id>`); an order sells its reserved units and queues `OrderDelivered`.
    /// A `Wallet` payment first charges the wallet (`InsufficientFunds` if short).
    /// Always queues `PaymentReceived`.
    async fn apply_payment(&self, payment: PaymentEvent) -> Result<PaymentOutcome>;

    // ----- dialogue -----

    /// The dialogue of `user` in `chat`, unless it has expired at `now`.
    async fn dialogue(
        &self,
        chat: ChatId,
        user: UserId,
        now: Timestamp,
    ) -> Result<Option<Dialogue>>;

    /// Stores a dialogue, replacing the one of the same (chat, user).
    async fn save_dialogue(&self, dialogue: Dialogue) -> Result<()>;

    /// Forgets the dialogue of `user` in `chat`.
    async fn clear_dialogue(&self, chat: ChatId, user: UserId) -> Result<()>;

    // ----- messenger updates -----

    /// Records that messenger update `update` was handled at `at`: `true` the first time,
    /// `false` for an id already recorded (a redelivery), across every process sharing the
    /// store. Ids older than a day (messengers redeliver within hours) may be forgotten.
    async fn mark_update_processed(&self, update: UpdateId, at: Timestamp) -> Result<bool>;

    // ----- outbox and audit -----

    /// Claims pending messages due at `claim.now`, oldest first: each claimed message counts an
    /// attempt and is hidden from other claims until `lease_until`.
    async fn claim_outbox(&self, claim: OutboxClaim) -> Result<Vec<OutboxMessage>>;

    /// Records what happened to a claimed message. `NotFound` for an unknown id.
    async fn complete_outbox(&self, id: OutboxId, outcome: DeliveryOutcome) -> Result<()>;

    /// The audit log, newest first.
    async fn audit_log(&self, page: Page) -> Result<Vec<AuditEntry>>;

    /// Writes `audit` on its own: for what staff did that changes nothing stored, such as
    /// reading the secrets of a product's stock.
    async fn write_audit(&self, audit: AuditRecord) -> Result<()>;

    // ----- staff notices -----

    /// The kinds of notice `user` opted into: none for a user who never chose, or an unknown
    /// one.
    async fn notice_kinds(&self, user: UserId) -> Result<NoticeKinds>;

    /// Replaces the kinds of notice `user` gets and writes `audit`; returns the new kinds.
    /// `NotFound` for an unknown user. Who may opt in is the services' rule (staff only);
    /// [`set_role`](Self::set_role) to `Customer` clears a user's kinds in the same command.
    async fn set_notice_kinds(
        &self,
        user: UserId,
        kinds: NoticeKinds,
        audit: AuditRecord,
    ) -> Result<NoticeKinds>;

    /// Queues `notice` as one [`StaffNotice`](crate::outbox::OutboxBody::StaffNotice) outbox
    /// message to every user who is not banned and opted into [`Notice::kind`], in user id
    /// order, all or nothing, and returns how many it queued. Once per `key`: a key used
    /// before queues nothing and returns 0, however concurrent the calls (of any number with
    /// one key, exactly one queues). The key is remembered even when nobody opted in, so an
    /// event is never announced late to someone who opts in afterwards. `Invalid` for a key
    /// [`check_notice_key`](crate::notice::check_notice_key) refuses.
    async fn notify_staff(&self, notice: Notice, key: String, at: Timestamp) -> Result<u64>;

    // ----- background jobs -----

    /// Records a finished round of a job: it becomes the job's `last`, `rounds` grows by one,
    /// and a pending request made at or before the round's `started_at` is cleared (one made
    /// later stays). Returns the record. `Invalid` for a name
    /// [`check_job_name`](crate::jobs::check_job_name) refuses.
    async fn record_job_round(&self, round: JobRound) -> Result<JobRecord>;

    /// Every job the store has a record of, in name order.
    async fn job_records(&self) -> Result<Vec<JobRecord>>;

    /// Asks for job `name` to run at the next chance: sets its `requested_at` to `at`, unless
    /// a request is already pending (the earlier one stays). Creates the record of a job with
    /// no rounds yet. Returns the record. `Invalid` for a name
    /// [`check_job_name`](crate::jobs::check_job_name) refuses.
    async fn request_job_run(&self, name: String, at: Timestamp) -> Result<JobRecord>;

    // ----- housekeeping -----

    /// Forgets what `sweep` names: dialogues that expired at or before
    /// `dialogues_expired_by`, and processed-update ids recorded before `updates_before`.
    /// Returns how many of each it forgot.
    async fn sweep(&self, sweep: Sweep) -> Result<SweepReport>;
}

// The services' unit tests mock every required method; the combined queries keep their default
// bodies, built on the mocked ones, so a test expects only the queries it means.
#[cfg(test)]
mockall::mock! {
    pub(crate) Storage {}
    #[async_trait]
    impl Storage for Storage {
        async fn upsert_user(&self, profile: UserProfile, at: Timestamp) -> Result<User>;
        async fn user(&self, id: UserId) -> Result<Option<User>>;
        async fn users(&self, page: Page) -> Result<Vec<User>>;
        async fn set_role(&self, user: UserId, role: Role, audit: AuditRecord) -> Result<User>;
        async fn set_banned(&self, user: UserId, banned: bool, audit: AuditRecord) -> Result<User>;
        async fn settings(&self) -> Result<Settings>;
        async fn set_maintenance(&self, on: bool, audit: AuditRecord) -> Result<Settings>;
        async fn shop_currency(&self) -> Result<Option<Currency>>;
        async fn adopt_currency(&self, currency: Currency) -> Result<Currency>;
        async fn create_category(&self, new: NewCategory, audit: AuditRecord) -> Result<Category>;
        async fn categories(&self) -> Result<Vec<Category>>;
        async fn rename_category(&self, id: CategoryId, name: CategoryName, audit: AuditRecord) -> Result<Category>;
        async fn delete_category(&self, id: CategoryId, audit: AuditRecord) -> Result<()>;
        async fn create_product(&self, new: NewProduct, audit: AuditRecord) -> Result<Product>;
        async fn update_product(&self, id: ProductId, patch: ProductPatch, audit: AuditRecord) -> Result<Product>;
        async fn delete_product(&self, id: ProductId, audit: AuditRecord) -> Result<u64>;
        async fn product(&self, id: ProductId) -> Result<Option<Product>>;
        async fn products(&self, filter: ProductFilter) -> Result<Vec<Product>>;
        async fn import_stock(&self, import: StockImport, audit: AuditRecord) -> Result<ImportReport>;
        async fn stock_counts(&self, product: ProductId) -> Result<StockCounts>;
        async fn stock_units(&self, product: ProductId) -> Result<Vec<StockUnit>>;
        async fn remove_stock(&self, removal: StockRemoval, audit: AuditRecord) -> Result<u64>;
        async fn cart(&self, user: UserId) -> Result<Cart>;
        async fn edit_cart(&self, user: UserId, edit: CartEdit) -> Result<Cart>;
        async fn commit_checkout(&self, request: CheckoutRequest) -> Result<CheckoutOutcome>;
        async fn checkout_by_key(&self, user: UserId, key: IdempotencyKey) -> Result<Option<Order>>;
        async fn order(&self, id: OrderId) -> Result<Option<Order>>;
        async fn orders(&self, filter: OrderFilter) -> Result<Vec<Order>>;
        async fn refund_order(&self, request: RefundRequest, audit: AuditRecord) -> Result<RefundOutcome>;
        async fn post_ledger_entry(&self, request: LedgerRequest, audit: Option<AuditRecord>) -> Result<LedgerEntry>;
        async fn balance(&self, user: UserId, currency: Currency) -> Result<Balance>;
        async fn ledger(&self, user: UserId, page: Page) -> Result<Vec<LedgerEntry>>;
        async fn create_invoice(&self, new: NewInvoice) -> Result<Invoice>;
        async fn invoice(&self, id: InvoiceId) -> Result<Option<Invoice>>;
        async fn invoices(&self, filter: InvoiceFilter) -> Result<Vec<Invoice>>;
        async fn transition_invoice(&self, id: InvoiceId, event: InvoiceEvent, at: Timestamp, audit: Option<AuditRecord>) -> Result<Invoice>;
        async fn apply_payment(&self, payment: PaymentEvent) -> Result<PaymentOutcome>;
        async fn dialogue(&self, chat: ChatId, user: UserId, now: Timestamp) -> Result<Option<Dialogue>>;
        async fn save_dialogue(&self, dialogue: Dialogue) -> Result<()>;
        async fn clear_dialogue(&self, chat: ChatId, user: UserId) -> Result<()>;
        async fn mark_update_processed(&self, update: UpdateId, at: Timestamp) -> Result<bool>;
        async fn claim_outbox(&self, claim: OutboxClaim) -> Result<Vec<OutboxMessage>>;
        async fn complete_outbox(&self, id: OutboxId, outcome: DeliveryOutcome) -> Result<()>;
        async fn audit_log(&self, page: Page) -> Result<Vec<AuditEntry>>;
        async fn write_audit(&self, audit: AuditRecord) -> Result<()>;
        async fn notice_kinds(&self, user: UserId) -> Result<NoticeKinds>;
        async fn set_notice_kinds(&self, user: UserId, kinds: NoticeKinds, audit: AuditRecord) -> Result<NoticeKinds>;
        async fn notify_staff(&self, notice: Notice, key: String, at: Timestamp) -> Result<u64>;
        async fn record_job_round(&self, round: JobRound) -> Result<JobRecord>;
        async fn job_records(&self) -> Result<Vec<JobRecord>>;
        async fn request_job_run(&self, name: String, at: Timestamp) -> Result<JobRecord>;
        async fn sweep(&self, sweep: Sweep) -> Result<SweepReport>;
    }
}
