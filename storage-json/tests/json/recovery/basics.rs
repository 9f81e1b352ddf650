//! Opening, closing, locking and backing up a store on a real disk.

use super::helpers::*;

#[tokio::test]
async fn a_clean_close_leaves_a_snapshot_and_nothing_to_replay() {
    let dir = tempfile::tempdir().unwrap();
    let store = JsonStore::open(dir.path()).unwrap();
    add_users(&store, 1..=5).await;
    store.close().await.unwrap();
    let after_close = UserProfile {
        id: UserId(6),
        name: PersonName::lenient("late"),
    };
    assert!(store.upsert_user(after_close, Timestamp(6)).await.is_err());
    drop(store);
    assert!(dir.path().join("snapshot.json").exists());
    assert!(frame_starts(&std::fs::read(journal(dir.path())).unwrap()).is_empty());
    let store = JsonStore::open(dir.path()).unwrap();
    assert_eq!(user_ids(&store).await, (1..=5).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_second_open_in_the_same_directory_is_refused_while_the_first_works_on() {
    let dir = tempfile::tempdir().unwrap();
    let first = JsonStore::open(dir.path()).unwrap();
    match JsonStore::open(dir.path()) {
        Err(OpenError::Locked { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
        Err(other) => panic!("expected a lock error, got {other}"),
        Ok(_) => panic!("two stores on one directory"),
    }
    add_users(&first, 1..=2).await;
    assert_eq!(user_ids(&first).await, vec![1, 2]);
}

#[tokio::test]
async fn a_backup_taken_while_open_is_a_store_with_the_committed_state() {
    let dir = tempfile::tempdir().unwrap();
    let backup = tempfile::tempdir().unwrap();
    let store = JsonStore::open(dir.path()).unwrap();
    add_users(&store, 1..=3).await;
    let target = backup.path().join("copy");
    store.backup(&target).await.unwrap();
    add_users(&store, 4..=4).await;
    assert!(
        store.backup(&target).await.is_err(),
        "a backup never overwrites a store"
    );

    let copy = JsonStore::open(&target).unwrap();
    assert_eq!(user_ids(&copy).await, vec![1, 2, 3]);
    assert!(copy.check().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_store_written_by_a_newer_version_is_refused_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let store = JsonStore::open(dir.path()).unwrap();
    add_users(&store, 1..=1).await;
    store.close().await.unwrap();
    drop(store);
    let path = dir.path().join("snapshot.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("\"version\":1", "\"version\":2", 1)).unwrap();
    let message = JsonStore::open(dir.path()).err().unwrap().to_string();
    assert!(message.contains("newer shopbot"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn closing_while_compactions_run_keeps_every_acknowledged_command() {
    let dir = tempfile::tempdir().unwrap();
    let options = shopbot_storage_json::Options {
        compact_after_bytes: 2 * 1024,
    };
    let store = std::sync::Arc::new(JsonStore::open_with(dir.path(), options).unwrap());
    let finished = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..4i64 {
        let (store, finished) = (store.clone(), finished.clone());
        writers.spawn(async move {
            let mut acked = Vec::new();
            for i in 0..200i64 {
                let id = w * 1000 + i;
                let profile = UserProfile {
                    id: UserId(id),
                    name: PersonName::lenient("writer"),
                };
                match store.upsert_user(profile, Timestamp(id)).await {
                    Ok(_) => acked.push(id),
                    Err(_) => break,
                }
            }
            finished.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            acked
        });
    }
    // Let the writers run into several compactions, then close under them.
    while store.users(Page::first(1000)).await.unwrap().len() < 300
        && finished.load(std::sync::atomic::Ordering::Relaxed) < 4
    {
        tokio::task::yield_now().await;
    }
    store.close().await.unwrap();
    let mut acked = Vec::new();
    while let Some(done) = writers.join_next().await {
        acked.extend(done.unwrap());
    }
    drop(store);

    let reopened = JsonStore::open(dir.path()).unwrap();
    let present: std::collections::BTreeSet<i64> = user_ids(&reopened).await.into_iter().collect();
    for id in acked {
        assert!(present.contains(&id), "acknowledged user {id} was lost");
    }
    assert!(reopened.check().await.unwrap().is_empty());
}
