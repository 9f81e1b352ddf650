#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // Tests fail by panicking.
//! The conversation end to end over a real (in-memory) store: staff dialogues, permissions on
//! every step, dialogue lifetime, rate limits, redelivered updates and message sizes.

use std::sync::Arc;
use std::time::Duration;

use shopbot_core::flow::markup::{self, MAX_MESSAGE_LEN};
use shopbot_core::flow::{Action, Flow, FlowConfig, Incoming, RateLimit, Reply, TextInput};
use shopbot_core::ids::{ChatId, UpdateId, UserId};
use shopbot_core::ports::Storage;
use shopbot_core::testkit::{OWNER, Snapshot, TestShop};
use shopbot_core::text::PersonName;
use shopbot_core::user::{Role, UserProfile};
use shopbot_storage_json::JsonStore;

struct Bot {
    t: TestShop,
    flow: Flow,
}

impl Bot {
    async fn new() -> Bot {
        let config = FlowConfig {
            updates: RateLimit::unlimited(),
            expensive: RateLimit::unlimited(),
            support: Some("@shop_support".into()),
        };
        Bot::with(config).await
    }

    async fn with(config: FlowConfig) -> Bot {
        let store: Arc<dyn Storage> = Arc::new(JsonStore::in_memory());
        let t = TestShop::new(store).await;
        let flow = Flow::with_config(t.shop.clone(), config);
        Bot { t, flow }
    }

    async fn event(&self, user: UserId, incoming: Incoming) -> Reply {
        // The name the shop already knows, so only what the test does changes the store.
        let known = self.t.store.user(user).await.unwrap();
        let name = known.map_or_else(|| PersonName::lenient("Someone"), |u| u.name);
        let profile = UserProfile { id: user, name };
        self.flow.handle(ChatId(user.0), profile, incoming).await
    }

    async fn send(&self, user: UserId, text: &str) -> Reply {
        self.event(user, Incoming::from_text(text)).await
    }

    async fn press(&self, user: UserId, action: Action) -> Reply {
        self.event(user, Incoming::Button(action)).await
    }
}

/// Everything a person reads: the notice and the screen.
fn said(reply: &Reply) -> String {
    let screen = reply.screen.as_ref().map(|s| markup::plain(&s.text));
    format!(
        "{}\n{}",
        reply.notice.clone().unwrap_or_default(),
        screen.unwrap_or_default()
    )
}

/// The screen's text as a person reads it.
fn screen(reply: &Reply) -> String {
    markup::plain(&reply.screen.as_ref().expect("a screen").text)
}

#[tokio::test]
async fn an_admin_adds_a_product_step_by_step_retrying_each_bad_answer() {
    let bot = Bot::new().await;
    let admin = bot.t.staff(10, Role::Admin).await;
    bot.t.category("Games").await;

    let reply = bot.press(admin, Action::AdminNewProduct).await;
    assert!(screen(&reply).contains("Send the product's name"));
    let reply = bot.send(admin, "   ").await;
    assert!(screen(&reply).contains("⚠️"), "{}", screen(&reply));
    assert!(screen(&reply).contains("Send the product's name"));

    let reply = bot.send(admin, "Space <Game> & Co").await;
    assert!(screen(&reply).contains("Send the price"));
    let reply = bot.send(admin, "9.999").await;
    assert!(screen(&reply).contains("⚠️"), "{}", screen(&reply));
    let reply = bot.send(admin, "12.50").await;
    assert!(screen(&reply).contains("Send a category"));
    assert!(screen(&reply).contains("Games"));
    let reply = bot.send(admin, "games").await;
    assert!(screen(&reply).contains("Send a description"));
    let reply = bot.send(admin, "A <b>great</b> game").await;
    assert!(
        screen(&reply).contains("Product created"),
        "{}",
        screen(&reply)
    );

    let products = bot.t.shop.admin().products(admin).await.unwrap();
    let product = products
        .iter()
        .find(|p| p.name.as_str() == "Space <Game> & Co");
    let product = product.expect("the product exists");
    assert_eq!(product.price.minor, 1250);
    assert!(
        product.category.is_some(),
        "the existing category was reused"
    );
    assert_eq!(
        bot.t.shop.catalog().categories(admin).await.unwrap().len(),
        1
    );
    // What the admin typed is shown as text, never as markup.
    let markup = &reply.screen.as_ref().unwrap().text;
    assert!(markup.contains("Space &lt;Game&gt; &amp; Co"), "{markup}");
    assert!(
        markup.contains("A &lt;b&gt;great&lt;/b&gt; game"),
        "{markup}"
    );
    // The dialogue is over: more text is just text.
    let reply = bot.send(admin, "another").await;
    assert!(screen(&reply).contains("Welcome to the shop"));
}

