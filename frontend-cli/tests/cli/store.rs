//! `demo`, `backup`, `store check`, and a store that another process holds.

use crate::helpers::TestShop;

#[test]
fn demo_seeds_a_catalog_and_says_what_to_try_next() {
    let shop = TestShop::without_store();
    let run = shop.run(&["demo"]);
    run.ok();
    assert!(
        run.stdout.starts_with(&format!(
            "Demo shop ready in {}: 3 categories, 5 products, 12 keys in stock.\n",
            shop.store_url()
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Try next:\n  shopbot product list\n"),
        "{}",
        run.stdout
    );
    assert_eq!(shop.json(&["product", "list"]).as_array().unwrap().len(), 5);
}

#[test]
fn demo_json_describes_what_was_seeded() {
    let shop = TestShop::without_store();
    let demo = shop.json(&["demo"]);
    assert_eq!(demo["store"], shop.store_url());
    assert_eq!(demo["moved_aside"], serde_json::Value::Null);
    assert_eq!(demo["categories"].as_array().unwrap().len(), 3);
    assert_eq!(demo["products"].as_array().unwrap().len(), 5);
    assert_eq!(demo["products"][0]["stock"]["available"], 3);
    assert_eq!(demo["customer"]["id"], 1001);
    assert_eq!(demo["customer"]["available"]["amount"], "100.00");
    assert!(demo["try_next"].as_array().unwrap().len() >= 3);
}

#[test]
fn demo_refuses_a_store_with_a_catalog_and_reset_moves_it_aside() {
    let shop = TestShop::demo();
    shop.run(&["product", "edit", "1", "--price", "1.00"]).ok();
    shop.run(&["demo"]).fails(5, "already has a catalog");

    let demo = shop.json(&["demo", "--reset"]);
    let aside = demo["moved_aside"].as_str().unwrap().to_owned();
    assert!(aside.contains("store.before-reset-"), "{aside}");
    assert_eq!(
        shop.json(&["product", "show", "1"])["price"]["amount"],
        "19.99"
    );
    // The old store is intact beside the new one.
    let old = TestShop::without_store();
    let run = old
        .bare_command()
        .args([
            "--store",
            &format!("json:{aside}"),
            "--json",
            "product",
            "show",
            "1",
        ])
        .output()
        .unwrap();
    assert!(run.status.success());
    let old_product: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(old_product["price"]["amount"], "1.00");
}

#[test]
fn a_backup_is_a_store_of_its_own() {
    let shop = TestShop::demo();
    let out = shop.path("backup");
    let out = out.to_str().unwrap();
    let summary = shop.json(&["backup", "--out", out]);
    assert_eq!(summary["backup"], out);
    assert_eq!(
        summary["restore"],
        format!("open the copy with --store json:{out}")
    );

    // Changes after the backup stay out of it.
    shop.run(&["product", "edit", "1", "--price", "1.00"]).ok();
    let copy = shop
        .bare_command()
        .args([
            "--store",
            &format!("json:{out}"),
            "--json",
            "product",
            "show",
            "1",
        ])
        .output()
        .unwrap();
    assert!(copy.status.success(), "{copy:?}");
    let product: serde_json::Value = serde_json::from_slice(&copy.stdout).unwrap();
    assert_eq!(product["price"]["amount"], "19.99");

    shop.run(&["backup", "--out", out]).fails(3, "is not empty");
}

#[test]
fn backup_and_check_need_an_existing_store_and_create_none() {
    let shop = TestShop::without_store();
    let out = shop.path("backup");
    shop.run(&["backup", "--out", out.to_str().unwrap()])
        .fails(4, "no shop at");
    shop.run(&["store", "check"]).fails(4, "no shop at");
    assert!(!shop.store_dir().exists());
    assert!(!out.exists());
}

#[test]
fn a_sound_store_checks_out() {
    let shop = TestShop::demo();
    let run = shop.run(&["store", "check"]);
    run.ok();
    assert_eq!(
        run.stdout,
        format!("Store {} is sound: no problems found.\n", shop.store_url())
    );
    let report = shop.json(&["store", "check"]);
    assert_eq!(report["ok"], true);
    assert_eq!(report["problems"], serde_json::json!([]));
}

#[test]
fn a_damaged_journal_is_reported_with_exit_code_5() {
    let shop = TestShop::demo();
    let journal = std::fs::read_dir(shop.store_dir())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("journal-")
        })
        .unwrap();
    let text = std::fs::read_to_string(&journal).unwrap();
    // Change one letter of an early record, keeping its length: its checksum no longer fits,
    // and valid records follow it.
    let damaged = text.replacen("\"Games\"", "\"Gamez\"", 1);
    assert_ne!(text, damaged);
    std::fs::write(&journal, damaged).unwrap();

    let run = shop.run(&["--json", "store", "check"]);
    run.code(5);
    let report = run.json();
    assert_eq!(report["ok"], false);
    let problem = report["problems"][0].as_str().unwrap();
    assert!(problem.contains("is damaged at byte"), "{problem}");
    assert!(
        run.stderr.contains("error: the store has 1 problem(s)"),
        "{}",
        run.stderr
    );

    // Other commands refuse to work on it, with the same explanation.
    shop.run(&["product", "list"])
        .fails(1, "is damaged at byte");

    // A damaged demo store can still be moved aside for a fresh one.
    shop.run(&["demo", "--reset"]).ok();
    shop.run(&["store", "check"]).ok();
}

