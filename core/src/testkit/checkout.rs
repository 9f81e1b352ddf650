//! Checkout: a cart becomes an order all or nothing, once per key, and no unit is ever sold
//! twice, however many buyers race for the last one.

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::Barrier;
use tokio::task::JoinSet;

use super::{TestShop, all_ledger, all_orders, charged, key, qty, usd, wallet_request};
use crate::catalog::ProductPatch;
use crate::error::Error;
use crate::ids::UserId;
use crate::order::{CheckoutRequest, Order, OrderStatus};
use crate::ports::Storage;
use crate::services::PayWith;
use crate::stock::StockCounts;
use crate::text::Quantity;
use crate::wallet::{LedgerEntry, LedgerOp};

const RACE_KEYS: usize = 100;
const RACE_BUYERS: usize = 64;
const RACE_LANES: usize = 2;
const RACE_ATTEMPTS: usize = 1000;
const RACE_PRICE: i64 = 100;
const RACE_BUDGET: i64 = 20 * RACE_PRICE;

/// 64 buyers make 1,000 checkout attempts in all for 100 keys. Each buyer runs two lanes at
/// once, so besides running out of stock, a buyer's own other lane changes the cart under a
/// checkout (a `Conflict`); both are expected. Every attempt puts exactly one key in the cart
/// (`set`, so a refused attempt never grows it) and checks out with a fresh key.
///
/// Exactly 100 orders are paid, each key is in exactly one of them, the stock reads 0 available
/// and 100 sold, no wallet goes below zero, and the `Charge` debits add up to the orders' value.
pub async fn oversell_race_sells_every_key_exactly_once(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let product = t.product("Contested key", RACE_PRICE).await;
    let imported: BTreeSet<String> = t
        .keys(product.id, "RACE", RACE_KEYS)
        .await
        .into_iter()
        .collect();
    let mut buyers = Vec::new();
    for i in 0..RACE_BUYERS {
        let buyer = t.customer(1000 + i64::try_from(i).unwrap()).await;
        t.fund(buyer, RACE_BUDGET).await;
        buyers.push(buyer);
    }

    let lanes = RACE_BUYERS * RACE_LANES;
    let barrier = Arc::new(Barrier::new(lanes));
    let mut tasks = JoinSet::new();
    for slot in 0..lanes {
        let buyer = buyers[slot / RACE_LANES];
        let attempts = (slot..RACE_ATTEMPTS).step_by(lanes).count();
        let (t, barrier) = (t.clone(), barrier.clone());
        tasks.spawn(async move {
            barrier.wait().await;
            let mut bought = Vec::new();
            for n in 0..attempts {
                let cart = t
                    .shop
                    .cart()
                    .set(buyer, product.id, Quantity::ONE)
                    .await
                    .unwrap();
                // Not a sleep: a chance for the buyer's other lane (and everyone else) to run
                // between reading the cart and checking it out, as over a network.
                tokio::task::yield_now().await;
                let key = key(&format!("race:{buyer}:{slot}:{n}"));
                match t
                    .shop
                    .checkout()
                    .buy_cart(buyer, cart.version, key, PayWith::Wallet)
                    .await
                {
                    Ok(outcome) => {
                        assert!(!outcome.replayed, "a fresh key is never a replay");
                        bought.push(outcome.order);
                    }
                    Err(Error::OutOfStock { .. } | Error::Conflict(_)) => {}
                    Err(other) => panic!("checkout attempt failed unexpectedly: {other:?}"),
                }
            }
            bought
        });
    }
    let mut bought: Vec<Order> = Vec::new();
    while let Some(done) = tasks.join_next().await {
        bought.extend(done.unwrap());
    }

    let ids: BTreeSet<_> = bought.iter().map(|o| o.id).collect();
    assert_eq!(
        ids.len(),
        bought.len(),
        "two checkouts returned the same order"
    );
    assert_eq!(bought.len(), RACE_KEYS, "paid orders");
    let orders = all_orders(t.store.as_ref()).await;
    let paid: Vec<&Order> = orders
        .iter()
        .filter(|o| o.status == OrderStatus::Paid)
        .collect();
    assert_eq!(paid.len(), RACE_KEYS, "stored paid orders");
    assert_eq!(paid.iter().map(|o| o.id).collect::<BTreeSet<_>>(), ids);
    let mut payloads = Vec::new();
    for order in &paid {
        assert_eq!(order.total, usd(RACE_PRICE), "order {}", order.id);
        assert_eq!(order.lines.len(), 1, "order {}", order.id);
        assert_eq!(order.lines[0].quantity, Quantity::ONE, "order {}", order.id);
        assert_eq!(order.lines[0].units.len(), 1, "order {} units", order.id);
        payloads.extend(
            order.lines[0]
                .units
                .iter()
                .map(|u| u.payload.as_str().to_owned()),
        );
    }
    let distinct: BTreeSet<String> = payloads.iter().cloned().collect();
    assert_eq!(payloads.len(), RACE_KEYS, "delivered units");
    assert_eq!(distinct, imported, "every key sold exactly once");
    let sold_out = StockCounts {
        available: 0,
        reserved: 0,
        sold: 100,
    };
    assert_eq!(t.counts(product.id).await, sold_out);

    let mut all_charges = 0;
    for buyer in buyers {
        let spent: i64 = paid
            .iter()
            .filter(|o| o.user == buyer)
            .map(|o| o.total.minor)
            .sum();
        let wallet = t.balance(buyer).await;
        assert!(
            wallet.available().minor >= 0,
            "{buyer} overdrawn: {wallet:?}"
        );
        assert_eq!(wallet.held, usd(0), "{buyer} held");
        assert_eq!(wallet.balance, usd(RACE_BUDGET - spent), "{buyer} balance");
        let charges = charged(&all_ledger(t.store.as_ref(), buyer).await);
        assert_eq!(charges, spent, "{buyer} charges");
        all_charges += charges;
    }
    assert_eq!(
        all_charges,
        RACE_PRICE * 100,
        "charges equal the orders' value"
    );
}

