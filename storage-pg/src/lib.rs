//! # shopbot-storage-pg
//!
//! shopbot's PostgreSQL store, for operators who run several bot instances on one database.
//! Every storage command is atomic: one transaction, or for the purchase commands part of a
//! group that commits together (`lanes/commands.rs`), each command whole or not at all; the schema
//! itself holds the invariants (balances that cannot go negative, one order per unit, unique
//! idempotency keys and payment charges), so even a bug in a caller cannot break them.
//! Migrations are embedded and applied at start under an advisory lock.
//!
//! A store is opened on purpose: its URL must name the database, and only an empty database or
//! a shop's own is migrated (`migrate.rs`). A store that does not open says why in a
//! [`PgOpenError`] (refused, timed out, authentication, a missing database with the `createdb`
//! that makes it), and no message or log line shows a secret of the URL: they all show it
//! through [`redact_url`].
//!
//! Several instances may share one database: [`Leader`] elects the one that runs background
//! jobs, with epochs that fence a deposed leader's late writes, and
//! `Storage::mark_update_processed` makes a redelivered messenger update count once, across instances.
//! [`PgStore::export_dump`] and [`PgStore::import_dump`] move a whole shop in and out as a
//! storage-neutral dump (`shopbot migrate`).

#![warn(missing_docs)]

mod catalog;
mod category_edits;
mod check;
mod checkout;
mod claims;
mod command;
mod convert;
mod dump;
mod error;
mod invoices;
mod job_records;
mod lanes;
mod leader;
mod migrate;
mod notices;
mod open;
mod purchases;
mod records;
mod refusal;
mod rows;
mod shop_run;
mod stock;
mod storage;
mod store_url;
#[cfg(feature = "testing")]
pub mod testing;
mod users;
mod wallet;

use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};

use shopbot_core::{Error, Result};

use claims::ClaimStarts;
use purchases::{Purchases, ReadSql};
use store_url::Target;

pub use leader::{Fenced, Leader, leader_pid};
pub use open::PgOpenError;
pub use purchases::PurchasePath;
pub use store_url::redact_url;

/// The embedded migrations (`storage-pg/migrations/`).
pub static MIGRATOR: Migrator = sqlx::migrate!();

/// Connection pool settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgOptions {
    /// The most connections the pool opens.
    pub max_connections: u32,
    /// How long a command waits for a free connection before it fails, and how long opening
    /// the store waits for the server to answer its first connection.
    pub acquire_timeout: Duration,
    /// How long one statement may run before the server cancels it.
    pub statement_timeout: Duration,
    /// How purchases reach the server: each read and command on its own, or through lanes
    /// shared by concurrent buyers. Fewer lanes gather bigger groups under load, sharing each
    /// round trip, commit and statement among more buyers; more lanes let a group that waits
    /// (for a lock another instance holds) hold up fewer buyers. A quiet store sends every
    /// command at once either way. At least one lane runs whatever this says.
    ///
    /// Each lane keeps a connection of the pool for itself, so `max_connections` must be
    /// more than three times the lanes (commands and the two reads), leaving some for the rest.
    pub purchases: PurchasePath,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
            purchases: PurchasePath::Lanes(1),
        }
    }
}

/// The PostgreSQL store.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    purchases: Arc<Purchases>,
    claim_starts: Arc<ClaimStarts>,
    options: PgConnectOptions,
    password: Option<String>,
    /// The leader's epoch every writing command of this handle is fenced by, if any
    /// ([`PgStore::fenced`]).
    fence: Option<i64>,
}

/// The SQL of the reads before a purchase's commands.
const READS: ReadSql = ReadSql {
    products: |c, asked| Box::pin(catalog::users_with_products(c, asked)),
    carts: |c, asked| Box::pin(catalog::users_with_carts(c, asked)),
};

/// The kinds of lane, each keeping a connection per lane: purchase commands, and the two reads.
const LANE_KINDS: usize = 3;

/// A pooled connection idle at least this long is pinged before use; a busier one is not.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_millis(500);

/// How many times a transaction that lost a race (serialization failure, deadlock, a twin's
/// unique key) is run again before giving up.
const ATTEMPTS: usize = 8;

impl PgStore {
    /// Connects with default pool settings and brings the schema up to date.
    pub async fn connect(url: &str) -> std::result::Result<Self, PgOpenError> {
        PgStore::connect_with(url, PgOptions::default()).await
    }

    /// Connects with `options` and brings the schema up to date. Several instances may start
    /// at once: migrations run under an advisory lock, each in its own transaction.
    ///
    /// # Errors
    ///
    /// [`PgOpenError`], saying why and what to do, and never showing a secret of `url`: a URL
    /// that does not parse or names no database (before connecting); a server that refuses,
    /// does not answer within `acquire_timeout`, or turns the login away; a database that
    /// does not exist; a database that holds another application's tables and no shopbot
    /// schema (left exactly as it was); a schema from a newer or a different shopbot.
    ///
    /// The lanes that run purchase commands and their reads are tasks on the runtime this is
    /// called on: use the store on that runtime, and while it runs.
    pub async fn connect_with(
        url: &str,
        options: PgOptions,
    ) -> std::result::Result<Self, PgOpenError> {
        PgStore::open(url, options, true).await
    }

