//! What the `CountingStore` counts: every call once, by kind, and each refusal.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail by panicking.

use std::sync::Arc;

use shopbot_core::Error;
use shopbot_core::ids::UserId;
use shopbot_core::ports::{Page, Storage};
use shopbot_core::services::PayWith;
use shopbot_core::text::{IdempotencyKey, Quantity};
use shopbot_examples::sample::{CUSTOMER, stocked_shop};
use shopbot_examples::{CallCounts, CountingStore};
use shopbot_storage_json::JsonStore;

fn counting() -> Arc<CountingStore> {
    Arc::new(CountingStore::new(Arc::new(JsonStore::in_memory())))
}

#[tokio::test]
async fn a_fresh_wrapper_has_counted_nothing() {
    assert_eq!(counting().counts(), CallCounts::default());
}

#[tokio::test]
async fn queries_count_as_reads_and_answer_what_the_inner_store_does() {
    let store = counting();

    let nobody = store.user(UserId(7)).await.unwrap();
    let users = store.users(Page::first(10)).await.unwrap();

    assert_eq!((nobody, users.len()), (None, 0));
    let expected = CallCounts {
        reads: 2,
        writes: 0,
        refused: 0,
    };
    assert_eq!(store.counts(), expected);
}

#[tokio::test]
async fn a_purchase_the_store_refuses_counts_as_a_refused_write() {
    let store = counting();
    let sample = stocked_shop(store.clone()).await.unwrap();
    let before = store.counts();

    let refused = sample
        .shop
        .checkout()
        .buy_now(
            CUSTOMER,
            sample.product,
            Quantity::new(5).unwrap(),
            IdempotencyKey::parse("too-many").unwrap(),
            PayWith::Wallet,
        )
        .await;

    assert!(
        matches!(refused, Err(Error::OutOfStock { .. })),
        "{refused:?}"
    );
    let after = store.counts();
    assert_eq!(after.writes - before.writes, 1, "one commit_checkout");
    assert_eq!(after.refused - before.refused, 1, "{after:?}");
}

#[tokio::test]
async fn a_combined_query_goes_to_the_inner_store_as_one_call() {
    let store = counting();

    // Had the wrapper kept the trait's default body, this would come back through its own
    // `user_with_settings` and `cart_with_products`, count two reads, and lose the inner
    // store's answer-at-once.
    store.user_with_cart(CUSTOMER).await.unwrap();

    assert_eq!(store.counts().reads, 1);
}
