//! Durability: the journal writer with group commit, recovery, compaction and backup.
//!
//! A command is applied to the in-memory state under the state lock, and its journal record is
//! handed, still under that lock, to one committer thread — so the journal's order is the order
//! commands were applied. The committer writes every record that has arrived since its last
//! write as one frame (several, each synced, past [`journal::FRAME_CAP`]), calls `fdatasync`
//! once for all of them, and then publishes the new durable sequence number; each caller is answered only when its record (or, for a read, the newest record it
//! could have seen) is durable. Any write or sync error is fatal: the store refuses all further
//! work rather than pretend.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

use shopbot_core::Error;
use tokio::sync::watch;

use crate::engine::State;
use crate::fs::{AppendFile, Fs};
use crate::journal::{self, StoreId};
use crate::recovery::{self, SetAside};
use crate::{OpenError, snapshot_file};

/// The name a new journal segment is written under before it gets its own.
const SEGMENT_TEMP_NAME: &str = "journal.tmp";

/// Tuning for a durable store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Write a snapshot and start a new journal once the journal has grown by this many bytes.
    pub compact_after_bytes: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            compact_after_bytes: 64 * 1024 * 1024,
        }
    }
}

/// How far the journal is durable, or why it stopped.
#[derive(Debug, Clone, Default)]
struct Progress {
    durable: u64,
    failure: Option<String>,
}

enum Job {
    Record { seq: u64, bytes: Vec<u8> },
    Rotate { first_seq: u64 },
    Stop,
}

/// The durable half of an open store.
pub(crate) struct Durable {
    dir: PathBuf,
    fs: Arc<dyn Fs>,
    store: StoreId,
    options: Options,
    jobs: mpsc::Sender<Job>,
    progress: watch::Sender<Progress>,
    committer: Mutex<Option<JoinHandle<()>>>,
    journal_bytes: AtomicU64,
    compacting: AtomicBool,
    snapshots: Mutex<Snapshots>,
    _lock: Option<std::fs::File>,
}

/// What opening found.
pub(crate) struct Recovered {
    pub(crate) state: State,
    pub(crate) seq: u64,
    pub(crate) durable: Durable,
    /// Whether the store was in format 1 and must be compacted to finish its upgrade.
    pub(crate) legacy: bool,
    /// What recovery set aside, or rebuilt.
    pub(crate) report: RecoveryReport,
}

/// What opening a store had to do besides replaying it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Journal bytes moved aside, described (file, offset, records, where they went).
    pub set_aside: Vec<String>,
    /// Where a damaged snapshot was moved, when the previous one was used instead.
    pub damaged_snapshot: Option<PathBuf>,
}

impl RecoveryReport {
    /// Whether opening changed nothing.
    pub fn is_empty(&self) -> bool {
        self.set_aside.is_empty() && self.damaged_snapshot.is_none()
    }
}

/// The sequence numbers of the snapshots on disk, for journal retention.
#[derive(Debug, Clone, Copy, Default)]
struct Snapshots {
    /// `snapshot.json`'s, if it exists.
    current: Option<u64>,
    /// `snapshot.prev.json`'s, when it is the one the store was opened from.
    previous: Option<u64>,
}

