//! The `backup` job: a copy of the JSON store every `jobs.backup_every` into
//! `jobs.backup_dir`, keeping the newest `jobs.backup_keep`.
//!
//! Each copy is what `shopbot backup --out DIR` writes (a store directory of its own, see
//! [`JsonStore::backup`]), in a subdirectory named `shopbot-backup-YYYYMMDD-HHMMSS-mmm` after
//! the time it was taken (UTC), so names sort by time. After a copy, the oldest copies beyond
//! the number to keep are deleted. Only directories with exactly such a name are ever deleted:
//! whatever else lies in the backup directory is left alone.
//!
//! Only the JSON store has this job: a PostgreSQL database is backed up with the database's
//! own tools. The job is first due one period after the shop starts (unless the store's
//! record of its last round says otherwise), so restarting the shop does not take a copy.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use shopbot_core::jobs::{Job, JobReport};
use shopbot_core::ports::Clock;
use shopbot_core::time::Timestamp;
use shopbot_core::{Error, Result};
use shopbot_storage_json::JsonStore;

use crate::config::Settings;
use crate::out_path;
use crate::store::StoreUrl;

/// The backup job's name.
pub const BACKUP: &str = "backup";

/// What `config check` and `serve` say when backups are configured on PostgreSQL, where this
/// job does not run; `None` when there is nothing to say.
pub fn postgres_note(settings: &Settings) -> Option<String> {
    match (&settings.store, &settings.jobs.backup_dir) {
        (StoreUrl::Postgres(_), Some(dir)) => Some(format!(
            "jobs.backup_dir ({}) is set, but the store is PostgreSQL: scheduled backups are \
             the database's job (pg_dump, or the server's base backups and WAL archiving), so \
             no backup job runs; `shopbot backup --out DIR` takes a pg_dump copy by hand",
            dir.display()
        )),
        _ => None,
    }
}

/// How every copy's directory name starts.
const PREFIX: &str = "shopbot-backup-";

/// Takes the scheduled copies of one JSON store.
#[derive(Clone)]
pub struct ScheduledBackup {
    /// The store to copy.
    pub store: Arc<JsonStore>,
    /// Its URL, so that a backup directory inside a store is refused.
    pub url: StoreUrl,
    /// Where the copies go (created if missing).
    pub dir: PathBuf,
    /// How many copies to keep (at least one).
    pub keep: u32,
    /// Whose time names the copies.
    pub clock: Arc<dyn Clock>,
}

impl ScheduledBackup {
    /// The job taking a copy every `every`, first one period after the scheduler starts.
    pub fn job(self, every: Duration) -> Job {
        Job::new(BACKUP, every, move || {
            let backup = self.clone();
            async move { backup.take().await }
        })
        .first_run_after_period()
    }

    /// Takes one copy now and deletes the oldest copies beyond [`keep`](Self::keep).
    pub async fn take(&self) -> Result<JobReport> {
        let name = copy_name(self.clock.now());
        let target = out_path::directory(&self.dir.join(&name), &self.url).map_err(|e| {
            // The check is `backup --out`'s; here the place comes from the configuration.
            let reason = e.message().trim_start_matches("--out: ");
            Error::invalid(format!("jobs.backup_dir: {reason}"))
        })?;
        create_private_dir(&self.dir).map_err(|e| {
            Error::internal_msg(format!("cannot create {}: {e}", self.dir.display()))
        })?;
        self.store.backup(&target).await?;
        let removed = prune(&self.dir, self.keep).map_err(|e| {
            Error::internal_msg(format!(
                "took {name}, but cannot remove old copies in {}: {e}",
                self.dir.display()
            ))
        })?;
        let summary = match removed {
            0 => format!("took {name}"),
            1 => format!("took {name}, removed 1 old copy"),
            n => format!("took {name}, removed {n} old copies"),
        };
        Ok(JobReport::new(1, summary))
    }
}

/// The directory name of a copy taken at `at`: `shopbot-backup-YYYYMMDD-HHMMSS-mmm` (UTC).
pub fn copy_name(at: Timestamp) -> String {
    // Display is `YYYY-MM-DD HH:MM:SSZ`; its digits are the date and the time.
    let digits: String = at
        .to_string()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let (date, time) = digits.split_at(digits.len().min(8));
    format!("{PREFIX}{date}-{time}-{:03}", at.millis().rem_euclid(1000))
}