#[tokio::test]
async fn an_admin_adds_stock_by_pasting_and_by_uploading_a_text_file() {
    let bot = Bot::new().await;
    let admin = bot.t.staff(10, Role::Admin).await;
    let product = bot.t.product("Game", 500).await.id;

    bot.press(admin, Action::AdminAddStock { product }).await;
    let bad = format!("KEY-1\n{}\nKEY-2", "x".repeat(5000));
    let reply = bot.send(admin, &bad).await;
    assert!(screen(&reply).contains("line 2"), "{}", screen(&reply));
    assert_eq!(bot.t.counts(product).await.available, 0, "nothing imported");

    let reply = bot.send(admin, "KEY-1\n\nKEY-2\nKEY-1").await;
    assert!(
        screen(&reply).contains("Added 2 unit(s)"),
        "{}",
        screen(&reply)
    );
    assert_eq!(bot.t.counts(product).await.available, 2);

    bot.press(admin, Action::AdminAddStock { product }).await;
    let upload = |name: &str, bytes: &[u8]| Incoming::Document {
        file_name: name.into(),
        bytes: bytes.to_vec(),
    };
    let reply = bot.event(admin, upload("keys.csv", b"KEY-3")).await;
    assert!(screen(&reply).contains("not a .txt file"));
    let reply = bot.event(admin, upload("keys.txt", &[0xff, 0xfe])).await;
    assert!(screen(&reply).contains("not UTF-8"));
    let reply = bot
        .event(admin, upload("keys.txt", b"KEY-3\r\nKEY-4\r\nKEY-2\r\n"))
        .await;
    assert!(
        screen(&reply).contains("Added 2 unit(s)"),
        "{}",
        screen(&reply)
    );
    assert!(screen(&reply).contains("Skipped 1 duplicate"));
    assert_eq!(bot.t.counts(product).await.available, 4);

    let reply = bot
        .event(
            admin,
            Incoming::TooLarge {
                file_name: "huge.txt".into(),
            },
        )
        .await;
    assert!(said(&reply).contains("too large"));
}

#[tokio::test]
async fn the_flow_says_which_screens_wait_for_text_and_which_for_several_lines() {
    let bot = Bot::new().await;
    let admin = bot.t.staff(10, Role::Admin).await;
    let product = bot.t.product("Game", 500).await.id;
    let awaited = || bot.flow.awaited_text(ChatId(admin.0), admin);

    bot.send(admin, "/start").await;
    assert_eq!(awaited().await.unwrap(), None, "the menu offers buttons");
    bot.press(admin, Action::AdminNewProduct).await;
    assert_eq!(awaited().await.unwrap(), Some(TextInput::Line));
    bot.send(admin, "Game two").await;
    assert_eq!(awaited().await.unwrap(), Some(TextInput::Line), "the price");
    bot.press(admin, Action::AdminAddStock { product }).await;
    assert_eq!(awaited().await.unwrap(), Some(TextInput::Lines));
    bot.send(admin, "KEY-1\nKEY-2").await;
    assert_eq!(
        awaited().await.unwrap(),
        None,
        "the import ended the dialogue"
    );
    bot.press(admin, Action::AdminFindUser).await;
    assert_eq!(awaited().await.unwrap(), Some(TextInput::Line));
    bot.press(admin, Action::Cancel).await;
    assert_eq!(awaited().await.unwrap(), None, "cancelled");
}

