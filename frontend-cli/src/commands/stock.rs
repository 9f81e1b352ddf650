//! `shopbot stock add|count` (and `list|remove`, in [`super::stock_units`]).
//!
//! A stock file is read with a hard size limit and checked to be UTF-8 text before any line is
//! parsed, so a 1 GB or binary file is refused without being read into memory; every line is
//! then parsed before the store is opened, and the import itself is all or nothing.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use clap::{ArgGroup, Args, Subcommand};
use serde::Serialize;
use shopbot_core::error::Invalid;
use shopbot_core::ids::ProductId;
use shopbot_core::stock::{self, ImportReport, OnDuplicate, StockError, StockLine};

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::output::{self, Table};
use crate::parse;
use crate::view::StockView;

/// The largest stock file accepted, in bytes (16 MiB: about 100,000 keys of 160 characters).
pub const MAX_STOCK_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// `shopbot stock …`
#[derive(Debug, Subcommand)]
pub enum StockCommand {
    /// Import units (one per line) into a product, all or nothing
    #[command(after_help = "\
Lines are trimmed and blank lines skipped. An import with any invalid line, or any line that
repeats another line or a unit already in stock, is refused whole (exit 3) and every offending
line is named; --skip-duplicates imports the rest instead.

Examples:
  shopbot stock add --product 3 --file keys.txt
  generate-keys | shopbot stock add --product 3 -
  shopbot stock add --product 3 --file keys.txt --skip-duplicates")]
    Add(AddArgs),
    /// Count available, reserved and sold units, of one product or of all
    #[command(after_help = "Examples:\n  shopbot stock count --product 3\n  \
                            shopbot stock count\n  shopbot --json stock count")]
    Count(CountArgs),
    /// List a product's units: id, status and payload, masked unless --reveal
    #[command(
        after_help = "Payloads show their first and last two characters only; --reveal \
        shows them whole and is written\nto the audit log.\n\n\
        Examples:\n  shopbot stock list --product 3\n  shopbot --json stock list --product 3 --reveal"
    )]
    List(super::stock_units::ListArgs),
    /// Take available units out of stock, all or nothing
    #[command(
        after_help = "Only available units can be removed: naming a reserved or sold \
        unit is refused (exit 5)\nand nothing is removed.\n\n\
        Examples:\n  shopbot stock remove --product 3 17 18\n  \
        shopbot stock remove --product 3 --unit 17"
    )]
    Remove(super::stock_units::RemoveArgs),
}

/// `shopbot stock add`
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("source").required(true).args(["file", "stdin"])))]
pub struct AddArgs {
    /// The product's id
    #[arg(long)]
    pub product: String,
    /// A UTF-8 text file with one unit per line (at most 16 MiB); `-` reads standard input
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// `-`: read the units from standard input
    #[arg(value_name = "-", value_parser = dash)]
    pub stdin: Option<String>,
    /// Import the lines that are not duplicates and report the rest
    #[arg(long)]
    pub skip_duplicates: bool,
}

fn dash(text: &str) -> Result<String, String> {
    if text == "-" {
        Ok(text.to_owned())
    } else {
        Err("use - to read standard input, or --file PATH".to_owned())
    }
}

/// `shopbot stock count`
#[derive(Debug, Args)]
pub struct CountArgs {
    /// The product's id [default: every product that keeps stock]
    #[arg(long)]
    pub product: Option<String>,
}

/// Runs a `stock` subcommand.
pub async fn run(command: &StockCommand, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    match command {
        StockCommand::Add(args) => add(args, ctx, out).await,
        StockCommand::Count(args) => count(args, ctx, out).await,
        StockCommand::List(args) => super::stock_units::list(args, ctx, out).await,
        StockCommand::Remove(args) => super::stock_units::remove(args, ctx, out).await,
    }
}

/// Where units come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file.
    File(PathBuf),
    /// Standard input.
    Stdin,
}

impl Source {
    fn of(args: &AddArgs) -> Source {
        match &args.file {
            Some(path) if path.as_os_str() != "-" => Source::File(path.clone()),
            _ => Source::Stdin,
        }
    }

    fn name(&self) -> String {
        match self {
            Source::File(path) => path.display().to_string(),
            Source::Stdin => "standard input".to_owned(),
        }
    }
}

