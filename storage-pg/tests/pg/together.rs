//! A group of purchase commands runs together (`shop_run_together`, in the migration's group
//! runner section): a fixed number of set-based statements for the whole group, or an
//! exception and nothing done, after which `shop_run` runs the group one command at a time.

#![allow(clippy::unwrap_used)] // Tests fail by panicking.

use std::sync::Arc;

use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{Connection, Row};

use shopbot_core::cart::{Cart, CartEdit, CartLine};
use shopbot_core::ids::{OrderId, ProductId, UserId};
use shopbot_core::order::{CheckoutRequest, Order};
use shopbot_core::ports::{Page, Storage};
use shopbot_core::testkit::{Snapshot, TestShop, buy_now_request, charged, qty, wallet_request};
use shopbot_storage_pg::PgStore;
use shopbot_storage_pg::testing::{Command, CommitCheckout, EditCart, TestDatabase};

use crate::support;

const PRICE: i64 = 700;

/// A cart edit as `shop_run` takes it.
fn add(user: UserId, product: ProductId) -> Command {
    let edit = CartEdit::Add {
        product,
        quantity: qty(1),
    };
    EditCart::new(user, &edit).unwrap().into()
}

/// A checkout of `request` as `shop_run` takes it, claiming from each product's first unit.
fn checkout(request: &CheckoutRequest) -> Command {
    let from_first = vec![None; request.lines.len()];
    CommitCheckout::new(request, from_first).unwrap().into()
}

/// A shop with a product of `keys` units and `funded` buyers who can pay for one, then
/// `broke` who cannot.
async fn shop(
    keys: usize,
    funded: i64,
    broke: i64,
) -> Option<(Arc<PgStore>, TestShop, ProductId, Vec<UserId>, TestDatabase)> {
    let (store, db) = support::store().await?;
    let t = TestShop::new(store.clone()).await;
    let product = t.product("Together key", PRICE).await.id;
    if keys > 0 {
        t.keys(product, "TOGETHER", keys).await;
    }
    let mut buyers = Vec::new();
    for n in 0..funded + broke {
        let buyer = t.customer(300 + n).await;
        if n < funded {
            t.fund(buyer, PRICE).await;
        }
        buyers.push(buyer);
    }
    Some((store, t, product, buyers, db))
}

/// The checkout requests of `buyers`' carts as they stand.
async fn requests(store: &PgStore, t: &TestShop, buyers: &[UserId]) -> Vec<CheckoutRequest> {
    let mut requests = Vec::new();
    for buyer in buyers {
        let (cart, products) = store.cart_with_products(*buyer).await.unwrap();
        requests.push(wallet_request(t, &cart, &products, "together"));
    }
    requests
}

