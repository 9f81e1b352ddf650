use super::Context;
use crate::audit::{AuditEntry, AuditFilter};
use crate::catalog::{
    Category, NewCategory, NewProduct, Product, ProductDraft, ProductFilter, ProductPatch,
};
use crate::error::{Error, Forbidden, Result};
use crate::ids::UnitId;
use crate::ids::{CategoryId, OrderId, ProductId, UserId};
use crate::money::Money;
use crate::order::{Order, OrderFilter, RefundOutcome, RefundRequest};
use crate::ports::{Page, Settings};
use crate::stock::{
    self, ImportReport, ListedUnit, OnDuplicate, StockCounts, StockImport, StockLine, StockRemoval,
};
use crate::text::{CategoryName, IdempotencyKey, Note};
use crate::user::{Permission, Role, User};
use crate::wallet::{Balance, LedgerEntry, LedgerOp, LedgerRequest, WalletError};

/// How many audit entries [`AdminService::audit`] reads at a time.
const AUDIT_PAGE: usize = 100;

/// Running the shop. Every method takes the acting user and checks their permission first;
/// every change is written to the audit log in the same atomic command.
pub struct AdminService {
    context: Context,
}

impl AdminService {
    pub(crate) fn new(context: Context) -> Self {
        AdminService { context }
    }

    /// The role `actor` acts with (configured owners count as owners). `Forbidden` for unknown
    /// or banned users.
    pub async fn role(&self, actor: UserId) -> Result<Role> {
        let user = self
            .context
            .storage
            .user(actor)
            .await?
            .ok_or(Forbidden::UnknownUser)?;
        if user.banned {
            return Err(Forbidden::Banned.into());
        }
        Ok(self.context.role_of(&user))
    }

    /// Checks that `actor` may do `permission` now, without doing anything: for the early
    /// steps of a dialogue, before the step that calls the service that does it.
    pub async fn require(&self, actor: UserId, permission: Permission) -> Result<()> {
        self.context.staff(actor, permission).await.map(drop)
    }

    /// The shop's settings (maintenance mode), for staff.
    pub async fn settings(&self, actor: UserId) -> Result<Settings> {
        self.context.staff(actor, Permission::ViewStock).await?;
        self.context.storage.settings().await
    }

    /// One product, hidden or not, with its stock counts.
    pub async fn product(&self, actor: UserId, id: ProductId) -> Result<(Product, StockCounts)> {
        self.context.staff(actor, Permission::ViewStock).await?;
        let product = self
            .context
            .storage
            .product(id)
            .await?
            .ok_or_else(|| Error::not_found("product", id))?;
        let counts = self.context.storage.stock_counts(id).await?;
        Ok((product, counts))
    }

    /// Creates a category.
    pub async fn create_category(&self, actor: UserId, name: CategoryName) -> Result<Category> {
        let staff = self.context.staff(actor, Permission::ManageCatalog).await?;
        let audit = self
            .context
            .audit(&staff, format!("create category {:?}", name.as_str()));
        let new = NewCategory { name, at: audit.at };
        self.context.storage.create_category(new, audit).await
    }

    /// Renames a category.
    pub async fn rename_category(
        &self,
        actor: UserId,
        id: CategoryId,
        name: CategoryName,
    ) -> Result<Category> {
        let staff = self.context.staff(actor, Permission::ManageCatalog).await?;
        let audit = self.context.audit(
            &staff,
            format!("rename category {id} to {:?}", name.as_str()),
        );
        self.context.storage.rename_category(id, name, audit).await
    }

    /// Deletes an empty category; one that holds products is refused, naming how many.
    pub async fn delete_category(&self, actor: UserId, id: CategoryId) -> Result<()> {
        let staff = self.context.staff(actor, Permission::ManageCatalog).await?;
        let audit = self.context.audit(&staff, format!("delete category {id}"));
        self.context.storage.delete_category(id, audit).await
    }

    /// Creates a product, checking the price against the shop's limits.
    pub async fn create_product(&self, actor: UserId, draft: ProductDraft) -> Result<Product> {
        let staff = self.context.staff(actor, Permission::ManageCatalog).await?;
        self.context.config.prices.check(draft.price)?;
        let audit = self.context.audit(
            &staff,
            format!(
                "create product {:?} at {}",
                draft.name.as_str(),
                draft.price
            ),
        );
        let new = NewProduct {
            draft,
            at: audit.at,
        };
        self.context.storage.create_product(new, audit).await
    }