/// Reads the units' text from `source`: at most [`MAX_STOCK_FILE_BYTES`], UTF-8, no NUL bytes.
pub fn read_source(source: &Source) -> CliResult<String> {
    let name = source.name();
    let bytes = match source {
        Source::File(path) => read_file(path, &name)?,
        Source::Stdin => read_limited(io::stdin().lock(), &name)?,
    };
    text_of(bytes, &name)
}

fn read_file(path: &Path, name: &str) -> CliResult<Vec<u8>> {
    let cannot = |e: io::Error| {
        CliError::invalid(format!(
            "--file: cannot read {name}: {e}; give a readable text file with one unit per line"
        ))
    };
    let metadata = std::fs::metadata(path).map_err(cannot)?;
    if metadata.is_dir() {
        return Err(CliError::invalid(format!(
            "--file: {name} is a directory; give a text file with one unit per line"
        )));
    }
    if metadata.len() > MAX_STOCK_FILE_BYTES {
        return Err(too_big(name, Some(metadata.len())));
    }
    // Still read with a limit: a device or a growing file reports a small size.
    read_limited(File::open(path).map_err(cannot)?, name)
}

fn read_limited(reader: impl Read, name: &str) -> CliResult<Vec<u8>> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_STOCK_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::invalid(format!("cannot read {name}: {e}")))?;
    if bytes.len() as u64 > MAX_STOCK_FILE_BYTES {
        return Err(too_big(name, None));
    }
    Ok(bytes)
}

fn too_big(name: &str, size: Option<u64>) -> CliError {
    let size = match size {
        Some(bytes) => format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0)),
        None => "more than 16 MiB".to_owned(),
    };
    CliError::invalid(format!(
        "{name} is {size}; a stock import is at most 16 MiB of text: split it into several \
         imports"
    ))
}

fn text_of(bytes: Vec<u8>, name: &str) -> CliResult<String> {
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(CliError::invalid(format!(
            "{name} looks binary (a NUL byte at offset {at}); stock is UTF-8 text, one unit per \
             line"
        )));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        CliError::invalid(format!(
            "{name} is not UTF-8 text (invalid byte at offset {}); stock is UTF-8 text, one unit \
             per line",
            e.utf8_error().valid_up_to()
        ))
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_owned(),
        None => text,
    })
}

/// Parses every line, naming every invalid one; nothing is imported on any error.
pub fn parse_units(text: &str, name: &str) -> CliResult<Vec<StockLine>> {
    stock::parse_lines(text).map_err(|e| match e {
        StockError::Empty => CliError::invalid(format!(
            "{name} has no units: give one unit per line (blank lines are skipped)"
        )),
        other => CliError::invalid(format!("nothing imported from {name}: {other}")),
    })
}

/// What `stock add --json` prints.
#[derive(Debug, Serialize)]
struct ImportView {
    product: i64,
    added: usize,
    skipped: Vec<SkippedView>,
    stock: StockView,
}

#[derive(Debug, Serialize)]
struct SkippedView {
    line: usize,
    /// The earlier line it repeats; `null` when it repeats a unit the product has.
    repeats_line: Option<usize>,
    /// Whether the unit it repeats was sold already.
    already_sold: bool,
}

async fn add(args: &AddArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let product: ProductId = parse::id("--product", &args.product)?;
    let source = Source::of(args);
    let name = source.name();
    let text = read_source(&source)?;
    let lines = parse_units(&text, &name)?;
    drop(text);
    let on_duplicate = if args.skip_duplicates {
        OnDuplicate::Skip
    } else {
        OnDuplicate::Refuse
    };
    let shop = ctx.shop().await?;
    let report = shop
        .admin()
        .import_stock(ctx.actor(), product, lines, on_duplicate)
        .await
        .map_err(|e| match e {
            shopbot_core::Error::Invalid(Invalid::Stock(StockError::Duplicates(d))) => {
                CliError::invalid(format!(
                    "nothing imported from {name}: {} (--skip-duplicates imports the rest)",
                    StockError::Duplicates(d)
                ))
            }
            other => CliError::from(other),
        })?;
    let (_, counts) = shop.catalog().product(ctx.actor(), product).await?;
    print_report(ctx, product, &report, counts.into(), out)
}

