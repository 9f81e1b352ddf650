//! The connection a lane keeps between its batches.
//!
//! The pool hands out the connection that has been idle longest, so a lane that took a fresh
//! one for every batch would, under load, send each batch to a different server process whose
//! caches had gone cold since its last turn. A lane keeps one connection instead and sends
//! batch after batch down it. With `shopbot-bench pg` at 8 buyers this halved the time a group
//! of purchase commands takes from send to answer.
//!
//! A kept connection is given back after a failure, and after sitting unused for as long as
//! the pool pings an idle connection before use ([`PING_WHEN_IDLE_FOR`]): the next batch then
//! takes one through the pool, which checks it first.

use std::future::Future;
use std::time::Instant;

use sqlx::pool::{CloseEvent, PoolConnection};
use sqlx::postgres::{PgConnection, PgPool, Postgres};

use crate::PING_WHEN_IDLE_FOR;

/// A lane's connection, taken from `pool` when needed.
pub(crate) struct Held {
    pool: PgPool,
    /// The connection and when a batch last started on it.
    kept: Option<(PoolConnection<Postgres>, Instant)>,
    closed: CloseEvent,
}

impl Held {
    /// Holds nothing yet.
    pub(crate) fn new(pool: &PgPool) -> Held {
        Held {
            pool: pool.clone(),
            kept: None,
            closed: pool.close_event(),
        }
    }

    /// What `wait` gives, or `None` once the pool is closed. A lane waits for its next batch
    /// this way: when the store closes, the lane stops and gives its connection back, so
    /// closing does not wait for it, while a batch already sent still finishes and answers.
    pub(crate) async fn unless_closed<T>(&mut self, wait: impl Future<Output = T>) -> Option<T> {
        self.closed.do_until(wait).await.ok()
    }

    /// The kept connection, or one taken from the pool when none is kept or the kept one has
    /// been idle long enough to need checking.
    pub(crate) async fn connection(&mut self) -> Result<&mut PgConnection, sqlx::Error> {
        let connection = match self.kept.take() {
            Some((connection, used)) if used.elapsed() < PING_WHEN_IDLE_FOR => connection,
            _ => self.pool.acquire().await?,
        };
        let (connection, _) = self.kept.insert((connection, Instant::now()));
        Ok(&mut **connection)
    }

    /// Gives the connection back (after a failure): the next batch takes another.
    pub(crate) fn give_back(&mut self) {
        self.kept = None;
    }
}
