//! Every bad value gets one error line saying what was wrong and what is accepted, the right
//! exit code, and no change to the store: never a panic or a backtrace.

use crate::helpers::TestShop;

/// Everything a command could have changed, as the JSON listings show it.
fn snapshot(shop: &TestShop) -> Vec<serde_json::Value> {
    [
        &["product", "list"][..],
        &["category", "list"],
        &["user", "list"],
        &["invoice", "list"],
        &["order", "list"],
    ]
    .iter()
    .map(|args| shop.json(args))
    .collect()
}

#[test]
fn bad_values_are_refused_with_one_line_and_change_nothing() {
    let shop = TestShop::demo();
    let before = snapshot(&shop);
    let keys = shop.file("keys.bin", b"\x00\x01\x02");
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["product", "add", "--name", "X", "--price", "-1"],
            3,
            "--price: a price must be from 0.01 USD",
        ),
        (
            &["product", "add", "--name", "X", "--price", "1,2,3"],
            3,
            "is not an amount: use digits",
        ),
        (
            &["product", "add", "--name", "X", "--price", "9.999"],
            3,
            "USD allows at most 2 decimal places",
        ),
        (
            &["product", "add", "--name", "X", "--price", "1e3"],
            3,
            "for example 10.99",
        ),
        (
            &[
                "product",
                "add",
                "--name",
                "X",
                "--price",
                "99999999999999999999",
            ],
            3,
            "too large",
        ),
        (
            &["product", "add", "--name", "X", "--price", "2000000"],
            3,
            "a price must be from",
        ),
        (
            &["product", "add", "--name", "two\nlines", "--price", "1"],
            3,
            "--name: product name contains a control character or line break",
        ),
        (
            &["product", "add", "--name", &"n".repeat(129), "--price", "1"],
            3,
            "the limit is 128",
        ),
        (
            &[
                "product", "add", "--name", "X", "--price", "1", "--kind", "car",
            ],
            2,
            "invalid value 'car'",
        ),
        (
            &["product", "edit", "1", "--price", "0"],
            3,
            "a price must be from",
        ),
        (
            &["product", "edit", "1", "--hidden", "maybe"],
            2,
            "invalid value 'maybe'",
        ),
        (&["product", "show", "-3"], 2, "error:"),
        (&["product", "show", "99"], 4, "product 99 not found"),
        (
            &["category", "add", ""],
            3,
            "category name is empty; use one line of 1–64 characters",
        ),
        (
            &["stock", "add", "--product", "2", "--file", &keys],
            3,
            "looks binary",
        ),
        (
            &["stock", "add", "--product", "99", "--file", &keys],
            3,
            "looks binary",
        ),
        (
            &[
                "user", "credit", "--user", "1001", "--amount", "", "--reason", "x",
            ],
            3,
            "an amount is required",
        ),
        (&["user", "show", "--user", "-1"], 2, "error:"),
        (
            &["user", "show", "--user", "abc"],
            3,
            "`abc` is not a valid user id: use a whole number",
        ),
        (
            &["invoice", "create", "--user", "1001", "--line", "::"],
            3,
            "--line `::`",
        ),
        (&["order", "list", "--limit", "0"], 2, "error:"),
        (
            &["--store", "ftp://x", "product", "list"],
            2,
            "unknown store URL scheme `ftp`",
        ),
        (
            &["--store", "json:", "product", "list"],
            2,
            "names no directory",
        ),
    ];
    for (args, code, needle) in cases {
        let run = shop.run(args);
        assert_eq!(run.code, *code, "{args:?}: {run:#?}");
        assert!(
            run.stderr.contains(needle),
            "{args:?}: {needle:?} not in {}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{args:?}: {run:#?}");
        assert!(!run.stderr.contains("panicked"), "{args:?}: {run:#?}");
        assert!(
            !run.stderr.contains("stack backtrace"),
            "{args:?}: {run:#?}"
        );
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {run:#?}");
    }
    assert_eq!(snapshot(&shop), before);
}

#[test]
fn a_refused_value_does_not_even_create_a_store() {
    let shop = TestShop::without_store();
    shop.run(&["product", "add", "--name", "", "--price", "1.00"])
        .fails(3, "--name");
    shop.run(&["stock", "add", "--product", "1", "--file", "missing.txt"])
        .fails(3, "cannot read");
    shop.run(&["invoice", "create", "--user", "x", "--line", "x:1:1.00"])
        .fails(3, "--user");
    assert!(!shop.store_dir().exists());
}

#[test]
fn a_store_path_that_is_not_a_directory_is_refused() {
    let shop = TestShop::without_store();
    let file = shop.file("plain-file", b"not a store");
    let run = shop
        .bare_command()
        .args(["--store", &format!("json:{file}"), "product", "list"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(3), "{run:?}");
    let stderr = String::from_utf8(run.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--store json:PATH needs a directory"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"not a store");
}

#[test]
fn a_closed_stdout_is_not_an_error_message() {
    let shop = TestShop::demo();
    shop.greet_many(3000..3300);
    let mut child = shop
        .command(&["export", "users"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read nothing and close the pipe, as `| head -0` would.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn a_manual_credit_limit_that_is_not_an_exact_amount_is_a_usage_error() {
    let shop = TestShop::demo();
    let before = snapshot(&shop);
    let credit = [
        "user", "credit", "--user", "1001", "--amount", "1", "--reason", "x",
    ];
    for bad in ["1e6", "-5", "5000.00 USD", "1_000", "0x10", "5.", ".5"] {
        let run = shop
            .command(&credit)
            .env("SHOPBOT_MAX_MANUAL_CREDIT", bad)
            .output()
            .unwrap();
        let stderr = String::from_utf8(run.stderr).unwrap();
        assert_eq!(run.status.code(), Some(2), "{bad:?}: {stderr}");
        assert!(
            stderr.contains("SHOPBOT_MAX_MANUAL_CREDIT"),
            "{bad:?}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{bad:?}: {stderr}");
    }
    // A float in the file is refused too: the limit is written as text and parsed exactly.
    std::fs::write(shop.path("shopbot.toml"), "max_manual_credit = 5000.0\n").unwrap();
    shop.run(&credit).fails(2, "max_manual_credit");
    std::fs::write(shop.path("shopbot.toml"), "max_manual_credit = \"lots\"\n").unwrap();
    shop.run(&credit).fails(2, "max_manual_credit");
    std::fs::remove_file(shop.path("shopbot.toml")).unwrap();

    assert_eq!(snapshot(&shop), before);
}
