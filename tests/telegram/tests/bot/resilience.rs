//! When things get rough: a flood from one person, Telegram's flood control, a restart and a
//! shutdown with work in hand.

use std::time::Duration;

use shopbot_core::flow::{FlowConfig, RateLimit};

use crate::helpers::{BotOptions, TestBot};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_person_flooding_the_bot_is_slowed_down_while_another_is_still_answered() {
    let options = BotOptions {
        flow: FlowConfig {
            // Three messages, then nothing for a minute: the outcome does not depend on speed.
            updates: RateLimit::new(3, Duration::from_secs(60)),
            expensive: RateLimit::unlimited(),
            support: None,
        },
        ..BotOptions::default()
    };
    let mut bot = TestBot::start_with(options).await;
    for i in 0..100 {
        bot.api.send_text(1001, &format!("message {i}"));
    }
    let bob = bot.user(1002);
    let menu = bob.send("/start").await;
    assert!(
        menu.text.contains("Welcome!") && menu.text.contains("What would you like to do?"),
        "{}",
        menu.text
    );

    let slowed = bot
        .api
        .wait_for("97 slow-down notices", |api| {
            let n = api
                .messages(1001)
                .iter()
                .filter(|m| m.from_bot && m.text.starts_with("Slow down, please"))
                .count();
            (n >= 97).then_some(n)
        })
        .await;
    assert_eq!(slowed, 97);
    bot.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_message_refused_with_429_arrives_after_the_retry_after() {
    let mut bot = TestBot::start().await;
    bot.api.fail_next("sendMessage", 1, 1);
    let ann = bot.user(1001);

    let menu = ann.send("/start").await;

    assert!(
        menu.text.contains("Welcome!") && menu.text.contains("What would you like to do?"),
        "{}",
        menu.text
    );
    let sends = bot.api.calls_of("sendMessage");
    let refused = sends
        .iter()
        .position(|c| c.error.is_some())
        .expect("a refused send");
    let retried = &sends[refused + 1];
    assert_eq!(retried.params["text"], sends[refused].params["text"]);
    assert!(
        retried.at - sends[refused].at >= Duration::from_millis(900),
        "retried after {:?}",
        retried.at - sends[refused].at
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_customers_cart_survives_a_restart() {
    let mut bot = TestBot::start_with(BotOptions {
        on_disk: true,
        ..BotOptions::default()
    })
    .await;
    bot.product("Game key", 1_500, &["K-1"]).await;
    let ann = bot.user(1001);
    ann.send("/catalog").await;
    ann.press("Game key").await;
    ann.press("Add to cart").await;

    bot.restart().await;

    let cart = bot.user(1001).send("/cart").await;
    assert!(cart.text.contains("Game key × 1"), "{}", cart.text);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stopping_with_an_update_in_hand_answers_it_first() {
    let mut bot = TestBot::start().await;
    let sent = bot.api.send_text(1001, "/start");
    // The bot polled past the update: it holds it.
    bot.api
        .wait_for("the update to be taken", |api| {
            (api.confirmed_below() > sent.update_id).then_some(())
        })
        .await;

    bot.stop().await;

    let answer = bot.api.bot_messages_after(1001, sent.message_id);
    assert!(
        answer
            .iter()
            .any(|m| m.text.contains("What would you like to do?")),
        "{answer:?}"
    );
}
