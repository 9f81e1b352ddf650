//! The whole storage conformance suite against PostgreSQL, one fresh database per test.

#![allow(clippy::unwrap_used)] // Tests fail by panicking.

mod support;

shopbot_core::conformance_suite!(support::store);

/// A store that went through checkouts, refunds and invoices checks clean, and a broken
/// wallet is reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_check_finds_nothing_in_a_sound_store_and_names_a_broken_wallet() {
    let Some((store, _db)) = support::store().await else {
        return;
    };
    let shop = shopbot_core::testkit::TestShop::new(store.clone()).await;
    let product = shop.product("Checked key", 300).await;
    shop.keys(product.id, "CHECK", 3).await;
    let buyer = shop.customer(500).await;
    shop.fund(buyer, 10_000).await;
    let cart = shop
        .shop
        .cart()
        .add(buyer, product.id, shopbot_core::text::Quantity::ONE)
        .await
        .unwrap();
    shop.shop
        .checkout()
        .buy_cart(
            buyer,
            cart.version,
            shopbot_core::testkit::key("check-1"),
            shopbot_core::services::PayWith::Wallet,
        )
        .await
        .unwrap();
    assert_eq!(store.check().await.unwrap(), Vec::<String>::new());

    sqlx::query("UPDATE wallets SET balance_minor = balance_minor + 1")
        .execute(store.pool())
        .await
        .unwrap();
    let problems = store.check().await.unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("does not match its ledger")),
        "{problems:?}"
    );
}

/// `store check` sums ledgers exactly: a ledger that adds up past what a wallet can hold is a
/// mismatch named with its exact sum, not an overflow and not a clamped agreement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_check_names_a_ledger_that_sums_past_64_bits_with_its_exact_sum() {
    let Some((store, _db)) = support::store().await else {
        return;
    };
    let shop = shopbot_core::testkit::TestShop::new(store.clone()).await;
    let buyer = shop.customer(500).await;
    shop.fund(buyer, 100).await;
    shop.fund(buyer, 100).await;

    // Damage no command can make: both entries claim the largest amount, the wallet one.
    for sql in [
        "UPDATE ledger_entries SET balance_delta_minor = 9223372036854775807 WHERE user_id = 500",
        "UPDATE wallets SET balance_minor = 9223372036854775807 WHERE user_id = 500",
    ] {
        sqlx::query(sql).execute(store.pool()).await.unwrap();
    }
    let problems = store.check().await.unwrap();

    assert_eq!(
        problems,
        vec![
            "wallet of user 500 (USD) does not match its ledger: balance 9223372036854775807, \
             ledger 18446744073709551614; held 0, ledger 0 (minor units)"
                .to_owned()
        ]
    );
}

/// The queries PostgreSQL answers in one statement (`user_with_settings`,
/// `cart_with_products`, `user_with_product`, `user_with_cart`) answer exactly what the
/// queries they stand for do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn combined_queries_answer_what_their_parts_do() {
    use shopbot_core::catalog::ProductPatch;
    use shopbot_core::ids::{ProductId, UserId};
    use shopbot_core::ports::Storage;
    use shopbot_core::testkit::{OWNER, TestShop, qty};

    let Some((store, _db)) = support::store().await else {
        return;
    };
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
        let (combined_cart, mut combined) = store.cart_with_products(user).await.unwrap();
        combined.sort_by_key(|p| std::cmp::Reverse(p.id));
        products.sort_by_key(|p| std::cmp::Reverse(p.id));
        assert_eq!(
            (combined_cart, combined),
            (cart.clone(), products.clone()),
            "user {user}"
        );

        let (caller, settings, combined_cart, mut combined) =
            store.user_with_cart(user).await.unwrap();
        combined.sort_by_key(|p| std::cmp::Reverse(p.id));
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
