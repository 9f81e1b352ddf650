//! # shopbot-storage-pg
//!
//! shopbot's PostgreSQL store, for operators who run several bot instances on one database.
//! Every storage command is atomic: one transaction, or for the purchase commands part of a
//! group that commits together (`group.rs`), each command whole or not at all; the schema
//! itself holds the invariants (balances that cannot go negative, one order per unit, unique
//! idempotency keys and payment charges), so even a bug in a caller cannot break them.
//! Migrations are embedded and applied at start under an advisory lock.
//!
//! Several instances may share one database: [`Leader`] elects the one that runs background
//! jobs, with epochs that fence a deposed leader's late writes, and
//! `Storage::mark_update_processed` makes a redelivered messenger update count once, across instances.
//! [`PgStore::export_dump`] and [`PgStore::import_dump`] move a whole shop in and out as a
//! storage-neutral dump (`shopbot migrate`).

#![warn(missing_docs)]

mod batch;
mod catalog;
mod check;
mod checkout;
mod claims;
mod convert;
mod dump;
mod error;
mod group;
mod held;
mod invoices;
mod leader;
mod records;
mod refusal;
mod rows;
mod storage;
mod users;
mod wallet;

use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};

use shopbot_core::ids::{ProductId, UserId};
use shopbot_core::{Error, Result};

use batch::Batcher;
use claims::ClaimStarts;
use group::Groups;

pub use leader::{Fenced, Leader};

/// The embedded migrations (`storage-pg/migrations/`).
pub static MIGRATOR: Migrator = sqlx::migrate!();

/// Connection pool settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgOptions {
    /// The most connections the pool opens.
    pub max_connections: u32,
    /// How long a command waits for a free connection before it fails.
    pub acquire_timeout: Duration,
    /// How long one statement may run before the server cancels it.
    pub statement_timeout: Duration,
    /// How many groups of purchase commands (cart edits and checkouts) may be in flight at
    /// once, and as many batches of each read a purchase makes first. Fewer lanes gather
    /// bigger groups under load, sharing each round trip, commit and statement among more
    /// buyers; more lanes let a group that waits (for a lock another instance holds) hold up
    /// fewer buyers. A quiet store sends every command at once either way. At least one lane
    /// runs whatever this says.
    ///
    /// Each lane keeps a connection of the pool for itself, so `max_connections` must be
    /// more than three times `lanes` (commands and the two reads), leaving some for the rest.
    pub lanes: usize,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
            lanes: 1,
        }
    }
}

/// Why the store could not be opened. Each says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum PgOpenError {
    /// The URL is not a PostgreSQL URL.
    #[error("`{url}` is not a PostgreSQL URL ({reason}); use postgres://user@host:port/database")]
    Url {
        /// The URL, without its password.
        url: String,
        /// Why.
        reason: String,
    },
    /// The server could not be reached or refused the connection.
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(sqlx::Error),
    /// The database was migrated by a newer shopbot.
    #[error(
        "the database schema has migration {0}, which this shopbot does not know: it was \
         upgraded by a newer shopbot; upgrade this one to use it"
    )]
    NewerSchema(i64),
    /// A migration failed.
    #[error("migrating the database failed: {0}")]
    Migrate(MigrateError),
    /// The options leave no connection free once the lanes have taken theirs.
    #[error(
        "{lanes} lane(s) keep {kept} connections, but max_connections is {max_connections}: \
         raise max_connections above {kept} or lower lanes"
    )]
    TooFewConnections {
        /// The lanes asked for.
        lanes: usize,
        /// The connections they keep.
        kept: usize,
        /// The pool's size asked for.
        max_connections: u32,
    },
}

/// The PostgreSQL store.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    groups: Arc<Groups>,
    claim_starts: Arc<ClaimStarts>,
    reads: Arc<Reads>,
    options: PgConnectOptions,
    password: Option<String>,
}

/// The reads a purchase makes before its commands, shared by concurrent callers (`batch.rs`).
struct Reads {
    products: Batcher<(UserId, ProductId), catalog::CallerAndProduct>,
    carts: Batcher<UserId, catalog::CallerAndCart>,
}

