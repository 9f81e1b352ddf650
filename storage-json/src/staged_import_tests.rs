//! Staged imports: a large import is all or nothing, invisible until published, lets buyers
//! in between its chunks, survives a compaction, and leaves nothing visible after a crash.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use shopbot_core::Error;
use shopbot_core::audit::AuditRecord;
use shopbot_core::catalog::{ProductDraft, ProductKind};
use shopbot_core::ids::{ProductId, UserId};
use shopbot_core::money::{Currency, Money};
use shopbot_core::ports::{Clock, Storage};
use shopbot_core::services::{PayWith, Shop, ShopConfig};
use shopbot_core::stock::{OnDuplicate, StockError, StockImport, StockLine};
use shopbot_core::text::{Description, IdempotencyKey, PersonName, ProductName, Quantity};
use shopbot_core::time::Timestamp;
use shopbot_core::user::UserProfile;

use crate::engine::Command;
use crate::sim_fs::{SimFs, Tail};
use crate::{JsonStore, Options, RequestKey, STAGE_CHUNK_LINES};

const OWNER: UserId = UserId(1);
const BUYER: UserId = UserId(2);

struct StepClock(AtomicI64);

impl Clock for StepClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.fetch_add(1, Ordering::Relaxed))
    }
}

fn shop(store: Arc<JsonStore>) -> Shop {
    let config = ShopConfig {
        owners: [OWNER].into(),
        ..ShopConfig::default()
    };
    Shop::new(store, Arc::new(StepClock(AtomicI64::new(1))), config)
}

/// A shop with an owner, a buyer with money, and a key product holding `in_stock` units.
async fn setup(store: &Arc<JsonStore>, in_stock: usize) -> Result<ProductId, Error> {
    let shop = shop(store.clone());
    for id in [OWNER, BUYER] {
        let name = PersonName::lenient("someone");
        shop.greet(UserProfile { id, name }).await?;
    }
    let draft = ProductDraft {
        category: None,
        name: ProductName::parse("Key")?,
        description: Description::parse("")?,
        kind: ProductKind::Key,
        price: Money::new(300, Currency::USD),
        hidden: false,
        image: None,
    };
    let product = shop.admin().create_product(OWNER, draft).await?;
    if in_stock > 0 {
        store
            .import_stock(
                import(product.id, "OLD", 0..in_stock, OnDuplicate::Refuse),
                audit(),
            )
            .await?;
    }
    let money = IdempotencyKey::parse("money")?;
    shop.wallet()
        .deposit(BUYER, Money::new(100_000, Currency::USD), money, None)
        .await?;
    Ok(product.id)
}

fn audit() -> AuditRecord {
    AuditRecord {
        actor: OWNER,
        action: "import".to_owned(),
        at: Timestamp(0),
    }
}

/// Lines `prefix-<i>` for `i` in `range`, numbered from 1.
fn import(
    product: ProductId,
    prefix: &str,
    range: std::ops::Range<usize>,
    on_duplicate: OnDuplicate,
) -> StockImport {
    let lines = range
        .enumerate()
        .map(|(n, i)| StockLine {
            line: n + 1,
            payload: shopbot_core::text::StockPayload::parse(&format!("{prefix}-{i:06}")).unwrap(),
        })
        .collect();
    StockImport {
        product,
        lines,
        on_duplicate,
        at: Timestamp(5),
    }
}

async fn buy(store: &Arc<JsonStore>, product: ProductId, tap: &str) -> Result<(), Error> {
    let key = IdempotencyKey::parse(tap)?;
    shop(store.clone())
        .checkout()
        .buy_now(BUYER, product, Quantity::ONE, key, PayWith::Wallet)
        .await
        .map(drop)
}

fn available(store: &JsonStore, product: ProductId) -> (u64, usize) {
    let inner = store.shared.lock().unwrap();
    (
        inner.state.stock_counts(product).available,
        inner.state.staged_lines(product),
    )
}

