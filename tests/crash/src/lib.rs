//! Crash tests across real processes. `store_worker` is the process that gets killed; the
//! tests in `tests/` drive it and check the store it leaves behind.
//!
//! The worker prints one line per acknowledged commit: `ACK entry <json>` for a ledger entry
//! and `ACK order <json>` for an order, only after the store answered.

use std::collections::BTreeSet;

use shopbot_core::ids::UserId;

/// The shop owner in every worker run.
pub const OWNER: UserId = UserId(1);

/// The buyers, one per concurrent task.
pub fn buyers() -> impl Iterator<Item = UserId> {
    (0..8).map(|b| UserId(100 + b))
}

/// The owner as a set, for `ShopConfig::owners`.
pub fn owners() -> BTreeSet<UserId> {
    BTreeSet::from([OWNER])
}
