//! `order list|show|refund`, on purchases made through the library as the bot would make them.

use shopbot_core::services::PayWith;

use crate::helpers::{CUSTOMER, TestShop};

#[test]
fn orders_are_listed_newest_first() {
    let shop = TestShop::demo();
    let first = shop.buy(CUSTOMER, 1, 1, PayWith::Wallet);
    let second = shop.buy(CUSTOMER, 2, 2, PayWith::Wallet);
    let orders = shop.json(&["order", "list"]);
    let orders = orders.as_array().unwrap();
    assert_eq!(orders.len(), 2);
    assert_eq!(orders[0]["id"], second);
    assert_eq!(orders[1]["id"], first);
    assert_eq!(orders[0]["status"], "paid");
    assert_eq!(
        orders[0]["payment"],
        serde_json::json!({"method": "wallet", "invoice": null})
    );
    assert_eq!(orders[0]["total"]["amount"], "19.98");
    assert_eq!(orders[0]["lines"][0]["quantity"], 2);

    let table = shop.run(&["order", "list"]);
    table.ok();
    assert!(
        table.stdout.starts_with("ID  USER  STATUS  PAYMENT  ITEMS"),
        "{}",
        table.stdout
    );
    assert!(
        table.stdout.contains("2× Pixel Racers (Steam key)"),
        "{}",
        table.stdout
    );
}

#[test]
fn list_filters_by_buyer_and_day() {
    let shop = TestShop::demo();
    shop.buy(CUSTOMER, 1, 1, PayWith::Wallet);
    shop.run(&[
        "user", "credit", "--user", "1001", "--amount", "1", "--reason", "x",
    ])
    .ok();
    assert_eq!(
        shop.json(&["order", "list", "--user", "1001"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        shop.json(&["order", "list", "--user", "0"]),
        serde_json::json!([])
    );
    assert_eq!(
        shop.json(&["order", "list", "--since", "2000-01-01"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        shop.json(&["order", "list", "--since", "2999-01-01"]),
        serde_json::json!([])
    );
    shop.run(&["order", "list", "--since", "yesterday"])
        .fails(3, "--since: `yesterday` is not a date: use YYYY-MM-DD");
    shop.run(&["order", "list", "--since", "2026-02-30"])
        .fails(3, "is not a date");
}

#[test]
fn show_lists_the_delivered_units() {
    let shop = TestShop::demo();
    let order = shop.buy(CUSTOMER, 1, 1, PayWith::Wallet).to_string();
    let shown = shop.json(&["order", "show", &order]);
    let delivered = &shown["lines"][0]["delivered"];
    assert_eq!(delivered.as_array().unwrap().len(), 1);
    assert_eq!(delivered[0]["payload"], "SFO-7Q2K-9XBM-4T1A");

    let human = shop.run(&["order", "show", &order]);
    human.ok();
    assert!(human.stdout.contains("UNIT  PRODUCT"), "{}", human.stdout);
    assert!(
        human.stdout.contains("SFO-7Q2K-9XBM-4T1A"),
        "{}",
        human.stdout
    );
}

#[test]
fn an_unpaid_order_shows_no_units() {
    let shop = TestShop::demo();
    let order = shop.buy(CUSTOMER, 1, 1, PayWith::Invoice).to_string();
    let shown = shop.json(&["order", "show", &order]);
    assert_eq!(shown["status"], "awaiting_payment");
    assert_eq!(shown["payment"]["method"], "invoice");
    assert_eq!(shown["lines"][0]["delivered"], serde_json::json!([]));
    // A reserved unit is not available, and an unpaid order cannot be refunded.
    assert_eq!(crate::helpers::available(&shop, 1), 2);
    shop.run(&["order", "refund", &order]).fails(5, "error: ");
}

#[test]
fn a_refund_goes_to_the_wallet_once() {
    let shop = TestShop::demo();
    let order = shop.buy(CUSTOMER, 1, 1, PayWith::Wallet).to_string();
    let balance = || shop.json(&["user", "show", "--user", "1001"])["balance"]["amount"].clone();
    assert_eq!(balance(), "80.01");
    let refunded = shop.json(&["order", "refund", &order]);
    assert_eq!(refunded["status"], "refunded");
    assert_eq!(refunded["already_refunded"], false, "{refunded}");
    assert_eq!(balance(), "100.00");
    let run = shop.run(&["order", "refund", &order]);
    run.ok();
    assert_eq!(balance(), "100.00", "refunding twice refunds once");
}

#[test]
fn a_repeated_refund_says_it_was_already_refunded_and_succeeds() {
    let shop = TestShop::demo();
    let order = shop.buy(CUSTOMER, 1, 1, PayWith::Wallet).to_string();
    let first = shop.run(&["order", "refund", &order]);
    first.ok();
    assert!(
        first.stdout.contains(&format!("Order {order} is refunded")),
        "{}",
        first.stdout
    );

    let again = shop.run(&["order", "refund", &order]);
    again.ok();
    assert!(
        again.stdout.contains(&format!(
            "Order {order} was already refunded; nothing changed."
        )),
        "{}",
        again.stdout
    );
    assert!(!again.stdout.contains("is refunded:"), "{}", again.stdout);
    let json = shop.json(&["order", "refund", &order]);
    assert_eq!(json["already_refunded"], true, "{json}");
    assert_eq!(json["status"], "refunded", "{json}");
}

#[test]
fn unknown_orders_are_not_found() {
    let shop = TestShop::demo();
    shop.run(&["order", "show", "7"])
        .fails(4, "order 7 not found");
    shop.run(&["order", "refund", "7"])
        .fails(4, "order 7 not found");
    shop.run(&["order", "show", "seven"])
        .fails(3, "is not a valid order id");
}
