//! What makes a directory a shop: a store exists once something was written to it, and the
//! shop's currency is part of what was written, in the journal and in a snapshot alike.

#![allow(clippy::unwrap_used)] // Tests fail by panicking.

use shopbot_core::money::Currency;
use shopbot_core::ports::Storage;
use shopbot_storage_json::JsonStore;

#[test]
fn exists_finds_a_store_only_where_one_was_written_and_creates_nothing() {
    let root = tempfile::tempdir().unwrap();
    let missing = root.path().join("missing").join("deep");
    assert!(!JsonStore::exists(&missing).unwrap());
    assert!(!root.path().join("missing").exists(), "nothing is created");

    let other = root.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("notes.txt"), b"not a store").unwrap();
    assert!(!JsonStore::exists(&other).unwrap());
    assert!(!JsonStore::exists(root.path()).unwrap());

    let file = other.join("notes.txt");
    assert!(
        JsonStore::exists(&file).is_err(),
        "a file is not a directory"
    );
}

#[tokio::test]
async fn the_shops_currency_survives_reopening_from_the_journal_and_from_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = JsonStore::open(dir.path()).unwrap();
        assert_eq!(store.shop_currency().await.unwrap(), None);
        assert_eq!(
            store.adopt_currency(Currency::EUR).await.unwrap(),
            Currency::EUR
        );
        assert!(JsonStore::exists(dir.path()).unwrap());
        // Dropped without closing: the currency is only in the journal.
    }
    let store = JsonStore::open(dir.path()).unwrap();
    assert_eq!(store.shop_currency().await.unwrap(), Some(Currency::EUR));
    store.close().await.unwrap();
    drop(store);

    let store = JsonStore::open(dir.path()).unwrap();
    assert_eq!(store.shop_currency().await.unwrap(), Some(Currency::EUR));
    assert_eq!(
        store.adopt_currency(Currency::USD).await.unwrap(),
        Currency::EUR
    );
}
