//! `shopbot init`: a store is created on purpose, with its currency, and only where nothing
//! else is; every other command on a missing store says so and creates nothing.

use crate::helpers::TestShop;

#[test]
fn init_creates_an_empty_shop_with_its_currency_and_says_what_to_run_next() {
    let shop = TestShop::without_store();
    let run = shop.run(&["init", "--currency", "eur"]);
    run.ok();
    assert!(
        run.stdout.starts_with(&format!(
            "Created a new shop in {}, selling in EUR.\n",
            shop.store_url()
        )),
        "{run:#?}"
    );
    assert!(
        run.stdout
            .contains(&format!("shopbot --store {} product add", shop.store_url())),
        "{run:#?}"
    );
    assert_eq!(shop.json(&["product", "list"]), serde_json::json!([]));
    let product = shop.json(&["product", "add", "--name", "Key", "--price", "5"]);
    assert_eq!(product["price"]["currency"], "EUR");
    assert_eq!(product["price"]["amount"], "5.00");
}

#[test]
fn init_json_describes_the_new_shop() {
    let shop = TestShop::without_store();
    let created = shop.json(&["init", "--currency", "XTR"]);
    assert_eq!(created["store"], shop.store_url());
    assert_eq!(created["currency"], "XTR");
    assert!(created["try_next"].as_array().unwrap().len() >= 2);
}

#[test]
fn init_refuses_a_place_that_holds_a_shop_and_changes_nothing() {
    for shop in [TestShop::new(), TestShop::demo()] {
        let before = store_files(&shop);
        shop.run(&["init", "--currency", "EUR"])
            .fails(5, "there is already a shop at");
        shop.run(&["init"]).fails(5, "nothing was changed");
        assert_eq!(store_files(&shop), before);
    }
}

#[test]
fn init_refuses_a_directory_that_holds_other_files_and_changes_nothing() {
    let shop = TestShop::without_store();
    std::fs::create_dir(shop.store_dir()).unwrap();
    std::fs::write(shop.store_dir().join("notes.txt"), b"my notes").unwrap();
    let before = shop.listing();

    shop.run(&["init"])
        .fails(5, "holds other files (notes.txt)");
    shop.run(&["demo"]).fails(5, "holds other files");

    assert_eq!(shop.listing(), before);
    assert_eq!(
        std::fs::read(shop.store_dir().join("notes.txt")).unwrap(),
        b"my notes"
    );
}

#[test]
fn init_fills_an_empty_directory() {
    let shop = TestShop::without_store();
    std::fs::create_dir(shop.store_dir()).unwrap();
    shop.run(&["init"]).ok();
    shop.run(&["product", "list"]).ok();
}

#[test]
fn a_new_store_needs_its_parent_directory_and_the_message_names_the_missing_part() {
    let shop = TestShop::without_store();
    let deep = shop.path("nonexistent/deep/dir");
    let url = format!("json:{}", deep.display());
    let before = shop.listing();
    for command in [&["init"][..], &["demo"][..]] {
        let mut args = vec!["--store", url.as_str()];
        args.extend_from_slice(command);
        shop.run_bare(&args).fails(
            4,
            &format!("{} does not exist", shop.path("nonexistent").display()),
        );
    }
    assert_eq!(shop.listing(), before, "no part of the path was created");
}

#[test]
fn a_tilde_in_a_json_url_is_the_home_directory() {
    let shop = TestShop::without_store();
    let home = shop.path("home");
    std::fs::create_dir(&home).unwrap();
    let run = shop
        .bare_command()
        .env("HOME", &home)
        .args(["--store", "json:~/shop", "init"])
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    assert!(home.join("shop").is_dir());
    assert!(!shop.path("~").exists(), "no directory named ~");

    let run = shop
        .bare_command()
        .env_remove("HOME")
        .args(["--store", "json:~/shop", "product", "list"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2), "{run:?}");
    let stderr = String::from_utf8(run.stderr).unwrap();
    assert!(stderr.contains("HOME is not set"), "{stderr}");
    assert!(!shop.path("~").exists());
}

/// Every command that uses the shop, with valid arguments.
const SHOP_COMMANDS: &[&[&str]] = &[
    &["product", "list"],
    &["product", "show", "1"],
    &["product", "add", "--name", "Key", "--price", "5.00"],
    &["category", "add", "Games"],
    &["category", "list"],
    &["stock", "count"],
    &["user", "list"],
    &["user", "show", "--user", "1001"],
    &[
        "user", "credit", "--user", "1001", "--amount", "5", "--reason", "gift",
    ],
    &["order", "list"],
    &["invoice", "list"],
    &[
        "invoice",
        "create",
        "--user",
        "1001",
        "--line",
        "Setup:1:25.00",
    ],
    &["export", "orders"],
    &["store", "check"],
    &["migrate", "--to", "json:copy"],
];

#[test]
fn every_other_command_on_a_missing_store_exits_4_and_creates_nothing() {
    let shop = TestShop::without_store();
    let message = format!(
        "no shop at {}; create one with `shopbot init`",
        shop.store_url()
    );
    for command in SHOP_COMMANDS {
        shop.run(command).fails(4, &message);
    }
    shop.run_with_input(&["chat", "--user", "1001"], b"/quit\n")
        .fails(4, &message);
    assert!(shop.listing().is_empty(), "{:?}", shop.listing());
}

#[test]
fn an_empty_directory_is_no_shop_and_stays_empty() {
    let shop = TestShop::without_store();
    std::fs::create_dir(shop.store_dir()).unwrap();
    for command in SHOP_COMMANDS {
        shop.run(command).fails(4, "create one with `shopbot init`");
    }
    assert_eq!(
        shop.listing(),
        vec!["store".to_owned()],
        "no LOCK, no journal"
    );
}

/// The names and contents of the files in the store directory (a refused `init` does not
/// even open the store, so the lock keeps its pid too).
fn store_files(shop: &TestShop) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(shop.store_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (
                name,
                String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned(),
            )
        })
        .collect();
    files.sort();
    files
}
