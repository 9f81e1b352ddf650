//! The combined reads a backend may answer at once (`user_with_settings`,
//! `cart_with_products`, `user_with_product`, `user_with_cart`) answer exactly what the plain
//! queries they stand for do, for whichever backend overrides them.

use std::cmp::Reverse;
use std::sync::Arc;

use super::{OWNER, TestShop, qty};
use crate::catalog::ProductPatch;
use crate::ids::{ProductId, UserId};
use crate::ports::Storage;

/// For a customer with a hidden and a visible product in the cart, a stranger the store has
/// never seen and the owner, in maintenance mode, each combined read equals its parts: the
/// caller, the settings, the cart with the products on it (hidden ones too) and any product,
/// including one that does not exist.
pub async fn combined_reads_answer_exactly_what_their_parts_do(store: Arc<dyn Storage>) {
    let shop = TestShop::new(store.clone()).await;
    let kept = shop.product("Kept key", 300).await;
    let hidden = shop.product("Hidden key", 500).await;
    let buyer = shop.customer(500).await;
    let stranger = UserId(501);
    for (product, n) in [(&hidden, 2), (&kept, 1)] {
        shop.shop
            .cart()
            .add(buyer, product.id, qty(n))
            .await
            .unwrap();
    }
    let hide = ProductPatch {
        hidden: Some(true),
        ..ProductPatch::default()
    };
    let admin = shop.shop.admin();
    admin.update_product(OWNER, hidden.id, hide).await.unwrap();
    admin.set_maintenance(OWNER, true).await.unwrap();

    for user in [buyer, stranger, OWNER] {
        let parts = (
            store.user(user).await.unwrap(),
            store.settings().await.unwrap(),
        );
        assert_eq!(store.user_with_settings(user).await.unwrap(), parts);

        let cart = store.cart(user).await.unwrap();
        let mut products = Vec::new();
        for line in &cart.lines {
            products.extend(store.product(line.product).await.unwrap());
        }
        // The contract fixes which products come back, not their order.
        let (combined_cart, mut combined) = store.cart_with_products(user).await.unwrap();
        combined.sort_by_key(|p| Reverse(p.id));
        products.sort_by_key(|p| Reverse(p.id));
        assert_eq!(
            (combined_cart, combined),
            (cart.clone(), products.clone()),
            "user {user}"
        );

        let (caller, settings, combined_cart, mut combined) =
            store.user_with_cart(user).await.unwrap();
        combined.sort_by_key(|p| Reverse(p.id));
        assert_eq!(
            (caller, settings, combined_cart, combined),
            (parts.0.clone(), parts.1, cart, products),
            "user {user}"
        );

        for product in [kept.id, hidden.id, ProductId(999_999)] {
            let expected = (
                parts.0.clone(),
                parts.1,
                store.product(product).await.unwrap(),
            );
            let combined = store.user_with_product(user, product).await.unwrap();
            assert_eq!(combined, expected, "user {user}, product {product}");
        }
    }
    assert!(store.settings().await.unwrap().maintenance);
}
