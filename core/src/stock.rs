//! Stock: the units a product sells, each a secret payload such as a license key.
//!
//! Owns [`StockUnit`] and its states, and parsing an import (one unit per line). A unit is
//! available, reserved by an order awaiting payment, or sold to exactly one order; it never goes
//! back from sold.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ids::{OrderId, ProductId, UnitId};
use crate::text::{StockPayload, TextError};
use crate::time::Timestamp;

/// Where a unit stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitState {
    /// Can be sold.
    Available,
    /// Held for an order awaiting payment.
    Reserved {
        /// The order.
        order: OrderId,
    },
    /// Sold to exactly one order.
    Sold {
        /// The order.
        order: OrderId,
    },
}

/// One sellable item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockUnit {
    /// Its id.
    pub id: UnitId,
    /// The product it belongs to.
    pub product: ProductId,
    /// The secret it delivers.
    pub payload: StockPayload,
    /// Where it stands.
    pub state: UnitState,
    /// When it was imported.
    pub added_at: Timestamp,
}

/// One line of an import, with its line number in what the admin sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLine {
    /// 1-based line number.
    pub line: usize,
    /// The unit's payload.
    pub payload: StockPayload,
}

/// What to do with lines that duplicate each other or existing stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDuplicate {
    /// Refuse the whole import, naming every duplicate.
    #[default]
    Refuse,
    /// Import the rest and report the duplicates as skipped.
    Skip,
}

/// A request to add units to a product, all or nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockImport {
    /// The product.
    pub product: ProductId,
    /// The units, in the order given.
    pub lines: Vec<StockLine>,
    /// What to do with duplicates.
    pub on_duplicate: OnDuplicate,
    /// When.
    pub at: Timestamp,
}

/// A request to take available units out of stock, all or nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockRemoval {
    /// The product the units belong to.
    pub product: ProductId,
    /// The units, each once.
    pub units: Vec<UnitId>,
}

/// A unit as staff see it in a listing: its payload masked unless revealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedUnit {
    /// Its id.
    pub id: UnitId,
    /// Where it stands.
    pub state: UnitState,
    /// The payload, or [`mask`] of it.
    pub payload: String,
    /// When it was imported.
    pub added_at: Timestamp,
}

/// `payload` with all but its first two and last two characters replaced by `•`; a payload of
/// six characters or fewer is masked whole, so a mask never gives most of a short key away.
pub fn mask(payload: &str) -> String {
    let count = payload.chars().count();
    if count <= 6 {
        return "•".repeat(count);
    }
    payload
        .chars()
        .enumerate()
        .map(|(i, c)| if i < 2 || i >= count - 2 { c } else { '•' })
        .collect()
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// How many units were added.
    pub added: usize,
    /// Lines left out as duplicates (only with [`OnDuplicate::Skip`]).
    pub skipped: Vec<Duplicate>,
}

/// A line that repeats an earlier line or a unit the product already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Duplicate {
    /// The duplicate line.
    pub line: usize,
    /// The earlier line it repeats, or `None` when it repeats a unit the product already has.
    pub first_line: Option<usize>,
    /// Whether the unit it repeats was sold already (`false` for a repeated line and for a
    /// unit still in stock): a key that was sold is not sold again.
    #[serde(default)]
    pub sold: bool,
}

/// A unit the product already has with an import line's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Available or reserved.
    InStock,
    /// Sold to an order.
    Sold,
}

impl Existing {
    /// How `state` counts for an import.
    pub fn of(state: &UnitState) -> Existing {
        match state {
            UnitState::Available | UnitState::Reserved { .. } => Existing::InStock,
            UnitState::Sold { .. } => Existing::Sold,
        }
    }

    /// The duplicate `line` is, repeating this unit.
    pub fn duplicate(self, line: usize) -> Duplicate {
        Duplicate {
            line,
            first_line: None,
            sold: self == Existing::Sold,
        }
    }
}

/// Unit counts of one product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StockCounts {
    /// Ready to sell.
    pub available: u64,
    /// Held by orders awaiting payment.
    pub reserved: u64,
    /// Sold.
    pub sold: u64,
}

/// Why an import was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StockError {
    /// Some lines are not valid units; nothing was imported.
    #[error("{} invalid line(s): {}", .0.len(), describe_invalid(.0))]
    InvalidLines(Vec<(usize, TextError)>),
    /// Some lines are duplicates; nothing was imported.
    #[error("{} duplicate line(s): {}", .0.len(), describe_duplicates(.0))]
    Duplicates(Vec<Duplicate>),
    /// The import has no lines.
    #[error("the import has no lines")]
    Empty,
    /// The import has more lines than one import may hold.
    #[error("an import holds at most {max} lines")]
    TooManyLines {
        /// The limit.
        max: usize,
    },
}

fn describe_invalid(lines: &[(usize, TextError)]) -> String {
    let parts: Vec<String> = lines
        .iter()
        .map(|(line, error)| format!("line {line}: {error}"))
        .collect();
    parts.join("; ")
}

