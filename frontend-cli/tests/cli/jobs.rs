//! `shopbot job list` and `job run`, the scheduled backup, and the jobs of several `serve`
//! processes on one PostgreSQL database: each job runs once per period across them, and when
//! the leader's connection is killed the other process runs the jobs within 10 s.
//!
//! The tests synchronise on the processes' own output and on the store's records, each wait
//! bounded by a deadline; none sleeps to let something happen.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use sqlx::{Connection, PgConnection};

use crate::helpers::TestShop;
use crate::serve::{Serving, serve};

const LEADS: &str = "started leading the background jobs";
const STANDS_BY: &str = "standing by: another process leads the background jobs";

/// The leadership lock's key (storage-pg's `leader.rs`).
const LEADERSHIP_KEY: i64 = 0x73_686f_7062_6f74;

/// Writes `shopbot.toml` with `jobs` as its `[jobs]` section; every command of the test reads
/// it (they run in the test's directory).
fn configure_jobs(shop: &TestShop, jobs: &str) {
    shop.file("shopbot.toml", format!("[jobs]\n{jobs}").as_bytes());
}

fn job_names(list: &Value) -> Vec<&str> {
    list["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|job| job["name"].as_str().unwrap())
        .collect()
}

fn job<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|job| job["name"] == name)
        .unwrap()
}

/// On a fresh store every enabled job is listed, never run; after `job run` the round shows.
fn job_list_before_and_after_a_round(shop: &TestShop, expected: &[&str]) {
    let list = shop.json(&["job", "list"]);
    assert_eq!(job_names(&list), expected);
    for name in expected {
        let never = job(&list, name);
        assert_eq!(never["rounds"], 0, "{never}");
        assert_eq!(never["last_run"], Value::Null, "{never}");
        assert_eq!(never["outcome"], Value::Null, "{never}");
        assert_eq!(never["next_due"], Value::Null, "{never}");
        assert_eq!(never["consecutive_failures"], 0, "{never}");
    }
    assert_eq!(job(&list, "expire-invoices")["period"], "1m");
    assert_eq!(job(&list, "expire-invoices")["period_ms"], 60_000);
    assert_eq!(job(&list, "sweep")["period"], "1h");
    let table = shop.run(&["job", "list"]);
    table.ok();
    for name in expected {
        assert!(table.stdout.contains(name), "{}", table.stdout);
    }

    let run = shop.run(&["job", "run", "expire-invoices"]);
    run.ok();
    assert_eq!(
        run.stdout,
        "expire-invoices succeeded (run by this process): no overdue invoices\n"
    );
    let list = shop.json(&["job", "list"]);
    let ran = job(&list, "expire-invoices");
    assert_eq!(ran["rounds"], 1, "{ran}");
    assert_eq!(ran["outcome"], "succeeded", "{ran}");
    assert_eq!(ran["summary"], "no overdue invoices", "{ran}");
    assert_eq!(ran["requested_at"], Value::Null, "{ran}");
    let last = ran["finished_at"].as_str().unwrap();
    let next = ran["next_due"].as_str().unwrap();
    assert!(next > last, "{ran}");
    assert_eq!(job(&list, "sweep")["rounds"], 0);
    let table = shop.run(&["job", "list"]);
    assert!(
        table.stdout.contains("no overdue invoices"),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains("succeeded"), "{}", table.stdout);
}

#[test]
fn job_list_shows_every_enabled_job_and_its_recorded_round_on_the_json_store() {
    let shop = TestShop::new();
    let backups = shop.path("backups");
    configure_jobs(
        &shop,
        &format!("backup_dir = {:?}\n", backups.display().to_string()),
    );
    job_list_before_and_after_a_round(&shop, &["expire-invoices", "sweep", "backup"]);
}

#[test]
fn job_list_shows_every_enabled_job_and_its_recorded_round_on_postgresql() {
    let Some(shop) = TestShop::postgres() else {
        return;
    };
    shop.run(&["init"]).ok();
    // Backups are the database's job on PostgreSQL: no backup job, and config check says so.
    configure_jobs(&shop, "backup_dir = \"backups\"\n");
    job_list_before_and_after_a_round(&shop, &["expire-invoices", "sweep"]);
    let check = shop.run(&["config", "check"]);
    check.ok();
    assert!(
        check
            .stdout
            .contains("scheduled backups are the database's job"),
        "{}",
        check.stdout
    );
}

#[test]
fn job_run_of_an_unknown_job_exits_2_naming_the_jobs() {
    let shop = TestShop::new();
    shop.run(&["job", "run", "backup"]).fails(
        2,
        "there is no job named `backup`; the jobs are: expire-invoices, sweep",
    );
    shop.run(&["job", "run", "nope"])
        .fails(2, "expire-invoices, sweep");
    let list = shop.json(&["job", "list"]);
    assert_eq!(job(&list, "sweep")["rounds"], 0);
}

