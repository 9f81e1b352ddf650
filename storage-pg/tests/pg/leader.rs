//! Leader election: three instances on one database never lead at once, sampled every 100 ms;
//! killing the leader's connection hands leadership over within 10 s; the deposed leader's
//! epoch is fenced off.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // Tests fail by panicking.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection};
use tokio::sync::Mutex;

use shopbot_storage_pg::testing::TestDatabase;
use shopbot_storage_pg::{Leader, PgStore};

/// A candidate that keeps trying to lead, reconnecting when its connection dies.
fn campaign(store: PgStore, name: String, slot: Arc<Mutex<Leader>>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        loop {
            tick.tick().await;
            let mut leader = slot.lock().await;
            if leader.try_lead().await.is_err()
                && let Ok(fresh) = Leader::new(&store, &name).await
            {
                *leader = fresh;
            }
        }
    })
}

/// Which candidates lead, asked of the server with every candidate held still.
async fn leaders(slots: &[Arc<Mutex<Leader>>]) -> Vec<usize> {
    let mut held = Vec::new();
    for slot in slots {
        held.push(slot.lock().await);
    }
    let mut leading = Vec::new();
    for (i, leader) in held.iter_mut().enumerate() {
        if leader.is_leader().await {
            leading.push(i);
        }
    }
    leading
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_leader_at_a_time_and_a_quick_handover_when_it_dies() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let mut slots = Vec::new();
    let mut stores = Vec::new();
    let mut tasks = Vec::new();
    for i in 0..3 {
        let store = PgStore::connect(db.url())
            .await
            .expect("an instance starts");
        let name = format!("instance-{i}");
        let slot = Arc::new(Mutex::new(Leader::new(&store, &name).await.unwrap()));
        tasks.push(campaign(store.clone(), name, slot.clone()));
        slots.push(slot);
        stores.push(store);
    }

    let mut sample = tokio::time::interval(Duration::from_millis(100));
    let deadline = Instant::now() + Duration::from_secs(10);
    let first = loop {
        sample.tick().await;
        let leading = leaders(&slots).await;
        assert!(leading.len() <= 1, "two leaders at once: {leading:?}");
        if let [one] = leading[..] {
            break one;
        }
        assert!(Instant::now() < deadline, "nobody took the lead");
    };
    for _ in 0..10 {
        sample.tick().await;
        assert_eq!(
            leaders(&slots).await,
            vec![first],
            "leadership must be stable"
        );
    }
    let old_epoch = slots[first].lock().await.epoch().unwrap();

    let pid = slots[first].lock().await.backend_pid().await.unwrap();
    let mut admin = PgConnection::connect(db.server_url()).await.unwrap();
    sqlx::query("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .execute(&mut admin)
        .await
        .unwrap();
    let killed = Instant::now();

    let second = loop {
        sample.tick().await;
        let leading = leaders(&slots).await;
        assert!(leading.len() <= 1, "two leaders at once: {leading:?}");
        if let [one] = leading[..] {
            let epoch = slots[one].lock().await.epoch().unwrap();
            if epoch > old_epoch {
                break one;
            }
        }
        assert!(
            killed.elapsed() < Duration::from_secs(10),
            "no handover within 10 s"
        );
    };
    let new_epoch = slots[second].lock().await.epoch().unwrap();
    assert!(new_epoch > old_epoch);

    let store = &stores[0];
    let fenced = Leader::fenced(store, old_epoch).await;
    assert!(fenced.is_err(), "a deposed leader's job is refused");
    let tx = Leader::fenced(store, new_epoch)
        .await
        .expect("the leader's job runs");
    tx.rollback().await.unwrap();

    for task in tasks {
        task.abort();
    }
}
