//! `maintenance` and `audit`, on the JSON store and on PostgreSQL.

use crate::helpers::TestShop;

fn maintenance_is_switched_and_reported(shop: &TestShop) {
    assert_eq!(shop.json(&["maintenance", "status"])["maintenance"], false);
    assert_eq!(shop.json(&["maintenance", "on"])["maintenance"], true);
    assert_eq!(shop.json(&["maintenance", "status"])["maintenance"], true);
    let status = shop.run(&["maintenance", "status"]);
    status.ok();
    assert!(
        status.stdout.starts_with("Maintenance mode is on"),
        "{}",
        status.stdout
    );
    shop.run(&["maintenance", "off"]).ok();
    assert_eq!(shop.json(&["maintenance", "status"])["maintenance"], false);
}

#[test]
fn maintenance_is_switched_on_and_off_and_each_switch_is_audited() {
    let shop = TestShop::new();
    maintenance_is_switched_and_reported(&shop);
    let log = shop.json(&["audit", "list", "--action", "maintenance"]);
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["maintenance off", "maintenance on"]);
}

fn audit_list_filters_newest_first(shop: &TestShop) {
    shop.run(&["category", "add", "Games"]).ok();
    shop.run(&["category", "add", "Music"]).ok();
    shop.run(&["maintenance", "on"]).ok();

    let all = shop.json(&["audit", "list"]);
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 3, "{all:?}");
    assert_eq!(all[0]["action"], "maintenance on");
    assert_eq!(all[2]["action"], "create category \"Games\"");
    assert_eq!(all[0]["actor"], 0);
    assert!(all[0]["at"].as_str().unwrap().ends_with('Z'));

    let limited = shop.json(&["audit", "list", "--action", "CATEGORY", "--limit", "1"]);
    assert_eq!(limited.as_array().unwrap().len(), 1);
    assert_eq!(limited[0]["action"], "create category \"Music\"");

    let nobody = shop.json(&["audit", "list", "--actor", "42"]);
    assert_eq!(nobody.as_array().unwrap().len(), 0);
    let long_ago = shop.json(&["audit", "list", "--until", "2000-01-01"]);
    assert_eq!(long_ago.as_array().unwrap().len(), 0);
    let since = shop.json(&["audit", "list", "--since", "2000-01-01"]);
    assert_eq!(since.as_array().unwrap().len(), 3);
    let future = shop.json(&["audit", "list", "--since", "2999-01-01"]);
    assert_eq!(future.as_array().unwrap().len(), 0);

    let table = shop.run(&["audit", "list"]);
    table.ok();
    assert!(
        table.stdout.starts_with("ID  ACTOR  AT"),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains("maintenance on"));
}

fn bad_audit_filters_are_invalid(shop: &TestShop) {
    shop.run(&["audit", "list", "--since", "yesterday"])
        .fails(3, "--since");
    shop.run(&["audit", "list", "--until", "2026-02-30"])
        .fails(3, "--until");
    shop.run(&["audit", "list", "--actor", "x"])
        .fails(3, "--actor");
    shop.run(&["audit", "list", "--action", " "])
        .fails(3, "--action");
    shop.run(&[
        "audit",
        "list",
        "--since",
        "2026-02-02",
        "--until",
        "2026-02-01",
    ])
    .fails(3, "--until");
    shop.run(&["audit", "list", "--limit", "0"]).code(2);
}

#[test]
fn the_audit_log_is_listed_newest_first_and_filtered() {
    let shop = TestShop::new();
    audit_list_filters_newest_first(&shop);
    bad_audit_filters_are_invalid(&shop);
}

#[test]
fn maintenance_and_the_audit_log_work_on_postgresql() {
    let Some(shop) = TestShop::postgres() else {
        return;
    };
    shop.run(&["init"]).ok();
    maintenance_is_switched_and_reported(&shop);

    let Some(shop) = TestShop::postgres() else {
        return;
    };
    shop.run(&["init"]).ok();
    audit_list_filters_newest_first(&shop);
    bad_audit_filters_are_invalid(&shop);
}
