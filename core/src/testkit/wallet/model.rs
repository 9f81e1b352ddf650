//! The reference model of the ledger test: a wallet as simple as it can be, and the random
//! requests it is checked with.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::ids::{HoldId, UserId};
use crate::testkit::{SplitMix64, TestShop, all_ledger, key, note, usd};
use crate::text::IdempotencyKey;
use crate::time::Timestamp;
use crate::wallet::{HoldState, LedgerEntry, LedgerOp, LedgerRequest};

/// What the model expects of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Expected {
    /// A new entry with these effects.
    Posted {
        balance_delta: i64,
        held_delta: i64,
    },
    /// The entry recorded under this key, unchanged.
    Replayed(LedgerEntry),
    Conflict,
    NotFound,
    Invalid,
    InsufficientFunds,
}

#[derive(Debug, Clone, Copy)]
struct ModelHold {
    user: UserId,
    amount: i64,
    state: HoldState,
}

/// A wallet as simple as it can be: balance, held, holds and the entries by key.
#[derive(Debug, Default)]
pub(super) struct Model {
    wallets: BTreeMap<UserId, (i64, i64)>,
    holds: BTreeMap<HoldId, ModelHold>,
    recorded: BTreeMap<(UserId, IdempotencyKey), LedgerEntry>,
    recorded_keys: Vec<(UserId, IdempotencyKey)>,
    history: Vec<LedgerRequest>,
}

impl Model {
    fn wallet(&self, user: UserId) -> (i64, i64) {
        self.wallets.get(&user).copied().unwrap_or((0, 0))
    }

    pub(super) fn next_request(
        &mut self,
        rng: &mut SplitMix64,
        users: &[UserId],
        seed: u64,
        step: u64,
        at: Timestamp,
    ) -> LedgerRequest {
        let roll = rng.below(100);
        let request = if roll < 10 && !self.history.is_empty() {
            // An honest retry, possibly of a request that was refused then.
            let mut again = rng.pick(&self.history).unwrap().clone();
            again.at = at;
            again
        } else if roll < 17 && !self.recorded_keys.is_empty() {
            // A used key with another request.
            let (user, used) = rng.pick(&self.recorded_keys).unwrap().clone();
            let entry = &self.recorded[&(user, used.clone())];
            let op = self.random_op(rng, user);
            let note = if op == entry.op && entry.note.is_none() {
                Some(note("another request"))
            } else {
                None
            };
            LedgerRequest {
                user,
                key: used,
                op,
                note,
                at,
            }
        } else {
            let user = *rng.pick(users).unwrap();
            let note = rng
                .chance(20)
                .then(|| note(&format!("note {}", rng.below(3))));
            LedgerRequest {
                user,
                key: key(&format!("model:{seed}:{step}")),
                op: self.random_op(rng, user),
                note,
                at,
            }
        };
        self.history.push(request.clone());
        request
    }

    fn random_op(&self, rng: &mut SplitMix64, user: UserId) -> LedgerOp {
        // Now and then an amount that is not above zero, which must be refused.
        let amount = |rng: &mut SplitMix64, max: i64| {
            if rng.chance(3) {
                usd(-rng.range(0, 2))
            } else {
                usd(rng.range(1, max))
            }
        };
        match rng.below(100) {
            0..=17 => LedgerOp::Deposit {
                amount: amount(rng, 1_000),
            },
            18..=32 => LedgerOp::Hold {
                amount: amount(rng, 600),
            },
            33..=45 => LedgerOp::Capture {
                hold: self.pick_hold(rng, user),
            },
            46..=57 => LedgerOp::Release {
                hold: self.pick_hold(rng, user),
            },
            58..=65 => LedgerOp::Refund {
                amount: amount(rng, 300),
                order: None,
            },
            66..=85 => {
                let magnitude = if rng.chance(3) { 0 } else { rng.range(1, 500) };
                let sign = if rng.chance(50) { -1 } else { 1 };
                LedgerOp::Adjustment {
                    amount: usd(sign * magnitude),
                }
            }
            _ => LedgerOp::Charge {
                amount: amount(rng, 400),
                order: None,
                invoice: None,
            },
        }
    }

    /// Mostly one of `user`'s holds (in any state), sometimes another user's, sometimes none.
    fn pick_hold(&self, rng: &mut SplitMix64, user: UserId) -> HoldId {
        let own: Vec<HoldId> = self
            .holds
            .iter()
            .filter(|(_, h)| h.user == user)
            .map(|(id, _)| *id)
            .collect();
        let all: Vec<HoldId> = self.holds.keys().copied().collect();
        let roll = rng.below(100);
        let picked = if roll < 75 {
            rng.pick(&own)
        } else if roll < 90 {
            rng.pick(&all)
        } else {
            None
        };
        picked
            .copied()
            .unwrap_or(HoldId(9_000_000_000 + rng.range(0, 999)))
    }

