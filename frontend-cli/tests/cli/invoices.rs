//! `invoice create|list|show|void|mark-paid`.

use shopbot_core::services::PayWith;

use crate::helpers::{CUSTOMER, TestShop, available};

#[test]
fn an_invoice_has_exact_totals() {
    let shop = TestShop::demo();
    let invoice = shop.json(&[
        "invoice",
        "create",
        "--user",
        "1001",
        "--line",
        "Consulting: March:3:9.99",
        "--line",
        "Setup:1:0.01",
        "--tax-bp",
        "1800",
        "--due",
        "2030-12-31",
    ]);
    assert_eq!(invoice["id"], 1);
    assert_eq!(invoice["number"], 1);
    assert_eq!(invoice["status"], "open");
    assert_eq!(invoice["purpose"], "custom");
    assert_eq!(invoice["lines"][0]["description"], "Consulting: March");
    assert_eq!(invoice["lines"][0]["quantity"], 3);
    // 29.97 + 0.01 = 29.98; 18 % of it is 5.3964, rounded to 5.40.
    assert_eq!(invoice["subtotal"]["amount"], "29.98");
    assert_eq!(invoice["tax"]["amount"], "5.40");
    assert_eq!(invoice["total"]["amount"], "35.38");
    assert_eq!(invoice["tax_bp"], 1800);
    assert_eq!(invoice["due_at"], "2031-01-01T00:00:00Z");
    assert_eq!(invoice["due_date"], "2030-12-31");
    assert_eq!(invoice["payment"], serde_json::Value::Null);
}

#[test]
fn a_due_date_shows_as_entered_and_one_in_the_past_is_refused() {
    let shop = TestShop::demo();
    let create = |due: &str| {
        shop.run(&[
            "invoice",
            "create",
            "--user",
            "1001",
            "--line",
            "Work:1:10",
            "--due",
            due,
        ])
    };
    let created = create("2099-12-31");
    created.ok();
    assert!(
        created.stdout.contains("due:       2099-12-31\n"),
        "{}",
        created.stdout
    );
    assert!(!created.stdout.contains("2100-01-01"), "{}", created.stdout);
    let listed = shop.run(&["invoice", "list"]);
    listed.ok();
    assert!(listed.stdout.contains("2099-12-31"), "{}", listed.stdout);

    create("2020-01-01").fails(3, "the due date has passed");
    let invoices = shop.json(&["invoice", "list"]);
    assert_eq!(
        invoices.as_array().unwrap().len(),
        1,
        "nothing issued: {invoices}"
    );
}

#[test]
fn invoices_are_listed_by_status_and_shown() {
    let shop = TestShop::demo();
    for _ in 0..2 {
        shop.run(&["invoice", "create", "--user", "1001", "--line", "Work:1:10"])
            .ok();
    }
    shop.run(&["invoice", "void", "1"]).ok();
    let open = shop.json(&["invoice", "list", "--status", "open"]);
    assert_eq!(open.as_array().unwrap().len(), 1);
    assert_eq!(open[0]["id"], 2);
    let void = shop.json(&["invoice", "list", "--status", "void"]);
    assert_eq!(void[0]["id"], 1);
    assert_eq!(
        shop.json(&["invoice", "list", "--user", "1001"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let shown = shop.run(&["invoice", "show", "2"]);
    shown.ok();
    assert!(shown.stdout.contains("status:    open"), "{}", shown.stdout);
    assert!(
        shown.stdout.contains("Work         1    10.00 USD"),
        "{}",
        shown.stdout
    );
    shop.run(&["invoice", "list", "--status", "lost"]).code(2);
}

#[test]
fn a_manual_payment_is_recorded_once_and_final_invoices_stay_final() {
    let shop = TestShop::demo();
    shop.run(&["invoice", "create", "--user", "1001", "--line", "Work:1:10"])
        .ok();
    let paid = shop.json(&["invoice", "mark-paid", "1", "--reference", "bank 42"]);
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["payment"]["provider"], "manual");
    assert_eq!(paid["payment"]["reference"], "bank 42");
    assert_eq!(paid["payment"]["amount"]["amount"], "10.00");
    // The same confirmation again changes nothing.
    let again = shop.json(&["invoice", "mark-paid", "1", "--reference", "bank 42"]);
    assert_eq!(again["closed_at"], paid["closed_at"]);
    shop.run(&["invoice", "void", "1"])
        .fails(5, "the invoice is already paid");
}

#[test]
fn paying_an_order_invoice_by_hand_delivers_the_order() {
    let shop = TestShop::demo();
    let order = shop.buy(CUSTOMER, 3, 1, PayWith::Invoice).to_string();
    let invoices = shop.json(&["invoice", "list", "--status", "open"]);
    assert_eq!(invoices[0]["purpose"], "order");
    assert_eq!(invoices[0]["order"].to_string(), order);
    let id = invoices[0]["id"].to_string();
    shop.run(&["invoice", "mark-paid", &id, "--reference", "cash"])
        .ok();
    let shown = shop.json(&["order", "show", &order]);
    assert_eq!(shown["status"], "paid");
    assert_eq!(
        shown["lines"][0]["delivered"][0]["payload"],
        "PFP-2026-ALPHA-0001"
    );
}

#[test]
fn voiding_an_order_invoice_puts_its_units_back() {
    let shop = TestShop::demo();
    shop.buy(CUSTOMER, 3, 2, PayWith::Invoice);
    assert_eq!(available(&shop, 3), 1);
    let void = shop.json(&["invoice", "void", "1"]);
    assert_eq!(void["status"], "void");
    assert_eq!(available(&shop, 3), 3);
}

#[test]
fn bad_invoices_are_refused_and_nothing_is_issued() {
    let shop = TestShop::demo();
    let create = |extra: &[&str]| {
        let mut args = vec!["invoice", "create", "--user", "1001"];
        args.extend_from_slice(extra);
        shop.run(&args)
    };
    create(&["--line", "Work"]).fails(3, "use DESCRIPTION:QUANTITY:UNIT_PRICE");
    create(&["--line", "Work:0:10"]).fails(3, "quantity must be a whole number from 1 to 100");
    create(&["--line", "Work:1:-10"]).fails(3, "every line needs a price above zero");
    create(&["--line", "Work:1:10.001"]).fails(3, "USD allows at most 2 decimal places");
    create(&["--line", "Work:1:10", "--tax-bp", "10001"]).fails(3, "0 to 10000 basis points");
    create(&["--line", "Work:1:10", "--tax-bp", "18%"])
        .fails(3, "--tax-bp: `18%` is not a whole number");
    create(&["--line", "Work:1:10", "--due", "31.12.2030"])
        .fails(3, "--due: `31.12.2030` is not a date");
    create(&[]).code(2);
    shop.run(&["invoice", "create", "--user", "55", "--line", "Work:1:10"])
        .fails(4, "user 55 not found");
    assert_eq!(shop.json(&["invoice", "list"]), serde_json::json!([]));
    shop.run(&["invoice", "show", "9"])
        .fails(4, "invoice 9 not found");
    shop.run(&["invoice", "void", "9"])
        .fails(4, "invoice 9 not found");
}
