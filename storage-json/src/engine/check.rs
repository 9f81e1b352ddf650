//! A full check of the state's invariants: what an operator's `store check` and the crash tests
//! rely on. Reads everything; never changes anything.

use std::collections::{BTreeMap, BTreeSet};

use shopbot_core::ids::{OrderId, UnitId};
use shopbot_core::invoice::InvoiceStatus;
use shopbot_core::jobs::check_job_name;
use shopbot_core::money::Total;
use shopbot_core::notice::check_notice_key;
use shopbot_core::order::OrderStatus;
use shopbot_core::stock::{StockCounts, UnitState};
use shopbot_core::wallet::HoldState;

use super::State;

impl State {
    /// Every broken invariant, described; empty when the state is sound.
    pub fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        self.check_stock(&mut problems);
        self.check_wallets(&mut problems);
        self.check_invoices(&mut problems);
        self.check_notices_and_jobs(&mut problems);
        self.requests.check(&mut problems);
        problems
    }

    fn check_stock(&self, problems: &mut Vec<String>) {
        let mut owner: BTreeMap<UnitId, OrderId> = BTreeMap::new();
        // A cancelled order keeps the list of units it once reserved; they went back to stock
        // and may since belong to another order.
        let live = self
            .orders
            .values()
            .filter(|o| o.status != OrderStatus::Cancelled);
        for order in live {
            for unit in order.lines.iter().flat_map(|l| &l.units) {
                if let Some(other) = owner.insert(unit.unit, order.id) {
                    problems.push(format!(
                        "unit {} belongs to orders {other} and {}",
                        unit.unit, order.id
                    ));
                }
                let expected = match order.status {
                    OrderStatus::AwaitingPayment => UnitState::Reserved { order: order.id },
                    _ => UnitState::Sold { order: order.id },
                };
                let actual = self.units.get(&unit.unit).map(|u| u.state);
                if actual != Some(expected) {
                    problems.push(format!(
                        "unit {} of order {} is {actual:?}, expected {expected:?}",
                        unit.unit, order.id
                    ));
                }
            }
        }
        let mut counts: BTreeMap<_, StockCounts> = BTreeMap::new();
        let mut available = BTreeSet::new();
        for unit in self.units.values() {
            let c = counts.entry(unit.product).or_default();
            match unit.state {
                UnitState::Available => {
                    c.available += 1;
                    available.insert((unit.product, unit.id));
                }
                UnitState::Reserved { order } | UnitState::Sold { order } => {
                    if unit.state == (UnitState::Reserved { order }) {
                        c.reserved += 1;
                    } else {
                        c.sold += 1;
                    }
                    if owner.get(&unit.id) != Some(&order) {
                        problems.push(format!(
                            "unit {} is taken by order {order}, which does not list it",
                            unit.id
                        ));
                    }
                }
            }
        }
        for (product, c) in &counts {
            if self.counts.get(product) != Some(c) {
                problems.push(format!("stock counts of product {product} are out of date"));
            }
        }
        let indexed: BTreeSet<_> = self
            .available
            .iter()
            .flat_map(|(p, ids)| ids.iter().map(move |id| (*p, *id)))
            .collect();
        if indexed != available {
            problems.push("the index of available units is out of date".into());
        }
    }

    fn check_wallets(&self, problems: &mut Vec<String>) {
        // Exact sums (see `Total`): a ledger damaged past what a wallet holds must show as a
        // mismatch, not be clamped into agreement with its wallet.
        let mut sums: BTreeMap<_, (Total, Total)> = BTreeMap::new();
        let mut unsummable = BTreeSet::new();
        for entry in self.entries.values() {
            let currency = entry.balance_delta.currency;
            let key = (entry.user, currency);
            let zero = (Total::zero(currency), Total::zero(currency));
            let (balance, held) = sums.entry(key).or_insert(zero);
            match (
                balance.checked_add(entry.balance_delta),
                held.checked_add(entry.held_delta),
            ) {
                (Ok(b), Ok(h)) => (*balance, *held) = (b, h),
                _ => {
                    unsummable.insert(key);
                }
            }
        }
        let mut open_holds: BTreeMap<_, Total> = BTreeMap::new();
        for hold in self.holds.values().filter(|h| h.state == HoldState::Open) {
            let key = (hold.user, hold.amount.currency);
            let sum = open_holds
                .entry(key)
                .or_insert(Total::zero(hold.amount.currency));
            match sum.checked_add(hold.amount) {
                Ok(added) => *sum = added,
                Err(_) => {
                    unsummable.insert(key);
                }
            }
        }
        for (user, currency) in &unsummable {
            problems.push(format!(
                "the ledger or the holds of user {user} ({currency}) cannot be summed: an \
                 entry is in another currency or the sum passes 128 bits"
            ));
        }
        for ((user, currency), balance) in &self.balances {
            let zero = Total::zero(*currency);
            let (sum_balance, sum_held) = sums
                .get(&(*user, *currency))
                .copied()
                .unwrap_or((zero, zero));
            if Total::from(balance.balance) != sum_balance || Total::from(balance.held) != sum_held
            {
                problems.push(format!(
                    "wallet of user {user} ({currency}) does not match its ledger: balance {}, \
                     ledger {}; held {}, ledger {} (minor units)",
                    balance.balance.minor, sum_balance.minor, balance.held.minor, sum_held.minor
                ));
            }
            if balance.held.minor < 0 || balance.available().is_negative() {
                problems.push(format!("wallet of user {user} ({currency}) is negative"));
            }
            let holds = open_holds.get(&(*user, *currency)).copied().unwrap_or(zero);
            if holds != Total::from(balance.held) {
                problems.push(format!(
                    "wallet of user {user} ({currency}) holds {} but its open holds sum to {}",
                    balance.held.minor, holds.minor
                ));
            }
        }
        if sums.keys().any(|k| !self.balances.contains_key(k)) {
            problems.push("a ledger has entries but no wallet".into());
        }
    }

    fn check_invoices(&self, problems: &mut Vec<String>) {
        let mut numbers: Vec<u64> = self.invoices.values().map(|i| i.number).collect();
        numbers.sort_unstable();
        if numbers.iter().enumerate().any(|(i, n)| *n != i as u64 + 1) {
            problems.push("invoice numbers have gaps or repeats".into());
        }
        for invoice in self.invoices.values() {
            let paid = invoice.status == InvoiceStatus::Paid;
            if paid != invoice.payment.is_some() {
                problems.push(format!("invoice {} has a payment out of step", invoice.id));
            }
            if invoice.status.is_final() == invoice.closed_at.is_none() {
                problems.push(format!(
                    "invoice {} has a closing time out of step",
                    invoice.id
                ));
            }
        }
        for ((_, charge), invoice) in &self.charges {
            let recorded = self
                .invoices
                .get(invoice)
                .and_then(|i| i.payment.as_ref())
                .map(|p| &p.charge_id);
            if recorded != Some(charge) {
                problems.push(format!(
                    "charge {charge} is not the payment of invoice {invoice}"
                ));
            }
        }
    }

    fn check_notices_and_jobs(&self, problems: &mut Vec<String>) {
        for (user, kinds) in &self.notice_kinds {
            if !self.users.contains_key(user) {
                problems.push(format!("unknown user {user} has notice choices"));
            }
            if kinds.is_empty() {
                problems.push(format!("user {user} has an empty record of notice choices"));
            }
        }
        if self
            .notice_keys
            .keys()
            .any(|k| check_notice_key(k).is_err())
        {
            problems.push("a remembered notice key is not a notice key".into());
        }
        for (name, record) in &self.jobs {
            if check_job_name(name).is_err() || record.name != *name {
                problems.push(format!("job record {name:?} is misnamed"));
            }
            let last_named = record.last.as_ref().is_none_or(|r| r.name == *name);
            if (record.rounds == 0) != record.last.is_none() || !last_named {
                problems.push(format!(
                    "job {name} has rounds out of step with its last one"
                ));
            }
        }
        let indexed: BTreeSet<_> = self
            .dialogues
            .values()
            .map(|d| (d.expires_at, d.chat, d.user))
            .collect();
        if indexed != self.dialogues_by_expiry {
            problems.push("the index of dialogues by expiry is out of date".into());
        }
    }
}