#[tokio::test]
async fn a_customer_pressing_admin_buttons_is_refused_and_nothing_changes() {
    let bot = Bot::new().await;
    let customer = bot.t.customer(20).await;
    let product = bot.t.product("Game", 500).await.id;
    let before = Snapshot::take(bot.t.store.as_ref()).await;
    let actions = [
        Action::Admin,
        Action::AdminNewProduct,
        Action::AdminProducts { page: 0 },
        Action::AdminProduct { product },
        Action::AdminEditPrice { product },
        Action::AdminSetHidden {
            product,
            hidden: true,
        },
        Action::AdminAddStock { product },
        Action::AdminLowStock,
        Action::AdminFindUser,
        Action::AdminUser { user: OWNER },
        Action::AdminSetBanned {
            user: OWNER,
            banned: true,
        },
        Action::AdminCredit { user: customer },
        Action::AdminMaintenance { on: true },
    ];
    for action in actions {
        let reply = bot.press(customer, action).await;
        assert!(said(&reply).contains("That is not allowed."), "{action:?}");
        assert!(screen(&reply).contains("Welcome to the shop"), "{action:?}");
        // No dialogue was started: text afterwards is not taken as an answer.
        let reply = bot.send(customer, "100").await;
        assert!(screen(&reply).contains("Use the buttons"), "{action:?}");
    }
    let reply = bot.send(customer, "/admin").await;
    assert!(said(&reply).contains("That is not allowed."));
    assert_eq!(Snapshot::take(bot.t.store.as_ref()).await, before);
}

#[tokio::test]
async fn a_dialogue_step_is_refused_once_the_admin_has_lost_the_role() {
    let bot = Bot::new().await;
    let admin = bot.t.staff(10, Role::Admin).await;
    let customer = bot.t.customer(20).await;
    bot.press(admin, Action::AdminCredit { user: customer })
        .await;
    bot.t
        .shop
        .admin()
        .set_role(OWNER, admin, Role::Customer)
        .await
        .unwrap();

    let reply = bot.send(admin, "50.00").await;
    assert!(said(&reply).contains("That is not allowed."));
    assert_eq!(bot.t.balance(customer).await.balance.minor, 0);
}

#[tokio::test]
async fn support_can_ban_but_not_credit_or_edit_products() {
    let bot = Bot::new().await;
    let support = bot.t.staff(11, Role::Support).await;
    let customer = bot.t.customer(20).await;
    let product = bot.t.product("Game", 500).await.id;

    let reply = bot.press(support, Action::Admin).await;
    let labels: Vec<&str> = reply
        .screen
        .as_ref()
        .unwrap()
        .buttons
        .iter()
        .flatten()
        .map(|b| b.label.as_str())
        .collect();
    assert!(labels.contains(&"Find user"));
    assert!(!labels.contains(&"Add product"));
    assert!(!labels.iter().any(|l| l.starts_with("Maintenance")));

    let reply = bot
        .press(
            support,
            Action::AdminSetBanned {
                user: customer,
                banned: true,
            },
        )
        .await;
    assert!(said(&reply).contains("Banned."));
    let reply = bot
        .press(support, Action::AdminCredit { user: customer })
        .await;
    assert!(said(&reply).contains("That is not allowed."));
    let reply = bot
        .press(
            support,
            Action::AdminSetHidden {
                product,
                hidden: true,
            },
        )
        .await;
    assert!(said(&reply).contains("That is not allowed."));
    assert!(
        !bot.t
            .shop
            .admin()
            .product(support, product)
            .await
            .unwrap()
            .0
            .hidden
    );
}

