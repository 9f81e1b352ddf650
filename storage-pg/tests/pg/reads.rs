//! The reads a purchase makes first (`user_with_product`, `user_with_cart`) are shared by
//! concurrent callers: one query answers a batch of them. Each caller still gets exactly its
//! own answer, the one the plain queries give.

#![allow(clippy::unwrap_used)] // Tests fail by panicking.

use std::sync::Arc;

use tokio::sync::Barrier;

use shopbot_core::catalog::ProductPatch;
use shopbot_core::ids::{ProductId, UserId};
use shopbot_core::ports::Storage;
use shopbot_core::testkit::{OWNER, TestShop, qty};
use shopbot_storage_pg::{PgOptions, PurchasePath};

use crate::support;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn buyers_reading_at_once_each_get_their_own_caller_cart_and_product() {
    // One lane: while it answers a batch, everyone else's questions gather for the next.
    let options = PgOptions {
        purchases: PurchasePath::Lanes(1),
        ..PgOptions::default()
    };
    let Some((store, _db)) = support::store_with(options).await else {
        return;
    };
    let t = TestShop::new(store.clone()).await;
    let kept = t.product("Kept key", 300).await.id;
    let hidden = t.product("Hidden key", 500).await.id;
    let mut users = vec![OWNER, UserId(999)];
    for n in 0..24 {
        let buyer = t.customer(400 + n).await;
        // Carts of none, one and two lines, in different quantities.
        for (i, product) in [kept, hidden].into_iter().enumerate() {
            if n % 3 > i as i64 {
                let many = u32::try_from(n % 4 + 1).unwrap();
                t.shop.cart().add(buyer, product, qty(many)).await.unwrap();
            }
        }
        if n % 5 == 0 {
            t.ban(buyer).await;
        }
        users.push(buyer);
    }
    let hide = ProductPatch {
        hidden: Some(true),
        ..ProductPatch::default()
    };
    t.shop
        .admin()
        .update_product(OWNER, hidden, hide)
        .await
        .unwrap();

    let products = [kept, hidden, ProductId(999_999)];
    let start = Arc::new(Barrier::new(users.len() * products.len()));
    let mut tasks = Vec::new();
    for user in &users {
        for (i, product) in products.into_iter().enumerate() {
            let (store, start, user) = (store.clone(), start.clone(), *user);
            tasks.push(tokio::spawn(async move {
                start.wait().await;
                // Half ask for the cart, half for a product, all at once.
                let cart = if i % 2 == 0 {
                    Some(store.user_with_cart(user).await.unwrap())
                } else {
                    None
                };
                let product = store.user_with_product(user, product).await.unwrap();
                (user, products[i], cart, product)
            }));
        }
    }
    for task in tasks {
        let (user, product, cart, with_product) = task.await.unwrap();
        let caller = store.user(user).await.unwrap();
        let settings = store.settings().await.unwrap();
        let expected = (
            caller.clone(),
            settings,
            store.product(product).await.unwrap(),
        );
        assert_eq!(with_product, expected, "user {user}, product {product}");
        if let Some((got_caller, got_settings, got_cart, mut got_products)) = cart {
            let (cart, mut products) = store.cart_with_products(user).await.unwrap();
            got_products.sort_by_key(|p| p.id);
            products.sort_by_key(|p| p.id);
            assert_eq!(
                (got_caller, got_settings, got_cart, got_products),
                (caller, settings, cart, products),
                "user {user}"
            );
        }
    }
}
