//! A database whose shop records no currency yet (migrated, with customers, but never settled
//! by `shopbot init` or a first open) opens with none recorded, adopts one at its first settling
//! and keeps it, whatever is configured later.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail by panicking.

use shopbot_core::Error;
use shopbot_core::money::Currency;
use shopbot_core::ports::Storage;
use shopbot_core::services::settle_currency;
use shopbot_storage_pg::testing::TestDatabase;
use shopbot_storage_pg::{MIGRATOR, PgStore};

#[tokio::test]
async fn a_database_from_before_shop_currencies_adopts_one_at_first_open_and_keeps_it() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let pool = sqlx::PgPool::connect(db.url()).await.unwrap();
    MIGRATOR.run(&pool).await.unwrap();
    sqlx::query(
        "INSERT INTO users (id, name, role, banned, created_at) \
         VALUES (1001, 'Old customer', 'customer', FALSE, now())",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let store = PgStore::connect(db.url()).await.unwrap();
    assert_eq!(store.shop_currency().await.unwrap(), None);
    assert_eq!(
        settle_currency(&store, Some(Currency::RUB)).await.unwrap(),
        Currency::RUB
    );
    store.close().await;

    let store = PgStore::connect(db.url()).await.unwrap();
    assert_eq!(store.shop_currency().await.unwrap(), Some(Currency::RUB));
    assert_eq!(settle_currency(&store, None).await.unwrap(), Currency::RUB);
    let refused = settle_currency(&store, Some(Currency::USD)).await;
    assert!(matches!(refused, Err(Error::Conflict(_))), "{refused:?}");
    assert_eq!(store.shop_currency().await.unwrap(), Some(Currency::RUB));
}
