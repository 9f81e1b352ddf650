//! What a command runs with: the settings, the store (opened on first use) and the shop.
//!
//! Owns [`Ctx`] and the identity the CLI acts as, [`LOCAL_OWNER`]. The store is opened only
//! when a command first asks for it, after the command has parsed every value it can without
//! the shop, and only `init` and `demo` create one. The shop sells in the currency its store
//! recorded ([`settle_currency`]), never in one a process was configured with.

use std::collections::BTreeSet;
use std::sync::Arc;

use shopbot_core::Error;
use shopbot_core::catalog::PriceLimits;
use shopbot_core::ids::UserId;
use shopbot_core::money::Currency;
use shopbot_core::ports::{Clock, Storage, SystemClock};
use shopbot_core::services::{Shop, ShopConfig, settle_currency};
use shopbot_core::text::PersonName;
use shopbot_core::user::UserProfile;
use shopbot_storage_json::RequestKey;
use tokio::sync::OnceCell;

use crate::config::Settings;
use crate::error::{CliError, CliResult};
use crate::live::calls::KeyedCalls;
use crate::live::remote::random_request_key;
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
    /// Marks this run's mutating calls through a running shop ([`crate::live`]).
    request_key: String,
    /// Whether the operator gave the key (`--request-key`): then a direct open of a JSON
    /// store runs the command through the same keyed handle as the running shop would.
    explicit_key: bool,
}

struct Opened {
    backend: Backend,
    /// The shop, once its currency is settled.
    shop: OnceCell<Shop>,
}

impl Opened {
    fn new(backend: Backend) -> Opened {
        Opened {
            backend,
            shop: OnceCell::new(),
        }
    }
}

impl Ctx {
    /// A context that opens the store from `settings` on first use.
    pub fn new(settings: Settings) -> Ctx {
        Ctx {
            settings,
            opened: OnceCell::new(),
            request_key: random_request_key(),
            explicit_key: false,
        }
    }

    /// The same context with `key` as its request key (`--request-key`): a command repeated
    /// with the key of a run whose outcome is unknown is applied once.
    /// A key that is not 1–100 printable ASCII characters is a usage error (exit 2).
    pub fn with_request_key(mut self, key: Option<String>) -> CliResult<Ctx> {
        if let Some(key) = key {
            RequestKey::parse(&key).map_err(|e| CliError::usage(format!("--request-key: {e}")))?;
            self.request_key = key;
            self.explicit_key = true;
        }
        Ok(self)
    }

    /// This run's request key (`--request-key`, else random): commands that need a fresh
    /// key for a change derive it from this one, so a repeated run asks for the same.
    pub fn request_key(&self) -> &str {
        &self.request_key
    }

    /// What was in flight when the connection to a running shop dropped, if anything: the
    /// command's outcome is unknown (exit 6).
    pub fn in_doubt(&self) -> Option<String> {
        self.opened
            .get()
            .and_then(|opened| opened.backend.in_doubt())
    }

