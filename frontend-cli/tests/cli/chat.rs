//! `shopbot chat`: a scripted session piped through stdin buys a product and sees its key; and
//! the conversation itself, driven in process: double taps, forged and stale buttons, bans.

use std::sync::Arc;

use shopbot_core::catalog::{ProductDraft, ProductKind};
use shopbot_core::flow::{Action, Flow, Incoming};
use shopbot_core::ids::{ChatId, UserId};
use shopbot_core::money::{Currency, Money};
use shopbot_core::ports::{Page, SystemClock};
use shopbot_core::services::{Shop, ShopConfig};
use shopbot_core::stock::OnDuplicate;
use shopbot_core::text::{Description, IdempotencyKey, Note, PersonName, ProductName};
use shopbot_core::user::UserProfile;
use shopbot_storage_json::JsonStore;

use crate::helpers::TestShop;

#[test]
fn a_piped_chat_session_buys_a_product_and_sees_its_key() {
    let shop = TestShop::demo();
    // Menu → Catalog → Games → Pixel Racers → Add to cart → Cart → Checkout → Confirm.
    let script = b"/start\n1\n1\n2\n1\n3\n4\n1\n";
    let run = shop.run_with_input(&["chat", "--user", "1001", "--name", "Ann"], script);
    run.ok();
    assert!(run.stdout.contains("» Paid. Thank you!"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("Your keys:\nPixel Racers (Steam key): PXR-"),
        "{}",
        run.stdout
    );
    let user = shop.json(&["user", "show", "--user", "1001"]);
    assert_eq!(user["balance"]["minor"], 10_000 - 999, "{user}");
}

#[test]
fn scripted_buy_now_cycles_say_paid_once_for_every_order_made() {
    const CYCLES: usize = 30;
    let shop = TestShop::demo();
    let keys: String = (0..CYCLES).map(|i| format!("PXR-CYCLE-{i:03}\n")).collect();
    let file = shop.file("keys.txt", keys.as_bytes());
    shop.run(&["stock", "add", "--product", "2", "--file", &file])
        .ok();
    shop.run(&[
        "user", "credit", "--user", "1001", "--amount", "200.00", "--reason", "cycles",
    ])
    .ok();
    // Catalog → Games → Pixel Racers → Buy now → Confirm purchase, as fast as a script types:
    // many confirmations are shown within the same millisecond.
    let cycle = "/catalog\n1\n2\n1\n1\n";
    let script = cycle.repeat(CYCLES);

    let run = shop.run_with_input(&["chat", "--user", "1001"], script.as_bytes());
    run.ok();

    let paid = run.stdout.matches("» Paid. Thank you!").count();
    let orders = shop.json(&["order", "list", "--user", "1001", "--limit", "1000"]);
    let orders = orders.as_array().unwrap().len();
    assert_eq!(paid, orders, "one \"Paid\" per order made:\n{}", run.stdout);
    assert_eq!(orders, CYCLES, "every cycle bought a key:\n{}", run.stdout);
}

#[test]
fn a_button_number_that_is_not_on_screen_is_explained_and_changes_nothing() {
    let shop = TestShop::demo();
    let run = shop.run_with_input(&["chat", "--user", "1001"], b"9\n");
    run.ok();
    assert!(
        run.stdout.contains("There is no button 9: choose 1 to 5."),
        "{}",
        run.stdout
    );
}

/// Runs a piped chat session as user 1001, made an admin by the configuration; its output.
fn admin_chat(shop: &TestShop, script: &[u8]) -> String {
    let mut command = shop.command(&["chat", "--user", "1001"]);
    command
        .env("SHOPBOT_SHOP_ADMINS", "1001")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), script).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn an_admin_types_a_whole_price_pastes_a_block_of_keys_and_finds_a_user_by_id() {
    let shop = TestShop::demo();
    // /admin → Add product: name, price 5 (text, not button 5), no category, no description;
    // then Add stock (button 3) with five pasted keys ended by an empty line (one of them
    // all digits); then Admin (button 5) → Find user (button 4) → 1001.
    let script = b"/admin\n1\nWidget\n5\n-\n-\n3\nW-1\n12345\nW-3\nW-4\nW-5\n\n5\n4\n1001\n";
    let out = admin_chat(&shop, script);

    assert!(out.contains("Widget\n5.00 USD"), "{out}");
    assert!(out.contains("Added 5 unit(s)."), "{out}");
    assert!(out.contains("User 1001 · Demo customer"), "{out}");
    assert!(!out.contains("There is no button"), "{out}");
    let products = shop.json(&["product", "list"]);
    let widget = products
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Widget")
        .unwrap_or_else(|| panic!("{products}"));
    assert_eq!(widget["price"]["minor"], 500, "{widget}");
    assert_eq!(widget["stock"]["available"], 5, "{widget}");
}

