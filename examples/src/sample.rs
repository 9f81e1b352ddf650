//! A small stocked shop for the examples that are about something else (a store, a front
//! end): one product with two keys, and a customer with wallet credit to buy one.
//! `src/bin/embedded_shop.rs` shows the same steps one by one.

use std::collections::BTreeSet;
use std::sync::Arc;

use shopbot_core::Result;
use shopbot_core::catalog::{ProductDraft, ProductKind};
use shopbot_core::ids::{ProductId, UserId};
use shopbot_core::money::{Currency, Money};
use shopbot_core::ports::{Storage, SystemClock};
use shopbot_core::services::{Shop, ShopConfig};
use shopbot_core::stock::OnDuplicate;
use shopbot_core::text::{
    CategoryName, Description, IdempotencyKey, Note, PersonName, ProductName,
};
use shopbot_core::user::UserProfile;

/// The shop's owner, who stocks it.
pub const OWNER: UserId = UserId(1);

/// A customer with 15.00 USD in their wallet.
pub const CUSTOMER: UserId = UserId(42);

/// The customer's name.
pub const CUSTOMER_NAME: &str = "Carl";

/// The one product's name.
pub const PRODUCT: &str = "Space Trader (Steam key)";

/// A shop ready to sell.
pub struct SampleShop {
    /// The shop.
    pub shop: Shop,
    /// The id of [`PRODUCT`].
    pub product: ProductId,
}

/// Opens a shop on `storage` (which must be empty) and stocks it: a "Games" category with
/// [`PRODUCT`] at 9.99 USD and the keys `AAAA-1111` and `BBBB-2222`; [`CUSTOMER`] gets 15.00 USD
/// of wallet credit.
pub async fn stocked_shop(storage: Arc<dyn Storage>) -> Result<SampleShop> {
    let config = ShopConfig {
        owners: BTreeSet::from([OWNER]),
        ..ShopConfig::default()
    };
    let shop = Shop::new(storage, Arc::new(SystemClock), config);
    for (id, name) in [(OWNER, "Olga (owner)"), (CUSTOMER, CUSTOMER_NAME)] {
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
                name: ProductName::parse(PRODUCT)?,
                description: Description::parse("Trade across the galaxy.")?,
                kind: ProductKind::Key,
                price: Money::parse("9.99", Currency::USD)?,
                hidden: false,
                image: None,
            },
        )
        .await?;
    admin
        .import_stock_text(
            OWNER,
            product.id,
            "AAAA-1111\nBBBB-2222\n",
            OnDuplicate::Refuse,
        )
        .await?;
    admin
        .adjust_wallet(
            OWNER,
            CUSTOMER,
            Money::parse("15.00", Currency::USD)?,
            Note::parse("welcome credit")?,
            IdempotencyKey::parse("welcome-42")?,
        )
        .await?;
    Ok(SampleShop {
        shop,
        product: product.id,
    })
}
