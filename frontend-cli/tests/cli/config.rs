//! Global flags, environment, `shopbot.toml`, help and version.

use crate::helpers::TestShop;

#[test]
fn the_store_comes_from_the_environment_when_no_flag_names_one() {
    let shop = TestShop::new();
    let run = shop
        .bare_command()
        .env("SHOPBOT_STORE", shop.store_url())
        .args(["category", "add", "Games"])
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    assert_eq!(shop.json(&["category", "list"])[0]["name"], "Games");
}

#[test]
fn flags_beat_the_environment_which_beats_the_file() {
    let shop = TestShop::without_store();
    std::fs::write(
        shop.path("shopbot.toml"),
        "store = \"json:from-file\"\ncurrency = \"EUR\"\n",
    )
    .unwrap();
    let init = |command: &mut std::process::Command| {
        let run = command.arg("init").output().unwrap();
        assert!(run.status.success(), "{run:?}");
    };
    init(&mut shop.bare_command());
    assert!(shop.path("from-file").is_dir());
    init(shop.bare_command().env("SHOPBOT_STORE", "json:from-env"));
    assert!(shop.path("from-env").is_dir());
    init(
        shop.bare_command()
            .env("SHOPBOT_STORE", "json:from-env-2")
            .args(["--store", "json:from-flag"]),
    );
    assert!(shop.path("from-flag").is_dir());
    assert!(!shop.path("from-env-2").exists());
}

#[test]
fn a_new_shop_takes_the_configured_currency_and_keeps_it_without_configuration() {
    let shop = TestShop::without_store();
    let run = shop
        .command(&["init"])
        .env("SHOPBOT_CURRENCY", "EUR")
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    let product = shop.json(&["product", "add", "--name", "Key", "--price", "5"]);
    assert_eq!(product["price"]["currency"], "EUR");
}

#[test]
fn configured_admins_are_owners() {
    let shop = TestShop::demo();
    let run = shop
        .command(&["--json", "user", "show", "--user", "1001"])
        .env("SHOPBOT_ADMINS", "1001, 1002")
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    let user: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(user["configured_owner"], true);
    let run = shop
        .command(&["user", "list"])
        .env("SHOPBOT_ADMINS", "boss")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
}

#[test]
fn a_broken_configuration_file_is_a_usage_error_naming_the_line() {
    let shop = TestShop::new();
    std::fs::write(
        shop.path("shopbot.toml"),
        "store = \"json:x\"\nstroe = \"y\"\n",
    )
    .unwrap();
    let run = shop.run(&["product", "list"]);
    run.fails(2, "shopbot.toml (line 2)");
    assert!(run.stderr.contains("stroe"), "{}", run.stderr);
    let run = shop.run(&["--config", "missing.toml", "product", "list"]);
    run.fails(2, "cannot read configuration file missing.toml");
}

#[test]
fn store_urls_are_json_or_postgres() {
    let shop = TestShop::new();
    shop.run(&["--store", "redis://localhost", "product", "list"])
        .fails(2, "unknown store URL scheme `redis`: use json:PATH");
    let run = shop
        .bare_command()
        .args([
            "--store",
            "postgres://shop:secret@localhost/shop",
            "product",
            "list",
        ])
        .output()
        .unwrap();
    // No such role (or no server): an internal error that names the store, password hidden.
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8(run.stderr).unwrap();
    assert!(
        stderr.contains("postgres://shop:***@localhost/shop"),
        "{stderr}"
    );
    assert!(!stderr.contains("secret"), "{stderr}");
}

#[test]
fn logs_go_to_stderr_as_json_lines_on_request() {
    let shop = TestShop::demo();
    let run = shop.run(&[
        "--log-level",
        "debug",
        "--log-format",
        "json",
        "--json",
        "product",
        "list",
    ]);
    run.ok();
    run.json();
    let first = run.stderr.lines().next().expect("a log line");
    let line: serde_json::Value = serde_json::from_str(first).unwrap();
    assert_eq!(line["level"], "DEBUG");
    shop.run(&["--log-format", "xml", "product", "list"])
        .code(2);
}

