//! Categories, products, stock units and carts.

use std::collections::BTreeSet;

use shopbot_core::Error;
use shopbot_core::audit::AuditRecord;
use shopbot_core::cart::{Cart, CartEdit};
use shopbot_core::catalog::{
    Category, NewCategory, NewProduct, Product, ProductFilter, ProductPatch,
};
use shopbot_core::ids::{CategoryId, OrderId, ProductId, UnitId, UserId};
use shopbot_core::stock::{
    self, Existing, ImportReport, OnDuplicate, StockCounts, StockError, StockImport, StockRemoval,
    StockUnit, UnitState,
};
use shopbot_core::text::CategoryName;

use super::State;

impl State {
    pub(super) fn create_category(
        &mut self,
        new: NewCategory,
        audit: AuditRecord,
    ) -> Result<Category, Error> {
        let taken = self
            .categories
            .values()
            .any(|c| c.name.as_str().eq_ignore_ascii_case(new.name.as_str()));
        if taken {
            return Err(Error::Conflict(format!(
                "a category named {:?} exists",
                new.name.as_str()
            )));
        }
        self.next.category += 1;
        let category = Category {
            id: CategoryId(self.next.category),
            name: new.name,
            created_at: new.at,
        };
        self.categories.insert(category.id, category.clone());
        self.write_audit(Some(audit));
        Ok(category)
    }

    pub(super) fn rename_category(
        &mut self,
        id: CategoryId,
        name: CategoryName,
        audit: AuditRecord,
    ) -> Result<Category, Error> {
        if !self.categories.contains_key(&id) {
            return Err(Error::not_found("category", id));
        }
        let taken = self
            .categories
            .values()
            .any(|c| c.id != id && c.name.as_str().eq_ignore_ascii_case(name.as_str()));
        if taken {
            return Err(Error::Conflict(format!(
                "a category named {:?} exists",
                name.as_str()
            )));
        }
        let category = self
            .categories
            .get_mut(&id)
            .ok_or_else(|| Error::not_found("category", id))?;
        category.name = name;
        let category = category.clone();
        self.write_audit(Some(audit));
        Ok(category)
    }

    pub(super) fn delete_category(
        &mut self,
        id: CategoryId,
        audit: AuditRecord,
    ) -> Result<(), Error> {
        if !self.categories.contains_key(&id) {
            return Err(Error::not_found("category", id));
        }
        let held = self
            .products
            .values()
            .filter(|p| p.category == Some(id))
            .count();
        if held > 0 {
            return Err(Error::Conflict(format!(
                "category {id} holds {held} product(s); move or delete them first"
            )));
        }
        self.categories.remove(&id);
        self.write_audit(Some(audit));
        Ok(())
    }

    pub(super) fn create_product(
        &mut self,
        new: NewProduct,
        audit: AuditRecord,
    ) -> Result<Product, Error> {
        let draft = new.draft;
        self.require_category(draft.category)?;
        self.next.product += 1;
        let product = Product {
            id: ProductId(self.next.product),
            category: draft.category,
            name: draft.name,
            description: draft.description,
            kind: draft.kind,
            price: draft.price,
            hidden: draft.hidden,
            image: draft.image,
            created_at: new.at,
        };
        self.products.insert(product.id, product.clone());
        self.write_audit(Some(audit));
        Ok(product)
    }

    pub(super) fn update_product(
        &mut self,
        id: ProductId,
        patch: ProductPatch,
        audit: AuditRecord,
    ) -> Result<Product, Error> {
        if let Some(category) = patch.category {
            self.require_category(category)?;
        }
        let product = self
            .products
            .get_mut(&id)
            .ok_or_else(|| Error::not_found("product", id))?;
        if let Some(price) = patch.price
            && price.currency != product.price.currency
        {
            return Err(Error::invalid(format!(
                "product {id} is priced in {}",
                product.price.currency
            )));
        }
        patch.apply_to(product);
        let product = product.clone();
        self.write_audit(Some(audit));
        Ok(product)
    }

    pub(super) fn delete_product(
        &mut self,
        id: ProductId,
        audit: AuditRecord,
    ) -> Result<u64, Error> {
        if !self.products.contains_key(&id) {
            return Err(Error::not_found("product", id));
        }
        let ordered = self
            .orders
            .values()
            .any(|o| o.lines.iter().any(|l| l.product == id));
        if ordered {
            return Err(Error::Conflict(format!(
                "product {id} has been ordered and stays; hide it instead"
            )));
        }
        let units: Vec<UnitId> = self.stock_units(id).iter().map(|u| u.id).collect();
        for unit in &units {
            if let Some(unit) = self.units.remove(unit) {
                self.payloads.remove(&unit);
            }
        }
        self.available.remove(&id);
        self.counts.remove(&id);
        self.products.remove(&id);
        self.write_audit(Some(audit));
        Ok(units.len() as u64)
    }

    fn require_category(&self, category: Option<CategoryId>) -> Result<(), Error> {
        match category {
            Some(id) if !self.categories.contains_key(&id) => Err(Error::not_found("category", id)),
            _ => Ok(()),
        }
    }

