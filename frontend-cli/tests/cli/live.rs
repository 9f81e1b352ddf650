//! Live administration: with `shopbot serve` (or `chat`) holding a JSON store, every other
//! command works through the shop's socket and prints what it prints on a direct open, while
//! customers buy; a holder killed mid-command loses nothing acknowledged. The socket itself
//! is tested in `live_socket`.
//!
//! The tests synchronise on the processes themselves (serve's start line, a command's exit,
//! a connection accepted by a test's own holder), never on sleeps.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use shopbot_core::services::PayWith;

use crate::helpers::{Run, TestShop, available};
use crate::serve::{Serving, serve};

/// A shop seeded by `demo` with one paid order (id returned) from customer 1001.
fn shop_with_an_order() -> (TestShop, i64) {
    let shop = TestShop::demo();
    let order = shop.buy(1001, 2, 1, PayWith::Wallet);
    (shop, order)
}

/// Output with what differs between two shops made a moment apart left out: times
/// (`2026-12-08 01:11:49Z`, `2026-12-08T01:11:49Z`) and the store's directory.
fn comparable(run: &Run, shop: &TestShop) -> (i32, String) {
    let text = run
        .stdout
        .replace(&shop.store_dir().display().to_string(), "STORE");
    let mut masked = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if is_time_at(&chars[i..]) {
            masked.push_str("<time>");
            i += 19;
        } else {
            masked.push(chars[i]);
            i += 1;
        }
    }
    (run.code, masked)
}

/// `dddd-dd-dd?dd:dd:dd`
fn is_time_at(chars: &[char]) -> bool {
    const SHAPE: &str = "dddd-dd-dd?dd:dd:dd";
    chars.len() >= SHAPE.len()
        && SHAPE.chars().zip(chars).all(|(shape, c)| match shape {
            'd' => c.is_ascii_digit(),
            '?' => *c == ' ' || *c == 'T',
            literal => literal == *c,
        })
}

#[test]
fn admin_commands_through_a_running_shop_print_what_a_direct_open_prints() {
    let (direct, direct_order) = shop_with_an_order();
    let (live, live_order) = shop_with_an_order();
    assert_eq!(direct_order, live_order);
    let keys = live.file("keys.txt", b"NEW-1\nNEW-2\nNEW-3\n");
    direct.file("keys.txt", b"NEW-1\nNEW-2\nNEW-3\n");
    let direct_keys = direct.path("keys.txt").display().to_string();
    let order = live_order.to_string();
    let serving = Serving::start(serve(&live, "info"));

    let commands: Vec<Vec<&str>> = vec![
        vec!["stock", "add", "--product", "1", "--file", "KEYS"],
        vec!["product", "edit", "1", "--price", "21.50"],
        vec![
            "user",
            "credit",
            "--user",
            "1001",
            "--amount",
            "5",
            "--reason",
            "promo",
            "--idempotency-key",
            "promo-1",
        ],
        vec!["order", "refund", &order],
        vec![
            "invoice",
            "create",
            "--user",
            "1001",
            "--line",
            "Setup:1:10.00",
        ],
        vec!["job", "run", "expire-invoices"],
        vec!["store", "check"],
        vec!["export", "orders"],
        vec!["--json", "user", "list"],
        vec!["product", "edit", "99", "--price", "1"],
        vec![
            "user", "credit", "--user", "1001", "--amount", "-1000", "--reason", "x",
        ],
    ];
    for command in commands {
        let args = |keys: &str| -> Vec<String> {
            command
                .iter()
                .map(|a| {
                    if *a == "KEYS" {
                        keys.to_owned()
                    } else {
                        (*a).to_owned()
                    }
                })
                .collect()
        };
        let direct_args = args(&direct_keys);
        let live_args = args(&keys);
        let direct_run = direct.run(&direct_args.iter().map(String::as_str).collect::<Vec<_>>());
        let live_run = live.run(&live_args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(
            comparable(&live_run, &live),
            comparable(&direct_run, &direct),
            "{command:?}: through the shop {live_run:#?}, direct {direct_run:#?}"
        );
        let strip =
            |s: &str, shop: &TestShop| s.replace(&shop.store_dir().display().to_string(), "STORE");
        assert_eq!(
            strip(&live_run.stderr, &live),
            strip(&direct_run.stderr, &direct),
            "{command:?}"
        );
    }
    // The new keys are in the running shop's stock at once.
    assert_eq!(available(&live, 1), 3 + 3);
    serving.stop("-TERM").ok();
    // Everything done through the shop is in the store, audit log included.
    assert_eq!(available(&live, 1), available(&direct, 1));
}

#[test]
fn a_backup_through_a_running_shop_is_a_store_that_passes_its_check() {
    let shop = TestShop::demo();
    let serving = Serving::start(serve(&shop, "info"));
    let copy = shop.path("copy");
    shop.run(&["backup", "--out", copy.to_str().unwrap()]).ok();
    let url = format!("json:{}", copy.display());
    shop.run_on(&url, &["store", "check"]).ok();
    // The copy holds what the shop holds.
    let products = shop.json(&["product", "list"]);
    assert_eq!(
        shop.run_on(&url, &["--json", "product", "list"]).json(),
        products
    );
    let migrated = format!("json:{}", shop.path("migrated").display());
    shop.run(&["migrate", "--to", &migrated]).ok();
    shop.run_on(&migrated, &["store", "check"]).ok();
    serving.stop("-TERM").ok();
    // The copy is owner-only, as the store's own copies are.
    let mode = std::fs::metadata(&copy).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "{mode:o}");
}

