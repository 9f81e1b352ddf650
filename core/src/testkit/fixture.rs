//! What every suite function starts from: a shop over the store under test with a manual clock,
//! helpers that seed people, products, stock and money through the services, listings that page
//! through everything, a [`Snapshot`] to prove that a refused command changed nothing, and
//! small helpers for reading ledgers and building checkout requests by hand.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::ManualClock;
use crate::audit::AuditEntry;
use crate::cart::{Cart, CartLine};
use crate::catalog::ProductDraft;
use crate::catalog::{Category, Product, ProductFilter, ProductKind};
use crate::ids::{ProductId, UserId};
use crate::invoice::{Invoice, InvoiceFilter};
use crate::money::{Currency, Money};
use crate::order::{
    self, CheckoutPayment, CheckoutRequest, Order, OrderFilter, OrderPayment, PlannedLine,
};
use crate::outbox::{OutboxClaim, OutboxMessage};
use crate::ports::{Page, Settings, Storage};
use crate::services::{PayWith, Shop, ShopConfig};
use crate::stock::{OnDuplicate, StockCounts};
use crate::text::{
    CategoryName, Description, IdempotencyKey, Note, PersonName, ProductName, Quantity,
};
use crate::time::Timestamp;
use crate::user::{Role, User, UserProfile};
use crate::wallet::{Balance, LedgerEntry, LedgerOp};

/// The shop's owner, named in [`ShopConfig::owners`] (their stored role stays `Customer`).
pub const OWNER: UserId = UserId(1);

/// The currency of every suite shop.
pub const CURRENCY: Currency = Currency::USD;

/// A limit larger than anything a suite function creates.
const EVERYTHING: usize = 100_000;

/// How many rows a paged listing asks for at a time.
const PAGE: usize = 250;

/// `minor` cents.
pub fn usd(minor: i64) -> Money {
    Money::new(minor, CURRENCY)
}

/// An idempotency key (panics on text that is not one).
pub fn key(text: &str) -> IdempotencyKey {
    IdempotencyKey::parse(text).unwrap()
}

/// A note (panics on text that is not one).
pub fn note(text: &str) -> Note {
    Note::parse(text).unwrap()
}

/// A quantity from 1 to 100 (panics outside).
pub fn qty(n: u32) -> Quantity {
    Quantity::new(n).unwrap()
}

/// A shop over the store under test, with [`OWNER`] greeted and a [`ManualClock`].
///
/// Cloning shares the shop, store and clock, so a clone can move into a spawned task.
#[derive(Clone)]
pub struct TestShop {
    /// The services.
    pub shop: Shop,
    /// The store under test.
    pub store: Arc<dyn Storage>,
    /// The shop's clock.
    pub clock: Arc<ManualClock>,
    serial: Arc<AtomicU64>,
}

impl TestShop {
    /// The configuration of every suite shop: the defaults, with [`OWNER`] as owner.
    pub fn config() -> ShopConfig {
        ShopConfig {
            owners: BTreeSet::from([OWNER]),
            ..ShopConfig::default()
        }
    }

    /// A shop over `store` with the owner greeted.
    pub async fn new(store: Arc<dyn Storage>) -> TestShop {
        let clock = Arc::new(ManualClock::default());
        let shop = Shop::new(store.clone(), clock.clone(), TestShop::config());
        let shop = TestShop {
            shop,
            store,
            clock,
            serial: Arc::new(AtomicU64::new(0)),
        };
        shop.greet(OWNER, "Owner").await;
        shop
    }

    /// The clock's time.
    pub fn now(&self) -> Timestamp {
        crate::ports::Clock::now(self.clock.as_ref())
    }

    /// Moves the clock one second on and returns the new time.
    pub fn tick(&self) -> Timestamp {
        self.clock.advance(Duration::from_secs(1))
    }

    /// A number never handed out before by this shop, for unique keys and names.
    pub fn serial(&self) -> u64 {
        self.serial.fetch_add(1, Ordering::SeqCst)
    }

    /// Greets a person through [`Shop::greet`].
    pub async fn greet(&self, id: UserId, name: &str) -> User {
        let profile = UserProfile {
            id,
            name: PersonName::lenient(name),
        };
        self.shop.greet(profile).await.unwrap()
    }

    /// Greets a new customer with id `id`.
    pub async fn customer(&self, id: i64) -> UserId {
        self.greet(UserId(id), &format!("Customer {id}")).await.id
    }

    /// Greets a person with id `id` and has the owner give them `role`.
    pub async fn staff(&self, id: i64, role: Role) -> UserId {
        let user = self.greet(UserId(id), &format!("Staff {id}")).await.id;
        self.shop.admin().set_role(OWNER, user, role).await.unwrap();
        user
    }

    /// Has the owner ban `user`.
    pub async fn ban(&self, user: UserId) {
        self.shop
            .admin()
            .set_banned(OWNER, user, true)
            .await
            .unwrap();
    }

