//! `check()` reports real damage only: a unit that went back to stock with a cancelled order
//! and was then sold again is sound. Its sums are exact: a ledger or holds that add up past 64
//! bits are reported, never clamped into agreement or wrapped.

#![allow(clippy::unwrap_used)] // Tests fail by panicking.

use std::sync::Arc;

use shopbot_core::services::PayWith;
use shopbot_core::testkit::{TestShop, key, qty};
use shopbot_storage_json::JsonStore;

#[tokio::test]
async fn a_unit_resold_after_its_order_was_cancelled_checks_clean() {
    let store = Arc::new(JsonStore::in_memory());
    let t = TestShop::new(store.clone()).await;
    let product = t.product("Only key", 500).await;
    t.keys(product.id, "ONLY", 1).await;
    let (ann, bob) = (t.customer(10).await, t.customer(11).await);
    t.fund(bob, 1000).await;

    let cart = t.shop.cart().add(ann, product.id, qty(1)).await.unwrap();
    let reserved = t
        .shop
        .checkout()
        .buy_cart(ann, cart.version, key("ann-1"), PayWith::Invoice)
        .await
        .unwrap()
        .order;
    let shopbot_core::order::OrderPayment::Invoice { invoice } = reserved.payment else {
        panic!("an invoice order");
    };
    t.shop
        .invoices()
        .void(shopbot_core::testkit::OWNER, invoice)
        .await
        .unwrap();
    t.buy(bob, product.id, 1).await;

    assert_eq!(store.check().await.unwrap(), Vec::<String>::new());
}

/// A store whose wallet of user 10 says `balance` and `held` while its ledger holds entries of
/// `deltas` (balance, held) and its open holds `holds`: damage no command can make, written
/// straight into a new store directory.
async fn damaged_store(
    dir: &std::path::Path,
    balance: i64,
    deltas: &[(i64, i64)],
    holds: &[i64],
) -> JsonStore {
    use shopbot_core::dump::{LedgerRecord, WalletRecord};
    use shopbot_core::idempotency::Fingerprint;
    use shopbot_core::ids::{EntryId, HoldId, UserId};
    use shopbot_core::testkit::usd;
    use shopbot_core::wallet::{Balance, Hold, HoldState, LedgerEntry, LedgerOp};

    let user = UserId(10);
    let mut dump = {
        let store = Arc::new(JsonStore::in_memory());
        let t = TestShop::new(store.clone()).await;
        t.customer(10).await;
        store.export_dump().await.unwrap()
    };
    let mut id = 0;
    for &(balance_delta, held_delta) in deltas {
        id += 1;
        dump.entries.push(LedgerRecord {
            entry: LedgerEntry {
                id: EntryId(id),
                user,
                key: key(&format!("damaged-{id}")),
                op: LedgerOp::Deposit {
                    amount: usd(balance_delta),
                },
                balance_delta: usd(balance_delta),
                held_delta: usd(held_delta),
                note: None,
                at: shopbot_core::time::Timestamp(id),
            },
            fingerprint: Fingerprint(format!("f{id}")),
        });
    }
    for &amount in holds {
        id += 1;
        dump.holds.push(Hold {
            id: HoldId(id),
            user,
            amount: usd(amount),
            state: HoldState::Open,
        });
    }
    let held = holds.iter().map(|&h| i128::from(h)).sum::<i128>();
    dump.wallets.push(WalletRecord {
        user,
        balance: Balance {
            balance: usd(balance),
            held: usd(i64::try_from(held).unwrap_or(i64::MAX)),
        },
    });
    JsonStore::import_dump(dir, dump).unwrap();
    JsonStore::open(dir).unwrap()
}

#[tokio::test]
async fn a_ledger_that_sums_past_64_bits_does_not_match_its_wallet() {
    let dir = tempfile::tempdir().unwrap();
    // The ledger sums to one more than the largest balance: clamped at 64 bits, it would
    // agree with a wallet that says the largest balance.
    let store = damaged_store(dir.path(), i64::MAX, &[(i64::MAX, 0), (1, 0)], &[]).await;

    let problems = store.check().await.unwrap();

    assert_eq!(
        problems,
        vec![format!(
            "wallet of user 10 (USD) does not match its ledger: balance {}, ledger {}; held 0, \
             ledger 0 (minor units)",
            i64::MAX,
            i128::from(i64::MAX) + 1
        )]
    );
}

#[tokio::test]
async fn open_holds_that_sum_past_64_bits_are_reported_not_wrapped() {
    let dir = tempfile::tempdir().unwrap();
    let store = damaged_store(dir.path(), i64::MAX, &[(i64::MAX, 0)], &[i64::MAX, 1]).await;

    let problems = store.check().await.unwrap();

    let expected = format!(
        "wallet of user 10 (USD) holds {} but its open holds sum to {}",
        i64::MAX,
        i128::from(i64::MAX) + 1
    );
    assert!(problems.contains(&expected), "{problems:?}");
}
