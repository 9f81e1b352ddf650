//! A Jepsen-style bank: 64 wallets and 64 concurrent clients make 10,000 random purchases,
//! refunds and reads while a random client connection is killed every couple of seconds.
//! Money only moves between wallets and paid orders, so every read must see the initial total;
//! no wallet may go negative; every ambiguous outcome is settled by retrying with its
//! idempotency key.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // Tests fail by panicking.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use sqlx::{Connection, PgConnection};

use shopbot_core::Error;
use shopbot_core::catalog::{ProductDraft, ProductKind};
use shopbot_core::ids::{OrderId, ProductId, UserId};
use shopbot_core::money::{Currency, Money};
use shopbot_core::order::OrderStatus;
use shopbot_core::ports::SystemClock;
use shopbot_core::services::{PayWith, Shop, ShopConfig};
use shopbot_core::text::{Description, IdempotencyKey, Note, PersonName, ProductName, Quantity};
use shopbot_core::user::UserProfile;
use shopbot_storage_pg::PgOptions;

use crate::support;

const OWNER: UserId = UserId(1);
const CLIENTS: i64 = 64;
const OPERATIONS: usize = 10_000;
const START_MINOR: i64 = 10_000;

fn key(text: String) -> IdempotencyKey {
    IdempotencyKey::parse(&text).unwrap()
}

