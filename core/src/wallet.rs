//! The wallet: an append-only ledger per user, and the rules every entry obeys.
//!
//! Owns [`LedgerOp`], [`LedgerEntry`], [`Balance`], [`Hold`] and [`effect`], the one function
//! that decides what an operation does to a balance. Backends call [`effect`] inside their
//! atomic command and persist its result; they never compute balances their own way.
//! Invariants: `held ≥ 0` and `available = balance − held ≥ 0`, always. Staff credits above
//! the shop's [`CreditLimit`] need a confirmation.

mod limit;

pub use limit::{CreditLimit, CreditLimitError};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::idempotency::{Fingerprint, fingerprint};
use crate::ids::{EntryId, HoldId, InvoiceId, OrderId, UserId};
use crate::money::{Currency, Money, MoneyError};
use crate::text::{IdempotencyKey, Note};
use crate::time::Timestamp;

/// What a ledger entry does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerOp {
    /// Money comes in (a top-up). Balance up.
    Deposit {
        /// A positive amount.
        amount: Money,
    },
    /// Set money aside for a pending purchase. Held up; needs that much available.
    Hold {
        /// A positive amount.
        amount: Money,
    },
    /// Take the money of an open hold. Balance and held down by the hold's amount.
    Capture {
        /// The hold.
        hold: HoldId,
    },
    /// Give back the money of an open hold. Held down.
    Release {
        /// The hold.
        hold: HoldId,
    },
    /// Money goes back to the user. Balance up.
    Refund {
        /// A positive amount.
        amount: Money,
        /// The order refunded, if any.
        order: Option<OrderId>,
    },
    /// A correction by an admin: positive credits, negative debits (never below available).
    Adjustment {
        /// A non-zero amount.
        amount: Money,
    },
    /// Payment for an order or invoice straight from the wallet. Balance down.
    Charge {
        /// A positive amount.
        amount: Money,
        /// The order paid, if any.
        order: Option<OrderId>,
        /// The invoice paid, if any.
        invoice: Option<InvoiceId>,
    },
}

/// A request to post one ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerRequest {
    /// Whose wallet.
    pub user: UserId,
    /// Unique per user: a repeated key returns the recorded entry.
    pub key: IdempotencyKey,
    /// What to do.
    pub op: LedgerOp,
    /// Why, for people reading the ledger.
    pub note: Option<Note>,
    /// When.
    pub at: Timestamp,
}

impl LedgerRequest {
    /// What makes two requests with one key "the same": everything but the time.
    pub fn fingerprint(&self) -> Fingerprint {
        fingerprint(&("ledger", self.user, &self.op, &self.note))
    }
}

/// One line of the ledger. Never changed or removed once written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Its id. For a [`LedgerOp::Hold`] it is also the hold's id.
    pub id: EntryId,
    /// Whose wallet.
    pub user: UserId,
    /// Its idempotency key.
    pub key: IdempotencyKey,
    /// What it did.
    pub op: LedgerOp,
    /// Its effect on the balance.
    pub balance_delta: Money,
    /// Its effect on the held amount.
    pub held_delta: Money,
    /// Why.
    pub note: Option<Note>,
    /// When.
    pub at: Timestamp,
}

/// A wallet's totals in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    /// Everything the user has.
    pub balance: Money,
    /// The part set aside by open holds.
    pub held: Money,
}

impl Balance {
    /// An empty wallet.
    pub fn zero(currency: Currency) -> Self {
        Balance {
            balance: Money::zero(currency),
            held: Money::zero(currency),
        }
    }

    /// What the user can spend: `balance − held`.
    pub fn available(&self) -> Money {
        Money::new(
            self.balance.minor.saturating_sub(self.held.minor),
            self.balance.currency,
        )
    }

    /// The balance after `effect`; [`WalletError::TooLarge`] when the wallet cannot hold it.
    pub fn after(&self, effect: &Effect) -> Result<Balance, WalletError> {
        let currency = self.balance.currency;
        let fits = |e: MoneyError| match e {
            MoneyError::Overflow => WalletError::TooLarge {
                largest: Money::new(i64::MAX, currency),
            },
            other => WalletError::Money(other),
        };
        Ok(Balance {
            balance: self
                .balance
                .checked_add(effect.balance_delta)
                .map_err(fits)?,
            held: self.held.checked_add(effect.held_delta).map_err(fits)?,
        })
    }
}

