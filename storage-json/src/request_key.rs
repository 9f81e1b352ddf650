//! [`RequestKey`]: the name a caller gives a whole request so that repeating it never applies
//! it twice.

use std::fmt;

use serde::{Deserialize, Serialize};

use shopbot_core::text::{TextError, TextProblem};

/// A caller-chosen key naming one request (one CLI command, say) made of storage calls:
/// 1–100 printable ASCII characters (space included), compared byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RequestKey(String);

impl RequestKey {
    /// The longest accepted key.
    pub const MAX_LEN: usize = 100;

    /// Checks `input` (not trimmed).
    pub fn parse(input: &str) -> Result<Self, TextError> {
        let error = |problem| TextError {
            field: "request key",
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
        if !input.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
            return Err(error(TextProblem::Charset {
                allowed: "printable ASCII characters",
            }));
        }
        Ok(RequestKey(input.to_owned()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RequestKey {
    type Error = TextError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        RequestKey::parse(&value)
    }
}

impl From<RequestKey> for String {
    fn from(key: RequestKey) -> String {
        key.0
    }
}

impl fmt::Display for RequestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_key_is_one_to_a_hundred_printable_ascii_characters() {
        assert!(RequestKey::parse("").is_err());
        assert!(RequestKey::parse("a").is_ok());
        assert!(RequestKey::parse("cli 2026-12-08 #7").is_ok());
        assert!(RequestKey::parse(&"k".repeat(100)).is_ok());
        assert!(RequestKey::parse(&"k".repeat(101)).is_err());
        assert!(RequestKey::parse("tab\there").is_err());
        assert!(RequestKey::parse("line\n").is_err());
        assert!(RequestKey::parse("clé").is_err());
    }

    #[test]
    fn a_key_reads_back_only_when_valid() {
        let key: RequestKey = serde_json::from_str("\"retry-1\"").unwrap();
        assert_eq!(key.as_str(), "retry-1");
        assert!(serde_json::from_str::<RequestKey>("\"\"").is_err());
    }

    proptest! {
        #[test]
        fn every_accepted_key_is_printable_ascii_and_round_trips(input in "\\PC{0,120}") {
            if let Ok(key) = RequestKey::parse(&input) {
                prop_assert!((1..=100).contains(&key.as_str().len()));
                prop_assert!(key.as_str().bytes().all(|b| (0x20..0x7f).contains(&b)));
                prop_assert_eq!(key.to_string(), input);
            }
        }
    }
}
