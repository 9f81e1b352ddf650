//! Output never lands on a store: `export --out` and `backup --out` refuse any path inside a
//! store directory, however it is spelled (`..`, symbolic links), and files that already
//! exist; `--force` replaces plain files only. A refusal exits 3 and writes nothing anywhere.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::helpers::TestShop;

/// Every file under `dir` with its bytes, so a test can show that nothing changed.
fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(contents(&path));
        } else {
            found.insert(path.clone(), std::fs::read(&path).unwrap());
        }
    }
    found
}

/// The store's journal file.
fn journal(shop: &TestShop) -> PathBuf {
    std::fs::read_dir(shop.store_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("journal-") && name.ends_with(".log")
        })
        .expect("the demo store has a journal")
}

/// Every product the store lists, as `product list --json` shows it.
fn products(shop: &TestShop) -> serde_json::Value {
    shop.json(&["product", "list"])
}

#[test]
fn exporting_over_the_journal_is_refused_even_with_force_and_the_shop_is_intact() {
    let shop = TestShop::demo();
    let listed = products(&shop);
    let before = contents(&shop.store_dir());
    let journal = journal(&shop);
    let journal = journal.to_str().unwrap();

    shop.run(&["export", "orders", "--out", journal])
        .fails(3, "is inside the store directory");
    shop.run(&["export", "orders", "--out", journal, "--force"])
        .fails(3, "is inside the store directory");

    assert_eq!(contents(&shop.store_dir()), before);
    assert_eq!(products(&shop), listed);
}

#[test]
fn a_new_file_inside_a_store_directory_is_refused_and_no_temporary_file_is_left_there() {
    let shop = TestShop::demo();
    let before = contents(&shop.store_dir());
    let inside = shop.store_dir().join("orders.csv");
    let deeper = shop.store_dir().join("exports/orders.csv");

    shop.run(&["export", "orders", "--out", inside.to_str().unwrap()])
        .fails(3, "is inside the store directory");
    shop.run(&["export", "orders", "--out", deeper.to_str().unwrap()])
        .fails(3, "is inside the store directory");

    assert_eq!(contents(&shop.store_dir()), before);
}

#[test]
fn any_directory_holding_a_store_is_refused_not_only_the_configured_one() {
    let shop = TestShop::demo();
    let listed = products(&shop);
    for marker in ["snapshot.json", "LOCK", "journal-00000000000000000007.log"] {
        let other = shop.path(&format!("other-{marker}"));
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join(marker), b"another shop").unwrap();
        let before = contents(&other);

        for target in [other.join(marker), other.join("orders.csv")] {
            let target = target.to_str().unwrap();
            shop.run(&["export", "orders", "--out", target, "--force"])
                .fails(3, "is inside the store directory");
        }

        assert_eq!(contents(&other), before, "{marker}");
    }
    assert_eq!(products(&shop), listed);
}

#[test]
fn the_configured_store_directory_is_refused_whatever_it_holds() {
    let shop = TestShop::without_store();
    std::fs::create_dir(shop.store_dir()).unwrap();
    std::fs::write(shop.store_dir().join("notes.txt"), b"not a store file").unwrap();
    let target = shop.store_dir().join("orders.csv");

    shop.run(&["export", "orders", "--out", target.to_str().unwrap()])
        .fails(3, "is inside the store directory");

    assert!(!target.exists());
    assert_eq!(std::fs::read_dir(shop.store_dir()).unwrap().count(), 1);
}

#[cfg(unix)]
#[test]
fn paths_that_reach_a_store_through_dot_dot_or_a_symbolic_link_are_refused() {
    let shop = TestShop::demo();
    let before = contents(&shop.store_dir());
    let journal = journal(&shop);
    let journal_name = journal.file_name().unwrap().to_str().unwrap().to_owned();
    std::fs::create_dir(shop.path("elsewhere")).unwrap();
    std::os::unix::fs::symlink(shop.store_dir(), shop.path("shop-link")).unwrap();
    std::os::unix::fs::symlink(&journal, shop.path("orders.csv")).unwrap();

    let spellings = [
        shop.path("elsewhere/../store").join(&journal_name),
        shop.path("elsewhere/../store/new.csv"),
        shop.path("elsewhere/missing/../../store/new.csv"),
        shop.path("shop-link").join(&journal_name),
        shop.path("shop-link/new.csv"),
        shop.path("shop-link/sub/new.csv"),
    ];
    for target in &spellings {
        shop.run(&[
            "export",
            "orders",
            "--out",
            target.to_str().unwrap(),
            "--force",
        ])
        .fails(3, "is inside the store directory");
    }
    // A link to a store file is refused as a link: `--force` replaces plain files only.
    let link = shop.path("orders.csv");
    shop.run(&[
        "export",
        "orders",
        "--out",
        link.to_str().unwrap(),
        "--force",
    ])
    .fails(3, "--force replaces plain files only");

    assert_eq!(contents(&shop.store_dir()), before);
    assert!(!shop.path("elsewhere/missing").exists());
}

#[test]
fn an_existing_file_is_refused_unless_force_replaces_it() {
    let shop = TestShop::demo();
    let path = shop.file("orders.csv", b"last month's export");
    shop.run(&["export", "orders", "--out", &path])
        .fails(3, "already exists");
    assert_eq!(std::fs::read(&path).unwrap(), b"last month's export");

    let run = shop.run(&["export", "orders", "--out", &path, "--force"]);

    run.ok();
    let csv = std::fs::read_to_string(&path).unwrap();
    assert!(csv.starts_with("order_id,"), "{csv}");
}

#[test]
fn force_never_replaces_a_directory_or_a_device() {
    let shop = TestShop::demo();
    std::fs::create_dir(shop.path("reports")).unwrap();
    let dir = shop.path("reports");
    shop.run(&[
        "export",
        "orders",
        "--out",
        dir.to_str().unwrap(),
        "--force",
    ])
    .fails(3, "is a directory");
    assert!(dir.is_dir());
    if Path::new("/dev/null").exists() {
        shop.run(&["export", "orders", "--out", "/dev/null", "--force"])
            .fails(3, "--force replaces plain files only");
    }
}

#[test]
fn a_backup_inside_a_store_directory_is_refused_and_creates_nothing() {
    let shop = TestShop::demo();
    let before = contents(&shop.store_dir());
    let inside = shop.store_dir().join("backup");
    let other = shop.path("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("snapshot.json"), b"another shop").unwrap();
    let beside_other_store = other.join("backup");

    for target in [&inside, &beside_other_store] {
        shop.run(&["backup", "--out", target.to_str().unwrap()])
            .fails(3, "is inside the store directory");
        assert!(!target.exists());
    }

    assert_eq!(contents(&shop.store_dir()), before);
}

#[cfg(unix)]
#[test]
fn a_backup_through_a_link_into_a_store_or_into_the_store_itself_is_refused() {
    let shop = TestShop::demo();
    let before = contents(&shop.store_dir());
    std::os::unix::fs::symlink(shop.store_dir(), shop.path("shop-link")).unwrap();

    let store = shop.store_dir();
    for target in [
        shop.path("shop-link/backup"),
        shop.path("shop-link"),
        store.clone(),
    ] {
        shop.run(&["backup", "--out", target.to_str().unwrap()])
            .code(3);
    }

    assert_eq!(contents(&shop.store_dir()), before);
}
