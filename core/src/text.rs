//! Validated text and small numbers: once you hold one of these types, it is valid.
//!
//! Each type parses from untrusted input (a chat message, a CLI flag, an imported line) and
//! refuses what it cannot hold with a [`TextError`] that names the field and the problem.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why a piece of text was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field} {problem}")]
pub struct TextError {
    /// What the text was for, e.g. "product name".
    pub field: &'static str,
    /// What was wrong with it.
    pub problem: TextProblem,
}

/// What was wrong with a piece of text.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TextProblem {
    /// Nothing but white space.
    #[error("is empty")]
    Empty,
    /// Over the limit, counted in characters.
    #[error("is {len} characters long; the limit is {max}")]
    TooLong {
        /// The limit.
        max: usize,
        /// The length given.
        len: usize,
    },
    /// A control character (or a line break where only one line is allowed).
    #[error("contains a control character or line break at character {position}")]
    ControlCharacter {
        /// 1-based character position.
        position: usize,
    },
    /// A character outside what the field allows.
    #[error("may only contain {allowed}")]
    Charset {
        /// A description of the accepted characters.
        allowed: &'static str,
    },
}

struct Rules {
    field: &'static str,
    min: usize,
    max: usize,
    multiline: bool,
}

fn clean(input: &str, rules: &Rules) -> Result<String, TextError> {
    let error = |problem| TextError {
        field: rules.field,
        problem,
    };
    let text = input.trim();
    let len = text.chars().count();
    if len < rules.min {
        return Err(error(TextProblem::Empty));
    }
    if len > rules.max {
        return Err(error(TextProblem::TooLong {
            max: rules.max,
            len,
        }));
    }
    let bad = |c: char| c.is_control() && !(rules.multiline && c == '\n');
    if let Some(index) = text.chars().position(bad) {
        return Err(error(TextProblem::ControlCharacter {
            position: index + 1,
        }));
    }
    Ok(text.to_owned())
}

