//! The whole storage conformance suite against PostgreSQL, one fresh database per test, on
//! each purchase path: through the lanes (the default) and direct.

#![allow(clippy::unwrap_used)] // Tests fail by panicking.

use crate::support;

mod lanes {
    shopbot_core::conformance_suite!(super::support::store);
}

mod direct {
    shopbot_core::conformance_suite!(super::support::direct_store);
}

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
