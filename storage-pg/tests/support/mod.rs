//! Test databases: each test gets a fresh database on the server named by `DATABASE_URL`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`), dropped when the test is done.
//!
//! In CI (`CI=true`) a missing server fails the test. Elsewhere the test prints one line saying
//! how to start one and passes without running.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)] // Test support fails by panicking.

pub mod fake_server;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{Connection, PgConnection};

use shopbot_storage_pg::{PgOptions, PgStore};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The server's URL for administration (creating and dropping databases).
pub fn admin_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// `url` pointing at database `name` instead.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let server = match base.rsplit_once('/') {
        Some((server, _)) if server.contains("://") && !server.ends_with('/') => server,
        _ => base,
    };
    format!("{server}/{name}{query}")
}

/// A database that is dropped when this guard is.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs outside async; a thread with its own runtime does the async work.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                if let Ok(mut admin) = PgConnection::connect(&admin_url()).await {
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    let _ = sqlx::query(&sql).execute(&mut admin).await;
                }
            });
        })
        .join();
    }
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A fresh, empty database, or `None` (outside CI only) when no server answers.
pub async fn database() -> Option<TestDatabase> {
    let admin = admin_url();
    let mut conn = match PgConnection::connect(&admin).await {
        Ok(conn) => conn,
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("PostgreSQL at {admin} is required in CI: {e}")
        }
        Err(e) => {
            eprintln!(
                "skipping: no PostgreSQL at {admin} ({e}); start one (for example \
                 `pg_ctlcluster 15 main start`) or set DATABASE_URL"
            );
            return None;
        }
    };
    let name = format!(
        "shopbot_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await
        .expect("CREATE DATABASE");
    let url = with_database(&admin, &name);
    Some(TestDatabase { name, url })
}

/// A store on a fresh database, with the guard that drops the database.
pub async fn store() -> Option<(Arc<PgStore>, TestDatabase)> {
    store_with(PgOptions {
        max_connections: 12,
        ..PgOptions::default()
    })
    .await
}

/// A store with `options` on a fresh database, with the guard that drops the database.
pub async fn store_with(options: PgOptions) -> Option<(Arc<PgStore>, TestDatabase)> {
    let db = database().await?;
    let store = PgStore::connect_with(&db.url, options)
        .await
        .expect("the store opens on a fresh database");
    Some((Arc::new(store), db))
}