#[tokio::test]
async fn finding_a_user_takes_trimmed_digits_only_and_a_credit_applies_once() {
    let bot = Bot::new().await;
    let admin = bot.t.staff(10, Role::Admin).await;
    let customer = bot.t.customer(123456).await;

    bot.press(admin, Action::AdminFindUser).await;
    for bad in ["12a", "-5", "#123456", "99999999999999999999"] {
        let reply = bot.send(admin, bad).await;
        assert!(
            screen(&reply).contains("digits only"),
            "{bad}: {}",
            screen(&reply)
        );
    }
    let reply = bot.send(admin, "777").await;
    assert!(screen(&reply).contains("There is no user 777"));
    let reply = bot.send(admin, "  123456 \n").await;
    assert!(screen(&reply).contains("User 123456"), "{}", screen(&reply));

    bot.press(admin, Action::AdminCredit { user: customer })
        .await;
    let reply = bot.send(admin, "0").await;
    assert!(screen(&reply).contains("above zero"));
    let reply = bot.send(admin, "25.00").await;
    assert!(said(&reply).contains("Credited 25.00 USD."));
    // A second amount after the dialogue ended is just text.
    bot.send(admin, "25.00").await;
    assert_eq!(bot.t.balance(customer).await.balance.minor, 2500);
}

#[tokio::test]
async fn a_credit_above_the_limit_for_manual_credits_waits_for_an_explicit_yes() {
    let bot = Bot::new().await;
    let admin = bot.t.staff(10, Role::Admin).await;
    let customer = bot.t.customer(20).await;
    bot.press(admin, Action::AdminCredit { user: customer })
        .await;

    let reply = bot.send(admin, "90000000000000000.00").await;

    let asked = screen(&reply);
    assert!(
        asked.contains(
            "Credit 90000000000000000.00 USD to the wallet of user 20? That is above the \
             limit for manual credits of 1000000.00 USD."
        ),
        "{asked}"
    );
    assert!(asked.contains("Send YES to credit it"), "{asked}");
    assert_eq!(bot.t.balance(customer).await.balance.minor, 0);
    for not_yes in ["ok", "90000000000000000.00", "yes please"] {
        let reply = bot.send(admin, not_yes).await;
        assert!(screen(&reply).contains("Nothing was credited"), "{not_yes}");
        assert_eq!(bot.t.balance(customer).await.balance.minor, 0, "{not_yes}");
    }

    let reply = bot.send(admin, " yes ").await;

    assert!(
        said(&reply).contains("Credited 90000000000000000.00 USD."),
        "{}",
        said(&reply)
    );
    // A second yes after the dialogue ended is just text.
    let reply = bot.send(admin, "YES").await;
    assert!(screen(&reply).contains("Use the buttons"));
    let credited = 9_000_000_000_000_000_000;
    assert_eq!(bot.t.balance(customer).await.balance.minor, credited);
}

#[tokio::test]
async fn an_unconfirmed_large_credit_is_cancelled_or_refused_and_credits_nothing() {
    let bot = Bot::new().await;
    let admin = bot.t.staff(10, Role::Admin).await;
    let customer = bot.t.customer(20).await;
    let before = Snapshot::take(bot.t.store.as_ref()).await;

    bot.press(admin, Action::AdminCredit { user: customer })
        .await;
    bot.send(admin, "1000000.01").await;
    let reply = bot.press(admin, Action::Cancel).await;
    assert!(said(&reply).contains("Cancelled"), "{}", said(&reply));
    let reply = bot.send(admin, "yes").await;
    assert!(screen(&reply).contains("Use the buttons"));

    // Confirming is a step of its own: an admin who lost the role meanwhile is refused.
    bot.press(admin, Action::AdminCredit { user: customer })
        .await;
    bot.send(admin, "1000000.01").await;
    bot.t
        .shop
        .admin()
        .set_role(OWNER, admin, Role::Customer)
        .await
        .unwrap();
    let reply = bot.send(admin, "yes").await;
    assert!(said(&reply).contains("That is not allowed."));

    assert_eq!(bot.t.balance(customer).await.balance.minor, 0);
    let after = Snapshot::take(bot.t.store.as_ref()).await;
    assert_eq!(after.wallets, before.wallets);
}

