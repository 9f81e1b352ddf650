//! Categories, products, stock units and carts.

use std::collections::{HashMap, HashSet};

use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, Row};

use shopbot_core::Error;
use shopbot_core::audit::AuditRecord;
use shopbot_core::cart::{Cart, CartEdit, CartLine};
use shopbot_core::catalog::{
    Category, NewCategory, NewProduct, Product, ProductFilter, ProductPatch,
};
use shopbot_core::ids::{CategoryId, ProductId, UserId};
use shopbot_core::stock::{
    self, Existing, ImportReport, OnDuplicate, StockCounts, StockError, StockImport,
};
use shopbot_core::text::StockPayload;

use crate::command::EditCart;
use crate::convert::to_db;
use crate::error::Attempt;
use crate::purchases::{CallerAndCart, CallerAndProduct, Purchases};
use crate::records::write_audit;
use crate::rows::{self, CATEGORY_COLUMNS, PRODUCT_COLUMNS};

pub(crate) async fn create_category(
    conn: &mut PgConnection,
    new: &NewCategory,
    audit: &AuditRecord,
) -> Attempt<Category> {
    let taken: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM categories WHERE lower(name) = lower($1))",
    )
    .bind(new.name.as_str())
    .fetch_one(&mut *conn)
    .await?;
    if taken {
        let message = format!("a category named {:?} exists", new.name.as_str());
        return Err(Error::Conflict(message).into());
    }
    let sql = format!(
        "INSERT INTO categories (name, created_at) VALUES ($1, $2) RETURNING {CATEGORY_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(new.name.as_str())
        .bind(to_db(new.at))
        .fetch_one(&mut *conn)
        .await?;
    write_audit(conn, Some(audit)).await?;
    Ok(rows::category(&row)?)
}

pub(crate) async fn categories(conn: &mut PgConnection) -> Attempt<Vec<Category>> {
    let sql = format!("SELECT {CATEGORY_COLUMNS} FROM categories ORDER BY id");
    let found = sqlx::query(&sql).fetch_all(conn).await?;
    Ok(found.iter().map(rows::category).collect::<Result<_, _>>()?)
}

async fn require_category(conn: &mut PgConnection, id: Option<CategoryId>) -> Attempt<()> {
    let Some(id) = id else {
        return Ok(());
    };
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM categories WHERE id = $1)")
        .bind(id.0)
        .fetch_one(conn)
        .await?;
    if exists {
        Ok(())
    } else {
        Err(Error::not_found("category", id).into())
    }
}

