//! Staged stock imports: a large import validated and journaled in chunks, then published in
//! one small command, so the single writer is never held for the whole import.
//!
//! [`Command::BeginStage`](super::Command::BeginStage) opens a stage for a product;
//! each [`Command::StageStock`](super::Command::StageStock) adds a chunk of lines to it, checked
//! for duplicates against the stock and against the lines staged before; staged lines are not
//! units, so no buyer, count or listing can see them.
//! [`Command::PublishStage`](super::Command::PublishStage) checks the staged lines against the
//! stock once more (another import may have added one since) and turns them all into
//! available units at once, or refuses — with `OnDuplicate::Refuse` and any duplicate, naming
//! every one — and changes nothing; [`Command::DiscardStage`](super::Command::DiscardStage)
//! forgets a stage. Stages are kept in snapshots (a compaction may run mid-import) and
//! discarded when a store is opened: the process that was filling one is gone.
//!
//! The report equals what a one-command import gives when nothing else changed the product's
//! stock meanwhile; a unit imported by someone else while a stage fills is reported as
//! "already in stock".

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use shopbot_core::Error;
use shopbot_core::audit::AuditRecord;
use shopbot_core::ids::{ProductId, UnitId};
use shopbot_core::stock::{
    Duplicate, Existing, ImportReport, OnDuplicate, StockError, StockLine, StockUnit, UnitState,
};
use shopbot_core::text::StockPayload;
use shopbot_core::time::Timestamp;

use super::State;

/// A stage being filled, as a snapshot holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    /// Its id.
    pub id: u64,
    /// The product the units are for.
    pub product: ProductId,
    /// What to do with duplicates.
    pub on_duplicate: OnDuplicate,
    /// When the import was asked for: the units' `added_at`.
    pub at: Timestamp,
    /// The lines to become units, in the order given.
    pub lines: Vec<StockLine>,
    /// The duplicates found so far, in line order.
    pub duplicates: Vec<Duplicate>,
}

/// The stages being filled, with the payloads each holds for duplicate checks.
#[derive(Debug, Default)]
pub(super) struct Stages {
    stages: BTreeMap<u64, (Stage, HashMap<StockPayload, usize>)>,
}

impl Stages {
    pub(super) fn insert(&mut self, stage: Stage) {
        let seen = stage
            .lines
            .iter()
            .map(|l| (l.payload.clone(), l.line))
            .collect();
        self.stages.insert(stage.id, (stage, seen));
    }

    pub(super) fn records(&self) -> impl Iterator<Item = &Stage> {
        self.stages.values().map(|(stage, _)| stage)
    }
}

impl State {
    /// Opens a stage for an import into `product`; returns its id.
    pub(super) fn begin_stage(
        &mut self,
        product: ProductId,
        on_duplicate: OnDuplicate,
        at: Timestamp,
    ) -> Result<u64, Error> {
        self.require_stock_product(product)?;
        self.next.stage += 1;
        let id = self.next.stage;
        self.stages.insert(Stage {
            id,
            product,
            on_duplicate,
            at,
            lines: Vec::new(),
            duplicates: Vec::new(),
        });
        Ok(id)
    }

    /// Adds a chunk of lines to a stage, setting duplicates aside.
    pub(super) fn stage_stock(&mut self, stage: u64, lines: Vec<StockLine>) -> Result<(), Error> {
        let Some((staged, seen)) = self.stages.stages.get_mut(&stage) else {
            return Err(Error::not_found("stage", stage));
        };
        let product = staged.product;
        for line in lines {
            if let Some(&first) = seen.get(&line.payload) {
                staged.duplicates.push(Duplicate {
                    line: line.line,
                    first_line: Some(first),
                    sold: false,
                });
            } else if let Some(unit) = self
                .payloads
                .find(product, &line.payload, |id| self.units.get(&id))
            {
                staged
                    .duplicates
                    .push(Existing::of(&unit.state).duplicate(line.line));
            } else {
                seen.insert(line.payload.clone(), line.line);
                staged.lines.push(line);
            }
        }
        Ok(())
    }

    /// Makes a stage's lines available units, all at once, and forgets the stage; or refuses
    /// and changes nothing.
    pub(super) fn publish_stage(
        &mut self,
        stage: u64,
        audit: AuditRecord,
    ) -> Result<ImportReport, Error> {
        let Some((staged, _)) = self.stages.stages.get(&stage) else {
            return Err(Error::not_found("stage", stage));
        };
        self.require_stock_product(staged.product)?;
        // What another import added while the stage filled.
        let arrived: Vec<Duplicate> = staged
            .lines
            .iter()
            .filter_map(|l| {
                self.payloads
                    .find(staged.product, &l.payload, |id| self.units.get(&id))
                    .map(|unit| Existing::of(&unit.state).duplicate(l.line))
            })
            .collect();
        let mut duplicates = staged.duplicates.clone();
        duplicates.extend(arrived.iter().copied());
        let arrived: BTreeSet<usize> = arrived.iter().map(|d| d.line).collect();
        duplicates.sort_by_key(|d| d.line);
        let added = staged.lines.len() - arrived.len();
        if added == 0 && duplicates.is_empty() {
            return Err(StockError::Empty.into());
        }
        if !duplicates.is_empty() && staged.on_duplicate == OnDuplicate::Refuse {
            return Err(StockError::Duplicates(duplicates).into());
        }
        let Some((staged, _)) = self.stages.stages.remove(&stage) else {
            return Err(Error::not_found("stage", stage));
        };
        for line in staged.lines {
            if arrived.contains(&line.line) {
                continue;
            }
            self.next.unit += 1;
            let unit = StockUnit {
                id: UnitId(self.next.unit),
                product: staged.product,
                payload: line.payload,
                state: UnitState::Available,
                added_at: staged.at,
            };
            self.index_unit(&unit);
            self.units.insert(unit.id, unit);
        }
        self.write_audit(Some(audit));
        Ok(ImportReport {
            added,
            skipped: duplicates,
        })
    }

    /// Forgets a stage; forgetting one that is gone changes nothing.
    pub(super) fn discard_stage(&mut self, stage: u64) {
        self.stages.stages.remove(&stage);
    }

    /// Whether stage `stage` is still being filled.
    pub fn has_stage(&self, stage: u64) -> bool {
        self.stages.stages.contains_key(&stage)
    }

    /// How many lines are staged for `product` and not yet published.
    pub fn staged_lines(&self, product: ProductId) -> usize {
        self.stages
            .records()
            .filter(|s| s.product == product)
            .map(|s| s.lines.len())
            .sum()
    }

    /// Forgets every stage: what opening a store does, since whoever filled them is gone.
    /// Returns how many it forgot.
    pub fn discard_stages(&mut self) -> usize {
        let count = self.stages.stages.len();
        self.stages.stages.clear();
        count
    }

    /// A product that exists and keeps stock, or why not.
    fn require_stock_product(&self, product: ProductId) -> Result<(), Error> {
        let found = self
            .products
            .get(&product)
            .ok_or_else(|| Error::not_found("product", product))?;
        if !found.kind.uses_stock() {
            return Err(Error::invalid(format!(
                "product {} is a service and keeps no stock",
                found.id
            )));
        }
        Ok(())
    }
}
