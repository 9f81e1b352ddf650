//! `shopbot migrate`: a demo shop copied from JSON into PostgreSQL and back is the same shop,
//! id for id; a target that already holds a shop is refused with nothing changed; a target
//! that is the source itself, or not a store URL, is refused before anything is read.

use std::path::Path;

use shopbot_core::dump::{Dump, Kind};
use shopbot_core::services::PayWith;
use shopbot_storage_json::JsonStore;
use shopbot_storage_pg::PgStore;

use crate::helpers::{CUSTOMER, TestShop};

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// Everything the JSON store in `dir` holds (opened and closed again, so the binary can use
/// it afterwards).
fn json_dump(dir: &Path) -> Dump {
    block_on(async {
        let store = JsonStore::open(dir).unwrap();
        let dump = store.export_dump().await.unwrap();
        store.close().await.unwrap();
        dump
    })
}

/// Everything the PostgreSQL database at `url` holds.
fn pg_dump(url: &str) -> Dump {
    block_on(async {
        let store = PgStore::connect(url).await.unwrap();
        let dump = store.export_dump().await.unwrap();
        store.close().await;
        dump
    })
}

/// A demo shop on JSON where the demo customer bought something and got credit.
fn busy_demo() -> TestShop {
    let shop = TestShop::demo();
    shop.buy(CUSTOMER, 1, 1, PayWith::Wallet);
    let customer = CUSTOMER.to_string();
    shop.run(&[
        "user",
        "credit",
        "--user",
        &customer,
        "--amount",
        "5.00",
        "--reason",
        "migration",
    ])
    .ok();
    shop
}

#[test]
fn a_demo_shop_copied_from_json_to_postgresql_and_back_is_the_same_shop() {
    let Some(pg) = TestShop::postgres() else {
        return;
    };
    let json = busy_demo();
    let original = json_dump(&json.store_dir());

    let there = json.json(&["migrate", "--to", &pg.store_url()]);
    assert_eq!(there["verified"], true, "{there}");
    assert_eq!(there["differences"].as_array().map(Vec::len), Some(0));
    assert_eq!(there["source_summary"], there["target_summary"], "{there}");
    assert_eq!(there["target_summary"]["counts"]["orders"], 1, "{there}");
    assert_eq!(pg_dump(&pg.store_url()), original);
    pg.run(&["store", "check"]).ok();
    assert_eq!(
        pg.json(&["order", "show", "1"]),
        json.json(&["order", "show", "1"])
    );

    let back = TestShop::without_store();
    let run = pg.run(&["migrate", "--to", &back.store_url()]);
    run.ok();
    assert!(
        run.stdout.contains("every count and ledger total matches"),
        "{run:#?}"
    );
    assert_eq!(json_dump(&back.store_dir()), original);
    back.run(&["store", "check"]).ok();
    // The copy carries on where the original stopped: the next product gets the next id.
    let added = back.json(&[
        "product",
        "add",
        "--name",
        "After the move",
        "--price",
        "1.00",
    ]);
    let highest = original.highest_ids().product;
    assert_eq!(added["id"], highest + 1, "{added}");
}

#[test]
fn a_json_store_copied_into_a_new_directory_prints_a_table_of_what_was_copied() {
    let json = busy_demo();
    let copy = TestShop::without_store();

    let run = json.run(&["migrate", "--to", &copy.store_url()]);

    run.ok();
    let original = json_dump(&json.store_dir());
    assert_eq!(json_dump(&copy.store_dir()), original);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("Copied json:"), "{run:#?}");
    assert!(lines.iter().any(|l| l.starts_with("RECORDS")), "{run:#?}");
    for kind in Kind::ALL {
        let count = original.count(kind);
        let row = lines
            .iter()
            .find(|l| l.starts_with(kind.as_str()))
            .unwrap_or_else(|| panic!("no row for {}: {run:#?}", kind.as_str()));
        let cells: Vec<&str> = row[kind.as_str().len()..].split_whitespace().collect();
        assert_eq!(cells, [count.to_string(), count.to_string()], "{row}");
    }
    assert!(
        lines.iter().any(|l| l.starts_with("USD wallet balances")),
        "{run:#?}"
    );
}

#[test]
fn migrating_into_a_json_store_that_holds_a_shop_is_refused_and_changes_nothing() {
    let json = busy_demo();
    let target = TestShop::new();
    target
        .run(&["product", "add", "--name", "Mine", "--price", "2.00"])
        .ok();
    let (source_before, target_before) =
        (json_dump(&json.store_dir()), json_dump(&target.store_dir()));

    json.run(&["migrate", "--to", &target.store_url()])
        .fails(5, "already holds a store");

    assert_eq!(json_dump(&target.store_dir()), target_before);
    assert_eq!(json_dump(&json.store_dir()), source_before);
}

#[test]
fn migrating_into_a_database_that_holds_a_shop_is_refused_and_changes_nothing() {
    let Some(pg) = TestShop::postgres() else {
        return;
    };
    pg.run(&["demo"]).ok();
    let before = pg_dump(&pg.store_url());
    let json = busy_demo();

    json.run(&["migrate", "--to", &pg.store_url()])
        .fails(5, "already holds a shop");

    assert_eq!(pg_dump(&pg.store_url()), before);
}

#[test]
fn a_target_that_is_the_source_or_no_store_url_is_refused_before_anything_is_read() {
    let json = busy_demo();
    let before = json_dump(&json.store_dir());

    json.run(&["migrate", "--to", &json.store_url()])
        .fails(3, "is the store being copied");
    json.run(&["migrate", "--to", "mysql://root@db/shop"])
        .fails(2, "unknown store URL scheme");
    let missing = TestShop::without_store();
    missing
        .run(&["migrate", "--to", &json.store_url()])
        .fails(4, "no shop at");

    assert_eq!(json_dump(&json.store_dir()), before);
}

#[test]
fn ledger_totals_beyond_64_bits_are_copied_and_reported_exactly() {
    let json = TestShop::demo();
    json.greet_many([2001]);
    for user in [CUSTOMER, 2001] {
        let user = user.to_string();
        json.run(&[
            "user",
            "credit",
            "--user",
            &user,
            "--amount",
            "90000000000000000.00",
            "--reason",
            "big",
            "--yes",
        ])
        .ok();
    }
    let original = json_dump(&json.store_dir());
    let exact: i128 = original
        .entries
        .iter()
        .map(|e| i128::from(e.entry.balance_delta.minor))
        .sum();
    assert!(
        exact > i128::from(i64::MAX),
        "the test needs a total past 64 bits"
    );
    let copy = TestShop::without_store();

    let run = json.run(&["--json", "migrate", "--to", &copy.store_url()]);

    run.ok();
    let view = run.json();
    for side in ["source_summary", "target_summary"] {
        let total = &view[side]["ledger"]["USD"]["balance_delta"];
        assert_eq!(total.to_string(), exact.to_string(), "{side}: {view}");
    }
    let copy2 = TestShop::without_store();
    let table = json.run(&["migrate", "--to", &copy2.store_url()]);
    table.ok();
    let text = format!("{}.{:02} USD", exact / 100, exact % 100);
    let row = table
        .stdout
        .lines()
        .find(|l| l.starts_with("USD wallet balances"))
        .unwrap();
    assert_eq!(row.matches(&text).count(), 2, "{row}");
}
