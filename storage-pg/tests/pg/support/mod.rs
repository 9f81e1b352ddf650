//! What the PostgreSQL tests share: a store on a throwaway database of its own
//! ([`TestDatabase`], which also decides what happens when no server answers), and a stand-in
//! server for the failures a real one cannot be made to show.

#![allow(clippy::expect_used)] // Test support fails by panicking.

pub mod fake_server;

use std::sync::Arc;

use shopbot_storage_pg::testing::TestDatabase;
use shopbot_storage_pg::{PgOptions, PgStore, PurchasePath};

/// A store on a fresh database, with the guard that drops the database; `None` outside CI
/// when no server answers.
pub async fn store() -> Option<(Arc<PgStore>, TestDatabase)> {
    store_with(PgOptions {
        max_connections: 12,
        ..PgOptions::default()
    })
    .await
}

/// A store on a fresh database whose purchases go direct, each read and command on its own.
pub async fn direct_store() -> Option<(Arc<PgStore>, TestDatabase)> {
    store_with(PgOptions {
        max_connections: 12,
        purchases: PurchasePath::Direct,
        ..PgOptions::default()
    })
    .await
}

/// A store with `options` on a fresh database, with the guard that drops the database; `None`
/// outside CI when no server answers.
pub async fn store_with(options: PgOptions) -> Option<(Arc<PgStore>, TestDatabase)> {
    let db = TestDatabase::create().await?;
    let store = PgStore::connect_with(db.url(), options)
        .await
        .expect("the store opens on a fresh database");
    Some((Arc::new(store), db))
}