#[test]
fn with_a_bot_configured_deliver_outbox_is_listed_and_only_serve_runs_it() {
    let shop = TestShop::new();
    shop.file(
        "shopbot.toml",
        b"[telegram]\ntoken = \"123456:never-used-by-this-test\"\n",
    );
    let list = shop.json(&["job", "list"]);
    assert_eq!(
        job_names(&list),
        ["expire-invoices", "sweep", "deliver-outbox"]
    );
    assert_eq!(job(&list, "deliver-outbox")["period"], "1s");
    shop.run(&["job", "run", "deliver-outbox"])
        .fails(5, "only a running `shopbot serve` with the bot runs it");
}

#[test]
fn job_run_on_a_json_store_a_shop_is_using_runs_through_the_shop() {
    let shop = TestShop::new();
    let serving = Serving::start(serve(&shop, "info"));
    let run = shop.run(&["job", "run", "sweep"]);
    run.ok();
    assert!(run.stdout.starts_with("sweep succeeded"), "{run:#?}");
    serving.stop("-TERM").ok();
}

#[test]
fn the_backup_job_keeps_the_newest_copies_it_named_and_nothing_else() {
    let shop = TestShop::demo();
    let backups = shop.path("backups");
    std::fs::create_dir(&backups).unwrap();
    std::fs::write(backups.join("README"), "operator's notes").unwrap();
    configure_jobs(
        &shop,
        &format!(
            "backup_dir = {:?}\nbackup_keep = 2\n",
            backups.display().to_string()
        ),
    );
    let mut summaries = Vec::new();
    for _ in 0..3 {
        let ran = shop.json(&["job", "run", "backup"]);
        assert_eq!(ran["outcome"], "succeeded", "{ran}");
        summaries.push(ran["summary"].as_str().unwrap().to_owned());
    }
    assert!(
        summaries[2].ends_with(", removed 1 old copy"),
        "{summaries:?}"
    );

    let mut left: Vec<String> = std::fs::read_dir(&backups)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left.len(), 3, "{left:?}");
    assert_eq!(left[0], "README");
    for copy in &left[1..] {
        assert!(copy.starts_with("shopbot-backup-"), "{left:?}");
        assert!(
            summaries[1..].iter().any(|s| s.contains(copy.as_str())),
            "{copy}"
        );
    }
    // The newest copy is a store of its own holding the demo shop.
    let copy = format!("json:{}", backups.join(&left[2]).display());
    let categories = shop.run_on(&copy, &["--json", "category", "list"]).json();
    assert!(!categories.as_array().unwrap().is_empty());
    let list = shop.json(&["job", "list"]);
    assert_eq!(job(&list, "backup")["rounds"], 3);
}

#[test]
fn job_run_goes_through_the_serve_process_that_leads_on_postgresql() {
    let Some(shop) = TestShop::postgres() else {
        return;
    };
    shop.run(&["demo"]).ok();
    configure_jobs(
        &shop,
        "sweep_every = \"1d\"\nexpire_invoices_every = \"1d\"\n",
    );
    let mut serving = Serving::start(serve(&shop, "info"));
    serving.wait_for(LEADS);

    let run = shop.run(&["job", "run", "sweep"]);
    run.ok();
    assert!(
        run.stdout
            .starts_with("sweep succeeded (run by the running shop): forgot "),
        "{run:#?}"
    );
    let ran = shop.json(&["job", "run", "expire-invoices"]);
    assert_eq!(ran["ran_by"], "the running shop", "{ran}");
    assert_eq!(ran["outcome"], "succeeded", "{ran}");
    let list = shop.json(&["job", "list"]);
    // Each ran at start and once more on request.
    assert_eq!(job(&list, "sweep")["rounds"], 2, "{list}");
    assert_eq!(job(&list, "expire-invoices")["rounds"], 2, "{list}");
    assert_eq!(job(&list, "sweep")["requested_at"], Value::Null, "{list}");
    serving.stop("-TERM").ok();
}

/// What the test saw of the store's job records: for each job, every distinct start of its
/// last round, and its round count when first and last looked at.
#[derive(Default, Debug)]
struct Seen {
    starts: BTreeMap<String, Vec<i64>>,
    first_rounds: BTreeMap<String, i64>,
    rounds: BTreeMap<String, i64>,
}

impl Seen {
    async fn look(&mut self, db: &mut PgConnection) {
        let rows: Vec<(String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT name, rounds, (extract(epoch FROM last_started_at) * 1000)::BIGINT \
             FROM job_records",
        )
        .fetch_all(db)
        .await
        .unwrap();
        for (name, rounds, started) in rows {
            let Some(started) = started else { continue };
            self.first_rounds.entry(name.clone()).or_insert(rounds);
            self.rounds.insert(name.clone(), rounds);
            let starts = self.starts.entry(name).or_default();
            if starts.last() != Some(&started) {
                starts.push(started);
            }
        }
    }