    /// Has the owner create a category.
    pub async fn category(&self, name: &str) -> Category {
        let name = CategoryName::parse(name).unwrap();
        self.shop
            .admin()
            .create_category(OWNER, name)
            .await
            .unwrap()
    }

    /// A visible key product without category or picture.
    pub fn draft(name: &str, price_minor: i64) -> ProductDraft {
        ProductDraft {
            category: None,
            name: ProductName::parse(name).unwrap(),
            description: Description::parse("Made by the conformance suite.").unwrap(),
            kind: ProductKind::Key,
            price: usd(price_minor),
            hidden: false,
            image: None,
        }
    }

    /// Has the owner create a product from `draft`.
    pub async fn create_product(&self, draft: ProductDraft) -> Product {
        self.shop
            .admin()
            .create_product(OWNER, draft)
            .await
            .unwrap()
    }

    /// Has the owner create a visible key product.
    pub async fn product(&self, name: &str, price_minor: i64) -> Product {
        self.create_product(TestShop::draft(name, price_minor))
            .await
    }

    /// Has the owner import `payloads` into `product` as text, refusing duplicates.
    pub async fn import(&self, product: ProductId, payloads: &[String]) {
        let text = payloads.join("\n");
        let report = self
            .shop
            .admin()
            .import_stock_text(OWNER, product, &text, OnDuplicate::Refuse)
            .await
            .unwrap();
        assert_eq!(report.added, payloads.len(), "import of {product}");
    }

    /// Imports `n` fresh keys named `<prefix>-<number>` into `product` and returns them.
    pub async fn keys(&self, product: ProductId, prefix: &str, n: usize) -> Vec<String> {
        let payloads: Vec<String> = (1..=n).map(|i| format!("{prefix}-{i:05}")).collect();
        self.import(product, &payloads).await;
        payloads
    }

    /// Has the owner credit `minor` cents to `user`'s wallet (a manual adjustment).
    pub async fn fund(&self, user: UserId, minor: i64) -> LedgerEntry {
        let key = key(&format!("fund:{user}:{}", self.serial()));
        self.shop
            .admin()
            .adjust_wallet(OWNER, user, usd(minor), note("suite funding"), key)
            .await
            .unwrap()
    }

    /// `user` puts `n` of `product` in the cart and buys the cart from the wallet.
    pub async fn buy(&self, user: UserId, product: ProductId, n: u32) -> Order {
        let cart = self.shop.cart().add(user, product, qty(n)).await.unwrap();
        let key = key(&format!("buy:{user}:{}", self.serial()));
        self.shop
            .checkout()
            .buy_cart(user, cart.version, key, PayWith::Wallet)
            .await
            .unwrap()
            .order
    }

    /// `user` puts `n` of `product` in the cart and checks it out by invoice, reserving the
    /// units: the order awaiting payment and its open invoice.
    pub async fn buy_by_invoice(
        &self,
        user: UserId,
        product: ProductId,
        n: u32,
    ) -> (Order, Invoice) {
        let cart = self.shop.cart().add(user, product, qty(n)).await.unwrap();
        let key = key(&format!("invoice-checkout:{}", self.serial()));
        let order = self
            .shop
            .checkout()
            .buy_cart(user, cart.version, key, PayWith::Invoice)
            .await
            .unwrap()
            .order;
        let OrderPayment::Invoice { invoice } = order.payment else {
            panic!(
                "an invoice checkout is paid by invoice: {:?}",
                order.payment
            );
        };
        let invoice = self.store.invoice(invoice).await.unwrap().unwrap();
        (order, invoice)
    }

    /// `user`'s wallet in the shop currency, read from the store.
    pub async fn balance(&self, user: UserId) -> Balance {
        self.store.balance(user, CURRENCY).await.unwrap()
    }

    /// `product`'s unit counts, read from the store.
    pub async fn counts(&self, product: ProductId) -> StockCounts {
        self.store.stock_counts(product).await.unwrap()
    }

    /// Everything a refused command must leave alone, read from the store.
    pub async fn snapshot(&self) -> Snapshot {
        Snapshot::take(self.store.as_ref()).await
    }
}

/// The sum of `entries`' `Charge` debits, in minor units.
pub fn charged(entries: &[LedgerEntry]) -> i64 {
    entries
        .iter()
        .filter(|e| matches!(e.op, LedgerOp::Charge { .. }))
        .map(|e| -e.balance_delta.minor)
        .sum()
}

/// A checkout request for `cart` as it stands, planned against `products`, paid from the wallet.
pub fn wallet_request(
    t: &TestShop,
    cart: &Cart,
    products: &[Product],
    key_text: &str,
) -> CheckoutRequest {
    let lines = order::plan(&cart.lines, |id| products.iter().find(|p| p.id == id)).unwrap();
    wallet_checkout(t, cart.user, Some(cart.version), lines, key_text)
}

