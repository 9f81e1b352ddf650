//! The `json` benchmark: the embedded store's durability cost, group commit, scaling with the
//! store's size, and recovery.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use shopbot_core::catalog::{ProductDraft, ProductKind};
use shopbot_core::ids::{ProductId, UserId};
use shopbot_core::money::{Currency, Money};
use shopbot_core::ports::{Storage, SystemClock};
use shopbot_core::services::{PayWith, Shop, ShopConfig};
use shopbot_core::stock::{MAX_IMPORT_LINES, OnDuplicate};
use shopbot_core::text::{Description, IdempotencyKey, Note, PersonName, ProductName, Quantity};
use shopbot_core::user::UserProfile;
use shopbot_core::{Error, Result};
use shopbot_storage_json::JsonStore;

use crate::report::{Throughput, emit, resident_bytes, with};

/// The shop's owner, who runs the admin calls.
pub const OWNER: UserId = UserId(1);

/// How much work each measurement does.
pub struct Scale {
    anchor_ops: usize,
    checkouts_c1: usize,
    checkouts_c64: usize,
    small_orders: usize,
    large_orders: usize,
    latency_samples: usize,
    recovery_units: usize,
    recovery_orders: usize,
    recovery_journal: usize,
}

impl Scale {
    /// The sizes the targets are stated for.
    pub fn full() -> Scale {
        Scale {
            anchor_ops: 3000,
            checkouts_c1: 2000,
            checkouts_c64: 20_000,
            small_orders: 1000,
            large_orders: 1_000_000,
            latency_samples: 2000,
            recovery_units: 1_000_000,
            recovery_orders: 100_000,
            recovery_journal: 10_000,
        }
    }

    /// A run of under a minute, with the large store scaled down.
    pub fn quick() -> Scale {
        Scale {
            anchor_ops: 500,
            checkouts_c1: 300,
            checkouts_c64: 3000,
            small_orders: 1000,
            large_orders: 100_000,
            latency_samples: 500,
            recovery_units: 100_000,
            recovery_orders: 10_000,
            recovery_journal: 1000,
        }
    }
}

/// The measurements, by the name `--only` takes.
pub const PARTS: [&str; 4] = ["anchor", "checkout", "latency", "recovery"];

/// Runs the measurements named in `parts` in `dir`.
pub async fn run(scale: &Scale, dir: &Path, parts: &[&str]) -> Result<()> {
    if parts.contains(&"anchor") {
        anchor(scale.anchor_ops, dir)?;
    }
    if parts.contains(&"checkout") {
        throughput(scale, dir).await?;
    }
    if parts.contains(&"latency") {
        latency(scale, dir).await?;
    }
    if parts.contains(&"recovery") {
        recovery(scale, dir).await?;
    }
    Ok(())
}

async fn throughput(scale: &Scale, dir: &Path) -> Result<()> {
    for (concurrency, total) in [(1, scale.checkouts_c1), (64, scale.checkouts_c64)] {
        let store = JsonStore::open(dir.join(format!("checkout-c{concurrency}"))).map_err(open)?;
        // Rounded up per buyer, so a few spare units.
        let units = total + concurrency;
        let (shop, product) = stocked_shop(Arc::new(store), concurrency, units).await?;
        let run = checkouts(&shop, product, concurrency, total).await?;
        emit(with(
            json!({"bench": "json_checkout", "concurrency": concurrency}),
            run.fields(),
        ));
    }
    Ok(())
}

async fn latency(scale: &Scale, dir: &Path) -> Result<()> {
    let mut p50 = Vec::new();
    for orders in [scale.small_orders, scale.large_orders] {
        let path = dir.join(format!("orders-{orders}"));
        let product = prefilled(&path, orders, 0, scale.latency_samples).await?;
        let shop = shop(Arc::new(JsonStore::open(&path).map_err(open)?));
        let run = checkouts(&shop, product, 1, scale.latency_samples).await?;
        let fields = run.fields();
        p50.push(fields.get("p50_us").and_then(|v| v.as_u64()).unwrap_or(0));
        emit(with(
            json!({"bench": "json_checkout_latency", "existing_orders": orders}),
            fields,
        ));
    }
    if let [small, large] = p50[..] {
        emit(json!({
            "bench": "json_latency_growth",
            "p50_small_us": small,
            "p50_large_us": large,
            "ratio": (large as f64 / small.max(1) as f64 * 100.0).round() / 100.0,
        }));
    }
    Ok(())
}

