//! `stock add` and `stock count`: all-or-nothing imports, and files that are refused unread.

use shopbot_core::services::PayWith;

use crate::helpers::{TestShop, available};

#[test]
fn a_file_is_imported_line_by_line() {
    let shop = TestShop::demo();
    let keys = shop.file("keys.txt", b"  NEW-1  \n\nNEW-2\r\nNEW-3\n");
    let report = shop.json(&["stock", "add", "--product", "2", "--file", &keys]);
    assert_eq!(report["product"], 2);
    assert_eq!(report["added"], 3);
    assert_eq!(report["skipped"], serde_json::json!([]));
    assert_eq!(report["stock"]["available"], 6);
    assert_eq!(available(&shop, 2), 6);
}

#[test]
fn standard_input_is_read_with_a_dash() {
    let shop = TestShop::demo();
    let run = shop.run_with_input(
        &["stock", "add", "--product", "2", "-"],
        b"PIPE-1\nPIPE-2\n",
    );
    run.ok();
    assert_eq!(
        run.stdout,
        "Imported 2 unit(s) into product 2; 5 available now.\n"
    );
    let run = shop.run_with_input(
        &["stock", "add", "--product", "2", "--file", "-"],
        b"PIPE-3",
    );
    run.ok();
    assert_eq!(available(&shop, 2), 6);
}

#[test]
fn duplicates_refuse_the_whole_import_and_name_every_line() {
    let shop = TestShop::demo();
    // Line 3 repeats line 1; line 4 is a demo key already in stock.
    let keys = shop.file("keys.txt", b"A-1\nB-2\nA-1\nPXR-44HG-T8WQ-LM2C\n");
    shop.run(&["stock", "add", "--product", "2", "--file", &keys])
        .fails(3, "line 3 repeats line 1; line 4 is already in stock");
    assert_eq!(available(&shop, 2), 3, "nothing was imported");
}

#[test]
fn reimporting_a_key_that_was_sold_says_already_sold() {
    let shop = TestShop::demo();
    // The demo's three Pixel Racers keys, PXR-44HG-T8WQ-LM2C among them, all sold.
    shop.buy(1001, 2, 3, PayWith::Wallet);
    let keys = shop.file("keys.txt", b"PXR-44HG-T8WQ-LM2C\nNEW-1\n");
    shop.run(&["stock", "add", "--product", "2", "--file", &keys])
        .fails(3, "line 1 was already sold");
    assert_eq!(available(&shop, 2), 0, "nothing was imported");

    let run = shop.run(&[
        "stock",
        "add",
        "--product",
        "2",
        "--file",
        &keys,
        "--skip-duplicates",
    ]);
    run.ok();
    assert!(
        run.stdout.contains("line 1 was already sold"),
        "{}",
        run.stdout
    );
    assert_eq!(available(&shop, 2), 1, "NEW-1");
}

#[test]
fn skip_duplicates_imports_the_rest_and_reports_the_skipped_lines() {
    let shop = TestShop::demo();
    let keys = shop.file("keys.txt", b"A-1\nB-2\nA-1\nPXR-44HG-T8WQ-LM2C\n");
    let report = shop.json(&[
        "stock",
        "add",
        "--product",
        "2",
        "--file",
        &keys,
        "--skip-duplicates",
    ]);
    assert_eq!(report["added"], 2);
    assert_eq!(
        report["skipped"],
        serde_json::json!([
            {"line": 3, "repeats_line": 1, "already_sold": false},
            {"line": 4, "repeats_line": null, "already_sold": false}
        ])
    );
    assert_eq!(available(&shop, 2), 5);
}

#[test]
fn one_invalid_line_refuses_them_all() {
    let shop = TestShop::demo();
    let mut text = b"GOOD-1\n".to_vec();
    text.extend(std::iter::repeat_n(b'k', 5000));
    text.extend(b"\nBAD\x07KEY\nGOOD-2\n");
    let keys = shop.file("keys.txt", &text);
    shop.run(&["stock", "add", "--product", "2", "--file", &keys])
        .fails(3, "2 invalid line(s): line 2: stock line is 5000 characters long; the limit is 4096; line 3:");
    assert_eq!(available(&shop, 2), 3);
}

