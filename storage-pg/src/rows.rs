//! Reading rows into core types. Each `*_COLUMNS` list goes with the function that reads it.

use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use time::OffsetDateTime;

use shopbot_core::Error;
use shopbot_core::audit::{AuditEntry, AuditRecord};
use shopbot_core::catalog::{Category, Product, ProductKind};
use shopbot_core::dialogue::Dialogue;
use shopbot_core::idempotency::Fingerprint;
use shopbot_core::ids::{
    AuditId, CategoryId, ChatId, EntryId, InvoiceId, OrderId, OutboxId, ProductId, UserId,
};
use shopbot_core::invoice::{Invoice, InvoiceStatus, TaxRate, Totals};
use shopbot_core::jobs::{JobRecord, JobRound};
use shopbot_core::order::{DeliveredUnit, Order, OrderLine, OrderPayment};
use shopbot_core::outbox::{OutboxMessage, OutboxStatus};
use shopbot_core::ports::Settings;
use shopbot_core::text::{
    CategoryName, Description, IdempotencyKey, ImageRef, Note, PersonName, ProductName, Quantity,
};
use shopbot_core::user::{Role, User};
use shopbot_core::wallet::{LedgerEntry, LedgerRequest};

use crate::convert::{from_db, money, parsed};

type Read<T> = Result<T, Error>;

fn get<'r, T>(row: &'r PgRow, column: &str) -> Read<T>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(column).map_err(Error::internal)
}

fn time(row: &PgRow, column: &str) -> Read<shopbot_core::time::Timestamp> {
    get::<OffsetDateTime>(row, column).map(from_db)
}

fn opt_time(row: &PgRow, column: &str) -> Read<Option<shopbot_core::time::Timestamp>> {
    Ok(get::<Option<OffsetDateTime>>(row, column)?.map(from_db))
}