fn open(e: shopbot_storage_json::OpenError) -> Error {
    Error::internal(e)
}

/// The raw anchor: append a 200-byte record and `fdatasync`, one at a time.
fn anchor(ops: usize, dir: &Path) -> Result<()> {
    let mut file = std::fs::File::create(dir.join("anchor.log")).map_err(Error::internal)?;
    let record = [b'x'; 200];
    let mut latencies = Vec::with_capacity(ops);
    let start = Instant::now();
    for _ in 0..ops {
        let t = Instant::now();
        file.write_all(&record).map_err(Error::internal)?;
        file.sync_data().map_err(Error::internal)?;
        latencies.push(t.elapsed());
    }
    let run = Throughput {
        ops,
        elapsed: start.elapsed(),
        latencies,
    };
    emit(with(
        json!({"bench": "fsync_anchor", "record_bytes": 200}),
        run.fields(),
    ));
    Ok(())
}

fn shop(store: Arc<dyn Storage>) -> Shop {
    let config = ShopConfig {
        owners: [OWNER].into(),
        ..ShopConfig::default()
    };
    Shop::new(store, Arc::new(SystemClock), config)
}

/// The benchmark's `n`th customer (funded by [`stocked_shop_with`]).
pub fn buyer(n: usize) -> UserId {
    UserId(1000 + n as i64)
}

/// A shop with one product holding `units` keys and `buyers` funded customers.
async fn stocked_shop(
    store: Arc<dyn Storage>,
    buyers: usize,
    units: usize,
) -> Result<(Shop, ProductId)> {
    let (shop, products) = stocked_shop_with(store, buyers, 1, units).await?;
    let product = products
        .first()
        .copied()
        .ok_or_else(|| Error::internal_msg("no product"))?;
    Ok((shop, product))
}

