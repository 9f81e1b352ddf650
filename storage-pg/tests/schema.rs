//! Starting against a database: a schema from a newer shopbot is refused with advice, and a
//! redelivered messenger update counts once across instances.

#![allow(clippy::unwrap_used)] // Tests fail by panicking.

mod support;

use shopbot_core::ids::UpdateId;
use shopbot_core::ports::Storage;
use shopbot_core::time::Timestamp;
use shopbot_storage_pg::{PgOpenError, PgStore};

#[tokio::test]
async fn a_schema_migrated_by_a_newer_shopbot_is_refused_with_advice() {
    let Some(db) = support::database().await else {
        return;
    };
    let store = PgStore::connect(&db.url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations \
         (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', TRUE, '\\x00', 0)",
    )
    .execute(store.pool())
    .await
    .unwrap();
    store.close().await;

    match PgStore::connect(&db.url).await {
        Err(error @ PgOpenError::NewerSchema(9999)) => {
            assert!(error.to_string().contains("upgrade"), "{error}");
        }
        Err(other) => panic!("expected a newer-schema refusal, got {other}"),
        Ok(_) => panic!("a newer schema must not open"),
    }
}

#[tokio::test]
async fn a_redelivered_update_counts_once_across_instances() {
    let Some(db) = support::database().await else {
        return;
    };
    let first = PgStore::connect(&db.url).await.unwrap();
    let second = PgStore::connect(&db.url).await.unwrap();
    assert!(
        first
            .mark_update_processed(UpdateId(7001), Timestamp(1))
            .await
            .unwrap()
    );
    assert!(
        !second
            .mark_update_processed(UpdateId(7001), Timestamp(2))
            .await
            .unwrap()
    );
    assert!(
        second
            .mark_update_processed(UpdateId(7002), Timestamp(3))
            .await
            .unwrap()
    );
}