    pub(super) fn expect(&self, r: &LedgerRequest) -> Expected {
        if let Some(entry) = self.recorded.get(&(r.user, r.key.clone())) {
            return if entry.op == r.op && entry.note == r.note {
                Expected::Replayed(entry.clone())
            } else {
                Expected::Conflict
            };
        }
        let (balance, held) = self.wallet(r.user);
        let available = balance - held;
        let posted = |balance_delta, held_delta| Expected::Posted {
            balance_delta,
            held_delta,
        };
        let spend = |amount: i64, effect: Expected| {
            if amount <= 0 {
                Expected::Invalid
            } else if amount > available {
                Expected::InsufficientFunds
            } else {
                effect
            }
        };
        let hold = |id: HoldId, effect: fn(i64) -> Expected| match self.holds.get(&id) {
            Some(h) if h.user == r.user && h.state == HoldState::Open => effect(h.amount),
            Some(h) if h.user == r.user => Expected::Conflict,
            _ => Expected::NotFound,
        };
        match r.op {
            LedgerOp::Deposit { amount } | LedgerOp::Refund { amount, .. } => {
                if amount.minor <= 0 {
                    Expected::Invalid
                } else {
                    posted(amount.minor, 0)
                }
            }
            LedgerOp::Hold { amount } => spend(amount.minor, posted(0, amount.minor)),
            LedgerOp::Charge { amount, .. } => spend(amount.minor, posted(-amount.minor, 0)),
            LedgerOp::Adjustment { amount } if amount.minor < 0 => {
                spend(-amount.minor, posted(amount.minor, 0))
            }
            LedgerOp::Adjustment { amount } if amount.minor == 0 => Expected::Invalid,
            LedgerOp::Adjustment { amount } => posted(amount.minor, 0),
            LedgerOp::Capture { hold: id } => hold(id, |a| Expected::Posted {
                balance_delta: -a,
                held_delta: -a,
            }),
            LedgerOp::Release { hold: id } => hold(id, |a| Expected::Posted {
                balance_delta: 0,
                held_delta: -a,
            }),
        }
    }

    /// Compares the store's answer with the model's, and on a new entry moves the model on.
    pub(super) fn check(
        &mut self,
        r: &LedgerRequest,
        expected: Expected,
        got: Result<LedgerEntry>,
        context: &str,
    ) {
        match (&expected, got) {
            (
                Expected::Posted {
                    balance_delta,
                    held_delta,
                },
                Ok(entry),
            ) => {
                assert_eq!(entry.user, r.user, "{context}");
                assert_eq!(entry.key, r.key, "{context}");
                assert_eq!(entry.op, r.op, "{context}");
                assert_eq!(entry.note, r.note, "{context}");
                assert_eq!(entry.at, r.at, "{context}");
                assert_eq!(entry.balance_delta, usd(*balance_delta), "{context}");
                assert_eq!(entry.held_delta, usd(*held_delta), "{context}");
                let ids: BTreeSet<_> = self.recorded.values().map(|e| e.id).collect();
                assert!(
                    !ids.contains(&entry.id),
                    "{context}: entry id {} reused",
                    entry.id
                );
                self.apply(r, entry);
            }
            (Expected::Replayed(recorded), Ok(entry)) => {
                assert_eq!(
                    &entry, recorded,
                    "{context}: a retry must return the recorded entry"
                );
            }
            (Expected::Conflict, Err(Error::Conflict(_)))
            | (Expected::NotFound, Err(Error::NotFound { .. }))
            | (Expected::Invalid, Err(Error::Invalid(_)))
            | (Expected::InsufficientFunds, Err(Error::InsufficientFunds { .. })) => {}
            (expected, got) => panic!("{context}: expected {expected:?}, got {got:?}"),
        }
    }

    fn apply(&mut self, r: &LedgerRequest, entry: LedgerEntry) {
        let (balance, held) = self.wallet(r.user);
        self.wallets.insert(
            r.user,
            (
                balance + entry.balance_delta.minor,
                held + entry.held_delta.minor,
            ),
        );
        match r.op {
            LedgerOp::Hold { amount } => {
                let hold = ModelHold {
                    user: r.user,
                    amount: amount.minor,
                    state: HoldState::Open,
                };
                self.holds.insert(HoldId(entry.id.0), hold);
            }
            LedgerOp::Capture { hold } | LedgerOp::Release { hold } => {
                let state = if matches!(r.op, LedgerOp::Capture { .. }) {
                    HoldState::Captured
                } else {
                    HoldState::Released
                };
                self.holds.get_mut(&hold).unwrap().state = state;
            }
            _ => {}
        }
        self.recorded_keys.push((r.user, r.key.clone()));
        self.recorded.insert((r.user, r.key.clone()), entry);
    }

    pub(super) async fn check_wallet(&self, t: &TestShop, user: UserId, context: &str) {
        let wallet = t.balance(user).await;
        let (balance, held) = self.wallet(user);
        assert_eq!(
            (wallet.balance, wallet.held),
            (usd(balance), usd(held)),
            "{context}"
        );
        assert!(wallet.held.minor >= 0, "{context}: held below zero");
        assert!(
            wallet.available().minor >= 0,
            "{context}: available below zero"
        );
    }

    pub(super) async fn check_ledgers(&self, t: &TestShop, users: &[UserId], context: &str) {
        for &user in users {
            self.check_wallet(t, user, context).await;
            let ledger = all_ledger(t.store.as_ref(), user).await;
            let expected = self.recorded.keys().filter(|(u, _)| *u == user).count();
            assert_eq!(ledger.len(), expected, "{context}: ledger length of {user}");
            let (balance, held) = self.wallet(user);
            let sum = |f: fn(&LedgerEntry) -> i64| ledger.iter().map(f).sum::<i64>();
            assert_eq!(
                sum(|e| e.balance_delta.minor),
                balance,
                "{context}: ledger sum"
            );
            assert_eq!(
                sum(|e| e.held_delta.minor),
                held,
                "{context}: ledger held sum"
            );
            for (id, hold) in self.holds.iter().filter(|(_, h)| h.user == user) {
                let resolutions = ledger.iter().filter(|e| e.op.hold() == Some(*id)).count();
                let once = usize::from(hold.state != HoldState::Open);
                assert_eq!(resolutions, once, "{context}: resolutions of hold {id}");
            }
        }
    }
}