    /// Changes a product (name, description, price, visibility, category, picture).
    pub async fn update_product(
        &self,
        actor: UserId,
        id: ProductId,
        patch: ProductPatch,
    ) -> Result<Product> {
        let staff = self.context.staff(actor, Permission::ManageCatalog).await?;
        if patch.is_empty() {
            return Err(Error::invalid("nothing to change"));
        }
        if let Some(price) = patch.price {
            self.context.config.prices.check(price)?;
        }
        let audit = self.context.audit(&staff, describe_patch(id, &patch));
        self.context.storage.update_product(id, patch, audit).await
    }

    /// Deletes a product that was never ordered, with its units; returns how many units went.
    pub async fn delete_product(&self, actor: UserId, id: ProductId) -> Result<u64> {
        let staff = self.context.staff(actor, Permission::ManageCatalog).await?;
        let audit = self.context.audit(&staff, format!("delete product {id}"));
        self.context.storage.delete_product(id, audit).await
    }

    /// Every product, hidden ones included.
    pub async fn products(&self, actor: UserId) -> Result<Vec<Product>> {
        self.context.staff(actor, Permission::ViewStock).await?;
        let filter = ProductFilter {
            category: None,
            include_hidden: true,
        };
        self.context.storage.products(filter).await
    }

    /// Imports stock from text, one unit per line, all or nothing (see
    /// [`Storage::import_stock`](crate::ports::Storage::import_stock)).
    pub async fn import_stock_text(
        &self,
        actor: UserId,
        product: ProductId,
        text: &str,
        on_duplicate: OnDuplicate,
    ) -> Result<ImportReport> {
        self.context.staff(actor, Permission::ManageStock).await?;
        let lines = stock::parse_lines(text)?;
        self.import_stock(actor, product, lines, on_duplicate).await
    }

    /// Imports parsed stock lines, all or nothing.
    pub async fn import_stock(
        &self,
        actor: UserId,
        product: ProductId,
        lines: Vec<StockLine>,
        on_duplicate: OnDuplicate,
    ) -> Result<ImportReport> {
        let staff = self.context.staff(actor, Permission::ManageStock).await?;
        if lines.is_empty() {
            return Err(stock::StockError::Empty.into());
        }
        if lines.len() > stock::MAX_IMPORT_LINES {
            let max = stock::MAX_IMPORT_LINES;
            return Err(stock::StockError::TooManyLines { max }.into());
        }
        let audit = self.context.audit(
            &staff,
            format!(
                "import {} stock line(s) into product {product}",
                lines.len()
            ),
        );
        let import = StockImport {
            product,
            lines,
            on_duplicate,
            at: audit.at,
        };
        self.context.storage.import_stock(import, audit).await
    }

    /// Every unit of a product, payloads [masked](stock::mask) unless `reveal`: revealing
    /// needs [`Permission::ManageStock`] and is written to the audit log first. `NotFound`
    /// for an unknown product.
    pub async fn stock_units(
        &self,
        actor: UserId,
        product: ProductId,
        reveal: bool,
    ) -> Result<Vec<ListedUnit>> {
        let permission = match reveal {
            true => Permission::ManageStock,
            false => Permission::ViewStock,
        };
        let staff = self.context.staff(actor, permission).await?;
        self.find_product(product).await?;
        if reveal {
            let audit = self
                .context
                .audit(&staff, format!("revealed stock of product {product}"));
            self.context.storage.write_audit(audit).await?;
        }
        let units = self.context.storage.stock_units(product).await?;
        Ok(units
            .into_iter()
            .map(|unit| ListedUnit {
                id: unit.id,
                state: unit.state,
                payload: match reveal {
                    true => unit.payload.as_str().to_owned(),
                    false => stock::mask(unit.payload.as_str()),
                },
                added_at: unit.added_at,
            })
            .collect())
    }

