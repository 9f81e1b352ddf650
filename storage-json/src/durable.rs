//! Durability: the journal writer with group commit, recovery, compaction and backup.
//!
//! A command is applied to the in-memory state under the state lock, and its journal record is
//! handed, still under that lock, to one committer thread — so the journal's order is the order
//! commands were applied. The committer writes every record that has arrived since its last
//! write, calls `fdatasync` once for all of them, and then publishes the new durable sequence
//! number; each caller is answered only when its record (or, for a read, the newest record it
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
use crate::{OpenError, journal, snapshot_file};

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
    options: Options,
    jobs: mpsc::Sender<Job>,
    progress: watch::Sender<Progress>,
    committer: Mutex<Option<JoinHandle<()>>>,
    journal_bytes: AtomicU64,
    compacting: AtomicBool,
    _lock: Option<std::fs::File>,
}

/// What recovery found.
pub(crate) struct Recovered {
    pub(crate) state: State,
    pub(crate) seq: u64,
    pub(crate) durable: Durable,
}

impl Durable {
    /// Opens (creating if needed) the store in `dir`: snapshot, then journal replay.
    pub(crate) fn open(
        dir: &Path,
        fs: Arc<dyn Fs>,
        lock: Option<std::fs::File>,
        options: Options,
    ) -> Result<Recovered, OpenError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| OpenError::Io { path, source }
        };
        fs.create_dir_all(dir).map_err(io(dir))?;
        let temp = dir.join(snapshot_file::TEMP_NAME);
        fs.remove(&temp).map_err(io(&temp))?;

        let snapshot_path = dir.join(snapshot_file::FILE_NAME);
        let (mut state, snapshot_seq) = match fs.read(&snapshot_path).map_err(io(&snapshot_path))? {
            Some(bytes) => {
                let (snapshot, seq) =
                    snapshot_file::decode(&bytes).map_err(|error| OpenError::Snapshot {
                        file: snapshot_path.clone(),
                        error,
                    })?;
                (State::from_snapshot(snapshot), seq)
            }
            None => (State::new(), 0),
        };

        let mut segments: Vec<(u64, PathBuf)> = fs
            .list(dir)
            .map_err(io(dir))?
            .iter()
            .filter_map(|name| Some((journal::parse_segment_name(name)?, dir.join(name))))
            .collect();
        segments.sort();
        let mut seq = snapshot_seq;
        let mut journal_bytes = 0u64;
        let mut contents = Vec::with_capacity(segments.len());
        for (_, path) in &segments {
            contents.push(fs.read(path).map_err(io(path))?.unwrap_or_default());
        }
        for (index, ((_, path), bytes)) in segments.iter().zip(&contents).enumerate() {
            let scan = journal::scan(bytes);
            for record in scan.records {
                if record.seq <= seq {
                    continue;
                }
                if record.seq != seq + 1 {
                    return Err(OpenError::Corrupt {
                        file: path.clone(),
                        offset: 0,
                        detail: format!("expected record {} but found {}", seq + 1, record.seq),
                    });
                }
                state
                    .apply(record.command)
                    .map_err(|e| OpenError::Corrupt {
                        file: path.clone(),
                        offset: 0,
                        detail: format!("record {} does not replay: {e:?}", record.seq),
                    })?;
                seq = record.seq;
            }
            journal_bytes += bytes.len() as u64;
            let Some((offset, defect)) = scan.defect else {
                continue;
            };
            let later_records = contents
                .iter()
                .skip(index + 1)
                .any(|later| !journal::scan(later).records.is_empty());
            if let journal::Defect::Payload(error) = &defect {
                return Err(OpenError::Corrupt {
                    file: path.clone(),
                    offset,
                    detail: format!(
                        "a record this version cannot read ({error}); was the store written by \
                         a newer shopbot?"
                    ),
                });
            }
            if later_records || journal::valid_record_after(bytes, offset as usize) {
                return Err(OpenError::Corrupt {
                    file: path.clone(),
                    offset,
                    detail: format!("{defect:?} record followed by valid records"),
                });
            }
            tracing::warn!(
                file = %path.display(),
                offset,
                "dropping an incomplete last journal record (a write cut short by a crash; it \
                 was never acknowledged)"
            );
            fs.truncate(path, offset).map_err(io(path))?;
        }

        let (first_seq, path) = match segments.last() {
            Some((first, path)) => (*first, path.clone()),
            None => (seq + 1, dir.join(journal::segment_name(seq + 1))),
        };
        let file = fs.open_append(&path).map_err(io(&path))?;
        fs.sync_dir(dir).map_err(io(dir))?;

        let (jobs, receiver) = mpsc::channel();
        let (progress, _) = watch::channel(Progress {
            durable: seq,
            failure: None,
        });
        let committer = Committer {
            dir: dir.to_path_buf(),
            fs: fs.clone(),
            file,
            first_seq,
            progress: progress.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("shopbot-journal".into())
            .spawn(move || committer.run(receiver))
            .map_err(io(dir))?;
        Ok(Recovered {
            state,
            seq,
            durable: Durable {
                dir: dir.to_path_buf(),
                fs,
                options,
                jobs,
                progress,
                committer: Mutex::new(Some(handle)),
                journal_bytes: AtomicU64::new(journal_bytes),
                compacting: AtomicBool::new(false),
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
        let bytes = snapshot_file::encode(&state.to_snapshot(), seq).map_err(Error::internal)?;
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

    fn write_snapshot(&self, snapshot: &[u8], seq: u64) -> std::io::Result<()> {
        let temp = self.dir.join(snapshot_file::TEMP_NAME);
        self.fs.write_synced(&temp, snapshot)?;
        self.fs
            .rename(&temp, &self.dir.join(snapshot_file::FILE_NAME))?;
        self.fs.sync_dir(&self.dir)?;
        for name in self.fs.list(&self.dir)? {
            if journal::parse_segment_name(&name).is_some_and(|first| first <= seq) {
                self.fs.remove(&self.dir.join(name))?;
            }
        }
        self.fs.sync_dir(&self.dir)
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

/// The one thread that writes the journal.
struct Committer {
    dir: PathBuf,
    fs: Arc<dyn Fs>,
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
                        let path = self.dir.join(journal::segment_name(first_seq));
                        self.file = self.fs.open_append(&path)?;
                        self.fs.sync_dir(&self.dir)?;
                        self.first_seq = first_seq;
                    }
                }
                Job::Stop => stop = true,
            }
        }
        self.flush(buffer)?;
        Ok((last, stop))
    }

    fn flush(&mut self, buffer: &mut Vec<u8>) -> std::io::Result<()> {
        if buffer.is_empty() {
            return Ok(());
        }
        self.file.append(buffer)?;
        self.file.sync()?;
        buffer.clear();
        Ok(())
    }
}
