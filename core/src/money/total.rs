//! Sums of many amounts: [`Total`], exact where one [`Money`] would run out of bits.
//!
//! One amount fits in 64 bits, but the sum of a whole ledger, or of every wallet in a shop,
//! need not: two wallets near the largest balance already add up past it. A report that
//! clamped such a sum at the 64-bit limit would call two different ledgers equal. A total
//! counts minor units in 128 bits instead, which no sum of fewer than 2^64 amounts can leave;
//! adding still checks, so even that bound is an error rather than a wrong number.

use std::fmt;

use super::{Currency, Money, MoneyError};

/// An exact sum of amounts in one currency: a signed 128-bit count of minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Total {
    /// Minor units (cents, or whole stars for `XTR`).
    pub minor: i128,
    /// The currency.
    pub currency: Currency,
}

impl Total {
    /// A total of `minor` minor units.
    pub const fn new(minor: i128, currency: Currency) -> Self {
        Total { minor, currency }
    }

    /// Nothing yet, in `currency`.
    pub const fn zero(currency: Currency) -> Self {
        Total { minor: 0, currency }
    }

    /// The sum of `amounts`, all in `currency`.
    pub fn of<I>(currency: Currency, amounts: I) -> Result<Total, MoneyError>
    where
        I: IntoIterator<Item = Money>,
    {
        amounts
            .into_iter()
            .try_fold(Total::zero(currency), Total::checked_add)
    }

    /// `self + amount`, refusing another currency and (beyond 2^127) overflow.
    pub fn checked_add(self, amount: Money) -> Result<Total, MoneyError> {
        if amount.currency != self.currency {
            return Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: amount.currency,
            });
        }
        let minor = self
            .minor
            .checked_add(i128::from(amount.minor))
            .ok_or(MoneyError::Overflow)?;
        Ok(Total { minor, ..self })
    }

    /// The total as one amount, if it fits in one.
    pub fn to_money(self) -> Result<Money, MoneyError> {
        let minor = i64::try_from(self.minor).map_err(|_| MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    /// The total as decimal text without the currency, e.g. `184467440737095516.14`.
    pub fn amount_text(&self) -> String {
        let exponent = u32::from(self.currency.exponent());
        let sign = if self.minor < 0 { "-" } else { "" };
        let magnitude = self.minor.unsigned_abs();
        if exponent == 0 {
            return format!("{sign}{magnitude}");
        }
        let scale = 10u128.pow(exponent);
        format!(
            "{sign}{}.{:0width$}",
            magnitude / scale,
            magnitude % scale,
            width = exponent as usize
        )
    }
}

impl From<Money> for Total {
    fn from(money: Money) -> Total {
        Total::new(i128::from(money.minor), money.currency)
    }
}

impl fmt::Display for Total {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount_text(), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::USD)
    }

    #[test]
    fn amounts_past_the_largest_balance_add_up_exactly() {
        let total = Total::of(Currency::USD, [usd(i64::MAX), usd(i64::MAX), usd(2)]).unwrap();
        assert_eq!(total.minor, 2 * i128::from(i64::MAX) + 2);
        assert_eq!(total.to_string(), "184467440737095516.16 USD");
        assert_eq!(total.to_money(), Err(MoneyError::Overflow));
    }

    #[test]
    fn a_total_that_fits_is_one_amount_again() {
        let total = Total::of(Currency::USD, [usd(i64::MAX), usd(-1)]).unwrap();
        assert_eq!(total.to_money(), Ok(usd(i64::MAX - 1)));
        assert_eq!(Total::from(usd(-5)).to_string(), "-0.05 USD");
        assert_eq!(Total::new(7, Currency::XTR).to_string(), "7 XTR");
    }

    #[test]
    fn another_currency_and_the_128_bit_limit_are_errors() {
        let mixed = Total::zero(Currency::USD).checked_add(Money::new(1, Currency::EUR));
        assert!(matches!(mixed, Err(MoneyError::CurrencyMismatch { .. })));
        let full = Total::new(i128::MAX, Currency::USD).checked_add(usd(1));
        assert_eq!(full, Err(MoneyError::Overflow));
        assert_eq!(
            Total::new(i128::MIN, Currency::USD).amount_text(),
            "-1701411834604692317316873037158841057.28"
        );
    }

    proptest! {
        #[test]
        fn a_total_shows_what_its_amounts_show(minor in any::<i64>()) {
            let money = usd(minor);
            prop_assert_eq!(Total::from(money).to_string(), money.to_string());
        }

        #[test]
        fn a_total_is_the_exact_sum(amounts in proptest::collection::vec(any::<i64>(), 0..50)) {
            let exact: i128 = amounts.iter().map(|&m| i128::from(m)).sum();
            let total = Total::of(Currency::USD, amounts.into_iter().map(usd)).unwrap();
            prop_assert_eq!(total.minor, exact);
        }
    }
}
