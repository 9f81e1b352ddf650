//! What a command runs with: the settings, the store (opened on first use) and the shop.
//!
//! Owns [`Ctx`] and the identity the CLI acts as, [`LOCAL_OWNER`]. The store is opened only
//! when a command first asks for it, after the command has parsed every value it was given,
//! so a refused value never creates or touches a store.

use std::collections::BTreeSet;
use std::sync::Arc;

use shopbot_core::catalog::PriceLimits;
use shopbot_core::ids::UserId;
use shopbot_core::money::Currency;
use shopbot_core::ports::SystemClock;
use shopbot_core::services::{Shop, ShopConfig};
use shopbot_core::text::PersonName;
use shopbot_core::user::UserProfile;
use tokio::sync::OnceCell;

use crate::config::Settings;
use crate::error::{CliError, CliResult};
use crate::store::{Backend, CheckOpen, OpenMode};

/// The user the CLI acts as: the person at the terminal, who can read the store's files anyway.
///
/// Id 0 is never a Telegram user id, so it cannot collide with a customer. It is configured as
/// an owner in [`ShopConfig::owners`], so its commands pass the same permission checks and are
/// written to the same audit log as an owner's on Telegram.
pub const LOCAL_OWNER: UserId = UserId(0);

/// The name the local owner is recorded with.
pub const LOCAL_OWNER_NAME: &str = "local owner";

/// What a command runs with.
pub struct Ctx {
    settings: Settings,
    opened: OnceCell<Opened>,
}

struct Opened {
    backend: Backend,
    shop: Shop,
}

impl Ctx {
    /// A context that opens the store from `settings` on first use.
    pub fn new(settings: Settings) -> Ctx {
        Ctx {
            settings,
            opened: OnceCell::new(),
        }
    }

    /// A context over a store that is already open (tests use an in-memory store).
    pub fn with_backend(settings: Settings, backend: Backend) -> Ctx {
        let shop = shop_over(&settings, &backend);
        Ctx {
            settings,
            opened: OnceCell::new_with(Some(Opened { backend, shop })),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether to print JSON instead of tables.
    pub fn json(&self) -> bool {
        self.settings.json
    }

    /// The shop's currency.
    pub fn currency(&self) -> Currency {
        self.settings.currency
    }

    /// Who the CLI acts as.
    pub fn actor(&self) -> UserId {
        LOCAL_OWNER
    }

    /// The shop, opening the store (creating it if needed) and recording the local owner.
    pub async fn shop(&self) -> CliResult<&Shop> {
        let opened = self.open(OpenMode::CreateIfMissing).await?;
        greet_local_owner(&opened.shop).await?;
        Ok(&opened.shop)
    }

    /// The store, which must already exist; for checks and backups, which need no shop.
    pub async fn existing_backend(&self) -> CliResult<&Backend> {
        Ok(&self.open(OpenMode::Existing).await?.backend)
    }

    /// Every integrity problem of the store (which must exist), including damage that keeps
    /// it from opening.
    pub async fn integrity_problems(&self) -> CliResult<Vec<String>> {
        if let Some(opened) = self.opened.get() {
            return opened.backend.check().await;
        }
        match Backend::open_for_check(&self.settings.store).await? {
            CheckOpen::Damaged(reason) => Ok(vec![reason]),
            CheckOpen::Opened(backend) => {
                let opened = self
                    .opened
                    .get_or_init(|| async { self.wrap(backend) })
                    .await;
                opened.backend.check().await
            }
        }
    }

    /// Closes the store if a command opened it (long-running commands, at shutdown).
    pub async fn close(&self) -> CliResult<()> {
        match self.opened.get() {
            Some(opened) => opened.backend.close().await,
            None => Ok(()),
        }
    }

    /// The store, opened on first use.
    async fn open(&self, mode: OpenMode) -> CliResult<&Opened> {
        self.opened
            .get_or_try_init(|| async {
                let backend = Backend::open(&self.settings.store, mode).await?;
                Ok::<_, CliError>(self.wrap(backend))
            })
            .await
    }

    fn wrap(&self, backend: Backend) -> Opened {
        Opened {
            shop: shop_over(&self.settings, &backend),
            backend,
        }
    }
}

/// The shop's configuration: the local owner and the configured admins are owners.
pub fn shop_config(settings: &Settings) -> ShopConfig {
    let mut owners: BTreeSet<UserId> = settings.admins.clone();
    owners.insert(LOCAL_OWNER);
    ShopConfig {
        owners,
        prices: PriceLimits {
            currency: settings.currency,
            ..PriceLimits::default()
        },
        max_manual_credit: settings.max_manual_credit.clone(),
        ..ShopConfig::default()
    }
}

fn shop_over(settings: &Settings, backend: &Backend) -> Shop {
    Shop::new(
        backend.storage(),
        Arc::new(SystemClock),
        shop_config(settings),
    )
}

/// Records the local owner the first time (and if their name changed), and only then: a
/// read-only command writes nothing.
async fn greet_local_owner(shop: &Shop) -> CliResult<()> {
    let name = PersonName::lenient(LOCAL_OWNER_NAME);
    let known = shop.storage().user(LOCAL_OWNER).await?;
    if known.is_none_or(|user| user.name != name) {
        shop.greet(UserProfile {
            id: LOCAL_OWNER,
            name,
        })
        .await?;
    }
    Ok(())
}
