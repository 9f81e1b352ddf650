//! Buying at once ("buy now"): one product bought straight from its page, as one command, with
//! the same guarantees as a cart checkout (once per key, never a unit twice, all or nothing)
//! and the cart left exactly as it was.

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::Barrier;
use tokio::task::JoinSet;

use super::{TestShop, all_ledger, all_orders, buy_now_request, charged, claim_all, key, qty, usd};
use crate::cart::Cart;
use crate::catalog::ProductPatch;
use crate::error::Error;
use crate::order::{CheckoutRequest, Order, OrderStatus, PlannedLine};
use crate::outbox::OutboxBody;
use crate::ports::Storage;
use crate::services::PayWith;

/// A wallet "buy now" sells the units, charges the wallet, queues the delivery and records no
/// cart version; the buyer's cart (lines and version) is untouched and can still be checked
/// out. By invoice, the units are reserved. A buyer who never had a cart still has none.
pub async fn buying_now_sells_at_once_and_leaves_the_cart_alone(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let now_product = t.product("Instant key", 300).await;
    let payloads: BTreeSet<String> = t.keys(now_product.id, "NOW", 5).await.into_iter().collect();
    let cart_product = t.product("Cart key", 100).await;
    t.keys(cart_product.id, "CART", 3).await;
    let buyer = t.customer(10).await;
    t.fund(buyer, 2_000).await;
    let cart = t
        .shop
        .cart()
        .add(buyer, cart_product.id, qty(1))
        .await
        .unwrap();

    let checkout = t.shop.checkout();
    let order = checkout
        .buy_now(buyer, now_product.id, qty(2), key("now-1"), PayWith::Wallet)
        .await
        .unwrap()
        .order;
    assert_eq!(order.status, OrderStatus::Paid);
    assert_eq!(order.cart_version, None);
    assert_eq!(order.total, usd(600));
    assert_eq!(order.lines.len(), 1);
    assert_eq!(order.lines[0].product, now_product.id);
    assert_eq!(order.lines[0].quantity, qty(2));
    let sold: BTreeSet<String> = order.lines[0]
        .units
        .iter()
        .map(|u| u.payload.as_str().to_owned())
        .collect();
    assert_eq!(sold.len(), 2, "two distinct units: {sold:?}");
    assert!(sold.is_subset(&payloads), "units of the product: {sold:?}");
    assert_eq!(
        t.store.order(order.id).await.unwrap().as_ref(),
        Some(&order)
    );
    assert_eq!(t.balance(buyer).await.balance, usd(1_400));
    assert_eq!(t.counts(now_product.id).await.sold, 2);
    assert_eq!(
        t.store.cart(buyer).await.unwrap(),
        cart,
        "buying now left the cart alone"
    );
    let messages = claim_all(t.store.as_ref(), t.now()).await;
    assert!(
        messages
            .iter()
            .any(|m| m.body == OutboxBody::OrderDelivered { order: order.id }),
        "a delivery is queued: {messages:?}"
    );

    let from_cart = checkout
        .buy_cart(buyer, cart.version, key("cart-1"), PayWith::Wallet)
        .await
        .unwrap()
        .order;
    assert_eq!(from_cart.cart_version, Some(cart.version));
    assert_eq!(from_cart.lines[0].product, cart_product.id);

    let by_invoice = checkout
        .buy_now(
            buyer,
            now_product.id,
            qty(1),
            key("now-2"),
            PayWith::Invoice,
        )
        .await
        .unwrap()
        .order;
    assert_eq!(by_invoice.status, OrderStatus::AwaitingPayment);
    let counts = t.counts(now_product.id).await;
    assert_eq!((counts.sold, counts.reserved), (2, 1), "{counts:?}");

    let newcomer = t.customer(11).await;
    t.fund(newcomer, 300).await;
    checkout
        .buy_now(
            newcomer,
            now_product.id,
            qty(1),
            key("now-3"),
            PayWith::Wallet,
        )
        .await
        .unwrap();
    assert_eq!(t.store.cart(newcomer).await.unwrap(), Cart::empty(newcomer));
}

