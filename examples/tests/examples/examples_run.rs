//! Every example runs to the end and shows what it promises.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // Tests fail by panicking.

use std::io::Write;
use std::process::{Command, Output, Stdio};

#[test]
fn embedded_shop_sells_one_key_once_despite_a_double_tap() {
    let output = Command::new(env!("CARGO_BIN_EXE_embedded_shop"))
        .output()
        .expect("the example runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("order 1 paid 9.99 USD; a second tap returned order 1 (replayed: true)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Space Trader (Steam key): AAAA-1111"),
        "{stdout}"
    );
    assert!(stdout.contains("wallet: 5.01 USD available"), "{stdout}");
}

#[test]
fn counted_shop_counts_the_calls_through_its_custom_store_and_one_refusal() {
    let output = Command::new(env!("CARGO_BIN_EXE_counted_shop"))
        .output()
        .expect("the example runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("bought Space Trader (Steam key): AAAA-1111"),
        "{stdout}"
    );
    assert!(
        stdout.contains("buying five more: only 1 of product 1 left, 5 requested"),
        "{stdout}"
    );
    // The exact numbers of reads and writes belong to the services, not to this example.
    assert!(stdout.contains("one purchase: "), "{stdout}");
    assert!(stdout.contains(" writes, 1 refused"), "{stdout}");
}

/// Runs the `line_chat` front end with `script` as its input, to the end of the input.
fn line_chat(script: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_line_chat"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the example starts");
    // Closing stdin (dropping it) is the end of the session.
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let output: Output = child.wait_with_output().expect("the example ends");
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn line_chat_sells_a_key_through_the_flow_and_delivers_it_from_the_outbox() {
    let script = [
        "/start", "1", // Catalog
        "1", // Games
        "1", // Space Trader (Steam key)
        "1", // Buy now
        "1", // Confirm purchase
        "/wallet",
    ];

    let stdout = line_chat(&(script.join("\n") + "\n"));

    assert!(
        stdout.contains("> /start\nWelcome!\n\nWelcome to the shop."),
        "{stdout}"
    );
    assert!(stdout.contains("[1] Catalog   [2] Cart"), "{stdout}");
    assert!(
        stdout.contains("[1] Space Trader (Steam key) · 9.99 USD"),
        "{stdout}"
    );
    assert!(stdout.contains("[1] Confirm purchase"), "{stdout}");
    assert!(stdout.contains("» Paid. Thank you!"), "{stdout}");
    let (_, delivered) = stdout
        .split_once("✉ to user 42:\nYour order is ready.")
        .expect("the order's message comes from the outbox");
    assert!(
        delivered.contains("Space Trader (Steam key): AAAA-1111"),
        "{stdout}"
    );
    assert!(delivered.contains("Available: 5.01 USD"), "{stdout}");
}

#[test]
fn line_chat_answers_a_button_that_is_not_on_screen_and_typed_text_with_the_menu() {
    let stdout = line_chat("/start\n9\nhello\n");

    assert!(stdout.contains("> 9\n» There is no button 9."), "{stdout}");
    assert!(
        stdout.contains("> hello\nUse the buttons below.\n\nWelcome to the shop."),
        "{stdout}"
    );
}
