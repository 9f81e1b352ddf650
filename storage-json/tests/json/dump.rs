//! Dumps: a store exported, imported into a new directory and exported again is the same
//! shop, whose counters continue after the imported ids; an import never touches an existing
//! or locked store.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // Tests fail by panicking.

use std::path::Path;
use std::sync::Arc;

use shopbot_core::dump::Dump;
use shopbot_core::ids::UserId;
use shopbot_core::notice::Notice;
use shopbot_core::order::OrderStatus;
use shopbot_core::ports::Storage;
use shopbot_core::services::PayWith;
use shopbot_core::testkit::{CURRENCY, ManualClock, OWNER, TestShop, key, qty, sample};
use shopbot_core::text::Note;
use shopbot_storage_json::{ImportError, JsonStore, OpenError};

/// A store on disk in `dir` filled by [`sample::busy_shop`] and [`sample::cancelled_order`],
/// and its dump.
async fn busy_store(dir: &Path) -> (Arc<JsonStore>, Dump) {
    let store = Arc::new(JsonStore::open(dir).unwrap());
    let shop = TestShop::new(store.clone() as Arc<dyn Storage>).await;
    let sample = sample::busy_shop(&shop).await;
    sample::cancelled_order(&shop, &sample).await;
    let dump = store.export_dump().await.unwrap();
    (store, dump)
}

#[tokio::test]
async fn a_store_exported_imported_into_a_new_directory_and_exported_again_is_the_same_dump() {
    let source = tempfile::tempdir().unwrap();
    let (_store, dump) = busy_store(source.path()).await;
    assert_eq!(
        dump.currency,
        Some(CURRENCY),
        "the dump carries the shop's currency"
    );
    assert!(
        dump.orders
            .iter()
            .any(|o| o.status == OrderStatus::Cancelled)
    );
    for kind in shopbot_core::dump::Kind::ALL {
        assert!(
            dump.count(kind) > 0,
            "the sample holds no {}",
            kind.as_str()
        );
    }

    let target = tempfile::tempdir().unwrap();
    let copy_dir = target.path().join("copy");
    JsonStore::import_dump(&copy_dir, dump.clone()).unwrap();
    let copy = JsonStore::open(&copy_dir).unwrap();

    assert_eq!(copy.export_dump().await.unwrap(), dump);
    assert_eq!(copy.check().await.unwrap(), Vec::<String>::new());
}

#[tokio::test]
async fn a_store_built_from_a_dump_hands_out_ids_after_the_imported_ones() {
    let source = tempfile::tempdir().unwrap();
    let (_store, dump) = busy_store(source.path()).await;
    let highest = dump.highest_ids();
    let target = tempfile::tempdir().unwrap();
    JsonStore::import_dump(target.path(), dump).unwrap();

    let copy: Arc<dyn Storage> = Arc::new(JsonStore::open(target.path()).unwrap());
    let shop = TestShop::new(copy).await;
    sample::new_records_continue_after(&shop, &highest).await;
}

#[tokio::test]
async fn the_idempotency_records_of_a_dump_still_answer_repeats_after_the_import() {
    let source = tempfile::tempdir().unwrap();
    let (_store, dump) = busy_store(source.path()).await;
    let target = tempfile::tempdir().unwrap();
    JsonStore::import_dump(target.path(), dump.clone()).unwrap();
    let copy = Arc::new(JsonStore::open(target.path()).unwrap());
    let shop = TestShop::new(copy.clone() as Arc<dyn Storage>).await;

    let checkout = &dump.checkouts[0];
    let order = copy
        .checkout_by_key(checkout.user, checkout.key.clone())
        .await
        .unwrap();
    assert_eq!(order.map(|o| o.id), Some(checkout.order));

    // The top-up's manual payment was recorded under its reference: applying it again to the
    // same invoice is recognised, not paid twice.
    let charge = dump
        .charges
        .iter()
        .find(|c| c.charge_id.as_str() == "bank-sample-1")
        .unwrap();
    let again = shop
        .shop
        .invoices()
        .mark_paid(OWNER, charge.invoice, Note::parse("bank-sample-1").unwrap())
        .await;
    assert!(again.is_ok(), "{again:?}");
    let after = copy.export_dump().await.unwrap();
    assert_eq!(after.entries.len(), dump.entries.len());
}

#[tokio::test]
async fn importing_into_a_directory_that_holds_a_store_is_refused_and_changes_nothing() {
    let existing = tempfile::tempdir().unwrap();
    let before = {
        let store = Arc::new(JsonStore::open(existing.path()).unwrap());
        let shop = TestShop::new(store.clone() as Arc<dyn Storage>).await;
        let product = shop.product("Already here", 100).await;
        shop.keys(product.id, "HERE", 1).await;
        let buyer = shop.customer(42).await;
        shop.fund(buyer, 500).await;
        let cart = shop
            .shop
            .cart()
            .add(buyer, product.id, qty(1))
            .await
            .unwrap();
        shop.shop
            .checkout()
            .buy_cart(buyer, cart.version, key("here"), PayWith::Wallet)
            .await
            .unwrap();
        let dump = store.export_dump().await.unwrap();
        store.close().await.unwrap();
        dump
    };
    let source = tempfile::tempdir().unwrap();
    let (_store, dump) = busy_store(source.path()).await;

    let refused = JsonStore::import_dump(existing.path(), dump);

    assert!(
        matches!(refused, Err(ImportError::NotEmpty { .. })),
        "{refused:?}"
    );
    let store = JsonStore::open(existing.path()).unwrap();
    assert_eq!(store.export_dump().await.unwrap(), before);
    assert!(store.user(UserId(500)).await.unwrap().is_none());
}

#[tokio::test]
async fn importing_into_a_directory_another_store_has_open_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _open = JsonStore::open(dir.path()).unwrap();

    let refused = JsonStore::import_dump(dir.path(), Dump::default());

    assert!(
        matches!(refused, Err(ImportError::Open(OpenError::Locked { .. }))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn staff_notices_and_job_records_survive_a_copy() {
    let source = tempfile::tempdir().unwrap();
    let (store, dump) = busy_store(source.path()).await;
    let kinds = store.notice_kinds(UserId(300)).await.unwrap();
    let jobs = store.job_records().await.unwrap();
    assert!(!kinds.is_empty() && jobs.len() == 2, "{kinds:?} {jobs:?}");
    let raised = dump.notice_keys[0].key.clone();
    let target = tempfile::tempdir().unwrap();
    JsonStore::import_dump(target.path(), dump).unwrap();

    let copy = JsonStore::open(target.path()).unwrap();
    assert_eq!(copy.notice_kinds(UserId(300)).await.unwrap(), kinds);
    assert_eq!(copy.job_records().await.unwrap(), jobs);
    let notice = Notice::OrderPaid {
        order: shopbot_core::ids::OrderId(1),
    };
    let again = copy.notify_staff(notice, raised, ManualClock::START).await;
    assert_eq!(
        again.unwrap(),
        0,
        "a notice raised before the copy is not raised again"
    );
}