/// 30 taps on one "buy now" with one key make one order, charged once. A repeat still gets
/// that order after the product was repriced or hidden; the key used for another purchase is a
/// `Conflict` that changes nothing.
pub async fn a_double_tapped_buy_now_buys_once(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let product = t.product("Tapped key", 250).await;
    t.keys(product.id, "TAP", 10).await;
    let buyer = t.customer(10).await;
    t.fund(buyer, 10_000).await;

    let barrier = Arc::new(Barrier::new(30));
    let mut tasks = JoinSet::new();
    for _ in 0..30 {
        let (t, barrier) = (t.clone(), barrier.clone());
        tasks.spawn(async move {
            barrier.wait().await;
            t.shop
                .checkout()
                .buy_now(buyer, product.id, qty(2), key("tap"), PayWith::Wallet)
                .await
        });
    }
    let mut orders: Vec<Order> = Vec::new();
    let mut made_now = 0;
    while let Some(done) = tasks.join_next().await {
        let outcome = done.unwrap().expect("every tap gets the order");
        made_now += usize::from(!outcome.replayed);
        orders.push(outcome.order);
    }
    assert!(orders.iter().all(|o| o.id == orders[0].id), "one order");
    assert_eq!(
        made_now, 1,
        "one tap made the order, the others replayed it"
    );
    assert_eq!(all_orders(t.store.as_ref()).await.len(), 1);
    assert_eq!(charged(&all_ledger(t.store.as_ref(), buyer).await), 500);
    assert_eq!(t.counts(product.id).await.sold, 2);

    let checkout = t.shop.checkout();
    let before = t.snapshot().await;
    let reused = checkout
        .buy_now(buyer, product.id, qty(1), key("tap"), PayWith::Wallet)
        .await;
    assert!(matches!(reused, Err(Error::Conflict(_))), "{reused:?}");
    assert_eq!(t.snapshot().await, before, "a reused key changed something");

    let admin = t.shop.admin();
    let repriced = ProductPatch {
        price: Some(usd(999)),
        ..ProductPatch::default()
    };
    admin
        .update_product(super::OWNER, product.id, repriced)
        .await
        .unwrap();
    let again = checkout
        .buy_now(buyer, product.id, qty(2), key("tap"), PayWith::Wallet)
        .await;
    assert_eq!(
        again.map(|o| (o.order.id, o.replayed)).ok(),
        Some((orders[0].id, true)),
        "after a new price"
    );
    let hidden = ProductPatch {
        hidden: Some(true),
        ..ProductPatch::default()
    };
    admin
        .update_product(super::OWNER, product.id, hidden)
        .await
        .unwrap();
    let again = checkout
        .buy_now(buyer, product.id, qty(2), key("tap"), PayWith::Wallet)
        .await;
    assert_eq!(
        again.map(|o| (o.order.id, o.replayed)).ok(),
        Some((orders[0].id, true)),
        "once hidden"
    );
    assert_eq!(charged(&all_ledger(t.store.as_ref(), buyer).await), 500);
}

const LAST_KEYS: usize = 12;
const RACERS: usize = 48;

/// 48 buyers race for 12 keys, half buying now and half through their carts, all at once:
/// exactly 12 orders are paid, no key is sold twice, everyone else is told `OutOfStock`, and
/// the stock reads 0 available, 12 sold.
pub async fn buying_now_races_carts_for_the_last_keys_and_sells_each_once(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let product = t.product("Last key", 100).await;
    let imported: BTreeSet<String> = t
        .keys(product.id, "LAST", LAST_KEYS)
        .await
        .into_iter()
        .collect();
    let barrier = Arc::new(Barrier::new(RACERS));
    let mut tasks = JoinSet::new();
    for i in 0..RACERS {
        let buyer = t.customer(1000 + i64::try_from(i).unwrap()).await;
        t.fund(buyer, 100).await;
        let (t, barrier) = (t.clone(), barrier.clone());
        tasks.spawn(async move {
            let key = key(&format!("race:{buyer}"));
            let checkout = t.shop.checkout();
            barrier.wait().await;
            if i % 2 == 0 {
                checkout
                    .buy_now(buyer, product.id, qty(1), key, PayWith::Wallet)
                    .await
            } else {
                let cart = t.shop.cart().add(buyer, product.id, qty(1)).await.unwrap();
                checkout
                    .buy_cart(buyer, cart.version, key, PayWith::Wallet)
                    .await
            }
        });
    }
    let mut sold = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done.unwrap() {
            Ok(bought) => {
                assert!(!bought.replayed, "a first purchase is never a replay");
                let units = &bought.order.lines[0].units;
                sold.extend(units.iter().map(|u| u.payload.clone()));
            }
            Err(Error::OutOfStock { .. }) => {}
            Err(other) => panic!("a racer failed unexpectedly: {other:?}"),
        }
    }
    let distinct: BTreeSet<String> = sold.iter().map(|p| p.as_str().to_owned()).collect();
    assert_eq!(sold.len(), LAST_KEYS, "every key sold once: {sold:?}");
    assert_eq!(distinct, imported, "each key exactly once");
    let counts = t.counts(product.id).await;
    assert_eq!((counts.available, counts.sold), (0, LAST_KEYS as u64));
    assert_eq!(all_orders(t.store.as_ref()).await.len(), LAST_KEYS);
}

