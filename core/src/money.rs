//! Money: integer minor units with a currency, parsed exactly from text.
//!
//! Owns [`Money`] and [`Currency`]. It must never touch a float: every amount is an `i64` count
//! of the currency's minor unit (cents for USD, whole stars for Telegram Stars `XTR`), and every
//! arithmetic step is checked. Sums that may leave 64 bits (whole ledgers, every wallet of a
//! shop) are a [`Total`] instead.

mod total;

pub use total::Total;

mod iso4217;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why text or arithmetic did not produce an amount.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MoneyError {
    /// The text was empty.
    #[error("an amount is required, for example 10.99")]
    Empty,
    /// The text is not a decimal number.
    #[error("`{0}` is not an amount: use digits with an optional decimal point, for example 10.99")]
    Malformed(String),
    /// The text has more decimals than the currency has.
    #[error("{currency} allows at most {max} decimal places")]
    TooManyDecimals {
        /// The currency of the amount.
        currency: Currency,
        /// How many decimals the currency has.
        max: u8,
    },
    /// The amount does not fit in 64 bits of minor units.
    #[error("the amount is too large")]
    Overflow,
    /// Two amounts in different currencies met in one sum.
    #[error("cannot combine {left} with {right}")]
    CurrencyMismatch {
        /// The currency on the left.
        left: Currency,
        /// The currency on the right.
        right: Currency,
    },
    /// A currency code that is not three ASCII letters.
    #[error(
        "`{0}` is not a currency code: use an ISO 4217 code such as USD, EUR or RUB, or XTR \
         for Telegram Stars"
    )]
    BadCurrency(String),
    /// Three letters that are not an ISO 4217 currency code (nor `XTR`).
    #[error(
        "`{0}` is not an ISO 4217 currency code: use one such as USD, EUR or RUB, or XTR for \
         Telegram Stars"
    )]
    UnknownCurrency(Currency),
}

/// A currency a shop can sell in: an ISO 4217 code, or `XTR` for Telegram Stars.
///
/// [`Currency::parse`] accepts the codes of ISO 4217 list one that name money with a minor unit
/// (codes still in their withdrawal period included; precious metals, testing and "no currency"
/// codes excluded) and `XTR`, so a typo such as `XYZ` never becomes a shop's currency. Codes
/// read back from a store go through [`Currency::recorded`] instead, which accepts any three
/// letters: see there why.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "String")]
pub struct Currency([u8; 3]);

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A visitor rather than `try_from = "String"`: every amount in a store carries a
        // currency, and this reads one without allocating.
        struct Code;
        impl serde::de::Visitor<'_> for Code {
            type Value = Currency;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a three-letter currency code")
            }
            fn visit_str<E: serde::de::Error>(self, code: &str) -> Result<Currency, E> {
                Currency::recorded(code).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Code)
    }
}

impl Currency {
    /// United States dollar.
    pub const USD: Currency = Currency(*b"USD");
    /// Euro.
    pub const EUR: Currency = Currency(*b"EUR");
    /// Russian ruble.
    pub const RUB: Currency = Currency(*b"RUB");
    /// Telegram Stars: whole stars, no minor unit.
    pub const XTR: Currency = Currency(*b"XTR");

    /// Parses a currency code, case-insensitively: an ISO 4217 code such as `USD`, or `XTR`.
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        let currency = Currency::letters(code)?;
        match currency.known_exponent() {
            Some(_) => Ok(currency),
            None => Err(MoneyError::UnknownCurrency(currency)),
        }
    }

    /// A code read back from a store: any three ASCII letters, case-insensitively.
    ///
    /// Stores written before codes were checked against ISO 4217 may hold amounts in a code
    /// outside the list (`XYZ` was accepted then). Refusing to read them would lock the
    /// operator out of the whole store, so stored data keeps its code, with two decimal places
    /// when it is not a known one; anything new comes through [`parse`](Self::parse).
    pub fn recorded(code: &str) -> Result<Self, MoneyError> {
        Currency::letters(code)
    }

    fn letters(code: &str) -> Result<Self, MoneyError> {
        let code = code.trim();
        match <[u8; 3]>::try_from(code.as_bytes()) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_alphabetic) => {
                Ok(Currency(bytes.map(|b| b.to_ascii_uppercase())))
            }
            _ => Err(MoneyError::BadCurrency(code.chars().take(16).collect())),
        }
    }

    /// The three-letter code.
    pub fn code(&self) -> &str {
        // The bytes are ASCII letters by construction.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    /// Whether this is a code [`parse`](Self::parse) accepts (not only one a store recorded).
    pub fn is_known(&self) -> bool {
        self.known_exponent().is_some()
    }

    /// How many decimal places the minor unit has (two for a recorded code that is not known).
    pub fn exponent(&self) -> u8 {
        self.known_exponent().unwrap_or(2)
    }

    fn known_exponent(&self) -> Option<u8> {
        iso4217::exponent(&self.0)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::parse(s)
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Currency::parse(&s)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.code().to_owned()
    }
}

