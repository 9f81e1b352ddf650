//! The screens a customer sees, each built from service calls for the person asking.
//!
//! Texts are markup (see [`markup`]): everything that came from a person — names,
//! descriptions, keys — goes through [`markup::escape`] or its helpers.

use crate::catalog::Product;
use crate::error::{Error, Result};
use crate::ids::{CategoryId, OrderId, ProductId, UserId};
use crate::order::{Order, OrderStatus};
use crate::outbox::OutboxBody;
use crate::ports::{Button, OutgoingMessage, Page};
use crate::services::Shop;
use crate::text::Quantity;
use crate::wallet::LedgerOp;

use super::markup::{bold, code, escape};
use super::{Action, FlowConfig, Reply};

/// What a button that no longer applies answers.
pub(super) const EXPIRED: &str = "This button has expired.";

/// Items per page of a listing.
const PAGE: usize = 8;

pub(super) fn button(label: impl Into<String>, action: Action) -> Button {
    Button {
        label: label.into(),
        action,
    }
}

pub(super) fn reply(
    text: String,
    buttons: Vec<Vec<Button>>,
    notice: Option<&str>,
) -> Result<Reply> {
    Ok(Reply {
        screen: Some(OutgoingMessage::new(text, buttons)),
        notice: notice.map(str::to_owned),
    })
}

/// Previous / next buttons for page `page` of `total` items.
pub(super) fn pager(page: u32, total: usize, at: impl Fn(u32) -> Action) -> Vec<Button> {
    let mut row = Vec::new();
    if page > 0 {
        row.push(button("‹ Previous", at(page - 1)));
    }
    if (page as usize + 1) * PAGE < total {
        row.push(button("Next ›", at(page + 1)));
    }
    row
}

/// The items of page `page`.
pub(super) fn page_of<T>(items: &[T], page: u32) -> &[T] {
    let start = (page as usize).saturating_mul(PAGE).min(items.len());
    let end = start.saturating_add(PAGE).min(items.len());
    items.get(start..end).unwrap_or_default()
}

/// The screens for one person.
pub(super) struct Screens<'a> {
    pub(super) shop: &'a Shop,
    config: &'a FlowConfig,
    pub(super) user: UserId,
}

impl<'a> Screens<'a> {
    pub(super) fn new(shop: &'a Shop, config: &'a FlowConfig, user: UserId) -> Self {
        Screens { shop, config, user }
    }

    pub(super) async fn press(&self, action: Action) -> Result<Reply> {
        let user = self.user;
        match action {
            Action::Menu => self.menu(None).await,
            Action::Cancel => self.menu(Some("Cancelled.")).await,
            Action::Catalog { page } => self.catalog(page).await,
            Action::Category { category, page } => self.category(category, page).await,
            Action::Product { product } => self.product(product, None).await,
            Action::AddToCart { product, quantity } => {
                let quantity = Quantity::new(quantity)?;
                self.shop.cart().add(user, product, quantity).await?;
                self.product(product, Some("Added to your cart.")).await
            }
            Action::BuyNow { product } => self.confirm_buy_now(product).await,
            Action::ConfirmBuyNow { product, nonce } => self.buy_now(product, nonce).await,
            Action::Cart => self.cart(None).await,
            Action::CartSet { product, quantity } => {
                match quantity {
                    0 => self.shop.cart().remove(user, product).await?,
                    n => {
                        self.shop
                            .cart()
                            .set(user, product, Quantity::new(n)?)
                            .await?
                    }
                };
                self.cart(None).await
            }
            Action::CartRemove { product } => {
                self.shop.cart().remove(user, product).await?;
                self.cart(Some("Removed.")).await
            }
            Action::CartClear => {
                self.shop.cart().clear(user).await?;
                self.cart(Some("Your cart is empty now.")).await
            }
            Action::Checkout { version } => self.confirm(version).await,
            Action::ConfirmCheckout { version } => self.buy(version).await,
            Action::Orders { page } => self.orders(page).await,
            Action::Order { order } => self.order(order, None).await,
            Action::Wallet => self.wallet().await,
            Action::Help => self.help().await,
            // Staff screens are not part of the customer conversation yet.
            _ => self.menu(Some(EXPIRED)).await,
        }
    }

