//! Starting against a database: only an empty database or a shop's own is migrated (another
//! application's is refused and left exactly as it was), instances starting together migrate
//! once, a schema from a newer or a different shopbot is refused with advice, and a redelivered
//! messenger update counts once across instances.

#![allow(clippy::unwrap_used)] // Tests fail by panicking.

use sqlx::{Connection, PgConnection};

use shopbot_core::ids::UpdateId;
use shopbot_core::ports::Storage;
use shopbot_core::time::Timestamp;
use shopbot_storage_pg::testing::{self, TestDatabase};
use shopbot_storage_pg::{MIGRATOR, PgOpenError, PgStore};

#[tokio::test]
async fn a_schema_migrated_by_a_newer_shopbot_is_refused_with_advice() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let store = PgStore::connect(db.url()).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations \
         (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', TRUE, '\\x00', 0)",
    )
    .execute(store.pool())
    .await
    .unwrap();
    store.close().await;

    match PgStore::connect(db.url()).await {
        Err(error @ PgOpenError::NewerSchema(9999)) => {
            assert!(error.to_string().contains("upgrade"), "{error}");
        }
        Err(other) => panic!("expected a newer-schema refusal, got {other}"),
        Ok(_) => panic!("a newer schema must not open"),
    }
}

#[tokio::test]
async fn a_redelivered_update_counts_once_across_instances() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let first = PgStore::connect(db.url()).await.unwrap();
    let second = PgStore::connect(db.url()).await.unwrap();
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

#[tokio::test]
async fn a_database_of_another_application_is_refused_and_left_as_it_was() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    // One of its tables has the name of one of ours, one lives in a schema of its own.
    testing::execute(
        db.url(),
        "CREATE TABLE users (login TEXT PRIMARY KEY); \
         CREATE SCHEMA billing; CREATE TABLE billing.charges (id BIGINT); \
         CREATE VIEW active_users AS SELECT login FROM users",
    )
    .await
    .unwrap();
    let before = testing::relations(db.url()).await.unwrap();

    let error = match PgStore::connect(db.url()).await {
        Ok(_) => panic!("another application's database must not be migrated"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains(&format!("`{}`", db.name())), "{error}");
    assert!(error.contains("billing.charges"), "{error}");
    assert!(error.contains("public.users"), "{error}");
    assert!(error.contains("nothing was changed"), "{error}");
    assert_eq!(
        testing::relations(db.url()).await.unwrap(),
        before,
        "no _sqlx_migrations, no table"
    );
}

#[tokio::test]
async fn a_stray_migrations_table_of_another_application_counts_as_foreign() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    testing::execute(
        db.url(),
        "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
         installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, \
         checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL); \
         INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (20240101, 'create accounts', TRUE, '\\x01', 1)",
    )
    .await
    .unwrap();
    let before = testing::relations(db.url()).await.unwrap();

    let error = match PgStore::connect(db.url()).await {
        Ok(_) => panic!("another application's migrations must not be extended"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("another application"), "{error}");
    assert_eq!(testing::relations(db.url()).await.unwrap(), before);
}

#[tokio::test]
async fn a_shop_database_with_tables_of_the_operators_own_still_opens() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    PgStore::connect(db.url()).await.unwrap().close().await;
    testing::execute(db.url(), "CREATE TABLE monthly_report (month DATE)")
        .await
        .unwrap();

    let store = PgStore::connect(db.url()).await.unwrap();
    store.health().await.unwrap();
}

#[tokio::test]
async fn an_empty_database_left_with_only_an_empty_migrations_table_still_opens() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    // What a first migration that failed half way leaves: sqlx's table, no rows.
    testing::execute(
        db.url(),
        "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
         installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, \
         checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL)",
    )
    .await
    .unwrap();
    PgStore::connect(db.url()).await.unwrap().close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_starting_together_on_an_empty_database_migrate_it_once() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let starts = (0..4).map(|_| {
        let url = db.url().to_owned();
        async move { PgStore::connect(&url).await }
    });
    let stores = futures_join_all(starts).await;
    for store in &stores {
        assert!(store.is_ok(), "{:?}", store.as_ref().err());
    }

    let mut conn = PgConnection::connect(db.url()).await.unwrap();
    let recorded: Vec<(i64, bool)> =
        sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let ours: Vec<(i64, bool)> = MIGRATOR.iter().map(|m| (m.version, true)).collect();
    assert_eq!(recorded, ours);
}

/// Runs every future at once on the runtime, each in a task of its own.
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let tasks: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for task in tasks {
        outputs.push(task.await.unwrap());
    }
    outputs
}

#[tokio::test]
async fn a_migration_changed_since_it_was_applied_is_refused_with_our_advice() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    PgStore::connect(db.url()).await.unwrap().close().await;
    let migration = MIGRATOR.iter().next().unwrap();
    let (version, description) = (migration.version, migration.description.to_string());
    testing::execute(
        db.url(),
        &format!("UPDATE _sqlx_migrations SET checksum = '\\x00' WHERE version = {version}"),
    )
    .await
    .unwrap();

    let error = match PgStore::connect(db.url()).await {
        Ok(_) => panic!("a changed migration must not open"),
        Err(error) => error.to_string(),
    };
    assert!(
        error.contains(&format!("migration {version} ({description})")),
        "{error}"
    );
    assert!(error.contains("different edition"), "{error}");
    assert!(
        !error.contains("previously applied"),
        "not sqlx's text: {error}"
    );
}

#[tokio::test]
async fn a_migration_that_never_finished_is_refused_with_our_advice() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    PgStore::connect(db.url()).await.unwrap().close().await;
    let version = MIGRATOR.iter().next().unwrap().version;
    testing::execute(
        db.url(),
        &format!("UPDATE _sqlx_migrations SET success = FALSE WHERE version = {version}"),
    )
    .await
    .unwrap();

    let error = match PgStore::connect(db.url()).await {
        Ok(_) => panic!("a half-applied migration must not open"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains(&format!("migration {version} (")), "{error}");
    assert!(error.contains("did not finish"), "{error}");
    assert!(
        !error.contains("partially applied"),
        "not sqlx's text: {error}"
    );
}