/// An amount of money: a signed count of minor units in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Minor units (cents, or whole stars for `XTR`).
    pub minor: i64,
    /// The currency.
    pub currency: Currency,
}

/// The longest amount text accepted; anything longer cannot fit in 64 bits anyway.
const MAX_AMOUNT_TEXT: usize = 40;

impl Money {
    /// An amount from minor units.
    pub const fn new(minor: i64, currency: Currency) -> Self {
        Money { minor, currency }
    }

    /// Zero in `currency`.
    pub const fn zero(currency: Currency) -> Self {
        Money { minor: 0, currency }
    }

    /// Parses decimal text such as `10.99`, `-3`, `0,50` exactly into `currency`.
    ///
    /// Accepts an optional leading `-`, digits, and one `.` or `,` followed by at most the
    /// currency's number of decimals. Rejects exponents, signs other than a leading minus,
    /// grouping separators and anything that would not fit in 64 bits.
    pub fn parse(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(MoneyError::Empty);
        }
        let malformed = || MoneyError::Malformed(text.chars().take(MAX_AMOUNT_TEXT).collect());
        if text.len() > MAX_AMOUNT_TEXT {
            return Err(malformed());
        }
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = match digits.split_once(['.', ',']) {
            Some((whole, fraction)) => (whole, fraction),
            None => (digits, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
            return Err(malformed());
        }
        if digits.ends_with(['.', ',']) {
            return Err(malformed());
        }
        let exponent = currency.exponent();
        if fraction.len() > usize::from(exponent) {
            return Err(MoneyError::TooManyDecimals {
                currency,
                max: exponent,
            });
        }
        let mut magnitude: i128 = 0;
        let padded = fraction.bytes().chain(std::iter::repeat(b'0'));
        let fraction_digits = padded.take(usize::from(exponent));
        for b in whole.bytes().chain(fraction_digits) {
            magnitude = magnitude
                .checked_mul(10)
                .and_then(|m| m.checked_add(i128::from(b - b'0')))
                .ok_or(MoneyError::Overflow)?;
        }
        let signed = if negative { -magnitude } else { magnitude };
        let minor = i64::try_from(signed).map_err(|_| MoneyError::Overflow)?;
        Ok(Money { minor, currency })
    }

    /// True when the amount is above zero.
    pub fn is_positive(&self) -> bool {
        self.minor > 0
    }

    /// True when the amount is below zero.
    pub fn is_negative(&self) -> bool {
        self.minor < 0
    }

    /// `self + other`, refusing mixed currencies and overflow.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, ..self })
    }

    /// `self - other`, refusing mixed currencies and overflow.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self
            .minor
            .checked_sub(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, ..self })
    }

    /// `self × quantity`, refusing overflow.
    pub fn checked_mul(self, quantity: i64) -> Result<Money, MoneyError> {
        let minor = self
            .minor
            .checked_mul(quantity)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, ..self })
    }

    /// The negated amount, refusing overflow.
    pub fn checked_neg(self) -> Result<Money, MoneyError> {
        let minor = self.minor.checked_neg().ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, ..self })
    }

    /// The amount as decimal text without the currency, e.g. `10.99` or `-0.05`.
    pub fn amount_text(&self) -> String {
        Total::from(*self).amount_text()
    }

    fn same_currency(&self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount_text(), self.currency)
    }
}

