//! Crash simulation: the store crashes at each sync point of a concurrent workload, on a disk
//! whose unsynced bytes are kept, dropped, torn or turned to garbage. After every crash the
//! store must open, hold every acknowledged commit (orders, ledger entries, the keys of staff
//! notices raised), and keep every invariant.

use std::path::Path;
use std::sync::{Arc, Mutex};

use shopbot_core::audit::AuditRecord;
use shopbot_core::catalog::{ProductDraft, ProductKind};
use shopbot_core::ids::{OrderId, UserId};
use shopbot_core::money::{Currency, Money};
use shopbot_core::notice::{Notice, NoticeKinds};
use shopbot_core::order::Order;
use shopbot_core::ports::{Clock, Page, Storage};
use shopbot_core::services::{PayWith, Shop, ShopConfig};
use shopbot_core::stock::OnDuplicate;
use shopbot_core::text::{Description, IdempotencyKey, PersonName, ProductName, Quantity};
use shopbot_core::time::Timestamp;
use shopbot_core::user::UserProfile;
use shopbot_core::wallet::LedgerEntry;

use crate::sim_fs::{SimFs, Tail};
use crate::{JsonStore, Options};

const OWNER: UserId = UserId(1);
const BUYERS: i64 = 4;
const ROUNDS: usize = 6;

struct StepClock(std::sync::atomic::AtomicI64);

impl Clock for StepClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

#[derive(Default)]
struct Acked {
    entries: Vec<LedgerEntry>,
    orders: Vec<Order>,
    /// Keys of staff notices acknowledged as queued.
    notices: Vec<String>,
}

fn dir() -> &'static Path {
    Path::new("/store")
}

fn options() -> Options {
    // Small, so compaction (snapshot, rename, journal rotation) happens inside the workload.
    Options {
        compact_after_bytes: 6 * 1024,
    }
}

fn shop(store: Arc<JsonStore>) -> Shop {
    let config = ShopConfig {
        owners: [OWNER].into(),
        ..ShopConfig::default()
    };
    let clock = Arc::new(StepClock(std::sync::atomic::AtomicI64::new(1)));
    Shop::new(store, clock, config)
}

/// Sets the shop up and runs concurrent buyers until done or until the store fails.
async fn workload(store: Arc<JsonStore>, acked: Arc<Mutex<Acked>>) {
    let shop = shop(store.clone());
    let setup = async {
        for id in std::iter::once(OWNER).chain((0..BUYERS).map(|b| UserId(100 + b))) {
            let name = PersonName::lenient("someone");
            shop.greet(UserProfile { id, name }).await?;
        }
        let audit = AuditRecord {
            actor: OWNER,
            action: "notices".to_owned(),
            at: Timestamp(0),
        };
        store
            .set_notice_kinds(OWNER, NoticeKinds::all(), audit)
            .await?;
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
        let keys: String = (0..40).map(|i| format!("KEY-{i:04}\n")).collect();
        shop.admin()
            .import_stock_text(OWNER, product.id, &keys, OnDuplicate::Refuse)
            .await?;
        Ok::<_, shopbot_core::Error>(product.id)
    };
    let Ok(product) = setup.await else {
        return;
    };
    let mut buyers = tokio::task::JoinSet::new();
    for b in 0..BUYERS {
        let (shop, store, acked) = (shop.clone(), store.clone(), acked.clone());
        buyers.spawn(async move {
            let user = UserId(100 + b);
            for round in 0..ROUNDS {
                let key = IdempotencyKey::parse(&format!("dep-{b}-{round}")).unwrap();
                let amount = Money::new(500, Currency::USD);
                let Ok(entry) = shop.wallet().deposit(user, amount, key, None).await else {
                    return;
                };
                acked.lock().unwrap().entries.push(entry);
                let Ok(cart) = shop.cart().add(user, product, Quantity::ONE).await else {
                    return;
                };
                let tap = IdempotencyKey::parse(&format!("tap-{b}-{round}")).unwrap();
                let checkout = shop.checkout();
                match checkout
                    .buy_cart(user, cart.version, tap, PayWith::Wallet)
                    .await
                {
                    Ok(bought) => {
                        let order = bought.order.id;
                        acked.lock().unwrap().orders.push(bought.order);
                        let notice = Notice::OrderPaid { order };
                        let key = format!("order-paid:{order}");
                        match store.notify_staff(notice, key.clone(), Timestamp(0)).await {
                            Ok(1) => acked.lock().unwrap().notices.push(key),
                            Ok(n) => panic!("notice {key} queued {n} times"),
                            Err(_) => return,
                        }
                    }
                    Err(shopbot_core::Error::Internal(_)) => return,
                    Err(_) => {}
                }
            }
        });
    }
    while buyers.join_next().await.is_some() {}
}