impl Durable {
    /// Opens the store in `dir` (an empty directory becomes a new store) for use: loads the
    /// snapshot, replays the journal, carries out what recovery decided (`Open` sets aside a
    /// torn last batch; `Repair` sets aside everything from the first damage), and starts the
    /// journal writer on a format-2 segment.
    pub(crate) fn open(
        dir: &Path,
        fs: Arc<dyn Fs>,
        lock: Option<std::fs::File>,
        options: Options,
        mode: recovery::Mode,
    ) -> Result<Recovered, OpenError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| OpenError::Io { path, source }
        };
        fs.create_dir_all(dir).map_err(io(dir))?;
        for temp in [snapshot_file::TEMP_NAME, SEGMENT_TEMP_NAME] {
            let temp = dir.join(temp);
            fs.remove(&temp).map_err(io(&temp))?;
        }
        let recovery = recovery::recover(fs.as_ref(), dir, mode)?;
        let mut report = RecoveryReport::default();
        for cut in &recovery.set_aside {
            let moved_to = set_aside(fs.as_ref(), cut).map_err(io(&cut.segment))?;
            let described = cut.describe(&moved_to);
            tracing::warn!(
                file = %cut.segment.display(),
                offset = cut.offset,
                records = cut.records,
                moved_to = %moved_to.display(),
                "journal damage set aside: {described}"
            );
            report.set_aside.push(described);
        }
        if let Some(damaged) = &recovery.damaged_snapshot {
            let mut preferred = damaged.clone().into_os_string();
            preferred.push(".damaged");
            let target = free_name(fs.as_ref(), &PathBuf::from(preferred)).map_err(io(damaged))?;
            fs.rename(damaged, &target).map_err(io(damaged))?;
            tracing::warn!(file = %damaged.display(), moved_to = %target.display(),
                "damaged snapshot moved aside; rebuilt from the previous snapshot and the journal");
            report.damaged_snapshot = Some(target);
        }
        let seq = recovery.seq;
        let store = recovery.store;
        let mut snapshots = Snapshots::default();
        if recovery.from_previous_snapshot {
            snapshots.previous = recovery.snapshot_seq;
        } else {
            snapshots.current = recovery.snapshot_seq;
        }
        if recovery.new {
            // A new store records its identity in a first, empty snapshot.
            let bytes = snapshot_file::encode(&recovery.state.to_snapshot(), 0, store)
                .map_err(|e| io(dir)(e.into()))?;
            write_atomically(
                fs.as_ref(),
                dir,
                snapshot_file::TEMP_NAME,
                snapshot_file::FILE_NAME,
                &bytes,
            )
            .map_err(io(dir))?;
            snapshots.current = Some(0);
        }
        // Append to the last segment if it is a format-2 one that survived recovery whole or
        // cut; otherwise start a new one.
        let cut_whole = |path: &PathBuf| {
            recovery
                .set_aside
                .iter()
                .any(|c| &c.segment == path && c.offset == 0)
        };
        let (first_seq, file) = match recovery.segments.last() {
            Some((first, path, true)) if !cut_whole(path) => {
                (*first, fs.open_append(path).map_err(io(path))?)
            }
            _ => (
                seq + 1,
                create_segment(fs.as_ref(), dir, store, seq + 1).map_err(io(dir))?,
            ),
        };
        fs.sync_dir(dir).map_err(io(dir))?;

        let (jobs, receiver) = mpsc::channel();
        let (progress, _) = watch::channel(Progress {
            durable: seq,
            failure: None,
        });
        let committer = Committer {
            dir: dir.to_path_buf(),
            fs: fs.clone(),
            store,
            file,
            first_seq,
            progress: progress.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("shopbot-journal".into())
            .spawn(move || committer.run(receiver))
            .map_err(io(dir))?;
        Ok(Recovered {
            state: recovery.state,
            seq,
            legacy: recovery.legacy,
            report,
            durable: Durable {
                dir: dir.to_path_buf(),
                fs,
                store,
                options,
                jobs,
                progress,
                committer: Mutex::new(Some(handle)),
                journal_bytes: AtomicU64::new(recovery.journal_bytes),
                compacting: AtomicBool::new(false),
                snapshots: Mutex::new(snapshots),
                _lock: lock,
            },
        })
    }

    /// Refuses work once the journal has failed.
    pub(crate) fn check(&self) -> Result<(), Error> {
        match &self.progress.borrow().failure {
            Some(failure) => Err(failed(failure)),
            None => Ok(()),
        }
    }

    /// Hands a record to the committer. Call under the state lock, in sequence order.
    pub(crate) fn submit(&self, seq: u64, bytes: Vec<u8>) -> Result<(), Error> {
        self.journal_bytes
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        self.send(Job::Record { seq, bytes })
    }

    fn send(&self, job: Job) -> Result<(), Error> {
        self.jobs
            .send(job)
            .map_err(|_| Error::internal_msg("the journal writer has stopped"))
    }

    /// Waits until record `seq` is durable.
    pub(crate) async fn wait_durable(&self, seq: u64) -> Result<(), Error> {
        let mut progress = self.progress.subscribe();
        let reached = progress
            .wait_for(|p| p.durable >= seq || p.failure.is_some())
            .await
            .map_err(|_| Error::internal_msg("the journal writer has stopped"))?;
        if reached.durable >= seq {
            return Ok(());
        }
        Err(failed(reached.failure.as_deref().unwrap_or("unknown")))
    }

    /// Whether the journal has grown enough to compact, claiming the compaction if so.
    pub(crate) fn should_compact(&self) -> bool {
        self.journal_bytes.load(Ordering::Relaxed) >= self.options.compact_after_bytes
            && self.claim_compaction()
    }

    /// Claims the one compaction that may run at a time; false while another runs.
    pub(crate) fn claim_compaction(&self) -> bool {
        !self.compacting.swap(true, Ordering::AcqRel)
    }

    /// Gives up a claimed compaction that did not run to the end.
    pub(crate) fn release_compaction(&self) {
        self.compacting.store(false, Ordering::Release);
    }

    /// Blocks until record `seq` is durable, for threads outside the async runtime. A
    /// snapshot must never contain a record whose writing could still fail.
    pub(crate) fn wait_durable_blocking(&self, seq: u64) -> Result<(), Error> {
        loop {
            {
                let progress = self.progress.borrow();
                if progress.durable >= seq {
                    return Ok(());
                }
                if let Some(failure) = &progress.failure {
                    return Err(failed(failure));
                }
            }
            // The committer syncs within milliseconds; this thread only waits for it.
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    /// Starts a new journal segment after record `seq` and encodes the snapshot of `state`.
    /// Call under the state lock, so the snapshot and the rotation agree.
    pub(crate) fn begin_compaction(&self, state: &State, seq: u64) -> Result<Vec<u8>, Error> {
        let bytes = snapshot_file::encode(&state.to_snapshot(), seq, self.store)
            .map_err(Error::internal)?;
        self.send(Job::Rotate { first_seq: seq + 1 })?;
        self.journal_bytes.store(0, Ordering::Relaxed);
        Ok(bytes)
    }

    /// Writes the snapshot made by [`begin_compaction`](Self::begin_compaction) into place,
    /// then removes the journal segments it replaces. A failure is fatal for the store.
    /// The caller has claimed the compaction and waited until record `seq` is durable.
    pub(crate) fn finish_compaction(&self, snapshot: &[u8], seq: u64) -> Result<(), Error> {
        let result = self.write_snapshot(snapshot, seq);
        self.compacting.store(false, Ordering::Release);
        if let Err(e) = &result {
            let message = format!("writing the snapshot failed: {e}");
            self.progress
                .send_modify(|p| p.failure = Some(message.clone()));
        }
        result.map_err(Error::internal)
    }

    /// Puts a new snapshot in place, keeping the one before it as the previous snapshot, and
    /// removes the journal segments the previous snapshot covers: the previous snapshot and
    /// the journal since it can always rebuild the current one.
    fn write_snapshot(&self, snapshot: &[u8], seq: u64) -> std::io::Result<()> {
        let dir = &self.dir;
        let temp = dir.join(snapshot_file::TEMP_NAME);
        self.fs.write_synced(&temp, snapshot)?;
        let mut snapshots = self
            .snapshots
            .lock()
            .map_err(|_| std::io::Error::other("the snapshot record is poisoned"))?;
        let kept = match snapshots.current {
            Some(current) => {
                self.fs.rename(
                    &dir.join(snapshot_file::FILE_NAME),
                    &dir.join(snapshot_file::PREV_NAME),
                )?;
                Some(current)
            }
            None => snapshots.previous,
        };
        self.fs.rename(&temp, &dir.join(snapshot_file::FILE_NAME))?;
        self.fs.sync_dir(dir)?;
        *snapshots = Snapshots {
            current: Some(seq),
            previous: kept,
        };
        if let Some(kept) = kept {
            for name in self.fs.list(dir)? {
                if journal::parse_segment_name(&name).is_some_and(|first| first <= kept) {
                    self.fs.remove(&dir.join(name))?;
                }
            }
        }
        self.fs.sync_dir(dir)
    }

    /// Stops the committer after it has written everything submitted so far; from then on
    /// every command is refused.
    pub(crate) fn stop(&self) {
        let _ = self.send(Job::Stop);
        let handle = self.committer.lock().ok().and_then(|mut h| h.take());
        if let Some(handle) = handle {
            let _ = handle.join();
        }
        self.progress.send_modify(|p| {
            p.failure.get_or_insert_with(|| CLOSED.to_owned());
        });
    }
}

impl Drop for Durable {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The "failure" of a store that was closed on purpose.
const CLOSED: &str = "closed";

fn failed(failure: &str) -> Error {
    if failure == CLOSED {
        return Error::internal_msg("the store is closed");
    }
    Error::internal_msg(format!(
        "the store stopped after a write failure ({failure}); reopen it to recover"
    ))
}

/// Writes snapshots for backups: the same protocol as compaction, into another directory.
pub(crate) fn write_backup(fs: &dyn Fs, dir: &Path, snapshot: &[u8]) -> std::io::Result<()> {
    fs.create_dir_all(dir)?;
    if holds_store(fs, dir)? {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("{} already holds a store", dir.display()),
        ));
    }
    let temp = dir.join(snapshot_file::TEMP_NAME);
    fs.write_synced(&temp, snapshot)?;
    fs.rename(&temp, &dir.join(snapshot_file::FILE_NAME))?;
    fs.sync_dir(dir)
}

