//! The shop's currency: none until one is adopted, then that one for good, whoever asks and
//! however many ask at once; a process configured with another is refused.

use std::sync::Arc;

use tokio::sync::Barrier;
use tokio::task::JoinSet;

use super::{Snapshot, TestShop};
use crate::error::Error;
use crate::money::Currency;
use crate::ports::Storage;
use crate::services::{DEFAULT_CURRENCY, settle_currency};

/// A new store records no currency; the first adoption records its currency and returns it;
/// a later adoption of another currency returns the recorded one and changes nothing, and
/// neither does adopting the recorded one again.
pub async fn a_currency_is_recorded_by_the_first_adoption_and_never_changes(
    store: Arc<dyn Storage>,
) {
    assert_eq!(store.shop_currency().await.unwrap(), None);
    assert_eq!(
        store.adopt_currency(Currency::EUR).await.unwrap(),
        Currency::EUR
    );
    assert_eq!(store.shop_currency().await.unwrap(), Some(Currency::EUR));

    let t = TestShop::new(store).await;
    let before = Snapshot::take(t.store.as_ref()).await;
    for asked in [Currency::USD, Currency::XTR, Currency::EUR] {
        assert_eq!(
            t.store.adopt_currency(asked).await.unwrap(),
            Currency::EUR,
            "adopting {asked} after EUR"
        );
    }
    assert_eq!(t.store.shop_currency().await.unwrap(), Some(Currency::EUR));
    assert_eq!(Snapshot::take(t.store.as_ref()).await, before);
}

/// Twenty callers adopting five different currencies at once: exactly one currency is
/// recorded, it is one of those asked for, and every caller is told that one.
pub async fn concurrent_adoptions_of_different_currencies_record_exactly_one(
    store: Arc<dyn Storage>,
) {
    let asked = [
        Currency::USD,
        Currency::EUR,
        Currency::RUB,
        Currency::XTR,
        Currency::parse("JPY").unwrap(),
    ];
    let barrier = Arc::new(Barrier::new(20));
    let mut tasks = JoinSet::new();
    for i in 0..20 {
        let (store, barrier) = (store.clone(), barrier.clone());
        let currency = asked[i % asked.len()];
        tasks.spawn(async move {
            barrier.wait().await;
            store.adopt_currency(currency).await
        });
    }
    let mut answers = Vec::new();
    while let Some(done) = tasks.join_next().await {
        answers.push(done.unwrap().unwrap());
    }
    let recorded = store.shop_currency().await.unwrap().unwrap();
    assert!(asked.contains(&recorded), "{recorded} was never asked for");
    assert!(
        answers.iter().all(|a| *a == recorded),
        "every caller is told the recorded {recorded}: {answers:?}"
    );
}

/// Settling a store with no currency adopts the configured one (or the default when none is
/// configured); afterwards a process configured with another currency is refused with a
/// conflict naming both, and the recorded currency stays.
pub async fn settling_adopts_a_currency_once_and_refuses_another_configured_one(
    store: Arc<dyn Storage>,
) {
    assert_eq!(
        settle_currency(store.as_ref(), None).await.unwrap(),
        DEFAULT_CURRENCY
    );
    assert_eq!(
        settle_currency(store.as_ref(), Some(DEFAULT_CURRENCY))
            .await
            .unwrap(),
        DEFAULT_CURRENCY
    );
    match settle_currency(store.as_ref(), Some(Currency::EUR)).await {
        Err(Error::Conflict(message)) => {
            assert!(message.contains("USD"), "{message}");
            assert!(message.contains("EUR"), "{message}");
        }
        other => panic!("expected a conflict naming USD and EUR, got {other:?}"),
    }
    assert_eq!(store.shop_currency().await.unwrap(), Some(DEFAULT_CURRENCY));
}
