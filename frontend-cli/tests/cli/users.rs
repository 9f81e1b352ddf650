//! `user list|show|credit|ban|unban|role`.

use crate::helpers::{CUSTOMER, TestShop};

#[test]
fn users_are_listed_with_their_wallets_and_the_local_owner_among_them() {
    let shop = TestShop::demo();
    let users = shop.json(&["user", "list"]);
    let users = users.as_array().unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(users[0]["id"], 0);
    assert_eq!(users[0]["name"], "local owner");
    assert_eq!(users[0]["configured_owner"], true);
    assert_eq!(users[1]["id"], CUSTOMER);
    assert_eq!(users[1]["role"], "customer");
    assert_eq!(users[1]["balance"]["amount"], "100.00");
    assert_eq!(users[1]["available"]["minor"], 10000);

    let page = shop.json(&["user", "list", "--offset", "1", "--limit", "1"]);
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert_eq!(page[0]["id"], CUSTOMER);
}

#[test]
fn show_tells_balance_held_role_and_ban() {
    let shop = TestShop::demo();
    let run = shop.run(&["user", "show", "--user", "1001"]);
    run.ok();
    for expected in [
        "id:         1001",
        "role:       customer",
        "banned:     no",
        "balance:    100.00 USD",
        "held:       0.00 USD",
        "available:  100.00 USD",
    ] {
        assert!(
            run.stdout.contains(expected),
            "{expected:?} in {}",
            run.stdout
        );
    }
    shop.run(&["user", "show", "--user", "5"])
        .fails(4, "user 5 not found");
}

#[test]
fn a_credit_with_a_key_is_applied_once() {
    let shop = TestShop::demo();
    let args = [
        "user",
        "credit",
        "--user",
        "1001",
        "--amount",
        "10.50",
        "--reason",
        "ticket 77",
        "--idempotency-key",
        "ticket-77",
    ];
    let first = shop.json(&args);
    assert_eq!(first["amount"]["minor"], 1050);
    assert_eq!(first["reason"], "ticket 77");
    assert_eq!(first["idempotency_key"], "ticket-77");
    assert_eq!(first["wallet"]["balance"]["amount"], "110.50");
    let second = shop.json(&args);
    assert_eq!(second["entry"], first["entry"]);
    assert_eq!(second["wallet"]["balance"]["amount"], "110.50");

    // The same key for a different credit is a conflict.
    shop.run(&[
        "user",
        "credit",
        "--user",
        "1001",
        "--amount",
        "99",
        "--reason",
        "ticket 77",
        "--idempotency-key",
        "ticket-77",
    ])
    .fails(5, "error: ");
}

#[test]
fn credits_without_a_key_add_up() {
    let shop = TestShop::demo();
    for _ in 0..2 {
        shop.run(&[
            "user", "credit", "--user", "1001", "--amount", "1", "--reason", "promo",
        ])
        .ok();
    }
    let user = shop.json(&["user", "show", "--user", "1001"]);
    assert_eq!(user["balance"]["amount"], "102.00");
}

#[test]
fn a_debit_beyond_what_is_available_is_refused() {
    let shop = TestShop::demo();
    shop.run(&[
        "user", "credit", "--user", "1001", "--amount", "-100.01", "--reason", "x",
    ])
    .fails(5, "insufficient funds");
    let debit = shop.json(&[
        "user", "credit", "--user", "1001", "--amount", "-40", "--reason", "x",
    ]);
    assert_eq!(debit["wallet"]["balance"]["amount"], "60.00");
}

#[test]
fn bad_credits_are_refused() {
    let shop = TestShop::demo();
    let credit = |amount: &str, reason: &str, key: &str| {
        shop.run(&[
            "user",
            "credit",
            "--user",
            "1001",
            "--amount",
            amount,
            "--reason",
            reason,
            "--idempotency-key",
            key,
        ])
    };
    credit("ten", "x", "k1").fails(3, "--amount: `ten` is not an amount");
    credit("1.001", "x", "k1").fails(3, "USD allows at most 2 decimal places");
    credit("1", " ", "k1").fails(3, "--reason: text is empty");
    credit("1", "x", "has space").fails(3, "--idempotency-key");
    credit("1", "x", "refund:7").fails(3, "idempotency keys may not start with");
    shop.run(&[
        "user", "credit", "--user", "77", "--amount", "1", "--reason", "x",
    ])
    .fails(4, "user 77 not found");
    assert_eq!(
        shop.json(&["user", "show", "--user", "1001"])["balance"]["amount"],
        "100.00"
    );
}

#[test]
fn a_ban_is_lifted_by_unban() {
    let shop = TestShop::demo();
    let banned = shop.json(&["user", "ban", "--user", "1001"]);
    assert_eq!(banned["banned"], true);
    let run = shop.run(&["user", "unban", "--user", "1001"]);
    run.ok();
    assert!(run.stdout.starts_with("User 1001 is unbanned.\n"));
    assert_eq!(
        shop.json(&["user", "show", "--user", "1001"])["banned"],
        false
    );
}

