//! The shop-wide limit on manual credits: [`CreditLimit`].
//!
//! A manual credit invents money, and one mistyped amount (`90000000000000000.00` for `900.00`)
//! invents a lot of it. Credits up to the limit go through at once; a larger one needs the
//! person giving it to confirm it ([`AdminService::adjust_wallet_confirmed`]).
//!
//! The limit is written in configuration before the shop's currency is known (`5000.00`), so
//! it is kept as exact decimal text in major units and becomes an amount only in a currency,
//! by the same parser as every other amount. It never passes through a float.
//!
//! [`AdminService::adjust_wallet_confirmed`]: crate::services::AdminService::adjust_wallet_confirmed

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::money::{Currency, Money, MoneyError};

/// The longest limit text accepted; anything longer cannot be an amount anyway.
const MAX_TEXT: usize = 40;

/// The largest manual credit given without a confirmation, in major units of the shop's
/// currency: `1000000` (one million dollars, euros or stars) unless configured otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditLimit(String);

/// Why text is not a credit limit.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CreditLimitError {
    /// The text was empty.
    #[error("a limit is required, such as 5000.00")]
    Empty,
    /// The text started with a minus.
    #[error("a limit cannot be negative")]
    Negative,
    /// The text is not a decimal number.
    #[error("`{0}` is not an amount: use digits with an optional decimal point, such as 5000.00")]
    Malformed(String),
}

impl CreditLimit {
    /// Parses decimal text such as `5000.00`, `5000` or `0,50`: digits with at most one `.` or
    /// `,` followed by digits. Signs, exponents, grouping and currency codes are refused.
    pub fn parse(text: &str) -> Result<CreditLimit, CreditLimitError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(CreditLimitError::Empty);
        }
        if text.starts_with('-') {
            return Err(CreditLimitError::Negative);
        }
        let malformed = || CreditLimitError::Malformed(text.chars().take(MAX_TEXT).collect());
        if text.len() > MAX_TEXT {
            return Err(malformed());
        }
        let (whole, fraction) = match text.split_once(['.', ',']) {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (text, None),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || !fraction.is_none_or(digits) {
            return Err(malformed());
        }
        Ok(CreditLimit(match fraction {
            Some(fraction) => format!("{whole}.{fraction}"),
            None => whole.to_owned(),
        }))
    }

    /// The limit as an amount in `currency`. Refused when it has more decimals than the
    /// currency (`5000.005` in USD) or does not fit in an amount.
    pub fn in_currency(&self, currency: Currency) -> Result<Money, MoneyError> {
        Money::parse(&self.0, currency)
    }
}

impl Default for CreditLimit {
    fn default() -> Self {
        CreditLimit("1000000".to_owned())
    }
}

impl FromStr for CreditLimit {
    type Err = CreditLimitError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        CreditLimit::parse(text)
    }
}

impl fmt::Display for CreditLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn limit(text: &str) -> CreditLimit {
        CreditLimit::parse(text).unwrap()
    }

    #[test]
    fn the_default_is_a_million_in_the_currencys_major_units() {
        let default = CreditLimit::default();
        assert_eq!(
            default.in_currency(Currency::USD),
            Ok(Money::new(100_000_000, Currency::USD))
        );
        assert_eq!(
            default.in_currency(Currency::XTR),
            Ok(Money::new(1_000_000, Currency::XTR))
        );
    }

    #[test]
    fn a_limit_becomes_an_exact_amount_in_the_shops_currency() {
        assert_eq!(
            limit("5000.00").in_currency(Currency::USD),
            Ok(Money::new(500_000, Currency::USD))
        );
        assert_eq!(
            limit(" 0,5 ").in_currency(Currency::EUR),
            Ok(Money::new(50, Currency::EUR))
        );
        assert_eq!(limit("0,5").to_string(), "0.5");
        assert!(matches!(
            limit("5000.005").in_currency(Currency::USD),
            Err(MoneyError::TooManyDecimals { .. })
        ));
        assert!(matches!(
            limit("1.5").in_currency(Currency::XTR),
            Err(MoneyError::TooManyDecimals { .. })
        ));
        assert_eq!(
            limit("92233720368547758.08").in_currency(Currency::USD),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn anything_but_plain_decimal_text_is_refused() {
        assert_eq!(CreditLimit::parse(" "), Err(CreditLimitError::Empty));
        assert_eq!(CreditLimit::parse("-5"), Err(CreditLimitError::Negative));
        for bad in [
            "1e6", "+5", "5.", ".5", "1.2.3", "1 000", "1_000", "0x10", "5000 USD", "5,000.00",
            "١٢", "NaN", "inf",
        ] {
            assert!(
                matches!(CreditLimit::parse(bad), Err(CreditLimitError::Malformed(_))),
                "{bad:?} should be refused"
            );
        }
        assert!(CreditLimit::parse(&"9".repeat(MAX_TEXT + 1)).is_err());
    }

    proptest! {
        #[test]
        fn any_text_parses_or_errors_without_panicking(text in any::<String>()) {
            if let Ok(limit) = CreditLimit::parse(&text) {
                // What parses is an amount wherever its decimals fit.
                let parsed = limit.in_currency(Currency::parse("KWD").unwrap());
                prop_assert!(!matches!(parsed, Err(MoneyError::Malformed(_) | MoneyError::Empty)));
            }
        }

        #[test]
        fn every_amount_written_as_text_is_that_limit(minor in 0i64..) {
            let money = Money::new(minor, Currency::USD);
            prop_assert_eq!(limit(&money.amount_text()).in_currency(Currency::USD), Ok(money));
        }
    }
}