/// 50 taps on "buy" with one key and one cart version make one order, charged once: exactly one
/// tap is told it made the order, the other 49 that they replayed it. The same key used later
/// for a different cart is a `Conflict` that changes nothing.
pub async fn a_double_clicked_checkout_buys_once(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let product = t.product("Double key", 250).await;
    t.keys(product.id, "DOUBLE", 10).await;
    let buyer = t.customer(10).await;
    t.fund(buyer, 10_000).await;
    let cart = t.shop.cart().add(buyer, product.id, qty(2)).await.unwrap();

    let barrier = Arc::new(Barrier::new(50));
    let mut tasks = JoinSet::new();
    for _ in 0..50 {
        let (t, barrier) = (t.clone(), barrier.clone());
        tasks.spawn(async move {
            barrier.wait().await;
            t.shop
                .checkout()
                .buy_cart(buyer, cart.version, key("double-click"), PayWith::Wallet)
                .await
        });
    }
    let mut orders = Vec::new();
    while let Some(done) = tasks.join_next().await {
        orders.push(done.unwrap().expect("every tap gets the order"));
    }
    let order = orders[0].order.clone();
    assert!(
        orders.iter().all(|o| o.order.id == order.id),
        "one order for all taps"
    );
    let made_now = orders.iter().filter(|o| !o.replayed).count();
    assert_eq!(
        made_now, 1,
        "one tap made the order, the others replayed it"
    );
    assert_eq!(order.status, OrderStatus::Paid);
    assert_eq!(order.total, usd(500));

    let ledger = all_ledger(t.store.as_ref(), buyer).await;
    let charges: Vec<&LedgerEntry> = ledger
        .iter()
        .filter(|e| matches!(e.op, LedgerOp::Charge { .. }))
        .collect();
    assert_eq!(charges.len(), 1, "one charge: {charges:?}");
    assert_eq!(charges[0].key.as_str(), "checkout:double-click");
    assert_eq!(
        charges[0].op,
        LedgerOp::Charge {
            amount: usd(500),
            order: Some(order.id),
            invoice: None
        }
    );
    assert_eq!(t.balance(buyer).await.balance, usd(9_500));
    assert_eq!(t.counts(product.id).await.sold, 2);
    assert_eq!(all_orders(t.store.as_ref()).await.len(), 1);
    let emptied = t.store.cart(buyer).await.unwrap();
    assert!(emptied.is_empty(), "checkout empties the cart: {emptied:?}");
    assert!(emptied.version > cart.version, "emptying bumps the version");

    let other = t.shop.cart().add(buyer, product.id, qty(1)).await.unwrap();
    let before = t.snapshot().await;
    let reused = t
        .shop
        .checkout()
        .buy_cart(buyer, other.version, key("double-click"), PayWith::Wallet)
        .await;
    assert!(matches!(reused, Err(Error::Conflict(_))), "{reused:?}");
    let request = wallet_request(&t, &other, std::slice::from_ref(&product), "double-click");
    let reused = t.store.commit_checkout(request).await;
    assert!(
        matches!(reused, Err(Error::Conflict(_))),
        "at the store: {reused:?}"
    );
    assert_eq!(t.snapshot().await, before, "a reused key changed something");
}