    pub(super) async fn menu(&self, notice: Option<&str>) -> Result<Reply> {
        // Staff see their menu entry; asking for the role also checks the person is not banned.
        let staff = self.shop.admin().role(self.user).await?.is_staff();
        // Asking the catalog checks the shop is open for this person before showing anything.
        if !staff {
            self.shop.catalog().categories(self.user).await?;
        }
        let mut buttons = vec![
            vec![
                button("Catalog", Action::Catalog { page: 0 }),
                button("Cart", Action::Cart),
            ],
            vec![
                button("My orders", Action::Orders { page: 0 }),
                button("Wallet", Action::Wallet),
            ],
            vec![button("Help", Action::Help)],
        ];
        if staff {
            buttons.push(vec![button("Admin", Action::Admin)]);
        }
        reply(
            "Welcome to the shop. What would you like to do?".into(),
            buttons,
            notice,
        )
    }

    pub(super) async fn help(&self) -> Result<Reply> {
        self.shop.catalog().categories(self.user).await?;
        let mut text = "Browse the catalog, put products in your cart and pay from your wallet; \
                    your keys are delivered at once and stay under My orders.\n\n\
                    Commands: /start /catalog /cart /orders /wallet /cancel /help"
            .to_owned();
        if let Some(support) = &self.config.support {
            text.push_str(&format!("\n\nQuestions? Write to {}.", escape(support)));
        }
        reply(text, vec![vec![button("Menu", Action::Menu)]], None)
    }

    pub(super) async fn catalog(&self, page: u32) -> Result<Reply> {
        let catalog = self.shop.catalog();
        let categories = catalog.categories(self.user).await?;
        let loose: Vec<Product> = catalog
            .products(self.user, None)
            .await?
            .into_iter()
            .filter(|p| p.category.is_none())
            .collect();
        let mut items: Vec<Button> = categories
            .iter()
            .map(|c| {
                button(
                    c.name.as_str(),
                    Action::Category {
                        category: c.id,
                        page: 0,
                    },
                )
            })
            .collect();
        items.extend(loose.iter().map(product_button));
        if items.is_empty() {
            let buttons = vec![vec![button("Menu", Action::Menu)]];
            return reply("The catalog is empty for now.".into(), buttons, None);
        }
        let total = items.len();
        let mut rows: Vec<Vec<Button>> = page_of(&items, page)
            .iter()
            .map(|b| vec![b.clone()])
            .collect();
        rows.push(pager(page, total, |page| Action::Catalog { page }));
        rows.push(vec![
            button("Cart", Action::Cart),
            button("Menu", Action::Menu),
        ]);
        rows.retain(|row| !row.is_empty());
        reply("Catalog: choose a category.".into(), rows, None)
    }

    async fn category(&self, category: CategoryId, page: u32) -> Result<Reply> {
        let catalog = self.shop.catalog();
        let name = catalog
            .categories(self.user)
            .await?
            .into_iter()
            .find(|c| c.id == category)
            .map(|c| bold(c.name.as_str()))
            .ok_or_else(|| Error::not_found("category", category))?;
        let products = catalog.products(self.user, Some(category)).await?;
        let mut rows: Vec<Vec<Button>> = page_of(&products, page)
            .iter()
            .map(|p| vec![product_button(p)])
            .collect();
        rows.push(pager(page, products.len(), |page| Action::Category {
            category,
            page,
        }));
        rows.push(vec![
            button("‹ Catalog", Action::Catalog { page: 0 }),
            button("Cart", Action::Cart),
        ]);
        rows.retain(|row| !row.is_empty());
        let text = if products.is_empty() {
            format!("{name}: nothing here yet.")
        } else {
            format!("{name}: choose a product.")
        };
        reply(text, rows, None)
    }

