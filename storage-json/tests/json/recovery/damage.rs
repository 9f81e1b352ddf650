//! Damage to a store's files: only a torn last batch is given up, and then only into a file
//! beside the journal; everything else refuses to open until an operator decides.

use proptest::prelude::*;

use super::helpers::*;

/// A store with users 1 to `n`, one journal frame each, left without a clean close.
async fn store_with_users(n: i64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    add_users(&JsonStore::open(dir.path()).unwrap(), 1..=n).await;
    dir
}

#[tokio::test]
async fn a_flipped_byte_before_the_last_batch_refuses_to_open_naming_the_file_and_offset() {
    let dir = store_with_users(10).await;
    let path = journal(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    let fifth = frame_starts(&bytes)[4];
    bytes[fifth + 30] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();

    match refusal(dir.path()) {
        OpenError::Corrupt { file, offset, .. } => {
            assert_eq!(file, path);
            assert_eq!(offset, fifth as u64);
        }
        other => panic!("expected a corruption error, got {other}"),
    }
    let message = refusal(dir.path()).to_string();
    assert!(message.contains(&format!("at byte {fifth}")), "{message}");
    assert!(message.contains("store repair"), "{message}");
    assert!(message.contains("backup"), "{message}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "nothing was repaired silently"
    );
    assert!(set_aside_files(dir.path()).is_empty());
}

#[tokio::test]
async fn a_torn_last_batch_is_set_aside_beside_the_journal_and_reported() {
    let dir = store_with_users(10).await;
    let path = journal(dir.path());
    let bytes = std::fs::read(&path).unwrap();
    let last = *frame_starts(&bytes).last().unwrap();
    std::fs::write(&path, &bytes[..last + 25]).unwrap();

    let store = JsonStore::open(dir.path()).unwrap();
    assert_eq!(user_ids(&store).await, (1..=9).collect::<Vec<_>>());
    let report = store.recovery_report().set_aside.join("\n");
    assert!(report.contains(&format!("from byte {last}")), "{report}");
    let aside = set_aside_files(dir.path());
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(report.contains(&aside[0].display().to_string()), "{report}");
    assert_eq!(std::fs::read(&aside[0]).unwrap(), &bytes[last..last + 25]);

    add_users(&store, 10..=11).await;
    drop(store);
    let store = JsonStore::open(dir.path()).unwrap();
    assert_eq!(user_ids(&store).await, (1..=11).collect::<Vec<_>>());
    assert!(store.recovery_report().is_empty());
}

#[tokio::test]
async fn an_export_written_over_the_journal_refuses_to_open_and_changes_nothing() {
    let dir = store_with_users(10).await;
    let path = journal(dir.path());
    std::fs::write(&path, "order_id,user_id,total,currency\n1,1001,9.99,USD\n").unwrap();
    let before = files(dir.path());

    let message = refusal(dir.path()).to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("not a shopbot journal"), "{message}");
    assert!(message.contains("at byte 0"), "{message}");
    assert_eq!(files(dir.path()), before);
}

