//! The wallet ledger: every posted entry agrees with a small reference model, available money
//! never goes below zero, a hold is resolved once, and a key posts once.

use std::sync::Arc;

use tokio::sync::Barrier;
use tokio::task::JoinSet;

use super::{CURRENCY, SplitMix64, TestShop, all_ledger, key, note, usd};
use crate::error::{Error, Invalid, Result};
use crate::ids::{HoldId, UserId};
use crate::ports::Storage;
use crate::time::Timestamp;
use crate::wallet::{LedgerEntry, LedgerOp, LedgerRequest, WalletError};

mod model;

use model::Model;

const SEEDS: u64 = 20;
const STEPS: u64 = 300;
const USERS: i64 = 8;

/// Seeded random sequences of deposits, holds, captures, releases, refunds, charges and
/// adjustments (both signs), posted straight to the store, with honest retries (the same
/// request again, later) and reused keys (another request under a used key). After every step
/// the store agrees with a reference model: the same outcome (which entry, or which error), the
/// same balance and held amount, available never below zero. Every so often and at the end, each
/// ledger sums to its balance and each hold was resolved at most once.
pub async fn the_ledger_agrees_with_a_reference_model_over_random_operations(
    store: Arc<dyn Storage>,
) {
    let t = TestShop::new(store).await;
    for seed in 0..SEEDS {
        let base = 10_000 + i64::try_from(seed).unwrap() * 100;
        let mut users = Vec::new();
        for i in 0..USERS {
            users.push(t.customer(base + i).await);
        }
        let mut model = Model::default();
        let mut rng = SplitMix64::new(seed);
        for step in 0..STEPS {
            let at = t.tick();
            let request = model.next_request(&mut rng, &users, seed, step, at);
            let expected = model.expect(&request);
            let got = t.store.post_ledger_entry(request.clone(), None).await;
            let context = format!("seed {seed} step {step}: {request:?}");
            model.check(&request, expected, got, &context);
            model.check_wallet(&t, request.user, &context).await;
            if step % 50 == 49 {
                model.check_ledgers(&t, &users, &context).await;
            }
        }
        model
            .check_ledgers(&t, &users, &format!("seed {seed} at the end"))
            .await;
    }
}

async fn post(t: &TestShop, user: UserId, key_text: &str, op: LedgerOp) -> Result<LedgerEntry> {
    let request = LedgerRequest {
        user,
        key: key(key_text),
        op,
        note: None,
        at: t.now(),
    };
    t.store.post_ledger_entry(request, None).await
}

