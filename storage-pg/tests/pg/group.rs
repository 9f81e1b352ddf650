//! Group commit: the purchase commands of concurrent buyers share one round trip and one
//! commit, yet each stays atomic on its own. A refused command rolls back alone; the rest of
//! its group commits.

#![allow(clippy::unwrap_used)] // Tests fail by panicking.

use std::sync::Arc;

use tokio::sync::Barrier;

use shopbot_core::Error;
use shopbot_core::money::Currency;
use shopbot_core::ports::Storage;
use shopbot_core::services::PayWith;
use shopbot_core::testkit::{TestShop, key, qty, usd};
use shopbot_storage_pg::{PgOptions, PurchasePath};

use crate::support;

const BUYERS: i64 = 32;
const PRICE: i64 = 500;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_checkout_rolls_back_alone_and_the_rest_of_its_group_commits() {
    // One lane: while it runs a group, every other buyer's command waits for the next one.
    let options = PgOptions {
        max_connections: 8,
        purchases: PurchasePath::Lanes(1),
        ..PgOptions::default()
    };
    let Some((store, _db)) = support::store_with(options).await else {
        return;
    };
    let t = TestShop::new(store.clone()).await;
    let product = t.product("Grouped key", PRICE).await;
    t.keys(product.id, "GROUP", 40).await;
    let mut buyers = Vec::new();
    for n in 0..BUYERS {
        let buyer = t.customer(100 + n).await;
        // Every other buyer can pay; the rest are refused at checkout.
        if n % 2 == 0 {
            t.fund(buyer, PRICE).await;
        }
        buyers.push((buyer, n % 2 == 0));
    }

    let start = Arc::new(Barrier::new(buyers.len()));
    let mut tasks = Vec::new();
    for (buyer, funded) in buyers.clone() {
        let (t, start) = (t.clone(), start.clone());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let cart = t.shop.cart().add(buyer, product.id, qty(1)).await.unwrap();
            start.wait().await;
            let bought = t
                .shop
                .checkout()
                .buy_cart(buyer, cart.version, key("grouped"), PayWith::Wallet)
                .await;
            (buyer, funded, cart, bought)
        }));
    }
    for task in tasks {
        let (buyer, funded, cart, bought) = task.await.unwrap();
        let after = store.cart(buyer).await.unwrap();
        let balance = store.balance(buyer, Currency::USD).await.unwrap().balance;
        if funded {
            let order = bought.unwrap().order;
            assert_eq!(order.lines.first().map(|l| l.units.len()), Some(1));
            assert!(after.lines.is_empty(), "a bought cart is emptied");
            assert_eq!(balance, usd(0));
        } else {
            match bought {
                Err(Error::InsufficientFunds { needed, available })
                    if needed == usd(PRICE) && available == usd(0) => {}
                other => panic!("expected InsufficientFunds for {buyer}, got {other:?}"),
            }
            assert_eq!(after, cart, "a refused checkout leaves the cart as it was");
            assert_eq!(balance, usd(0));
            assert!(
                store
                    .checkout_by_key(buyer, key("grouped"))
                    .await
                    .unwrap()
                    .is_none(),
                "a refused checkout records no order"
            );
        }
    }
    let counts = store.stock_counts(product.id).await.unwrap();
    let funded = u64::try_from(BUYERS / 2).unwrap();
    assert_eq!((counts.sold, counts.reserved), (funded, 0));
    assert_eq!(counts.available, 40 - funded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lane_sends_its_groups_and_reads_down_the_connection_it_keeps() {
    let options = PgOptions {
        max_connections: 16,
        purchases: PurchasePath::Lanes(1),
        ..PgOptions::default()
    };
    let Some((store, _db)) = support::store_with(options).await else {
        return;
    };
    let t = TestShop::new(store.clone()).await;
    let product = t.product("Kept key", PRICE).await;
    t.keys(product.id, "KEPT", 20).await;
    let buyer = t.customer(100).await;
    t.fund(buyer, 20 * PRICE).await;
    // Twelve connections idle in the pool: one handed out per batch would rotate through them.
    let mut taken = Vec::new();
    for _ in 0..12 {
        taken.push(store.pool().acquire().await.unwrap());
    }
    drop(taken);

    for _ in 0..20 {
        t.buy(buyer, product.id, 1).await;
    }

    // Which server processes last ran each kind of lane's statement.
    let ran = |statement: &'static str| {
        let store = store.clone();
        async move {
            let backends: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity
                  WHERE datname = current_database() AND query LIKE '%' || $1 || '%'
                    AND pid <> pg_backend_pid()",
            )
            .bind(statement)
            .fetch_one(store.pool())
            .await
            .unwrap();
            backends
        }
    };
    // A lane gives its connection back only after sitting idle for half a second; a stall that
    // long on a busy machine may make it take one more.
    for statement in [
        "shop_run(",
        "LEFT JOIN carts",
        "LEFT JOIN products p ON p.id = $2",
    ] {
        let backends = ran(statement).await;
        assert!(
            (1..=2).contains(&backends),
            "{backends} server processes ran `{statement}` for one buyer's purchases"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn closing_the_store_stops_its_lanes_and_closes_the_connections_they_kept() {
    let options = PgOptions {
        purchases: PurchasePath::Lanes(1),
        ..PgOptions::default()
    };
    let Some((store, _db)) = support::store_with(options).await else {
        return;
    };
    let t = TestShop::new(store.clone()).await;
    let product = t.product("Last key", PRICE).await;
    t.keys(product.id, "LAST", 2).await;
    let buyer = t.customer(100).await;
    t.fund(buyer, 2 * PRICE).await;
    // The purchase leaves each lane keeping a connection.
    t.buy(buyer, product.id, 1).await;

    store.close().await;
    // The pool counts a connection down when its close finishes, which can come just after
    // `close` returns on a loaded machine: look until the count settles, within a deadline.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.pool().size() != 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(store.pool().size(), 0, "every connection is closed");
    let after = t.shop.cart().add(buyer, product.id, qty(1)).await;
    assert!(after.is_err(), "a closed store answers with an error");
}
