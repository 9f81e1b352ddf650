//! `category rename` and `category delete`, on the JSON store and on PostgreSQL.

use crate::helpers::TestShop;

fn categories_are_renamed_and_empty_ones_deleted(shop: &TestShop) {
    shop.run(&["category", "add", "Games"]).ok();
    shop.run(&["category", "add", "42"]).ok();
    shop.run(&[
        "product",
        "add",
        "--name",
        "Game",
        "--price",
        "1.00",
        "--category",
        "1",
    ])
    .ok();

    let renamed = shop.json(&["category", "rename", "2", "Music"]);
    assert_eq!(renamed["name"], "Music");
    let before = shop.json(&["category", "list"]);
    shop.run(&["category", "rename", "2", "games"])
        .fails(5, "exists");
    shop.run(&["category", "rename", "9", "X"])
        .fails(4, "category");
    shop.run(&["category", "rename", "2", ""]).code(3);
    shop.run(&["category", "rename", "x", "Y"]).code(3);
    shop.run(&["category", "delete", "1"]).fails(5, "1 product");
    shop.run(&["category", "delete", "9"]).fails(4, "category");
    assert_eq!(shop.json(&["category", "list"]), before);

    let deleted = shop.run(&["category", "delete", "2"]);
    deleted.ok();
    assert_eq!(deleted.stdout, "Deleted category 2.\n");
    let left = shop.json(&["category", "list"]);
    assert_eq!(left.as_array().unwrap().len(), 1);
    let audit = shop.json(&["audit", "list", "--action", "category 2"]);
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["delete category 2", "rename category 2 to \"Music\""]
    );
}

#[test]
fn a_category_is_renamed_and_an_empty_one_deleted() {
    categories_are_renamed_and_empty_ones_deleted(&TestShop::new());
}

#[test]
fn categories_are_renamed_and_deleted_on_postgresql() {
    let Some(shop) = TestShop::postgres() else {
        return;
    };
    shop.run(&["init"]).ok();
    categories_are_renamed_and_empty_ones_deleted(&shop);
}

fn only_a_never_ordered_product_is_deleted(shop: &TestShop, sold: Option<i64>) {
    shop.run(&["product", "add", "--name", "Mistake", "--price", "1.00"])
        .ok();
    let keys = shop.file("m.txt", b"M-0001\nM-0002\n");
    let id = shop
        .json(&["product", "list"])
        .as_array()
        .unwrap()
        .last()
        .unwrap()["id"]
        .to_string();
    shop.run(&["stock", "add", "--product", &id, "--file", &keys])
        .ok();
    if let Some(sold) = sold {
        let before = shop.json(&["product", "list"]);
        shop.run(&["product", "delete", &sold.to_string()])
            .fails(5, "--hidden true");
        assert_eq!(shop.json(&["product", "list"]), before);
    }
    shop.run(&["product", "delete", "99"]).fails(4, "product");
    shop.run(&["product", "delete", "x"]).code(3);
    let deleted = shop.json(&["product", "delete", &id]);
    assert_eq!(deleted["units"], 2);
    shop.run(&["product", "show", &id]).code(4);
}

#[test]
fn a_product_never_ordered_is_deleted_and_an_ordered_one_is_refused() {
    let shop = TestShop::new();
    shop.run(&["product", "add", "--name", "Sold", "--price", "1.00"])
        .ok();
    let keys = shop.file("s.txt", b"S-0001\n");
    shop.run(&["stock", "add", "--product", "1", "--file", &keys])
        .ok();
    shop.buy(1001, 1, 1, shopbot_core::services::PayWith::Invoice);
    only_a_never_ordered_product_is_deleted(&shop, Some(1));
}

#[test]
fn a_product_is_deleted_on_postgresql() {
    let Some(shop) = TestShop::postgres() else {
        return;
    };
    shop.run(&["init"]).ok();
    only_a_never_ordered_product_is_deleted(&shop, None);
}
