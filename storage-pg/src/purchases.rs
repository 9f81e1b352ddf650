//! How a purchase reaches the server: its reads (the caller, the settings and the product or
//! the cart) and its commands (`edit_cart`, `commit_checkout`, each one call of `shop_run`).
//!
//! [`PurchasePath::Direct`] sends each on its own, on a pooled connection. [`PurchasePath::Lanes`]
//! hands them to lanes that share one round trip and one commit among every caller waiting
//! (`lanes/`). Both run the same SQL and give the same answers.

use sqlx::postgres::{PgPool, PgRow};
use sqlx::types::Json;

use shopbot_core::Error;
use shopbot_core::cart::Cart;
use shopbot_core::catalog::Product;
use shopbot_core::ids::{ProductId, UserId};
use shopbot_core::ports::Settings;
use shopbot_core::user::User;

use crate::ATTEMPTS;
use crate::command::Command;
use crate::error::{Attempt, PgError};
use crate::lanes::{Answer, Batcher, Groups};
use crate::shop_run::failure;

/// How purchases reach the server (`PgOptions::purchases`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurchasePath {
    /// Each read is one query and each command one function call, on a pooled connection.
    Direct,
    /// Reads and commands wait for one of `lanes` lanes per kind, which each keep a connection
    /// and send whatever is waiting as one call: one round trip (and for commands one commit)
    /// shared by every caller in it.
    Lanes(usize),
}

/// What a cart edit reads: the caller, the settings and the product.
pub(crate) type CallerAndProduct = (Option<User>, Settings, Option<Product>);

/// What a checkout reads: the caller, the settings, the cart and its products.
pub(crate) type CallerAndCart = (Option<User>, Settings, Cart, Vec<Product>);

/// The SQL of the reads a purchase makes, answering a batch of questions at a time (a batch of
/// one as the plain query): the same on either path.
#[derive(Clone, Copy)]
pub(crate) struct ReadSql {
    pub(crate) products: Answer<(UserId, ProductId), CallerAndProduct>,
    pub(crate) carts: Answer<UserId, CallerAndCart>,
}

/// A store's way of running purchases.
pub(crate) struct Purchases {
    pool: PgPool,
    sql: ReadSql,
    /// The lanes, unless the path is direct.
    lanes: Option<Lanes>,
}

struct Lanes {
    commands: Groups,
    products: Batcher<(UserId, ProductId), CallerAndProduct>,
    carts: Batcher<UserId, CallerAndCart>,
}

impl Purchases {
    /// Starts `path` on `pool`, reading with `sql` (lanes are tasks on the current runtime).
    pub(crate) fn start(pool: &PgPool, path: PurchasePath, sql: ReadSql) -> Purchases {
        let lanes = match path {
            PurchasePath::Direct => None,
            PurchasePath::Lanes(lanes) => Some(Lanes {
                commands: Groups::start(pool, lanes),
                products: Batcher::start(pool, lanes, sql.products),
                carts: Batcher::start(pool, lanes, sql.carts),
            }),
        };
        Purchases {
            pool: pool.clone(),
            sql,
            lanes,
        }
    }

    /// Runs `command`: its row of `shop_run` once committed, or why not.
    pub(crate) async fn run(&self, command: Command) -> Attempt<PgRow> {
        if let Some(lanes) = &self.lanes {
            return lanes.commands.run(command).await;
        }
        let mut runs = 0;
        loop {
            runs += 1;
            let ran = sqlx::query("SELECT * FROM shop_run($1)")
                .bind(Json([&command]))
                .fetch_one(&self.pool)
                .await
                .map_err(PgError::Db);
            // As a lane does: run again only what certainly rolled back.
            let row = match ran {
                Err(e) if e.retryable() && runs < ATTEMPTS => continue,
                ran => ran?,
            };
            match failure(&row)? {
                None => return Ok(row),
                Some(failed) if failed.lost_race() && runs < ATTEMPTS => {
                    tracing::debug!(code = failed.code, "command lost a race; running it again");
                }
                Some(failed) => return Err(failed.into_error()),
            }
        }
    }

    /// The caller, the settings and `product`.
    pub(crate) async fn user_with_product(
        &self,
        user: UserId,
        product: ProductId,
    ) -> Result<CallerAndProduct, Error> {
        match &self.lanes {
            Some(lanes) => lanes.products.ask((user, product)).await,
            None => self.ask_direct(self.sql.products, (user, product)).await,
        }
    }

    /// The caller, the settings, the cart and its products.
    pub(crate) async fn user_with_cart(&self, user: UserId) -> Result<CallerAndCart, Error> {
        match &self.lanes {
            Some(lanes) => lanes.carts.ask(user).await,
            None => self.ask_direct(self.sql.carts, user).await,
        }
    }

    /// `question` answered by `sql` as a batch of one, on a pooled connection.
    async fn ask_direct<Q, A>(&self, sql: Answer<Q, A>, question: Q) -> Result<A, Error> {
        let attempt: Attempt<A> = async {
            let mut connection = self.pool.acquire().await?;
            sql(&mut connection, vec![question])
                .await?
                .pop()
                .ok_or_else(|| Error::internal_msg("a read answered nothing").into())
        }
        .await;
        attempt.map_err(PgError::into_core)
    }
}
