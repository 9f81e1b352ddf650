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
use shopbot_telegram_tests::{ChatMessage, FakeBotApi, Press};
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
        User {
            api: self.api.clone(),
            id,
        }
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

/// A person in their private chat with the bot (chat id = user id).
#[derive(Clone)]
pub struct User {
    api: Arc<FakeBotApi>,
    /// Their Telegram user id.
    pub id: i64,
}

impl User {
    /// Writes `text` and waits for the bot's answer: a screen (a message with buttons) after
    /// it. Returns that screen.
    pub async fn send(&self, text: &str) -> ChatMessage {
        let sent = self.api.send_text(self.id, text);
        self.screen_after(sent.message_id, text).await
    }

    /// Writes `text` and waits for the bot's answer saying `expected`. Deliveries from the
    /// outbox (with buttons of their own) may arrive before or after it.
    pub async fn send_until(&self, text: &str, expected: &str) -> ChatMessage {
        let sent = self.api.send_text(self.id, text);
        let (api, chat) = (&self.api, self.id);
        self.api
            .wait_for(
                &format!("an answer to {text:?} saying {expected:?} in chat {chat}"),
                |_| {
                    api.bot_messages_after(chat, sent.message_id)
                        .into_iter()
                        .find(|m| m.text.contains(expected))
                },
            )
            .await
    }

    /// Sends a file and waits for a screen after it.
    pub async fn upload(&self, file_name: &str, bytes: &[u8]) -> ChatMessage {
        let sent = self.api.send_document(self.id, file_name, bytes);
        self.screen_after(sent.message_id, file_name).await
    }

    async fn screen_after(&self, message_id: i64, what: &str) -> ChatMessage {
        let (api, chat) = (&self.api, self.id);
        self.api
            .wait_for(
                &format!("a screen answering {what:?} in chat {chat}"),
                |_| {
                    api.bot_messages_after(chat, message_id)
                        .into_iter()
                        .rev()
                        .find(|m| !m.buttons.is_empty())
                },
            )
            .await
    }

    /// Writes `text` and waits until the bot sent anything after it (a notice will do).
    pub async fn send_expecting_any(&self, text: &str) -> Vec<ChatMessage> {
        let sent = self.api.send_text(self.id, text);
        let (api, chat) = (&self.api, self.id);
        self.api
            .wait_for(&format!("any answer to {text:?} in chat {chat}"), |_| {
                Some(api.bot_messages_after(chat, sent.message_id)).filter(|m| !m.is_empty())
            })
            .await
    }

    /// The bot's latest message with buttons: the screen the person looks at.
    pub fn current(&self) -> ChatMessage {
        self.api
            .messages(self.id)
            .into_iter()
            .rev()
            .find(|m| m.from_bot && !m.buttons.is_empty())
            .unwrap_or_else(|| panic!("chat {} shows no screen", self.id))
    }

    /// The text of the bot's latest message, as a person reads it.
    pub fn screen(&self) -> String {
        self.api
            .last_bot_message(self.id)
            .map(|m| m.text)
            .unwrap_or_default()
    }

    /// The labels on the current screen, row after row.
    pub fn buttons(&self) -> Vec<String> {
        self.current()
            .all_buttons()
            .map(|b| b.label.clone())
            .collect()
    }

    /// Presses the button labelled `label` on the current screen; returns once the bot answered
    /// the press and acted in the chat (edited or sent).
    pub async fn press(&self, label: &str) -> Press {
        let screen = self.current();
        // The exact label, else the one button whose label starts with it ("Pixel Racers"
        // for "Pixel Racers · 9.99 USD").
        let starting: Vec<&str> = screen
            .all_buttons()
            .filter(|b| b.label.starts_with(label))
            .filter_map(|b| b.data.as_deref())
            .collect();
        let data = screen.data_of(label).or(match starting.as_slice() {
            [only] => Some(*only),
            _ => None,
        });
        let data = data.unwrap_or_else(|| {
            panic!(
                "no button {label:?} on the screen {:?}; buttons: {:?}",
                screen.text,
                self.buttons()
            )
        });
        self.press_data_on(screen.id, data).await
    }

    /// Presses a button with `data` (any data, forged or not) under message `message_id`;
    /// returns once the press is answered and the bot acted in the chat.
    pub async fn press_data_on(&self, message_id: i64, data: &str) -> Press {
        let before = self.api.activity(self.id);
        let seq = self.api.call_count();
        let editable = self
            .api
            .messages(self.id)
            .iter()
            .any(|m| m.id == message_id && m.from_bot);
        let press = self.api.press(self.id, message_id, data);
        let press = self.api.wait_answered(&press.query_id).await;
        if editable {
            // The new screen replaces the pressed message (an edit, or a deletion before a
            // new message); a delivery from the outbox in between does not count.
            let (api, chat) = (&self.api, self.id);
            let what = format!("message {message_id} in chat {chat} to be replaced");
            api.wait_for(&what, |_| {
                api.touched_since(seq, chat, message_id).then_some(())
            })
            .await;
            // A deleted message is followed by the new one.
            if !api.messages(chat).iter().any(|m| m.id == message_id) {
                self.screen_after(message_id, data).await;
            }
        } else {
            self.api.wait_activity(self.id, before).await;
        }
        press
    }

    /// Taps the button labelled `label` on the current screen twice at once, as a double tap
    /// does; returns both presses once both are answered and the bot acted on both.
    pub async fn double_tap(&self, label: &str) -> Vec<Press> {
        let screen = self.current();
        let data = screen
            .data_of(label)
            .unwrap_or_else(|| panic!("no button {label:?} on the screen {:?}", screen.text))
            .to_owned();
        let before = self.api.activity(self.id);
        let taps = [
            self.api.press(self.id, screen.id, &data),
            self.api.press(self.id, screen.id, &data),
        ];
        let mut answered = Vec::new();
        for tap in &taps {
            answered.push(self.api.wait_answered(&tap.query_id).await);
        }
        let chat = self.id;
        self.api
            .wait_for("both taps shown", |api| {
                (api.activity(chat) >= before + 2).then_some(())
            })
            .await;
        answered
    }

    /// Presses a button with `data` under the current screen and waits only for the answer.
    pub async fn press_expecting_toast(&self, data: &str) -> Press {
        let press = self.api.press(self.id, self.current().id, data);
        self.api.wait_answered(&press.query_id).await
    }
}
