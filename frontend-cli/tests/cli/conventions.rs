//! Conventions shared with other command-line tools: shell completions and "did you mean"
//! suggestions for mistyped commands and flags.

use crate::helpers::TestShop;

#[test]
fn completion_scripts_for_bash_zsh_and_fish_name_the_subcommands() {
    let shop = TestShop::without_store();
    for shell in ["bash", "zsh", "fish"] {
        let run = shop.run_bare(&["completions", shell]);
        run.ok();
        for command in ["product", "invoice", "export", "chat", "completions"] {
            assert!(
                run.stdout.contains(command),
                "{shell} script names {command}: {}",
                run.stdout
            );
        }
    }
    shop.run_bare(&["completions", "tcsh"])
        .fails(2, "invalid value 'tcsh'");
}

#[test]
fn a_mistyped_command_or_flag_suggests_the_right_one() {
    let shop = TestShop::new();
    shop.run(&["prodcut", "list"])
        .fails(2, "a similar subcommand exists: 'product'");
    shop.run(&["order", "list", "--limt", "3"])
        .fails(2, "a similar argument exists: '--limit'");
}

#[test]
fn hidden_is_a_switch_or_takes_true_or_false_on_both_add_and_edit() {
    let shop = TestShop::new();
    let hidden = |args: &[&str]| -> bool {
        let product = shop.json(args);
        product["hidden"].as_bool().unwrap()
    };
    let add = |extra: &[&str]| {
        let mut args = vec!["product", "add", "--name", "Card", "--price", "1"];
        args.extend_from_slice(extra);
        hidden(&args)
    };
    assert!(!add(&[]));
    assert!(add(&["--hidden"]));
    assert!(add(&["--hidden", "true"]));
    assert!(!add(&["--hidden", "false"]));

    assert!(hidden(&["product", "edit", "1", "--hidden"]));
    assert!(!hidden(&["product", "edit", "1", "--hidden", "false"]));
    assert!(hidden(&["product", "edit", "1", "--hidden", "true"]));
    assert!(hidden(&["product", "edit", "1", "--hidden=true"]));
    shop.run(&["product", "edit", "1", "--hidden", "maybe"])
        .fails(2, "invalid value 'maybe'");
}

#[test]
fn a_user_is_named_by_a_positional_id_or_by_the_older_user_flag() {
    let shop = TestShop::demo();
    let positional = shop.json(&["user", "show", "1001"]);
    let flag = shop.json(&["user", "show", "--user", "1001"]);
    assert_eq!(positional["id"], 1001);
    assert_eq!(positional, flag);

    shop.run(&["user", "ban", "1001"]).ok();
    assert_eq!(shop.json(&["user", "show", "1001"])["banned"], true);
    shop.run(&["user", "unban", "--user", "1001"]).ok();
    assert_eq!(shop.json(&["user", "show", "1001"])["banned"], false);
    shop.run(&[
        "user", "credit", "1001", "--amount", "1.00", "--reason", "a",
    ])
    .ok();
    shop.run(&[
        "user", "credit", "--user", "1001", "--amount", "1.00", "--reason", "b",
    ])
    .ok();
    assert_eq!(
        shop.json(&["user", "show", "1001"])["balance"]["minor"],
        10_200
    );
    shop.run(&["user", "role", "1001", "--role", "support"])
        .ok();
    assert_eq!(shop.json(&["user", "show", "1001"])["role"], "support");
    let chat = shop.run_with_input(&["chat", "1001"], b"/start\n");
    chat.ok();
    assert!(chat.stdout.contains("Welcome"), "{}", chat.stdout);

    shop.run(&["user", "show"]).fails(2, "required");
    shop.run(&["user", "show", "1001", "--user", "1002"])
        .fails(2, "cannot be used with");
}