#[test]
fn a_holder_killed_mid_command_leaves_every_acknowledged_change_and_a_repeat_applies_once() {
    let shop = TestShop::demo();
    let before = available(&shop, 1);
    let lines: String = (0..20_000).map(|i| format!("BULK-{i:06}\n")).collect();
    let keys = shop.file("bulk.txt", lines.as_bytes());
    let serving = Serving::start(serve(&shop, "info"));
    // Acknowledged before the kill: must survive it.
    shop.run(&[
        "user", "credit", "--user", "1001", "--amount", "7", "--reason", "before",
    ])
    .ok();
    let mut import = shop.command(&[
        "--request-key",
        "bulk-1",
        "stock",
        "add",
        "--product",
        "1",
        "--file",
        &keys,
    ]);
    import
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let import = import.spawn().unwrap();
    serving.kill_hard();
    let output = import.wait_with_output().unwrap();
    let code = output.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Whichever moment the kill hit: done (0), done directly after the holder was gone (0),
    // or in doubt (6, saying how to repeat it).
    assert!(code == 0 || code == 6, "exit {code}: {stderr}");
    if code == 6 {
        assert!(
            stderr.contains("outcome is unknown") && stderr.contains("--request-key bulk-1"),
            "{stderr}"
        );
    }
    // The store reopens with every acknowledged change.
    shop.run(&["store", "check"]).ok();
    let credited = shop.json(&["user", "show", "--user", "1001"]);
    assert!(credited.to_string().contains("107.00"), "{credited}");
    // The repeat applies the import once, whatever happened to the first try, however often
    // it is repeated.
    for _ in 0..2 {
        shop.run(&[
            "--request-key",
            "bulk-1",
            "stock",
            "add",
            "--product",
            "1",
            "--file",
            &keys,
        ])
        .ok();
    }
    assert_eq!(available(&shop, 1), before + 20_000);
}

#[test]
fn a_second_shop_on_a_held_store_is_refused_and_the_first_keeps_serving() {
    let shop = TestShop::demo();
    let serving = Serving::start(serve(&shop, "info"));
    shop.run(&["serve"]).fails(5, "in use by a running shop");
    shop.run(&["product", "list"]).ok();
    serving.stop("-TERM").ok();
}

#[test]
fn while_a_terminal_chat_holds_the_store_admin_commands_work_through_it() {
    use std::io::BufRead;
    let shop = TestShop::demo();
    let mut chat = shop.command(&["--log-level", "info", "chat", "--user", "1001"]);
    chat.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut chat = chat.spawn().unwrap();
    let mut stderr = std::io::BufReader::new(chat.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("the shop socket is listening") {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "chat ended early");
    }
    // The chat waits for its customer's next line; the admin works meanwhile.
    let keys = shop.file("keys.txt", b"CHAT-1\nCHAT-2\n");
    shop.run(&["stock", "add", "--product", "1", "--file", &keys])
        .ok();
    assert_eq!(available(&shop, 1), 3 + 2);
    // The customer leaves; the chat ends cleanly and takes its socket with it.
    drop(chat.stdin.take());
    let output = chat.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(!shop.store_dir().join("shopbot.sock").exists());
}

