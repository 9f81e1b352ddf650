//! `shopbot telegram`: what it refuses before it runs, that the token never shows, and that
//! SIGTERM and SIGINT stop it cleanly. Running the bot end to end against a fake Bot API
//! server is the `tests/telegram` suite's job.

use std::process::{Command, Output, Stdio};

use crate::helpers::{Run, TestShop};

/// A token in the real format, so teloxide's own redaction would recognise it too.
const TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0";

/// `shopbot telegram` on the test's store, with only the `TELEGRAM_*` variables given.
fn telegram(shop: &TestShop, env: &[(&str, &str)]) -> Run {
    let mut command: Command = shop.command(&["telegram"]);
    command.env_remove("TELEGRAM_BOT_TOKEN");
    command.env_remove("TELEGRAM_API_URL");
    command.envs(env.iter().copied());
    finished(command.output().unwrap())
}

/// What a finished process did; killed by a signal, it has no exit code (-1 here).
fn finished(output: Output) -> Run {
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

#[test]
fn without_a_token_the_bot_refuses_to_start_and_touches_no_store() {
    let shop = TestShop::without_store();
    telegram(&shop, &[]).fails(2, "TELEGRAM_BOT_TOKEN is not set");
    telegram(&shop, &[("TELEGRAM_BOT_TOKEN", "   ")]).fails(2, "TELEGRAM_BOT_TOKEN is not set");
    assert!(!shop.store_dir().exists(), "a usage error creates no store");
}

#[test]
fn a_malformed_api_url_is_a_usage_error_that_does_not_show_the_token() {
    let shop = TestShop::without_store();
    let run = telegram(
        &shop,
        &[
            ("TELEGRAM_BOT_TOKEN", TOKEN),
            ("TELEGRAM_API_URL", "localhost:8081"),
        ],
    );
    run.fails(2, "TELEGRAM_API_URL");
    assert!(
        !run.stderr.contains(TOKEN) && !run.stdout.contains(TOKEN),
        "{run:#?}"
    );
    assert!(!shop.store_dir().exists());
}

#[test]
fn an_unreachable_bot_api_fails_to_start_without_showing_the_token() {
    let shop = TestShop::new();
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    let run = telegram(
        &shop,
        &[
            ("TELEGRAM_BOT_TOKEN", TOKEN),
            ("TELEGRAM_API_URL", "http://127.0.0.1:1"),
            ("SHOPBOT_LOG_LEVEL", "trace"),
        ],
    );
    run.code(1);
    let secret = TOKEN.split_once(':').unwrap().1;
    assert!(!run.stderr.contains(secret), "{run:#?}");
    assert!(!run.stdout.contains(secret), "{run:#?}");
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: cannot reach the Telegram Bot API"),
        "{run:#?}"
    );
    // The store was opened for the shop and closed cleanly: it opens again.
    shop.run(&["category", "list"]).ok();
}

#[test]
fn a_bot_configured_with_another_currency_than_the_shops_refuses_to_start() {
    let shop = TestShop::demo();
    let run = telegram(
        &shop,
        &[
            ("TELEGRAM_BOT_TOKEN", TOKEN),
            ("TELEGRAM_API_URL", "http://127.0.0.1:1"),
            ("SHOPBOT_CURRENCY", "EUR"),
        ],
    );
    run.fails(5, "this shop sells in USD, but EUR is configured");
    assert!(!run.stderr.contains(TOKEN), "{run:#?}");
}

#[test]
fn the_bot_on_a_missing_store_refuses_to_start_and_creates_none() {
    let shop = TestShop::without_store();
    let run = telegram(
        &shop,
        &[
            ("TELEGRAM_BOT_TOKEN", TOKEN),
            ("TELEGRAM_API_URL", "http://127.0.0.1:1"),
        ],
    );
    run.fails(4, "create one with `shopbot init`");
    assert!(shop.listing().is_empty(), "{:?}", shop.listing());
}

#[test]
fn the_help_names_the_environment_and_gives_examples() {
    let shop = TestShop::new();
    let run = shop.run(&["telegram", "--help"]);
    run.ok();
    for needle in [
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_API_URL",
        "SIGTERM",
        "Examples:",
    ] {
        assert!(run.stdout.contains(needle), "{needle}: {}", run.stdout);
    }
}

#[test]
fn sigterm_and_sigint_stop_the_bot_cleanly() {
    for signal in ["-TERM", "-INT"] {
        stop_with(signal);
    }
}

/// Starts the bot, sends it `signal` while it starts up, and expects a clean exit.
fn stop_with(signal: &str) {
    let shop = TestShop::demo();
    // A Bot API that takes the connection and never answers: the bot stays in its start-up
    // request until it is told to stop.
    let api = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", api.local_addr().unwrap());
    let mut command = shop.command(&["telegram"]);
    command
        .env("TELEGRAM_BOT_TOKEN", TOKEN)
        .env("TELEGRAM_API_URL", &url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn().unwrap();
    // The first request arrives after the signal handlers are installed.
    let (_connection, _) = api.accept().unwrap();
    let sent = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let run = finished(child.wait_with_output().unwrap());
    // Killed by the signal instead, the process would have no exit code.
    run.ok();
    assert!(run.stdout.contains("Stopped."), "{signal}: {run:#?}");
    // The store is intact: the next command opens it and sees the demo shop.
    let categories = shop.json(&["category", "list"]);
    assert!(!categories.as_array().unwrap().is_empty());
}