#[test]
fn an_empty_file_is_refused() {
    let shop = TestShop::demo();
    let keys = shop.file("empty.txt", b"\n  \n");
    shop.run(&["stock", "add", "--product", "2", "--file", &keys])
        .fails(3, "has no units");
}

#[test]
fn a_binary_file_is_refused() {
    let shop = TestShop::demo();
    let keys = shop.file("keys.bin", b"KEY-1\nKEY\x00\xff\xfe\n");
    shop.run(&["stock", "add", "--product", "2", "--file", &keys])
        .fails(3, "looks binary (a NUL byte at offset 9)");
    let latin1 = shop.file("latin1.txt", b"KEY-\xe9\n");
    shop.run(&["stock", "add", "--product", "2", "--file", &latin1])
        .fails(3, "is not UTF-8 text (invalid byte at offset 4)");
    assert_eq!(available(&shop, 2), 3);
}

#[test]
fn a_one_gigabyte_file_is_refused_without_being_read() {
    let shop = TestShop::demo();
    let path = shop.path("huge.txt");
    // Sparse: a gigabyte on paper, nothing on disk.
    std::fs::File::create(&path)
        .unwrap()
        .set_len(1024 * 1024 * 1024)
        .unwrap();
    let started = std::time::Instant::now();
    shop.run(&[
        "stock",
        "add",
        "--product",
        "2",
        "--file",
        path.to_str().unwrap(),
    ])
    .fails(3, "is 1024.0 MiB; a stock import is at most 16 MiB");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn endless_standard_input_is_cut_at_the_limit() {
    let shop = TestShop::demo();
    let input = vec![b'k'; 17 * 1024 * 1024];
    shop.run_with_input(&["stock", "add", "--product", "2", "-"], &input)
        .fails(3, "standard input is more than 16 MiB");
}

#[test]
fn importing_into_an_unknown_product_or_a_service_is_refused() {
    let shop = TestShop::demo();
    let keys = shop.file("keys.txt", b"K-1\n");
    shop.run(&["stock", "add", "--product", "42", "--file", &keys])
        .fails(4, "product 42 not found");
    shop.run(&["stock", "add", "--product", "5", "--file", &keys])
        .fails(3, "service");
    shop.run(&["stock", "add", "--product", "2", "--file", "missing.txt"])
        .fails(3, "cannot read missing.txt");
    shop.run(&["stock", "add", "--product", "two", "--file", &keys])
        .fails(3, "--product: `two` is not a valid product id");
}

#[test]
fn a_source_is_required_and_only_one() {
    let shop = TestShop::demo();
    shop.run(&["stock", "add", "--product", "2"]).code(2);
    let keys = shop.file("keys.txt", b"K-1\n");
    shop.run(&["stock", "add", "--product", "2", "--file", &keys, "-"])
        .code(2);
}

#[test]
fn count_reports_one_product_as_an_object_and_all_as_an_array() {
    let shop = TestShop::demo();
    let one = shop.json(&["stock", "count", "--product", "1"]);
    assert_eq!(
        one,
        serde_json::json!({
            "product": 1,
            "name": "Starfall Odyssey (Steam key)",
            "available": 3,
            "reserved": 0,
            "sold": 0
        })
    );
    let all = shop.json(&["stock", "count"]);
    assert_eq!(
        all.as_array().unwrap().len(),
        4,
        "the service keeps no stock"
    );
    let table = shop.run(&["stock", "count"]);
    table.ok();
    assert!(
        table.stdout.starts_with("PRODUCT  NAME"),
        "{}",
        table.stdout
    );
    shop.run(&["stock", "count", "--product", "5"])
        .fails(3, "keeps no stock");
}
