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
