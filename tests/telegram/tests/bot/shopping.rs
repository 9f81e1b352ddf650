//! Buying: browse, add, check out from the wallet, receive the keys.

use crate::helpers::TestBot;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_customer_browses_adds_two_products_checks_out_with_the_wallet_and_receives_the_keys() {
    let mut bot = TestBot::start().await;
    bot.product("Pixel Racers", 999, &["PXR-1", "PXR-2"]).await;
    bot.product("Star Miner", 500, &["STM-1"]).await;
    bot.fund(1001, 5_000).await;
    let ann = bot.user(1001);

    let menu = ann.send("/start").await;
    assert!(
        menu.text.contains("What would you like to do?"),
        "{}",
        menu.text
    );
    ann.press("Catalog").await;
    ann.press("Pixel Racers").await;
    ann.press("Add to cart").await;
    ann.press("‹ Back").await;
    ann.press("Star Miner").await;
    ann.press("Add to cart").await;
    ann.press("Cart").await;
    assert!(
        ann.screen().contains("Total: 14.99 USD"),
        "{}",
        ann.screen()
    );
    ann.press("Checkout").await;
    let paid = ann.press("Confirm purchase").await;

    assert_eq!(paid.answers[0].text.as_deref(), Some("Paid. Thank you!"));
    let screen = ann.screen();
    assert!(
        screen.contains("PXR-1") && screen.contains("STM-1"),
        "{screen}"
    );
    let delivered = bot
        .api
        .wait_for("the outbox delivery of the keys", |api| {
            api.messages(1001)
                .into_iter()
                .find(|m| m.from_bot && m.text.starts_with("Your order is ready"))
        })
        .await;
    assert!(
        delivered.text.contains("PXR-1") && delivered.text.contains("STM-1"),
        "{}",
        delivered.text
    );
    assert_eq!(bot.balance(1001).await, 5_000 - 1_499);
    bot.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_customers_racing_for_the_last_three_keys_buy_three_and_seventeen_hear_sold_out() {
    let mut bot = TestBot::start().await;
    let keys = ["LAST-1", "LAST-2", "LAST-3"];
    bot.product("Game key", 100, &keys).await;
    let customers: Vec<i64> = (2001..=2020).collect();
    for &id in &customers {
        bot.fund(id, 1_000).await;
    }
    // Everyone gets to the confirmation while the keys last...
    let mut ready = Vec::new();
    for &id in &customers {
        let user = bot.user(id);
        ready.push(tokio::spawn(async move {
            user.send("/catalog").await;
            user.press("Game key").await;
            user.press("Add to cart").await;
            user.press("Cart").await;
            user.press("Checkout").await;
            user
        }));
    }
    let mut users = Vec::new();
    for task in ready {
        users.push(task.await.unwrap());
    }
    // ...then all confirm at once.
    let confirms: Vec<_> = users
        .into_iter()
        .map(|user| tokio::spawn(async move { user.press("Confirm purchase").await }))
        .collect();
    let mut paid = 0;
    let mut sold_out = 0;
    for confirm in confirms {
        let press = confirm.await.unwrap();
        match press.answers[0].text.as_deref() {
            Some("Paid. Thank you!") => paid += 1,
            Some("Sorry, Game key is sold out.") => sold_out += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!((paid, sold_out), (3, 17));

    // Each key reaches exactly one buyer, by the outbox too.
    let deliveries = bot
        .api
        .wait_for("three deliveries", |api| {
            let delivered: Vec<String> = customers
                .iter()
                .flat_map(|&id| api.messages(id))
                .filter(|m| m.from_bot && m.text.starts_with("Your order is ready"))
                .map(|m| m.text)
                .collect();
            (delivered.len() >= 3).then_some(delivered)
        })
        .await;
    assert_eq!(deliveries.len(), 3, "{deliveries:?}");
    for key in keys {
        let holders = deliveries.iter().filter(|text| text.contains(key)).count();
        assert_eq!(
            holders, 1,
            "{key} delivered {holders} times: {deliveries:?}"
        );
    }
    let mut balances = 0;
    for &id in &customers {
        balances += bot.balance(id).await;
    }
    assert_eq!(balances + 3 * 100, 20 * 1_000, "wallets reconcile");
    bot.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_double_tap_on_confirm_buys_once() {
    let mut bot = TestBot::start().await;
    bot.product("Game key", 1_500, &["K-1", "K-2"]).await;
    bot.fund(1001, 5_000).await;
    let ann = bot.user(1001);
    ann.send("/catalog").await;
    ann.press("Game key").await;
    ann.press("Add to cart").await;
    ann.press("Cart").await;
    ann.press("Checkout").await;
    let taps = ann.double_tap("Confirm purchase").await;

    let orders = bot
        .shop
        .checkout()
        .orders(shopbot_core::ids::UserId(1001), 10)
        .await
        .unwrap();
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(bot.balance(1001).await, 5_000 - 1_500);
    for tap in &taps {
        assert_eq!(bot.api.press_by_id(&tap.query_id).unwrap().answers.len(), 1);
    }
    bot.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_order_of_a_hundred_long_keys_arrives_whole_over_several_messages() {
    let mut bot = TestBot::start().await;
    let keys: Vec<String> = (1..=100)
        .map(|i| format!("LONG-{i:03}-{}", "X".repeat(60)))
        .collect();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let product = bot.product("Bundle key", 10, &key_refs).await;
    bot.fund(1001, 5_000).await;
    let quantity = shopbot_core::text::Quantity::new(100).unwrap();
    let user = shopbot_core::ids::UserId(1001);
    bot.shop.cart().add(user, product, quantity).await.unwrap();
    let ann = bot.user(1001);

    ann.send("/cart").await;
    ann.press("Checkout").await;
    ann.press("Confirm purchase").await;

    // Each key shows twice when all is sent: on the order screen and in the delivery.
    bot.api
        .wait_for("every key on the order screen and in the delivery", |api| {
            let texts: Vec<String> = api
                .messages(1001)
                .into_iter()
                .filter(|m| m.from_bot)
                .map(|m| m.text)
                .collect();
            keys.iter()
                .all(|key| texts.iter().filter(|t| t.contains(key.as_str())).count() >= 2)
                .then_some(())
        })
        .await;
    let messages: Vec<_> = bot
        .api
        .messages(1001)
        .into_iter()
        .filter(|m| m.from_bot)
        .collect();
    for key in &keys {
        let shown = messages
            .iter()
            .filter(|m| m.text.contains(key.as_str()))
            .count();
        assert_eq!(shown, 2, "{key} shown {shown} times");
    }
    let longest = messages
        .iter()
        .map(|m| m.text.encode_utf16().count())
        .max()
        .unwrap();
    assert!(longest <= 4096, "a message of {longest} UTF-16 units");
    assert!(
        messages.len() >= 4,
        "the keys did not need splitting: {} messages",
        messages.len()
    );
    bot.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn maintenance_turns_a_customer_away_with_a_notice_while_the_admin_still_gets_the_menu() {
    let mut bot = TestBot::start().await;
    bot.product("Game key", 1_500, &["K-1"]).await;
    let ann = bot.user(1001);
    ann.send("/start").await;
    let old_screen = ann.current();
    bot.shop
        .admin()
        .set_maintenance(shopbot_core::ids::UserId(crate::helpers::ADMIN), true)
        .await
        .unwrap();

    let turned_away = ann.send_expecting_any("/start").await;
    let press = ann
        .press_expecting_toast(old_screen.data_of("Catalog").unwrap())
        .await;
    let admin_menu = bot.admin().send("/start").await;

    let closed = "The shop is closed for maintenance. Please come back later.";
    assert_eq!(turned_away[0].text, closed);
    assert_eq!(press.answers[0].text.as_deref(), Some(closed));
    assert!(
        admin_menu.text.contains("What would you like to do?"),
        "{}",
        admin_menu.text
    );
    bot.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn buy_now_buys_one_key_from_the_product_page_once_however_often_confirmed() {
    let mut bot = TestBot::start().await;
    bot.product("Game key", 1_500, &["K-1", "K-2"]).await;
    bot.product("Star Miner", 500, &["STM-1"]).await;
    bot.fund(1001, 5_000).await;
    let ann = bot.user(1001);
    ann.send("/catalog").await;
    ann.press("Star Miner").await;
    ann.press("Add to cart").await;
    ann.press("‹ Back").await;
    ann.press("Game key").await;
    ann.press("Buy now").await;
    assert!(
        ann.screen()
            .contains("Pay from your wallet? Available: 50.00 USD"),
        "{}",
        ann.screen()
    );
    let taps = ann.double_tap("Confirm purchase").await;
    assert_eq!(taps[0].answers[0].text.as_deref(), Some("Paid. Thank you!"));
    let again = taps[1].answers[0].text.as_deref().unwrap_or_default();
    assert!(again.contains("already paid"), "the second tap: {again:?}");
    assert!(ann.screen().contains("K-1"), "{}", ann.screen());

    let user = shopbot_core::ids::UserId(1001);
    let orders = bot.shop.checkout().orders(user, 10).await.unwrap();
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(orders[0].cart_version, None);
    assert_eq!(bot.balance(1001).await, 5_000 - 1_500);
    let cart = bot.shop.cart().view(user).await.unwrap();
    assert_eq!(cart.lines.len(), 1, "the cart keeps Star Miner: {cart:?}");
    for tap in &taps {
        assert_eq!(bot.api.press_by_id(&tap.query_id).unwrap().answers.len(), 1);
    }
    bot.finish().await;
}
