//! `shopbot product add|list|show|edit`.

use std::collections::BTreeMap;
use std::io::Write;

use clap::{ArgGroup, Args, Subcommand, ValueEnum};
use shopbot_core::catalog::{Category, Product, ProductDraft, ProductKind, ProductPatch};
use shopbot_core::ids::{CategoryId, ProductId};
use shopbot_core::money::{Currency, Money};
use shopbot_core::stock::StockCounts;
use shopbot_core::text::{Description, ProductName};

use super::category;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::output::{self, Details, Table};
use crate::parse;
use crate::view::ProductView;

/// `shopbot product …`
#[derive(Debug, Subcommand)]
pub enum ProductCommand {
    /// Add a product
    #[command(after_help = "Examples:\n  \
        shopbot product add --name \"Space Trader (Steam key)\" --price 9.99 --category Games\n  \
        shopbot product add --name \"Setup call\" --price 25 --kind service\n  \
        shopbot --json product add --name \"Gift card\" --price 10.00 --hidden")]
    Add(AddArgs),
    /// List every product, hidden ones included, with stock levels
    #[command(after_help = "Examples:\n  shopbot product list\n  \
        shopbot product list --category Games\n  shopbot --json product list")]
    List(ListArgs),
    /// Show one product with its stock
    #[command(after_help = "Examples:\n  shopbot product show 3\n  shopbot --json product show 3")]
    Show(ShowArgs),
    /// Change a product's price, name, description, category or visibility
    #[command(after_help = "Examples:\n  shopbot product edit 3 --price 7.49\n  \
        shopbot product edit 3 --hidden\n  \
        shopbot product edit 3 --hidden false\n  \
        shopbot product edit 3 --name \"Space Trader GOTY\" --category none")]
    Edit(EditArgs),
    /// Delete a product that was never ordered, with its units
    #[command(
        after_help = "A product that has been ordered is refused (exit 5): hide it instead \
        with\n`shopbot product edit ID --hidden true`.\n\nExamples:\n  shopbot product delete 7"
    )]
    Delete(DeleteArgs),
}

/// `shopbot product delete`
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The product's id
    pub id: String,
}

/// What `product delete --json` prints.
#[derive(Debug, serde::Serialize)]
struct DeletedView {
    /// The deleted product's id.
    deleted: i64,
    /// How many units went with it.
    units: u64,
}

/// What a product delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// A license key or code: one stock unit per item sold
    Key,
    /// A file: each stock unit is a file reference
    File,
    /// A time slot: each stock unit describes one slot
    Slot,
    /// A service fulfilled by people: no stock
    Service,
}

impl From<KindArg> for ProductKind {
    fn from(kind: KindArg) -> ProductKind {
        match kind {
            KindArg::Key => ProductKind::Key,
            KindArg::File => ProductKind::File,
            KindArg::Slot => ProductKind::Slot,
            KindArg::Service => ProductKind::Service,
        }
    }
}

/// `shopbot product add`
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The name: one line of 1–128 characters
    #[arg(long)]
    pub name: String,
    /// The price of one item, e.g. 9.99 (no more decimals than the currency has)
    #[arg(long, allow_hyphen_values = true)]
    pub price: String,
    /// The price's currency [default: the shop's currency]
    #[arg(long)]
    pub currency: Option<String>,
    /// The category, by id or name
    #[arg(long)]
    pub category: Option<String>,
    /// What customers read about it (up to 2,000 characters)
    #[arg(long, default_value = "")]
    pub description: String,
    /// What it delivers
    #[arg(long, value_enum, default_value = "key")]
    pub kind: KindArg,
    /// Start hidden from customers: `--hidden` or `--hidden true` (`--hidden false` is the
    /// default, visible)
    #[arg(long, value_name = "true|false", num_args = 0..=1, default_missing_value = "true")]
    pub hidden: Option<bool>,
}

/// `shopbot product list`
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this category, by id or name
    #[arg(long)]
    pub category: Option<String>,
}

/// `shopbot product show`
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The product's id
    pub id: String,
}

