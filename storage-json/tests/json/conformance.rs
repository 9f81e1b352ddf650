//! The whole storage conformance suite, against the store in memory and on disk.

#![allow(clippy::expect_used)] // Tests fail by panicking.

use std::sync::Arc;

use shopbot_storage_json::JsonStore;

mod memory {
    use super::*;

    shopbot_core::conformance_suite!(|| async { Arc::new(JsonStore::in_memory()) });
}

mod disk {
    use super::*;

    async fn on_disk() -> (Arc<JsonStore>, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = JsonStore::open(dir.path()).expect("a fresh store opens");
        (Arc::new(store), dir)
    }

    shopbot_core::conformance_suite!(on_disk);
}
