//! Why a store did not open, in words an operator can act on.
//!
//! Owns [`PgOpenError`] and the first, direct connection a store makes: sqlx's pool retries a
//! failing connection until its timeout and then reports only "pool timed out", so the store
//! connects once by itself first and names the real cause (refused, timed out, authentication,
//! a missing database). Every text taken from the driver or the server goes through
//! [`Target::scrub`]: no error of this crate holds a secret of the URL, or the URL unredacted.

use std::time::Duration;

use sqlx::postgres::PgConnection;
use sqlx::{ConnectOptions, Connection};

use crate::store_url::Target;

/// Why the store could not be opened. Each says what to do about it, and none shows a secret
/// of the URL: the URL appears only as [`redact_url`](crate::redact_url) shows it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgOpenError {
    /// The URL is not a PostgreSQL URL.
    #[error(
        "`{url}` is not a PostgreSQL URL ({reason}); write it as \
         postgres://USER:PASSWORD@HOST:PORT/DATABASE, percent-encoding any `@ : / ? # &` in \
         the password (`@` as %40)"
    )]
    Url {
        /// The URL, redacted.
        url: String,
        /// Why.
        reason: String,
    },
    /// The URL names no database, so the server would pick one (often the user's own).
    #[error(
        "`{url}` names no database: write it as postgres://USER@HOST/DATABASE, or add \
         ?dbname=DATABASE (shopbot does not let the server choose one)"
    )]
    NoDatabase {
        /// The URL, redacted.
        url: String,
    },
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
    /// Nothing listens where the URL points.
    #[error(
        "cannot connect to PostgreSQL at {server}: connection refused; is the server running \
         on {server}?"
    )]
    ConnectionRefused {
        /// `host:port`, or the socket's path.
        server: String,
    },
    /// The server did not answer in time.
    #[error(
        "cannot connect to PostgreSQL at {server}: timed out after {after:?} without an answer; \
         check that the server is up and reachable from here (a firewall may drop the \
         connection)"
    )]
    TimedOut {
        /// `host:port`, or the socket's path.
        server: String,
        /// How long the store waited.
        after: Duration,
    },
    /// The host could not be reached at all (an unknown name, no route).
    #[error(
        "cannot reach PostgreSQL at {server}: {reason}; check the host and port in the store URL"
    )]
    Unreachable {
        /// `host:port`, or the socket's path.
        server: String,
        /// Why, in the system's words.
        reason: String,
    },
    /// TLS could not be set up as the URL asks.
    #[error(
        "cannot set up TLS with PostgreSQL at {server}: {reason}; check sslmode and the \
         certificate parameters of the store URL"
    )]
    Tls {
        /// `host:port`, or the socket's path.
        server: String,
        /// Why.
        reason: String,
    },
    /// The server turned the login away (SQLSTATE 28P01 or 28000).
    #[error(
        "PostgreSQL at {server} refused to authenticate user `{user}`: {reason}; {}",
        authentication_advice(.code)
    )]
    Authentication {
        /// `host:port`, or the socket's path.
        server: String,
        /// The user the URL logs in as.
        user: String,
        /// The SQLSTATE: `28P01` (wrong password) or `28000` (not admitted at all).
        code: String,
        /// The server's words.
        reason: String,
    },
    /// The database the URL names does not exist (SQLSTATE 3D000).
    #[error(
        "database `{database}` does not exist on PostgreSQL at {server}: create it with \
         `{createdb}`, or correct the database name in the store URL"
    )]
    MissingDatabase {
        /// The database the URL names.
        database: String,
        /// `host:port`, or the socket's path.
        server: String,
        /// The `createdb` command that creates it.
        createdb: String,
    },
    /// Any other failure to connect (the server is starting up, has too many clients, …).
    #[error("cannot connect to PostgreSQL at {server}: {reason}")]
    Connect {
        /// `host:port`, or the socket's path.
        server: String,
        /// Why, in the server's or the driver's words.
        reason: String,
    },
    /// The database holds another application's tables and no shopbot schema. Nothing was
    /// changed in it.
    #[error(
        "database `{database}` holds {found} and no shopbot schema: it belongs to another \
         application, so shopbot installs nothing there; nothing was changed. Create a \
         database for the shop (createdb NAME) and name it in the store URL"
    )]
    ForeignDatabase {
        /// The database.
        database: String,
        /// What was found, described (some of the tables, or the other migrations).
        found: String,
    },
    /// The database holds no shopbot schema, and the store was opened as an existing shop
    /// ([`PgStore::open_existing`](crate::PgStore::open_existing)): nothing was written.
    #[error("database `{database}` holds no shop yet: create one with `shopbot init`")]
    NoShop {
        /// The database.
        database: String,
    },
    /// The database was migrated by a newer shopbot.
    #[error(
        "the database schema has migration {0}, which this shopbot does not know: it was \
         upgraded by a newer shopbot; upgrade this one to use it"
    )]
    NewerSchema(i64),
    /// A migration recorded in the database differs from this shopbot's migration of the same
    /// number (a checksum mismatch).
    #[error(
        "migration {version} ({description}) recorded in database `{database}` differs from \
         the one this shopbot carries: the database was set up by a different edition of \
         shopbot. Run the edition that set it up, or restore a backup into a new database; \
         shopbot does not build on a schema it does not recognise"
    )]
    ChangedMigration {
        /// The database.
        database: String,
        /// The migration's number.
        version: i64,
        /// What the migration does.
        description: String,
    },
    /// A migration is recorded as started but not finished.
    #[error(
        "migration {version} ({description}) is recorded in database `{database}` as started \
         but it did not finish: restore the database from a backup taken before it, or \
         complete it by hand and mark it done; shopbot does not build on a half-made schema"
    )]
    UnfinishedMigration {
        /// The database.
        database: String,
        /// The migration's number.
        version: i64,
        /// What the migration does.
        description: String,
    },
    /// Running a migration, or reading what was migrated, failed.
    #[error("migrating database `{database}` failed: {reason}")]
    Migrate {
        /// The database.
        database: String,
        /// Why, with advice where there is some.
        reason: String,
    },
}

