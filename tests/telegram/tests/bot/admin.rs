//! The admin side end to end: adding a product through the dialogue, adding stock by pasted
//! text and by a `.txt` upload, and a dialogue that survives a restart. Steps press buttons
//! by their encoded [`Action`], so only the screens' wording ties the tests to the flow.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // Tests fail by panicking.

use shopbot_core::catalog::ProductFilter;
use shopbot_core::flow::Action;
use shopbot_core::ids::ProductId;

use crate::helpers::{ADMIN, BotOptions, TestBot, User};

async fn products_named(bot: &TestBot, name: &str) -> Vec<shopbot_core::catalog::Product> {
    let filter = ProductFilter {
        category: None,
        include_hidden: true,
    };
    let products = bot.store().products(filter).await.unwrap();
    products
        .into_iter()
        .filter(|p| p.name.as_str() == name)
        .collect()
}

/// Presses the button carrying `action` on the current screen (or, when the screen lacks
/// it, the same data under the screen as a person with an old message would).
async fn press_action(user: &User, action: Action) {
    let screen = user.current();
    user.press_data_on(screen.id, &action.encode()).await;
}

/// Answers the category step: the "no category" button if the screen offers one, else "-".
async fn skip_category(user: &User) {
    let screen = user.current();
    let skip = screen
        .all_buttons()
        .find(|b| {
            let label = b.label.to_lowercase();
            label.contains("no category") || label.contains("skip")
        })
        .and_then(|b| b.data.clone());
    match skip {
        Some(data) => {
            user.press_data_on(screen.id, &data).await;
        }
        None => {
            user.send_expecting_any("-").await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_admin_adds_a_product_through_the_dialogue() {
    let mut bot = TestBot::start().await;
    let admin = bot.admin();
    admin.send("/admin").await;
    press_action(&admin, Action::AdminNewProduct).await;

    admin.send_expecting_any("Nebula Quest").await;
    admin.send_expecting_any("12.50").await;
    skip_category(&admin).await;
    admin.send_expecting_any("A space game.").await;

    let created = products_named(&bot, "Nebula Quest").await;
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0].price.minor, 1_250);
    assert_eq!(created[0].description.as_str(), "A space game.");
    bot.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_admin_adds_stock_by_pasting_lines_and_invalid_lines_are_reported() {
    let mut bot = TestBot::start().await;
    let product = bot.product("Game key", 1_500, &[]).await;
    let admin = bot.admin();
    admin.send("/admin").await;

    press_action(&admin, Action::AdminAddStock { product }).await;
    let refused = admin
        .send_expecting_any("GOOD-1\nBAD\u{1}KEY\nGOOD-2")
        .await;
    let said: Vec<&str> = refused.iter().map(|m| m.text.as_str()).collect();
    assert!(said.iter().any(|t| t.contains("line 2")), "{said:?}");
    assert_eq!(
        bot.store().stock_counts(product).await.unwrap().available,
        0
    );

    press_action(&admin, Action::AdminAddStock { product }).await;
    admin.send_expecting_any("GOOD-1\nGOOD-2\n\nGOOD-3").await;
    assert_eq!(
        bot.store().stock_counts(product).await.unwrap().available,
        3
    );
    bot.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_admin_adds_stock_by_uploading_a_text_file() {
    let mut bot = TestBot::start().await;
    let product = bot.product("Game key", 1_500, &[]).await;
    let admin = bot.admin();
    admin.send("/admin").await;
    press_action(&admin, Action::AdminAddStock { product }).await;

    let keys: String = (1..=50).map(|i| format!("FILE-{i:03}\n")).collect();
    admin.upload("keys.txt", keys.as_bytes()).await;

    assert_eq!(
        bot.store().stock_counts(product).await.unwrap().available,
        50
    );
    let getfile = bot.api.calls_of("getFile");
    assert_eq!(getfile.len(), 1, "{getfile:?}");
    bot.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_admin_dialogue_survives_a_restart() {
    let mut bot = TestBot::start_with(BotOptions {
        on_disk: true,
        ..BotOptions::default()
    })
    .await;
    let admin = bot.admin();
    admin.send("/admin").await;
    press_action(&admin, Action::AdminNewProduct).await;
    admin.send_expecting_any("Restart Racer").await;

    bot.restart().await;

    let admin = bot.admin();
    admin.send_expecting_any("7.00").await;
    skip_category(&admin).await;
    admin.send_expecting_any("Survived a restart.").await;
    let created = products_named(&bot, "Restart Racer").await;
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0].price.minor, 700);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_customer_replaying_admin_dialogue_steps_creates_nothing() {
    let mut bot = TestBot::start().await;
    let product: ProductId = bot.product("Game key", 1_500, &[]).await;
    let mallory = bot.user(1001);
    mallory.send("/start").await;
    let before = bot.snapshot().await;

    press_action(&mallory, Action::AdminNewProduct).await;
    mallory.send_expecting_any("Evil product").await;
    press_action(&mallory, Action::AdminAddStock { product }).await;
    mallory.send_expecting_any("STOLEN-1").await;

    assert_eq!(bot.snapshot().await, before);
    assert!(bot.api.presses().iter().all(|p| p.answers.len() == 1));
    let _ = ADMIN;
    bot.stop().await;
}
