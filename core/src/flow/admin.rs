//! The staff screens: the admin menu, products, stock, users, maintenance (and the notices
//! a staff member gets, in [`super::notices`]).
//!
//! Every screen calls an admin service, which checks the person's role on that very call; a
//! customer who replays an admin button is refused by the service, not by this module. The
//! dialogues that collect typed input live in [`super::steps`].

use crate::catalog::Product;
use crate::error::Result;
use crate::ids::{ProductId, UserId};
use crate::ports::Button;
use crate::stock::StockCounts;
use crate::user::Permission;

use super::dialogue::{Dialogues, Step};
use super::markup::{bold, escape};
use super::screens::{Screens, button, page_of, pager, reply, short};
use super::{Action, Reply};

/// The staff side of the conversation for one person.
pub(super) struct Admin<'a> {
    pub(super) screens: &'a Screens<'a>,
    pub(super) dialogue: &'a Dialogues<'a>,
}

impl<'a> Admin<'a> {
    pub(super) fn new(screens: &'a Screens<'a>, dialogue: &'a Dialogues<'a>) -> Self {
        Admin { screens, dialogue }
    }

    pub(super) fn user(&self) -> UserId {
        self.screens.user
    }

    pub(super) fn service(&self) -> crate::services::AdminService {
        self.screens.shop.admin()
    }

    /// A staff button.
    pub(super) async fn press(&self, action: Action) -> Result<Reply> {
        let admin = self.service();
        let me = self.user();
        match action {
            Action::Admin => self.menu(None).await,
            Action::AdminNewProduct => {
                admin.require(me, Permission::ManageCatalog).await?;
                self.ask(Step::ProductName).await
            }
            Action::AdminProducts { page } => self.products(page).await,
            Action::AdminProduct { product } => self.product(product, None).await,
            Action::AdminEditPrice { product } => {
                admin.require(me, Permission::ManageCatalog).await?;
                admin.product(me, product).await?;
                self.ask(Step::Price { product }).await
            }
            Action::AdminSetHidden { product, hidden } => {
                let patch = crate::catalog::ProductPatch {
                    hidden: Some(hidden),
                    ..Default::default()
                };
                admin.update_product(me, product, patch).await?;
                let notice = if hidden {
                    "Hidden from customers."
                } else {
                    "Shown to customers."
                };
                self.product(product, Some(notice)).await
            }
            Action::AdminAddStock { product } => {
                admin.require(me, Permission::ManageStock).await?;
                admin.product(me, product).await?;
                self.ask(Step::Stock { product }).await
            }
            Action::AdminLowStock => self.low_stock().await,
            Action::AdminFindUser => {
                admin.require(me, Permission::ViewUsers).await?;
                self.ask(Step::FindUser).await
            }
            Action::AdminUser { user } => self.person(user, None).await,
            Action::AdminSetBanned { user, banned } => {
                admin.set_banned(me, user, banned).await?;
                let notice = if banned { "Banned." } else { "Unbanned." };
                self.person(user, Some(notice)).await
            }
            Action::AdminCredit { user } => {
                admin.require(me, Permission::AdjustWallets).await?;
                admin.user(me, user).await?;
                let started = self.screens.shop.clock().now();
                self.ask(Step::Credit { user, started }).await
            }
            Action::AdminMaintenance { on } => {
                admin.set_maintenance(me, on).await?;
                let notice = if on {
                    "Maintenance is on: customers see a notice."
                } else {
                    "Maintenance is off: the shop is open."
                };
                self.menu(Some(notice)).await
            }
            Action::AdminNotices => self.notices(None).await,
            Action::AdminSetNotice { kind, on } => self.set_notice(kind, on).await,
            // Customer buttons never reach here; answer them as stale all the same.
            _ => self.screens.menu(Some(super::screens::EXPIRED)).await,
        }
    }

    /// The admin menu, with the entries the person's role allows.
    pub(super) async fn menu(&self, notice: Option<&str>) -> Result<Reply> {
        let admin = self.service();
        let settings = admin.settings(self.user()).await?;
        let role = admin.role(self.user()).await?;
        let allowed = |p: Permission| role.allows(p);
        let mut rows = Vec::new();
        if allowed(Permission::ManageCatalog) {
            rows.push(vec![button("Add product", Action::AdminNewProduct)]);
        }
        rows.push(vec![
            button("Products", Action::AdminProducts { page: 0 }),
            button("Low stock", Action::AdminLowStock),
        ]);
        if allowed(Permission::ViewUsers) {
            rows.push(vec![button("Find user", Action::AdminFindUser)]);
        }
        if allowed(Permission::Maintenance) {
            let (label, on) = if settings.maintenance {
                ("Open the shop", false)
            } else {
                ("Maintenance on", true)
            };
            rows.push(vec![button(label, Action::AdminMaintenance { on })]);
        }
        rows.push(vec![button("My notices", Action::AdminNotices)]);
        rows.push(vec![button("‹ Menu", Action::Menu)]);
        let state = if settings.maintenance {
            "closed for maintenance"
        } else {
            "open"
        };
        let text = format!("<b>Admin</b> ({})\nThe shop is {state}.", role.as_str());
        reply(text, rows, notice)
    }