/// Sums amounts of one currency, starting from zero in `currency`.
pub fn sum<I>(currency: Currency, amounts: I) -> Result<Money, MoneyError>
where
    I: IntoIterator<Item = Money>,
{
    amounts
        .into_iter()
        .try_fold(Money::zero(currency), Money::checked_add)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usd(text: &str) -> Result<Money, MoneyError> {
        Money::parse(text, Currency::USD)
    }

    #[test]
    fn decimal_text_parses_exactly() {
        assert_eq!(usd("10.99"), Ok(Money::new(1099, Currency::USD)));
        assert_eq!(usd("10.9"), Ok(Money::new(1090, Currency::USD)));
        assert_eq!(usd("10"), Ok(Money::new(1000, Currency::USD)));
        assert_eq!(usd("0,05"), Ok(Money::new(5, Currency::USD)));
        assert_eq!(usd(" -3.50 "), Ok(Money::new(-350, Currency::USD)));
        assert_eq!(
            Money::parse("150", Currency::XTR),
            Ok(Money::new(150, Currency::XTR))
        );
    }

    #[test]
    fn more_decimals_than_the_currency_has_are_refused() {
        assert!(matches!(
            usd("1.999"),
            Err(MoneyError::TooManyDecimals { max: 2, .. })
        ));
        assert!(matches!(
            Money::parse("1.5", Currency::XTR),
            Err(MoneyError::TooManyDecimals { max: 0, .. })
        ));
    }

    #[test]
    fn malformed_text_is_refused() {
        for bad in [
            "", " ", "abc", "1e3", "+1", "1.2.3", "1,000.00", ".5", "5.", "--1", "1 000", "0x10",
            "١٢",
        ] {
            assert!(usd(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn amounts_beyond_64_bits_overflow() {
        assert_eq!(
            usd("92233720368547758.07"),
            Ok(Money::new(i64::MAX, Currency::USD))
        );
        assert_eq!(usd("92233720368547758.08"), Err(MoneyError::Overflow));
        assert_eq!(
            Money::new(i64::MAX, Currency::USD).checked_add(Money::new(1, Currency::USD)),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn mixed_currencies_do_not_add() {
        let sum = Money::new(1, Currency::USD).checked_add(Money::new(1, Currency::EUR));
        assert!(matches!(sum, Err(MoneyError::CurrencyMismatch { .. })));
    }

    #[test]
    fn display_shows_every_minor_digit() {
        assert_eq!(Money::new(1099, Currency::USD).to_string(), "10.99 USD");
        assert_eq!(Money::new(-5, Currency::EUR).to_string(), "-0.05 EUR");
        assert_eq!(Money::new(7, Currency::XTR).to_string(), "7 XTR");
        assert_eq!(
            Money::new(1234, Currency::parse("kwd").unwrap_or(Currency::USD)).to_string(),
            "1.234 KWD"
        );
        assert_eq!(
            Money::new(i64::MIN, Currency::USD).amount_text(),
            "-92233720368547758.08"
        );
    }

    #[test]
    fn currency_codes_are_iso_4217_or_telegram_stars() {
        assert_eq!(Currency::parse("usd"), Ok(Currency::USD));
        assert_eq!(Currency::parse(" xtr "), Ok(Currency::XTR));
        assert_eq!(Currency::parse("JPY").map(|c| c.exponent()), Ok(0));
        assert!(matches!(
            Currency::parse("XYZ"),
            Err(MoneyError::UnknownCurrency(_))
        ));
        assert!(
            Currency::parse("XAU").is_err(),
            "gold is not a shop currency"
        );
        assert!(Currency::parse("US").is_err());
        assert!(Currency::parse("US1").is_err());
        assert!(Currency::parse("ÜSD").is_err());
    }

    #[test]
    fn a_recorded_code_outside_the_list_still_reads_back_with_two_decimals() {
        let old = Currency::recorded("xyz").unwrap_or(Currency::USD);
        assert_eq!(old.code(), "XYZ");
        assert!(!old.is_known());
        assert_eq!(old.exponent(), 2);
        let read: Money = serde_json::from_str(r#"{"minor":5,"currency":"XYZ"}"#)
            .unwrap_or(Money::zero(Currency::USD));
        assert_eq!(read.currency, old);
        assert!(Currency::recorded("X1Z").is_err());
    }

    proptest! {
        #[test]
        fn any_text_parses_or_errors_without_panicking(text in any::<String>()) {
            let _ = usd(&text);
            let _ = Currency::parse(&text);
            let _ = Currency::recorded(&text);
        }

        #[test]
        fn three_letters_parse_exactly_when_they_are_a_known_code(code in "[A-Za-z]{3}") {
            let upper = code.to_ascii_uppercase();
            let known = iso4217::KNOWN.iter().any(|(k, _)| k == upper.as_bytes());
            match Currency::parse(&code) {
                Ok(currency) => {
                    prop_assert!(known);
                    prop_assert_eq!(currency.code(), upper.as_str());
                    prop_assert!(currency.is_known());
                }
                Err(e) => {
                    prop_assert!(!known);
                    prop_assert_eq!(e, MoneyError::UnknownCurrency(Currency::recorded(&code)?));
                }
            }
            let recorded = Currency::recorded(&code)?;
            prop_assert_eq!(recorded.code(), upper.as_str());
        }

        #[test]
        fn every_known_code_parses_back_from_its_own_text(
            (code, exponent) in proptest::sample::select(iso4217::KNOWN)
        ) {
            let text = std::str::from_utf8(&code).unwrap_or_default();
            let currency = Currency::parse(&format!(" {} ", text.to_ascii_lowercase()))?;
            prop_assert_eq!(currency.code(), text);
            prop_assert_eq!(currency.exponent(), exponent);
            prop_assert_eq!(Currency::parse(&currency.to_string()), Ok(currency));
        }

        #[test]
        fn display_text_parses_back_to_the_same_amount(minor in any::<i64>()) {
            let money = Money::new(minor, Currency::USD);
            prop_assert_eq!(usd(&money.amount_text()), Ok(money));
        }
    }
}