    /// A context over a store that is already open (tests use an in-memory store).
    pub fn with_backend(settings: Settings, backend: Backend) -> Ctx {
        Ctx {
            settings,
            opened: OnceCell::new_with(Some(Opened::new(backend))),
            request_key: random_request_key(),
            explicit_key: false,
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

    /// The currency the shop sells in (opening the shop, which must exist, but writing
    /// nothing: commands read it to parse amounts before they change anything).
    pub async fn currency(&self) -> CliResult<Currency> {
        Ok(self
            .settled(OpenMode::Existing)
            .await?
            .config()
            .prices
            .currency)
    }

    /// The prices the shop accepts, in its currency (opening the shop, writing nothing).
    pub async fn prices(&self) -> CliResult<&PriceLimits> {
        Ok(&self.settled(OpenMode::Existing).await?.config().prices)
    }

    /// Who the CLI acts as.
    pub fn actor(&self) -> UserId {
        LOCAL_OWNER
    }

    /// The shop, which must exist (exit 4 otherwise, creating nothing), selling in its own
    /// currency, with the local owner recorded. A configured currency other than the shop's
    /// is refused (exit 5, naming both); a shop made before shops recorded their currency
    /// adopts the configured one, or USD, now.
    pub async fn shop(&self) -> CliResult<&Shop> {
        self.shop_in(OpenMode::Existing).await
    }

    /// [`shop`](Self::shop), creating the store first if there is none (`demo`).
    pub async fn shop_creating_if_missing(&self) -> CliResult<&Shop> {
        self.shop_in(OpenMode::CreateIfMissing).await
    }

    /// Creates a new store selling in `currency` and its shop (`init`). Refused (exit 5,
    /// nothing changed) where a shop already is, or a new store may not be made.
    pub async fn create_shop(&self, currency: Currency) -> CliResult<&Shop> {
        let opened = self.open(OpenMode::Create).await?;
        let adopted = opened.backend.storage().adopt_currency(currency).await?;
        if adopted != currency {
            return Err(CliError::refused(format!(
                "another process created a shop selling in {adopted} at {} at the same time",
                self.settings.store
            )));
        }
        Ok(opened
            .shop
            .get_or_init(|| async { self.shop_over(&opened.backend, currency) })
            .await)
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
        let pg = self.settings.postgres.options();
        match Backend::open_for_check(&self.settings.store, pg, &self.request_key).await? {
            CheckOpen::Damaged(reason) => Ok(vec![reason]),
            CheckOpen::Opened(backend) => {
                let opened = self
                    .opened
                    .get_or_init(|| async { Opened::new(backend) })
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
                let backend = Backend::open(
                    &self.settings.store,
                    mode,
                    self.settings.postgres.options(),
                    &self.request_key,
                )
                .await?;
                Ok::<_, CliError>(Opened::new(backend))
            })
            .await
    }

    async fn shop_in(&self, mode: OpenMode) -> CliResult<&Shop> {
        let shop = self.settled(mode).await?;
        greet_local_owner(shop).await?;
        Ok(shop)
    }

    /// The shop over the store, in the currency settled with the store.
    async fn settled(&self, mode: OpenMode) -> CliResult<&Shop> {
        let opened = self.open(mode).await?;
        opened
            .shop
            .get_or_try_init(|| async {
                let storage = opened.backend.storage();
                let currency = settle_currency(storage.as_ref(), self.settings.currency)
                    .await
                    .map_err(|e| self.currency_error(e))?;
                Ok::<_, CliError>(self.shop_over(&opened.backend, currency))
            })
            .await
    }

    /// The shop over `backend`: through the keyed handle of `--request-key` on a JSON store
    /// opened here, so that a command repeated with its key applies once here too.
    fn shop_over(&self, backend: &Backend, currency: Currency) -> Shop {
        let storage = match (backend, self.explicit_key) {
            (Backend::Json(store), true) => match RequestKey::parse(&self.request_key) {
                Ok(key) => Arc::new(KeyedCalls::new(
                    Arc::clone(store) as Arc<dyn Storage>,
                    Arc::new(store.keyed(key, SystemClock.now())),
                )) as Arc<dyn Storage>,
                Err(_) => backend.storage(),
            },
            _ => backend.storage(),
        };
        Shop::new(
            storage,
            Arc::new(SystemClock),
            shop_config(&self.settings, currency),
        )
    }

    /// A refused configured currency says where the store and the setting are.
    fn currency_error(&self, error: Error) -> CliError {
        match error {
            Error::Conflict(mismatch) => CliError::refused(format!(
                "{}: {mismatch} (the configured currency is shop.currency: SHOPBOT_SHOP_CURRENCY, \
                 SHOPBOT_CURRENCY, or `currency` in the configuration file); nothing was changed",
                self.settings.store
            )),
            other => CliError::from(other),
        }
    }
}

/// The shop's configuration: it sells in `currency`; the local owner and the configured
/// admins are owners.
pub fn shop_config(settings: &Settings, currency: Currency) -> ShopConfig {
    let mut owners: BTreeSet<UserId> = settings.admins.clone();
    owners.insert(LOCAL_OWNER);
    ShopConfig {
        owners,
        prices: PriceLimits {
            currency,
            ..PriceLimits::default()
        },
        max_manual_credit: settings.max_manual_credit.clone(),
        invoice_ttl: settings.shop.invoice_expiry,
        dialogue_timeout: settings.shop.dialogue_timeout,
        low_stock_threshold: u64::from(settings.shop.low_stock_threshold),
    }
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
