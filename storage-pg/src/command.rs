//! The purchase commands as the server-side functions take them: one JSON object per command,
//! read into the SQL type `shop_command` (see the group runner in the migration) and passed
//! on to `shop_edit_cart` or `shop_commit_checkout`.
//!
//! Everything core's rules decide (the fingerprint, which kinds keep stock, whether the total
//! adds up, an invoice's lines and totals, the ledger key and operation) is worked out here,
//! in Rust, so the SQL repeats none of them. A field left out reads as NULL, so empty ones are
//! not sent: the server parses a group's JSON before anything else.

use serde::Serialize;
use serde_json::Value;

use shopbot_core::Error;
use shopbot_core::cart::{Cart, CartEdit};
use shopbot_core::ids::OrderId;
use shopbot_core::order::{self, CheckoutPayment, CheckoutRequest};
use shopbot_core::text::{IdempotencyKey, Quantity};
use shopbot_core::wallet::LedgerOp;

/// One purchase command, tagged with its kind (`op`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Command {
    /// A cart edit (`shop_edit_cart`).
    EditCart(EditCart),
    /// A checkout (`shop_commit_checkout`).
    CommitCheckout(Box<CommitCheckout>),
}

/// A cart edit, with core's limits on a cart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EditCart {
    /// The buyer.
    pub user_id: i64,
    /// `add`, `set`, `remove` or `clear`.
    pub edit: &'static str,
    /// The product the edit names (all but `clear`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<i64>,
    /// The quantity to add or set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<i32>,
    /// The most lines a cart holds ([`Cart::MAX_LINES`]).
    pub max_lines: i32,
    /// The largest quantity of one line ([`Quantity::MAX`]).
    pub max_quantity: i32,
}

impl EditCart {
    /// `edit` of `user`'s cart.
    pub fn new(user: shopbot_core::ids::UserId, edit: &CartEdit) -> Result<EditCart, Error> {
        let (name, product, quantity) = match *edit {
            CartEdit::Add { product, quantity } => ("add", Some(product), Some(quantity)),
            CartEdit::Set { product, quantity } => ("set", Some(product), Some(quantity)),
            CartEdit::Remove { product } => ("remove", Some(product), None),
            CartEdit::Clear => ("clear", None, None),
        };
        Ok(EditCart {
            user_id: user.0,
            edit: name,
            product: product.map(|p| p.0),
            quantity: quantity.map(|q| small(q.get())).transpose()?,
            max_lines: small(Cart::MAX_LINES)?,
            max_quantity: small(Quantity::MAX)?,
        })
    }
}

/// A checkout: from the cart (with its version) or bought at once (no version), paid from the
/// wallet (`ledger_key` and `charge`) or by an invoice (the `invoice_*` fields).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommitCheckout {
    /// The buyer.
    pub user_id: i64,
    /// The checkout's idempotency key.
    pub key: String,
    /// The request's fingerprint: a key used again must carry the same one.
    pub fingerprint: String,
    /// The cart version the buyer saw; none for a purchase bought at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cart_version: Option<i64>,
    /// Each line's product…
    pub products: Vec<i64>,
    /// …its name…
    pub names: Vec<String>,
    /// …its kind…
    pub kinds: Vec<&'static str>,
    /// …the quantity bought…
    pub quantities: Vec<i32>,
    /// …the unit price in minor units…
    pub prices: Vec<i64>,
    /// …its currency…
    pub currencies: Vec<String>,
    /// …whether the kind keeps stock…
    pub uses_stock: Vec<bool>,
    /// …and where its claim of free units starts: after the newest unit this store sold of
    /// the product, if it knows one (`claims.rs`).
    pub free_after: Vec<Option<i64>>,
    /// The request's total in minor units.
    pub total: i64,
    /// The total's currency.
    pub currency: String,
    /// Whether the total is the sum of the lines, by core's rules.
    pub total_adds_up: bool,
    /// The ledger entry's key, for a wallet checkout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger_key: Option<String>,
    /// The ledger operation, for a wallet checkout (the order's id is filled in by the
    /// function).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charge: Option<Value>,
    /// The invoice's lines, for an invoice checkout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_lines: Option<Value>,
    /// The invoice's tax rate in basis points.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_bp: Option<i32>,
    /// The invoice's subtotal in minor units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subtotal: Option<i64>,
    /// The invoice's tax in minor units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax: Option<i64>,
    /// The invoice's total in minor units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_total: Option<i64>,
    /// What the invoice is for (the order's id is filled in by the function).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose: Option<Value>,
    /// When the invoice falls due, in Unix milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at_ms: Option<i64>,
    /// When the checkout happens, in Unix milliseconds.
    pub at_ms: i64,
}