/// A request of `user` to buy `n` of `product` at once (no cart), planned as `product` stands,
/// paid from the wallet.
pub fn buy_now_request(
    t: &TestShop,
    user: UserId,
    product: &Product,
    n: u32,
    key_text: &str,
) -> CheckoutRequest {
    let wanted = [CartLine {
        product: product.id,
        quantity: qty(n),
    }];
    let lines = order::plan(&wanted, |_| Some(product)).unwrap();
    wallet_checkout(t, user, None, lines, key_text)
}

fn wallet_checkout(
    t: &TestShop,
    user: UserId,
    cart_version: Option<u64>,
    lines: Vec<PlannedLine>,
    key_text: &str,
) -> CheckoutRequest {
    CheckoutRequest {
        user,
        key: key(key_text),
        cart_version,
        total: order::total(&lines).unwrap(),
        lines,
        payment: CheckoutPayment::Wallet,
        at: t.now(),
    }
}

/// Everything the services can change, read through queries only (claiming the outbox would
/// change it, so the outbox is left out). Two equal snapshots mean nothing changed in between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The shop-wide switches.
    pub settings: Settings,
    /// Every user.
    pub users: Vec<User>,
    /// Every user's wallet in the shop currency and their whole ledger.
    pub wallets: Vec<(UserId, Balance, Vec<LedgerEntry>)>,
    /// Every user's cart.
    pub carts: Vec<Cart>,
    /// Every category.
    pub categories: Vec<Category>,
    /// Every product, hidden ones included, with its unit counts.
    pub products: Vec<(Product, StockCounts)>,
    /// Every order.
    pub orders: Vec<Order>,
    /// Every invoice.
    pub invoices: Vec<Invoice>,
    /// The whole audit log.
    pub audit: Vec<AuditEntry>,
}

impl Snapshot {
    /// Reads everything from `store`.
    pub async fn take(store: &dyn Storage) -> Snapshot {
        let users = all_users(store).await;
        let mut wallets = Vec::with_capacity(users.len());
        let mut carts = Vec::with_capacity(users.len());
        for user in &users {
            let balance = store.balance(user.id, CURRENCY).await.unwrap();
            wallets.push((user.id, balance, all_ledger(store, user.id).await));
            carts.push(store.cart(user.id).await.unwrap());
        }
        let filter = ProductFilter {
            category: None,
            include_hidden: true,
        };
        let mut products = Vec::new();
        for product in store.products(filter).await.unwrap() {
            let counts = store.stock_counts(product.id).await.unwrap();
            products.push((product, counts));
        }
        Snapshot {
            settings: store.settings().await.unwrap(),
            users,
            wallets,
            carts,
            categories: store.categories().await.unwrap(),
            products,
            orders: all_orders(store).await,
            invoices: all_invoices(store).await,
            audit: all_audit(store).await,
        }
    }
}

/// Reads every page of a listing; panics if the pages never end (an ignored offset).
async fn paged<T, F, Fut>(mut fetch: F) -> Vec<T>
where
    F: FnMut(Page) -> Fut,
    Fut: Future<Output = Vec<T>>,
{
    let mut all = Vec::new();
    loop {
        let page = Page {
            offset: all.len(),
            limit: PAGE,
        };
        let got = fetch(page).await;
        let done = got.len() < PAGE;
        all.extend(got);
        assert!(
            all.len() <= EVERYTHING,
            "a paged listing never ends: is the offset ignored?"
        );
        if done {
            return all;
        }
    }
}

/// Every user, in id order.
pub async fn all_users(store: &dyn Storage) -> Vec<User> {
    paged(|page| async move { store.users(page).await.unwrap() }).await
}

/// `user`'s whole ledger, newest first.
pub async fn all_ledger(store: &dyn Storage, user: UserId) -> Vec<LedgerEntry> {
    paged(|page| async move { store.ledger(user, page).await.unwrap() }).await
}

/// The whole audit log, newest first.
pub async fn all_audit(store: &dyn Storage) -> Vec<AuditEntry> {
    paged(|page| async move { store.audit_log(page).await.unwrap() }).await
}

/// Every order, newest first.
pub async fn all_orders(store: &dyn Storage) -> Vec<Order> {
    let filter = OrderFilter {
        user: None,
        since: None,
        limit: EVERYTHING,
    };
    store.orders(filter).await.unwrap()
}

/// Every invoice, newest first.
pub async fn all_invoices(store: &dyn Storage) -> Vec<Invoice> {
    let filter = InvoiceFilter {
        user: None,
        status: None,
        limit: EVERYTHING,
    };
    store.invoices(filter).await.unwrap()
}

/// Claims every outbox message due at `now` (leasing each for a minute), in batches until none
/// is left.
pub async fn claim_all(store: &dyn Storage, now: Timestamp) -> Vec<OutboxMessage> {
    let claim = OutboxClaim {
        now,
        lease_until: now.plus(Duration::from_secs(60)),
        limit: PAGE,
    };
    let mut all = Vec::new();
    loop {
        let got = store.claim_outbox(claim).await.unwrap();
        if got.is_empty() {
            return all;
        }
        all.extend(got);
        assert!(
            all.len() <= EVERYTHING,
            "claims never end: are claimed messages hidden?"
        );
    }
}
