//! The wallet ledger.

use shopbot_core::Error;
use shopbot_core::audit::AuditRecord;
use shopbot_core::ids::{EntryId, HoldId, UserId};
use shopbot_core::money::Currency;
use shopbot_core::ports::Page;
use shopbot_core::text::{IdempotencyKey, Note};
use shopbot_core::time::Timestamp;
use shopbot_core::wallet::{
    self, Balance, Effect, Hold, HoldState, LedgerEntry, LedgerOp, LedgerRequest, WalletError,
};

use super::State;

/// A ledger entry checked and ready to write.
pub(super) struct PlannedEntry {
    user: UserId,
    key: IdempotencyKey,
    op: LedgerOp,
    note: Option<Note>,
    effect: Effect,
    after: Balance,
}

impl State {
    /// Checks `op` against the user's wallet without changing anything. Refuses a key already
    /// used in this wallet (callers deal with idempotent repeats before planning).
    pub(super) fn plan_entry(
        &self,
        user: UserId,
        key: IdempotencyKey,
        op: LedgerOp,
        note: Option<Note>,
    ) -> Result<PlannedEntry, Error> {
        self.require_user(user)?;
        if self.ledger_keys.contains_key(&(user, key.clone())) {
            return Err(Error::Conflict(format!(
                "ledger key {key} is already used in this wallet"
            )));
        }
        let hold = op.hold().and_then(|id| self.holds.get(&id));
        let currency = op
            .currency(hold)
            .ok_or_else(|| WalletError::HoldNotFound(op.hold().unwrap_or(HoldId(0))))?;
        let before = self.balance(user, currency);
        let effect = wallet::effect(user, &op, &before, hold)?;
        let after = before.after(&effect)?;
        Ok(PlannedEntry {
            user,
            key,
            op,
            note,
            effect,
            after,
        })
    }

    /// Writes a planned entry: the entry, the new balance, the hold it opens or resolves.
    pub(super) fn write_entry(&mut self, plan: PlannedEntry, at: Timestamp) -> LedgerEntry {
        self.next.entry += 1;
        let id = EntryId(self.next.entry);
        let currency = plan.after.balance.currency;
        match (plan.op, plan.effect.hold_state) {
            (LedgerOp::Hold { amount }, _) => {
                let hold = Hold {
                    id: HoldId(id.0),
                    user: plan.user,
                    amount,
                    state: HoldState::Open,
                };
                self.holds.insert(hold.id, hold);
            }
            (op, Some(state)) => {
                if let Some(hold) = op.hold().and_then(|h| self.holds.get_mut(&h)) {
                    hold.state = state;
                }
            }
            _ => {}
        }
        let entry = LedgerEntry {
            id,
            user: plan.user,
            key: plan.key.clone(),
            op: plan.op,
            balance_delta: plan.effect.balance_delta,
            held_delta: plan.effect.held_delta,
            note: plan.note,
            at,
        };
        self.balances.insert((plan.user, currency), plan.after);
        self.entries.insert(id, entry.clone());
        self.entries_by_user.entry(plan.user).or_default().push(id);
        // The fingerprint of an entry written by another command is that of an equivalent
        // direct request, so a caller repeating it through the ledger sees the same entry.
        let request = LedgerRequest {
            user: plan.user,
            key: plan.key.clone(),
            op: plan.op,
            note: entry.note.clone(),
            at,
        };
        self.ledger_keys
            .insert((plan.user, plan.key), (request.fingerprint(), id));
        entry
    }

    pub(super) fn post_ledger_entry(
        &mut self,
        request: LedgerRequest,
        audit: Option<AuditRecord>,
    ) -> Result<LedgerEntry, Error> {
        if let Some((fingerprint, id)) = self.ledger_keys.get(&(request.user, request.key.clone()))
        {
            if *fingerprint != request.fingerprint() {
                return Err(Error::Conflict(format!(
                    "ledger key {} was used for a different entry",
                    request.key
                )));
            }
            return self
                .entries
                .get(id)
                .cloned()
                .ok_or_else(|| Error::internal_msg("ledger key points to no entry"));
        }
        let plan = self.plan_entry(request.user, request.key, request.op, request.note)?;
        let entry = self.write_entry(plan, request.at);
        self.write_audit(audit);
        Ok(entry)
    }

    /// A user's balance in `currency`.
    pub fn balance(&self, user: UserId, currency: Currency) -> Balance {
        self.balances
            .get(&(user, currency))
            .copied()
            .unwrap_or_else(|| Balance::zero(currency))
    }

    /// A user's ledger, newest first.
    pub fn ledger(&self, user: UserId, page: Page) -> Vec<LedgerEntry> {
        let ids = self.entries_by_user.get(&user).map_or(&[][..], |v| &v[..]);
        ids.iter()
            .rev()
            .skip(page.offset)
            .take(page.effective_limit())
            .filter_map(|id| self.entries.get(id).cloned())
            .collect()
    }
}
