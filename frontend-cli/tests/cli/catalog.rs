//! `category` and `product`.

use crate::helpers::TestShop;

#[test]
fn a_category_added_is_listed() {
    let shop = TestShop::new();
    let run = shop.run(&["category", "add", "Games"]);
    run.ok();
    assert_eq!(run.stdout, "Added category 1 \"Games\".\n");

    let list = shop.json(&["category", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], 1);
    assert_eq!(list[0]["name"], "Games");
    assert!(list[0]["created_at"].as_str().unwrap().ends_with('Z'));

    let table = shop.run(&["category", "list"]);
    table.ok();
    assert!(
        table
            .stdout
            .starts_with("ID  NAME   PRODUCTS  CREATED\n1   Games  0")
    );
}

#[test]
fn a_second_category_with_the_same_name_is_refused() {
    let shop = TestShop::new();
    shop.run(&["category", "add", "Games"]).ok();
    shop.run(&["category", "add", "Games"]).fails(5, "error: ");
    assert_eq!(
        shop.json(&["category", "list"]).as_array().unwrap().len(),
        1
    );
}

#[test]
fn a_product_is_added_shown_listed_and_edited() {
    let shop = TestShop::new();
    shop.run(&["category", "add", "Games"]).ok();
    let added = shop.json(&[
        "product",
        "add",
        "--name",
        "Space Trader",
        "--price",
        "9.99",
        "--category",
        "games",
        "--description",
        "Trade across the galaxy.",
    ]);
    assert_eq!(added["id"], 1);
    assert_eq!(added["kind"], "key");
    assert_eq!(added["price"]["amount"], "9.99");
    assert_eq!(added["price"]["currency"], "USD");
    assert_eq!(added["price"]["minor"], 999);
    assert_eq!(added["category"], 1);
    assert_eq!(added["hidden"], false);
    assert_eq!(added["stock"]["available"], 0);

    let shown = shop.json(&["product", "show", "1"]);
    assert_eq!(shown["name"], "Space Trader");
    assert_eq!(shown["description"], "Trade across the galaxy.");

    let edited = shop.json(&[
        "product",
        "edit",
        "1",
        "--price",
        "7.49",
        "--hidden",
        "true",
        "--category",
        "none",
    ]);
    assert_eq!(edited["price"]["minor"], 749);
    assert_eq!(edited["hidden"], true);
    assert_eq!(edited["category"], serde_json::Value::Null);

    let list = shop.json(&["product", "list"]);
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "hidden products are listed"
    );
    assert_eq!(list[0]["hidden"], true);

    let human = shop.run(&["product", "show", "1"]);
    human.ok();
    assert!(
        human.stdout.contains("price:        7.49 USD"),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains("hidden:       yes"),
        "{}",
        human.stdout
    );
}

#[test]
fn a_service_has_no_stock() {
    let shop = TestShop::new();
    let added = shop.json(&[
        "product",
        "add",
        "--name",
        "Setup call",
        "--price",
        "25",
        "--kind",
        "service",
    ]);
    assert_eq!(added["kind"], "service");
    assert_eq!(added["stock"], serde_json::Value::Null);
    let table = shop.run(&["product", "list"]);
    table.ok();
    assert!(
        table.stdout.contains("Setup call  service  25.00 USD  -"),
        "{}",
        table.stdout
    );
}

#[test]
fn product_list_filters_by_category() {
    let shop = TestShop::demo();
    let games = shop.json(&["product", "list", "--category", "Games"]);
    assert_eq!(games.as_array().unwrap().len(), 2);
    let by_id = shop.json(&["product", "list", "--category", "#3"]);
    assert_eq!(by_id[0]["kind"], "service");
}

#[test]
fn an_unknown_category_is_not_found_and_adds_nothing() {
    let shop = TestShop::new();
    shop.run(&[
        "product",
        "add",
        "--name",
        "X",
        "--price",
        "1",
        "--category",
        "Nope",
    ])
    .fails(4, "no category with id or name `Nope`");
    assert_eq!(shop.json(&["product", "list"]), serde_json::json!([]));
}

#[test]
fn unknown_products_are_not_found() {
    let shop = TestShop::demo();
    shop.run(&["product", "show", "99"])
        .fails(4, "product 99 not found (see `shopbot product list`)");
    shop.run(&["product", "edit", "99", "--price", "1"])
        .fails(4, "product 99 not found");
}

#[test]
fn a_price_in_another_currency_than_the_shops_is_refused() {
    let shop = TestShop::new();
    shop.run(&[
        "product",
        "add",
        "--name",
        "X",
        "--price",
        "5",
        "--currency",
        "EUR",
    ])
    .fails(3, "prices are in USD");
    shop.run(&[
        "product",
        "add",
        "--name",
        "X",
        "--price",
        "5",
        "--currency",
        "EURO",
    ])
    .fails(3, "--currency: `EURO` is not a currency code");
}

#[test]
fn an_edit_must_change_something() {
    let shop = TestShop::demo();
    let run = shop.run(&["product", "edit", "1"]);
    run.code(2);
    assert!(run.stderr.contains("--price"), "{}", run.stderr);
}