/// 32 tasks at once try to capture or release one hold, each with its own key: exactly one
/// wins, the rest get `Conflict`, and the wallet moves by the winner's effect only. Ten rounds.
pub async fn a_hold_is_resolved_once_when_captured_and_released_at_once(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let user = t.customer(10).await;
    post(
        &t,
        user,
        "seed-money",
        LedgerOp::Deposit {
            amount: usd(10_000),
        },
    )
    .await
    .unwrap();
    let mut balance = 10_000;
    for round in 0..10 {
        let placed = post(
            &t,
            user,
            &format!("hold:{round}"),
            LedgerOp::Hold { amount: usd(300) },
        )
        .await
        .unwrap();
        let hold = HoldId(placed.id.0);
        let barrier = Arc::new(Barrier::new(32));
        let mut tasks = JoinSet::new();
        for i in 0..32 {
            let (t, barrier) = (t.clone(), barrier.clone());
            tasks.spawn(async move {
                let op = if i % 2 == 0 {
                    LedgerOp::Capture { hold }
                } else {
                    LedgerOp::Release { hold }
                };
                barrier.wait().await;
                post(&t, user, &format!("resolve:{round}:{i}"), op).await
            });
        }
        let mut winners = Vec::new();
        while let Some(done) = tasks.join_next().await {
            match done.unwrap() {
                Ok(entry) => winners.push(entry),
                Err(Error::Conflict(_)) => {}
                Err(other) => panic!("round {round}: unexpected {other:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        if matches!(winners[0].op, LedgerOp::Capture { .. }) {
            balance -= 300;
        }
        let wallet = t.balance(user).await;
        assert_eq!(
            (wallet.balance, wallet.held),
            (usd(balance), usd(0)),
            "round {round}"
        );
    }
    let ledger = all_ledger(t.store.as_ref(), user).await;
    assert_eq!(
        ledger.len(),
        1 + 10 + 10,
        "a deposit, ten holds, ten resolutions"
    );
    assert_eq!(
        ledger.iter().map(|e| e.balance_delta.minor).sum::<i64>(),
        balance
    );
}

/// 50 tasks at once each charge or hold 0.70 against a wallet of 10.00: exactly 14 succeed, the
/// rest get `InsufficientFunds`, and 0.20 stays available.
pub async fn concurrent_spending_never_overdraws_a_wallet(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let user = t.customer(10).await;
    post(
        &t,
        user,
        "seed-money",
        LedgerOp::Deposit { amount: usd(1_000) },
    )
    .await
    .unwrap();
    let barrier = Arc::new(Barrier::new(50));
    let mut tasks = JoinSet::new();
    for i in 0..50 {
        let (t, barrier) = (t.clone(), barrier.clone());
        tasks.spawn(async move {
            let op = if i % 2 == 0 {
                LedgerOp::Charge {
                    amount: usd(70),
                    order: None,
                    invoice: None,
                }
            } else {
                LedgerOp::Hold { amount: usd(70) }
            };
            barrier.wait().await;
            post(&t, user, &format!("spend:{i}"), op).await
        });
    }
    let (mut charges, mut holds) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        match done.unwrap() {
            Ok(entry) if matches!(entry.op, LedgerOp::Charge { .. }) => charges += 1,
            Ok(_) => holds += 1,
            Err(Error::InsufficientFunds { .. }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(charges + holds, 14, "spends that fit into 10.00");
    let wallet = t.balance(user).await;
    assert_eq!(wallet.balance, usd(1_000 - 70 * charges));
    assert_eq!(wallet.held, usd(70 * holds));
    assert_eq!(wallet.available(), usd(20));
}

/// One deposit request posted by 20 tasks at once (each with its own time) is one entry: every
/// task gets the same entry and the wallet grows once.
pub async fn a_ledger_request_repeated_concurrently_posts_once(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let user = t.customer(10).await;
    let barrier = Arc::new(Barrier::new(20));
    let mut tasks = JoinSet::new();
    for i in 0..20 {
        let (t, barrier) = (t.clone(), barrier.clone());
        tasks.spawn(async move {
            let request = LedgerRequest {
                user,
                key: key("top-up-once"),
                op: LedgerOp::Deposit { amount: usd(500) },
                note: Some(note("bank transfer")),
                at: Timestamp(t.now().0 + i),
            };
            barrier.wait().await;
            t.store.post_ledger_entry(request, None).await
        });
    }
    let mut entries = Vec::new();
    while let Some(done) = tasks.join_next().await {
        entries.push(done.unwrap().unwrap());
    }
    assert!(
        entries.iter().all(|e| *e == entries[0]),
        "one entry for all: {entries:?}"
    );
    assert_eq!(
        t.store.balance(user, CURRENCY).await.unwrap().balance,
        usd(500)
    );
    assert_eq!(
        all_ledger(t.store.as_ref(), user).await,
        vec![entries[0].clone()]
    );
}

/// A deposit or a credit the wallet cannot hold (its balance would pass the largest amount)
/// is refused with [`WalletError::TooLarge`], naming
/// that largest balance, and changes nothing: not the balance, not the ledger, not the key.
pub async fn money_a_wallet_cannot_hold_is_refused_and_changes_nothing(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let user = t.customer(10).await;
    post(
        &t,
        user,
        "almost-all",
        LedgerOp::Deposit {
            amount: usd(i64::MAX - 5),
        },
    )
    .await
    .unwrap();
    let before = (
        t.balance(user).await,
        all_ledger(t.store.as_ref(), user).await,
    );

    let deposit = post(&t, user, "one-more", LedgerOp::Deposit { amount: usd(6) }).await;
    let credit = post(
        &t,
        user,
        "credit",
        LedgerOp::Adjustment {
            amount: usd(i64::MAX),
        },
    )
    .await;

    for refused in [deposit, credit] {
        let Err(Error::Invalid(Invalid::Wallet(WalletError::TooLarge { largest }))) = refused
        else {
            panic!("expected the wallet to be full, got {refused:?}");
        };
        assert_eq!(largest, usd(i64::MAX));
    }
    let after = (
        t.balance(user).await,
        all_ledger(t.store.as_ref(), user).await,
    );
    assert_eq!(after, before);
    // The refused key left no trace: a request that fits may use it.
    post(&t, user, "one-more", LedgerOp::Deposit { amount: usd(5) })
        .await
        .unwrap();
    assert_eq!(t.balance(user).await.balance, usd(i64::MAX));
}
