//! For tests of this crate and of crates built on it (the `testing` feature): throwaway
//! databases on a PostgreSQL server, and the purchase commands as the server-side functions
//! take them, so a test can call those functions itself.
//!
//! # Throwaway databases
//!
//! A [`TestDatabase`] is a new, empty, uniquely named database on the server that
//! `DATABASE_URL` names (default [`DEFAULT_SERVER_URL`]), dropped `WITH (FORCE)` when the
//! guard is dropped, so a test leaves nothing behind even if a connection is still open or the
//! test panicked.
//!
//! Every test that needs a server follows one policy when none answers:
//!
//! - in CI (`CI=true`) the test fails, saying which server it could not reach;
//! - anywhere else it prints one line on stderr saying how to start one, and passes without
//!   running, so that `cargo test` works on a machine without PostgreSQL.
//!
//! [`TestDatabase::create`] and [`server_available`] apply that policy.
//! [`TestDatabase::recreate`], for programs such as the benchmarks, applies none: it reports
//! the error, and it takes a fixed name, so that each run clears away what an interrupted one
//! left behind.
//!
//! ```no_run
//! # async fn a_test() {
//! use shopbot_storage_pg::PgStore;
//! use shopbot_storage_pg::testing::TestDatabase;
//!
//! let Some(db) = TestDatabase::create().await else {
//!     return; // No server here, and not in CI: the line saying so is printed.
//! };
//! let store = PgStore::connect(db.url()).await.unwrap();
//! // … the test; `db` drops the database when it goes out of scope.
//! # drop(store);
//! # }
//! ```
//!
//! This module drops no database but its own (or, for [`TestDatabase::recreate`], one of the
//! name it is given). It is for tests and the benchmark program only: nothing in a shop's
//! binaries enables the feature.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::{Connection, PgConnection};

pub use crate::command::{Command, CommitCheckout, EditCart};
use crate::store_url::redact_url;

/// The server tests use when `DATABASE_URL` is not set: the local one, as its administrator.
pub const DEFAULT_SERVER_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The URL of the server tests create their databases on, as its administrator: `DATABASE_URL`,
/// or [`DEFAULT_SERVER_URL`].
pub fn server_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_SERVER_URL.to_owned())
}

/// `url` with database `name` in place of the one it names (or added, if it names none); the
/// user, host, port and any `?parameters` stay.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    // Only a slash after the `scheme://` part starts a database name: in `postgres://host`
    // the last slash is the scheme's own.
    let server = match base.rsplit_once('/') {
        Some((server, _)) if server.contains("://") && !server.ends_with('/') => server,
        _ => base,
    };
    format!("{server}/{name}{query}")
}

/// Whether the test server answers, under the policy of this module: `false` (after one line
/// on stderr saying how to start one) when it does not, outside CI.
///
/// For tests that need the server but not a [`TestDatabase`] of their own.
///
/// # Panics
///
/// In CI (`CI=true`) when the server does not answer: there a test must not pass unrun.
pub async fn server_available() -> bool {
    let server = server_url();
    match PgConnection::connect(&server).await {
        Ok(connection) => {
            // A failed goodbye still proved that the server answers.
            let _ = connection.close().await;
            true
        }
        Err(error) => {
            skip_outside_ci(&server, &error);
            false
        }
    }
}

/// Runs `sql` (one statement or several, separated by `;`) on the database at `url`, in a
/// connection of its own.
///
/// # Errors
///
/// When the database cannot be reached or a statement fails.
pub async fn execute(url: &str, sql: &str) -> Result<(), sqlx::Error> {
    let mut connection = PgConnection::connect(url).await?;
    sqlx::raw_sql(sql).execute(&mut connection).await?;
    connection.close().await
}

/// Every table, view and foreign table in the database at `url`, outside PostgreSQL's own
/// schemas, as sorted `schema.name`: what a test compares before and after to show that
/// nothing was created or dropped.
///
/// # Errors
///
/// When the database cannot be reached or read.
pub async fn relations(url: &str) -> Result<Vec<String>, sqlx::Error> {
    let mut connection = PgConnection::connect(url).await?;
    let names = sqlx::query_scalar(
        "SELECT n.nspname || '.' || c.relname FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') \
         AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
         AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1",
    )
    .fetch_all(&mut connection)
    .await?;
    connection.close().await?;
    Ok(names)
}

/// A new, empty database on the test server, dropped (`WITH (FORCE)`, so open connections do
/// not keep it) when this guard is dropped.
///
/// From [`TestDatabase::create`], its name is unique across processes and runs:
/// `shopbot_test_<seconds>_<pid>_<n>`, the seconds since 1970 at its creation first, so that
/// one left behind by a killed test run shows its age. Dropping works from synchronous and
/// asynchronous code alike.
pub struct TestDatabase {
    name: String,
    url: String,
    server_url: String,
}

// By hand, so that a test printing its fixtures shows no password of `DATABASE_URL`.
impl std::fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabase")
            .field("name", &self.name)
            .field("url", &redact_url(&self.url))
            .finish()
    }
}