/// Runs `op` until it gives an answer that is not an internal (possibly ambiguous) failure.
async fn settled<T, F, Fut>(mut op: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Error>>,
{
    loop {
        match op().await {
            Err(Error::Internal(_)) => tokio::task::yield_now().await,
            other => return other,
        }
    }
}

/// Wallet money plus the money in paid orders, and the smallest available balance, read in
/// one statement (one snapshot).
async fn books<'c, E>(conn: E) -> Result<(i64, i64), sqlx::Error>
where
    E: sqlx::PgExecutor<'c>,
{
    sqlx::query_as(
        "SELECT (SELECT COALESCE(SUM(balance_minor), 0) FROM wallets)::BIGINT \
              + (SELECT COALESCE(SUM(total_minor), 0) FROM orders WHERE status = 'paid')::BIGINT, \
                (SELECT COALESCE(MIN(balance_minor - held_minor), 0) FROM wallets)::BIGINT",
    )
    .fetch_one(conn)
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn money_is_conserved_while_connections_die() {
    let options = PgOptions {
        max_connections: 24,
        ..PgOptions::default()
    };
    let Some((store, db)) = support::store_with(options).await else {
        return;
    };
    let config = ShopConfig {
        owners: [OWNER].into(),
        ..ShopConfig::default()
    };
    let shop = Shop::new(store.clone(), Arc::new(SystemClock), config);
    shop.greet(UserProfile {
        id: OWNER,
        name: PersonName::lenient("owner"),
    })
    .await
    .unwrap();
    let mut products = Vec::new();
    for (i, price) in [150, 275, 990].into_iter().enumerate() {
        let draft = ProductDraft {
            category: None,
            name: ProductName::parse(&format!("Service {i}")).unwrap(),
            description: Description::parse("").unwrap(),
            kind: ProductKind::Service,
            price: Money::new(price, Currency::USD),
            hidden: false,
            image: None,
        };
        products.push(shop.admin().create_product(OWNER, draft).await.unwrap().id);
    }
    for c in 0..CLIENTS {
        let user = UserId(100 + c);
        shop.greet(UserProfile {
            id: user,
            name: PersonName::lenient("client"),
        })
        .await
        .unwrap();
        let start = Money::new(START_MINOR, Currency::USD);
        let note = Note::parse("opening balance").unwrap();
        shop.admin()
            .adjust_wallet(OWNER, user, start, note, key(format!("open-{c}")))
            .await
            .unwrap();
    }
    let total = START_MINOR * CLIENTS;

    let done = Arc::new(AtomicBool::new(false));
    let kills = Arc::new(AtomicUsize::new(0));
    let killer = {
        let (done, kills) = (done.clone(), kills.clone());
        let (name, server) = (db.name().to_owned(), db.server_url().to_owned());
        tokio::spawn(async move {
            let mut admin = PgConnection::connect(&server).await.unwrap();
            let mut tick = tokio::time::interval(Duration::from_millis(1500));
            tick.tick().await;
            while !done.load(Ordering::Relaxed) {
                tick.tick().await;
                let killed: Option<bool> = sqlx::query_scalar(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = $1 AND pid <> pg_backend_pid() \
                     ORDER BY random() LIMIT 1",
                )
                .bind(&name)
                .fetch_optional(&mut admin)
                .await
                .unwrap();
                if killed == Some(true) {
                    kills.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };

    let next = Arc::new(AtomicUsize::new(0));
    let mut clients = tokio::task::JoinSet::new();
    for c in 0..CLIENTS {
        let (shop, next, products, store) =
            (shop.clone(), next.clone(), products.clone(), store.clone());
        clients.spawn(async move {
            let user = UserId(100 + c);
            let mut random = 0x9e37_79b9_7f4a_7c15_u64 ^ (c as u64 + 1);
            let mut owned: Vec<OrderId> = Vec::new();
            let mut reads = 0;
            while next.fetch_add(1, Ordering::Relaxed) < OPERATIONS {
                random ^= random << 13;
                random ^= random >> 7;
                random ^= random << 17;
                let n = next.load(Ordering::Relaxed);
                match random % 10 {
                    0..=5 => {
                        let product: ProductId = products[(random >> 8) as usize % products.len()];
                        let tap = key(format!("buy-{c}-{n}"));
                        let bought = settled(|| async {
                            // After an ambiguous failure the key says whether it happened.
                            if let Some(order) =
                                shop.storage().checkout_by_key(user, tap.clone()).await?
                            {
                                return Ok(order);
                            }
                            let cart = shop.cart().set(user, product, Quantity::ONE).await?;
                            shop.checkout()
                                .buy_cart(user, cart.version, tap.clone(), PayWith::Wallet)
                                .await
                                .map(|bought| bought.order)
                        })
                        .await;
                        match bought {
                            Ok(order) => owned.push(order.id),
                            Err(Error::InsufficientFunds { .. } | Error::Conflict(_)) => {}
                            Err(other) => panic!("purchase failed: {other:?}"),
                        }
                    }
                    6..=7 => {
                        if let Some(order) = owned.pop() {
                            let refunded =
                                settled(|| async { shop.admin().refund_order(OWNER, order).await })
                                    .await;
                            assert_eq!(refunded.unwrap().order.status, OrderStatus::Refunded);
                        }
                    }
                    _ => {
                        // The connection read on may be the one killed: read again.
                        let (sum, lowest) = loop {
                            if let Ok(books) = books(store.pool()).await {
                                break books;
                            }
                        };
                        assert_eq!(sum, total, "a read saw money appear or vanish");
                        assert!(lowest >= 0, "a wallet went negative");
                        reads += 1;
                    }
                }
            }
            reads
        });
    }
    let mut reads = 0;
    while let Some(client) = clients.join_next().await {
        reads += client.unwrap();
    }
    done.store(true, Ordering::Relaxed);
    killer.await.unwrap();

    let mut admin = PgConnection::connect(db.url()).await.unwrap();
    let (sum, lowest) = books(&mut admin).await.unwrap();
    assert_eq!(sum, total, "the final books balance");
    assert!(lowest >= 0);
    let entries: i64 = sqlx::query_scalar("SELECT count(*) FROM ledger_entries")
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert!(entries > CLIENTS, "the clients moved money");
    assert!(reads > 100, "the clients read the books ({reads})");
    assert!(kills.load(Ordering::Relaxed) > 0, "connections were killed");
    drop(store);
}