/// Money set aside until it is captured or released, exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    /// Its id (the id of the entry that placed it).
    pub id: HoldId,
    /// Whose wallet.
    pub user: UserId,
    /// How much.
    pub amount: Money,
    /// Where it stands.
    pub state: HoldState,
}

/// Where a hold stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldState {
    /// Money set aside.
    Open,
    /// Money taken.
    Captured,
    /// Money given back.
    Released,
}

/// What one operation does to a balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Effect {
    /// Change of the balance.
    pub balance_delta: Money,
    /// Change of the held amount.
    pub held_delta: Money,
    /// The hold's new state, for captures and releases.
    pub hold_state: Option<HoldState>,
}

/// Why a ledger operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WalletError {
    /// The amount must be above zero (or, for an adjustment, not zero).
    #[error("the amount must be above zero")]
    NonPositiveAmount,
    /// Not enough available money.
    #[error("insufficient funds: {needed} needed, {available} available")]
    InsufficientFunds {
        /// What the operation needs.
        needed: Money,
        /// What is available.
        available: Money,
    },
    /// No such hold in this wallet.
    #[error("hold {0} not found")]
    HoldNotFound(HoldId),
    /// The hold was already captured or released.
    #[error("hold {0} is already resolved")]
    HoldResolved(HoldId),
    /// The wallet would hold more than any wallet can.
    #[error("the wallet cannot hold more than {largest}")]
    TooLarge {
        /// The most a wallet holds in this currency.
        largest: Money,
    },
    /// A manual credit above the shop's limit that nobody confirmed.
    #[error("a manual credit of {amount} is above the limit of {limit} (max_manual_credit)")]
    Unconfirmed {
        /// The credit asked for.
        amount: Money,
        /// The largest credit given without a confirmation.
        limit: Money,
    },
    /// Arithmetic refused.
    #[error(transparent)]
    Money(#[from] MoneyError),
}

impl LedgerOp {
    /// The currency this operation moves, given its hold (for captures and releases).
    pub fn currency(&self, hold: Option<&Hold>) -> Option<Currency> {
        match self {
            LedgerOp::Deposit { amount }
            | LedgerOp::Hold { amount }
            | LedgerOp::Refund { amount, .. }
            | LedgerOp::Adjustment { amount }
            | LedgerOp::Charge { amount, .. } => Some(amount.currency),
            LedgerOp::Capture { .. } | LedgerOp::Release { .. } => hold.map(|h| h.amount.currency),
        }
    }

    /// The hold this operation resolves, if it resolves one.
    pub fn hold(&self) -> Option<HoldId> {
        match self {
            LedgerOp::Capture { hold } | LedgerOp::Release { hold } => Some(*hold),
            _ => None,
        }
    }
}