fn duplicate_lines(result: Result<impl std::fmt::Debug, Error>) -> Vec<(usize, Option<usize>)> {
    match result {
        Err(Error::Invalid(shopbot_core::error::Invalid::Stock(StockError::Duplicates(d)))) => {
            d.iter().map(|d| (d.line, d.first_line)).collect()
        }
        other => panic!("expected duplicates, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_key_import_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(JsonStore::open(dir.path()).unwrap());
    let product = setup(&store, 3).await.unwrap();
    const {
        assert!(
            100_000 > 10 * STAGE_CHUNK_LINES,
            "the import must be staged"
        )
    };

    // Duplicates far apart, in different chunks: one of a unit in stock, one of a line.
    let mut refused = import(product, "NEW", 0..100_000, OnDuplicate::Refuse);
    refused.lines[10].payload = shopbot_core::text::StockPayload::parse("OLD-000001").unwrap();
    refused.lines[99_998].payload = refused.lines[3].payload.clone();
    let duplicates = duplicate_lines(store.import_stock(refused.clone(), audit()).await);
    assert_eq!(duplicates, vec![(11, None), (99_999, Some(4))]);
    assert_eq!(
        available(&store, product),
        (3, 0),
        "nothing added, nothing staged"
    );

    // With Skip, the same import adds the rest and reports the same lines.
    let mut skipping = refused;
    skipping.on_duplicate = OnDuplicate::Skip;
    let report = store.import_stock(skipping, audit()).await.unwrap();
    assert_eq!(report.added, 99_998);
    let skipped: Vec<_> = report
        .skipped
        .iter()
        .map(|d| (d.line, d.first_line))
        .collect();
    assert_eq!(skipped, vec![(11, None), (99_999, Some(4))]);
    assert_eq!(available(&store, product), (3 + 99_998, 0));

    // A clean import of 100,000 new keys.
    let clean = import(product, "MORE", 0..100_000, OnDuplicate::Refuse);
    assert_eq!(
        store.import_stock(clean, audit()).await.unwrap().added,
        100_000
    );
    assert_eq!(available(&store, product), (3 + 99_998 + 100_000, 0));
    assert!(store.check().await.unwrap().is_empty());

    // The journal holds it all: a reopened store has the same stock.
    store.close().await.unwrap();
    drop(store);
    let reopened = JsonStore::open(dir.path()).unwrap();
    assert_eq!(available(&reopened, product), (3 + 99_998 + 100_000, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staged_units_cannot_be_bought_before_the_import_publishes_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(JsonStore::open(dir.path()).unwrap());
    let product = setup(&store, 0).await.unwrap();
    let seen = Mutex::new(Vec::new());
    let big = import(
        product,
        "KEY",
        0..3 * STAGE_CHUNK_LINES,
        OnDuplicate::Refuse,
    );
    let publish = async |stage, audit| {
        let command = Command::PublishStage { stage, audit };
        match store.execute(command).await? {
            crate::engine::Outcome::Import(report) => Ok(report),
            other => panic!("{other:?}"),
        }
    };
    let between = async |chunks| {
        let bought = buy(&store, product, &format!("tap-{chunks}")).await;
        seen.lock()
            .unwrap()
            .push((chunks, available(&store, product), bought));
    };

    let report = store
        .import_staged(big, audit(), publish, between)
        .await
        .unwrap();

    let seen = seen.into_inner().unwrap();
    assert_eq!(seen.len(), 3);
    for (chunks, (available, staged), bought) in seen {
        assert_eq!(available, 0, "after chunk {chunks}");
        assert_eq!(staged, chunks * STAGE_CHUNK_LINES, "after chunk {chunks}");
        assert!(
            matches!(bought, Err(Error::OutOfStock { .. })),
            "{bought:?}"
        );
    }
    assert_eq!(report.added, 3 * STAGE_CHUNK_LINES);
    assert_eq!(
        available(&store, product),
        (3 * STAGE_CHUNK_LINES as u64, 0)
    );
    buy(&store, product, "tap-after").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_purchase_made_while_a_large_import_runs_completes_before_the_import_does() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(JsonStore::open(dir.path()).unwrap());
    let product = setup(&store, 1).await.unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let (staging_tx, staging_rx) = tokio::sync::oneshot::channel::<()>();
    let (bought_tx, bought_rx) = tokio::sync::oneshot::channel::<()>();

    // The buyer, in a task of its own: buys once the import is under way. If the import held
    // the writer, this purchase could never complete and the guard below would fail the test.
    let buyer = {
        let (store, events) = (store.clone(), events.clone());
        tokio::spawn(async move {
            staging_rx.await.unwrap();
            buy(&store, product, "tap-during").await.unwrap();
            events.lock().unwrap().push("purchase done");
            bought_tx.send(()).unwrap();
        })
    };
    // The import, in this task: after its first chunk it says so, then waits until the
    // purchase is done.
    let big = import(
        product,
        "KEY",
        0..5 * STAGE_CHUNK_LINES,
        OnDuplicate::Refuse,
    );
    let mut signals = Some((staging_tx, bought_rx));
    let between = async |_| {
        if let Some((staging, bought)) = signals.take() {
            staging.send(()).unwrap();
            bought.await.unwrap();
        }
    };
    let publish = async |stage, audit| {
        let command = Command::PublishStage { stage, audit };
        match store.execute(command).await? {
            crate::engine::Outcome::Import(report) => Ok(report),
            other => panic!("{other:?}"),
        }
    };
    let importing = async {
        let report = store.import_staged(big, audit(), publish, between).await;
        events.lock().unwrap().push("import done");
        report
    };
    let guard = std::time::Duration::from_secs(120);
    let (bought, imported) = tokio::time::timeout(guard, async { tokio::join!(buyer, importing) })
        .await
        .expect("the purchase waited for the import");
    bought.unwrap();
    assert_eq!(imported.unwrap().added, 5 * STAGE_CHUNK_LINES);

    assert_eq!(
        *events.lock().unwrap(),
        vec!["purchase done", "import done"]
    );
    assert_eq!(
        available(&store, product),
        (5 * STAGE_CHUNK_LINES as u64, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compaction_while_staging_keeps_the_stage() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        compact_after_bytes: 32 * 1024,
    };
    let store = Arc::new(JsonStore::open_with(dir.path(), options).unwrap());
    let product = setup(&store, 0).await.unwrap();
    let big = import(
        product,
        "KEY",
        0..5 * STAGE_CHUNK_LINES + 1,
        OnDuplicate::Refuse,
    );
    assert_eq!(
        store.import_stock(big, audit()).await.unwrap().added,
        5 * STAGE_CHUNK_LINES + 1
    );
    // Dropped without a last snapshot: reopening starts from one written mid-import and
    // replays the rest of the stage and its publication from the journal.
    drop(store);
    let reopened = JsonStore::open(dir.path()).unwrap();
    assert_eq!(
        available(&reopened, product),
        (5 * STAGE_CHUNK_LINES as u64 + 1, 0)
    );
    assert!(reopened.check().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_in_the_middle_of_a_large_import_leaves_no_unit_visible() {
    let dir = std::path::Path::new("/store");
    let options = Options::default();
    let lines = 4 * STAGE_CHUNK_LINES + 1;
    let run = async |fs: &SimFs| -> Option<bool> {
        let store = Arc::new(JsonStore::open_on(Arc::new(fs.clone()), dir, options).ok()?);
        let product = setup(&store, 0).await.ok()?;
        let big = import(product, "KEY", 0..lines, OnDuplicate::Refuse);
        Some(store.import_stock(big, audit()).await.is_ok())
    };
    let clean = SimFs::crashing_at(None);
    assert_eq!(run(&clean).await, Some(true));
    let total = clean.syncs();
    let mut mid_import = 0;
    for crash_at in 1..=total {
        for (seed, tail) in [Tail::Dropped, Tail::Torn, Tail::Garbage]
            .into_iter()
            .enumerate()
        {
            let context = format!("crash at sync {crash_at}, unsynced bytes {tail:?}");
            let fs = SimFs::crashing_at(Some(crash_at));
            let acked = run(&fs).await;
            let after = Arc::new(fs.after_crash(tail, seed as u64));
            let store = JsonStore::open_on(after, dir, options)
                .unwrap_or_else(|e| panic!("{context}: does not open: {e}"));
            let inner = store.shared.lock().unwrap();
            let product = ProductId(1);
            let counts = inner.state.stock_counts(product);
            assert_eq!(
                inner.state.staged_lines(product),
                0,
                "{context}: a stage survived"
            );
            assert!(
                counts.available == 0 || counts.available == lines as u64,
                "{context}: {} of {lines} units visible",
                counts.available
            );
            if acked == Some(true) {
                assert_eq!(
                    counts.available, lines as u64,
                    "{context}: acknowledged import lost"
                );
            }
            if acked == Some(false) && counts.available == 0 {
                mid_import += 1;
            }
            let problems = inner.state.check();
            assert!(problems.is_empty(), "{context}: {problems:?}");
        }
    }
    assert!(
        mid_import > 3,
        "some crashes must hit the import ({mid_import})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_large_import_under_one_request_key_imports_once() {
    let store = Arc::new(JsonStore::in_memory());
    let product = setup(&store, 0).await.unwrap();
    let key = RequestKey::parse("import-1").unwrap();
    let big = import(
        product,
        "KEY",
        0..2 * STAGE_CHUNK_LINES + 1,
        OnDuplicate::Refuse,
    );
    let first = store
        .keyed(key.clone(), Timestamp(1))
        .import_stock(big.clone(), audit())
        .await;
    let again = store
        .keyed(key, Timestamp(2))
        .import_stock(big, audit())
        .await;
    assert_eq!(again.unwrap(), first.unwrap());
    assert_eq!(
        available(&store, product),
        (2 * STAGE_CHUNK_LINES as u64 + 1, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_import_repeating_a_sold_key_reports_it_as_sold() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(JsonStore::open(dir.path()).unwrap());
    let product = setup(&store, 3).await.unwrap();
    buy(&store, product, "tap-1").await.unwrap();
    // Enough new lines to be staged, then the three old keys, one of them sold.
    let mut staged = import(product, "NEW", 0..2 * STAGE_CHUNK_LINES, OnDuplicate::Skip);
    let old = import(product, "OLD", 0..3, OnDuplicate::Skip);
    let first_old = staged.lines.len() + 1;
    staged.lines.extend(old.lines.into_iter().map(|mut l| {
        l.line += first_old - 1;
        l
    }));

    let report = store.import_stock(staged, audit()).await.unwrap();

    assert_eq!(report.added, 2 * STAGE_CHUNK_LINES);
    let lines: Vec<usize> = report.skipped.iter().map(|d| d.line).collect();
    assert_eq!(lines, [first_old, first_old + 1, first_old + 2]);
    let sold = report.skipped.iter().filter(|d| d.sold).count();
    assert_eq!(sold, 1, "{:?}", report.skipped);
}
