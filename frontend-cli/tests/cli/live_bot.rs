//! Live administration end to end: `shopbot serve` runs the Telegram bot against a fake Bot
//! API on a JSON store while customers buy through the bot at once, and every admin command
//! run beside it works through the shop and takes effect in the bot at once: new stock is
//! sold, a new price is shown, a credit and a refund reach the wallet, an invoice reaches the
//! customer; a backup passes its check and an export streams every order. No purchase fails
//! and nothing is lost.
//!
//! The test waits on the fake Bot API's changes and on the processes, never on sleeps.

use std::sync::Arc;

use shopbot_telegram_tests::{FakeBotApi, Person};
use tokio::task::JoinHandle;

use crate::helpers::{Run, TestShop};
use crate::serve::{Serving, serve};

/// Customers who buy at once.
const CUSTOMERS: std::ops::RangeInclusive<i64> = 2001..=2006;

/// A customer who only talks to the bot, and is billed while the others buy.
const BILLED: i64 = 2007;

/// Starts `args` on `shop` at once, off the runtime's threads, as an admin in another
/// terminal would; the handle gives what it did.
fn admin(shop: &Arc<TestShop>, args: &[&str]) -> JoinHandle<Run> {
    let shop = Arc::clone(shop);
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        shop.run(&args)
    })
}

/// Runs `args` to its end and expects success.
async fn admin_ok(shop: &Arc<TestShop>, args: &[&str]) -> Run {
    let run = admin(shop, args).await.unwrap();
    run.ok();
    run
}

/// `person` buys one Pixel Racers from the wallet; returns the paid screen's text once the
/// order's delivery arrived too (so that it cannot land on a later screen).
async fn buy_pixel_racers(api: &FakeBotApi, person: &Person) -> String {
    person.send("/start").await;
    person.press("Catalog").await;
    person.press("Games").await;
    person.press("Pixel Racers").await;
    person.press("Buy now").await;
    let paid = person.press("Confirm purchase").await;
    assert_eq!(
        paid.answers.first().and_then(|a| a.text.as_deref()),
        Some("Paid. Thank you!"),
        "customer {}: {}",
        person.id,
        person.screen()
    );
    let paid = person.screen();
    told(api, person, "Your order is ready").await;
    paid
}

/// Waits until the bot sent `person` a message containing `needle`; returns its text.
async fn told(api: &FakeBotApi, person: &Person, needle: &str) -> String {
    let chat = person.id;
    api.wait_for(&format!("{needle:?} in chat {chat}"), |api| {
        api.messages(chat)
            .into_iter()
            .find(|m| m.from_bot && m.text.contains(needle))
    })
    .await
    .text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn admin_commands_beside_a_running_bot_take_effect_in_the_bot_while_customers_buy() {
    let api = Arc::new(FakeBotApi::start().await);
    let shop = Arc::new(TestShop::demo());
    let mut command = serve(&shop, "info");
    command
        .env("TELEGRAM_BOT_TOKEN", api.token())
        .env("TELEGRAM_API_URL", api.api_url());
    let serving = tokio::task::spawn_blocking(move || Serving::start(command))
        .await
        .unwrap();

    // Customers arrive through the bot; the admin funds them from the terminal, and the
    // wallet in the bot shows it.
    let people: Vec<Person> = CUSTOMERS
        .map(|id| Person::new(Arc::clone(&api), id))
        .collect();
    for person in &people {
        person.send("/start").await;
        let id = person.id.to_string();
        admin_ok(
            &shop,
            &[
                "user", "credit", "--user", &id, "--amount", "30", "--reason", "launch",
            ],
        )
        .await;
        person.press("Wallet").await;
        assert!(person.screen().contains("30.00 USD"), "{}", person.screen());
    }

    let billed = Person::new(Arc::clone(&api), BILLED);
    billed.send("/start").await;

    // Three Pixel Racers keys are left; twenty more arrive from the terminal, sold at once.
    let fresh: String = (0..20).map(|i| format!("FRESH-{i:02}\n")).collect();
    let fresh = shop.file("fresh.txt", fresh.as_bytes());
    admin_ok(&shop, &["stock", "add", "--product", "2", "--file", &fresh]).await;

    // Every customer buys at once while the admin edits a price, bills a customer, backs the
    // store up and exports the orders.
    let backup = shop.path("backup");
    let backup_arg = backup.display().to_string();
    let buyers: Vec<_> = people
        .iter()
        .cloned()
        .map(|person| {
            let api = Arc::clone(&api);
            tokio::spawn(async move { buy_pixel_racers(&api, &person).await })
        })
        .collect();
    let admin_runs = vec![
        admin(&shop, &["product", "edit", "1", "--price", "21.50"]),
        admin(
            &shop,
            &[
                "invoice",
                "create",
                "--user",
                &BILLED.to_string(),
                "--line",
                "Setup:1:10.00",
            ],
        ),
        admin(&shop, &["backup", "--out", &backup_arg]),
        admin(&shop, &["export", "orders"]),
    ];
    let mut delivered = Vec::new();
    for buyer in buyers {
        delivered.push(buyer.await.unwrap());
    }
    for run in admin_runs {
        run.await.unwrap().ok();
    }
    let fresh_sold = delivered.iter().filter(|s| s.contains("FRESH-")).count();
    assert!(fresh_sold >= people.len() - 3, "{delivered:#?}");

    // The new price is what the bot shows; the invoice reached its customer.
    let first = &people[0];
    first.send("/start").await;
    first.press("Catalog").await;
    first.press("Games").await;
    let buttons = first.buttons();
    assert!(
        buttons
            .iter()
            .any(|b| b.starts_with("Starfall") && b.ends_with("21.50 USD")),
        "{buttons:?}"
    );
    told(&api, &billed, "10.00 USD to pay").await;

    // A refund from the terminal reaches the wallet and the customer is told.
    let orders = shop.json(&["order", "list", "--user", "2002"]);
    let order = orders.as_array().unwrap()[0]["id"].as_i64().unwrap();
    admin_ok(&shop, &["order", "refund", &order.to_string()]).await;
    told(&api, &people[1], &format!("Order #{order} was refunded")).await;
    people[1].send("/start").await;
    people[1].press("Wallet").await;
    assert!(
        people[1].screen().contains("30.00 USD"),
        "{}",
        people[1].screen()
    );

    // The export streamed every order; the backup is a store that passes its check.
    let export = admin_ok(&shop, &["export", "orders"]).await;
    assert_eq!(
        export.stdout.lines().count(),
        1 + people.len(),
        "{export:#?}"
    );
    let backup_url = format!("json:{backup_arg}");
    shop.run_on(&backup_url, &["store", "check"]).ok();

    let serving = tokio::task::spawn_blocking(move || serving.stop("-TERM"))
        .await
        .unwrap();
    serving.ok();
    assert!(api.violations().is_empty(), "{:?}", api.violations());
    // Nothing was lost: every purchase is in the store, which passes its check.
    let counts = shop.json(&["stock", "count", "--product", "2"]);
    assert_eq!(counts["sold"], people.len());
    assert_eq!(counts["available"], 3 + 20 - people.len() as u64);
    shop.run(&["store", "check"]).ok();
}