/// The same checkout request committed 20 times at once, straight at the store, makes one
/// order: every call returns it, exactly one says it made it (the other 19 are replays), one
/// `Charge` is posted and one unit sold. A later repeat is a replay too.
pub async fn a_repeated_checkout_request_returns_the_recorded_order(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let product = t.product("Repeated key", 250).await;
    t.keys(product.id, "REPEAT", 5).await;
    let buyer = t.customer(10).await;
    t.fund(buyer, 1_000).await;
    let cart = t.shop.cart().add(buyer, product.id, qty(1)).await.unwrap();
    let request = wallet_request(&t, &cart, std::slice::from_ref(&product), "retry");

    let barrier = Arc::new(Barrier::new(20));
    let mut tasks = JoinSet::new();
    for _ in 0..20 {
        let (store, barrier, request) = (t.store.clone(), barrier.clone(), request.clone());
        tasks.spawn(async move {
            barrier.wait().await;
            store.commit_checkout(request).await
        });
    }
    let mut orders = Vec::new();
    let mut made_now = 0;
    while let Some(done) = tasks.join_next().await {
        let outcome = done.unwrap().expect("a repeat returns the recorded order");
        made_now += usize::from(!outcome.replayed);
        orders.push(outcome.order);
    }
    assert!(orders.iter().all(|o| *o == orders[0]), "one order for all");
    assert_eq!(made_now, 1, "one call made the order: {made_now}");
    let found = t.store.checkout_by_key(buyer, key("retry")).await.unwrap();
    assert_eq!(found.as_ref(), Some(&orders[0]));
    let later = t.store.commit_checkout(request).await.unwrap();
    assert!(later.replayed, "a later repeat is a replay");
    assert_eq!(later.order, orders[0]);
    let ledger = all_ledger(t.store.as_ref(), buyer).await;
    assert_eq!(charged(&ledger), 250, "charged once");
    assert_eq!(t.balance(buyer).await.balance, usd(750));
    assert_eq!(t.counts(product.id).await.sold, 1);
}

/// The store re-plans a checkout under its lock: a price changed after the buyer confirmed is
/// a `Conflict` that changes nothing, and the very same request goes through once the price is
/// back.
pub async fn a_price_change_after_planning_conflicts_at_commit(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let product = t.product("Repriced key", 400).await;
    t.keys(product.id, "PRICE", 5).await;
    let buyer = t.customer(10).await;
    t.fund(buyer, 5_000).await;
    let cart = t.shop.cart().add(buyer, product.id, qty(1)).await.unwrap();
    let request = wallet_request(&t, &cart, std::slice::from_ref(&product), "price-1");

    let reprice = |minor| ProductPatch {
        price: Some(usd(minor)),
        ..ProductPatch::default()
    };
    let admin = t.shop.admin();
    admin
        .update_product(super::OWNER, product.id, reprice(450))
        .await
        .unwrap();
    let before = t.snapshot().await;
    let refused = t.store.commit_checkout(request.clone()).await;
    assert!(matches!(refused, Err(Error::Conflict(_))), "{refused:?}");
    assert_eq!(
        t.snapshot().await,
        before,
        "a repriced checkout changed something"
    );

    admin
        .update_product(super::OWNER, product.id, reprice(400))
        .await
        .unwrap();
    let order = t
        .store
        .commit_checkout(CheckoutRequest {
            key: key("price-2"),
            ..request
        })
        .await
        .unwrap()
        .order;
    assert_eq!(order.total, usd(400));
    assert_eq!(t.balance(buyer).await.balance, usd(4_600));
}

