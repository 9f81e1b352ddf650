//! The message a staff notice shows: short, with what staff act on (the order, the buyer and
//! the total; the product and the units left; who did not get a message; the invoice and its
//! amount) and a button to the matching admin screen.
//!
//! The reader is checked to be staff when the message is rendered, so a notice queued before
//! someone lost their role is not shown to them. Names come from people and are escaped.

use crate::error::{Error, Forbidden, Result};
use crate::ids::{InvoiceId, UserId};
use crate::notice::Notice;
use crate::outbox::OutboxBody;
use crate::ports::{Button, OutgoingMessage};
use crate::services::Shop;

use super::Action;
use super::markup::{bold, escape};
use super::screens::button;

/// The message that tells `reader` about `notice`.
pub(super) async fn render(
    shop: &Shop,
    reader: UserId,
    notice: &Notice,
) -> Result<OutgoingMessage> {
    if !shop.admin().role(reader).await?.is_staff() {
        return Err(Forbidden::Rank.into());
    }
    let storage = shop.storage();
    let (text, first): (String, Option<Button>) = match notice {
        Notice::OrderPaid { order } => {
            let order = storage
                .order(*order)
                .await?
                .ok_or_else(|| Error::not_found("order", order))?;
            let buyer = person(shop, order.user).await?;
            let mut text = format!(
                "💰 {} paid: {} by {buyer}",
                bold(&format!("Order #{}", order.id)),
                order.total
            );
            for line in &order.lines {
                text.push_str(&format!(
                    "\n• {} × {}",
                    escape(line.name.as_str()),
                    line.quantity
                ));
            }
            let user = order.user;
            (text, Some(button("Buyer", Action::AdminUser { user })))
        }
        Notice::LowStock {
            product,
            available,
            threshold,
        } => {
            let name = storage
                .product(*product)
                .await?
                .ok_or_else(|| Error::not_found("product", product))?
                .name;
            let units = if *available == 1 { "unit" } else { "units" };
            let text = format!(
                "📉 Low stock: {} has {available} {units} left (threshold {threshold}).",
                bold(name.as_str())
            );
            let product = *product;
            (
                text,
                Some(button("Add stock", Action::AdminProduct { product })),
            )
        }
        Notice::DeliveryFailed {
            message,
            user,
            about,
        } => {
            let whom = person(shop, *user).await?;
            let what = match about.as_deref() {
                Some(body) => what(shop, body).await?,
                None => format!("outbox message {message}"),
            };
            let text = format!(
                "⚠️ Delivery failed: {whom} did not get {what} (they blocked the bot, cannot \
                 be reached, or it failed {} times).",
                crate::jobs::MAX_ATTEMPTS
            );
            let user = *user;
            (text, Some(button("User", Action::AdminUser { user })))
        }
        Notice::PaymentReceived { invoice } => {
            let invoice = storage
                .invoice(*invoice)
                .await?
                .ok_or_else(|| Error::not_found("invoice", invoice))?;
            let payer = person(shop, invoice.user).await?;
            let text = format!(
                "💳 Payment received: {} for invoice {} from {payer}.",
                invoice.totals.total, invoice.number
            );
            let user = invoice.user;
            (text, Some(button("Payer", Action::AdminUser { user })))
        }
    };
    let mut row: Vec<Button> = first.into_iter().collect();
    row.push(button("Admin", Action::Admin));
    Ok(OutgoingMessage::new(text, vec![row]))
}

/// What a message given up was about, for staff.
async fn what(shop: &Shop, body: &OutboxBody) -> Result<String> {
    let invoice_number = |id: InvoiceId| async move {
        let invoice = shop.storage().invoice(id).await?;
        Ok::<_, Error>(invoice.map_or_else(|| format!("(id {id})"), |i| i.number.to_string()))
    };
    Ok(match body {
        OutboxBody::OrderDelivered { order } => format!("the keys of order #{order}"),
        OutboxBody::OrderRefunded { order } => format!("the refund notice of order #{order}"),
        OutboxBody::InvoiceIssued { invoice } => {
            format!("invoice {}", invoice_number(*invoice).await?)
        }
        OutboxBody::PaymentReceived { invoice } => format!(
            "the receipt for invoice {}",
            invoice_number(*invoice).await?
        ),
        OutboxBody::StaffNotice { .. } => "a staff notice".to_owned(),
    })
}

/// A person as staff read them: their escaped name and id ("Alice (user 10)").
async fn person(shop: &Shop, id: UserId) -> Result<String> {
    let name = shop.storage().user(id).await?.map(|user| user.name);
    Ok(match name {
        Some(name) => format!("{} (user {id})", escape(name.as_str())),
        None => format!("user {id}"),
    })
}