#[tokio::test]
async fn damage_longer_than_one_batch_at_the_end_refuses_to_open() {
    // A store whose journal is longer than one frame can hold, with its end overwritten: a
    // crash spoils one frame at most, so this is damage, not a torn write.
    let dir = store_with_users(900).await;
    let path = journal(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    let from = bytes.len() - 70_000;
    for (i, b) in bytes[from..].iter_mut().enumerate() {
        *b = (i * 7 + 3) as u8;
    }
    std::fs::write(&path, &bytes).unwrap();

    assert!(matches!(refusal(dir.path()), OpenError::Corrupt { .. }));
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[tokio::test]
async fn a_journal_segment_of_another_store_is_refused() {
    let dir = store_with_users(3).await;
    let other = store_with_users(6).await;
    let theirs = journal(other.path());
    let ours = journal(dir.path());
    std::fs::copy(&theirs, &ours).unwrap();

    let message = refusal(dir.path()).to_string();
    assert!(message.contains("another store"), "{message}");
}

#[tokio::test]
async fn repair_cuts_at_the_damage_and_keeps_what_it_cut_beside_the_journal() {
    let dir = store_with_users(10).await;
    let path = journal(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    let fifth = frame_starts(&bytes)[4];
    bytes[fifth + 30] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();

    let store = JsonStore::repair(dir.path()).unwrap();
    assert_eq!(user_ids(&store).await, vec![1, 2, 3, 4]);
    let report = store.recovery_report().set_aside.join("\n");
    assert!(report.contains(&format!("from byte {fifth}")), "{report}");
    let aside = set_aside_files(dir.path());
    assert_eq!(aside.len(), 1);
    assert_eq!(std::fs::read(&aside[0]).unwrap(), &bytes[fifth..]);

    add_users(&store, 20..=20).await;
    drop(store);
    let store = JsonStore::open(dir.path()).unwrap();
    assert_eq!(user_ids(&store).await, vec![1, 2, 3, 4, 20]);
}

#[tokio::test]
async fn a_damaged_snapshot_refuses_and_repair_rebuilds_it_from_the_previous_one() {
    let dir = tempfile::tempdir().unwrap();
    let options = shopbot_storage_json::Options {
        compact_after_bytes: 2 * 1024,
    };
    let store = JsonStore::open_with(dir.path(), options).unwrap();
    add_users(&store, 1..=120).await;
    store.close().await.unwrap();
    drop(store);
    assert!(dir.path().join("snapshot.prev.json").exists());
    let snapshot = dir.path().join("snapshot.json");
    let mut bytes = std::fs::read(&snapshot).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x04;
    std::fs::write(&snapshot, &bytes).unwrap();

    let message = refusal(dir.path()).to_string();
    assert!(message.contains("snapshot.json"), "{message}");
    assert!(message.contains("store repair"), "{message}");

    let store = JsonStore::repair(dir.path()).unwrap();
    assert_eq!(user_ids(&store).await, (1..=120).collect::<Vec<_>>());
    let moved = store.recovery_report().damaged_snapshot.clone().unwrap();
    assert_eq!(std::fs::read(moved).unwrap(), bytes);
    drop(store);
    let store = JsonStore::open(dir.path()).unwrap();
    assert_eq!(user_ids(&store).await, (1..=120).collect::<Vec<_>>());
}

/// A store template: users 1–20 in a snapshot, 21–60 in the journal, one frame each.
fn template() -> &'static Path {
    static TEMPLATE: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            runtime.block_on(async {
                let dir = tempfile::tempdir().unwrap();
                let store = JsonStore::open(dir.path()).unwrap();
                add_users(&store, 1..=20).await;
                store.close().await.unwrap();
                drop(store);
                add_users(&JsonStore::open(dir.path()).unwrap(), 21..=60).await;
                std::fs::remove_file(dir.path().join("LOCK")).unwrap();
                dir
            })
        })
        .path()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The oracle: overwrite any range of the journal or the snapshot with random bytes. The
    /// store either refuses to open, naming the file, or opens with every user it had except
    /// possibly the last few, whose bytes were then set aside and reported. It never opens
    /// silently with fewer.
    #[test]
    fn damage_anywhere_is_refused_or_confined_to_the_tail_and_reported(
        in_snapshot in any::<bool>(),
        start in any::<prop::sample::Index>(),
        garbage in proptest::collection::vec(any::<u8>(), 1..300),
    ) {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in files(template()) {
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
        let path = if in_snapshot { dir.path().join("snapshot.json") } else { journal(dir.path()) };
        let mut bytes = std::fs::read(&path).unwrap();
        let from = start.index(bytes.len());
        let end = (from + garbage.len()).min(bytes.len());
        bytes[from..end].copy_from_slice(&garbage[..end - from]);
        std::fs::write(&path, &bytes).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();

        match JsonStore::open(dir.path()) {
            Err(OpenError::Corrupt { file, offset, .. }) => {
                prop_assert_eq!(file, path);
                prop_assert!(offset as usize <= from);
            }
            Err(OpenError::Snapshot { file, .. }) => prop_assert_eq!(file, path),
            Err(other) => prop_assert!(false, "unexpected error: {}", other),
            Ok(store) => {
                let users = runtime.block_on(user_ids(&store));
                let all: Vec<i64> = (1..=60).collect();
                prop_assert!(all.starts_with(&users), "users invented or reordered: {:?}", users);
                if users.len() < all.len() {
                    prop_assert!(!in_snapshot);
                    let report = &store.recovery_report().set_aside;
                    prop_assert_eq!(report.len(), 1, "a loss must be reported");
                    prop_assert_eq!(set_aside_files(dir.path()).len(), 1);
                }
            }
        }
    }
}

#[tokio::test]
async fn a_large_import_cut_short_by_a_crash_leaves_no_unit_and_the_rest_opens() {
    use shopbot_core::testkit::TestShop;
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(JsonStore::open(dir.path()).unwrap());
    let shop = TestShop::new(store.clone()).await;
    let product = shop.product("Game key", 999).await;
    shop.keys(product.id, "small", 3).await;
    let path = journal(dir.path());
    let before = std::fs::metadata(&path).unwrap().len() as usize;
    shop.keys(product.id, "a-rather-long-license-key", 100_000)
        .await;
    drop(shop);
    drop(store);
    let bytes = std::fs::read(&path).unwrap();
    assert!(
        bytes.len() - before > 10 * 64 * 1024,
        "the import spans many frames"
    );

    // The machine stopped after half of the import's frames reached the disk. The import is
    // staged (one journal record per chunk): the chunks before the torn one are whole, and
    // their stage is discarded on opening, so no unit of the import is visible.
    let cut = before + (bytes.len() - before) / 2;
    std::fs::write(&path, &bytes[..cut]).unwrap();
    let store = JsonStore::open(dir.path()).unwrap();
    assert_eq!(store.stock_counts(product.id).await.unwrap().available, 3);
    assert_eq!(store.recovery_report().set_aside.len(), 1);
    let set_aside = std::fs::read(&set_aside_files(dir.path())[0]).unwrap();
    assert!(!set_aside.is_empty() && bytes[before..cut].ends_with(&set_aside));
    assert!(store.check().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_second_tear_at_the_same_offset_keeps_both_set_aside_files_and_names_the_new_one() {
    let dir = store_with_users(3).await;
    let path = journal(dir.path());
    let bytes = std::fs::read(&path).unwrap();
    let last = *frame_starts(&bytes).last().unwrap();
    std::fs::write(&path, &bytes[..last + 10]).unwrap();
    drop(JsonStore::open(dir.path()).unwrap());
    // The same user written again, torn again at the same place.
    add_users(&JsonStore::open(dir.path()).unwrap(), 3..=3).await;
    let again = std::fs::read(&path).unwrap();
    std::fs::write(&path, &again[..last + 20]).unwrap();

    let store = JsonStore::open(dir.path()).unwrap();
    let aside = set_aside_files(dir.path());
    assert_eq!(aside.len(), 2, "{aside:?}");
    assert_eq!(std::fs::read(&aside[0]).unwrap(), &bytes[last..last + 10]);
    assert_eq!(std::fs::read(&aside[1]).unwrap(), &again[last..last + 20]);
    let report = store.recovery_report().set_aside.join("\n");
    assert!(report.contains(&aside[1].display().to_string()), "{report}");
}