/// Asking for more units than are available is `OutOfStock` naming the product and both
/// counts, and changes nothing.
pub async fn buying_more_than_is_in_stock_is_out_of_stock_and_changes_nothing(
    store: Arc<dyn Storage>,
) {
    let t = TestShop::new(store).await;
    let product = t.product("Scarce key", 100).await;
    t.keys(product.id, "SCARCE", 2).await;
    let buyer = t.customer(10).await;
    t.fund(buyer, 1_000).await;
    let cart = t.shop.cart().add(buyer, product.id, qty(3)).await.unwrap();
    let before = t.snapshot().await;
    let result = t
        .shop
        .checkout()
        .buy_cart(buyer, cart.version, key("too-many"), PayWith::Wallet)
        .await;
    match result {
        Err(Error::OutOfStock {
            product: p,
            requested: 3,
            available: 2,
        }) if p == product.id => {}
        other => panic!("expected OutOfStock for 3 of 2, got {other:?}"),
    }
    assert_eq!(
        t.snapshot().await,
        before,
        "an out-of-stock checkout changed something"
    );
}

/// A wallet that cannot pay the total is `InsufficientFunds` with both amounts, and the units,
/// the cart and the wallet stay as they were.
pub async fn a_short_wallet_is_insufficient_funds_and_changes_nothing(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let product = t.product("Dear key", 700).await;
    t.keys(product.id, "DEAR", 3).await;
    let buyer = t.customer(10).await;
    t.fund(buyer, 1_000).await;
    let cart = t.shop.cart().add(buyer, product.id, qty(2)).await.unwrap();
    let before = t.snapshot().await;
    let result = t
        .shop
        .checkout()
        .buy_cart(buyer, cart.version, key("short"), PayWith::Wallet)
        .await;
    match result {
        Err(Error::InsufficientFunds { needed, available })
            if needed == usd(1_400) && available == usd(1_000) => {}
        other => panic!("expected InsufficientFunds 14.00 / 10.00, got {other:?}"),
    }
    assert_eq!(
        t.snapshot().await,
        before,
        "a refused checkout changed something"
    );
}

/// Idempotency keys are per buyer: two buyers using the same key get an order each, and each
/// finds only their own by key.
pub async fn checkout_keys_belong_to_one_buyer(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let product = t.product("Shared key", 100).await;
    t.keys(product.id, "SHARED", 4).await;
    let mut orders = Vec::new();
    for id in [10, 11] {
        let buyer = t.customer(id).await;
        t.fund(buyer, 1_000).await;
        let cart = t.shop.cart().add(buyer, product.id, qty(1)).await.unwrap();
        let order = t
            .shop
            .checkout()
            .buy_cart(buyer, cart.version, key("same-key"), PayWith::Wallet)
            .await
            .unwrap()
            .order;
        assert_eq!(order.user, buyer);
        orders.push(order);
    }
    assert_ne!(orders[0].id, orders[1].id);
    for order in &orders {
        let found = t
            .store
            .checkout_by_key(order.user, key("same-key"))
            .await
            .unwrap();
        assert_eq!(found.as_ref().map(|o| o.id), Some(order.id));
        assert_eq!(t.store.order(order.id).await.unwrap().as_ref(), Some(order));
    }
    let stranger = t
        .store
        .checkout_by_key(UserId(12), key("same-key"))
        .await
        .unwrap();
    assert_eq!(stranger, None);
    assert_eq!(t.counts(product.id).await.sold, 2);
}