/// Decides what `op` does to `balance` (the user's balance in the op's currency), given the
/// hold it names. Refuses anything that would break an invariant.
pub fn effect(
    user: UserId,
    op: &LedgerOp,
    balance: &Balance,
    hold: Option<&Hold>,
) -> Result<Effect, WalletError> {
    let currency = balance.balance.currency;
    let zero = Money::zero(currency);
    let positive = |amount: &Money| {
        if amount.is_positive() {
            Ok(*amount)
        } else {
            Err(WalletError::NonPositiveAmount)
        }
    };
    let spend = |amount: Money| {
        let available = balance.available();
        if amount.minor > available.minor {
            Err(WalletError::InsufficientFunds {
                needed: amount,
                available,
            })
        } else {
            Ok(())
        }
    };
    let open_hold = |id: HoldId| match hold {
        Some(h) if h.id == id && h.user == user => match h.state {
            HoldState::Open => Ok(h.amount),
            _ => Err(WalletError::HoldResolved(id)),
        },
        _ => Err(WalletError::HoldNotFound(id)),
    };
    let effect = |balance_delta: Money, held_delta: Money, hold_state| Effect {
        balance_delta,
        held_delta,
        hold_state,
    };
    match op {
        LedgerOp::Deposit { amount } | LedgerOp::Refund { amount, .. } => {
            Ok(effect(positive(amount)?, zero, None))
        }
        LedgerOp::Hold { amount } => {
            let amount = positive(amount)?;
            spend(amount)?;
            Ok(effect(zero, amount, None))
        }
        LedgerOp::Charge { amount, .. } => {
            let amount = positive(amount)?;
            spend(amount)?;
            Ok(effect(amount.checked_neg()?, zero, None))
        }
        LedgerOp::Adjustment { amount } => {
            if amount.minor == 0 {
                return Err(WalletError::NonPositiveAmount);
            }
            if amount.is_negative() {
                spend(amount.checked_neg()?)?;
            }
            Ok(effect(*amount, zero, None))
        }
        LedgerOp::Capture { hold } => {
            let amount = open_hold(*hold)?.checked_neg()?;
            Ok(effect(amount, amount, Some(HoldState::Captured)))
        }
        LedgerOp::Release { hold } => {
            let amount = open_hold(*hold)?.checked_neg()?;
            Ok(effect(zero, amount, Some(HoldState::Released)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: UserId = UserId(1);

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::USD)
    }

    fn wallet(balance: i64, held: i64) -> Balance {
        Balance {
            balance: usd(balance),
            held: usd(held),
        }
    }

    fn hold(state: HoldState) -> Hold {
        Hold {
            id: HoldId(9),
            user: U,
            amount: usd(300),
            state,
        }
    }

    #[test]
    fn spending_never_goes_below_available() {
        let w = wallet(1000, 600);
        assert!(effect(U, &LedgerOp::Hold { amount: usd(400) }, &w, None).is_ok());
        assert_eq!(
            effect(
                U,
                &LedgerOp::Charge {
                    amount: usd(401),
                    order: None,
                    invoice: None
                },
                &w,
                None
            ),
            Err(WalletError::InsufficientFunds {
                needed: usd(401),
                available: usd(400)
            })
        );
        assert!(effect(U, &LedgerOp::Adjustment { amount: usd(-401) }, &w, None).is_err());
        assert!(effect(U, &LedgerOp::Adjustment { amount: usd(-400) }, &w, None).is_ok());
    }

    #[test]
    fn a_hold_is_resolved_once() {
        let w = wallet(1000, 300);
        let open = hold(HoldState::Open);
        let captured = effect(U, &LedgerOp::Capture { hold: HoldId(9) }, &w, Some(&open)).unwrap();
        assert_eq!(captured.balance_delta, usd(-300));
        assert_eq!(captured.held_delta, usd(-300));
        for state in [HoldState::Captured, HoldState::Released] {
            let done = hold(state);
            assert_eq!(
                effect(U, &LedgerOp::Release { hold: HoldId(9) }, &w, Some(&done)),
                Err(WalletError::HoldResolved(HoldId(9)))
            );
        }
    }

    #[test]
    fn another_users_hold_is_not_found() {
        let w = wallet(1000, 300);
        let theirs = Hold {
            user: UserId(2),
            ..hold(HoldState::Open)
        };
        assert_eq!(
            effect(U, &LedgerOp::Capture { hold: HoldId(9) }, &w, Some(&theirs)),
            Err(WalletError::HoldNotFound(HoldId(9)))
        );
    }

    #[test]
    fn amounts_must_be_positive() {
        let w = wallet(0, 0);
        for op in [
            LedgerOp::Deposit { amount: usd(0) },
            LedgerOp::Deposit { amount: usd(-1) },
            LedgerOp::Hold { amount: usd(0) },
            LedgerOp::Refund {
                amount: usd(-5),
                order: None,
            },
            LedgerOp::Adjustment { amount: usd(0) },
        ] {
            assert_eq!(
                effect(U, &op, &w, None),
                Err(WalletError::NonPositiveAmount),
                "{op:?}"
            );
        }
    }
}