fn describe_duplicates(lines: &[Duplicate]) -> String {
    let parts: Vec<String> = lines
        .iter()
        .map(|d| match (d.first_line, d.sold) {
            (Some(first), _) => format!("line {} repeats line {first}", d.line),
            (None, true) => format!("line {} was already sold", d.line),
            (None, false) => format!("line {} is already in stock", d.line),
        })
        .collect();
    parts.join("; ")
}

/// The most lines one import may hold.
pub const MAX_IMPORT_LINES: usize = 100_000;

/// Parses pasted or uploaded text, one unit per line. Blank lines are skipped; every invalid
/// line is reported with its number, and then nothing is imported.
pub fn parse_lines(text: &str) -> Result<Vec<StockLine>, StockError> {
    let mut lines = Vec::new();
    let mut invalid = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        match StockPayload::parse(raw) {
            Ok(payload) => lines.push(StockLine {
                line: index + 1,
                payload,
            }),
            Err(error) => invalid.push((index + 1, error)),
        }
        if lines.len() + invalid.len() > MAX_IMPORT_LINES {
            return Err(StockError::TooManyLines {
                max: MAX_IMPORT_LINES,
            });
        }
    }
    if !invalid.is_empty() {
        return Err(StockError::InvalidLines(invalid));
    }
    if lines.is_empty() {
        return Err(StockError::Empty);
    }
    Ok(lines)
}

/// Finds lines that repeat an earlier line of the same import, or a payload for which
/// `existing` finds a unit of the product. Every backend calls this inside its atomic import.
pub fn find_duplicates<F>(lines: &[StockLine], mut existing: F) -> Vec<Duplicate>
where
    F: FnMut(&StockPayload) -> Option<Existing>,
{
    let mut first_seen = std::collections::HashMap::new();
    let mut duplicates = Vec::new();
    for line in lines {
        if let Some(&first) = first_seen.get(&line.payload) {
            duplicates.push(Duplicate {
                line: line.line,
                first_line: Some(first),
                sold: false,
            });
        } else if let Some(unit) = existing(&line.payload) {
            duplicates.push(unit.duplicate(line.line));
        } else {
            first_seen.insert(&line.payload, line.line);
        }
    }
    duplicates
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lines_are_trimmed_and_blank_lines_skipped() {
        let lines = parse_lines("  AAA \n\nBBB\r\n").unwrap_or_default();
        let got: Vec<(usize, &str)> = lines.iter().map(|l| (l.line, l.payload.as_str())).collect();
        assert_eq!(got, vec![(1, "AAA"), (3, "BBB")]);
    }

    #[test]
    fn every_invalid_line_is_named() {
        let long = "x".repeat(4097);
        let text = format!("ok\n{long}\nbad\u{1}\n");
        match parse_lines(&text) {
            Err(StockError::InvalidLines(bad)) => {
                assert_eq!(bad.iter().map(|(n, _)| *n).collect::<Vec<_>>(), vec![2, 3]);
            }
            other => panic!("expected invalid lines, got {other:?}"),
        }
        assert_eq!(parse_lines("\n \n"), Err(StockError::Empty));
    }

    #[test]
    fn duplicates_inside_the_import_and_in_stock_are_found() {
        let lines = parse_lines("A\nB\nA\nC\nB\nD").unwrap_or_default();
        let dups = find_duplicates(&lines, |p| match p.as_str() {
            "C" => Some(Existing::InStock),
            "D" => Some(Existing::Sold),
            _ => None,
        });
        assert_eq!(
            dups,
            vec![
                Duplicate {
                    line: 3,
                    first_line: Some(1),
                    sold: false
                },
                Duplicate {
                    line: 4,
                    first_line: None,
                    sold: false
                },
                Duplicate {
                    line: 5,
                    first_line: Some(2),
                    sold: false
                },
                Duplicate {
                    line: 6,
                    first_line: None,
                    sold: true
                },
            ]
        );
        let message = StockError::Duplicates(dups).to_string();
        assert!(message.contains("line 4 is already in stock"), "{message}");
        assert!(message.contains("line 6 was already sold"), "{message}");
    }

    proptest! {
        #[test]
        fn any_text_parses_or_errors(text in any::<String>()) {
            if let Ok(lines) = parse_lines(&text) {
                prop_assert!(!lines.is_empty());
            }
        }
    }
}

#[cfg(test)]
mod mask_tests {
    use proptest::prelude::*;

    use super::mask;

    #[test]
    fn a_mask_keeps_two_characters_at_each_end() {
        assert_eq!(mask("ABCD-1234-WXYZ"), "AB••••••••••YZ");
        assert_eq!(mask("ключ-1234"), "кл•••••34");
        assert_eq!(mask("SHORT1"), "••••••");
        assert_eq!(mask(""), "");
    }

    proptest! {
        #[test]
        fn a_mask_has_the_length_of_the_payload_and_hides_its_middle(text in ".{0,40}") {
            let masked = mask(&text);
            prop_assert_eq!(masked.chars().count(), text.chars().count());
            let hidden = masked.chars().filter(|c| *c == '•').count();
            prop_assert!(hidden + 4 >= text.chars().count());
        }
    }
}
