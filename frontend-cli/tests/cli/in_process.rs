//! The commands called in process, as `run(args, ctx, out)`, on an in-memory store: exact
//! output without spawning the binary.

use std::sync::Arc;

use clap::Parser;
use shopbot_cli::cli::Cli;
use shopbot_cli::config::Settings;
use shopbot_cli::context::Ctx;
use shopbot_cli::error::ExitStatus;
use shopbot_cli::store::{Backend, StoreUrl};
use shopbot_storage_json::JsonStore;

/// Runs command lines one after the other on one in-memory shop; returns the last output.
fn run_all(lines: &[&[&str]]) -> Result<String, (ExitStatus, String)> {
    let settings = Settings::for_store(StoreUrl::Json("unused".into()));
    let mut json = settings.clone();
    json.json = true;
    let backend = Backend::Json(Arc::new(JsonStore::in_memory()));
    let ctx = Ctx::with_backend(settings, backend.clone());
    let json_ctx = Ctx::with_backend(json, backend);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut last = String::new();
    for line in lines {
        let cli = Cli::try_parse_from(std::iter::once(&"shopbot").chain(line.iter())).unwrap();
        let ctx = if cli.global.json { &json_ctx } else { &ctx };
        let mut out = Vec::new();
        runtime
            .block_on(shopbot_cli::commands::run(&cli.command, ctx, &mut out))
            .map_err(|e| (e.status(), e.message().to_owned()))?;
        last = String::from_utf8(out).unwrap();
    }
    Ok(last)
}

#[test]
fn product_list_prints_an_aligned_table() {
    let out = run_all(&[
        &["category", "add", "Games"],
        &[
            "product",
            "add",
            "--name",
            "Space Trader",
            "--price",
            "9.99",
            "--category",
            "1",
        ],
        &[
            "product",
            "add",
            "--name",
            "Setup call",
            "--price",
            "25",
            "--kind",
            "service",
        ],
        &["product", "list"],
    ])
    .unwrap();
    assert_eq!(
        out,
        "\
ID  NAME          KIND     PRICE      CATEGORY  HIDDEN  AVAILABLE  RESERVED  SOLD
1   Space Trader  key      9.99 USD   Games     no      0          0         0
2   Setup call    service  25.00 USD  -         no      -          -         -
"
    );
}

#[test]
fn adding_a_product_says_how_to_stock_it() {
    let out = run_all(&[&["product", "add", "--name", "Key", "--price", "1"]]).unwrap();
    assert_eq!(
        out,
        "Added product 1 \"Key\" at 1.00 USD.\n\
         Add stock with `shopbot stock add --product 1 --file keys.txt`.\n"
    );
}

#[test]
fn an_empty_shop_says_how_to_begin() {
    let out = run_all(&[&["product", "list"]]).unwrap();
    assert!(out.starts_with("No products yet."), "{out}");
    let out = run_all(&[&["--json", "product", "list"]]).unwrap();
    assert_eq!(out, "[]\n");
}

#[test]
fn the_local_owner_is_recorded_once_and_acts_as_owner() {
    let out = run_all(&[
        &["category", "list"],
        &["--json", "user", "show", "--user", "0"],
    ])
    .unwrap();
    let user: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(user["name"], "local owner");
    assert_eq!(user["configured_owner"], true);
}

#[test]
fn refusals_carry_their_exit_status() {
    let refused = run_all(&[&["user", "ban", "--user", "0"]]).unwrap_err();
    assert_eq!(refused.0, ExitStatus::Refused);
    let missing = run_all(&[&["order", "show", "3"]]).unwrap_err();
    assert_eq!(
        missing,
        (
            ExitStatus::NotFound,
            "order 3 not found (see `shopbot order list`)".into()
        )
    );
}

#[test]
fn an_in_memory_store_checks_out() {
    let out = run_all(&[&["demo"], &["--json", "store", "check"]]).unwrap();
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["ok"], true);
}
