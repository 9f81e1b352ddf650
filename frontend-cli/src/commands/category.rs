//! `shopbot category add|list|rename|delete`.

use std::io::Write;

use clap::{Args, Subcommand};
use shopbot_core::catalog::Category;
use shopbot_core::ids::CategoryId;
use shopbot_core::text::CategoryName;

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::output::{self, Table};
use crate::parse;
use crate::view::CategoryView;

/// `shopbot category …`
#[derive(Debug, Subcommand)]
pub enum CategoryCommand {
    /// Add a category
    #[command(after_help = "Examples:\n  shopbot category add Games\n  \
                            shopbot --json category add \"Gift cards\"")]
    Add(AddArgs),
    /// List categories with how many products each holds
    #[command(after_help = "Examples:\n  shopbot category list\n  shopbot --json category list")]
    List,
    /// Rename a category
    #[command(
        after_help = "Examples:\n  shopbot category rename 2 \"Board games\"\n  \
                            shopbot --json category rename 2 Music"
    )]
    Rename(RenameArgs),
    /// Delete an empty category (one holding products is refused, exit 5)
    #[command(after_help = "Examples:\n  shopbot category delete 2")]
    Delete(DeleteArgs),
}

/// `shopbot category rename`
#[derive(Debug, Args)]
pub struct RenameArgs {
    /// The category's id
    pub id: String,
    /// The new name: one line of 1–64 characters
    pub name: String,
}

/// `shopbot category delete`
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The category's id
    pub id: String,
}

/// What `category delete --json` prints.
#[derive(Debug, serde::Serialize)]
struct DeletedView {
    /// The deleted category's id.
    deleted: i64,
}

/// `shopbot category add`
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The name: one line of 1–64 characters
    pub name: String,
}

/// Runs a `category` subcommand.
pub async fn run(command: &CategoryCommand, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    match command {
        CategoryCommand::Add(args) => add(args, ctx, out).await,
        CategoryCommand::List => list(ctx, out).await,
        CategoryCommand::Rename(args) => rename(args, ctx, out).await,
        CategoryCommand::Delete(args) => delete(args, ctx, out).await,
    }
}

async fn rename(args: &RenameArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let id: CategoryId = parse::id("ID", &args.id)?;
    let name = parse::text(
        "",
        CategoryName::parse(&args.name),
        "one line of 1–64 characters",
    )?;
    let shop = ctx.shop().await?;
    let category = shop.admin().rename_category(ctx.actor(), id, name).await?;
    if ctx.json() {
        return output::json(out, &CategoryView::from(&category));
    }
    writeln!(
        out,
        "Renamed category {} to \"{}\".",
        category.id,
        output::clean(category.name.as_str())
    )?;
    Ok(())
}

async fn delete(args: &DeleteArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let id: CategoryId = parse::id("ID", &args.id)?;
    let shop = ctx.shop().await?;
    shop.admin().delete_category(ctx.actor(), id).await?;
    if ctx.json() {
        return output::json(out, &DeletedView { deleted: id.0 });
    }
    writeln!(out, "Deleted category {id}.")?;
    Ok(())
}

async fn add(args: &AddArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let name = parse::text(
        "",
        CategoryName::parse(&args.name),
        "one line of 1–64 characters",
    )?;
    let shop = ctx.shop().await?;
    let category = shop.admin().create_category(ctx.actor(), name).await?;
    if ctx.json() {
        return output::json(out, &CategoryView::from(&category));
    }
    writeln!(
        out,
        "Added category {} \"{}\".",
        category.id,
        output::clean(category.name.as_str())
    )?;
    Ok(())
}

async fn list(ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let shop = ctx.shop().await?;
    let categories = shop.catalog().categories(ctx.actor()).await?;
    if ctx.json() {
        let views: Vec<CategoryView> = categories.iter().map(CategoryView::from).collect();
        return output::json(out, &views);
    }
    if categories.is_empty() {
        writeln!(
            out,
            "No categories yet. Add one with `shopbot category add NAME`."
        )?;
        return Ok(());
    }
    let products = shop.admin().products(ctx.actor()).await?;
    let mut table = Table::new(&["ID", "NAME", "PRODUCTS", "CREATED"]);
    for category in &categories {
        let count = products
            .iter()
            .filter(|p| p.category == Some(category.id))
            .count();
        table.row([
            category.id.to_string(),
            category.name.to_string(),
            count.to_string(),
            output::time(category.created_at),
        ]);
    }
    table.write(out)?;
    Ok(())
}

/// Finds a category by id (`3`, `#3`) or by name (any case). `flag` names where `text` came
/// from, for the error.
pub async fn resolve(ctx: &Ctx, flag: &str, text: &str) -> CliResult<CategoryId> {
    let shop = ctx.shop().await?;
    let categories = shop.catalog().categories(ctx.actor()).await?;
    find(&categories, text).ok_or_else(|| {
        CliError::not_found(format!(
            "{flag}: no category with id or name `{}` (see `shopbot category list`)",
            output::clean(&text.chars().take(64).collect::<String>())
        ))
    })
}

fn find(categories: &[Category], text: &str) -> Option<CategoryId> {
    let text = text.trim();
    if let Ok(id) = text.parse::<CategoryId>()
        && let Some(c) = categories.iter().find(|c| c.id == id)
    {
        return Some(c.id);
    }
    categories
        .iter()
        .find(|c| c.name.as_str().eq_ignore_ascii_case(text) || c.name.as_str() == text)
        .map(|c| c.id)
}