/// A shop with `products` products sharing `units` keys between them, and `buyers` funded
/// customers.
pub async fn stocked_shop_with(
    store: Arc<dyn Storage>,
    buyers: usize,
    products: usize,
    units: usize,
) -> Result<(Shop, Vec<ProductId>)> {
    let shop = shop(store);
    let admin = shop.admin();
    shop.greet(profile(OWNER)).await?;
    let mut ids = Vec::with_capacity(products);
    for p in 0..products.max(1) {
        let draft = ProductDraft {
            category: None,
            name: ProductName::parse(&format!("Benchmark key {p}"))?,
            description: Description::parse("")?,
            kind: ProductKind::Key,
            price: Money::new(100, Currency::USD),
            hidden: false,
            image: None,
        };
        let product = admin.create_product(OWNER, draft).await?.id;
        let share = units.div_ceil(products.max(1));
        let mut imported = 0;
        while imported < share {
            let chunk = (share - imported).min(MAX_IMPORT_LINES);
            let text: String = (imported..imported + chunk)
                .map(|i| format!("KEY-{p}-{i:08}\n"))
                .collect();
            admin
                .import_stock_text(OWNER, product, &text, OnDuplicate::Refuse)
                .await?;
            imported += chunk;
        }
        ids.push(product);
    }
    // Many buyers are funded by a few admins at once, as a store with thousands of them would
    // take a while one by one.
    let funders = 64.min(buyers.max(1));
    let mut tasks = tokio::task::JoinSet::new();
    for first in 0..funders {
        let shop = shop.clone();
        tasks.spawn(async move {
            for b in (first..buyers).step_by(funders) {
                shop.greet(profile(buyer(b))).await?;
                let credit = Money::new(1_000_000_000_000, Currency::USD);
                let key = IdempotencyKey::parse(&format!("fund-{b}"))?;
                // Far above the shop's limit for manual credits, on purpose: confirmed.
                shop.admin()
                    .adjust_wallet_confirmed(OWNER, buyer(b), credit, Note::parse("bench")?, key)
                    .await?;
            }
            Ok::<_, Error>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(Error::internal)??;
    }
    Ok((shop, ids))
}

/// The profile the benchmark's people write with.
pub fn profile(id: UserId) -> UserProfile {
    UserProfile {
        id,
        name: PersonName::lenient("bench"),
    }
}

/// `total` checkouts (add one key to the cart, buy it) by `concurrency` buyers at once.
async fn checkouts(
    shop: &Shop,
    product: ProductId,
    concurrency: usize,
    total: usize,
) -> Result<Throughput> {
    checkouts_on(
        shop,
        &[product],
        concurrency,
        total,
        "bench",
        Purchase::AddThenCheckout,
    )
    .await
}

/// How a benchmark buyer buys one key.
#[derive(Debug, Clone, Copy)]
pub enum Purchase {
    /// Adds it to the cart, then buys the cart: two commands.
    AddThenCheckout,
    /// Buys it at once from the product ("buy now"): one command.
    BuyNow,
}

/// `total` checkouts by `concurrency` buyers at once, each bought `how`; buyer `b` buys
/// `products[b % len]`. Checkout keys start with `round`, so several rounds can run on one shop.
pub async fn checkouts_on(
    shop: &Shop,
    products: &[ProductId],
    concurrency: usize,
    total: usize,
    round: &str,
    how: Purchase,
) -> Result<Throughput> {
    let per_buyer = total.div_ceil(concurrency);
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for b in 0..concurrency {
        let shop = shop.clone();
        let product = products
            .get(b % products.len().max(1))
            .copied()
            .ok_or_else(|| Error::internal_msg("no product"))?;
        let round = round.to_owned();
        tasks.spawn(async move {
            let mut latencies = Vec::with_capacity(per_buyer);
            for i in 0..per_buyer {
                let t = Instant::now();
                let key = format!("{round}-{b}-{i}");
                match how {
                    Purchase::AddThenCheckout => buy(&shop, buyer(b), product, &key).await?,
                    Purchase::BuyNow => buy_now(&shop, buyer(b), product, &key).await?,
                }
                latencies.push(t.elapsed());
            }
            Ok::<_, Error>(latencies)
        });
    }
    timed(tasks, start).await
}

/// `total` checkouts of carts filled beforehand (one key each), by `concurrency` buyers at once:
/// the checkout step alone. Buyer `first + i` fills and buys the `i`th cart, so the buyers
/// `first..first + total` must be funded.
pub async fn filled_cart_checkouts_on(
    shop: &Shop,
    products: &[ProductId],
    concurrency: usize,
    first: usize,
    total: usize,
) -> Result<Throughput> {
    let products = Arc::new(products.to_vec());
    let fillers = 64.min(total.max(1));
    let mut fills = tokio::task::JoinSet::new();
    for first_cart in 0..fillers {
        let (shop, products) = (shop.clone(), products.clone());
        fills.spawn(async move {
            let mut versions = Vec::new();
            for i in (first_cart..total).step_by(fillers) {
                let product = products
                    .get(i % products.len().max(1))
                    .copied()
                    .ok_or_else(|| Error::internal_msg("no product"))?;
                let cart = shop.cart();
                let filled = cart.add(buyer(first + i), product, Quantity::ONE).await?;
                versions.push((i, filled.version));
            }
            Ok::<_, Error>(versions)
        });
    }
    let mut carts = vec![0; total];
    while let Some(done) = fills.join_next().await {
        for (i, version) in done.map_err(Error::internal)?? {
            if let Some(slot) = carts.get_mut(i) {
                *slot = version;
            }
        }
    }
    let carts = Arc::new(carts);
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for b in 0..concurrency {
        let (shop, carts) = (shop.clone(), carts.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            for (i, version) in carts.iter().enumerate().skip(b).step_by(concurrency) {
                let t = Instant::now();
                let key = IdempotencyKey::parse(&format!("filled-{i}"))?;
                shop.checkout()
                    .buy_cart(buyer(first + i), *version, key, PayWith::Wallet)
                    .await?;
                latencies.push(t.elapsed());
            }
            Ok::<_, Error>(latencies)
        });
    }
    timed(tasks, start).await
}

/// The run since `start` of `tasks`, each returning its operations' latencies.
async fn timed(
    mut tasks: tokio::task::JoinSet<Result<Vec<Duration>>>,
    start: Instant,
) -> Result<Throughput> {
    let mut latencies = Vec::new();
    while let Some(done) = tasks.join_next().await {
        latencies.extend(done.map_err(Error::internal)??);
    }
    Ok(Throughput {
        ops: latencies.len(),
        elapsed: start.elapsed(),
        latencies,
    })
}

async fn buy(shop: &Shop, user: UserId, product: ProductId, key: &str) -> Result<()> {
    let cart = shop.cart().add(user, product, Quantity::ONE).await?;
    let key = IdempotencyKey::parse(key)?;
    shop.checkout()
        .buy_cart(user, cart.version, key, PayWith::Wallet)
        .await?;
    Ok(())
}

async fn buy_now(shop: &Shop, user: UserId, product: ProductId, key: &str) -> Result<()> {
    let key = IdempotencyKey::parse(key)?;
    shop.checkout()
        .buy_now(user, product, Quantity::ONE, key, PayWith::Wallet)
        .await?;
    Ok(())
}

/// Writes a store at `path` holding `orders` orders and `spare` more available units (plus
/// `extra_units` never sold), built in memory and saved as one snapshot.
async fn prefilled(
    path: &Path,
    orders: usize,
    extra_units: usize,
    spare: usize,
) -> Result<ProductId> {
    let store = Arc::new(JsonStore::in_memory());
    let buyers = 1000.min(orders.max(1));
    let units = orders + spare + extra_units + 64;
    let (shop, product) = stocked_shop(store.clone(), buyers, units).await?;
    for i in 0..orders {
        buy(&shop, buyer(i % buyers), product, &format!("fill-{i}")).await?;
    }
    store.backup(path).await?;
    Ok(product)
}

/// Open time and memory of a store with many units and orders, measured in a fresh process.
async fn recovery(scale: &Scale, dir: &Path) -> Result<()> {
    let path = dir.join("recovery");
    let extra = scale.recovery_units.saturating_sub(scale.recovery_orders);
    let product = prefilled(&path, scale.recovery_orders, extra, scale.recovery_journal).await?;
    {
        // Commits after the snapshot, left in the journal for the next open to replay.
        let shop = shop(Arc::new(JsonStore::open(&path).map_err(open)?));
        checkouts(&shop, product, 64, scale.recovery_journal).await?;
    }
    let exe = std::env::current_exe().map_err(Error::internal)?;
    let status = std::process::Command::new(exe)
        .arg("json-open")
        .arg(&path)
        .arg(scale.recovery_units.to_string())
        .arg(scale.recovery_orders.to_string())
        .arg(scale.recovery_journal.to_string())
        .status()
        .map_err(Error::internal)?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::internal_msg(format!("json-open failed: {status}")))
    }
}

/// The child side of [`recovery`]: open the store, report time and memory.
pub fn open_and_report(path: &Path, units: &str, orders: &str, journal: &str) -> Result<()> {
    let before = resident_bytes();
    let start = Instant::now();
    let store = JsonStore::open(path).map_err(open)?;
    let elapsed: Duration = start.elapsed();
    let after = resident_bytes();
    emit(json!({
        "bench": "json_recovery",
        "units": units.parse::<u64>().unwrap_or(0),
        "orders": orders.parse::<u64>().unwrap_or(0),
        "journal_records_replayed": journal.parse::<u64>().unwrap_or(0) * 2,
        "open_ms": elapsed.as_millis() as u64,
        "resident_mb": after / (1024 * 1024),
        "resident_growth_mb": after.saturating_sub(before) / (1024 * 1024),
    }));
    drop(store);
    Ok(())
}