    /// Takes available units of a product out of stock, all or nothing (see
    /// [`Storage::remove_stock`](crate::ports::Storage::remove_stock)); `Invalid` for no units
    /// or a unit named twice.
    pub async fn remove_stock(
        &self,
        actor: UserId,
        product: ProductId,
        units: Vec<UnitId>,
    ) -> Result<u64> {
        let staff = self.context.staff(actor, Permission::ManageStock).await?;
        if units.is_empty() {
            return Err(Error::invalid("name at least one unit to remove"));
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(twice) = units.iter().find(|u| !seen.insert(**u)) {
            return Err(Error::invalid(format!("unit {twice} is named twice")));
        }
        let listed: Vec<String> = units.iter().map(ToString::to_string).collect();
        let audit = self.context.audit(
            &staff,
            format!(
                "remove stock unit(s) {} of product {product}",
                listed.join(", ")
            ),
        );
        let removal = StockRemoval { product, units };
        self.context.storage.remove_stock(removal, audit).await
    }

    /// Stock counts of every stock-keeping product.
    pub async fn stock_levels(&self, actor: UserId) -> Result<Vec<(Product, StockCounts)>> {
        let products = self.products(actor).await?;
        let mut levels = Vec::with_capacity(products.len());
        for product in products.into_iter().filter(|p| p.kind.uses_stock()) {
            let counts = self.context.storage.stock_counts(product.id).await?;
            levels.push((product, counts));
        }
        Ok(levels)
    }

    /// Visible stock-keeping products with at most `threshold` units available.
    pub async fn low_stock(
        &self,
        actor: UserId,
        threshold: u64,
    ) -> Result<Vec<(Product, StockCounts)>> {
        let mut levels = self.stock_levels(actor).await?;
        levels.retain(|(p, c)| !p.hidden && c.available <= threshold);
        Ok(levels)
    }

    /// Users in id order.
    pub async fn users(&self, actor: UserId, page: Page) -> Result<Vec<User>> {
        self.context.staff(actor, Permission::ViewUsers).await?;
        self.context.storage.users(page).await
    }

    /// A user and their wallet in the shop currency.
    pub async fn user(&self, actor: UserId, id: UserId) -> Result<(User, Balance)> {
        self.context.staff(actor, Permission::ViewUsers).await?;
        let user = self.find_user(id).await?;
        let currency = self.context.config.prices.currency;
        let balance = self.context.storage.balance(id, currency).await?;
        Ok((user, balance))
    }

    /// Bans or unbans a user. Staff cannot ban themselves or anyone of their rank or above.
    pub async fn set_banned(&self, actor: UserId, id: UserId, banned: bool) -> Result<User> {
        let staff = self.context.staff(actor, Permission::ModerateUsers).await?;
        let target = self.find_user(id).await?;
        if target.id == staff.id {
            return Err(Forbidden::SelfTarget.into());
        }
        if self.context.role_of(&target) >= self.context.role_of(&staff) {
            return Err(Forbidden::Rank.into());
        }
        let verb = if banned { "ban" } else { "unban" };
        let audit = self.context.audit(&staff, format!("{verb} user {id}"));
        self.context.storage.set_banned(id, banned, audit).await
    }

    /// Changes a user's role. Nobody changes their own.
    pub async fn set_role(&self, actor: UserId, id: UserId, role: Role) -> Result<User> {
        let staff = self.context.staff(actor, Permission::ManageRoles).await?;
        if id == staff.id {
            return Err(Forbidden::SelfTarget.into());
        }
        self.find_user(id).await?;
        let audit = self.context.audit(
            &staff,
            format!("set role of user {id} to {}", role.as_str()),
        );
        self.context.storage.set_role(id, role, audit).await
    }

    /// Credits (positive) or debits (negative) a wallet by hand, once per `key`.
    ///
    /// A credit above [`ShopConfig::max_manual_credit`](super::ShopConfig::max_manual_credit)
    /// is refused with [`WalletError::Unconfirmed`], naming the limit, and changes nothing:
    /// ask the person to confirm it, then call [`AdminService::adjust_wallet_confirmed`]. A
    /// credit the wallet cannot hold is refused with [`WalletError::TooLarge`].
    pub async fn adjust_wallet(
        &self,
        actor: UserId,
        user: UserId,
        amount: Money,
        reason: Note,
        key: IdempotencyKey,
    ) -> Result<LedgerEntry> {
        self.adjust(actor, user, amount, reason, key, false).await
    }

    /// [`AdminService::adjust_wallet`] for a credit the acting person has confirmed, so the
    /// shop's limit on manual credits does not apply. Everything else is checked as usual.
    pub async fn adjust_wallet_confirmed(
        &self,
        actor: UserId,
        user: UserId,
        amount: Money,
        reason: Note,
        key: IdempotencyKey,
    ) -> Result<LedgerEntry> {
        self.adjust(actor, user, amount, reason, key, true).await
    }

    async fn adjust(
        &self,
        actor: UserId,
        user: UserId,
        amount: Money,
        reason: Note,
        key: IdempotencyKey,
        confirmed: bool,
    ) -> Result<LedgerEntry> {
        let staff = self.context.staff(actor, Permission::AdjustWallets).await?;
        super::wallet::reject_reserved(&key)?;
        let currency = self.context.config.prices.currency;
        if amount.currency != currency {
            return Err(Error::invalid(format!("wallets hold {currency}")));
        }
        if !confirmed {
            self.check_credit_limit(amount)?;
        }
        self.find_user(user).await?;
        let audit = self.context.audit(
            &staff,
            format!("adjust wallet of user {user} by {amount}: {reason}"),
        );
        let request = LedgerRequest {
            user,
            key,
            op: LedgerOp::Adjustment { amount },
            note: Some(reason),
            at: audit.at,
        };
        self.context
            .storage
            .post_ledger_entry(request, Some(audit))
            .await
    }

    /// Turns maintenance mode on or off.
    pub async fn set_maintenance(&self, actor: UserId, on: bool) -> Result<Settings> {
        let staff = self.context.staff(actor, Permission::Maintenance).await?;
        let state = if on { "on" } else { "off" };
        let audit = self.context.audit(&staff, format!("maintenance {state}"));
        self.context.storage.set_maintenance(on, audit).await
    }

    /// Orders, newest first.
    pub async fn orders(&self, actor: UserId, filter: OrderFilter) -> Result<Vec<Order>> {
        self.context.staff(actor, Permission::ViewOrders).await?;
        self.context.storage.orders(filter).await
    }

    /// One order with its units.
    pub async fn order(&self, actor: UserId, id: OrderId) -> Result<Order> {
        self.context.staff(actor, Permission::ViewOrders).await?;
        self.context
            .storage
            .order(id)
            .await?
            .ok_or_else(|| Error::not_found("order", id))
    }

    /// Refunds a paid order to the buyer's wallet, once: a repeat changes nothing and says
    /// the order was [`already_refunded`](RefundOutcome::already_refunded).
    pub async fn refund_order(&self, actor: UserId, id: OrderId) -> Result<RefundOutcome> {
        let staff = self.context.staff(actor, Permission::RefundOrders).await?;
        let audit = self.context.audit(&staff, format!("refund order {id}"));
        let request = RefundRequest {
            order: id,
            at: audit.at,
        };
        self.context.storage.refund_order(request, audit).await
    }

    /// The audit log, newest first.
    pub async fn audit_log(&self, actor: UserId, page: Page) -> Result<Vec<AuditEntry>> {
        self.context.staff(actor, Permission::ViewAudit).await?;
        self.context.storage.audit_log(page).await
    }

    /// Audit entries passing `filter`, newest first, at most its limit. Reads the log a page
    /// at a time and stops at the first entry older than `filter.since`.
    pub async fn audit(&self, actor: UserId, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        self.context.staff(actor, Permission::ViewAudit).await?;
        let limit = filter.effective_limit();
        let mut found = Vec::new();
        let mut page = Page::first(AUDIT_PAGE);
        loop {
            let entries = self.context.storage.audit_log(page).await?;
            let last_page = entries.len() < AUDIT_PAGE;
            for entry in entries {
                if filter.since.is_some_and(|since| entry.record.at < since) {
                    return Ok(found);
                }
                if filter.matches(&entry) {
                    found.push(entry);
                    if found.len() == limit {
                        return Ok(found);
                    }
                }
            }
            if last_page {
                return Ok(found);
            }
            page.offset += AUDIT_PAGE;
        }
    }

    /// Refuses an unconfirmed credit above the shop's limit (debits have none: they cannot
    /// take more than the wallet holds).
    fn check_credit_limit(&self, amount: Money) -> Result<()> {
        let configured = &self.context.config.max_manual_credit;
        let limit = configured.in_currency(amount.currency).map_err(|e| {
            Error::invalid(format!(
                "the configured max_manual_credit `{configured}` is not an amount in {}: {e}",
                amount.currency
            ))
        })?;
        if amount.minor > limit.minor {
            return Err(WalletError::Unconfirmed { amount, limit }.into());
        }
        Ok(())
    }

    async fn find_product(&self, id: ProductId) -> Result<Product> {
        self.context
            .storage
            .product(id)
            .await?
            .ok_or_else(|| Error::not_found("product", id))
    }

    async fn find_user(&self, id: UserId) -> Result<User> {
        self.context
            .storage
            .user(id)
            .await?
            .ok_or_else(|| Error::not_found("user", id))
    }
}

fn describe_patch(id: ProductId, patch: &ProductPatch) -> String {
    let mut changes = Vec::new();
    if let Some(name) = &patch.name {
        changes.push(format!("name {:?}", name.as_str()));
    }
    if patch.description.is_some() {
        changes.push("description".to_owned());
    }
    if let Some(price) = patch.price {
        changes.push(format!("price {price}"));
    }
    if let Some(hidden) = patch.hidden {
        changes.push(if hidden { "hidden" } else { "shown" }.to_owned());
    }
    if let Some(category) = patch.category {
        changes.push(match category {
            Some(c) => format!("category {c}"),
            None => "no category".to_owned(),
        });
    }
    if patch.image.is_some() {
        changes.push("image".to_owned());
    }
    format!("update product {id}: {}", changes.join(", "))
}
