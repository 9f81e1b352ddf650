//! The shop's currency, settled against the currency a process is configured with.
//!
//! The currency belongs to the shop, not to a process: it is recorded in the store when the
//! shop is created, and every process that opens the store sells in it. This module owns the
//! rule that joins the two ([`settle_currency`]) and the refusal when they disagree
//! ([`CurrencyMismatch`]). It never changes a recorded currency.

use thiserror::Error;

use crate::error::{Error, Result};
use crate::money::Currency;
use crate::ports::Storage;

/// The currency a shop adopts when it records none and nothing else is configured: what every
/// shop sold in before shops recorded their currency.
pub const DEFAULT_CURRENCY: Currency = Currency::USD;

/// A process configured with another currency than the shop's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error(
    "this shop sells in {shop}, but {configured} is configured: configure {shop}, or no \
     currency at all"
)]
pub struct CurrencyMismatch {
    /// The currency the shop recorded.
    pub shop: Currency,
    /// The currency the process was configured with.
    pub configured: Currency,
}

impl From<CurrencyMismatch> for Error {
    fn from(mismatch: CurrencyMismatch) -> Error {
        Error::Conflict(mismatch.to_string())
    }
}

/// The currency a process configured with `configured` (or with none) sells in: the shop's.
///
/// A shop that records none yet (made before shops recorded their currency) adopts
/// `configured`, or [`DEFAULT_CURRENCY`], once, with [`Storage::adopt_currency`]; afterwards
/// it keeps it. A process configured with a currency other than the shop's is refused with
/// [`Error::Conflict`] naming both ([`CurrencyMismatch`]), and nothing is changed.
///
/// Reads first, so that opening a shop that has its currency writes nothing.
pub async fn settle_currency(
    storage: &dyn Storage,
    configured: Option<Currency>,
) -> Result<Currency> {
    let shop = match storage.shop_currency().await? {
        Some(recorded) => recorded,
        None => {
            storage
                .adopt_currency(configured.unwrap_or(DEFAULT_CURRENCY))
                .await?
        }
    };
    match configured {
        Some(configured) if configured != shop => Err(CurrencyMismatch { shop, configured }.into()),
        _ => Ok(shop),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::MockStorage;

    fn recording(recorded: Option<Currency>) -> MockStorage {
        let mut storage = MockStorage::new();
        storage
            .expect_shop_currency()
            .returning(move || Ok(recorded));
        storage
    }

    #[tokio::test]
    async fn a_shop_with_a_currency_is_only_read() {
        let storage = recording(Some(Currency::EUR));
        let settled = settle_currency(&storage, None).await;
        assert_eq!(settled.ok(), Some(Currency::EUR));
        let settled = settle_currency(&storage, Some(Currency::EUR)).await;
        assert_eq!(settled.ok(), Some(Currency::EUR));
    }

    #[tokio::test]
    async fn a_shop_without_a_currency_adopts_the_configured_one_or_the_default() {
        for (configured, adopted) in [
            (Some(Currency::RUB), Currency::RUB),
            (None, DEFAULT_CURRENCY),
        ] {
            let mut storage = recording(None);
            storage
                .expect_adopt_currency()
                .withf(move |c| *c == adopted)
                .times(1)
                .returning(Ok);
            let settled = settle_currency(&storage, configured).await;
            assert_eq!(settled.ok(), Some(adopted));
        }
    }

    #[tokio::test]
    async fn another_configured_currency_is_a_conflict_naming_both() {
        let storage = recording(Some(Currency::USD));
        let refused = settle_currency(&storage, Some(Currency::EUR)).await;
        match refused {
            Err(Error::Conflict(message)) => {
                assert!(message.contains("sells in USD"), "{message}");
                assert!(message.contains("EUR is configured"), "{message}");
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn losing_the_race_to_adopt_is_a_conflict_too() {
        let mut storage = recording(None);
        storage
            .expect_adopt_currency()
            .returning(|_| Ok(Currency::USD));
        let refused = settle_currency(&storage, Some(Currency::EUR)).await;
        assert!(matches!(refused, Err(Error::Conflict(_))), "{refused:?}");
    }
}