/// Whether `name` is a copy's name as [`copy_name`] makes them, and nothing else.
fn is_copy_name(name: &str) -> bool {
    let Some(stamp) = name.strip_prefix(PREFIX) else {
        return false;
    };
    let parts: Vec<&str> = stamp.split('-').collect();
    parts.len() == 3
        && [8, 6, 3]
            .iter()
            .zip(&parts)
            .all(|(len, part)| part.len() == *len && part.bytes().all(|b| b.is_ascii_digit()))
}

/// Deletes the oldest copies in `dir` beyond the newest `keep`; returns how many it deleted.
/// Only directories named as [`copy_name`] names them are counted or touched.
pub fn prune(dir: &Path, keep: u32) -> io::Result<u64> {
    let mut copies = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let is_dir = entry.file_type()?.is_dir();
        if let Some(name) = entry.file_name().to_str()
            && is_dir
            && is_copy_name(name)
        {
            copies.push(name.to_owned());
        }
    }
    copies.sort_unstable();
    let keep = usize::try_from(keep.max(1)).unwrap_or(usize::MAX);
    let excess = copies.len().saturating_sub(keep);
    for name in copies.iter().take(excess) {
        std::fs::remove_dir_all(dir.join(name))?;
    }
    Ok(u64::try_from(excess).unwrap_or(u64::MAX))
}

/// Creates `dir` (and its parents) readable by the owner only: the copies hold the shop's
/// secrets, like the store itself.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};

    use super::*;

    #[derive(Debug)]
    struct TestClock(AtomicI64);

    impl Clock for TestClock {
        fn now(&self) -> Timestamp {
            Timestamp(self.0.load(Ordering::SeqCst))
        }
    }

    const HOUR_MS: i64 = 3_600_000;

    #[test]
    fn copy_names_sort_by_time_and_are_recognised() {
        let name = copy_name(Timestamp(1_767_225_600_123));
        assert_eq!(name, "shopbot-backup-20260101-000000-123");
        assert!(is_copy_name(&name));
        let later = copy_name(Timestamp(1_767_225_600_123 + 10 * HOUR_MS + 5));
        assert_eq!(later, "shopbot-backup-20260101-100000-128");
        assert!(name < later);
        for other in [
            "shopbot-backup-20260101-000000",
            "shopbot-backup-20260101-000000-123-x",
            "shopbot-backup-2026010a-000000-123",
            "my-notes",
            "shopbot-backup-",
        ] {
            assert!(!is_copy_name(other), "{other}");
        }
    }

    #[tokio::test]
    async fn each_round_takes_a_copy_and_keeps_only_the_newest_ones_it_named() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("backups");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("notes.txt"), "mine").unwrap();
        std::fs::create_dir(dir.join("shopbot-backup-by-hand")).unwrap();
        let clock = Arc::new(TestClock(AtomicI64::new(1_767_225_600_000)));
        let backup = ScheduledBackup {
            store: Arc::new(JsonStore::in_memory()),
            url: StoreUrl::Json(root.path().join("store")),
            dir: dir.clone(),
            keep: 2,
            clock: clock.clone(),
        };

        let mut taken = Vec::new();
        for round in 0..4 {
            clock.0.fetch_add(HOUR_MS, Ordering::SeqCst);
            let report = backup.take().await.unwrap();
            taken.push(copy_name(clock.now()));
            let removed = if round < 2 {
                ""
            } else {
                ", removed 1 old copy"
            };
            assert_eq!(report.summary, format!("took {}{removed}", taken[round]));
        }

        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        let mut expected = vec![
            taken[2].clone(),
            taken[3].clone(),
            "notes.txt".to_owned(),
            "shopbot-backup-by-hand".to_owned(),
        ];
        expected.sort();
        assert_eq!(left, expected);
        let copy = JsonStore::open(dir.join(&taken[3])).unwrap();
        drop(copy);
    }

    #[tokio::test]
    async fn a_backup_directory_inside_the_store_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let store_dir = root.path().join("store");
        let backup = ScheduledBackup {
            store: Arc::new(JsonStore::in_memory()),
            url: StoreUrl::Json(store_dir.clone()),
            dir: store_dir.join("backups"),
            keep: 2,
            clock: Arc::new(TestClock(AtomicI64::new(1_767_225_600_000))),
        };
        let refused = backup.take().await.unwrap_err();
        assert!(matches!(refused, Error::Invalid(_)), "{refused:?}");
        assert!(!store_dir.join("backups").exists());
    }
}
