//! What the recovery tests share: a store with users in it, and a look at its journal.

pub use std::path::{Path, PathBuf};

pub use shopbot_core::ids::UserId;
pub use shopbot_core::ports::{Page, Storage};
pub use shopbot_core::text::PersonName;
pub use shopbot_core::time::Timestamp;
pub use shopbot_core::user::UserProfile;
pub use shopbot_storage_json::{JsonStore, OpenError};

/// Adds users `ids`, one command (and one journal frame) each.
pub async fn add_users(store: &JsonStore, ids: std::ops::RangeInclusive<i64>) {
    for id in ids {
        let name = PersonName::lenient(&format!("user {id}"));
        let profile = UserProfile {
            id: UserId(id),
            name,
        };
        store.upsert_user(profile, Timestamp(id)).await.unwrap();
    }
}

/// The ids of every user in the store.
pub async fn user_ids(store: &JsonStore) -> Vec<i64> {
    let users = store.users(Page::first(100_000)).await.unwrap();
    users.iter().map(|u| u.id.0).collect()
}

/// The newest journal segment.
pub fn journal(dir: &Path) -> PathBuf {
    let mut segments: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    segments.sort();
    segments.pop().expect("a journal segment")
}

/// Byte offsets at which each frame of a segment starts (after its header line).
pub fn frame_starts(bytes: &[u8]) -> Vec<usize> {
    let mut pos = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    let mut starts = Vec::new();
    while pos < bytes.len() {
        starts.push(pos);
        let len = std::str::from_utf8(&bytes[pos + 1..pos + 9]).unwrap();
        pos += 19 + usize::from_str_radix(len, 16).unwrap();
    }
    starts
}

/// Every file of a directory with its bytes, to prove nothing changed.
pub fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// Names of the files beside the journal that hold set-aside bytes.
pub fn set_aside_files(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".damaged"))
        .collect();
    found.sort();
    found
}

/// The error a store that must not open gives.
pub fn refusal(dir: &Path) -> OpenError {
    match JsonStore::open(dir) {
        Err(error) => error,
        Ok(_) => panic!("the store opened"),
    }
}