macro_rules! text_type {
    ($(#[$meta:meta])* $name:ident, $field:literal, $min:literal ..= $max:literal, $multiline:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The longest accepted text, in characters.
            pub const MAX_CHARS: usize = $max;

            /// Trims `input` and checks it.
            pub fn parse(input: &str) -> Result<Self, TextError> {
                clean(
                    input,
                    &Rules { field: $field, min: $min, max: $max, multiline: $multiline },
                )
                .map($name)
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = TextError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                $name::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
    };
}

text_type!(
    /// A product's name: one line of 1–128 characters.
    ProductName, "product name", 1..=128, false
);
text_type!(
    /// A category's name: one line of 1–64 characters.
    CategoryName, "category name", 1..=64, false
);
text_type!(
    /// A product description: up to 2,000 characters, line breaks allowed.
    Description, "description", 0..=2000, true
);
text_type!(
    /// The secret a stock unit delivers (a license key, a code, a link): one line of
    /// 1–4096 printable characters.
    StockPayload, "stock line", 1..=4096, false
);
text_type!(
    /// A short note: an invoice line, a reason for a wallet adjustment, a payment reference.
    Note, "text", 1..=256, false
);
text_type!(
    /// Where a product's picture lives: a URL or a messenger file id, one line of 1–512
    /// characters.
    ImageRef, "image reference", 1..=512, false
);
text_type!(
    /// A person's display name as the messenger reports it: up to 128 characters.
    PersonName, "name", 0..=128, false
);

impl PersonName {
    /// A display name from a messenger, made acceptable instead of refused: control characters
    /// are dropped and the name is cut at the limit. People do not choose their names for us.
    pub fn lenient(input: &str) -> Self {
        let name: String = input
            .chars()
            .filter(|c| !c.is_control())
            .take(Self::MAX_CHARS)
            .collect();
        PersonName(name.trim().to_owned())
    }
}

/// A caller-chosen key that makes a command safe to repeat: 1–128 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The longest accepted key.
    pub const MAX_LEN: usize = 128;

    /// Checks `input` (not trimmed: a key is compared byte for byte).
    pub fn parse(input: &str) -> Result<Self, TextError> {
        let error = |problem| TextError {
            field: "idempotency key",
            problem,
        };
        if input.is_empty() {
            return Err(error(TextProblem::Empty));
        }
        if input.len() > Self::MAX_LEN {
            return Err(error(TextProblem::TooLong {
                max: Self::MAX_LEN,
                len: input.chars().count(),
            }));
        }
        if !input.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(error(TextProblem::Charset {
                allowed: "visible ASCII characters",
            }));
        }
        Ok(IdempotencyKey(input.to_owned()))
    }

    /// A key the shop derives itself from a prefix and an id, e.g. `order:42` or
    /// `checkout:<key>`. Never cut short, so distinct ids keep distinct keys.
    pub fn derived(prefix: &str, id: impl fmt::Display) -> Self {
        let key: String = format!("{prefix}:{id}")
            .chars()
            .filter(char::is_ascii_graphic)
            .collect();
        IdempotencyKey(key)
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the key has a prefix the shop keeps for keys it derives itself
    /// ([`derived`](Self::derived)); callers may not choose such keys.
    pub fn is_reserved(&self) -> bool {
        Self::RESERVED_PREFIXES
            .iter()
            .any(|prefix| self.0.starts_with(prefix))
    }

    /// The prefixes of derived ledger keys.
    pub const RESERVED_PREFIXES: [&'static str; 3] = ["checkout:", "invoice:", "refund:"];
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for IdempotencyKey {
    type Error = TextError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        IdempotencyKey::parse(&s)
    }
}

impl From<IdempotencyKey> for String {
    fn from(v: IdempotencyKey) -> String {
        v.0
    }
}

/// How many of something a customer orders: 1 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Quantity(u32);

/// A quantity outside 1–100, or text that is not a number.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("quantity must be a whole number from 1 to {max}", max = Quantity::MAX)]
pub struct QuantityError;

impl Quantity {
    /// The most of one product in one cart line or order line.
    pub const MAX: u32 = 100;
    /// One.
    pub const ONE: Quantity = Quantity(1);

    /// A quantity from a number.
    pub fn new(n: u32) -> Result<Self, QuantityError> {
        if (1..=Self::MAX).contains(&n) {
            Ok(Quantity(n))
        } else {
            Err(QuantityError)
        }
    }

    /// A quantity from text such as `3`.
    pub fn parse(text: &str) -> Result<Self, QuantityError> {
        let text = text.trim();
        if text.is_empty() || text.len() > 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(QuantityError);
        }
        text.parse::<u32>()
            .map_err(|_| QuantityError)
            .and_then(Quantity::new)
    }

    /// The number.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for Quantity {
    type Error = QuantityError;
    fn try_from(n: u32) -> Result<Self, Self::Error> {
        Quantity::new(n)
    }
}

impl From<Quantity> for u32 {
    fn from(q: Quantity) -> u32 {
        q.0
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn product_names_are_trimmed_and_bounded() {
        assert_eq!(
            ProductName::parse("  Game key ").map(|n| n.as_str().to_owned()),
            Ok("Game key".into())
        );
        assert!(matches!(
            ProductName::parse("   "),
            Err(TextError {
                problem: TextProblem::Empty,
                ..
            })
        ));
        assert!(ProductName::parse(&"x".repeat(128)).is_ok());
        assert!(matches!(
            ProductName::parse(&"é".repeat(129)),
            Err(TextError {
                problem: TextProblem::TooLong { max: 128, len: 129 },
                ..
            })
        ));
        assert!(ProductName::parse("two\nlines").is_err());
    }

    #[test]
    fn stock_payloads_are_one_printable_line() {
        assert!(StockPayload::parse("AAAA-BBBB-CCCC").is_ok());
        assert!(StockPayload::parse(&"k".repeat(4096)).is_ok());
        assert!(StockPayload::parse(&"k".repeat(4097)).is_err());
        assert!(StockPayload::parse("key\u{0}").is_err());
        assert!(StockPayload::parse("a\tb").is_err());
        assert!(StockPayload::parse("").is_err());
    }

    #[test]
    fn descriptions_keep_line_breaks() {
        assert!(Description::parse("line one\nline two").is_ok());
        assert!(Description::parse("").is_ok());
        assert!(Description::parse("bell\u{7}").is_err());
    }

    #[test]
    fn idempotency_keys_are_visible_ascii() {
        assert!(IdempotencyKey::parse("tap:42:7").is_ok());
        assert!(IdempotencyKey::parse("with space").is_err());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(129)).is_err());
        assert_eq!(IdempotencyKey::derived("order", 42).as_str(), "order:42");
        assert!(IdempotencyKey::derived("invoice", 7).is_reserved());
        assert!(!IdempotencyKey::parse("tap:7").unwrap().is_reserved());
    }

    #[test]
    fn quantities_are_one_to_a_hundred() {
        assert_eq!(Quantity::parse("1").map(Quantity::get), Ok(1));
        assert_eq!(Quantity::parse(" 100 ").map(Quantity::get), Ok(100));
        for bad in ["0", "101", "-1", "1.5", "", "abc", "0001"] {
            assert!(Quantity::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn messenger_names_are_accepted_leniently() {
        let name = PersonName::lenient(&format!("Ann\u{7}{}", "y".repeat(500)));
        assert_eq!(name.as_str().chars().count(), PersonName::MAX_CHARS);
        assert!(!name.as_str().contains('\u{7}'));
    }

    proptest! {
        #[test]
        fn any_text_parses_or_errors(text in any::<String>()) {
            let _ = ProductName::parse(&text);
            let _ = CategoryName::parse(&text);
            let _ = Description::parse(&text);
            let _ = Note::parse(&text);
            let _ = IdempotencyKey::parse(&text);
            let _ = Quantity::parse(&text);
            let _ = PersonName::lenient(&text);
            if let Ok(payload) = StockPayload::parse(&text) {
                prop_assert!(!payload.as_str().chars().any(char::is_control));
                prop_assert_eq!(StockPayload::parse(payload.as_str()), Ok(payload.clone()));
            }
        }
    }
}