/// `shopbot product edit`
#[derive(Debug, Args)]
#[command(group(
    ArgGroup::new("change")
        .required(true)
        .multiple(true)
        .args(["price", "name", "description", "hidden", "category"])
))]
pub struct EditArgs {
    /// The product's id
    pub id: String,
    /// A new price in the shop's currency
    #[arg(long, allow_hyphen_values = true)]
    pub price: Option<String>,
    /// A new name
    #[arg(long)]
    pub name: Option<String>,
    /// A new description
    #[arg(long)]
    pub description: Option<String>,
    /// Hide from customers (`--hidden` or `--hidden true`) or show again (`--hidden false`)
    #[arg(long, value_name = "true|false", num_args = 0..=1, default_missing_value = "true")]
    pub hidden: Option<bool>,
    /// Move to a category (by id or name), or `none`
    #[arg(long)]
    pub category: Option<String>,
}

/// Runs a `product` subcommand.
pub async fn run(command: &ProductCommand, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    match command {
        ProductCommand::Add(args) => add(args, ctx, out).await,
        ProductCommand::List(args) => list(args, ctx, out).await,
        ProductCommand::Show(args) => show(args, ctx, out).await,
        ProductCommand::Edit(args) => edit(args, ctx, out).await,
        ProductCommand::Delete(args) => delete(args, ctx, out).await,
    }
}

async fn delete(args: &DeleteArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let id: ProductId = parse::id("ID", &args.id)?;
    let shop = ctx.shop().await?;
    let units = match shop.admin().delete_product(ctx.actor(), id).await {
        Err(shopbot_core::Error::Conflict(_)) => {
            return Err(CliError::refused(format!(
                "product {id} has been ordered, so it stays; hide it instead with \
                 `shopbot product edit {id} --hidden true`"
            )));
        }
        other => other?,
    };
    if ctx.json() {
        return output::json(
            out,
            &DeletedView {
                deleted: id.0,
                units,
            },
        );
    }
    writeln!(out, "Deleted product {id} and {units} unit(s).")?;
    Ok(())
}

/// A price from `--price` in `currency` (the shop's unless `--currency` says otherwise),
/// checked against the shop's currency and limits before anything is written.
async fn price(ctx: &Ctx, text: &str, currency: Option<Currency>) -> CliResult<Money> {
    let limits = ctx.prices().await?;
    let price = parse::money("--price", text, currency.unwrap_or(limits.currency))?;
    parse::value("--price", limits.check(price))?;
    Ok(price)
}

fn name(text: &str) -> CliResult<ProductName> {
    parse::text(
        "--name",
        ProductName::parse(text),
        "one line of 1–128 characters",
    )
}

fn description(text: &str) -> CliResult<Description> {
    parse::text(
        "--description",
        Description::parse(text),
        "up to 2000 characters without control characters",
    )
}

async fn add(args: &AddArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let currency = match &args.currency {
        Some(code) => Some(parse::value("--currency", Currency::parse(code))?),
        None => None,
    };
    let draft_name = name(&args.name)?;
    let draft_description = description(&args.description)?;
    let draft_price = price(ctx, &args.price, currency).await?;
    let category = match &args.category {
        Some(text) => Some(category::resolve(ctx, "--category", text).await?),
        None => None,
    };
    let draft = ProductDraft {
        category,
        name: draft_name,
        description: draft_description,
        kind: args.kind.into(),
        price: draft_price,
        hidden: args.hidden.unwrap_or(false),
        image: None,
    };
    let shop = ctx.shop().await?;
    let product = shop.admin().create_product(ctx.actor(), draft).await?;
    let counts = product.kind.uses_stock().then(StockCounts::default);
    if ctx.json() {
        return output::json(out, &ProductView::new(&product, counts));
    }
    writeln!(
        out,
        "Added product {} \"{}\" at {}.",
        product.id,
        output::clean(product.name.as_str()),
        output::money(product.price)
    )?;
    if product.kind.uses_stock() {
        writeln!(
            out,
            "Add stock with `shopbot stock add --product {} --file keys.txt`.",
            product.id
        )?;
    }
    Ok(())
}

