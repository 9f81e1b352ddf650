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

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgPool, Postgres};

use crate::PING_WHEN_IDLE_FOR;

/// A lane's connection, taken from `pool` when needed.
pub(crate) struct Held {
    pool: PgPool,
    /// The connection and when a batch last started on it.
    kept: Option<(PoolConnection<Postgres>, Instant)>,
}

impl Held {
    /// Holds nothing yet.
    pub(crate) fn new(pool: PgPool) -> Held {
        Held { pool, kept: None }
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

/// Starts `lane` on the current runtime with a [`Held`] of its own. The lane stops when the
/// pool closes, giving its connection back, so closing the pool does not wait for it.
pub(crate) fn spawn_lane<F, Fut>(pool: &PgPool, lane: F)
where
    F: FnOnce(Held) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut closed = pool.close_event();
    let lane = lane(Held::new(pool.clone()));
    tokio::spawn(async move { closed.do_until(lane).await });
}