    /// Whether both jobs have a round that started at or after `at_ms`.
    fn both_ran_since(&self, at_ms: i64) -> bool {
        ["expire-invoices", "sweep"].iter().all(|name| {
            self.starts
                .get(*name)
                .and_then(|starts| starts.last())
                .is_some_and(|last| *last >= at_ms)
        })
    }
}

fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

#[test]
fn two_serve_processes_run_each_job_once_per_period_and_a_killed_leader_hands_over() {
    const PERIOD_MS: i64 = 1000;
    let Some(shop) = TestShop::postgres() else {
        return;
    };
    shop.run(&["demo"]).ok();
    configure_jobs(
        &shop,
        "sweep_every = \"1s\"\nexpire_invoices_every = \"1s\"\n",
    );
    let mut first = Serving::start(serve(&shop, "info"));
    first.wait_for(LEADS);
    let mut second = Serving::start(serve(&shop, "info"));
    second.wait_for(STANDS_BY);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut db = runtime
        .block_on(PgConnection::connect(&shop.store_url()))
        .unwrap();
    let mut seen = Seen::default();
    let guard = Instant::now() + Duration::from_secs(30);
    let look = |seen: &mut Seen, db: &mut PgConnection| {
        assert!(
            Instant::now() < guard,
            "the jobs did not run as expected: {seen:?}"
        );
        runtime.block_on(async {
            seen.look(db).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        });
    };
    // Both processes run for a few periods: the leader runs the jobs.
    while seen.rounds.get("expire-invoices").is_none_or(|n| *n < 4) {
        look(&mut seen, &mut db);
    }

    // Kill the leader's election connection (the session holding the lock).
    let killed_at = now_ms();
    let killed = Instant::now();
    let terminated: bool = runtime
        .block_on(
            sqlx::query_scalar(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' \
                 AND granted AND database = (SELECT oid FROM pg_database \
                 WHERE datname = current_database()) \
                 AND ((classid::BIGINT << 32) | objid::BIGINT) = $1",
            )
            .bind(LEADERSHIP_KEY)
            .fetch_one(&mut db),
        )
        .unwrap();
    assert!(terminated);
    second.wait_for(LEADS);
    assert!(
        killed.elapsed() < Duration::from_secs(10),
        "the standby took over after {:?}",
        killed.elapsed()
    );
    while !seen.both_ran_since(killed_at) {
        look(&mut seen, &mut db);
    }
    assert!(
        killed.elapsed() < Duration::from_secs(10),
        "the new leader ran the jobs {:?} after the kill",
        killed.elapsed()
    );
    // A few more periods under the new leader.
    let target = seen.rounds["expire-invoices"] + 3;
    while seen.rounds["expire-invoices"] < target {
        look(&mut seen, &mut db);
    }
    let first_run = first.stop("-TERM");
    first_run.ok();
    assert!(
        first_run.stderr.contains("stopped leading"),
        "{}",
        first_run.stderr
    );
    let second_run = second.stop("-TERM");
    second_run.ok();

    for name in ["expire-invoices", "sweep"] {
        let starts = &seen.starts[name];
        // Every recorded round was seen: none started less than a period after another.
        assert_eq!(
            i64::try_from(starts.len()).unwrap() - 1,
            seen.rounds[name] - seen.first_rounds[name],
            "{name}: {seen:?}"
        );
        for pair in starts.windows(2) {
            assert!(
                pair[1] - pair[0] >= PERIOD_MS,
                "{name}: rounds started {} ms apart: {starts:?}",
                pair[1] - pair[0]
            );
        }
    }
}

#[test]
fn a_failed_round_of_job_run_exits_1_and_job_list_counts_the_failure() {
    let shop = TestShop::new();
    // The backup directory is a plain file: the copy cannot be written.
    let blocked = shop.file("not-a-directory", b"in the way");
    configure_jobs(&shop, &format!("backup_dir = {blocked:?}\n"));

    let run = shop.run(&["job", "run", "backup"]);
    run.code(1);
    assert!(
        run.stdout
            .starts_with("backup failed (run by this process): "),
        "{run:#?}"
    );
    assert!(
        run.stderr
            .contains("error: job `backup` failed: jobs.backup_dir: cannot use "),
        "{run:#?}"
    );
    shop.run(&["job", "run", "backup"]).code(1);

    let list = shop.json(&["job", "list"]);
    let failed = job(&list, "backup");
    assert_eq!(failed["outcome"], "failed", "{failed}");
    assert_eq!(failed["rounds"], 2, "{failed}");
    assert_eq!(failed["consecutive_failures"], 2, "{failed}");
    assert_eq!(std::fs::read(&blocked).unwrap(), b"in the way");
}