    /// [`connect_with`](Self::connect_with) for a database that must already hold a shop: one
    /// without shopbot's schema is refused with [`PgOpenError::NoShop`] and nothing is written
    /// to it (a schema that is there is still brought up to date).
    pub async fn open_existing(
        url: &str,
        options: PgOptions,
    ) -> std::result::Result<Self, PgOpenError> {
        PgStore::open(url, options, false).await
    }

    async fn open(
        url: &str,
        options: PgOptions,
        install: bool,
    ) -> std::result::Result<Self, PgOpenError> {
        let mut target = Target::parse(url)?;
        if let PurchasePath::Lanes(lanes) = options.purchases {
            let lanes = lanes.max(1);
            let kept = lanes.saturating_mul(LANE_KINDS);
            if usize::try_from(options.max_connections).is_ok_and(|max| max <= kept) {
                return Err(PgOpenError::TooFewConnections {
                    lanes,
                    kept,
                    max_connections: options.max_connections,
                });
            }
        }
        let timeout = options.statement_timeout.as_millis().to_string();
        // The store's statements are short key lookups and writes. A plan the server thinks
        // costly (a new shop's tables carry no statistics yet) would otherwise be compiled to
        // machine code on every run, which takes far longer than running it.
        target.options = target
            .options
            .options([("statement_timeout", timeout.as_str()), ("jit", "off")])
            .log_statements(tracing::log::LevelFilter::Trace);

        let mut first = open::first_connection(&target, options.acquire_timeout).await?;
        let migrated = migrate::migrate(&mut first, &target, install).await;
        // Closing also releases the migration lock a failed migration leaves taken.
        open::close(first).await;
        migrated?;

        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            // sqlx pings every connection it hands out by default: one more round trip per
            // command. Only a connection that sat idle for a while is pinged (as HikariCP
            // does); one that fails the ping is dropped and another taken.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_WHEN_IDLE_FOR {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(target.options.clone())
            .await
            .map_err(|error| open::connect_error(&target, error, options.acquire_timeout))?;
        Ok(PgStore {
            purchases: Arc::new(Purchases::start(&pool, options.purchases, READS)),
            claim_starts: Arc::default(),
            pool,
            options: target.options,
            password: target.password,
            fence: None,
        })
    }

    /// Where the store connects, for tools such as `pg_dump` (without the password; see
    /// [`password`](Self::password)).
    pub fn connect_options(&self) -> &PgConnectOptions {
        &self.options
    }

    /// The password the store connects with, if any, for tools that must pass it on.
    pub fn password(&self) -> Option<String> {
        self.password.clone()
    }

    /// The connection pool, for tools that need SQL of their own (backups, checks).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Whether the database answers.
    pub async fn health(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(Error::internal)
    }

    /// Every broken invariant of the stored state, described; empty when the store is sound.
    pub async fn check(&self) -> Result<Vec<String>> {
        check::check(&self.pool).await
    }

    /// Closes the pool, waiting for connections in use to come back.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Whether `url` is a PostgreSQL URL a store can be opened from: it parses and names its
/// database (in the path or as `dbname=`). Connects to nothing; the refusal names the URL only
/// as [`redact_url`] shows it.
pub fn check_url(url: &str) -> std::result::Result<(), PgOpenError> {
    Target::parse(url).map(drop)
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("database", &self.options.get_database())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn options_whose_lanes_would_keep_every_connection_are_refused_before_connecting() {
        // Nothing listens on port 1: the options are refused before any connecting.
        let url = "postgres://nobody@127.0.0.1:1/shop";
        for (lanes, max_connections) in [(1, 3), (2, 6), (0, 2)] {
            let options = PgOptions {
                purchases: PurchasePath::Lanes(lanes),
                max_connections,
                ..PgOptions::default()
            };
            match PgStore::connect_with(url, options).await {
                Err(e @ PgOpenError::TooFewConnections { .. }) => {
                    let message = e.to_string();
                    assert!(message.contains("raise max_connections"), "{message}");
                }
                Err(other) => panic!("lanes {lanes}, max {max_connections}: {other}"),
                Ok(_) => panic!("lanes {lanes}, max {max_connections}: opened"),
            }
        }
        let enough = PgOptions {
            purchases: PurchasePath::Lanes(1),
            max_connections: 4,
            acquire_timeout: Duration::from_millis(50),
            ..PgOptions::default()
        };
        assert!(matches!(
            PgStore::connect_with(url, enough).await,
            Err(PgOpenError::ConnectionRefused { .. })
        ));
    }
}