#[test]
fn every_subcommand_has_help_with_examples() {
    let shop = TestShop::without_store();
    let commands: &[&[&str]] = &[
        &[],
        &["init"],
        &["demo"],
        &["category", "add"],
        &["category", "list"],
        &["product", "add"],
        &["product", "list"],
        &["product", "show"],
        &["product", "edit"],
        &["stock", "add"],
        &["stock", "count"],
        &["user", "list"],
        &["user", "show"],
        &["user", "credit"],
        &["user", "ban"],
        &["user", "unban"],
        &["user", "role"],
        &["order", "list"],
        &["order", "show"],
        &["order", "refund"],
        &["invoice", "create"],
        &["invoice", "list"],
        &["invoice", "show"],
        &["invoice", "void"],
        &["invoice", "mark-paid"],
        &["export"],
        &["backup"],
        &["store", "check"],
        &["config", "check"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let run = shop.run(&args);
        run.ok();
        assert!(
            run.stdout.contains("Examples:"),
            "{command:?}: {}",
            run.stdout
        );
    }
    assert!(!shop.store_dir().exists(), "help opens no store");
}

#[test]
fn version_and_missing_subcommands() {
    let shop = TestShop::without_store();
    let run = shop.run(&["--version"]);
    run.ok();
    assert!(run.stdout.starts_with("shopbot "));
    shop.run(&[]).code(2);
    shop.run(&["frobnicate"]).code(2);
    shop.run(&["product"]).code(2);
}

/// A token in the real format.
const TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0";

#[test]
fn config_check_shows_every_value_and_its_source_with_the_token_redacted() {
    let shop = TestShop::without_store();
    std::fs::write(
        shop.path("shopbot.toml"),
        "[postgres]\npool_size = 8\n[shop]\ninvoice_expiry = \"1h\"\n",
    )
    .unwrap();
    let run = shop
        .bare_command()
        .args(["--log-level", "error", "config", "check"])
        .env("TELEGRAM_BOT_TOKEN", TOKEN)
        .env("SHOPBOT_SHOP_INVOICE_EXPIRY", "2h")
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    let stdout = String::from_utf8(run.stdout).unwrap();
    assert!(!stdout.contains("AAHdq"), "{stdout}");
    let line = |key: &str| {
        stdout
            .lines()
            .find(|line| line.split_whitespace().next() == Some(key))
            .unwrap_or_else(|| panic!("no {key} in {stdout}"))
            .split_whitespace()
            .skip(1)
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(line("telegram.token"), "<redacted> env TELEGRAM_BOT_TOKEN");
    assert_eq!(line("log_level"), "error flag --log-level");
    assert_eq!(
        line("shop.invoice_expiry"),
        "2h env SHOPBOT_SHOP_INVOICE_EXPIRY"
    );
    assert_eq!(line("postgres.pool_size"), "8 file shopbot.toml");
    assert_eq!(line("shop.dialogue_timeout"), "10m default");
    assert_eq!(line("http.listen"), "(unset) default");
    assert!(!shop.store_dir().exists(), "config check opens no store");

    let run = shop
        .bare_command()
        .args(["--json", "config", "check"])
        .env("SHOPBOT_TELEGRAM_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    let stdout = String::from_utf8(run.stdout).unwrap();
    assert!(!stdout.contains("AAHdq"), "{stdout}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let keys = doc["keys"].as_array().unwrap();
    let token = keys.iter().find(|k| k["key"] == "telegram.token").unwrap();
    assert_eq!(token["value"], "<redacted>");
    assert_eq!(token["source"], "env");
    assert_eq!(token["origin"], "SHOPBOT_TELEGRAM_TOKEN");
    assert_eq!(token["secret"], true);
    let pool = keys
        .iter()
        .find(|k| k["key"] == "postgres.pool_size")
        .unwrap();
    assert_eq!(pool["value"], "8");
    assert_eq!(pool["env"], "SHOPBOT_POSTGRES_POOL_SIZE");
}

#[test]
fn an_unknown_variable_or_a_bad_value_stops_any_command_with_exit_2() {
    let shop = TestShop::new();
    let run = shop
        .command(&["product", "list"])
        .env("SHOPBOT_TELEGRAM_TOKNE", "x")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2), "{run:?}");
    assert!(String::from_utf8_lossy(&run.stderr).contains("SHOPBOT_TELEGRAM_TOKNE"));
    let run = shop
        .command(&["config", "check"])
        .env("SHOPBOT_TELEGRAM_TOKEN", "123:has a space AAHdq")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2), "{run:?}");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("telegram.token") && stderr.contains("<redacted>"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("AAHdq") && run.stdout.is_empty(),
        "{stderr}"
    );
    std::fs::write(
        shop.path("shopbot.toml"),
        "[postgres]\npool_size = \"lots\"\n",
    )
    .unwrap();
    let run = shop.run(&["product", "list"]);
    run.fails(2, "postgres.pool_size");
    assert!(run.stderr.contains("`lots`"), "{}", run.stderr);
}

#[test]
fn the_support_contact_is_shown_on_the_help_screen() {
    let shop = TestShop::demo();
    std::fs::write(
        shop.path("shopbot.toml"),
        "[shop]\nsupport_contact = \"@shop_help\"\n",
    )
    .unwrap();
    let run = shop.run_with_input(&["chat", "--user", "1001"], b"/help\n");
    run.ok();
    assert!(
        run.stdout.contains("Questions? Write to @shop_help."),
        "{}",
        run.stdout
    );
}

#[test]
fn the_low_stock_threshold_decides_the_staff_low_stock_list() {
    // The demo shop has three units of each product.
    let shop = TestShop::demo();
    let low_stock = |threshold: &str| {
        let mut command = shop.command(&["chat", "--user", "1001"]);
        command
            .env("SHOPBOT_SHOP_ADMINS", "1001")
            .env("SHOPBOT_SHOP_LOW_STOCK_THRESHOLD", threshold)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        let mut child = command.spawn().unwrap();
        // /admin, then its third button: Low stock.
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"/admin\n3\n").unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let below = low_stock("2");
    assert!(
        below.contains("Every product has more than 2 units in stock."),
        "{below}"
    );
    let at = low_stock("3");
    assert!(at.contains("Low on stock (4): 3 units or fewer."), "{at}");
}
