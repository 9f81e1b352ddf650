//! A whole purchase through shopbot-core, with no messenger and no disk: an owner stocks a
//! product, a customer gets wallet credit, buys, and receives the key. A double tap on
//! "confirm" buys once.
//!
//! Run: `cargo run -p shopbot-examples --bin embedded_shop`

use std::collections::BTreeSet;
use std::sync::Arc;

use shopbot_core::Result;
use shopbot_core::catalog::{ProductDraft, ProductKind};
use shopbot_core::ids::UserId;
use shopbot_core::money::{Currency, Money};
use shopbot_core::ports::SystemClock;
use shopbot_core::services::{PayWith, Shop, ShopConfig};
use shopbot_core::stock::OnDuplicate;
use shopbot_core::text::{
    CategoryName, Description, IdempotencyKey, Note, PersonName, ProductName, Quantity,
};
use shopbot_core::user::UserProfile;
use shopbot_storage_json::JsonStore;

const OWNER: UserId = UserId(1);
const CUSTOMER: UserId = UserId(42);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let config = ShopConfig {
        owners: BTreeSet::from([OWNER]),
        ..ShopConfig::default()
    };
    let shop = Shop::new(
        Arc::new(JsonStore::in_memory()),
        Arc::new(SystemClock),
        config,
    );
    for (id, name) in [(OWNER, "Olga (owner)"), (CUSTOMER, "Carl")] {
        let name = PersonName::lenient(name);
        shop.greet(UserProfile { id, name }).await?;
    }

    let admin = shop.admin();
    let games = admin
        .create_category(OWNER, CategoryName::parse("Games")?)
        .await?;
    let product = admin
        .create_product(
            OWNER,
            ProductDraft {
                category: Some(games.id),
                name: ProductName::parse("Space Trader (Steam key)")?,
                description: Description::parse("Trade across the galaxy.")?,
                kind: ProductKind::Key,
                price: Money::parse("9.99", Currency::USD)?,
                hidden: false,
                image: None,
            },
        )
        .await?;
    let report = admin
        .import_stock_text(
            OWNER,
            product.id,
            "AAAA-1111\nBBBB-2222\n",
            OnDuplicate::Refuse,
        )
        .await?;
    println!(
        "stocked {} keys of {:?}",
        report.added,
        product.name.as_str()
    );

    admin
        .adjust_wallet(
            OWNER,
            CUSTOMER,
            Money::parse("15.00", Currency::USD)?,
            Note::parse("welcome credit")?,
            IdempotencyKey::parse("welcome-42")?,
        )
        .await?;

    let cart = shop.cart().add(CUSTOMER, product.id, Quantity::ONE).await?;
    let confirm = IdempotencyKey::parse("confirm-tap-1")?;
    let first = shop
        .checkout()
        .buy_cart(CUSTOMER, cart.version, confirm.clone(), PayWith::Wallet)
        .await?;
    let second = shop
        .checkout()
        .buy_cart(CUSTOMER, cart.version, confirm, PayWith::Wallet)
        .await?;
    // The second tap made nothing: it returns the first tap's order, marked as a replay, so
    // a front end says "already paid" rather than "paid" again.
    let (first, second) = (first.order, second);
    println!(
        "order {} paid {}; a second tap returned order {} (replayed: {})",
        first.id, first.total, second.order.id, second.replayed
    );
    for (line, unit) in first.delivered_units() {
        println!("  {}: {}", line.name, unit.payload);
    }
    let balance = shop.wallet().balance(CUSTOMER).await?;
    println!("wallet: {} available", balance.available());
    Ok(())
}
