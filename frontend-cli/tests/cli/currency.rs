//! The currency belongs to the shop: chosen at `init`, used by every command without being
//! configured again, checked against a configured one, and adopted once by a store made
//! before shops recorded their currency.

use std::path::Path;

use crate::helpers::{CUSTOMER, Run, TestShop};

/// The names and contents of every file in the store directory, but the lock's (the pid of
/// the last process that opened the store).
fn store_files(shop: &TestShop) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(shop.store_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let text = match name.as_str() {
                "LOCK" => String::new(),
                _ => String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned(),
            };
            (name, text)
        })
        .collect();
    files.sort();
    files
}

/// `args` on the test's store with `SHOPBOT_CURRENCY` set to `code`.
fn with_currency(shop: &TestShop, code: &str, args: &[&str]) -> Run {
    let output = shop
        .command(args)
        .env("SHOPBOT_CURRENCY", code)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// The JSON store the release before shops recorded their currency wrote for `shopbot demo`,
/// copied into the test's store directory.
fn store_from_before_currencies(shop: &TestShop) {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-before-currency");
    std::fs::create_dir(shop.store_dir()).unwrap();
    for entry in std::fs::read_dir(fixture).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, shop.store_dir().join(path.file_name().unwrap())).unwrap();
    }
}

#[test]
fn with_no_currency_configured_every_command_sells_in_the_shops() {
    let shop = TestShop::without_store();
    shop.run(&["init", "--currency", "EUR"]).ok();
    shop.greet_many([CUSTOMER]);
    let customer = CUSTOMER.to_string();

    let product = shop.json(&["product", "add", "--name", "Key", "--price", "5"]);
    assert_eq!(product["price"]["currency"], "EUR");
    shop.run(&[
        "user", "credit", "--user", &customer, "--amount", "2.50", "--reason", "gift",
    ])
    .ok();
    let user = shop.json(&["user", "show", "--user", &customer]);
    assert_eq!(user["balance"]["currency"], "EUR", "{user}");
    assert_eq!(user["balance"]["amount"], "2.50", "{user}");
    let invoice = shop.json(&[
        "invoice",
        "create",
        "--user",
        &customer,
        "--line",
        "Setup:1:25.00",
    ]);
    assert_eq!(invoice["total"]["currency"], "EUR", "{invoice}");
}

#[test]
fn a_command_configured_with_another_currency_is_refused_naming_both_and_changes_nothing() {
    let shop = TestShop::demo();
    let before = store_files(&shop);
    let customer = CUSTOMER.to_string();
    let commands: [&[&str]; 4] = [
        &["product", "add", "--name", "Euro key", "--price", "5"],
        &[
            "user", "credit", "--user", &customer, "--amount", "5", "--reason", "gift",
        ],
        &["product", "list"],
        &["user", "show", "--user", &customer],
    ];
    for args in commands {
        with_currency(&shop, "EUR", args).fails(5, "this shop sells in USD, but EUR is configured");
    }
    std::fs::write(shop.path("shopbot.toml"), "currency = \"EUR\"\n").unwrap();
    shop.run(&["product", "add", "--name", "Euro key", "--price", "5"])
        .fails(5, "this shop sells in USD, but EUR is configured");
    shop.run(&["chat", "--user", &customer])
        .fails(5, "this shop sells in USD, but EUR is configured");
    std::fs::remove_file(shop.path("shopbot.toml")).unwrap();

    assert_eq!(
        store_files(&shop),
        before,
        "a refused command writes nothing"
    );
    with_currency(&shop, "usd", &["product", "list"]).ok();
}

#[test]
fn an_unknown_or_disagreeing_currency_creates_no_shop() {
    let shop = TestShop::without_store();
    with_currency(&shop, "XYZ", &["init"]).fails(2, "`XYZ` is not an ISO 4217 currency code");
    shop.run(&["init", "--currency", "XYZ"])
        .fails(3, "--currency: `XYZ` is not an ISO 4217 currency code");
    shop.run(&["init", "--currency", "dollars"])
        .fails(3, "--currency");
    with_currency(&shop, "USD", &["init", "--currency", "EUR"])
        .fails(5, "--currency EUR, but USD is configured");
    assert!(shop.listing().is_empty(), "{:?}", shop.listing());
}

#[test]
fn a_store_from_before_shops_recorded_their_currency_adopts_usd_at_first_open_and_keeps_it() {
    let shop = TestShop::without_store();
    store_from_before_currencies(&shop);

    let products = shop.json(&["product", "list"]);
    assert_eq!(products.as_array().unwrap().len(), 5, "{products}");
    assert_eq!(products[0]["price"]["currency"], "USD");

    with_currency(&shop, "EUR", &["product", "list"])
        .fails(5, "this shop sells in USD, but EUR is configured");
    let user = shop.json(&["user", "show", "--user", &CUSTOMER.to_string()]);
    assert_eq!(user["balance"]["amount"], "100.00", "{user}");
    shop.run(&["store", "check"]).ok();
}

#[test]
fn a_store_from_before_shops_recorded_their_currency_adopts_the_configured_one_once() {
    let shop = TestShop::without_store();
    store_from_before_currencies(&shop);

    with_currency(&shop, "EUR", &["category", "list"]).ok();

    with_currency(&shop, "USD", &["category", "list"])
        .fails(5, "this shop sells in EUR, but USD is configured");
    let product = shop.json(&["product", "add", "--name", "Euro key", "--price", "5"]);
    assert_eq!(product["price"]["currency"], "EUR");
}
