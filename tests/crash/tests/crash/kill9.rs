//! Real `kill -9`: a worker process runs concurrent checkouts and top-ups and reports each
//! acknowledged commit; it is killed at a random moment, the store is reopened and checked,
//! and the next worker carries on in the same directory. 50 kills by default;
//! `SHOPBOT_KILL_ROUNDS=500` for a longer run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // Tests fail by panicking.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};

use shopbot_core::order::Order;
use shopbot_core::ports::{Page, Storage};
use shopbot_core::wallet::LedgerEntry;
use shopbot_storage_json::JsonStore;

#[derive(Default)]
struct Acked {
    entries: Vec<LedgerEntry>,
    orders: Vec<Order>,
}

/// Runs one worker until it has acknowledged `acks` commits, then kills it.
fn work_and_kill(dir: &Path, round: u32, acks: usize, acked: &mut Acked) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_store_worker"))
        .arg(dir)
        .args(["work", &round.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the worker starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut seen = 0;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("worker output is text");
        if let Some(json) = line.strip_prefix("ACK entry ") {
            acked
                .entries
                .push(serde_json::from_str(json).expect("an entry"));
        } else if let Some(json) = line.strip_prefix("ACK order ") {
            acked
                .orders
                .push(serde_json::from_str(json).expect("an order"));
        } else {
            continue;
        }
        seen += 1;
        if seen >= acks {
            break;
        }
    }
    child.kill().expect("kill -9 the worker");
    let status = child.wait().expect("the worker is reaped");
    if seen < acks {
        let mut stderr = String::new();
        let _ = child
            .stderr
            .take()
            .map(|mut e| e.read_to_string(&mut stderr));
        panic!("round {round}: the worker stopped after {seen} acks ({status}): {stderr}");
    }
}

async fn verify(dir: &Path, round: u32, acked: &Acked) {
    let store = match JsonStore::open(dir) {
        Ok(store) => store,
        Err(e) => panic!("round {round}: the store does not open after kill -9: {e}"),
    };
    let problems = store.check().await.unwrap();
    assert!(problems.is_empty(), "round {round}: {problems:?}");
    for entry in &acked.entries {
        let ledger = store
            .ledger(entry.user, Page::first(usize::MAX))
            .await
            .unwrap();
        assert!(
            ledger.contains(entry),
            "round {round}: entry {} lost",
            entry.key
        );
    }
    let mut sold = std::collections::BTreeSet::new();
    for order in &acked.orders {
        let found = store.order(order.id).await.unwrap();
        assert_eq!(
            found.as_ref(),
            Some(order),
            "round {round}: order {} lost",
            order.id
        );
        for (_, unit) in order.delivered_units() {
            assert!(
                sold.insert(unit.unit),
                "round {round}: unit {} sold twice",
                unit.unit
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_store_survives_kill_9_at_random_moments() {
    let rounds: u32 = std::env::var("SHOPBOT_KILL_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(50);
    let dir = tempfile::tempdir().unwrap();
    let mut acked = Acked::default();
    let mut random: u64 = 0x2545_f491_4f6c_dd1d;
    for round in 0..rounds {
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        let acks = 1 + (random % 40) as usize;
        work_and_kill(dir.path(), round, acks, &mut acked);
        verify(dir.path(), round, &acked).await;
    }
    assert!(
        acked.orders.len() >= rounds as usize / 2,
        "the workers must buy things"
    );
}