#[tokio::test]
async fn dialogues_expire_and_are_kept_apart_per_person() {
    let bot = Bot::new().await;
    let first = bot.t.staff(10, Role::Admin).await;
    let second = bot.t.staff(11, Role::Admin).await;
    bot.press(first, Action::AdminFindUser).await;
    // The other admin's text is not an answer to the first admin's question.
    let reply = bot.send(second, "10").await;
    assert!(screen(&reply).contains("Use the buttons"));

    bot.t.clock.advance(Duration::from_secs(9 * 60));
    let reply = bot.send(first, "11").await;
    assert!(
        screen(&reply).contains("User 11"),
        "still open after 9 minutes"
    );

    bot.press(first, Action::AdminFindUser).await;
    bot.t.clock.advance(Duration::from_secs(10 * 60));
    let reply = bot.send(first, "11").await;
    assert!(
        screen(&reply).contains("Use the buttons"),
        "expired after 10 minutes"
    );

    bot.press(first, Action::AdminFindUser).await;
    let reply = bot.send(first, "/cancel").await;
    assert!(said(&reply).contains("Cancelled."));
    let reply = bot.send(first, "11").await;
    assert!(screen(&reply).contains("Use the buttons"));
}

#[tokio::test]
async fn maintenance_closes_the_shop_for_customers_but_not_for_admins() {
    let bot = Bot::new().await;
    let admin = bot.t.staff(10, Role::Admin).await;
    let customer = bot.t.customer(20).await;
    let reply = bot
        .press(admin, Action::AdminMaintenance { on: true })
        .await;
    assert!(said(&reply).contains("Maintenance is on"));

    let reply = bot.send(customer, "/start").await;
    assert_eq!(reply.screen, None);
    assert!(said(&reply).contains("closed for maintenance"));
    let reply = bot.press(admin, Action::AdminProducts { page: 0 }).await;
    assert!(screen(&reply).contains("No products yet"));

    bot.press(admin, Action::AdminMaintenance { on: false })
        .await;
    let reply = bot.send(customer, "/start").await;
    assert!(screen(&reply).contains("Welcome to the shop"));
}

#[tokio::test]
async fn a_flooding_customer_is_slowed_down_without_slowing_anyone_else() {
    let config = FlowConfig {
        updates: RateLimit::new(5, Duration::from_secs(1)),
        expensive: RateLimit::new(1, Duration::from_secs(30)),
        support: None,
    };
    let bot = Bot::with(config).await;
    let flooder = bot.t.customer(20).await;
    let other = bot.t.customer(21).await;
    let mut slowed = 0;
    for _ in 0..50 {
        let reply = bot.send(flooder, "/start").await;
        if reply
            .notice
            .as_deref()
            .is_some_and(|n| n.starts_with("Slow down"))
        {
            assert_eq!(reply.screen, None);
            slowed += 1;
        }
    }
    assert_eq!(slowed, 45);
    let reply = bot.send(other, "/start").await;
    assert!(screen(&reply).contains("Welcome"));

    // Buying is limited more strictly than browsing.
    bot.t.clock.advance(Duration::from_secs(60));
    bot.press(other, Action::ConfirmCheckout { version: 0 })
        .await;
    let reply = bot
        .press(other, Action::ConfirmCheckout { version: 0 })
        .await;
    assert!(said(&reply).contains("Slow down, please: try again in 30 s."));
}

#[tokio::test]
async fn a_redelivered_update_changes_nothing_the_second_time() {
    let bot = Bot::new().await;
    let customer = bot.t.customer(20).await;
    let product = bot.t.product("Game", 500).await.id;
    bot.t.keys(product, "K", 3).await;
    let profile = UserProfile {
        id: customer,
        name: PersonName::lenient("Ann"),
    };
    let add = Incoming::Button(Action::AddToCart {
        product,
        quantity: 1,
    });
    let chat = ChatId(customer.0);
    let first = bot
        .flow
        .handle_update(UpdateId(900), chat, profile.clone(), add.clone())
        .await;
    let again = bot
        .flow
        .handle_update(UpdateId(900), chat, profile, add)
        .await;
    assert!(first.unwrap().screen.is_some());
    assert_eq!(again.unwrap(), Reply::default());
    let cart = bot.t.store.cart(customer).await.unwrap();
    assert_eq!(cart.lines[0].quantity.get(), 1);
}