    pub(super) async fn product(&self, id: ProductId, notice: Option<&str>) -> Result<Reply> {
        let (product, counts) = self.shop.catalog().product(self.user, id).await?;
        let available = !product.kind.uses_stock() || counts.available > 0;
        let stock = match (product.kind.uses_stock(), counts.available) {
            (false, _) => "Available".to_owned(),
            (true, 0) => "Sold out".to_owned(),
            (true, n) => format!("In stock: {n}"),
        };
        let mut text = format!("{}\n{}\n", bold(product.name.as_str()), product.price);
        if !product.description.as_str().is_empty() {
            text.push_str(&format!("\n{}\n", escape(product.description.as_str())));
        }
        text.push_str(&format!("\n{stock}"));
        let back = match product.category {
            Some(category) => Action::Category { category, page: 0 },
            None => Action::Catalog { page: 0 },
        };
        let mut rows = Vec::new();
        if available {
            let add = Action::AddToCart {
                product: id,
                quantity: 1,
            };
            let now = Action::BuyNow { product: id };
            rows.push(vec![button("Buy now", now), button("Add to cart", add)]);
        }
        rows.push(vec![button("‹ Back", back), button("Cart", Action::Cart)]);
        let mut reply = reply(text, rows, notice)?;
        if let Some(screen) = &mut reply.screen {
            screen.image = product.image;
        }
        Ok(reply)
    }

    pub(super) async fn cart(&self, notice: Option<&str>) -> Result<Reply> {
        let cart = self.shop.cart().view(self.user).await?;
        if cart.is_empty() {
            let buttons = vec![vec![
                button("Catalog", Action::Catalog { page: 0 }),
                button("Menu", Action::Menu),
            ]];
            return reply("Your cart is empty.".into(), buttons, notice);
        }
        let mut text = String::from("Your cart:\n");
        let mut rows = Vec::new();
        let mut total: Option<crate::money::Money> = None;
        for line in &cart.lines {
            let quantity = line.quantity.get();
            let product = self.shop.catalog().product(self.user, line.product).await;
            let name = match &product {
                Ok((product, _)) => {
                    let amount = product.price.checked_mul(i64::from(quantity))?;
                    total = Some(match total {
                        Some(sum) => sum.checked_add(amount)?,
                        None => amount,
                    });
                    let name = escape(product.name.as_str());
                    text.push_str(&format!("• {name} × {quantity} — {amount}\n"));
                    product.name.to_string()
                }
                Err(_) => {
                    text.push_str(&format!("• product {} is no longer sold\n", line.product));
                    format!("product {}", line.product)
                }
            };
            let id = line.product;
            let mut row = vec![button(
                format!("− {}", short(&name)),
                Action::CartSet {
                    product: id,
                    quantity: quantity - 1,
                },
            )];
            if quantity < Quantity::MAX {
                row.push(button(
                    "+",
                    Action::CartSet {
                        product: id,
                        quantity: quantity + 1,
                    },
                ));
            }
            row.push(button("✕", Action::CartRemove { product: id }));
            rows.push(row);
        }
        if let Some(total) = total {
            text.push_str(&format!("\nTotal: {total}"));
        }
        rows.push(vec![
            button(
                "Checkout",
                Action::Checkout {
                    version: cart.version,
                },
            ),
            button("Empty cart", Action::CartClear),
        ]);
        rows.push(vec![
            button("Catalog", Action::Catalog { page: 0 }),
            button("Menu", Action::Menu),
        ]);
        reply(text, rows, notice)
    }

    pub(super) async fn orders(&self, page: u32) -> Result<Reply> {
        let orders = self.shop.checkout().orders(self.user, 100).await?;
        if orders.is_empty() {
            let buttons = vec![vec![
                button("Catalog", Action::Catalog { page: 0 }),
                button("Menu", Action::Menu),
            ]];
            return reply("You have no orders yet.".into(), buttons, None);
        }
        let mut rows: Vec<Vec<Button>> = page_of(&orders, page)
            .iter()
            .map(|o| {
                let label = format!("#{} · {} · {}", o.id, o.total, status(o.status));
                vec![button(label, Action::Order { order: o.id })]
            })
            .collect();
        rows.push(pager(page, orders.len(), |page| Action::Orders { page }));
        rows.push(vec![button("Menu", Action::Menu)]);
        rows.retain(|row| !row.is_empty());
        reply("Your orders:".into(), rows, None)
    }

    pub(super) async fn order(&self, id: OrderId, notice: Option<&str>) -> Result<Reply> {
        let order = self.shop.checkout().order(self.user, id).await?;
        reply(
            order_text(&order),
            vec![vec![
                button("‹ My orders", Action::Orders { page: 0 }),
                button("Menu", Action::Menu),
            ]],
            notice,
        )
    }

