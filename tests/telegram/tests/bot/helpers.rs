//! What every scenario starts from: a fake Bot API, a shop over a JSON store, and the real
//! Telegram adapter running against both; people who write and press buttons and wait for
//! the bot to answer, never for a fixed time.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use shopbot_core::catalog::{ProductDraft, ProductKind};
use shopbot_core::flow::{Flow, FlowConfig, RateLimit};
use shopbot_core::ids::{ProductId, UserId};
use shopbot_core::money::{Currency, Money};
use shopbot_core::ports::{Storage, SystemClock};
use shopbot_core::services::{Shop, ShopConfig};
use shopbot_core::stock::OnDuplicate;
use shopbot_core::testkit::Snapshot;
use shopbot_core::text::{Description, IdempotencyKey, Note, PersonName, ProductName};
use shopbot_core::user::UserProfile;
use shopbot_storage_json::JsonStore;
use shopbot_telegram::{TelegramConfig, TelegramError};
use shopbot_telegram_tests::FakeBotApi;
pub use shopbot_telegram_tests::Person as User;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The shop's owner: the one admin of every test shop.
pub const ADMIN: i64 = 1;

/// How a test bot is set up.
#[derive(Debug, Clone)]
pub struct BotOptions {
    /// Keep the store in a temporary directory (needed to restart), not in memory.
    pub on_disk: bool,
    /// The conversation's rate limits; unlimited unless a test is about them.
    pub flow: FlowConfig,
}

impl Default for BotOptions {
    fn default() -> Self {
        BotOptions {
            on_disk: false,
            flow: FlowConfig {
                updates: RateLimit::unlimited(),
                expensive: RateLimit::unlimited(),
                support: None,
            },
        }
    }
}

/// A running bot against a fake Bot API, with its shop for arranging and checking.
pub struct TestBot {
    /// The fake Bot API the bot talks to.
    pub api: Arc<FakeBotApi>,
    /// The shop the bot runs (the same store), for seeding and checking.
    pub shop: Shop,
    store: Arc<JsonStore>,
    dir: Option<TempDir>,
    options: BotOptions,
    stop: Option<oneshot::Sender<()>>,
    running: Option<JoinHandle<Result<(), TelegramError>>>,
}

fn open_store(dir: Option<&TempDir>) -> Arc<JsonStore> {
    Arc::new(match dir {
        Some(dir) => JsonStore::open(dir.path()).expect("the store opens"),
        None => JsonStore::in_memory(),
    })
}

impl TestBot {
    /// A bot with an in-memory store and no rate limits.
    pub async fn start() -> TestBot {
        TestBot::start_with(BotOptions::default()).await
    }

    /// A bot set up by `options`.
    pub async fn start_with(options: BotOptions) -> TestBot {
        let api = Arc::new(FakeBotApi::start().await);
        let dir = options
            .on_disk
            .then(|| tempfile::tempdir().expect("a temporary directory"));
        let store = open_store(dir.as_ref());
        let mut bot = TestBot {
            api,
            shop: shop_over(store.clone()),
            store,
            dir,
            options,
            stop: None,
            running: None,
        };
        bot.greet(ADMIN, "Admin").await;
        bot.launch();
        bot
    }

    fn launch(&mut self) {
        let config = TelegramConfig {
            token: self.api.token().to_owned(),
            api_url: Some(self.api.api_url()),
            poll_timeout: Duration::from_secs(1),
            send_limit: None,
            outbox_interval: Duration::from_millis(100),
            shutdown_grace: Duration::from_secs(8),
        };
        let flow = Flow::with_config(self.shop.clone(), self.options.flow.clone());
        let (stop, stopped) = oneshot::channel();
        let shutdown = async move {
            let _ = stopped.await;
        };
        self.stop = Some(stop);
        self.running = Some(tokio::spawn(shopbot_telegram::run(config, flow, shutdown)));
    }

    /// Asserts the bot kept every Bot API rule the fake checks.
    pub fn assert_no_violations(&self) {
        let violations = self.api.violations();
        assert!(violations.is_empty(), "{violations:?}");
    }

