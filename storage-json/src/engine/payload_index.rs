//! Which payloads each product already holds, for duplicate checks on import, without keeping
//! a second copy of every payload: units are found by a hash of (product, payload) and then
//! compared for real, so a hash collision can never pass for a duplicate.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use shopbot_core::ids::{ProductId, UnitId};
use shopbot_core::stock::StockUnit;
use shopbot_core::text::StockPayload;

/// Units by payload hash. Almost every hash names one unit; a list is kept only on collision.
#[derive(Debug, Default)]
pub(super) struct PayloadIndex {
    units: HashMap<u64, Slot>,
}

#[derive(Debug)]
enum Slot {
    One(UnitId),
    Many(Vec<UnitId>),
}

fn hash(product: ProductId, payload: &StockPayload) -> u64 {
    let mut hasher = DefaultHasher::new();
    product.hash(&mut hasher);
    payload.hash(&mut hasher);
    hasher.finish()
}

impl PayloadIndex {
    /// Records a unit.
    pub(super) fn insert(&mut self, unit: &StockUnit) {
        let key = hash(unit.product, &unit.payload);
        match self.units.get_mut(&key) {
            None => {
                self.units.insert(key, Slot::One(unit.id));
            }
            Some(Slot::Many(ids)) => ids.push(unit.id),
            Some(slot @ Slot::One(_)) => {
                if let Slot::One(first) = *slot {
                    *slot = Slot::Many(vec![first, unit.id]);
                }
            }
        }
    }

    /// Forgets a unit.
    pub(super) fn remove(&mut self, unit: &StockUnit) {
        let key = hash(unit.product, &unit.payload);
        match self.units.get_mut(&key) {
            Some(Slot::One(id)) if *id == unit.id => {
                self.units.remove(&key);
            }
            Some(Slot::Many(ids)) => {
                ids.retain(|id| *id != unit.id);
                if let [only] = ids.as_slice() {
                    let only = *only;
                    self.units.insert(key, Slot::One(only));
                }
            }
            _ => {}
        }
    }

    /// The unit of `product` with `payload`, if it has one; `unit` looks units up by id.
    pub(super) fn find<'a, F>(
        &self,
        product: ProductId,
        payload: &StockPayload,
        unit: F,
    ) -> Option<&'a StockUnit>
    where
        F: Fn(UnitId) -> Option<&'a StockUnit>,
    {
        let same =
            |id: &UnitId| unit(*id).filter(|u| u.product == product && u.payload == *payload);
        match self.units.get(&hash(product, payload)) {
            None => None,
            Some(Slot::One(id)) => same(id),
            Some(Slot::Many(ids)) => ids.iter().find_map(same),
        }
    }
}