#[test]
fn nobody_bans_themselves_or_changes_their_own_role() {
    let shop = TestShop::demo();
    shop.run(&["user", "ban", "--user", "0"]).fails(
        5,
        "not allowed: staff cannot change their own role or ban themselves",
    );
    shop.run(&["user", "role", "--user", "0", "--role", "customer"])
        .fails(5, "not allowed");
}

#[test]
fn roles_change_and_only_known_roles_are_accepted() {
    let shop = TestShop::demo();
    let user = shop.json(&["user", "role", "--user", "1001", "--role", "support"]);
    assert_eq!(user["role"], "support");
    shop.run(&["user", "role", "--user", "1001", "--role", "king"])
        .code(2);
    shop.run(&["user", "role", "--user", "9", "--role", "admin"])
        .fails(4, "user 9 not found");
}

/// `user credit --user 1001 --amount AMOUNT --reason limit` plus `extra`, on `shop`.
fn credit(shop: &TestShop, amount: &str, extra: &[&str]) -> crate::helpers::Run {
    let mut args = vec![
        "user", "credit", "--user", "1001", "--amount", amount, "--reason", "limit",
    ];
    args.extend_from_slice(extra);
    shop.run(&args)
}

fn balance(shop: &TestShop) -> serde_json::Value {
    shop.json(&["user", "show", "--user", "1001"])["balance"]["amount"].clone()
}

#[test]
fn a_credit_above_the_default_limit_needs_yes() {
    let shop = TestShop::demo();

    credit(&shop, "1000000.01", &[]).fails(
        3,
        "a manual credit of 1000000.01 USD is above the limit of 1000000.00 USD \
         (max_manual_credit); add --yes to credit it anyway",
    );
    credit(&shop, "90000000000000000.00", &[]).fails(3, "add --yes");
    assert_eq!(balance(&shop), "100.00");

    credit(&shop, "1000000.00", &[]).ok();
    credit(&shop, "1000000.01", &["--yes"]).ok();
    assert_eq!(balance(&shop), "2000100.01");
}

#[test]
fn the_manual_credit_limit_comes_from_the_file_or_the_environment() {
    let shop = TestShop::demo();
    std::fs::write(
        shop.path("shopbot.toml"),
        "max_manual_credit = \"5000.00\"\n",
    )
    .unwrap();

    credit(&shop, "5000.01", &[]).fails(3, "above the limit of 5000.00 USD");
    credit(&shop, "5000", &[]).ok();
    let run = shop
        .command(&[
            "user", "credit", "--user", "1001", "--amount", "50.01", "--reason", "x",
        ])
        .env("SHOPBOT_MAX_MANUAL_CREDIT", "50")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(3), "{run:?}");
    let stderr = String::from_utf8(run.stderr).unwrap();
    assert!(stderr.contains("above the limit of 50.00 USD"), "{stderr}");

    assert_eq!(balance(&shop), "5100.00");
}

#[test]
fn a_credit_that_would_overflow_the_wallet_is_refused_clearly() {
    let shop = TestShop::demo();
    credit(&shop, "90000000000000000.00", &["--yes"]).ok();
    assert_eq!(balance(&shop), "90000000000000100.00");

    credit(&shop, "90000000000000000.00", &["--yes"]).fails(
        3,
        "the wallet cannot hold more than 92233720368547758.07 USD",
    );

    assert_eq!(balance(&shop), "90000000000000100.00");
}

#[test]
fn staff_choose_their_notices_by_kind_all_or_none_and_user_show_lists_them() {
    let shop = TestShop::demo();
    shop.run(&["user", "role", "--user", "1001", "--role", "support"])
        .ok();

    let user = shop.json(&["user", "notify", "--user", "1001", "order-paid,low-stock"]);
    assert_eq!(
        user["notices"],
        serde_json::json!(["order-paid", "low-stock"])
    );
    let shown = shop.run(&["user", "show", "--user", "1001"]);
    assert!(
        shown.ok().stdout.contains("order-paid,low-stock"),
        "{shown:#?}"
    );
    let all = shop.json(&["user", "notify", "--user", "1001", "all"]);
    assert_eq!(all["notices"].as_array().unwrap().len(), 4, "{all}");
    let none = shop.run(&["user", "notify", "--user", "1001", "none"]);
    assert!(
        none.ok()
            .stdout
            .contains("User 1001 now gets notices: none."),
        "{none:#?}"
    );

    shop.run(&["user", "notify", "--user", "1001", "order-paid,gossip"])
        .fails(2, "unknown notice kind \"gossip\"");
    shop.run(&["user", "role", "--user", "1001", "--role", "customer"])
        .ok();
    shop.run(&["user", "notify", "--user", "1001", "all"])
        .fails(3, "only staff get notices");
}
