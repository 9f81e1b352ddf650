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