    async fn products(&self, page: u32) -> Result<Reply> {
        let admin = self.service();
        let products = admin.products(self.user()).await?;
        let levels = admin.stock_levels(self.user()).await?;
        let available = |id: ProductId| {
            levels
                .iter()
                .find(|(p, _)| p.id == id)
                .map(|(_, c)| c.available)
        };
        let mut rows: Vec<_> = page_of(&products, page)
            .iter()
            .map(|p| vec![product_button(p, available(p.id))])
            .collect();
        rows.push(pager(page, products.len(), |page| Action::AdminProducts {
            page,
        }));
        rows.push(vec![button("‹ Admin", Action::Admin)]);
        rows.retain(|row| !row.is_empty());
        let text = match products.len() {
            0 => "No products yet.".to_owned(),
            n => format!("<b>Products</b> ({n})"),
        };
        reply(text, rows, None)
    }

    pub(super) async fn product(&self, id: ProductId, notice: Option<&str>) -> Result<Reply> {
        let admin = self.service();
        let (product, counts) = admin.product(self.user(), id).await?;
        let role = admin.role(self.user()).await?;
        let mut text = format!(
            "{}\n{} · {}",
            bold(product.name.as_str()),
            product.price,
            if product.hidden { "hidden" } else { "visible" }
        );
        if product.kind.uses_stock() {
            text.push_str(&stock_line(&counts));
        }
        if !product.description.as_str().is_empty() {
            text.push_str(&format!("\n\n{}", escape(product.description.as_str())));
        }
        let mut rows = Vec::new();
        if role.allows(Permission::ManageCatalog) {
            let (label, hidden) = if product.hidden {
                ("Show", false)
            } else {
                ("Hide", true)
            };
            rows.push(vec![
                button("Change price", Action::AdminEditPrice { product: id }),
                button(
                    label,
                    Action::AdminSetHidden {
                        product: id,
                        hidden,
                    },
                ),
            ]);
        }
        if product.kind.uses_stock() && role.allows(Permission::ManageStock) {
            rows.push(vec![button(
                "Add stock",
                Action::AdminAddStock { product: id },
            )]);
        }
        rows.push(vec![
            button("‹ Products", Action::AdminProducts { page: 0 }),
            button("Admin", Action::Admin),
        ]);
        reply(text, rows, notice)
    }

    async fn low_stock(&self) -> Result<Reply> {
        let threshold = self.screens.shop.config().low_stock_threshold;
        let levels = self.service().low_stock(self.user(), threshold).await?;
        let mut rows: Vec<_> = levels
            .iter()
            .take(50)
            .map(|(p, c)| vec![product_button(p, Some(c.available))])
            .collect();
        rows.push(vec![button("‹ Admin", Action::Admin)]);
        let text = match levels.len() {
            0 => format!("Every product has more than {threshold} units in stock."),
            n => format!("<b>Low on stock</b> ({n}): {threshold} units or fewer."),
        };
        reply(text, rows, None)
    }

    /// A person, their wallet, and what staff may do about them.
    pub(super) async fn person(&self, id: UserId, notice: Option<&str>) -> Result<Reply> {
        let admin = self.service();
        let (person, balance) = admin.user(self.user(), id).await?;
        let role = admin.role(self.user()).await?;
        let mut text = format!(
            "<b>User {}</b> · {}\nRole: {}{}\nBalance: {} · held {} · available {}",
            person.id,
            escape(person.name.as_str()),
            person.role.as_str(),
            if person.banned { " · banned" } else { "" },
            balance.balance,
            balance.held,
            balance.available()
        );
        text.push_str(&format!(
            "\nFirst seen: {}",
            person.created_at.to_string().get(..10).unwrap_or_default()
        ));
        let mut rows = Vec::new();
        if role.allows(Permission::ModerateUsers) && person.id != self.user() {
            let (label, banned) = if person.banned {
                ("Unban", false)
            } else {
                ("Ban", true)
            };
            rows.push(vec![button(
                label,
                Action::AdminSetBanned { user: id, banned },
            )]);
        }
        if role.allows(Permission::AdjustWallets) {
            rows.push(vec![button(
                "Credit wallet",
                Action::AdminCredit { user: id },
            )]);
        }
        rows.push(vec![
            button("Find another", Action::AdminFindUser),
            button("‹ Admin", Action::Admin),
        ]);
        reply(text, rows, notice)
    }

    /// Waits for `step` and shows its question.
    pub(super) async fn ask(&self, step: Step) -> Result<Reply> {
        self.dialogue.wait_for(&step).await?;
        self.question(&step, None).await
    }
}

fn stock_line(counts: &StockCounts) -> String {
    format!(
        "\nStock: {} available · {} reserved · {} sold",
        counts.available, counts.reserved, counts.sold
    )
}

fn product_button(product: &Product, available: Option<u64>) -> Button {
    let mut label = format!("{} · {}", short(product.name.as_str()), product.price);
    if let Some(n) = available {
        label.push_str(&format!(" · {n} left"));
    }
    if product.hidden {
        label.push_str(" · hidden");
    }
    button(
        label,
        Action::AdminProduct {
            product: product.id,
        },
    )
}