#[test]
fn a_button_can_still_be_pressed_where_text_is_asked_for_and_a_block_ends_at_end() {
    let shop = TestShop::demo();
    // Add product, then /1 presses Cancel instead of naming the product "1" (back to the
    // menu); Admin → Products → the first product → Add stock takes lines up to /end, and
    // the next line, 4, is a button again (‹ Products).
    let script = b"/admin\n1\n/1\n6\n2\n1\n3\nK-1\nK-2\n/end\n4\n";
    let out = admin_chat(&shop, script);

    assert!(out.contains("/1 presses button 1"), "{out}");
    assert!(out.contains("Added 2 unit(s)."), "{out}");
    assert!(
        out.contains("Products (5)"),
        "the last 4 went back to the products:\n{out}"
    );
    let products = shop.json(&["product", "list"]);
    assert_eq!(
        products.as_array().unwrap().len(),
        5,
        "nothing added: {products}"
    );
}

#[test]
fn a_line_that_is_not_utf8_is_reported_and_the_session_goes_on() {
    let shop = TestShop::demo();
    let run = shop.run_with_input(&["chat", "--user", "1001"], b"\xff\xfe\n1\n");
    run.ok();
    assert!(
        run.stdout
            .contains("That line is not valid text (UTF-8), ignored."),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("> 1\n"),
        "the next line was read: {}",
        run.stdout
    );
}

#[test]
fn a_chat_without_name_keeps_the_stored_name_and_a_new_user_gets_a_default() {
    let shop = TestShop::demo();
    shop.run_with_input(&["chat", "--user", "1001"], b"/start\n")
        .ok();
    shop.run_with_input(&["chat", "--user", "2002"], b"/start\n")
        .ok();

    let kept = shop.json(&["user", "show", "--user", "1001"]);
    assert_eq!(kept["name"], "Demo customer", "{kept}");
    let new = shop.json(&["user", "show", "--user", "2002"]);
    assert_eq!(new["name"], "customer 2002", "{new}");

    shop.run_with_input(&["chat", "--user", "1001", "--name", "Ann"], b"/start\n")
        .ok();
    let renamed = shop.json(&["user", "show", "--user", "1001"]);
    assert_eq!(renamed["name"], "Ann", "{renamed}");
}

const OWNER: UserId = UserId(1);
const ANN: UserId = UserId(42);

fn ann() -> UserProfile {
    UserProfile {
        id: ANN,
        name: PersonName::lenient("Ann"),
    }
}

/// An in-memory shop with one key product (two keys) and Ann holding 50.00.
async fn shop() -> (Shop, Flow, shopbot_core::ids::ProductId) {
    let config = ShopConfig {
        owners: [OWNER].into(),
        ..ShopConfig::default()
    };
    let shop = Shop::new(
        Arc::new(JsonStore::in_memory()),
        Arc::new(SystemClock),
        config,
    );
    for profile in [
        UserProfile {
            id: OWNER,
            name: PersonName::lenient("owner"),
        },
        ann(),
    ] {
        shop.greet(profile).await.unwrap();
    }
    let draft = ProductDraft {
        category: None,
        name: ProductName::parse("Game key").unwrap(),
        description: Description::parse("").unwrap(),
        kind: ProductKind::Key,
        price: Money::new(1500, Currency::USD),
        hidden: false,
        image: None,
    };
    let product = shop.admin().create_product(OWNER, draft).await.unwrap().id;
    shop.admin()
        .import_stock_text(OWNER, product, "K-1\nK-2\n", OnDuplicate::Refuse)
        .await
        .unwrap();
    let credit = Money::new(5000, Currency::USD);
    let key = IdempotencyKey::parse("welcome").unwrap();
    shop.admin()
        .adjust_wallet(OWNER, ANN, credit, Note::parse("welcome").unwrap(), key)
        .await
        .unwrap();
    let flow = Flow::new(shop.clone());
    (shop, flow, product)
}