#[test]
fn a_store_in_use_by_a_process_that_never_listens_is_refused_after_a_bounded_wait() {
    let shop = TestShop::demo();
    let held = shopbot_storage_json::JsonStore::open(shop.store_dir()).unwrap();
    let run = shop.run(&["product", "list"]);
    run.code(1);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(
        lines[0].contains("still starting; waiting up to 15 s"),
        "{run:#?}"
    );
    assert!(
        lines[1].starts_with("error: ") && lines[1].contains("did not open its socket within 15 s"),
        "{run:#?}"
    );
    drop(held);
    shop.run(&["product", "list"]).ok();
}

/// The newest journal segment of a test shop and the offsets of its frames.
fn journal_frames(shop: &TestShop) -> (std::path::PathBuf, Vec<u8>, Vec<usize>) {
    let mut segments: Vec<_> = std::fs::read_dir(shop.store_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    segments.sort();
    let path = segments.pop().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let mut pos = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    let mut frames = Vec::new();
    while pos < bytes.len() {
        frames.push(pos);
        let len = std::str::from_utf8(&bytes[pos + 1..pos + 9]).unwrap();
        pos += 19 + usize::from_str_radix(len, 16).unwrap();
    }
    (path, bytes, frames)
}

fn store_files(shop: &TestShop) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(shop.store_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn store_check_reports_a_torn_last_batch_and_changes_no_byte() {
    let shop = TestShop::demo();
    let (journal, bytes, frames) = journal_frames(&shop);
    let last = *frames.last().unwrap();
    std::fs::write(&journal, &bytes[..last + 12]).unwrap();
    let before = store_files(&shop);

    let run = shop.run(&["--json", "store", "check"]);
    run.code(5);
    let problem = run.json()["problems"][0].as_str().unwrap().to_owned();
    assert!(problem.contains("a write cut short"), "{problem}");
    assert!(problem.contains(&format!("from byte {last}")), "{problem}");
    assert_eq!(store_files(&shop), before, "store check changed the store");
}

#[test]
fn store_repair_cuts_a_damaged_journal_and_says_where_the_cut_bytes_went() {
    let shop = TestShop::demo();
    let (journal, mut bytes, frames) = journal_frames(&shop);
    let third = frames[2];
    bytes[third + 25] ^= 0x02;
    std::fs::write(&journal, &bytes).unwrap();
    shop.run(&["product", "list"]).fails(1, "store repair");

    let run = shop.run(&["store", "repair"]);
    run.ok();
    assert!(run.stdout.starts_with("Repaired store "), "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!("from byte {third}")),
        "{}",
        run.stdout
    );
    let kept = format!("{}.damaged-at-{third}", journal.display());
    assert!(run.stdout.contains(&kept), "{}", run.stdout);
    assert_eq!(std::fs::read(&kept).unwrap(), &bytes[third..]);

    shop.run(&["store", "check"]).ok();
    let again = shop.run(&["store", "repair"]);
    again.ok();
    assert!(
        again.stdout.contains("needed no repair"),
        "{}",
        again.stdout
    );
}