fn print_report(
    ctx: &Ctx,
    product: ProductId,
    report: &ImportReport,
    stock: StockView,
    out: &mut impl Write,
) -> CliResult<()> {
    if ctx.json() {
        let view = ImportView {
            product: product.0,
            added: report.added,
            skipped: report
                .skipped
                .iter()
                .map(|d| SkippedView {
                    line: d.line,
                    repeats_line: d.first_line,
                    already_sold: d.sold,
                })
                .collect(),
            stock,
        };
        return output::json(out, &view);
    }
    writeln!(
        out,
        "Imported {} unit(s) into product {product}; {} available now.",
        report.added, stock.available
    )?;
    if !report.skipped.is_empty() {
        writeln!(out, "Skipped {} duplicate(s):", report.skipped.len())?;
        for d in &report.skipped {
            match (d.first_line, d.sold) {
                (Some(first), _) => writeln!(out, "  line {} repeats line {first}", d.line)?,
                (None, true) => writeln!(out, "  line {} was already sold", d.line)?,
                (None, false) => writeln!(out, "  line {} is already in stock", d.line)?,
            }
        }
    }
    Ok(())
}

/// What `stock count --json` prints for each product.
#[derive(Debug, Serialize)]
struct CountView {
    product: i64,
    name: String,
    #[serde(flatten)]
    stock: StockView,
}

async fn count(args: &CountArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let product = match &args.product {
        Some(text) => Some(parse::id::<ProductId>("--product", text)?),
        None => None,
    };
    let shop = ctx.shop().await?;
    let rows: Vec<CountView> = match product {
        Some(id) => {
            let (product, counts) = shop.catalog().product(ctx.actor(), id).await?;
            if !product.kind.uses_stock() {
                return Err(CliError::invalid(format!(
                    "--product: product {id} is a service and keeps no stock"
                )));
            }
            vec![CountView {
                product: id.0,
                name: product.name.to_string(),
                stock: counts.into(),
            }]
        }
        None => shop
            .admin()
            .stock_levels(ctx.actor())
            .await?
            .into_iter()
            .map(|(p, c)| CountView {
                product: p.id.0,
                name: p.name.to_string(),
                stock: c.into(),
            })
            .collect(),
    };
    if ctx.json() {
        return match (product, rows.first()) {
            (Some(_), Some(row)) => output::json(out, row),
            _ => output::json(out, &rows),
        };
    }
    if rows.is_empty() {
        writeln!(out, "No product keeps stock yet.")?;
        return Ok(());
    }
    let mut table = Table::new(&["PRODUCT", "NAME", "AVAILABLE", "RESERVED", "SOLD"]);
    for row in &rows {
        table.row([
            row.product.to_string(),
            row.name.clone(),
            row.stock.available.to_string(),
            row.stock.reserved.to_string(),
            row.stock.sold.to_string(),
        ]);
    }
    table.write(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitStatus;

    #[test]
    fn binary_text_is_refused_before_parsing() {
        let e = text_of(b"KEY\0\x01".to_vec(), "keys.bin").unwrap_err();
        assert_eq!(e.status(), ExitStatus::Invalid);
        assert!(
            e.message().contains("NUL byte at offset 3"),
            "{}",
            e.message()
        );
        let e = text_of(vec![b'A', 0xff, b'B'], "keys.txt").unwrap_err();
        assert!(e.message().contains("not UTF-8"), "{}", e.message());
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_key() {
        let text = text_of("\u{feff}AAA\nBBB".as_bytes().to_vec(), "k").unwrap();
        assert_eq!(text, "AAA\nBBB");
    }

    #[test]
    fn endless_input_stops_at_the_limit() {
        let e = read_limited(io::repeat(b'k'), "standard input").unwrap_err();
        assert_eq!(e.status(), ExitStatus::Invalid);
        assert!(e.message().contains("at most 16 MiB"), "{}", e.message());
    }

    #[test]
    fn every_invalid_line_is_named() {
        let long = "x".repeat(5000);
        let e = parse_units(&format!("ok\n{long}\nbad\u{7}\n"), "keys.txt").unwrap_err();
        assert!(
            e.message()
                .starts_with("nothing imported from keys.txt: 2 invalid line(s)")
        );
        assert!(e.message().contains("line 2"));
        assert!(e.message().contains("line 3"));
    }
}