#[test]
fn customers_buy_concurrently_through_a_running_shop_while_admin_commands_run() {
    let shop = TestShop::demo();
    let serving = Serving::start(serve(&shop, "info"));
    let customers: Vec<i64> = (2001..=2006).collect();
    let restock: String = (0..20).map(|i| format!("RESTOCK-{i}\n")).collect();
    let restock = shop.file("restock.txt", restock.as_bytes());
    shop.run(&["stock", "add", "--product", "2", "--file", &restock])
        .ok();
    for customer in &customers {
        let id = customer.to_string();
        shop.run_with_input(&["chat", "--user", &id], b"").ok();
        shop.run(&[
            "user", "credit", "--user", &id, "--amount", "20", "--reason", "launch",
        ])
        .ok();
    }
    let more = shop.file("more.txt", b"MORE-1\nMORE-2\nMORE-3\n");
    let shop = Arc::new(shop);

    // Menu → Catalog → Games → Pixel Racers → Buy now → Confirm, from every customer at once,
    // while the admin changes stock, prices, wallets and invoices and exports.
    let buyers: Vec<_> = customers
        .iter()
        .map(|customer| {
            let shop = Arc::clone(&shop);
            let id = customer.to_string();
            std::thread::spawn(move || {
                shop.run_with_input(&["chat", "--user", &id], b"1\n1\n2\n1\n1\n")
            })
        })
        .collect();
    let admin = {
        let shop = Arc::clone(&shop);
        std::thread::spawn(move || {
            vec![
                shop.run(&["stock", "add", "--product", "2", "--file", &more]),
                shop.run(&["product", "edit", "1", "--price", "21.50"]),
                shop.run(&[
                    "user", "credit", "--user", "1001", "--amount", "5", "--reason", "x",
                ]),
                shop.run(&[
                    "invoice",
                    "create",
                    "--user",
                    "1001",
                    "--line",
                    "Setup:1:10.00",
                ]),
                shop.run(&["export", "orders"]),
                shop.run(&["store", "check"]),
            ]
        })
    };
    for buyer in buyers {
        let run = buyer.join().unwrap();
        run.ok();
        assert!(run.stdout.contains("» Paid. Thank you!"), "{run:#?}");
    }
    for run in admin.join().unwrap() {
        run.ok();
    }
    let counts = shop.json(&["stock", "count", "--product", "2"]);
    assert_eq!(counts["sold"], customers.len());
    assert_eq!(counts["available"], 3 + 20 + 3 - customers.len() as u64);
    serving.stop("-TERM").ok();
    shop.run(&["store", "check"]).ok();
}

#[test]
fn an_import_larger_than_a_frame_is_streamed_to_the_running_shop() {
    let shop = TestShop::demo();
    // 100,000 keys of 48 characters: over 4 MiB, more than one frame holds.
    let lines: String = (0..100_000)
        .map(|i| format!("{:0>48}\n", format!("LARGE-{i}")))
        .collect();
    assert!(lines.len() > 4 * 1024 * 1024);
    let keys = shop.file("large.txt", lines.as_bytes());
    let serving = Serving::start(serve(&shop, "info"));
    let run = shop.run(&["stock", "add", "--product", "1", "--file", &keys]);
    run.ok();
    assert!(
        run.stdout.starts_with("Imported 100000 unit(s)"),
        "{run:#?}"
    );
    assert_eq!(available(&shop, 1), 3 + 100_000);
    shop.run(&["store", "check"]).ok();
    serving.stop("-TERM").ok();
}

#[test]
fn on_postgresql_the_same_commands_work_beside_a_running_shop_each_on_the_database() {
    let Some(shop) = TestShop::postgres() else {
        return;
    };
    shop.run(&["demo"]).ok();
    let serving = Serving::start(serve(&shop, "info"));
    // A purchase through the bot's conversation, beside the running shop.
    let bought = shop.run_with_input(&["chat", "--user", "1001"], b"1\n1\n2\n1\n1\n");
    bought.ok();
    assert!(bought.stdout.contains("» Paid. Thank you!"), "{bought:#?}");
    let orders = shop.json(&["order", "list", "--user", "1001"]);
    let order = orders[0]["id"].to_string();
    let keys = shop.file("keys.txt", b"PG-LIVE-1\nPG-LIVE-2\n");

    for command in [
        vec!["stock", "add", "--product", "2", "--file", &keys],
        vec!["product", "edit", "1", "--price", "21.50"],
        vec![
            "user", "credit", "--user", "1001", "--amount", "5", "--reason", "promo",
        ],
        vec!["order", "refund", &order],
        vec![
            "invoice",
            "create",
            "--user",
            "1001",
            "--line",
            "Setup:1:10.00",
        ],
        vec!["export", "orders"],
        vec!["store", "check"],
    ] {
        let run = shop.run(&command);
        run.ok();
        assert!(
            !run.stderr.contains("running shop"),
            "{command:?}: {run:#?}"
        );
    }
    let counts = shop.json(&["stock", "count", "--product", "2"]);
    assert_eq!(counts["available"], 3 - 1 + 2, "{counts}");
    let user = shop.json(&["user", "show", "--user", "1001"]);
    // 100.00, less 9.99 for the purchase, refunded, plus 5.00.
    assert_eq!(user["balance"]["minor"], 10_500, "{user}");
    let product = shop.json(&["product", "show", "1"]);
    assert_eq!(product["price"]["minor"], 2_150, "{product}");
    serving.stop("-TERM").ok();
}