async fn list(args: &ListArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let only = match &args.category {
        Some(text) => Some(category::resolve(ctx, "--category", text).await?),
        None => None,
    };
    let shop = ctx.shop().await?;
    let admin = shop.admin();
    let mut products = admin.products(ctx.actor()).await?;
    products.retain(|p| only.is_none_or(|c| p.category == Some(c)));
    let counts: BTreeMap<ProductId, StockCounts> = admin
        .stock_levels(ctx.actor())
        .await?
        .into_iter()
        .map(|(p, c)| (p.id, c))
        .collect();
    if ctx.json() {
        let views: Vec<ProductView> = products
            .iter()
            .map(|p| ProductView::new(p, counts.get(&p.id).copied()))
            .collect();
        return output::json(out, &views);
    }
    if products.is_empty() {
        writeln!(
            out,
            "No products yet. Add one with `shopbot product add --name NAME --price 9.99`, or \
             seed a demo shop with `shopbot demo`."
        )?;
        return Ok(());
    }
    let categories = shop.catalog().categories(ctx.actor()).await?;
    let mut table = Table::new(&[
        "ID",
        "NAME",
        "KIND",
        "PRICE",
        "CATEGORY",
        "HIDDEN",
        "AVAILABLE",
        "RESERVED",
        "SOLD",
    ]);
    for product in &products {
        let stock = |f: fn(&StockCounts) -> u64| match counts.get(&product.id) {
            Some(c) if product.kind.uses_stock() => f(c).to_string(),
            _ => "-".to_owned(),
        };
        table.row([
            product.id.to_string(),
            product.name.to_string(),
            product.kind.as_str().to_owned(),
            output::money(product.price),
            category_name(&categories, product.category),
            if product.hidden { "yes" } else { "no" }.to_owned(),
            stock(|c| c.available),
            stock(|c| c.reserved),
            stock(|c| c.sold),
        ]);
    }
    table.write(out)?;
    Ok(())
}

fn category_name(categories: &[Category], id: Option<CategoryId>) -> String {
    match id {
        None => "-".to_owned(),
        Some(id) => categories
            .iter()
            .find(|c| c.id == id)
            .map_or_else(|| id.to_string(), |c| c.name.to_string()),
    }
}

async fn show(args: &ShowArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let id: ProductId = parse::id("PRODUCT", &args.id)?;
    let shop = ctx.shop().await?;
    let (product, counts) = shop.catalog().product(ctx.actor(), id).await?;
    print_product(ctx, &product, counts, out).await
}

async fn print_product(
    ctx: &Ctx,
    product: &Product,
    counts: StockCounts,
    out: &mut impl Write,
) -> CliResult<()> {
    if ctx.json() {
        return output::json(out, &ProductView::new(product, Some(counts)));
    }
    let shop = ctx.shop().await?;
    let categories = shop.catalog().categories(ctx.actor()).await?;
    let mut details = Details::new();
    details
        .field("id", product.id.to_string())
        .field("name", product.name.as_str())
        .field("kind", product.kind.as_str())
        .field("price", output::money(product.price))
        .field("category", category_name(&categories, product.category))
        .field("hidden", if product.hidden { "yes" } else { "no" })
        .field("created", output::time(product.created_at));
    if product.kind.uses_stock() {
        details.field(
            "stock",
            format!(
                "{} available, {} reserved, {} sold",
                counts.available, counts.reserved, counts.sold
            ),
        );
    }
    if let Some(image) = &product.image {
        details.field("image", image.as_str());
    }
    details.field("description", product.description.as_str());
    details.write(out)?;
    Ok(())
}

async fn edit(args: &EditArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let id: ProductId = parse::id("PRODUCT", &args.id)?;
    let mut patch = ProductPatch {
        name: args.name.as_deref().map(name).transpose()?,
        description: args.description.as_deref().map(description).transpose()?,
        hidden: args.hidden,
        ..ProductPatch::default()
    };
    if let Some(text) = &args.price {
        patch.price = Some(price(ctx, text, None).await?);
    }
    if let Some(text) = &args.category {
        patch.category = Some(if text.trim().eq_ignore_ascii_case("none") {
            None
        } else {
            Some(category::resolve(ctx, "--category", text).await?)
        });
    }
    let shop = ctx.shop().await?;
    let product = shop.admin().update_product(ctx.actor(), id, patch).await?;
    let (_, counts) = shop.catalog().product(ctx.actor(), product.id).await?;
    if !ctx.json() {
        writeln!(out, "Updated product {}.", product.id)?;
    }
    print_product(ctx, &product, counts, out).await
}