    /// How a scenario ends: asserts no Bot API rule was broken, then stops the bot.
    pub async fn finish(&mut self) {
        self.assert_no_violations();
        self.stop().await;
    }

    /// Asks the bot to shut down, waits for `run` to return, and closes the store.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(running) = self.running.take() {
            let result = tokio::time::timeout(shopbot_telegram_tests::DEADLINE, running)
                .await
                .expect("the bot stops within the deadline")
                .expect("the bot task does not panic");
            result.expect("the bot runs and stops without error");
        }
        self.store.close().await.expect("the store closes");
    }

    /// Stops the bot and starts it again over the same store directory.
    pub async fn restart(&mut self) {
        assert!(
            self.dir.is_some(),
            "restart needs BotOptions {{ on_disk: true }}"
        );
        self.stop().await;
        // The directory stays locked until the last handle on the old store is dropped.
        let placeholder = Arc::new(JsonStore::in_memory());
        self.shop = shop_over(placeholder.clone());
        self.store = placeholder;
        self.store = open_store(self.dir.as_ref());
        self.shop = shop_over(self.store.clone());
        self.launch();
    }

    /// A person talking to the bot in their private chat.
    pub fn user(&self, id: i64) -> User {
        User::new(self.api.clone(), id)
    }

    /// The shop's admin.
    pub fn admin(&self) -> User {
        self.user(ADMIN)
    }

    /// The store as a `Storage`.
    pub fn store(&self) -> Arc<dyn Storage> {
        self.store.clone()
    }

    /// Everything a refused command must leave alone.
    pub async fn snapshot(&self) -> Snapshot {
        Snapshot::take(self.store.as_ref()).await
    }

    // ----- arranging -----

    /// Records a person (as the bot would on their first message) under the name the fake
    /// server gives them.
    pub async fn greet(&self, id: i64, name: &str) {
        self.api.set_name(id, name);
        let profile = UserProfile {
            id: UserId(id),
            name: PersonName::lenient(name),
        };
        self.shop.greet(profile).await.expect("greeting works");
    }

    /// A visible key product at `price_minor` cents with `keys` in stock.
    pub async fn product(&self, name: &str, price_minor: i64, keys: &[&str]) -> ProductId {
        let draft = ProductDraft {
            category: None,
            name: ProductName::parse(name).expect("a product name"),
            description: Description::parse("A license key.").expect("a description"),
            kind: ProductKind::Key,
            price: Money::new(price_minor, Currency::USD),
            hidden: false,
            image: None,
        };
        let admin = self.shop.admin();
        let product = admin
            .create_product(UserId(ADMIN), draft)
            .await
            .expect("the product is created")
            .id;
        if !keys.is_empty() {
            admin
                .import_stock_text(
                    UserId(ADMIN),
                    product,
                    &keys.join("\n"),
                    OnDuplicate::Refuse,
                )
                .await
                .expect("the keys are imported");
        }
        product
    }

    /// Greets `user` and credits `minor` cents to their wallet.
    pub async fn fund(&self, user: i64, minor: i64) {
        self.greet(user, &format!("User {user}")).await;
        let key = IdempotencyKey::parse(&format!("fund-{user}-{minor}")).expect("a key");
        self.shop
            .admin()
            .adjust_wallet(
                UserId(ADMIN),
                UserId(user),
                Money::new(minor, Currency::USD),
                Note::parse("test funding").expect("a note"),
                key,
            )
            .await
            .expect("the wallet is credited");
    }

    /// `user`'s available balance in cents.
    pub async fn balance(&self, user: i64) -> i64 {
        self.store
            .balance(UserId(user), Currency::USD)
            .await
            .expect("a balance")
            .available()
            .minor
    }
}

fn shop_over(store: Arc<JsonStore>) -> Shop {
    let config = ShopConfig {
        owners: BTreeSet::from([UserId(ADMIN)]),
        ..ShopConfig::default()
    };
    Shop::new(store, Arc::new(SystemClock), config)
}
