//! A process that works a store until it is killed.
//!
//! `store_worker DIR open` opens the store and exits: 0 if it opened, 3 with the error on
//! stderr if not. `store_worker DIR work ROUND` imports keys and runs eight concurrent buyers
//! (deposit, add to cart, check out) forever, printing each acknowledged commit.

use std::process::ExitCode;
use std::sync::Arc;

use shopbot_core::catalog::{ProductDraft, ProductKind};
use shopbot_core::ids::ProductId;
use shopbot_core::money::{Currency, Money};
use shopbot_core::ports::SystemClock;
use shopbot_core::services::{PayWith, Shop, ShopConfig};
use shopbot_core::stock::OnDuplicate;
use shopbot_core::text::{Description, IdempotencyKey, PersonName, ProductName, Quantity};
use shopbot_core::user::UserProfile;
use shopbot_core::{Error, Result};
use shopbot_crash_tests::{OWNER, buyers, owners};
use shopbot_storage_json::JsonStore;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(mode)) = (args.first(), args.get(1)) else {
        eprintln!("usage: store_worker DIR (open | work ROUND)");
        return ExitCode::from(2);
    };
    let store = match JsonStore::open(dir) {
        Ok(store) => Arc::new(store),
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(3);
        }
    };
    if mode == "open" {
        println!("opened");
        return ExitCode::SUCCESS;
    }
    let round: u32 = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(0);
    let runtime = match tokio::runtime::Builder::new_multi_thread().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(work(store, round)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e:?}");
            ExitCode::FAILURE
        }
    }
}

async fn work(store: Arc<JsonStore>, round: u32) -> Result<()> {
    let config = ShopConfig {
        owners: owners(),
        ..ShopConfig::default()
    };
    let shop = Shop::new(store, Arc::new(SystemClock), config);
    for id in std::iter::once(OWNER).chain(buyers()) {
        let name = PersonName::lenient("worker");
        shop.greet(UserProfile { id, name }).await?;
    }
    let product = product(&shop).await?;
    let keys: String = (0..60).map(|i| format!("R{round}-K{i}\n")).collect();
    shop.admin()
        .import_stock_text(OWNER, product, &keys, OnDuplicate::Refuse)
        .await?;
    let mut tasks = tokio::task::JoinSet::new();
    for (task, user) in buyers().enumerate() {
        let shop = shop.clone();
        tasks.spawn(async move {
            for i in 0u32.. {
                let key = IdempotencyKey::parse(&format!("dep-{round}-{task}-{i}"))?;
                let amount = Money::new(1000, Currency::USD);
                let entry = shop.wallet().deposit(user, amount, key, None).await?;
                println!(
                    "ACK entry {}",
                    serde_json::to_string(&entry).map_err(Error::internal)?
                );
                let cart = shop.cart().add(user, product, Quantity::ONE).await?;
                let tap = IdempotencyKey::parse(&format!("tap-{round}-{task}-{i}"))?;
                let checkout = shop.checkout();
                match checkout
                    .buy_cart(user, cart.version, tap, PayWith::Wallet)
                    .await
                {
                    Ok(bought) => {
                        let json = serde_json::to_string(&bought.order).map_err(Error::internal)?;
                        println!("ACK order {json}");
                    }
                    Err(Error::OutOfStock { .. }) => {
                        shop.cart().clear(user).await?;
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(Error::internal)??;
    }
    Ok(())
}

/// The product every round sells, created by the first round.
async fn product(shop: &Shop) -> Result<ProductId> {
    if let Some(existing) = shop.admin().products(OWNER).await?.first() {
        return Ok(existing.id);
    }
    let draft = ProductDraft {
        category: None,
        name: ProductName::parse("Crash-test key")?,
        description: Description::parse("")?,
        kind: ProductKind::Key,
        price: Money::new(700, Currency::USD),
        hidden: false,
        image: None,
    };
    Ok(shop.admin().create_product(OWNER, draft).await?.id)
}