/// Opens the crashed disk twice (recovery's own repairs must be durable too) and checks that
/// every acknowledged commit is there and every invariant holds.
async fn verify(fs: SimFs, acked: &Acked, context: &str) {
    for open in ["first", "second"] {
        let context = format!("{context}, {open} open");
        let store = match JsonStore::open_on(Arc::new(fs.clone()), dir(), options()) {
            Ok(store) => store,
            Err(e) => panic!("{context}: the store does not open after a crash: {e}"),
        };
        let problems = store.shared.lock().unwrap().state.check();
        assert!(problems.is_empty(), "{context}: {problems:?}");
        for entry in &acked.entries {
            let ledger = store.ledger(entry.user, Page::first(1000)).await.unwrap();
            assert!(
                ledger.contains(entry),
                "{context}: acknowledged entry {} is missing",
                entry.key
            );
        }
        for order in &acked.orders {
            let found = store.order(order.id).await.unwrap();
            assert_eq!(
                found.as_ref(),
                Some(order),
                "{context}: acknowledged order lost"
            );
        }
        for key in &acked.notices {
            let notice = Notice::OrderPaid { order: OrderId(0) };
            let again = store.notify_staff(notice, key.clone(), Timestamp(0)).await;
            assert_eq!(
                again.ok(),
                Some(0),
                "{context}: acknowledged notice {key} lost"
            );
        }
        // The recovered store keeps working.
        let profile = UserProfile {
            id: UserId(999),
            name: PersonName::lenient("after"),
        };
        assert!(
            store.upsert_user(profile, Timestamp(0)).await.is_ok(),
            "{context}"
        );
    }
}

async fn run(crash_at: Option<usize>) -> (SimFs, Acked) {
    let fs = SimFs::crashing_at(crash_at);
    let store = JsonStore::open_on(Arc::new(fs.clone()), dir(), options()).map(Arc::new);
    let acked = Arc::new(Mutex::new(Acked::default()));
    if let Ok(store) = store {
        workload(store, acked.clone()).await;
    }
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    (fs, acked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_commit_survives_a_crash_at_every_sync_point() {
    let (clean, acked) = run(None).await;
    let total = clean.syncs();
    assert!(acked.orders.len() > 5, "the workload must buy something");
    assert_eq!(
        acked.notices.len(),
        acked.orders.len(),
        "one notice per order"
    );
    assert!(total > 20, "the workload must sync often (did {total})");
    verify(clean.after_crash(Tail::Dropped, 0), &acked, "no crash").await;

    let tails = [Tail::Kept, Tail::Dropped, Tail::Torn, Tail::Garbage];
    let mut crashes = 0;
    for crash_at in 1..=total + 2 {
        for (i, tail) in tails.into_iter().enumerate() {
            let seed = (crash_at * tails.len() + i) as u64;
            let (fs, acked) = run(Some(crash_at)).await;
            let context = format!("crash at sync {crash_at}, unsynced bytes {tail:?}");
            verify(fs.after_crash(tail, seed), &acked, &context).await;
            crashes += 1;
        }
    }
    assert!(crashes >= 4 * total);
}
