//! PostgreSQL for the tests that need more than a fresh database: the server's address, SQL
//! run beside the binary, a role whose own database a URL without one would land in, and a
//! port where nothing listens. Fresh databases and the policy for a missing server come from
//! [`shopbot_storage_pg::testing`].

use std::sync::atomic::{AtomicU32, Ordering};

use shopbot_storage_pg::testing;

use super::on_runtime;

/// The test server's URL with database `name` instead.
pub fn pg_database_url(name: &str) -> String {
    testing::with_database(&testing::server_url(), name)
}

/// Where the test PostgreSQL server listens and who administers it.
pub fn pg_server() -> sqlx::postgres::PgConnectOptions {
    testing::server_url().parse().unwrap()
}

/// Whether a PostgreSQL server answers; outside CI a test may skip without one (after one line
/// on stderr), in CI it fails.
pub fn pg_available() -> bool {
    on_runtime(testing::server_available())
}

/// Runs `sql` (one or more statements) on the database at `url`.
pub fn pg_execute(url: &str, sql: &str) {
    on_runtime(testing::execute(url, sql)).unwrap();
}

/// Every table and view in the database at `url`'s own schemas, as `schema.name`.
pub fn pg_relations(url: &str) -> Vec<String> {
    on_runtime(testing::relations(url)).unwrap()
}

/// A login role with a database of the same name that it owns, both dropped after the test:
/// the database PostgreSQL picks for this role when a URL names none.
pub struct PgRole {
    /// The role's and its database's name.
    pub name: String,
}

impl PgRole {
    /// A new role and its database, or `None` outside CI when no server answers.
    pub fn create() -> Option<PgRole> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        if !pg_available() {
            return None;
        }
        let name = format!(
            "shopbot_cli_role_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        // Two statements: CREATE DATABASE cannot run in the transaction a batch makes.
        let server = testing::server_url();
        pg_execute(&server, &format!("CREATE ROLE \"{name}\" LOGIN"));
        pg_execute(
            &server,
            &format!("CREATE DATABASE \"{name}\" OWNER \"{name}\""),
        );
        Some(PgRole { name })
    }

    /// The role's own database, as the administrator reaches it.
    pub fn database_url(&self) -> String {
        pg_database_url(&self.name)
    }
}

impl Drop for PgRole {
    fn drop(&mut self) {
        let name = &self.name;
        let server = testing::server_url();
        // No panic here: a failed test unwinds through this guard, and a second panic would
        // abort the run.
        for sql in [
            format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            format!("DROP ROLE IF EXISTS \"{name}\""),
        ] {
            let _ = on_runtime(testing::execute(&server, &sql));
        }
    }
}

/// A port on loopback where nothing listens: it was free a moment ago and is closed again.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
