use super::Context;
use crate::error::{Error, Result};
use crate::ids::{HoldId, OrderId, UserId};
use crate::money::Money;
use crate::ports::Page;
use crate::text::{IdempotencyKey, Note};
use crate::wallet::{Balance, LedgerEntry, LedgerOp, LedgerRequest};

/// Wallets: a customer's view of their own, and the ledger operations trusted code (payment
/// integrations, jobs) performs. Manual corrections by staff go through
/// [`AdminService::adjust_wallet`](super::AdminService::adjust_wallet).
pub struct WalletService {
    context: Context,
}

impl WalletService {
    pub(crate) fn new(context: Context) -> Self {
        WalletService { context }
    }

    /// The user's own balance in the shop currency.
    pub async fn balance(&self, user: UserId) -> Result<Balance> {
        self.context.customer(user).await?;
        let currency = self.context.config.prices.currency;
        self.context.storage.balance(user, currency).await
    }

    /// The user's own ledger, newest first.
    pub async fn history(&self, user: UserId, page: Page) -> Result<Vec<LedgerEntry>> {
        self.context.customer(user).await?;
        self.context.storage.ledger(user, page).await
    }

    /// Money in (trusted callers only).
    pub async fn deposit(
        &self,
        user: UserId,
        amount: Money,
        key: IdempotencyKey,
        note: Option<Note>,
    ) -> Result<LedgerEntry> {
        self.post(user, key, LedgerOp::Deposit { amount }, note)
            .await
    }

    /// Sets money aside; the entry's id is the hold's id (trusted callers only).
    pub async fn hold(&self, user: UserId, amount: Money, key: IdempotencyKey) -> Result<HoldId> {
        let entry = self
            .post(user, key, LedgerOp::Hold { amount }, None)
            .await?;
        Ok(HoldId(entry.id.0))
    }

    /// Takes the money of an open hold (trusted callers only).
    pub async fn capture(
        &self,
        user: UserId,
        hold: HoldId,
        key: IdempotencyKey,
    ) -> Result<LedgerEntry> {
        self.post(user, key, LedgerOp::Capture { hold }, None).await
    }

    /// Gives back the money of an open hold (trusted callers only).
    pub async fn release(
        &self,
        user: UserId,
        hold: HoldId,
        key: IdempotencyKey,
    ) -> Result<LedgerEntry> {
        self.post(user, key, LedgerOp::Release { hold }, None).await
    }

    /// Money back to the user (trusted callers only).
    pub async fn refund(
        &self,
        user: UserId,
        amount: Money,
        order: Option<OrderId>,
        key: IdempotencyKey,
    ) -> Result<LedgerEntry> {
        self.post(user, key, LedgerOp::Refund { amount, order }, None)
            .await
    }

    async fn post(
        &self,
        user: UserId,
        key: IdempotencyKey,
        op: LedgerOp,
        note: Option<Note>,
    ) -> Result<LedgerEntry> {
        reject_reserved(&key)?;
        let currency = self.context.config.prices.currency;
        if op.currency(None).is_some_and(|c| c != currency) {
            return Err(Error::invalid(format!("the wallet holds {currency}")));
        }
        let request = LedgerRequest {
            user,
            key,
            op,
            note,
            at: self.context.clock.now(),
        };
        self.context.storage.post_ledger_entry(request, None).await
    }
}

/// Refuses a caller's key in a namespace the shop derives keys in, so a caller's entry can
/// never block a payment's or a refund's.
pub(super) fn reject_reserved(key: &IdempotencyKey) -> Result<()> {
    if key.is_reserved() {
        let reserved = IdempotencyKey::RESERVED_PREFIXES.join(", ");
        return Err(Error::invalid(format!(
            "idempotency keys may not start with {reserved}"
        )));
    }
    Ok(())
}
