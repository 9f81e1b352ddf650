//! `shopbot demo [--reset]`: a small shop to try everything on, seeded through the same admin
//! services an operator uses.

use std::io::Write;

use clap::Args;
use serde::Serialize;
use shopbot_core::catalog::{ProductDraft, ProductKind};
use shopbot_core::ids::UserId;
use shopbot_core::money::{Currency, Money};
use shopbot_core::stock::OnDuplicate;
use shopbot_core::text::{
    CategoryName, Description, IdempotencyKey, Note, PersonName, ProductName,
};
use shopbot_core::user::UserProfile;

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::output::{self, Table};
use crate::store::Backend;
use crate::view::{CategoryView, ProductView, UserView};

/// The demo customer, who gets wallet credit to spend.
pub const DEMO_CUSTOMER: UserId = UserId(1001);

/// `shopbot demo`
#[derive(Debug, Args)]
#[command(after_help = "\
The demo seeds an empty shop only, creating the store if there is none (in its currency: the
configured one, else USD). --reset first moves the current store aside (a JSON store's
directory is renamed to NAME.before-reset-<time>; nothing is deleted).

Examples:
  shopbot demo
  shopbot --store json:/tmp/demo-shop demo --reset")]
pub struct DemoArgs {
    /// Move the current store aside and start a fresh one
    #[arg(long)]
    pub reset: bool,
}

struct DemoProduct {
    category: usize,
    name: &'static str,
    description: &'static str,
    kind: ProductKind,
    /// In hundredths of the currency's major unit.
    cents: i64,
    keys: &'static [&'static str],
}

const CATEGORIES: [&str; 3] = ["Games", "Software", "Services"];

const PRODUCTS: [DemoProduct; 5] = [
    DemoProduct {
        category: 0,
        name: "Starfall Odyssey (Steam key)",
        description: "An open-galaxy space adventure. Redeem the key in Steam.",
        kind: ProductKind::Key,
        cents: 1999,
        keys: &[
            "SFO-7Q2K-9XBM-4T1A",
            "SFO-P3LD-82HC-QW7E",
            "SFO-ZK4N-5RJY-1MUV",
        ],
    },
    DemoProduct {
        category: 0,
        name: "Pixel Racers (Steam key)",
        description: "Arcade racing for up to four players.",
        kind: ProductKind::Key,
        cents: 999,
        keys: &[
            "PXR-44HG-T8WQ-LM2C",
            "PXR-9DKE-1VBN-XR6P",
            "PXR-C7YU-3SAZ-0JFO",
        ],
    },
    DemoProduct {
        category: 1,
        name: "PhotoForge Pro, 1-year license",
        description: "A photo editor with layers, masks and RAW import.",
        kind: ProductKind::Key,
        cents: 4900,
        keys: &[
            "PFP-2026-ALPHA-0001",
            "PFP-2026-ALPHA-0002",
            "PFP-2026-ALPHA-0003",
        ],
    },
    DemoProduct {
        category: 1,
        name: "VPN Shield, 30 days",
        description: "A 30-day activation code for one device.",
        kind: ProductKind::Key,
        cents: 499,
        keys: &[
            "VPNS-30D-8H2K-QQ1L",
            "VPNS-30D-M4TR-7ZX0",
            "VPNS-30D-B9EW-5NYC",
        ],
    },
    DemoProduct {
        category: 2,
        name: "Setup call (30 min)",
        description: "We set everything up with you on a call. We write to arrange the time.",
        kind: ProductKind::Service,
        cents: 2500,
        keys: &[],
    },
];

/// The demo customer's starting credit, in hundredths.
const CREDIT_CENTS: i64 = 10_000;

/// A demo amount in `currency`, whatever its number of decimals (whole stars round up).
fn demo_money(cents: i64, currency: Currency) -> Money {
    let minor = match currency.exponent() {
        0 => (cents + 99) / 100,
        1 => cents / 10,
        e => cents.saturating_mul(10i64.saturating_pow(u32::from(e) - 2)),
    };
    Money::new(minor, currency)
}

/// What `demo --json` prints.
#[derive(Debug, Serialize)]
struct DemoView {
    store: String,
    moved_aside: Option<String>,
    categories: Vec<CategoryView>,
    products: Vec<ProductView>,
    customer: UserView,
    try_next: Vec<String>,
}