fn authentication_advice(code: &str) -> &'static str {
    match code {
        "28P01" => "check the user name and password in the store URL (or in ~/.pgpass)",
        _ => {
            "ask the server's administrator to admit this user, database and host \
             (pg_hba.conf)"
        }
    }
}

/// One connection straight to the server, so that a failure names its cause. Gives up after
/// `timeout`.
pub(crate) async fn first_connection(
    target: &Target,
    timeout: Duration,
) -> Result<PgConnection, PgOpenError> {
    for name in &target.ignored {
        tracing::warn!(
            parameter = %name,
            "the store URL's parameter is not one the PostgreSQL driver reads; it is ignored \
             (its value is not shown)"
        );
    }
    match tokio::time::timeout(timeout, target.options.connect()).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(error)) => Err(connect_error(target, error, timeout)),
        Err(_elapsed) => Err(PgOpenError::TimedOut {
            server: target.server(),
            after: timeout,
        }),
    }
}

/// The cause of a failed connection to `target`, after waiting up to `timeout`.
pub(crate) fn connect_error(target: &Target, error: sqlx::Error, timeout: Duration) -> PgOpenError {
    let server = target.server();
    match error {
        sqlx::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => PgOpenError::ConnectionRefused { server },
            std::io::ErrorKind::TimedOut => PgOpenError::TimedOut {
                server,
                after: timeout,
            },
            _ => PgOpenError::Unreachable {
                server,
                reason: target.scrub(&io.to_string()),
            },
        },
        sqlx::Error::PoolTimedOut => PgOpenError::TimedOut {
            server,
            after: timeout,
        },
        sqlx::Error::Tls(tls) => PgOpenError::Tls {
            server,
            reason: target.scrub(&tls.to_string()),
        },
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some(code @ ("28P01" | "28000")) => PgOpenError::Authentication {
                server,
                user: target.options.get_username().to_owned(),
                code: code.to_owned(),
                reason: target.scrub(db.message()),
            },
            Some("3D000") => PgOpenError::MissingDatabase {
                database: target.database.clone(),
                server,
                createdb: target.createdb(),
            },
            _ => PgOpenError::Connect {
                server,
                reason: target.scrub(db.message()),
            },
        },
        other => PgOpenError::Connect {
            server,
            reason: target.scrub(&other.to_string()),
        },
    }
}

/// Closes a connection politely; one that fails to close is dropped, which closes it too.
pub(crate) async fn close(conn: PgConnection) {
    if let Err(error) = conn.close().await {
        tracing::debug!(%error, "closing the first connection failed");
    }
}