impl CommitCheckout {
    /// `request` as the function takes it, each line's claim starting after `free_after` (one
    /// per line, or none at all for claims from each product's first unit).
    pub fn new(request: &CheckoutRequest, free_after: Vec<Option<i64>>) -> Result<Self, Error> {
        let lines = &request.lines;
        let adds_up = order::total(lines).is_ok_and(|t| t == request.total);
        let mut command = CommitCheckout {
            user_id: request.user.0,
            key: request.key.as_str().to_owned(),
            fingerprint: request.fingerprint().0,
            cart_version: request
                .cart_version
                .map(i64::try_from)
                .transpose()
                .map_err(Error::internal)?,
            products: lines.iter().map(|l| l.product.0).collect(),
            names: lines.iter().map(|l| l.name.as_str().to_owned()).collect(),
            kinds: lines.iter().map(|l| l.kind.as_str()).collect(),
            quantities: lines
                .iter()
                .map(|l| small(l.quantity.get()))
                .collect::<Result<_, _>>()?,
            prices: lines.iter().map(|l| l.unit_price.minor).collect(),
            currencies: lines
                .iter()
                .map(|l| l.unit_price.currency.code().to_owned())
                .collect(),
            uses_stock: lines.iter().map(|l| l.kind.uses_stock()).collect(),
            free_after,
            total: request.total.minor,
            currency: request.total.currency.code().to_owned(),
            total_adds_up: adds_up,
            ledger_key: None,
            charge: None,
            invoice_lines: None,
            tax_bp: None,
            subtotal: None,
            tax: None,
            invoice_total: None,
            purpose: None,
            due_at_ms: None,
            at_ms: request.at.0,
        };
        match request.payment {
            CheckoutPayment::Wallet => {
                let charge = LedgerOp::Charge {
                    amount: request.total,
                    order: Some(OrderId(0)),
                    invoice: None,
                };
                let key = IdempotencyKey::derived("checkout", &request.key);
                command.ledger_key = Some(key.as_str().to_owned());
                command.charge = Some(json(&charge)?);
            }
            CheckoutPayment::Invoice { .. } => {
                let invoice = request
                    .order_invoice(OrderId(0))?
                    .ok_or_else(|| Error::internal_msg("an invoice checkout without an invoice"))?;
                command.invoice_lines = Some(json(&invoice.lines)?);
                command.tax_bp = Some(small(invoice.tax.bp())?);
                command.subtotal = Some(invoice.totals.subtotal.minor);
                command.tax = Some(invoice.totals.tax.minor);
                command.invoice_total = Some(invoice.totals.total.minor);
                command.purpose = Some(json(&invoice.purpose)?);
                command.due_at_ms = invoice.due_at.map(|t| t.0);
            }
        }
        Ok(command)
    }
}

impl From<EditCart> for Command {
    fn from(edit: EditCart) -> Self {
        Command::EditCart(edit)
    }
}

impl From<CommitCheckout> for Command {
    fn from(checkout: CommitCheckout) -> Self {
        Command::CommitCheckout(Box::new(checkout))
    }
}

/// `n` as the `INT` the functions take.
fn small<N>(n: N) -> Result<i32, Error>
where
    i32: TryFrom<N>,
    <i32 as TryFrom<N>>::Error: std::error::Error + Send + Sync + 'static,
{
    i32::try_from(n).map_err(Error::internal)
}

fn json(value: &impl Serialize) -> Result<Value, Error> {
    serde_json::to_value(value).map_err(Error::internal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shopbot_core::ids::{ProductId, UserId};
    use shopbot_core::text::Quantity;

    #[test]
    fn an_edit_leaves_out_what_it_does_not_name_and_carries_its_kind() {
        let clear = Command::from(EditCart::new(UserId(4), &CartEdit::Clear).unwrap());
        let value = serde_json::to_value(&clear).unwrap();
        assert_eq!(value["op"], "edit_cart");
        assert_eq!(value["edit"], "clear");
        assert!(value.get("product").is_none() && value.get("quantity").is_none());
        let add = CartEdit::Add {
            product: ProductId(9),
            quantity: Quantity::new(3).unwrap(),
        };
        let value = serde_json::to_value(Command::from(EditCart::new(UserId(4), &add).unwrap()));
        let value = value.unwrap();
        assert_eq!(
            (value["product"].clone(), value["quantity"].clone()),
            (9.into(), 3.into())
        );
    }
}