    pub(super) async fn wallet(&self) -> Result<Reply> {
        let wallet = self.shop.wallet();
        let balance = wallet.balance(self.user).await?;
        let mut text = format!(
            "<b>Your wallet</b>\nBalance: {}\nHeld: {}\nAvailable: {}",
            balance.balance,
            balance.held,
            balance.available()
        );
        let recent = wallet.history(self.user, Page::first(5)).await?;
        if !recent.is_empty() {
            text.push_str("\n\nRecent:");
            for entry in recent {
                text.push_str(&format!(
                    "\n• {} {} {}",
                    entry.at.to_string().get(..10).unwrap_or_default(),
                    signed(entry.balance_delta),
                    movement(&entry.op)
                ));
            }
        }
        reply(text, vec![vec![button("Menu", Action::Menu)]], None)
    }
}

impl Screens<'_> {
    /// The message for a state change queued in the outbox.
    pub(super) async fn outbox(&self, body: &OutboxBody) -> Result<OutgoingMessage> {
        let menu = vec![vec![
            button("My orders", Action::Orders { page: 0 }),
            button("Menu", Action::Menu),
        ]];
        let text = match body {
            OutboxBody::OrderDelivered { order } => {
                let order = self.shop.checkout().order(self.user, *order).await?;
                format!("Your order is ready.\n\n{}", order_text(&order))
            }
            OutboxBody::OrderRefunded { order } => {
                format!("Order #{order} was refunded to your wallet.")
            }
            OutboxBody::InvoiceIssued { invoice } => {
                let invoice = self.shop.invoices().view(self.user, *invoice).await?;
                format!(
                    "<b>Invoice {}</b>: {} to pay.",
                    invoice.number, invoice.totals.total
                )
            }
            OutboxBody::PaymentReceived { invoice } => {
                let invoice = self.shop.invoices().view(self.user, *invoice).await?;
                format!(
                    "Payment received for invoice {}: {}. Thank you!",
                    invoice.number, invoice.totals.total
                )
            }
            // Staff notices have their own buttons, to the admin screens.
            OutboxBody::StaffNotice { notice } => {
                return super::staff_notice::render(self.shop, self.user, notice).await;
            }
        };
        Ok(OutgoingMessage::new(text, menu))
    }
}

fn product_button(product: &Product) -> Button {
    let label = format!("{} · {}", short(product.name.as_str()), product.price);
    button(
        label,
        Action::Product {
            product: product.id,
        },
    )
}

/// A name cut to fit a button.
pub(super) fn short(name: &str) -> String {
    const MAX: usize = 32;
    if name.chars().count() <= MAX {
        return name.to_owned();
    }
    let cut: String = name.chars().take(MAX - 1).collect();
    format!("{cut}…")
}

fn status(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::AwaitingPayment => "awaiting payment",
        OrderStatus::Paid => "paid",
        OrderStatus::Refunded => "refunded",
        OrderStatus::Cancelled => "cancelled",
    }
}

fn signed(amount: crate::money::Money) -> String {
    if amount.minor > 0 {
        format!("+{amount}")
    } else {
        amount.to_string()
    }
}

fn movement(op: &LedgerOp) -> &'static str {
    match op {
        LedgerOp::Deposit { .. } => "top-up",
        LedgerOp::Hold { .. } => "held",
        LedgerOp::Capture { .. } => "paid from hold",
        LedgerOp::Release { .. } => "released",
        LedgerOp::Refund { .. } => "refund",
        LedgerOp::Adjustment { .. } => "adjustment",
        LedgerOp::Charge { .. } => "purchase",
    }
}

/// An order with its lines and, once paid, its keys.
fn order_text(order: &Order) -> String {
    let mut text = format!(
        "<b>Order #{}</b> · {} · {}\n",
        order.id,
        order.total,
        status(order.status)
    );
    for line in &order.lines {
        text.push_str(&format!(
            "\n• {} × {} — {}",
            escape(line.name.as_str()),
            line.quantity,
            line.unit_price
        ));
    }
    let mut delivered = order.delivered_units().peekable();
    if delivered.peek().is_some() {
        text.push_str("\n\n<b>Your keys:</b>");
        for (line, unit) in delivered {
            text.push_str(&format!(
                "\n{}: {}",
                escape(line.name.as_str()),
                code(unit.payload.as_str())
            ));
        }
    }
    text
}