/// A "buy now" that cannot go through changes nothing: a hidden or unknown product is
/// `NotFound`, too few units `OutOfStock`, a short wallet `InsufficientFunds`; straight at the
/// store, lines whose price moved are a `Conflict`, one product named twice for more than its
/// stock is `OutOfStock`, and no lines at all are refused.
pub async fn a_refused_buy_now_changes_nothing(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let product = t.product("Guarded key", 700).await;
    t.keys(product.id, "GUARD", 2).await;
    let mut draft = TestShop::draft("Hidden key", 100);
    draft.hidden = true;
    let hidden = t.create_product(draft).await;
    t.keys(hidden.id, "HIDDEN", 2).await;
    let cheap = t.product("Cheap key", 100).await;
    t.keys(cheap.id, "CHEAP", 2).await;
    let buyer = t.customer(10).await;
    t.fund(buyer, 1_000).await;
    t.shop.cart().add(buyer, product.id, qty(1)).await.unwrap();
    let checkout = t.shop.checkout();
    let before = t.snapshot().await;

    let result = checkout
        .buy_now(buyer, hidden.id, qty(1), key("hidden"), PayWith::Wallet)
        .await;
    assert!(matches!(result, Err(Error::NotFound { .. })), "{result:?}");
    let unknown = crate::ids::ProductId(hidden.id.0 + 1000);
    let result = checkout
        .buy_now(buyer, unknown, qty(1), key("unknown"), PayWith::Wallet)
        .await;
    assert!(matches!(result, Err(Error::NotFound { .. })), "{result:?}");
    let result = checkout
        .buy_now(buyer, product.id, qty(3), key("many"), PayWith::Invoice)
        .await;
    assert!(
        matches!(
            result,
            Err(Error::OutOfStock {
                requested: 3,
                available: 2,
                ..
            })
        ),
        "{result:?}"
    );
    let result = checkout
        .buy_now(buyer, product.id, qty(2), key("short"), PayWith::Wallet)
        .await;
    match result {
        Err(Error::InsufficientFunds { needed, available })
            if needed == usd(1_400) && available == usd(1_000) => {}
        other => panic!("expected InsufficientFunds 14.00 / 10.00, got {other:?}"),
    }

    let planned = buy_now_request(&t, buyer, &product, 1, "old-price");
    let request = CheckoutRequest {
        lines: vec![PlannedLine {
            unit_price: usd(650),
            ..planned.lines[0].clone()
        }],
        total: usd(650),
        ..planned
    };
    let result = t.store.commit_checkout(request.clone()).await;
    assert!(matches!(result, Err(Error::Conflict(_))), "{result:?}");
    let once = buy_now_request(&t, buyer, &cheap, 1, "twice");
    let twice = PlannedLine {
        quantity: qty(2),
        ..once.lines[0].clone()
    };
    let too_many = CheckoutRequest {
        lines: vec![once.lines[0].clone(), twice],
        total: usd(300),
        ..once
    };
    let result = t.store.commit_checkout(too_many).await;
    assert!(
        matches!(result, Err(Error::OutOfStock { .. })),
        "one product named twice for more than its stock: {result:?}"
    );
    let nothing = CheckoutRequest {
        key: key("nothing"),
        lines: Vec::new(),
        total: usd(0),
        ..request
    };
    let result = t.store.commit_checkout(nothing).await;
    assert!(result.is_err(), "no lines bought something: {result:?}");
    assert_eq!(
        t.snapshot().await,
        before,
        "a refused buy now changed something"
    );
}
