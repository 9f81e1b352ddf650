//! `check()` reports real damage only: a unit that went back to stock with a cancelled order
//! and was then sold again is sound.

#![allow(clippy::unwrap_used)] // Tests fail by panicking.

use std::sync::Arc;

use shopbot_core::services::PayWith;
use shopbot_core::testkit::{TestShop, key, qty};
use shopbot_storage_json::JsonStore;

#[tokio::test]
async fn a_unit_resold_after_its_order_was_cancelled_checks_clean() {
    let store = Arc::new(JsonStore::in_memory());
    let t = TestShop::new(store.clone()).await;
    let product = t.product("Only key", 500).await;
    t.keys(product.id, "ONLY", 1).await;
    let (ann, bob) = (t.customer(10).await, t.customer(11).await);
    t.fund(bob, 1000).await;

    let cart = t.shop.cart().add(ann, product.id, qty(1)).await.unwrap();
    let reserved = t
        .shop
        .checkout()
        .checkout(ann, cart.version, key("ann-1"), PayWith::Invoice)
        .await
        .unwrap()
        .order;
    let shopbot_core::order::OrderPayment::Invoice { invoice } = reserved.payment else {
        panic!("an invoice order");
    };
    t.shop
        .invoices()
        .void(shopbot_core::testkit::OWNER, invoice)
        .await
        .unwrap();
    t.buy(bob, product.id, 1).await;

    assert_eq!(store.check().await.unwrap(), Vec::<String>::new());
}