#[tokio::test]
async fn an_order_of_many_long_keys_is_delivered_in_parts_that_each_fit_a_message() {
    let bot = Bot::new().await;
    let customer = bot.t.customer(20).await;
    let product = bot.t.product("Game", 1).await.id;
    let keys: Vec<String> = (0..100)
        .map(|i| format!("{i:03}-{}", "<&>".repeat(100)))
        .collect();
    bot.t.import(product, &keys).await;
    bot.t.fund(customer, 1000).await;
    bot.press(
        customer,
        Action::AddToCart {
            product,
            quantity: 100,
        },
    )
    .await;
    let version = bot.t.store.cart(customer).await.unwrap().version;
    let reply = bot
        .press(customer, Action::ConfirmCheckout { version })
        .await;
    let screen = reply.screen.unwrap();
    let parts = screen.split(MAX_MESSAGE_LEN);
    assert!(parts.len() > 1);
    let mut delivered = 0;
    for (i, part) in parts.iter().enumerate() {
        assert!(markup::len(&part.text) <= MAX_MESSAGE_LEN);
        assert_eq!(
            part.buttons.is_empty(),
            i + 1 < parts.len(),
            "buttons on the last part"
        );
        delivered += keys
            .iter()
            .filter(|k| markup::plain(&part.text).contains(k.as_str()))
            .count();
    }
    assert_eq!(delivered, 100, "every key once, whole");
}

#[tokio::test]
async fn staff_switch_their_own_notices_on_and_off_from_the_admin_menu() {
    use shopbot_core::notice::{NoticeKind, NoticeKinds};
    let bot = Bot::new().await;
    let support = bot.t.staff(10, Role::Support).await;

    let menu = bot.press(support, Action::Admin).await;
    let buttons = &menu.screen.as_ref().unwrap().buttons;
    assert!(
        buttons
            .iter()
            .flatten()
            .any(|b| b.action == Action::AdminNotices),
        "{buttons:?}"
    );
    let reply = bot.press(support, Action::AdminNotices).await;
    assert!(
        screen(&reply).contains("You get no notices"),
        "{}",
        screen(&reply)
    );

    let on = |kind| Action::AdminSetNotice { kind, on: true };
    bot.press(support, on(NoticeKind::OrderPaid)).await;
    let reply = bot.press(support, on(NoticeKind::LowStock)).await;
    assert!(
        screen(&reply).contains("An order is paid"),
        "{}",
        screen(&reply)
    );
    assert!(
        screen(&reply).contains("A product runs low"),
        "{}",
        screen(&reply)
    );
    let kinds = bot.t.store.notice_kinds(support).await.unwrap();
    let both: NoticeKinds = [NoticeKind::OrderPaid, NoticeKind::LowStock]
        .into_iter()
        .collect();
    assert_eq!(kinds, both);

    let off = Action::AdminSetNotice {
        kind: NoticeKind::OrderPaid,
        on: false,
    };
    let reply = bot.press(support, off).await;
    assert_eq!(reply.notice.as_deref(), Some("Notices off."));
    let kinds = bot.t.store.notice_kinds(support).await.unwrap();
    assert_eq!(kinds, [NoticeKind::LowStock].into_iter().collect());
    // The switch shows what pressing it does next.
    let buttons = &reply.screen.as_ref().unwrap().buttons;
    assert!(
        buttons
            .iter()
            .flatten()
            .any(|b| b.action == on(NoticeKind::OrderPaid))
    );
}

#[tokio::test]
async fn a_customer_pressing_a_notice_switch_is_refused_and_gets_no_notices() {
    use shopbot_core::notice::NoticeKind;
    let bot = Bot::new().await;
    let customer = bot.t.customer(20).await;

    for action in [
        Action::AdminNotices,
        Action::AdminSetNotice {
            kind: NoticeKind::OrderPaid,
            on: true,
        },
    ] {
        let reply = bot.press(customer, action).await;
        assert!(said(&reply).contains("That is not allowed."), "{action:?}");
    }
    assert!(bot.t.store.notice_kinds(customer).await.unwrap().is_empty());
}
