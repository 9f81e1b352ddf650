//! Dumps between the JSON store and PostgreSQL: a JSON store's dump imported into an empty
//! database exports back unchanged (except the units of cancelled orders, which PostgreSQL
//! does not keep), the database carries on after the imported ids, both stores dump the same
//! shop alike, and a database that already holds a shop is refused and left alone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // Tests fail by panicking.

use std::sync::Arc;

use shopbot_core::Error;
use shopbot_core::dump::Dump;
use shopbot_core::money::Currency;
use shopbot_core::order::OrderStatus;
use shopbot_core::ports::Storage;
use shopbot_core::testkit::{CURRENCY, TestShop, sample};
use shopbot_storage_json::JsonStore;

use crate::support;

/// The dump of an in-memory JSON store filled by [`sample::busy_shop`], then by
/// [`sample::cancelled_order`] when `cancel` is set.
async fn json_sample(cancel: bool) -> Dump {
    let store = Arc::new(JsonStore::in_memory());
    let shop = TestShop::new(store.clone() as Arc<dyn Storage>).await;
    let sample = sample::busy_shop(&shop).await;
    if cancel {
        sample::cancelled_order(&shop, &sample).await;
    }
    store.export_dump().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_stores_dump_imported_into_postgresql_exports_back_unchanged() {
    let Some((store, _db)) = support::store().await else {
        return;
    };
    let dump = json_sample(false).await;
    assert_eq!(
        dump.currency,
        Some(CURRENCY),
        "the dump carries the shop's currency"
    );
    for kind in shopbot_core::dump::Kind::ALL {
        assert!(
            dump.count(kind) > 0,
            "the sample holds no {}",
            kind.as_str()
        );
    }

    store.import_dump(&dump).await.unwrap();

    assert_eq!(store.export_dump().await.unwrap(), dump);
    assert_eq!(store.check().await.unwrap(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_keeps_everything_of_a_cancelled_order_but_the_units_it_gave_back() {
    let Some((store, _db)) = support::store().await else {
        return;
    };
    let dump = json_sample(true).await;
    let mut expected = dump.clone();
    let cancelled: Vec<_> = expected
        .orders
        .iter_mut()
        .filter(|o| o.status == OrderStatus::Cancelled)
        .collect();
    assert_eq!(cancelled.len(), 1);
    for order in cancelled {
        let units: usize = order.lines.iter().map(|l| l.units.len()).sum();
        assert!(
            units > 0,
            "the JSON store lists the units a cancelled order reserved"
        );
        for line in &mut order.lines {
            line.units.clear();
        }
    }

    store.import_dump(&dump).await.unwrap();

    assert_eq!(store.export_dump().await.unwrap(), expected);
    assert_eq!(store.check().await.unwrap(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_built_from_a_dump_continues_after_the_imported_ids_and_keys() {
    let Some((store, _db)) = support::store().await else {
        return;
    };
    let dump = json_sample(true).await;
    let highest = dump.highest_ids();
    store.import_dump(&dump).await.unwrap();
    let shop = TestShop::new(store.clone() as Arc<dyn Storage>).await;

    // Idempotency records came along: a repeated checkout key finds its order.
    let checkout = &dump.checkouts[0];
    let order = store
        .checkout_by_key(checkout.user, checkout.key.clone())
        .await
        .unwrap();
    assert_eq!(order.map(|o| o.id), Some(checkout.order));

    sample::new_records_continue_after(&shop, &highest).await;
    let after = store.export_dump().await.unwrap();
    assert_eq!(after.audit[dump.audit.len()].id.0, highest.audit + 1);
    assert_eq!(after.outbox[dump.outbox.len()].id.0, highest.outbox + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_operations_dump_alike_on_postgresql_and_json() {
    let Some((store, _db)) = support::store().await else {
        return;
    };
    let shop = TestShop::new(store.clone() as Arc<dyn Storage>).await;
    sample::busy_shop(&shop).await;

    assert_eq!(store.export_dump().await.unwrap(), json_sample(false).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn importing_into_a_database_that_holds_a_shop_is_refused_and_changes_nothing() {
    let Some((store, _db)) = support::store().await else {
        return;
    };
    let shop = TestShop::new(store.clone() as Arc<dyn Storage>).await;
    let product = shop.product("Already here", 100).await;
    shop.keys(product.id, "HERE", 1).await;
    let before = store.export_dump().await.unwrap();

    let refused = store.import_dump(&json_sample(false).await).await;

    let Err(Error::Conflict(message)) = refused else {
        panic!("expected a conflict, got {refused:?}");
    };
    assert!(message.contains("users"), "{message}");
    assert!(message.contains("stock_units"), "{message}");
    assert_eq!(store.export_dump().await.unwrap(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn importing_into_a_database_set_up_for_another_currency_is_refused_and_changes_nothing() {
    let Some((store, _db)) = support::store().await else {
        return;
    };
    store.adopt_currency(Currency::EUR).await.unwrap();
    let before = store.export_dump().await.unwrap();

    let refused = store.import_dump(&json_sample(false).await).await;

    let Err(Error::Conflict(message)) = refused else {
        panic!("expected a conflict, got {refused:?}");
    };
    assert!(
        message.contains("sells in EUR, the copy in USD"),
        "{message}"
    );
    assert_eq!(store.export_dump().await.unwrap(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_set_up_for_the_dumps_currency_and_holding_nothing_takes_the_copy() {
    let Some((store, _db)) = support::store().await else {
        return;
    };
    store.adopt_currency(CURRENCY).await.unwrap();
    let dump = json_sample(false).await;

    store.import_dump(&dump).await.unwrap();

    assert_eq!(store.export_dump().await.unwrap(), dump);
}
