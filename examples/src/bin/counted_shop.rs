//! A shop on a custom `Storage`: the [`CountingStore`] wrapper around the in-memory JSON
//! store. The services never know: they take any `Arc<dyn Storage>`. The wrapper counts
//! every call, so the program can say what a purchase costs the store, and sees the store
//! refuse a purchase larger than the stock.
//!
//! Run: `cargo run -p shopbot-examples --bin counted_shop`

use std::sync::Arc;

use shopbot_core::Result;
use shopbot_core::services::PayWith;
use shopbot_core::text::{IdempotencyKey, Quantity};
use shopbot_examples::CountingStore;
use shopbot_examples::sample::{CUSTOMER, stocked_shop};
use shopbot_storage_json::JsonStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    // Keep a handle on the wrapper to read its counts; the shop gets it as `dyn Storage`.
    let store = Arc::new(CountingStore::new(Arc::new(JsonStore::in_memory())));
    let sample = stocked_shop(store.clone()).await?;
    let (shop, product) = (sample.shop, sample.product);
    let setup = store.counts();
    println!(
        "setting the shop up: {} reads, {} writes",
        setup.reads, setup.writes
    );

    let bought = shop
        .checkout()
        .buy_now(
            CUSTOMER,
            product,
            Quantity::ONE,
            IdempotencyKey::parse("buy-1")?,
            PayWith::Wallet,
        )
        .await?;
    for (line, unit) in bought.order.delivered_units() {
        println!("bought {}: {}", line.name, unit.payload);
    }
    let after_purchase = store.counts();
    println!(
        "one purchase: {} reads, {} writes",
        after_purchase.reads - setup.reads,
        after_purchase.writes - setup.writes
    );

    // One key is left; asking for five is refused by the store itself, atomically.
    let five = Quantity::new(5)?;
    let refused = shop
        .checkout()
        .buy_now(
            CUSTOMER,
            product,
            five,
            IdempotencyKey::parse("buy-2")?,
            PayWith::Wallet,
        )
        .await;
    if let Err(error) = refused {
        println!("buying five more: {error}");
    }

    let total = store.counts();
    println!(
        "storage calls in all: {} reads, {} writes, {} refused",
        total.reads, total.writes, total.refused
    );
    Ok(())
}
