//! A store written by the release before journal frames existed opens and upgrades itself.

use super::helpers::*;

/// A copy of `tests/fixtures/v1-store`: users 1–5 in a snapshot and 6–8 in a format-1
/// journal, as that release wrote them.
fn legacy_store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1-store");
    for (name, bytes) in files(&fixture) {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    dir
}

#[tokio::test]
async fn a_store_of_the_older_format_opens_and_is_upgraded_in_place() {
    let dir = legacy_store();
    let store = JsonStore::open(dir.path()).unwrap();
    assert_eq!(user_ids(&store).await, (1..=8).collect::<Vec<_>>());
    let snapshot = std::fs::read_to_string(dir.path().join("snapshot.json")).unwrap();
    assert!(
        snapshot.lines().next().unwrap().contains("\"store\""),
        "{snapshot}"
    );
    let segment = std::fs::read(journal(dir.path())).unwrap();
    assert!(segment.starts_with(b"shopbot-journal 2 "));

    add_users(&store, 9..=9).await;
    drop(store);
    let store = JsonStore::open(dir.path()).unwrap();
    assert_eq!(user_ids(&store).await, (1..=9).collect::<Vec<_>>());
    store.close().await.unwrap();
    drop(store);
    let store = JsonStore::open(dir.path()).unwrap();
    assert_eq!(user_ids(&store).await, (1..=9).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_store_of_the_older_format_can_be_checked_without_changing_it() {
    let dir = legacy_store();
    let before = files(dir.path());
    let store = JsonStore::open_read_only(dir.path()).unwrap();
    assert_eq!(user_ids(&store).await, (1..=8).collect::<Vec<_>>());
    drop(store);
    assert_eq!(files(dir.path()), before);
}
