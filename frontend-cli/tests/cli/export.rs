//! `export orders|users|stock`: CSV with a header, one row per record, written as read.

use shopbot_core::services::PayWith;

use crate::helpers::{CUSTOMER, TestShop};

#[test]
fn orders_export_one_row_per_order_line() {
    let shop = TestShop::demo();
    shop.buy(CUSTOMER, 1, 1, PayWith::Wallet);
    shop.buy(CUSTOMER, 4, 2, PayWith::Invoice);
    let run = shop.run(&["export", "orders"]);
    run.ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "order_id,placed_at,user_id,status,payment,invoice_id,product_id,product_name,kind,\
         quantity,unit_price,line_total,order_total,currency"
    );
    assert_eq!(lines.len(), 3);
    assert!(lines[1].starts_with("1,"), "{}", lines[1]);
    assert!(
        lines[1].ends_with(
            ",1001,paid,wallet,,1,Starfall Odyssey (Steam key),key,1,19.99,19.99,19.99,USD"
        ),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].ends_with(
            ",1001,awaiting_payment,invoice,1,4,\"VPN Shield, 30 days\",key,2,4.99,9.98,9.98,USD"
        ),
        "{}",
        lines[2]
    );
    assert!(!run.stdout.contains("SFO-7Q2K"), "secrets are not exported");
}

#[test]
fn invoices_export_one_row_per_invoice_with_its_due_date_and_payment() {
    let shop = TestShop::demo();
    // Invoice 1 bills an order and is paid by bank transfer; invoice 2 is a custom bill due
    // on a date.
    shop.buy(CUSTOMER, 4, 2, PayWith::Invoice);
    shop.run(&["invoice", "mark-paid", "1", "--reference", "BANK-1"])
        .ok();
    shop.run(&[
        "invoice",
        "create",
        "--user",
        "1001",
        "--line",
        "Work:2:5.00",
        "--tax-bp",
        "1000",
        "--due",
        "2099-12-31",
    ])
    .ok();
    let path = shop.path("invoices.csv");
    let summary = shop.json(&["export", "invoices", "--out", path.to_str().unwrap()]);
    assert_eq!(summary["export"], "invoices");
    assert_eq!(summary["rows"], 2);
    let csv = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "invoice_id,number,issued_at,user_id,status,purpose,order_id,lines,subtotal,tax_bp,tax,\
         total,currency,due_at,due_date,closed_at,paid_by,paid_at"
    );
    let first: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(&first[..2], ["1", "1"], "{csv}");
    assert_eq!(&first[3..8], ["1001", "paid", "order", "1", "1"], "{csv}");
    assert_eq!(first[16], "manual", "{csv}");
    assert!(!first[17].is_empty(), "paid_at: {csv}");
    assert!(!csv.contains("BANK-1"), "references stay out: {csv}");
    let second: Vec<&str> = lines[2].split(',').collect();
    assert_eq!(
        &second[3..15],
        [
            "1001",
            "open",
            "custom",
            "",
            "1",
            "10.00",
            "1000",
            "1.00",
            "11.00",
            "USD",
            "2100-01-01T00:00:00Z",
            "2099-12-31"
        ],
        "{csv}"
    );
    assert_eq!(&second[15..], ["", "", ""], "{csv}");
}

#[test]
fn an_empty_store_exports_just_the_header() {
    let shop = TestShop::new();
    let run = shop.run(&["export", "orders"]);
    run.ok();
    assert_eq!(run.stdout.lines().count(), 1);
}

#[test]
fn users_export_pages_through_every_user() {
    let shop = TestShop::demo();
    // More users than one page (200) holds.
    shop.greet_many(2000..2450);
    let path = shop.path("users.csv");
    let summary = shop.json(&["export", "users", "--out", path.to_str().unwrap()]);
    assert_eq!(summary["export"], "users");
    assert_eq!(summary["format"], "csv");
    assert_eq!(summary["rows"], 452);
    let csv = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 453);
    assert_eq!(
        lines[0],
        "user_id,name,role,configured_owner,banned,created_at,balance,held,available,currency"
    );
    assert!(
        lines[1].starts_with("0,local owner,customer,true,false,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("1001,Demo customer,customer,false,false,"),
        "{}",
        lines[2]
    );
    assert!(
        lines[2].ends_with(",100.00,0.00,100.00,USD"),
        "{}",
        lines[2]
    );
    assert!(
        lines[452].starts_with("2449,Customer 2449,"),
        "{}",
        lines[452]
    );
}

#[test]
fn stock_export_has_the_counts_of_every_stock_keeping_product() {
    let shop = TestShop::demo();
    shop.buy(CUSTOMER, 2, 1, PayWith::Wallet);
    let run = shop.run(&["export", "stock", "--format", "csv"]);
    run.ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "product_id,name,kind,hidden,price,currency,available,reserved,sold"
    );
    assert_eq!(lines.len(), 5);
    assert_eq!(
        lines[2],
        "2,Pixel Racers (Steam key),key,false,9.99,USD,2,0,1"
    );
}

#[test]
fn names_that_look_like_formulas_are_defused() {
    let shop = TestShop::new();
    shop.run(&[
        "product",
        "add",
        "--name",
        "=HYPERLINK(\"http://x\")",
        "--price",
        "1",
    ])
    .ok();
    let run = shop.run(&["export", "stock"]);
    run.ok();
    assert!(
        run.stdout
            .contains("1,\"'=HYPERLINK(\"\"http://x\"\")\",key,"),
        "{}",
        run.stdout
    );
}

#[test]
fn json_needs_a_file_to_write_the_csv_to() {
    let shop = TestShop::demo();
    shop.run(&["--json", "export", "orders"])
        .fails(2, "--json needs --out PATH");
    shop.run(&["export", "orders", "--format", "xlsx"]).code(2);
    shop.run(&["export", "everything"]).code(2);
}

#[test]
fn an_unwritable_destination_is_refused_and_leaves_nothing_behind() {
    let shop = TestShop::demo();
    let missing = shop.path("no/such/dir/orders.csv");
    shop.run(&["export", "orders", "--out", missing.to_str().unwrap()])
        .fails(3, "--out: cannot write");
    let dir = shop.path("");
    shop.run(&["export", "orders", "--out", dir.to_str().unwrap()])
        .fails(3, "is a directory");
    let leftovers: Vec<_> = std::fs::read_dir(shop.path(""))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".shopbot-export")
        })
        .collect();
    assert!(leftovers.is_empty());
}
