//! A store holds every unsold key in clear text: only its owner may read it.

use std::os::unix::fs::PermissionsExt;

use super::helpers::*;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn assert_owner_only(dir: &Path) {
    assert_eq!(mode(dir), 0o700, "{}", dir.display());
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}

#[tokio::test]
async fn a_new_store_and_its_backup_are_owner_only() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("shop");
    let store = JsonStore::open(&dir).unwrap();
    add_users(&store, 1..=3).await;
    let backup = parent.path().join("backup");
    store.backup(&backup).await.unwrap();
    store.close().await.unwrap();
    assert_owner_only(&dir);
    assert_owner_only(&backup);
}

#[tokio::test]
async fn a_store_others_can_read_is_made_owner_only_when_it_opens() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("shop");
    add_users(&JsonStore::open(&dir).unwrap(), 1..=3).await;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }

    let read_only = JsonStore::open_read_only(&dir).unwrap();
    let problems = read_only.check().await.unwrap();
    assert!(
        problems.iter().any(|p| p.contains("other users can read")),
        "{problems:?}"
    );
    assert_eq!(mode(&dir), 0o755, "a read-only open changes nothing");
    drop(read_only);

    let store = JsonStore::open(&dir).unwrap();
    assert_eq!(user_ids(&store).await, vec![1, 2, 3]);
    assert_owner_only(&dir);
}