/// Whether `dir` holds a store: a snapshot or a journal segment.
pub(crate) fn holds_store(fs: &dyn Fs, dir: &Path) -> std::io::Result<bool> {
    Ok(fs.read(&dir.join(snapshot_file::FILE_NAME))?.is_some()
        || fs
            .list(dir)?
            .iter()
            .any(|n| journal::parse_segment_name(n).is_some()))
}

/// Writes `bytes` to `temp`, syncs it and renames it to `name`: the file appears whole or not
/// at all.
fn write_atomically(
    fs: &dyn Fs,
    dir: &Path,
    temp: &str,
    name: &str,
    bytes: &[u8],
) -> std::io::Result<()> {
    let temp = dir.join(temp);
    fs.write_synced(&temp, bytes)?;
    fs.rename(&temp, &dir.join(name))?;
    fs.sync_dir(dir)
}

/// Creates the format-2 segment starting at `first_seq`, header first, and opens it for
/// appending.
fn create_segment(
    fs: &dyn Fs,
    dir: &Path,
    store: StoreId,
    first_seq: u64,
) -> std::io::Result<Box<dyn AppendFile>> {
    let name = journal::segment_name(first_seq);
    write_atomically(
        fs,
        dir,
        SEGMENT_TEMP_NAME,
        &name,
        &journal::header(store, first_seq),
    )?;
    fs.open_append(&dir.join(name))
}

