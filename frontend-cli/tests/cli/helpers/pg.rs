//! PostgreSQL for the tests that need more than a fresh database: the server's address, SQL
//! run beside the binary, a role whose own database a URL without one would land in, and a
//! port where nothing listens.

use super::{on_runtime, pg_admin_url, rand_suffix};

/// The administrator's URL with database `name` instead.
pub fn pg_database_url(name: &str) -> String {
    let admin_url = pg_admin_url();
    match admin_url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => format!("{admin_url}/{name}"),
    }
}

/// Where the test PostgreSQL server listens and who administers it.
pub fn pg_server() -> sqlx::postgres::PgConnectOptions {
    pg_admin_url().parse().unwrap()
}

/// Whether a PostgreSQL server answers; outside CI a test may skip without one (after one line
/// on stderr), in CI it fails.
pub fn pg_available() -> bool {
    use sqlx::Connection;
    let admin_url = pg_admin_url();
    match on_runtime(sqlx::PgConnection::connect(&admin_url)) {
        Ok(_) => true,
        Err(e) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "PostgreSQL at {admin_url} is required in CI: {e}"
            );
            eprintln!("skipping: no PostgreSQL at {admin_url} ({e})");
            false
        }
    }
}

/// Runs `sql` (one or more statements) on the database at `url`.
pub fn pg_execute(url: &str, sql: &str) {
    use sqlx::Connection;
    on_runtime(async {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    });
}

/// Every table and view in the database at `url`'s own schemas, as `schema.name`.
pub fn pg_relations(url: &str) -> Vec<String> {
    use sqlx::Connection;
    on_runtime(async {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        let names = sqlx::query_scalar(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') \
             AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
             AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
        names
    })
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
        if !pg_available() {
            return None;
        }
        let name = format!("shopbot_cli_role_{}_{}", std::process::id(), rand_suffix());
        // Two statements: CREATE DATABASE cannot run in the transaction a batch makes.
        pg_execute(&pg_admin_url(), &format!("CREATE ROLE \"{name}\" LOGIN"));
        pg_execute(
            &pg_admin_url(),
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
        use sqlx::Connection;
        let name = &self.name;
        on_runtime(async {
            if let Ok(mut admin) = sqlx::PgConnection::connect(&pg_admin_url()).await {
                let database = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                let _ = sqlx::raw_sql(&database).execute(&mut admin).await;
                let role = format!("DROP ROLE IF EXISTS \"{name}\"");
                let _ = sqlx::raw_sql(&role).execute(&mut admin).await;
            }
        });
    }
}

/// A port on loopback where nothing listens: it was free a moment ago and is closed again.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