/// `columns` (a `*_COLUMNS` list) each prefixed with `table.`.
pub(crate) fn qualified(table: &str, columns: &str) -> String {
    columns
        .split(", ")
        .map(|c| format!("{table}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) const USER_COLUMNS: &str = "id, name, role, banned, created_at";

pub(crate) fn user(row: &PgRow) -> Read<User> {
    user_named(row, |column| column.to_owned())
}

/// The user in [`USER_COLUMNS`], each read under the name `name` gives it.
fn user_named(row: &PgRow, name: impl Fn(&str) -> String) -> Read<User> {
    let role: String = get(row, &name("role"))?;
    Ok(User {
        id: UserId(get(row, &name("id"))?),
        name: PersonName::lenient(&get::<String>(row, &name("name"))?),
        role: Role::parse(&role).ok_or_else(|| Error::internal_msg("stored role unknown"))?,
        banned: get(row, &name("banned"))?,
        created_at: time(row, &name("created_at"))?,
    })
}

/// Who is asking and the shop-wide switches, from `settings s` and `users u`: the user's
/// [`USER_COLUMNS`] renamed `user_…`, so another table's columns can stand beside them.
pub(crate) fn caller_columns() -> String {
    let user: Vec<String> = USER_COLUMNS
        .split(", ")
        .map(|c| format!("u.{c} AS user_{c}"))
        .collect();
    format!("s.maintenance, {}", user.join(", "))
}

/// The caller and settings of a row read with [`caller_columns`].
pub(crate) fn caller(row: &PgRow) -> Read<(Option<User>, Settings)> {
    let user = match get::<Option<i64>>(row, "user_id")? {
        Some(_) => Some(user_named(row, |column| format!("user_{column}"))?),
        None => None,
    };
    let maintenance = get(row, "maintenance")?;
    Ok((user, Settings { maintenance }))
}

pub(crate) const CATEGORY_COLUMNS: &str = "id, name, created_at";

pub(crate) fn category(row: &PgRow) -> Read<Category> {
    Ok(Category {
        id: CategoryId(get(row, "id")?),
        name: parsed(
            CategoryName::parse(&get::<String>(row, "name")?),
            "category name",
        )?,
        created_at: time(row, "created_at")?,
    })
}

pub(crate) const PRODUCT_COLUMNS: &str =
    "id, category_id, name, description, kind, price_minor, currency, hidden, image, created_at";

pub(crate) fn product(row: &PgRow) -> Read<Product> {
    let kind: String = get(row, "kind")?;
    let image: Option<String> = get(row, "image")?;
    Ok(Product {
        id: ProductId(get(row, "id")?),
        category: get::<Option<i64>>(row, "category_id")?.map(CategoryId),
        name: parsed(
            ProductName::parse(&get::<String>(row, "name")?),
            "product name",
        )?,
        description: parsed(
            Description::parse(&get::<String>(row, "description")?),
            "description",
        )?,
        kind: ProductKind::parse(&kind)
            .ok_or_else(|| Error::internal_msg("stored kind unknown"))?,
        price: money(get(row, "price_minor")?, &get::<String>(row, "currency")?)?,
        hidden: get(row, "hidden")?,
        image: image
            .map(|i| parsed(ImageRef::parse(&i), "image reference"))
            .transpose()?,
        created_at: time(row, "created_at")?,
    })
}

/// The product of a row whose [`PRODUCT_COLUMNS`] come from an outer join: none when they
/// are empty.
pub(crate) fn joined_product(row: &PgRow) -> Read<Option<Product>> {
    match get::<Option<i64>>(row, "id")? {
        Some(_) => product(row).map(Some),
        None => Ok(None),
    }
}

pub(crate) const ENTRY_COLUMNS: &str =
    "id, user_id, idem_key, op, currency, balance_delta_minor, held_delta_minor, note, at";

pub(crate) fn entry(row: &PgRow) -> Read<LedgerEntry> {
    let currency: String = get(row, "currency")?;
    let note: Option<String> = get(row, "note")?;
    Ok(LedgerEntry {
        id: EntryId(get(row, "id")?),
        user: UserId(get(row, "user_id")?),
        key: parsed(
            IdempotencyKey::parse(&get::<String>(row, "idem_key")?),
            "key",
        )?,
        op: get::<Json<_>>(row, "op")?.0,
        balance_delta: money(get(row, "balance_delta_minor")?, &currency)?,
        held_delta: money(get(row, "held_delta_minor")?, &currency)?,
        note: note.map(|n| parsed(Note::parse(&n), "note")).transpose()?,
        at: time(row, "at")?,
    })
}

/// The fingerprint of the request that wrote a ledger entry: the stored one, or for an entry
/// written by a server-side function (stored as NULL) that of the entry's own request, which
/// is what every backend records for an entry another command derives.
pub(crate) fn entry_fingerprint(row: &PgRow, entry: &LedgerEntry) -> Read<Fingerprint> {
    Ok(match get::<Option<String>>(row, "fingerprint")? {
        Some(stored) => Fingerprint(stored),
        None => LedgerRequest {
            user: entry.user,
            key: entry.key.clone(),
            op: entry.op,
            note: entry.note.clone(),
            at: entry.at,
        }
        .fingerprint(),
    })
}

pub(crate) const INVOICE_COLUMNS: &str = "id, number, user_id, lines, tax_bp, subtotal_minor, \
     tax_minor, total_minor, currency, purpose, status, payment, due_at, created_at, closed_at";

pub(crate) fn invoice(row: &PgRow) -> Read<Invoice> {
    let currency: String = get(row, "currency")?;
    let status: String = get(row, "status")?;
    let tax_bp: i32 = get(row, "tax_bp")?;
    let number: i64 = get(row, "number")?;
    Ok(Invoice {
        id: InvoiceId(get(row, "id")?),
        number: u64::try_from(number).map_err(Error::internal)?,
        user: UserId(get(row, "user_id")?),
        lines: get::<Json<_>>(row, "lines")?.0,
        tax: parsed(
            u32::try_from(tax_bp)
                .map_err(|e| e.to_string())
                .and_then(|bp| TaxRate::from_bp(bp).map_err(|e| e.to_string())),
            "tax rate",
        )?,
        totals: Totals {
            subtotal: money(get(row, "subtotal_minor")?, &currency)?,
            tax: money(get(row, "tax_minor")?, &currency)?,
            total: money(get(row, "total_minor")?, &currency)?,
        },
        purpose: get::<Json<_>>(row, "purpose")?.0,
        status: InvoiceStatus::parse(&status)
            .ok_or_else(|| Error::internal_msg("stored invoice status unknown"))?,
        payment: get::<Option<Json<_>>>(row, "payment")?.map(|j| j.0),
        due_at: opt_time(row, "due_at")?,
        created_at: time(row, "created_at")?,
        closed_at: opt_time(row, "closed_at")?,
    })
}

pub(crate) const OUTBOX_COLUMNS: &str =
    "id, user_id, body, status, attempts, not_before, created_at";

pub(crate) fn outbox(row: &PgRow) -> Read<OutboxMessage> {
    let status = match get::<String>(row, "status")?.as_str() {
        "pending" => OutboxStatus::Pending,
        "sent" => OutboxStatus::Sent,
        "failed" => OutboxStatus::Failed,
        _ => return Err(Error::internal_msg("stored outbox status unknown")),
    };
    let attempts: i32 = get(row, "attempts")?;
    Ok(OutboxMessage {
        id: OutboxId(get(row, "id")?),
        user: UserId(get(row, "user_id")?),
        body: get::<Json<_>>(row, "body")?.0,
        status,
        attempts: u32::try_from(attempts).unwrap_or_default(),
        not_before: time(row, "not_before")?,
        created_at: time(row, "created_at")?,
    })
}

pub(crate) fn dialogue(row: &PgRow) -> Read<Dialogue> {
    Ok(Dialogue {
        chat: ChatId(get(row, "chat_id")?),
        user: UserId(get(row, "user_id")?),
        state: get(row, "state")?,
        expires_at: time(row, "expires_at")?,
    })
}

pub(crate) fn audit(row: &PgRow) -> Read<AuditEntry> {
    Ok(AuditEntry {
        id: AuditId(get(row, "id")?),
        record: AuditRecord {
            actor: UserId(get(row, "actor")?),
            action: get(row, "action")?,
            at: time(row, "at")?,
        },
    })
}

/// One row of `order_lines`: product, name, kind, quantity, unit price.
pub(crate) type LineRow = (i64, String, String, i32, i64);

/// An order line from its row, in the order's currency, with the units it holds.
pub(crate) fn order_line(
    (product, name, kind, quantity, price): LineRow,
    currency: &str,
    units: Vec<DeliveredUnit>,
) -> Read<OrderLine> {
    Ok(OrderLine {
        product: ProductId(product),
        name: parsed(ProductName::parse(&name), "product name")?,
        kind: ProductKind::parse(&kind)
            .ok_or_else(|| Error::internal_msg("stored kind unknown"))?,
        quantity: parsed(
            u32::try_from(quantity)
                .map_err(|e| e.to_string())
                .and_then(|q| Quantity::new(q).map_err(|e| e.to_string())),
            "quantity",
        )?,
        unit_price: money(price, currency)?,
        units,
    })
}

pub(crate) const ORDER_COLUMNS: &str =
    "id, user_id, idem_key, cart_version, total_minor, currency, status, invoice_id, created_at";

/// An order from its row and its lines (read with [`order_line`]).
pub(crate) fn order(row: &PgRow, lines: Vec<OrderLine>) -> Read<Order> {
    let currency: String = get(row, "currency")?;
    let invoice: Option<i64> = get(row, "invoice_id")?;
    let cart_version: Option<i64> = get(row, "cart_version")?;
    Ok(Order {
        id: OrderId(get(row, "id")?),
        user: UserId(get(row, "user_id")?),
        lines,
        total: money(get(row, "total_minor")?, &currency)?,
        status: crate::convert::status_of(&get::<String>(row, "status")?)?,
        payment: match invoice {
            Some(invoice) => OrderPayment::Invoice {
                invoice: InvoiceId(invoice),
            },
            None => OrderPayment::Wallet,
        },
        key: parsed(
            IdempotencyKey::parse(&get::<String>(row, "idem_key")?),
            "key",
        )?,
        cart_version: cart_version
            .map(u64::try_from)
            .transpose()
            .map_err(Error::internal)?,
        created_at: time(row, "created_at")?,
    })
}

pub(crate) const JOB_COLUMNS: &str = "name, rounds, requested_at, last_started_at, \
    last_finished_at, last_succeeded, last_count, last_summary, last_consecutive_failures, \
    last_next_due";

pub(crate) fn job_record(row: &PgRow) -> Read<JobRecord> {
    let name: String = get(row, "name")?;
    let last = match opt_time(row, "last_started_at")? {
        None => None,
        Some(started_at) => Some(JobRound {
            name: name.clone(),
            started_at,
            finished_at: time(row, "last_finished_at")?,
            succeeded: get(row, "last_succeeded")?,
            count: parsed(
                u64::try_from(get::<i64>(row, "last_count")?),
                "job round count",
            )?,
            summary: get(row, "last_summary")?,
            consecutive_failures: parsed(
                u32::try_from(get::<i64>(row, "last_consecutive_failures")?),
                "job failure count",
            )?,
            next_due: time(row, "last_next_due")?,
        }),
    };
    Ok(JobRecord {
        name,
        last,
        rounds: parsed(u64::try_from(get::<i64>(row, "rounds")?), "job round total")?,
        requested_at: opt_time(row, "requested_at")?,
    })
}
