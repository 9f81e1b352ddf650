//! The same commands on a PostgreSQL store: a shop created with `init`, an operator's day from
//! seeding to a clean check, and bad input that changes nothing.

use crate::helpers::{CUSTOMER, TestShop};

#[test]
fn an_operators_day_works_on_postgresql() {
    let Some(shop) = TestShop::postgres() else {
        return;
    };
    shop.run(&["demo"]).ok();
    let products = shop.json(&["product", "list"]);
    assert_eq!(products.as_array().map(Vec::len), Some(5));

    let keys = shop.file("keys.txt", b"PG-KEY-1\nPG-KEY-2\n");
    shop.run(&["stock", "add", "--product", "1", "--file", &keys])
        .ok();
    let counts = shop.json(&["stock", "count", "--product", "1"]);
    assert_eq!(counts["available"], 5, "{counts}");
    shop.run(&["stock", "add", "--product", "1", "--file", &keys])
        .fails(3, "already in stock");

    let customer = CUSTOMER.to_string();
    shop.run(&[
        "user", "credit", "--user", &customer, "--amount", "2.50", "--reason", "goodwill",
    ])
    .ok();
    let user = shop.json(&["user", "show", "--user", &customer]);
    assert_eq!(user["balance"]["minor"], 10_250, "{user}");

    let invoice = shop.json(&[
        "invoice",
        "create",
        "--user",
        &customer,
        "--line",
        "Setup:1:25.00",
    ]);
    let id = invoice["id"].to_string();
    let paid = shop.json(&["invoice", "mark-paid", &id, "--reference", "bank-77"]);
    assert_eq!(paid["status"], "paid", "{paid}");
    shop.run(&["invoice", "void", &id]).fails(5, "already paid");

    shop.run(&["store", "check"]).ok();
}

#[test]
fn bad_input_changes_nothing_on_postgresql() {
    let Some(shop) = TestShop::postgres() else {
        return;
    };
    shop.run(&["demo"]).ok();
    let before = shop.json(&["product", "list"]);
    for (args, code) in [
        (&["product", "add", "--name", "X", "--price", "-1"][..], 3),
        (
            &["product", "add", "--name", "X", "--price", "1.999"][..],
            3,
        ),
        (&["product", "edit", "99", "--price", "1.00"][..], 4),
        (&["product", "add", "--name", "", "--price", "1.00"][..], 3),
    ] {
        shop.run(args).code(code);
    }
    assert_eq!(shop.json(&["product", "list"]), before);
}

#[test]
fn init_makes_a_shop_of_an_empty_database_once_and_its_currency_holds() {
    let Some(shop) = TestShop::postgres() else {
        return;
    };
    shop.run(&["product", "list"])
        .fails(4, "create one with `shopbot init`");

    let created = shop.json(&["init", "--currency", "EUR"]);
    assert_eq!(created["currency"], "EUR");
    shop.run(&["init", "--currency", "EUR"])
        .fails(5, "there is already a shop");

    let product = shop.json(&["product", "add", "--name", "Key", "--price", "5"]);
    assert_eq!(product["price"]["currency"], "EUR");
    let run = shop
        .command(&["product", "list"])
        .env("SHOPBOT_CURRENCY", "USD")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(5), "{run:?}");
    let stderr = String::from_utf8(run.stderr).unwrap();
    assert!(
        stderr.contains("this shop sells in EUR, but USD is configured"),
        "{stderr}"
    );
}
