//! Buttons nobody should be able to press: garbage, oversized, forged and staff-only data; and
//! a press Telegram delivers twice.

use shopbot_core::flow::Action;
use shopbot_core::ids::{ProductId, UserId};

use crate::helpers::TestBot;

/// What a refused or stale press may say; never internals, never "Something went wrong".
const REFUSALS: &[&str] = &["This button has expired.", "That is not allowed."];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn garbage_oversized_forged_and_staff_only_button_data_is_refused_and_changes_nothing() {
    let mut bot = TestBot::start().await;
    let product = bot.product("Game key", 1_500, &["K-1"]).await;
    bot.fund(1001, 5_000).await;
    let mallory = bot.user(1001);
    mallory.send("/start").await;
    let before = bot.snapshot().await;

    let forged = [
        String::new(),
        "zz".into(),
        "p:01".into(),
        "p:-1".into(),
        "p:1:2".into(),
        "Am:2".into(),
        "m".repeat(65),
        "p:99999".into(),
        "cf:999".into(),
        Action::AdminMaintenance { on: true }.encode(),
        Action::AdminSetBanned {
            user: UserId(1001),
            banned: false,
        }
        .encode(),
        Action::AdminSetHidden {
            product,
            hidden: true,
        }
        .encode(),
        Action::AdminCredit { user: UserId(1001) }.encode(),
        Action::AdminAddStock { product }.encode(),
        Action::AdminProduct {
            product: ProductId(product.0 + 1),
        }
        .encode(),
    ];
    for data in &forged {
        let screen = mallory.current();
        let press = mallory.press_data_on(screen.id, data).await;
        let notice = press.answers[0].text.as_deref().unwrap_or_default();
        assert!(
            REFUSALS.iter().any(|r| notice.contains(r)) || data == "cf:999",
            "{data:?} answered {notice:?}"
        );
    }

    assert_eq!(
        bot.snapshot().await,
        before,
        "forged buttons changed the shop"
    );
    for press in bot.api.presses() {
        assert_eq!(press.answers.len(), 1, "{press:?}");
        let notice = press.answers[0].text.clone().unwrap_or_default();
        assert!(!notice.contains("Something went wrong"), "{press:?}");
    }
    bot.assert_no_violations();
    assert!(
        mallory
            .send("/start")
            .await
            .text
            .contains("What would you like to do?")
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_add_to_cart_press_delivered_twice_adds_one() {
    let mut bot = TestBot::start().await;
    let product = bot.product("Game key", 1_500, &["K-1", "K-2"]).await;
    let ann = bot.user(1001);
    ann.send("/catalog").await;
    ann.press("Game key").await;
    let press = ann.press("Add to cart").await;

    bot.api.redeliver(press.update_id);
    // Updates of one chat are handled in order: once /cart is answered, so is the redelivery.
    let cart = ann.send("/cart").await;

    assert!(cart.text.contains("Game key × 1"), "{}", cart.text);
    let stored = bot.store().cart(UserId(1001)).await.unwrap();
    assert_eq!(stored.lines.len(), 1);
    assert_eq!(stored.lines[0].product, product);
    assert_eq!(stored.lines[0].quantity.get(), 1);
    // The press itself was answered once; a second answer to the redelivered copy is refused
    // by Telegram, which the bot must shrug off (it cannot know the first one went out).
    let unexpected: Vec<_> = bot
        .api
        .violations()
        .into_iter()
        .filter(|v| {
            v.rule != shopbot_telegram_tests::Rule::CallbackAnsweredTwice
                || !v.detail.contains(&press.query_id)
        })
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:?}");
    bot.stop().await;
}