pub(crate) async fn create_product(
    conn: &mut PgConnection,
    new: &NewProduct,
    audit: &AuditRecord,
) -> Attempt<Product> {
    let d = &new.draft;
    require_category(conn, d.category).await?;
    let sql = format!(
        "INSERT INTO products (category_id, name, description, kind, price_minor, currency, \
         hidden, image, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         RETURNING {PRODUCT_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(d.category.map(|c| c.0))
        .bind(d.name.as_str())
        .bind(d.description.as_str())
        .bind(d.kind.as_str())
        .bind(d.price.minor)
        .bind(d.price.currency.code())
        .bind(d.hidden)
        .bind(d.image.as_ref().map(|i| i.as_str()))
        .bind(to_db(new.at))
        .fetch_one(&mut *conn)
        .await?;
    write_audit(conn, Some(audit)).await?;
    Ok(rows::product(&row)?)
}

/// A product, locked against changes until the transaction ends.
pub(crate) async fn product_for_update(
    conn: &mut PgConnection,
    id: ProductId,
) -> Attempt<Option<Product>> {
    let sql = format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE id = $1 FOR UPDATE");
    let row = sqlx::query(&sql).bind(id.0).fetch_optional(conn).await?;
    Ok(row.as_ref().map(rows::product).transpose()?)
}

pub(crate) async fn update_product(
    conn: &mut PgConnection,
    id: ProductId,
    patch: &ProductPatch,
    audit: &AuditRecord,
) -> Attempt<Product> {
    if let Some(category) = patch.category {
        require_category(conn, category).await?;
    }
    let mut product = product_for_update(conn, id)
        .await?
        .ok_or_else(|| Error::not_found("product", id))?;
    if let Some(price) = patch.price
        && price.currency != product.price.currency
    {
        let message = format!("product {id} is priced in {}", product.price.currency);
        return Err(Error::invalid(message).into());
    }
    patch.apply_to(&mut product);
    sqlx::query(
        "UPDATE products SET category_id = $2, name = $3, description = $4, price_minor = $5, \
         hidden = $6, image = $7 WHERE id = $1",
    )
    .bind(id.0)
    .bind(product.category.map(|c| c.0))
    .bind(product.name.as_str())
    .bind(product.description.as_str())
    .bind(product.price.minor)
    .bind(product.hidden)
    .bind(product.image.as_ref().map(|i| i.as_str()))
    .execute(&mut *conn)
    .await?;
    write_audit(conn, Some(audit)).await?;
    Ok(product)
}

pub(crate) async fn product(conn: &mut PgConnection, id: ProductId) -> Attempt<Option<Product>> {
    let sql = format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE id = $1");
    let row = sqlx::query(&sql).bind(id.0).fetch_optional(conn).await?;
    Ok(row.as_ref().map(rows::product).transpose()?)
}

pub(crate) async fn products(
    conn: &mut PgConnection,
    filter: ProductFilter,
) -> Attempt<Vec<Product>> {
    let sql = format!(
        "SELECT {PRODUCT_COLUMNS} FROM products \
         WHERE ($1 OR NOT hidden) AND ($2::BIGINT IS NULL OR category_id = $2) ORDER BY id"
    );
    let found = sqlx::query(&sql)
        .bind(filter.include_hidden)
        .bind(filter.category.map(|c| c.0))
        .fetch_all(conn)
        .await?;
    Ok(found.iter().map(rows::product).collect::<Result<_, _>>()?)
}

pub(crate) async fn import_stock(
    conn: &mut PgConnection,
    import: &StockImport,
    audit: &AuditRecord,
) -> Attempt<ImportReport> {
    // The lock serializes imports of one product, so the duplicate check below is exact.
    let product = product_for_update(conn, import.product)
        .await?
        .ok_or_else(|| Error::not_found("product", import.product))?;
    if !product.kind.uses_stock() {
        let message = format!("product {} is a service and keeps no stock", product.id);
        return Err(Error::invalid(message).into());
    }
    if import.lines.is_empty() {
        return Err(StockError::Empty.into());
    }
    let payloads: Vec<&str> = import.lines.iter().map(|l| l.payload.as_str()).collect();
    // Each payload the product already has, and whether that unit was sold.
    let existing: HashMap<String, bool> = sqlx::query_as(
        "SELECT payload, state = 'sold' FROM stock_units WHERE product_id = $1 AND payload = ANY($2)",
    )
    .bind(import.product.0)
    .bind(&payloads)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    let duplicates = stock::find_duplicates(&import.lines, |p: &StockPayload| {
        existing.get(p.as_str()).map(|&sold| match sold {
            true => Existing::Sold,
            false => Existing::InStock,
        })
    });
    if !duplicates.is_empty() && import.on_duplicate == OnDuplicate::Refuse {
        return Err(StockError::Duplicates(duplicates).into());
    }
    let skip: HashSet<usize> = duplicates.iter().map(|d| d.line).collect();
    let fresh: Vec<&str> = import
        .lines
        .iter()
        .filter(|l| !skip.contains(&l.line))
        .map(|l| l.payload.as_str())
        .collect();
    sqlx::query(
        "INSERT INTO stock_units (product_id, payload, state, added_at) \
         SELECT $1, payload, 'available', $3 FROM UNNEST($2::TEXT[]) WITH ORDINALITY AS t(payload, n) \
         ORDER BY n",
    )
    .bind(import.product.0)
    .bind(&fresh)
    .bind(to_db(import.at))
    .execute(&mut *conn)
    .await?;
    write_audit(conn, Some(audit)).await?;
    Ok(ImportReport {
        added: fresh.len(),
        skipped: duplicates,
    })
}

pub(crate) async fn stock_counts(
    conn: &mut PgConnection,
    product: ProductId,
) -> Attempt<StockCounts> {
    let (available, reserved, sold): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE state = 'available'), \
                count(*) FILTER (WHERE state = 'reserved'), \
                count(*) FILTER (WHERE state = 'sold') \
         FROM stock_units WHERE product_id = $1",
    )
    .bind(product.0)
    .fetch_one(conn)
    .await?;
    let count = |n: i64| u64::try_from(n).unwrap_or_default();
    Ok(StockCounts {
        available: count(available),
        reserved: count(reserved),
        sold: count(sold),
    })
}

