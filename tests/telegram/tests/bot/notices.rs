//! Staff notices end to end: an admin opts in from the admin menu, a customer buys, and the
//! outbox deliverer inside the bot tells the admin in their chat, once; staff who did not opt
//! in hear nothing.

use shopbot_core::ids::UserId;
use shopbot_core::user::Role;

use crate::helpers::{ADMIN, TestBot, User};

/// `buyer` buys one of `product` with "Buy now" from the wallet.
async fn buy_now(buyer: &User, product: &str) {
    buyer.send("/start").await;
    buyer.press("Catalog").await;
    buyer.press(product).await;
    buyer.press("Buy now").await;
    let paid = buyer.press("Confirm purchase").await;
    assert_eq!(paid.answers[0].text.as_deref(), Some("Paid. Thank you!"));
}

/// What the bot sent to `chat`, as people read it.
fn bot_texts(bot: &TestBot, chat: i64) -> Vec<String> {
    bot.api
        .messages(chat)
        .into_iter()
        .filter(|m| m.from_bot)
        .map(|m| m.text)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_paid_order_and_a_low_stock_product_notify_an_opted_in_admin_once() {
    let mut bot = TestBot::start().await;
    // Six keys: one sold leaves five, the shop's low-stock threshold.
    bot.product("Rare Key", 100, &["R-1", "R-2", "R-3", "R-4", "R-5", "R-6"])
        .await;
    bot.product(
        "Common Key",
        100,
        &["C-1", "C-2", "C-3", "C-4", "C-5", "C-6", "C-7"],
    )
    .await;
    bot.greet(50, "Sam").await;
    bot.shop
        .admin()
        .set_role(UserId(ADMIN), UserId(50), Role::Support)
        .await
        .unwrap();
    bot.fund(1001, 5_000).await;
    bot.fund(1002, 5_000).await;

    let admin = bot.admin();
    admin.send("/admin").await;
    admin.press("My notices").await;
    admin.press("▫️ An order is paid").await;
    let notices = admin.press("▫️ A product runs low").await;
    assert!(
        admin.screen().contains("You are told in this chat when"),
        "{:?}",
        notices
    );

    buy_now(&bot.user(1001), "Rare Key").await;
    // A later order of another product: once its notice arrives, every message queued
    // before it was delivered (the outbox goes oldest first).
    buy_now(&bot.user(1002), "Common Key").await;
    bot.api
        .wait_for("the notice of the second order", |api| {
            api.messages(ADMIN)
                .into_iter()
                .find(|m| m.from_bot && m.text.contains("paid") && m.text.contains("User 1002"))
        })
        .await;

    let to_admin = bot_texts(&bot, ADMIN);
    let paid_by_first: Vec<_> = to_admin
        .iter()
        .filter(|t| t.contains("Order #") && t.contains("User 1001 (user 1001)"))
        .collect();
    assert_eq!(paid_by_first.len(), 1, "{to_admin:#?}");
    assert!(paid_by_first[0].contains("Rare Key × 1"), "{to_admin:#?}");
    let low: Vec<_> = to_admin
        .iter()
        .filter(|t| t.contains("Low stock"))
        .collect();
    assert_eq!(low.len(), 1, "{to_admin:#?}");
    assert!(
        low[0].contains("Rare Key has 5 units left"),
        "{to_admin:#?}"
    );
    assert!(bot_texts(&bot, 50).is_empty(), "support did not opt in");
    bot.finish().await;
}
