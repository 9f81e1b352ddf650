//! How a purchase reaches the server: its reads (the caller, the settings and the product or
//! the cart) and its commands (`edit_cart`, `commit_checkout`, each one call of `shop_run`).
//!
//! [`PurchasePath::Direct`] sends each on its own, on a pooled connection. [`PurchasePath::Lanes`]
//! hands them to lanes that share one round trip and one commit among every caller waiting
//! (`lanes/`). Both run the same SQL and give the same answers.

use sqlx::postgres::{PgPool, PgRow};
use sqlx::types::Json;

use shopbot_core::Error;
use shopbot_core::ids::{ProductId, UserId};

use crate::ATTEMPTS;
use crate::catalog::{self, CallerAndCart, CallerAndProduct};
use crate::command::Command;
use crate::error::{Attempt, PgError};
use crate::lanes::{Batcher, Groups};
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

/// A store's way of running purchases.
pub(crate) enum Purchases {
    Direct(PgPool),
    Lanes {
        commands: Groups,
        products: Batcher<(UserId, ProductId), CallerAndProduct>,
        carts: Batcher<UserId, CallerAndCart>,
    },
}

impl Purchases {
    /// Starts `path` on `pool` (lanes are tasks on the current runtime).
    pub(crate) fn start(pool: &PgPool, path: PurchasePath) -> Purchases {
        match path {
            PurchasePath::Direct => Purchases::Direct(pool.clone()),
            PurchasePath::Lanes(lanes) => Purchases::Lanes {
                commands: Groups::start(pool, lanes),
                products: Batcher::start(pool, lanes, |c, asked| {
                    Box::pin(catalog::users_with_products(c, asked))
                }),
                carts: Batcher::start(pool, lanes, |c, asked| {
                    Box::pin(catalog::users_with_carts(c, asked))
                }),
            },
        }
    }

    /// Runs `command`: its row of `shop_run` once committed, or why not.
    pub(crate) async fn run(&self, command: Command) -> Attempt<PgRow> {
        let pool = match self {
            Purchases::Lanes { commands, .. } => return commands.run(command).await,
            Purchases::Direct(pool) => pool,
        };
        let mut runs = 0;
        loop {
            runs += 1;
            let row = sqlx::query("SELECT * FROM shop_run($1)")
                .bind(Json([&command]))
                .fetch_one(pool)
                .await
                .map_err(PgError::Db)?;
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
        match self {
            Purchases::Lanes { products, .. } => products.ask((user, product)).await,
            Purchases::Direct(pool) => {
                let attempt: Attempt<_> = async {
                    let mut connection = pool.acquire().await?;
                    catalog::user_with_product(&mut connection, user, product).await
                }
                .await;
                attempt.map_err(PgError::into_core)
            }
        }
    }

    /// The caller, the settings, the cart and its products.
    pub(crate) async fn user_with_cart(&self, user: UserId) -> Result<CallerAndCart, Error> {
        match self {
            Purchases::Lanes { carts, .. } => carts.ask(user).await,
            Purchases::Direct(pool) => {
                let attempt: Attempt<_> = async {
                    let mut connection = pool.acquire().await?;
                    catalog::user_with_cart(&mut connection, user).await
                }
                .await;
                attempt.map_err(PgError::into_core)
            }
        }
    }
}