pub(crate) async fn cart(conn: &mut PgConnection, user: UserId) -> Attempt<Cart> {
    let row: Option<(i64, Json<Vec<CartLine>>)> =
        sqlx::query_as("SELECT version, lines FROM carts WHERE user_id = $1")
            .bind(user.0)
            .fetch_optional(conn)
            .await?;
    Ok(to_cart(user, row))
}

/// A cart and the products its lines name, in one statement.
pub(crate) async fn cart_with_products(
    conn: &mut PgConnection,
    user: UserId,
) -> Attempt<(Cart, Vec<Product>)> {
    let columns = cart_columns();
    let sql =
        format!("SELECT {columns} FROM carts c {CART_PRODUCTS} WHERE c.user_id = $1 ORDER BY p.id");
    let found = sqlx::query(&sql).bind(user.0).fetch_all(conn).await?;
    cart_and_products(user, &found)
}

/// What cart edits read, for several callers at once: one call of a function that keeps one
/// plan (`shop_callers_with_products`, in the shared reads section of the migration; a plainer
/// statement for one caller, whose plan is cheaper).
pub(crate) async fn users_with_products(
    connection: &mut PgConnection,
    asked: Vec<(UserId, ProductId)>,
) -> Attempt<Vec<CallerAndProduct>> {
    if let [(user, product)] = asked[..] {
        return Ok(vec![user_with_product(connection, user, product).await?]);
    }
    let (users, products): (Vec<i64>, Vec<i64>) = asked.iter().map(|(u, p)| (u.0, p.0)).unzip();
    let found = sqlx::query("SELECT * FROM shop_callers_with_products($1, $2)")
        .bind(users)
        .bind(products)
        .fetch_all(connection)
        .await?;
    let mut answers = Vec::with_capacity(found.len());
    for row in &found {
        let (caller, settings) = rows::caller(row)?;
        answers.push((caller, settings, rows::joined_product(row)?));
    }
    Ok(answers)
}

/// What checkouts read, for several callers at once: one call of a function that keeps one
/// plan (`shop_callers_with_carts`, in the shared reads section of the migration; a plainer
/// statement for one caller, whose plan is cheaper).
pub(crate) async fn users_with_carts(
    connection: &mut PgConnection,
    asked: Vec<UserId>,
) -> Attempt<Vec<CallerAndCart>> {
    if let [user] = asked[..] {
        return Ok(vec![user_with_cart(connection, user).await?]);
    }
    let users: Vec<i64> = asked.iter().map(|u| u.0).collect();
    let found = sqlx::query("SELECT * FROM shop_callers_with_carts($1)")
        .bind(users)
        .fetch_all(connection)
        .await?;
    let mut answers = Vec::with_capacity(asked.len());
    let mut rest = found.as_slice();
    for (i, user) in (1_i64..).zip(&asked) {
        let mine = rest
            .iter()
            .take_while(|row| row.try_get::<i64, _>("i").is_ok_and(|n| n == i))
            .count();
        let (own, later) = rest.split_at(mine);
        rest = later;
        answers.push(caller_and_cart(*user, own)?);
    }
    Ok(answers)
}

