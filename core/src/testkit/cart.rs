//! Carts: versioned, so a checkout confirming a version that is no longer current buys
//! nothing, and every edit is exactly what [`Cart::apply`] says.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{TestShop, key, qty, wallet_request};
use crate::cart::{Cart, CartEdit, CartError};
use crate::error::{Error, Invalid};
use crate::order::CheckoutRequest;
use crate::ports::Storage;
use crate::services::PayWith;

/// A checkout naming a cart version that is no longer current is a `Conflict` and buys nothing,
/// whether it comes through the service or straight to the store, even when the cart has come
/// back to the very same lines; so is a current version with lines of another cart.
pub async fn a_stale_cart_version_conflicts_and_buys_nothing(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let product = t.product("Stale key", 300).await;
    t.keys(product.id, "STALE", 5).await;
    let buyer = t.customer(10).await;
    t.fund(buyer, 5_000).await;
    let products = std::slice::from_ref(&product);
    let cart = t.shop.cart();
    let first = cart.add(buyer, product.id, qty(1)).await.unwrap();
    let stale = wallet_request(&t, &first, products, "stale-direct");
    let two = cart.set(buyer, product.id, qty(2)).await.unwrap();
    let other_lines = wallet_request(&t, &two, products, "stale-lines");
    let current = cart.set(buyer, product.id, qty(1)).await.unwrap();
    assert_eq!(current.lines, first.lines, "the same lines again");
    assert_ne!(current.version, first.version);
    let before = t.snapshot().await;

    let via_service = t
        .shop
        .checkout()
        .buy_cart(buyer, first.version, key("stale"), PayWith::Wallet)
        .await;
    assert!(
        matches!(via_service, Err(Error::Conflict(_))),
        "{via_service:?}"
    );
    let direct = t.store.commit_checkout(stale).await;
    assert!(
        matches!(direct, Err(Error::Conflict(_))),
        "stale version: {direct:?}"
    );
    let mismatched = CheckoutRequest {
        cart_version: Some(current.version),
        ..other_lines
    };
    let direct = t.store.commit_checkout(mismatched).await;
    assert!(
        matches!(direct, Err(Error::Conflict(_))),
        "lines of another cart: {direct:?}"
    );
    assert_eq!(
        t.snapshot().await,
        before,
        "a stale checkout changed something"
    );
    for k in ["stale", "stale-direct", "stale-lines"] {
        assert_eq!(
            t.store.checkout_by_key(buyer, key(k)).await.unwrap(),
            None,
            "{k}"
        );
    }

    let order = t
        .shop
        .checkout()
        .buy_cart(buyer, current.version, key("fresh"), PayWith::Wallet)
        .await
        .unwrap()
        .order;
    assert_eq!(order.lines[0].quantity, qty(1));
}

/// A cart never edited is empty at version 0; every accepted edit bumps the version and gives
/// what [`Cart::apply`] gives; a refused edit changes nothing; carts are per user.
pub async fn carts_start_empty_and_every_edit_bumps_the_version(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let (a, b) = (t.product("A", 100).await.id, t.product("B", 100).await.id);
    let user = t.customer(10).await;
    let other = t.customer(11).await;
    assert_eq!(t.store.cart(user).await.unwrap(), Cart::empty(user));

    let mut model = Cart::empty(user);
    let edits = [
        CartEdit::Add {
            product: a,
            quantity: qty(2),
        },
        CartEdit::Add {
            product: a,
            quantity: qty(3),
        },
        CartEdit::Set {
            product: b,
            quantity: qty(1),
        },
        CartEdit::Remove { product: a },
        CartEdit::Add {
            product: a,
            quantity: qty(99),
        },
        CartEdit::Clear,
    ];
    for edit in edits {
        model.apply(edit).unwrap();
        let stored = t.store.edit_cart(user, edit).await.unwrap();
        assert_eq!(stored, model, "after {edit:?}");
        assert_eq!(t.store.cart(user).await.unwrap(), model);
    }
    assert_eq!(model.version, 6);

    t.store
        .edit_cart(
            user,
            CartEdit::Add {
                product: a,
                quantity: qty(100),
            },
        )
        .await
        .unwrap();
    let full = t.store.cart(user).await.unwrap();
    let refused = t
        .store
        .edit_cart(
            user,
            CartEdit::Add {
                product: a,
                quantity: qty(1),
            },
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(Error::Invalid(Invalid::Cart(CartError::TooMany)))
        ),
        "{refused:?}"
    );
    assert_eq!(
        t.store.cart(user).await.unwrap(),
        full,
        "a refused edit changed the cart"
    );
    assert_eq!(t.store.cart(other).await.unwrap(), Cart::empty(other));
}

/// A buyer's cart never shows a version twice, whatever empties it (a checkout by wallet or by
/// invoice, a clear, removing the last line): the conversation names a cart confirmation by
/// its version (`tap:<version>`), so a version that came back would make a new purchase return
/// an old order. Each of those confirmations is a purchase of its own.
pub async fn a_cart_version_is_never_shown_twice(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let product = t.product("Versioned key", 100).await.id;
    t.keys(product, "VERSIONED", 5).await;
    let buyer = t.customer(10).await;
    t.fund(buyer, 1_000).await;
    let (cart, checkout) = (t.shop.cart(), t.shop.checkout());
    let mut versions = vec![t.store.cart(buyer).await.unwrap().version];
    let mut orders = Vec::new();

    for pay in [PayWith::Wallet, PayWith::Invoice] {
        let filled = cart.add(buyer, product, qty(1)).await.unwrap();
        versions.push(filled.version);
        let tap = key(&format!("tap:{}", filled.version));
        let bought = checkout.buy_cart(buyer, filled.version, tap, pay).await;
        orders.push(bought.unwrap());
        versions.push(t.store.cart(buyer).await.unwrap().version);
    }
    versions.push(cart.add(buyer, product, qty(1)).await.unwrap().version);
    versions.push(cart.clear(buyer).await.unwrap().version);
    versions.push(cart.add(buyer, product, qty(1)).await.unwrap().version);
    versions.push(cart.remove(buyer, product).await.unwrap().version);
    let refilled = cart.add(buyer, product, qty(1)).await.unwrap();
    versions.push(refilled.version);
    let tap = key(&format!("tap:{}", refilled.version));
    let bought = checkout
        .buy_cart(buyer, refilled.version, tap, PayWith::Wallet)
        .await;
    orders.push(bought.unwrap());
    versions.push(t.store.cart(buyer).await.unwrap().version);

    assert!(
        versions.windows(2).all(|pair| pair[0] < pair[1]),
        "versions only grow: {versions:?}"
    );
    assert!(
        orders.iter().all(|o| !o.replayed),
        "none replayed: {orders:?}"
    );
    let distinct: BTreeSet<_> = orders.iter().map(|o| o.order.id).collect();
    assert_eq!(
        distinct.len(),
        3,
        "three purchases, three orders: {orders:?}"
    );
}