/// Runs `demo`.
pub async fn run(args: &DemoArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let moved_aside = if args.reset {
        Backend::move_aside(&ctx.settings().store)?
    } else {
        None
    };
    let shop = ctx.shop_creating_if_missing().await?;
    let currency = shop.config().prices.currency;
    let admin = shop.admin();
    let actor = ctx.actor();
    if !admin.products(actor).await?.is_empty()
        || !shop.catalog().categories(actor).await?.is_empty()
    {
        return Err(CliError::refused(format!(
            "the store {} already has a catalog; the demo seeds an empty store only (use \
             --reset to move this one aside, or --store json:ANOTHER_DIR)",
            ctx.settings().store
        )));
    }

    let mut categories = Vec::new();
    for name in CATEGORIES {
        let name = CategoryName::parse(name).map_err(demo_bug)?;
        categories.push(admin.create_category(actor, name).await?);
    }
    let mut products = Vec::new();
    for demo in &PRODUCTS {
        let draft = ProductDraft {
            category: categories.get(demo.category).map(|c| c.id),
            name: ProductName::parse(demo.name).map_err(demo_bug)?,
            description: Description::parse(demo.description).map_err(demo_bug)?,
            kind: demo.kind,
            price: demo_money(demo.cents, currency),
            hidden: false,
            image: None,
        };
        let product = admin.create_product(actor, draft).await?;
        if !demo.keys.is_empty() {
            let text = demo.keys.join("\n");
            admin
                .import_stock_text(actor, product.id, &text, OnDuplicate::Refuse)
                .await?;
        }
        let (product, counts) = shop.catalog().product(actor, product.id).await?;
        products.push(ProductView::new(&product, Some(counts)));
    }

    shop.greet(UserProfile {
        id: DEMO_CUSTOMER,
        name: PersonName::lenient("Demo customer"),
    })
    .await?;
    admin
        .adjust_wallet(
            actor,
            DEMO_CUSTOMER,
            demo_money(CREDIT_CENTS, currency),
            Note::parse("demo welcome credit").map_err(demo_bug)?,
            IdempotencyKey::parse("demo-welcome-credit").map_err(demo_bug)?,
        )
        .await?;
    let (user, wallet) = admin.user(actor, DEMO_CUSTOMER).await?;

    let view = DemoView {
        store: ctx.settings().store.to_string(),
        moved_aside: moved_aside.map(|p| p.display().to_string()),
        categories: categories.iter().map(CategoryView::from).collect(),
        products,
        customer: UserView::new(&user, &wallet, false),
        try_next: try_next(),
    };
    if ctx.json() {
        return output::json(out, &view);
    }
    print_summary(&view, out)
}

fn try_next() -> Vec<String> {
    let customer = DEMO_CUSTOMER;
    vec![
        "shopbot product list".to_owned(),
        "shopbot stock count".to_owned(),
        format!("shopbot user show --user {customer}"),
        format!("shopbot invoice create --user {customer} --line \"Consulting:1:50.00\""),
        "shopbot export stock".to_owned(),
        "shopbot store check".to_owned(),
    ]
}

fn print_summary(view: &DemoView, out: &mut impl Write) -> CliResult<()> {
    if let Some(old) = &view.moved_aside {
        writeln!(out, "Moved the previous store aside to {old}.")?;
    }
    let keys: u64 = view
        .products
        .iter()
        .filter_map(|p| p.stock.map(|s| s.available))
        .sum();
    writeln!(
        out,
        "Demo shop ready in {}: {} categories, {} products, {keys} keys in stock.",
        view.store,
        view.categories.len(),
        view.products.len()
    )?;
    writeln!(out)?;
    let mut table = Table::new(&["ID", "PRODUCT", "KIND", "PRICE", "AVAILABLE"]);
    for p in &view.products {
        table.row([
            p.id.to_string(),
            p.name.clone(),
            p.kind.to_owned(),
            format!("{} {}", p.price.amount, p.price.currency),
            p.stock
                .map_or_else(|| "-".to_owned(), |s| s.available.to_string()),
        ]);
    }
    table.write(out)?;
    writeln!(out)?;
    writeln!(
        out,
        "Customer {} \"{}\" has {} {} to spend.",
        view.customer.id,
        output::clean(&view.customer.name),
        view.customer.available.amount,
        view.customer.available.currency
    )?;
    writeln!(out)?;
    writeln!(out, "Try next:")?;
    for command in &view.try_next {
        writeln!(out, "  {command}")?;
    }
    Ok(())
}

/// The demo's own data is valid by construction; if it is not, that is a bug here.
fn demo_bug(e: impl std::fmt::Display) -> CliError {
    CliError::internal(format!("the demo data is invalid: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_prices_fit_every_currency() {
        assert_eq!(demo_money(1999, Currency::USD).minor, 1999);
        assert_eq!(demo_money(1999, Currency::XTR).minor, 20);
        let kwd = Currency::parse("KWD").unwrap();
        assert_eq!(demo_money(1999, kwd).minor, 19990);
    }
}
