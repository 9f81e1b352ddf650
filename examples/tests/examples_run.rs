//! Every example runs to the end and shows what it promises.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // Tests fail by panicking.

use std::process::Command;

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
