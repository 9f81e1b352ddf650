//! How results look: tables and key–value blocks for people, one JSON document for scripts,
//! CSV rows for exports.
//!
//! Owns the renderers only. Every cell passes through [`clean`], so a name chosen by a
//! customer cannot move the cursor or recolour the operator's terminal.

use std::io::{self, Write};

use serde::Serialize;
use shopbot_core::money::Money;
use shopbot_core::time::Timestamp;

use crate::error::CliResult;

/// Writes `value` as one pretty-printed JSON document and a line break.
pub fn json<W: Write, T: Serialize + ?Sized>(out: &mut W, value: &T) -> CliResult<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(io::Error::from)?;
    writeln!(out)?;
    Ok(())
}

/// `9.99 USD`.
pub fn money(amount: Money) -> String {
    amount.to_string()
}

/// `2026-11-23 07:08:00Z`.
pub fn time(at: Timestamp) -> String {
    at.to_string()
}

/// A deadline as it was entered: `2026-12-31` for one at the end of that day (an invoice
/// `--due 2026-12-31`), else the time it passes.
pub fn deadline(at: Timestamp) -> String {
    at.day_ending().unwrap_or_else(|| time(at))
}

/// `2026-11-23T07:08:00Z` (RFC 3339), for JSON.
pub fn time_rfc3339(at: Timestamp) -> String {
    at.to_string().replacen(' ', "T", 1)
}

/// Text made safe for a terminal cell: control characters (line breaks included) become spaces.
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Columns of text, aligned, with a header row.
#[derive(Debug, Clone, Default)]
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new(headers: &[&'static str]) -> Table {
        Table {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing cells are blank, extra cells are dropped.
    pub fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut row: Vec<String> = cells
            .into_iter()
            .take(self.headers.len())
            .map(|c| clean(c.as_ref()))
            .collect();
        row.resize(self.headers.len(), String::new());
        self.rows.push(row);
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Writes the table, columns separated by two spaces, without trailing spaces.
    pub fn write<W: Write>(&self, out: &mut W) -> io::Result<()> {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let headers: Vec<String> = self.headers.iter().map(|h| (*h).to_owned()).collect();
        for row in std::iter::once(&headers).chain(&self.rows) {
            let mut line = String::new();
            for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                let pad = width.saturating_sub(cell.chars().count());
                line.extend(std::iter::repeat_n(' ', pad));
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// Labelled values, one per line, labels aligned: the "show" layout.
#[derive(Debug, Clone, Default)]
pub struct Details {
    fields: Vec<(&'static str, String)>,
}

impl Details {
    /// No fields yet.
    pub fn new() -> Details {
        Details::default()
    }

    /// Adds a field.
    pub fn field(&mut self, label: &'static str, value: impl AsRef<str>) -> &mut Details {
        self.fields.push((label, clean(value.as_ref())));
        self
    }

    /// Writes `label:  value` lines.
    pub fn write<W: Write>(&self, out: &mut W) -> io::Result<()> {
        let width = self
            .fields
            .iter()
            .map(|(l, _)| l.chars().count())
            .max()
            .unwrap_or(0);
        for (label, value) in &self.fields {
            let pad = width - label.chars().count();
            let line = format!("{label}:{}  {value}", " ".repeat(pad));
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// A CSV writer that writes each row as it gets it (RFC 4180 quoting, `\n` line ends).
pub struct Csv<W: Write> {
    out: W,
    rows: u64,
}

impl<W: Write> Csv<W> {
    /// A writer that first writes `headers`.
    pub fn new(mut out: W, headers: &[&str]) -> io::Result<Csv<W>> {
        write_record(&mut out, headers.iter().map(|h| Field::Raw(h)))?;
        Ok(Csv { out, rows: 0 })
    }

    /// Writes one row.
    pub fn row<'a, I>(&mut self, fields: I) -> io::Result<()>
    where
        I: IntoIterator<Item = Field<'a>>,
    {
        write_record(&mut self.out, fields)?;
        self.rows += 1;
        Ok(())
    }

    /// How many rows were written (the header aside).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Flushes and returns how many rows were written.
    pub fn finish_rows(mut self) -> io::Result<u64> {
        self.out.flush()?;
        Ok(self.rows)
    }

    /// Flushes and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// One CSV field.
#[derive(Debug, Clone, Copy)]
pub enum Field<'a> {
    /// Written as it is (numbers, ids, dates, fixed words).
    Raw(&'a str),
    /// Text someone typed (a name): a leading `=`, `+`, `-` or `@` gets a `'` in front, so a
    /// spreadsheet shows it instead of running it as a formula.
    Text(&'a str),
}

fn write_record<'a, W, I>(out: &mut W, fields: I) -> io::Result<()>
where
    W: Write,
    I: IntoIterator<Item = Field<'a>>,
{
    for (i, field) in fields.into_iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        let (guard, text) = match field {
            Field::Raw(text) => ("", text),
            Field::Text(text) if text.starts_with(['=', '+', '-', '@']) => ("'", text),
            Field::Text(text) => ("", text),
        };
        if text.contains([',', '"', '\n', '\r']) {
            write!(out, "\"{guard}{}\"", text.replace('"', "\"\""))?;
        } else {
            write!(out, "{guard}{text}")?;
        }
    }
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_and_trim_line_ends() {
        let mut table = Table::new(&["ID", "NAME", "PRICE"]);
        table.row(["1", "Key", "9.99 USD"]);
        table.row(["12", "Longer name", ""]);
        let mut out = Vec::new();
        table.write(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "ID  NAME         PRICE\n1   Key          9.99 USD\n12  Longer name\n"
        );
    }

    #[test]
    fn cells_cannot_carry_terminal_control_codes() {
        let mut table = Table::new(&["NAME"]);
        table.row(["evil\u{1b}[31m\nname"]);
        let mut out = Vec::new();
        table.write(&mut out).unwrap();
        assert!(!String::from_utf8(out).unwrap().contains('\u{1b}'));
    }

    #[test]
    fn details_align_labels() {
        let mut details = Details::new();
        details.field("id", "3").field("price", "9.99 USD");
        let mut out = Vec::new();
        details.write(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "id:     3\nprice:  9.99 USD\n"
        );
    }

    #[test]
    fn csv_quotes_what_needs_quoting_and_defuses_formulas() {
        let mut csv = Csv::new(Vec::new(), &["a", "b", "c"]).unwrap();
        csv.row([
            Field::Raw("-1.50"),
            Field::Text("say \"hi\", then\nleave"),
            Field::Text("=HYPERLINK(\"x\")"),
        ])
        .unwrap();
        assert_eq!(csv.rows(), 1);
        let text = String::from_utf8(csv.finish().unwrap()).unwrap();
        assert_eq!(
            text,
            "a,b,c\n-1.50,\"say \"\"hi\"\", then\nleave\",\"'=HYPERLINK(\"\"x\"\")\"\n"
        );
    }

    #[test]
    fn rfc3339_times_have_a_t() {
        assert_eq!(time_rfc3339(Timestamp(0)), "1970-01-01T00:00:00Z");
    }
}
