//! Two processes, one store: the second is refused with the holder's pid, and the first keeps
//! working.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // Tests fail by panicking.

use std::process::Command;

use shopbot_core::ids::UserId;
use shopbot_core::ports::{Page, Storage};
use shopbot_core::text::PersonName;
use shopbot_core::time::Timestamp;
use shopbot_core::user::UserProfile;
use shopbot_storage_json::JsonStore;

fn open_in_another_process(dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_store_worker"))
        .arg(dir)
        .arg("open")
        .output()
        .expect("the worker runs")
}

#[tokio::test]
async fn a_second_process_is_refused_and_the_first_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let store = JsonStore::open(dir.path()).unwrap();

    let second = open_in_another_process(dir.path());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("in use by another process"), "{stderr}");
    assert!(
        stderr.contains(&format!("pid {}", std::process::id())),
        "{stderr}"
    );

    let profile = UserProfile {
        id: UserId(7),
        name: PersonName::lenient("first"),
    };
    store.upsert_user(profile, Timestamp(1)).await.unwrap();
    assert_eq!(store.users(Page::first(10)).await.unwrap().len(), 1);

    drop(store);
    let third = open_in_another_process(dir.path());
    assert!(
        third.status.success(),
        "the store opens once the first process lets go"
    );
}
