//! `stock list` and `stock remove`, on the JSON store and on PostgreSQL.

use serde_json::Value;

use shopbot_core::services::PayWith;

use crate::helpers::TestShop;

/// A shop with product 1 holding a CSV header imported by mistake and two keys.
fn shop_with_a_header_in_stock(shop: &TestShop) {
    shop.run(&["product", "add", "--name", "Game", "--price", "1.00"])
        .ok();
    let keys = shop.file("keys.csv", b"key\nGAME-0001-AAAA\nGAME-0002-BBBB\n");
    shop.run(&["stock", "add", "--product", "1", "--file", &keys])
        .ok();
}

fn ids(units: &Value) -> Vec<i64> {
    units
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .collect()
}

fn listing_masks_revealing_is_audited_and_removing_undoes_a_mistake(shop: &TestShop) {
    shop_with_a_header_in_stock(shop);
    let units = shop.json(&["stock", "list", "--product", "1"]);
    assert_eq!(units[0]["payload"], "•••");
    assert_eq!(units[1]["payload"], "GA••••••••••AA");
    assert_eq!(units[1]["status"], "available");
    let table = shop.run(&["stock", "list", "--product", "1"]);
    table.ok();
    assert!(table.stdout.starts_with("ID  STATUS"), "{}", table.stdout);
    assert!(!table.stdout.contains("GAME-0001"), "{}", table.stdout);
    assert!(
        shop.json(&["audit", "list", "--action", "revealed"])
            .as_array()
            .unwrap()
            .is_empty()
    );

    let revealed = shop.json(&["stock", "list", "--product", "1", "--reveal"]);
    assert_eq!(revealed[0]["payload"], "key");
    let audit = shop.json(&["audit", "list", "--action", "revealed"]);
    assert_eq!(audit[0]["action"], "revealed stock of product 1");

    let header = units[0]["id"].to_string();
    let removed = shop.json(&["stock", "remove", "--product", "1", &header]);
    assert_eq!(removed["removed"], 1);
    let left = shop.json(&["stock", "list", "--product", "1"]);
    assert_eq!(ids(&left), ids(&units)[1..].to_vec());
    assert_eq!(
        shop.json(&["stock", "count", "--product", "1"])["available"],
        2
    );
    let audit = shop.json(&["audit", "list", "--action", "remove stock"]);
    assert_eq!(audit.as_array().unwrap().len(), 1);
}

fn bad_removals_change_nothing(shop: &TestShop) {
    let before = shop.json(&["stock", "list", "--product", "1"]);
    let first = before[0]["id"].to_string();
    shop.run(&["stock", "remove", "--product", "1", &first, "999"])
        .fails(4, "999");
    shop.run(&["stock", "remove", "--product", "99", &first])
        .fails(4, "product");
    shop.run(&["stock", "remove", "--product", "1", &first, &first])
        .fails(3, "twice");
    shop.run(&["stock", "remove", "--product", "1", "abc"])
        .fails(3, "UNIT_ID");
    shop.run(&["stock", "remove", "--product", "1"]).code(2);
    shop.run(&["stock", "list", "--product", "99"])
        .fails(4, "product");
    assert_eq!(shop.json(&["stock", "list", "--product", "1"]), before);
}

#[test]
fn a_header_imported_by_mistake_is_seen_masked_and_removed() {
    let shop = TestShop::new();
    listing_masks_revealing_is_audited_and_removing_undoes_a_mistake(&shop);
    bad_removals_change_nothing(&shop);
}

#[test]
fn removing_a_reserved_unit_is_refused_and_removes_nothing() {
    let shop = TestShop::new();
    shop_with_a_header_in_stock(&shop);
    let units = shop.json(&["stock", "list", "--product", "1"]);
    shop.buy(1001, 1, 1, PayWith::Invoice);
    let sold = shop.json(&["stock", "list", "--product", "1"]);
    assert_eq!(sold[0]["status"], "reserved", "{sold}");
    let (sold_id, free_id) = (units[0]["id"].to_string(), units[1]["id"].to_string());
    shop.run(&[
        "stock",
        "remove",
        "--product",
        "1",
        "--unit",
        &free_id,
        "--unit",
        &sold_id,
    ])
    .fails(5, "reserved");
    assert_eq!(shop.json(&["stock", "list", "--product", "1"]), sold);
}

#[test]
fn stock_is_listed_and_removed_on_postgresql() {
    let Some(shop) = TestShop::postgres() else {
        return;
    };
    shop.run(&["init"]).ok();
    listing_masks_revealing_is_audited_and_removing_undoes_a_mistake(&shop);
    bad_removals_change_nothing(&shop);
}