/// The text of the reply's screen.
fn text(reply: &shopbot_core::flow::Reply) -> String {
    reply.screen.as_ref().expect("a screen").text.clone()
}

async fn press(flow: &Flow, action: Action) -> shopbot_core::flow::Reply {
    flow.handle(ChatId(ANN.0), ann(), Incoming::Button(action))
        .await
}

#[tokio::test]
async fn a_double_tap_on_confirm_buys_once() {
    let (shop, flow, product) = shop().await;
    press(
        &flow,
        Action::AddToCart {
            product,
            quantity: 1,
        },
    )
    .await;
    let version = shop.cart().view(ANN).await.unwrap().version;
    let first = press(&flow, Action::ConfirmCheckout { version }).await;
    let second = press(&flow, Action::ConfirmCheckout { version }).await;
    assert!(text(&first).contains("Your keys"), "{}", text(&first));
    assert_eq!(first.notice.as_deref(), Some("Paid. Thank you!"));
    assert_eq!(
        text(&first),
        text(&second),
        "the second tap shows the same order"
    );
    let notice = second.notice.as_deref().unwrap_or_default();
    assert!(notice.contains("already paid"), "{second:?}");
    let ledger = shop.storage().ledger(ANN, Page::first(10)).await.unwrap();
    assert_eq!(ledger.len(), 2, "one credit and one purchase: {ledger:?}");
    assert_eq!(
        shop.wallet().balance(ANN).await.unwrap().available().minor,
        3500
    );
}

#[tokio::test]
async fn forged_stale_and_staff_buttons_change_nothing() {
    let (shop, flow, product) = shop().await;
    let before = shop.catalog().product(ANN, product).await.unwrap();
    for data in [&b"zz:1"[..], b"", &[0xff; 80][..], b"p:01"] {
        let reply = flow
            .handle(ChatId(ANN.0), ann(), Incoming::from_button(data))
            .await;
        assert!(
            reply.notice.as_deref() == Some("This button has expired."),
            "{reply:?}"
        );
        assert!(text(&reply).contains("Welcome to the shop"), "{reply:?}");
    }
    let staff = [
        Action::AdminSetHidden {
            product,
            hidden: true,
        },
        Action::AdminSetBanned {
            user: OWNER,
            banned: true,
        },
        Action::AdminMaintenance { on: true },
    ];
    for action in staff {
        let reply = press(&flow, action).await;
        assert_eq!(reply.notice.as_deref(), Some("That is not allowed."));
    }
    assert_eq!(shop.catalog().product(ANN, product).await.unwrap(), before);
    assert!(!shop.storage().settings().await.unwrap().maintenance);
    assert!(!shop.storage().user(OWNER).await.unwrap().unwrap().banned);
}

#[tokio::test]
async fn a_banned_customer_gets_one_short_notice_and_nothing_else() {
    let (shop, flow, product) = shop().await;
    shop.admin().set_banned(OWNER, ANN, true).await.unwrap();
    let reply = press(
        &flow,
        Action::AddToCart {
            product,
            quantity: 1,
        },
    )
    .await;
    assert_eq!(reply.notice.as_deref(), Some("Your account is blocked."));
    assert_eq!(reply.screen, None);
    assert!(shop.storage().cart(ANN).await.unwrap().is_empty());
}

#[tokio::test]
async fn buying_the_last_key_twice_tells_the_second_buyer_it_is_sold_out() {
    let (shop, flow, product) = shop().await;
    press(
        &flow,
        Action::AddToCart {
            product,
            quantity: 2,
        },
    )
    .await;
    let version = shop.cart().view(ANN).await.unwrap().version;
    press(&flow, Action::ConfirmCheckout { version }).await;
    press(
        &flow,
        Action::AddToCart {
            product,
            quantity: 1,
        },
    )
    .await;
    let version = shop.cart().view(ANN).await.unwrap().version;
    let reply = press(&flow, Action::ConfirmCheckout { version }).await;
    assert_eq!(
        reply.notice.as_deref(),
        Some("Sorry, Game key is sold out."),
        "{reply:?}"
    );
    assert!(text(&reply).contains("Your cart:"), "{reply:?}");
}