    pub(super) fn import_stock(
        &mut self,
        import: StockImport,
        audit: AuditRecord,
    ) -> Result<ImportReport, Error> {
        let product = self
            .products
            .get(&import.product)
            .ok_or_else(|| Error::not_found("product", import.product))?;
        if !product.kind.uses_stock() {
            return Err(Error::invalid(format!(
                "product {} is a service and keeps no stock",
                product.id
            )));
        }
        if import.lines.is_empty() {
            return Err(StockError::Empty.into());
        }
        let duplicates = stock::find_duplicates(&import.lines, |payload| {
            self.payloads
                .find(import.product, payload, |id| self.units.get(&id))
                .map(|unit| Existing::of(&unit.state))
        });
        if !duplicates.is_empty() && import.on_duplicate == OnDuplicate::Refuse {
            return Err(StockError::Duplicates(duplicates).into());
        }
        let skip: BTreeSet<usize> = duplicates.iter().map(|d| d.line).collect();
        let mut added = 0;
        for line in import.lines.into_iter().filter(|l| !skip.contains(&l.line)) {
            self.next.unit += 1;
            let unit = StockUnit {
                id: UnitId(self.next.unit),
                product: import.product,
                payload: line.payload,
                state: UnitState::Available,
                added_at: import.at,
            };
            self.index_unit(&unit);
            self.units.insert(unit.id, unit);
            added += 1;
        }
        self.write_audit(Some(audit));
        Ok(ImportReport {
            added,
            skipped: duplicates,
        })
    }

    /// Every unit of `product`, in id order. Reads every unit of the store: an admin's listing,
    /// not a path a purchase takes.
    pub fn stock_units(&self, product: ProductId) -> Vec<StockUnit> {
        self.units
            .values()
            .filter(|u| u.product == product)
            .cloned()
            .collect()
    }

    pub(super) fn remove_stock(
        &mut self,
        removal: StockRemoval,
        audit: AuditRecord,
    ) -> Result<u64, Error> {
        let product = removal.product;
        if !self.products.contains_key(&product) {
            return Err(Error::not_found("product", product));
        }
        for id in &removal.units {
            let unit = self
                .units
                .get(id)
                .filter(|u| u.product == product)
                .ok_or_else(|| Error::not_found("stock unit", id))?;
            if unit.state != UnitState::Available {
                return Err(Error::Conflict(format!(
                    "unit {id} is reserved or sold and stays in stock"
                )));
            }
        }
        for id in &removal.units {
            if let Some(unit) = self.units.remove(id) {
                self.payloads.remove(&unit);
                if let Some(available) = self.available.get_mut(&product) {
                    available.remove(id);
                }
                let counts = self.counts.entry(product).or_default();
                counts.available = counts.available.saturating_sub(1);
            }
        }
        self.write_audit(Some(audit));
        Ok(removal.units.len() as u64)
    }

    /// How many units of `product` are available now.
    pub(super) fn available_count(&self, product: ProductId) -> u64 {
        self.counts.get(&product).map_or(0, |c| c.available)
    }

    /// Takes the `n` oldest available units of `product` for `order`, as sold or reserved.
    /// The caller has checked that there are enough.
    pub(super) fn take_units(
        &mut self,
        product: ProductId,
        n: usize,
        order: OrderId,
        sell: bool,
    ) -> Vec<StockUnit> {
        let mut taken = Vec::with_capacity(n);
        let Some(available) = self.available.get_mut(&product) else {
            return taken;
        };
        while taken.len() < n {
            let Some(id) = available.pop_first() else {
                break;
            };
            if let Some(unit) = self.units.get_mut(&id) {
                unit.state = if sell {
                    UnitState::Sold { order }
                } else {
                    UnitState::Reserved { order }
                };
                taken.push(unit.clone());
            }
        }
        let counts = self.counts.entry(product).or_default();
        counts.available -= taken.len() as u64;
        if sell {
            counts.sold += taken.len() as u64;
        } else {
            counts.reserved += taken.len() as u64;
        }
        taken
    }

    /// Moves reserved units of `order` to sold (`sell`) or back to available.
    pub(super) fn settle_units(&mut self, units: &[UnitId], order: OrderId, sell: bool) {
        for id in units {
            let Some(unit) = self.units.get_mut(id) else {
                continue;
            };
            if unit.state != (UnitState::Reserved { order }) {
                continue;
            }
            let counts = self.counts.entry(unit.product).or_default();
            counts.reserved -= 1;
            if sell {
                unit.state = UnitState::Sold { order };
                counts.sold += 1;
            } else {
                unit.state = UnitState::Available;
                counts.available += 1;
                self.available.entry(unit.product).or_default().insert(*id);
            }
        }
    }

    pub(super) fn edit_cart(&mut self, user: UserId, edit: CartEdit) -> Result<Cart, Error> {
        self.require_user(user)?;
        let mut cart = self.cart(user);
        cart.apply(edit)?;
        self.carts.insert(user, cart.clone());
        Ok(cart)
    }

    /// A user's cart.
    pub fn cart(&self, user: UserId) -> Cart {
        self.carts
            .get(&user)
            .cloned()
            .unwrap_or_else(|| Cart::empty(user))
    }

    /// All categories in id order.
    pub fn categories(&self) -> Vec<Category> {
        self.categories.values().cloned().collect()
    }

    /// A product by id.
    pub fn product(&self, id: ProductId) -> Option<Product> {
        self.products.get(&id).cloned()
    }

    /// Products passing `filter`, in id order.
    pub fn products(&self, filter: ProductFilter) -> Vec<Product> {
        self.products
            .values()
            .filter(|p| filter.matches(p))
            .cloned()
            .collect()
    }

    /// Unit counts of a product.
    pub fn stock_counts(&self, product: ProductId) -> StockCounts {
        self.counts.get(&product).copied().unwrap_or_default()
    }
}