/// The order `request` recorded, which `row` of the group's answer names.
async fn recorded(store: &PgStore, request: &CheckoutRequest, row: &PgRow) -> Order {
    let order = store
        .checkout_by_key(request.user, request.key.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(order.id, OrderId(row.get("order_id")));
    order
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_and_checkouts_of_different_buyers_run_together_and_sell_each_a_key() {
    let Some((store, t, product, buyers, _db)) = shop(5, 3, 0).await else {
        return;
    };
    let edits: Vec<Command> = buyers.iter().map(|b| add(*b, product)).collect();
    let rows = sqlx::query("SELECT n, version, lines FROM shop_run_together($1) ORDER BY n")
        .bind(Json(&edits))
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(rows.len(), buyers.len());
    for (row, buyer) in rows.iter().zip(&buyers) {
        let cart = store.cart(*buyer).await.unwrap();
        let Json(lines): Json<Vec<CartLine>> = row.get("lines");
        assert_eq!((row.get::<i64, _>("version"), &lines), (1, &cart.lines));
        assert_eq!(cart.version, 1);
        assert_eq!(
            cart.lines.first().map(|l| (l.product, l.quantity)),
            Some((product, qty(1)))
        );
    }

    let requests = requests(&store, &t, &buyers).await;
    let checkouts: Vec<Command> = requests.iter().map(checkout).collect();
    let rows = sqlx::query("SELECT n, order_id, unit_ids FROM shop_run_together($1) ORDER BY n")
        .bind(Json(&checkouts))
        .fetch_all(store.pool())
        .await
        .unwrap();

    let mut sold = Vec::new();
    for (row, request) in rows.iter().zip(&requests) {
        let order = recorded(&store, request, row).await;
        assert_eq!(order.total, request.total);
        let units: Vec<i64> = row.get("unit_ids");
        let held: Vec<i64> = order
            .lines
            .iter()
            .flat_map(|l| &l.units)
            .map(|u| u.unit.0)
            .collect();
        assert_eq!((units.len(), &held), (1, &units));
        sold.extend(units);
        assert!(store.cart(request.user).await.unwrap().lines.is_empty());
        assert_eq!(t.balance(request.user).await.available().minor, 0);
        let ledger = store.ledger(request.user, Page::first(100)).await.unwrap();
        assert_eq!(charged(&ledger), PRICE);
    }
    sold.sort_unstable();
    sold.dedup();
    assert_eq!(sold.len(), buyers.len(), "no unit is sold twice");
    let counts = t.counts(product).await;
    assert_eq!((counts.sold, counts.available), (3, 2));
    assert_eq!(store.check().await.unwrap(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_with_a_buyer_who_cannot_pay_changes_nothing_together_then_runs_one_by_one() {
    let Some((store, t, product, buyers, _db)) = shop(5, 1, 1).await else {
        return;
    };
    for buyer in &buyers {
        t.shop.cart().add(*buyer, product, qty(1)).await.unwrap();
    }
    let requests = requests(&store, &t, &buyers).await;
    let group: Vec<Command> = requests.iter().map(checkout).collect();
    let before = Snapshot::take(store.as_ref()).await;

    let together = sqlx::query("SELECT * FROM shop_run_together($1)")
        .bind(Json(&group))
        .fetch_all(store.pool())
        .await;
    let refused = together.unwrap_err();
    let code = refused.as_database_error().and_then(|e| e.code());
    assert_eq!(code.as_deref(), Some("SB100"), "{refused}");
    assert_eq!(Snapshot::take(store.as_ref()).await, before);

    let rows = sqlx::query("SELECT code FROM shop_run($1)")
        .bind(Json(&group))
        .fetch_all(store.pool())
        .await
        .unwrap();
    let codes: Vec<Option<String>> = rows.iter().map(|r| r.get("code")).collect();
    assert_eq!(codes, [None, Some("SB002".to_owned())]);
    let counts = t.counts(product).await;
    assert_eq!((counts.sold, counts.available), (1, 4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purchases_bought_at_once_run_together_beside_cart_checkouts_and_leave_carts_alone() {
    let Some((store, t, product, buyers, _db)) = shop(6, 4, 0).await else {
        return;
    };
    // Two buy their carts; the third has a cart but buys at once; the fourth never had one.
    for buyer in &buyers[..3] {
        t.shop.cart().add(*buyer, product, qty(1)).await.unwrap();
    }
    let mut requests = requests(&store, &t, &buyers[..2]).await;
    let kept = store.cart(buyers[2]).await.unwrap();
    let listed = store.product(product).await.unwrap().unwrap();
    for buyer in &buyers[2..] {
        requests.push(buy_now_request(&t, *buyer, &listed, 1, "at-once"));
    }
    let group: Vec<Command> = requests.iter().map(checkout).collect();
    // `shop_run_together` raises rather than fall back, so rows mean the group ran together.
    let rows = sqlx::query("SELECT n, order_id, unit_ids FROM shop_run_together($1) ORDER BY n")
        .bind(Json(&group))
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(rows.len(), requests.len());

    let mut sold = Vec::new();
    for (row, request) in rows.iter().zip(&requests) {
        let order = recorded(&store, request, row).await;
        assert_eq!(order.cart_version, request.cart_version);
        sold.extend(row.get::<Vec<i64>, _>("unit_ids"));
    }
    sold.sort_unstable();
    sold.dedup();
    assert_eq!(sold.len(), buyers.len(), "no unit is sold twice");
    for buyer in &buyers[..2] {
        assert!(store.cart(*buyer).await.unwrap().is_empty(), "cart bought");
    }
    assert_eq!(
        store.cart(buyers[2]).await.unwrap(),
        kept,
        "cart left alone"
    );
    assert_eq!(store.cart(buyers[3]).await.unwrap(), Cart::empty(buyers[3]));
    let counts = t.counts(product).await;
    assert_eq!((counts.sold, counts.available), (4, 2));
    assert_eq!(store.check().await.unwrap(), Vec::<String>::new());
}

/// The buffers one group of commands reads and writes, run on a session of its own (so with
/// a plan made from the statistics as they are now) and rolled back: the fewest of three runs
/// after a first. The first run marks the index entries of rows no one sees any more as dead,
/// for the later runs to skip. Any run can read more than its commands need: while the tests
/// running beside it change their own schemas, the server can reset this session's catalog
/// caches and cached plans, and rebuilding them reads catalog blocks, which count too (one run
/// of an otherwise green suite read 423 blocks where runs alone read 170).
async fn buffers_of(url: &str, group: &[Command]) -> u64 {
    let mut session = sqlx::PgConnection::connect(url).await.unwrap();
    let mut fewest = u64::MAX;
    for run in 0..4 {
        let mut tx = session.begin().await.unwrap();
        let Json(plan): Json<Value> = sqlx::query_scalar(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT * FROM shop_run_together($1)",
        )
        .bind(Json(group))
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        tx.rollback().await.unwrap();
        let blocks = ["Hit", "Read"]
            .iter()
            .map(|k| plan.pointer(&format!("/0/Plan/Shared {k} Blocks")))
            .map(|n| n.and_then(Value::as_u64).unwrap())
            .sum();
        if run > 0 {
            fewest = fewest.min(blocks);
        }
    }
    fewest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claiming_units_reads_the_free_ones_only_however_many_were_sold_before_them() {
    let Some((store, t, product, buyers, db)) = shop(1, 1, 0).await else {
        return;
    };
    // 300,000 units, the 20,000 oldest of them sold after the statistics were taken, when all
    // were free. A claim that walked units in id order, filtering for free ones, would read
    // every sold unit on every checkout (27,835 blocks, measured with a plain `product_id = …`
    // claim; see `shop_commit_checkout`).
    history(
        &store,
        product,
        buyers[0],
        &[
            "INSERT INTO stock_units (product_id, payload, state, added_at) \
             SELECT $1, 'K' || g, 'available', now() FROM generate_series(1, 300000) g",
            "ANALYZE stock_units",
            "UPDATE stock_units SET state = 'sold', order_id = $2 WHERE id IN \
             (SELECT id FROM stock_units WHERE product_id = $1 ORDER BY id LIMIT 20000)",
        ],
    )
    .await;

    let listed = store.product(product).await.unwrap().unwrap();
    let request = buy_now_request(&t, buyers[0], &listed, 1, "history-buy");
    let blocks = buffers_of(db.url(), &[checkout(&request)]).await;
    // Alone it reads about 170; on a busy server, rebuilding the session's catalog caches can
    // add a few hundred more (see `buffers_of`). Either is far from a walk over the sold units.
    assert!(blocks < 1_000, "one checkout read or wrote {blocks} blocks");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_that_starts_after_the_newest_unit_sold_does_not_read_the_units_sold_before() {
    let Some((store, t, product, buyers, db)) = shop(0, 2, 0).await else {
        return;
    };
    // 60,000 units sold and not vacuumed: their entries stay in the index of free units, some
    // 230 blocks of them.
    history(
        &store,
        product,
        buyers[0],
        &[
            "INSERT INTO stock_units (product_id, payload, state, added_at) \
             SELECT $1, 'S' || g, 'available', now() FROM generate_series(1, 60000) g",
            "UPDATE stock_units SET state = 'sold', order_id = $2 WHERE product_id = $1",
            "INSERT INTO stock_units (product_id, payload, state, added_at) \
             SELECT $1, 'F' || g, 'available', now() FROM generate_series(1, 100) g",
        ],
    )
    .await;
    let listed = store.product(product).await.unwrap().unwrap();
    let first = store
        .commit_checkout(buy_now_request(&t, buyers[0], &listed, 1, "learns"))
        .await
        .unwrap()
        .order;
    let newest = first.lines[0].units[0].unit.0;

    let next = checkout(&buy_now_request(&t, buyers[1], &listed, 1, "next"));
    let from_first_unit = buffers_of(db.url(), std::slice::from_ref(&next)).await;
    let from_newest_sold = buffers_of(db.url(), &[starting_after(next, newest)]).await;
    assert!(
        from_newest_sold * 2 < from_first_unit,
        "from the newest unit sold: {from_newest_sold} blocks, from the first: {from_first_unit}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_freed_below_where_claims_start_is_sold_once_the_units_above_it_are_gone() {
    let Some((store, t, product, buyers, _db)) = shop(0, 3, 0).await else {
        return;
    };
    // The oldest unit is held by an order awaiting payment; the two newer ones are free.
    let order = history_order(&store, buyers[0]).await;
    let held: i64 = sqlx::query_scalar(
        "INSERT INTO stock_units (product_id, payload, state, order_id, added_at) \
         VALUES ($1, 'HELD', 'reserved', $2, now()) RETURNING id",
    )
    .bind(product.0)
    .bind(order)
    .fetch_one(store.pool())
    .await
    .unwrap();
    t.keys(product, "NEWER", 2).await;
    let listed = store.product(product).await.unwrap().unwrap();
    let unit_bought_by = |n: usize, key: &'static str| {
        let request = buy_now_request(&t, buyers[n], &listed, 1, key);
        let store = store.clone();
        async move {
            let order = store.commit_checkout(request).await.unwrap().order;
            order.lines[0].units[0].unit.0
        }
    };
    let first_newer = unit_bought_by(0, "first").await;
    assert!(first_newer > held);

    // Released, as an expired invoice releases its units: free, below where claims start.
    sqlx::query("UPDATE stock_units SET state = 'available', order_id = NULL WHERE id = $1")
        .bind(held)
        .execute(store.pool())
        .await
        .unwrap();
    // The store's claims start after the unit it sold: the newer unit goes first (a store
    // claiming from the first unit would sell the released one here)...
    assert!(unit_bought_by(1, "second").await > first_newer);
    // ...and the released one once none is left above, by the claim from the first unit.
    assert_eq!(unit_bought_by(2, "third").await, held);
    let counts = t.counts(product).await;
    assert_eq!((counts.sold, counts.available), (3, 0));
}

/// Writes `statements` of the shop's history straight into its tables. Each takes `product`
/// as $1 and an order of `buyer`'s standing for the history as $2, or neither.
async fn history(store: &PgStore, product: ProductId, buyer: UserId, statements: &[&str]) {
    let order = history_order(store, buyer).await;
    for statement in statements {
        sqlx::query(statement)
            .bind(product.0)
            .bind(order)
            .execute(store.pool())
            .await
            .unwrap();
    }
}

/// An order of `buyer`'s that stands for the shop's history, for units sold or held before.
async fn history_order(store: &PgStore, buyer: UserId) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO orders (user_id, idem_key, fingerprint, total_minor, currency, status, \
         created_at) VALUES ($1, 'history', 'history', 0, 'USD', 'paid', now()) RETURNING id",
    )
    .bind(buyer.0)
    .fetch_one(store.pool())
    .await
    .unwrap()
}

/// `command` with its one line's claim starting after unit `newest`.
fn starting_after(mut command: Command, newest: i64) -> Command {
    if let Command::CommitCheckout(checkout) = &mut command {
        checkout.free_after = vec![Some(newest)];
    }
    command
}
