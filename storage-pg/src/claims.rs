//! Where a checkout's claim of free units starts: after the newest unit this store sold of
//! the product.
//!
//! A sold unit's entry stays in the index of free units until VACUUM removes it, and a claim
//! that starts from a product's first entry reads past every unit sold since then. On a
//! product that sells fast that is thousands of entries per checkout, growing until the next
//! VACUUM. Units are claimed oldest first, so the free ones lie above the newest unit sold;
//! starting there skips the sold ones. A unit freed below that point (a released reservation,
//! a claim another instance rolled back) is still sold, by a claim that starts from the
//! product's first unit: an invoice checkout's, or that of a group which found too few units
//! above the point and so runs one command at a time (see `shop_run_together` in the group
//! runner section of `migrations/0001_shop.sql`).

use std::collections::HashMap;
use std::sync::Mutex;

use shopbot_core::ids::ProductId;

/// The newest unit sold through this store, per product.
#[derive(Default)]
pub(crate) struct ClaimStarts {
    newest: Mutex<HashMap<ProductId, i64>>,
}

impl ClaimStarts {
    /// Where each product's claim starts: the newest unit sold of it, if any is known.
    pub(crate) fn of(&self, products: impl IntoIterator<Item = ProductId>) -> Vec<Option<i64>> {
        let newest = self.newest.lock().unwrap_or_else(|e| e.into_inner());
        products
            .into_iter()
            .map(|product| newest.get(&product).copied())
            .collect()
    }

    /// Notes `units` (product, unit id) as sold.
    pub(crate) fn sold(&self, units: impl IntoIterator<Item = (ProductId, i64)>) {
        let mut newest = self.newest.lock().unwrap_or_else(|e| e.into_inner());
        for (product, unit) in units {
            let start = newest.entry(product).or_insert(unit);
            *start = (*start).max(unit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_starts_after_the_newest_unit_sold_of_its_product_only() {
        let starts = ClaimStarts::default();
        assert_eq!(starts.of([ProductId(1)]), vec![None]);
        starts.sold([(ProductId(1), 7), (ProductId(1), 5), (ProductId(2), 3)]);
        starts.sold([(ProductId(1), 6)]);
        assert_eq!(
            starts.of([ProductId(2), ProductId(1), ProductId(3)]),
            vec![Some(3), Some(7), None]
        );
    }
}
