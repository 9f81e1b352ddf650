//! `store check` opens a store read-only: it reports what is wrong and changes no byte.

use super::helpers::*;

#[tokio::test]
async fn a_read_only_open_reports_a_torn_tail_and_changes_no_byte() {
    let dir = tempfile::tempdir().unwrap();
    add_users(&JsonStore::open(dir.path()).unwrap(), 1..=5).await;
    let path = journal(dir.path());
    let bytes = std::fs::read(&path).unwrap();
    let last = *frame_starts(&bytes).last().unwrap();
    std::fs::write(&path, &bytes[..last + 10]).unwrap();
    std::fs::remove_file(dir.path().join("LOCK")).unwrap();
    let before = files(dir.path());

    let store = JsonStore::open_read_only(dir.path()).unwrap();
    assert_eq!(user_ids(&store).await, vec![1, 2, 3, 4]);
    let problems = store.check().await.unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains(&format!("from byte {last}")),
        "{problems:?}"
    );
    let profile = UserProfile {
        id: UserId(9),
        name: PersonName::lenient("nobody"),
    };
    assert!(store.upsert_user(profile, Timestamp(9)).await.is_err());
    drop(store);

    assert_eq!(
        files(dir.path()),
        before,
        "not a byte changed, no lock file made"
    );
}

#[tokio::test]
async fn a_read_only_open_of_a_sound_store_finds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = JsonStore::open(dir.path()).unwrap();
    add_users(&store, 1..=3).await;
    store.close().await.unwrap();
    drop(store);
    let store = JsonStore::open_read_only(dir.path()).unwrap();
    assert_eq!(store.check().await.unwrap(), Vec::<String>::new());
}

#[tokio::test]
async fn a_read_only_open_is_refused_while_the_store_is_open_for_use() {
    let dir = tempfile::tempdir().unwrap();
    let _open = JsonStore::open(dir.path()).unwrap();
    assert!(matches!(
        JsonStore::open_read_only(dir.path()),
        Err(OpenError::Locked { .. })
    ));
}