impl TestDatabase {
    /// A new database, or `None` outside CI when the server does not answer (after one line on
    /// stderr saying how to start one).
    ///
    /// # Panics
    ///
    /// In CI (`CI=true`) when the server does not answer, and anywhere when the server answers
    /// but refuses to create the database (a role without `CREATEDB`, say): that is a broken
    /// setup, not a missing one.
    pub async fn create() -> Option<TestDatabase> {
        let server = server_url();
        let admin = match PgConnection::connect(&server).await {
            Ok(admin) => admin,
            Err(error) => {
                skip_outside_ci(&server, &error);
                return None;
            }
        };
        match TestDatabase::create_on(admin, server, unique_name()).await {
            Ok(database) => Some(database),
            Err(error) => panic!("the test server refused to create a database: {error}"),
        }
    }

    /// A new, empty database called `name`, after dropping any database of that name (one an
    /// interrupted run left behind), or the error that prevented it: no policy applied. For
    /// programs that run one at a time and should fail without a server, such as the
    /// benchmarks; tests use [`TestDatabase::create`], whose names never collide.
    ///
    /// # Errors
    ///
    /// When the server does not answer, or refuses to drop or create the database.
    pub async fn recreate(name: &str) -> Result<TestDatabase, sqlx::Error> {
        let server = server_url();
        let mut admin = PgConnection::connect(&server).await?;
        sqlx::raw_sql(&drop_statement(name))
            .execute(&mut admin)
            .await?;
        TestDatabase::create_on(admin, server, name.to_owned()).await
    }

    /// Creates database `name` over `admin`, a connection to `server`, and closes that
    /// connection.
    async fn create_on(
        mut admin: PgConnection,
        server: String,
        name: String,
    ) -> Result<TestDatabase, sqlx::Error> {
        sqlx::raw_sql(&format!("CREATE DATABASE {}", quoted(&name)))
            .execute(&mut admin)
            .await?;
        // The database exists from here on: a failed goodbye must not lose its guard.
        let _ = admin.close().await;
        let url = with_database(&server, &name);
        Ok(TestDatabase {
            name,
            url,
            server_url: server,
        })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL of the database, as the server's administrator.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL of the server it lives on, as its administrator (for example, to create another
    /// database or end a connection from outside).
    pub fn server_url(&self) -> &str {
        &self.server_url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (server, name) = (self.server_url.clone(), self.name.clone());
        // `Drop` cannot await, and blocking on a runtime inside a test's own runtime panics:
        // a thread with a runtime of its own does the work, and the guard waits for it, so the
        // database is gone when the test ends.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| error.to_string())?;
            runtime
                .block_on(drop_database(&server, &name))
                .map_err(|error| error.to_string())
        })
        .join();
        let failure = match dropped {
            Ok(Ok(())) => return,
            Ok(Err(error)) => error,
            Err(_) => "the thread dropping it panicked".to_owned(),
        };
        // Panicking in `drop` while a failed test unwinds would abort the whole run; a line
        // naming what was left behind is the most a guard can do.
        eprintln!(
            "could not drop test database {} on {}: {failure}",
            self.name,
            redact_url(&self.server_url)
        );
    }
}

/// Drops database `name` on `server`.
async fn drop_database(server: &str, name: &str) -> Result<(), sqlx::Error> {
    let mut admin = PgConnection::connect(server).await?;
    sqlx::raw_sql(&drop_statement(name))
        .execute(&mut admin)
        .await?;
    admin.close().await
}

/// The statement that drops database `name` if it exists, ending its connections first: a
/// store a test forgot to close, or one a killed run left open, must not keep it.
fn drop_statement(name: &str) -> String {
    format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quoted(name))
}

/// `name` as a quoted SQL identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A database name no other test, process or earlier run has used.
fn unique_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let number = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("shopbot_test_{seconds}_{}_{number}", std::process::id())
}

/// The policy for a server that does not answer: fail in CI, say how to start one elsewhere.
fn skip_outside_ci(server: &str, error: &sqlx::Error) {
    let server = redact_url(server);
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("PostgreSQL at {server} is required in CI: {error}");
    }
    eprintln!(
        "skipping: no PostgreSQL at {server} ({error}); start one (for example \
         `pg_ctlcluster 15 main start`) or set DATABASE_URL"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_name_replaces_the_one_in_the_url_and_keeps_the_parameters() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "shop"),
            "postgres://postgres@127.0.0.1:5432/shop"
        );
        assert_eq!(
            with_database("postgres://u:p@db:6543/main?sslmode=disable", "shop"),
            "postgres://u:p@db:6543/shop?sslmode=disable"
        );
    }

    #[test]
    fn a_database_name_is_added_to_a_url_that_names_none() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1", "shop"),
            "postgres://postgres@127.0.0.1/shop"
        );
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1/?sslmode=disable", "shop"),
            "postgres://postgres@127.0.0.1/shop?sslmode=disable"
        );
    }

    #[test]
    fn a_quoted_name_keeps_its_quotes_inside_the_identifier() {
        assert_eq!(quoted("shop"), "\"shop\"");
        assert_eq!(quoted("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn names_differ_within_a_process_and_fit_a_postgresql_identifier() {
        let (first, second) = (unique_name(), unique_name());
        assert_ne!(first, second);
        assert!(first.len() <= 63, "{first}");
        assert!(
            first
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{first}"
        );
    }
}