/// What a cart edit reads, for one caller.
async fn user_with_product(
    connection: &mut PgConnection,
    user: UserId,
    product: ProductId,
) -> Attempt<CallerAndProduct> {
    let (caller, columns) = (
        rows::caller_columns(),
        rows::qualified("p", PRODUCT_COLUMNS),
    );
    let sql = format!(
        "SELECT {caller}, {columns} FROM settings s \
         LEFT JOIN users u ON u.id = $1 LEFT JOIN products p ON p.id = $2 \
         WHERE s.singleton"
    );
    let row = sqlx::query(&sql)
        .bind(user.0)
        .bind(product.0)
        .fetch_one(connection)
        .await?;
    let (caller, settings) = rows::caller(&row)?;
    Ok((caller, settings, rows::joined_product(&row)?))
}

/// What a checkout reads, for one caller.
async fn user_with_cart(connection: &mut PgConnection, user: UserId) -> Attempt<CallerAndCart> {
    let (caller, columns) = (rows::caller_columns(), cart_columns());
    let sql = format!(
        "SELECT {caller}, {columns} FROM settings s \
         LEFT JOIN users u ON u.id = $1 LEFT JOIN carts c ON c.user_id = $1 {CART_PRODUCTS} \
         WHERE s.singleton ORDER BY p.id"
    );
    let found = sqlx::query(&sql).bind(user.0).fetch_all(connection).await?;
    caller_and_cart(user, &found)
}

/// The caller, settings, cart and products of one caller's rows, read with
/// [`rows::caller_columns`] beside [`cart_columns`].
fn caller_and_cart(user: UserId, found: &[PgRow]) -> Attempt<CallerAndCart> {
    let first = found
        .first()
        .ok_or_else(|| Error::internal_msg("the settings row is missing"))?;
    let (caller, settings) = rows::caller(first)?;
    let (cart, products) = cart_and_products(user, found)?;
    Ok((caller, settings, cart, products))
}

/// A cart's version and lines (`carts c`) and the columns of one of its products (`p`).
fn cart_columns() -> String {
    let product = rows::qualified("p", PRODUCT_COLUMNS);
    format!("c.version AS cart_version, c.lines AS cart_lines, {product}")
}

/// Joins each line of a cart, with the product it names where that exists (no line for an
/// empty or missing cart).
const CART_PRODUCTS: &str = "LEFT JOIN LATERAL jsonb_array_elements(c.lines) AS l(line) ON TRUE \
     LEFT JOIN LATERAL (SELECT * FROM products WHERE id = (l.line->>'product')::BIGINT \
     OFFSET 0) p ON TRUE";

/// The cart and products of rows read with [`cart_columns`] and [`CART_PRODUCTS`], one row per
/// line (and one with no line for an empty cart); no rows, or no cart in them, is an empty
/// cart.
fn cart_and_products(user: UserId, found: &[PgRow]) -> Attempt<(Cart, Vec<Product>)> {
    let mut cart = None;
    let mut products = Vec::with_capacity(found.len());
    for row in found {
        if cart.is_none() {
            let version: Option<i64> = row.try_get("cart_version")?;
            let lines: Option<Json<Vec<CartLine>>> = row.try_get("cart_lines")?;
            cart = version.zip(lines);
        }
        products.extend(rows::joined_product(row)?);
    }
    Ok((to_cart(user, cart), products))
}

fn to_cart(user: UserId, row: Option<(i64, Json<Vec<CartLine>>)>) -> Cart {
    match row {
        Some((version, Json(lines))) => Cart {
            user,
            lines,
            version: u64::try_from(version).unwrap_or_default(),
        },
        None => Cart::empty(user),
    }
}

/// Applies `edit` as one call of `shop_edit_cart` (see the purchase commands in the migration)
/// through the store's purchase path (`purchases.rs`). Core's limits go in with it.
pub(crate) async fn edit_cart(
    purchases: &Purchases,
    user: UserId,
    edit: CartEdit,
) -> Attempt<Cart> {
    let command = EditCart::new(user, &edit)?;
    let row = purchases.run(command.into()).await?;
    let row: (i64, Json<Vec<CartLine>>) = (row.try_get("version")?, row.try_get("lines")?);
    Ok(to_cart(user, Some(row)))
}