impl Reads {
    fn start(pool: &PgPool, lanes: usize) -> Reads {
        Reads {
            products: Batcher::start(pool, lanes, |c, asked| {
                Box::pin(catalog::users_with_products(c, asked))
            }),
            carts: Batcher::start(pool, lanes, |c, asked| {
                Box::pin(catalog::users_with_carts(c, asked))
            }),
        }
    }
}

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
    /// The lanes that run purchase commands and their reads are tasks on the runtime this is
    /// called on: use the store on that runtime, and while it runs.
    pub async fn connect_with(
        url: &str,
        options: PgOptions,
    ) -> std::result::Result<Self, PgOpenError> {
        let connect: PgConnectOptions = url.parse().map_err(|e: sqlx::Error| PgOpenError::Url {
            url: redact(url),
            reason: e.to_string(),
        })?;
        let lanes = options.lanes.max(1);
        let kept = lanes.saturating_mul(LANE_KINDS);
        if usize::try_from(options.max_connections).is_ok_and(|max| max <= kept) {
            return Err(PgOpenError::TooFewConnections {
                lanes,
                kept,
                max_connections: options.max_connections,
            });
        }
        let timeout = options.statement_timeout.as_millis().to_string();
        // The store's statements are short key lookups and writes. A plan the server thinks
        // costly (a new shop's tables carry no statistics yet) would otherwise be compiled to
        // machine code on every run, which takes far longer than running it.
        let connect = connect
            .options([("statement_timeout", timeout.as_str()), ("jit", "off")])
            .log_statements(tracing::log::LevelFilter::Trace);
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
            .connect_with(connect.clone())
            .await
            .map_err(PgOpenError::Connect)?;
        match MIGRATOR.run(&pool).await {
            Ok(()) => {}
            Err(MigrateError::VersionMissing(version)) => {
                return Err(PgOpenError::NewerSchema(version));
            }
            Err(e) => return Err(PgOpenError::Migrate(e)),
        }
        Ok(PgStore {
            groups: Arc::new(Groups::start(&pool, lanes)),
            claim_starts: Arc::default(),
            reads: Arc::new(Reads::start(&pool, lanes)),
            pool,
            options: connect,
            password: password_of(url),
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

/// The password in a URL's user info, percent-decoding left to the server tools (they accept
/// the same form).
fn password_of(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split('/').next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    Some(password.to_owned())
}

/// A URL with any password replaced, for messages.
fn redact(url: &str) -> String {
    // Anything that could be a password goes: the user info's password, and every query
    // parameter's value (`password=` and the like).
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut out = match (base.find("://"), base.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = base.get(scheme + 3..at).unwrap_or_default();
            match userinfo.split_once(':') {
                Some((user, _)) => format!(
                    "{}{user}:***{}",
                    base.get(..scheme + 3).unwrap_or_default(),
                    base.get(at..).unwrap_or_default()
                ),
                None => base.to_owned(),
            }
        }
        _ => base.to_owned(),
    };
    if let Some(query) = query {
        let masked: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) => format!("{name}=***"),
                None => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&masked.join("&"));
    }
    out
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
                lanes,
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
            lanes: 1,
            max_connections: 4,
            acquire_timeout: Duration::from_millis(50),
            ..PgOptions::default()
        };
        assert!(matches!(
            PgStore::connect_with(url, enough).await,
            Err(PgOpenError::Connect(_))
        ));
    }

    #[test]
    fn passwords_never_reach_a_message() {
        assert_eq!(
            redact("postgres://bob:s3cret@db:5432/shop"),
            "postgres://bob:***@db:5432/shop"
        );
        assert_eq!(redact("postgres://db/shop"), "postgres://db/shop");
        assert_eq!(redact("postgres://bob@db/shop"), "postgres://bob@db/shop");
        assert_eq!(
            redact("postgres://db/shop?password=s3cret&sslmode=bogus"),
            "postgres://db/shop?password=***&sslmode=***"
        );
    }
}
