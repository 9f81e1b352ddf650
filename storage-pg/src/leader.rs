//! Leader election among instances sharing one database, for background jobs.
//!
//! The leader holds a session-level advisory lock on a connection of its own. Whether it still
//! leads is asked of the server (does this session hold the lock?), so when its connection dies
//! it stops leading at once, and another instance can take over. Each new leader takes the next
//! epoch; [`Leader::fenced`] runs a job's writes only while the stored epoch is still its own,
//! so a deposed leader's late write is refused.

use sqlx::postgres::PgConnection;
use sqlx::{Connection, Postgres, Transaction};

use shopbot_core::{Error, Result};

use crate::PgStore;

/// The advisory lock key of leadership (an arbitrary constant: "shopbot" in ASCII).
const LOCK_KEY: i64 = 0x73_686f_7062_6f74;

/// One instance's claim to leadership.
pub struct Leader {
    conn: PgConnection,
    name: String,
    epoch: Option<i64>,
}

/// A job's write refused because a newer leader exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("leadership moved on (epoch {mine} is no longer current)")]
pub struct Fenced {
    /// The epoch the job ran under.
    pub mine: i64,
}

impl Leader {
    /// A candidate named `name` (for people: which instance leads), on its own connection.
    pub async fn new(store: &PgStore, name: &str) -> Result<Leader> {
        let conn = PgConnection::connect_with(&store.options)
            .await
            .map_err(Error::internal)?;
        Ok(Leader {
            conn,
            name: name.to_owned(),
            epoch: None,
        })
    }

    /// Tries to lead. Returns the epoch while leading, `None` while another instance leads.
    /// Call it periodically: it also notices when leadership was lost.
    pub async fn try_lead(&mut self) -> Result<Option<i64>> {
        if self.epoch.is_some() && self.still_leading().await? {
            return Ok(self.epoch);
        }
        self.epoch = None;
        let acquired: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(LOCK_KEY)
            .fetch_one(&mut self.conn)
            .await
            .map_err(Error::internal)?;
        if !acquired {
            return Ok(None);
        }
        let epoch: i64 = sqlx::query_scalar(
            "UPDATE leadership SET epoch = epoch + 1, holder = $1 RETURNING epoch",
        )
        .bind(&self.name)
        .fetch_one(&mut self.conn)
        .await
        .map_err(Error::internal)?;
        // The process that runs the jobs says so at info; this is the detail beneath it.
        tracing::debug!(instance = %self.name, epoch, "leading background jobs");
        self.epoch = Some(epoch);
        Ok(self.epoch)
    }

    /// Whether this instance leads right now, as the server sees it. A dead connection leads
    /// nothing.
    pub async fn is_leader(&mut self) -> bool {
        self.epoch.is_some() && self.still_leading().await.unwrap_or(false)
    }

    async fn still_leading(&mut self) -> Result<bool> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' \
             AND pid = pg_backend_pid() AND granted \
             AND ((classid::BIGINT << 32) | objid::BIGINT) = $1)",
        )
        .bind(LOCK_KEY)
        .fetch_one(&mut self.conn)
        .await
        .map_err(Error::internal)
    }

    /// The epoch this instance leads under, as last seen.
    pub fn epoch(&self) -> Option<i64> {
        self.epoch
    }

    /// The server process id of the leadership connection (for operators and tests).
    pub async fn backend_pid(&mut self) -> Result<i32> {
        sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut self.conn)
            .await
            .map_err(Error::internal)
    }

    /// Starts a job's transaction fenced by `epoch`: it holds a share lock on the leadership
    /// row, so no new leader can take over until it commits, and it is refused if a newer
    /// leader already has.
    pub async fn fenced(store: &PgStore, epoch: i64) -> Result<Transaction<'static, Postgres>> {
        let mut tx = store.pool.begin().await.map_err(Error::internal)?;
        let current: i64 = sqlx::query_scalar("SELECT epoch FROM leadership FOR SHARE")
            .fetch_one(&mut *tx)
            .await
            .map_err(Error::internal)?;
        if current != epoch {
            return Err(Error::Conflict(Fenced { mine: epoch }.to_string()));
        }
        Ok(tx)
    }
}

/// The server process id of the session that leads the background jobs in this database (it
/// holds the leadership lock), or `None` when no instance leads. For a short-lived process
/// deciding whether to ask the leader for a job round or to run it itself, and for operators
/// and tests finding the leader's connection.
pub async fn leader_pid(store: &PgStore) -> Result<Option<i32>> {
    // Advisory locks are per database; pg_locks shows every database's.
    sqlx::query_scalar(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND ((classid::BIGINT << 32) | objid::BIGINT) = $1 LIMIT 1",
    )
    .bind(LOCK_KEY)
    .fetch_optional(&store.pool)
    .await
    .map_err(Error::internal)
}