/// Moves the bytes of `cut` into their own file beside the segment, then cuts the segment (or
/// removes it, when all of it goes). Returns the file the bytes went to.
fn set_aside(fs: &dyn Fs, cut: &SetAside) -> std::io::Result<PathBuf> {
    let bytes = fs.read(&cut.segment)?.unwrap_or_default();
    let tail = bytes
        .get(usize::try_from(cut.offset).unwrap_or(usize::MAX)..)
        .unwrap_or_default();
    let target = free_name(fs, &cut.target())?;
    fs.write_synced(&target, tail)?;
    if cut.offset == 0 {
        fs.remove(&cut.segment)?;
    } else {
        fs.truncate(&cut.segment, cut.offset)?;
    }
    if let Some(dir) = cut.segment.parent() {
        fs.sync_dir(dir)?;
    }
    Ok(target)
}

/// `preferred`, or `preferred-2`, `preferred-3`, … when that file exists already: what was set
/// aside before is never overwritten.
fn free_name(fs: &dyn Fs, preferred: &Path) -> std::io::Result<PathBuf> {
    let with = |extra: String| {
        let mut name = preferred.as_os_str().to_os_string();
        name.push(extra);
        PathBuf::from(name)
    };
    let mut candidate = with(String::new());
    let mut n = 2;
    while fs.read(&candidate)?.is_some() {
        candidate = with(format!("-{n}"));
        n += 1;
    }
    Ok(candidate)
}

/// The one thread that writes the journal.
struct Committer {
    dir: PathBuf,
    fs: Arc<dyn Fs>,
    store: StoreId,
    file: Box<dyn AppendFile>,
    first_seq: u64,
    progress: watch::Sender<Progress>,
}

impl Committer {
    fn run(mut self, jobs: mpsc::Receiver<Job>) {
        let mut buffer = Vec::new();
        while let Ok(first) = jobs.recv() {
            let mut batch = vec![first];
            batch.extend(jobs.try_iter());
            match self.write(batch, &mut buffer) {
                Ok((durable, stop)) => {
                    if let Some(durable) = durable {
                        self.progress.send_modify(|p| p.durable = durable);
                    }
                    if stop {
                        return;
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "journal write failed; the store stops");
                    let message = e.to_string();
                    self.progress.send_modify(|p| p.failure = Some(message));
                    return;
                }
            }
        }
    }

    /// Writes a batch with one sync; returns the last durable record and whether to stop.
    fn write(
        &mut self,
        batch: Vec<Job>,
        buffer: &mut Vec<u8>,
    ) -> std::io::Result<(Option<u64>, bool)> {
        let mut last = None;
        let mut stop = false;
        for job in batch {
            match job {
                Job::Record { seq, bytes } => {
                    buffer.extend_from_slice(&bytes);
                    last = Some(seq);
                }
                Job::Rotate { first_seq } => {
                    self.flush(buffer)?;
                    if first_seq != self.first_seq {
                        self.file =
                            create_segment(self.fs.as_ref(), &self.dir, self.store, first_seq)?;
                        self.first_seq = first_seq;
                    }
                }
                Job::Stop => stop = true,
            }
        }
        self.flush(buffer)?;
        Ok((last, stop))
    }

    /// Writes the buffered records in frames of at most [`journal::FRAME_CAP`] bytes, each
    /// synced before the next is written, so a crash can spoil at most the last frame.
    fn flush(&mut self, buffer: &mut Vec<u8>) -> std::io::Result<()> {
        for chunk in buffer.chunks(journal::FRAME_CAP) {
            self.file.append(&journal::frame(chunk))?;
            self.file.sync()?;
        }
        buffer.clear();
        Ok(())
    }
}
