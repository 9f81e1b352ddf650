//! Leader election among instances sharing one database, for background jobs, and the fence
//! that keeps a deposed leader's late writes out.
//!
//! The leader holds a session-level advisory lock on a connection of its own. Whether it still
//! leads is asked of the server (does this session hold the lock?), so when its connection dies
//! it stops leading at once, and another instance can take over. Each new leader takes the next
//! epoch (`UPDATE leadership SET epoch = epoch + 1`).
//!
//! A job's writes are fenced by the store, not by a check in the job: the jobs run on
//! [`PgStore::fenced`]`(epoch)`, a handle whose every writing command first takes a share lock
//! on the leadership row and compares the stored epoch with its own, in the same transaction
//! as the write. A takeover's epoch bump waits for every fenced transaction that holds the
//! lock, and every fenced transaction that comes after it sees the new epoch and is refused
//! with [`Error::Conflict`] carrying [`Fenced`]'s message, having changed nothing. So a write
//! of a deposed leader either committed before the takeover or never commits. A check in the
//! job before an unfenced write could not promise that: the takeover could land between the
//! two.
//!
//! What a fenced handle does, command by command:
//! - commands that run as one transaction take the fence as their first statement;
//! - the single-statement writes that an unfenced store sends in autocommit (`save_dialogue`,
//!   `clear_dialogue`, `upsert_user`, `mark_update_processed`, `complete_outbox`, …) run as a
//!   transaction with the fence;
//! - reads are not fenced: they change nothing, and cost what they cost unfenced;
//! - the purchase commands (`edit_cart`, `commit_checkout`) are a buyer's work, never a job's,
//!   and run in groups shared with other buyers: a fenced handle refuses them with
//!   [`Error::Invalid`], so a job that tries one learns it at once and buys nothing.
//!
//! An unfenced store (every store [`PgStore::connect`] opens) pays nothing for any of this: the
//! fence is one `Option` looked at before the transaction begins.

use sqlx::postgres::PgConnection;
use sqlx::{Connection, Postgres, Transaction};

use shopbot_core::{Error, Result};

use crate::PgStore;
use crate::error::Attempt;

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
    /// leader already has. (Jobs that go through the `Storage` port use
    /// [`PgStore::fenced`] instead, which does this for each writing command.)
    pub async fn fenced(store: &PgStore, epoch: i64) -> Result<Transaction<'static, Postgres>> {
        let attempt: Attempt<Transaction<'static, Postgres>> = async {
            let mut tx = store.pool.begin().await?;
            hold_fence(&mut tx, epoch).await?;
            Ok(tx)
        }
        .await;
        attempt.map_err(crate::error::PgError::into_core)
    }
}

impl PgStore {
    /// A handle on the same store (the same pool and lanes) whose every writing command is
    /// fenced by the leader's `epoch`: it runs in one transaction that first checks, holding a
    /// share lock on the leadership row, that `epoch` is still the current one, and is refused
    /// with [`Error::Conflict`] carrying [`Fenced`]'s message, changing nothing, once a newer
    /// leader took over. Reads are unchanged; the purchase commands (`edit_cart`,
    /// `commit_checkout`), which are no job's work, are refused with [`Error::Invalid`]. See
    /// the module docs of `leader.rs` for why this is safe against a takeover at any moment.
    ///
    /// The background jobs of an elected leader run on `store.fenced(epoch)`.
    pub fn fenced(&self, epoch: i64) -> PgStore {
        PgStore {
            fence: Some(epoch),
            ..self.clone()
        }
    }

    /// The epoch this handle's writes are fenced by; `None` for an unfenced store.
    pub fn fence(&self) -> Option<i64> {
        self.fence
    }

    /// Refuses a purchase command on a fenced handle (see [`PgStore::fenced`]).
    pub(crate) fn refuse_purchase_when_fenced(&self) -> Result<()> {
        match self.fence {
            None => Ok(()),
            Some(epoch) => Err(Error::invalid(format!(
                "purchase commands do not run on a job's handle fenced by epoch {epoch}"
            ))),
        }
    }
}

/// The fence of a leader's transaction, as its first statement: takes a share lock on the
/// leadership row (a takeover's epoch bump waits until this transaction ends) and refuses the
/// transaction when the stored epoch is no longer `epoch`.
pub(crate) async fn hold_fence(conn: &mut PgConnection, epoch: i64) -> Attempt<()> {
    let current: i64 = sqlx::query_scalar("SELECT epoch FROM leadership FOR SHARE")
        .fetch_one(conn)
        .await?;
    if current != epoch {
        return Err(Error::Conflict(Fenced { mine: epoch }.to_string()).into());
    }
    Ok(())
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
