//! Recovery: what a store directory holds, read without changing a byte.
//!
//! [`recover`] loads the snapshot, replays the journal segments after it and decides what to do
//! about damage, as a [`Recovery`] that the caller carries out (or, for a read-only check, only
//! reports). The rules:
//!
//! * Damage confined to the last batch of the last segment (a write cut short, see
//!   [`journal`]) is set aside on open: its bytes are moved into a file beside the journal and
//!   reported, never silently dropped.
//! * Anything else (a damaged snapshot, a damaged or foreign segment header, damage before the
//!   last batch or followed by valid data, a file that is not a journal) refuses to open,
//!   naming the file, the offset and what to do.
//! * [`Mode::Repair`] (`shopbot store repair`, asked for explicitly) cuts at the first damage
//!   instead: it sets aside everything from there on, and rebuilds from the previous snapshot
//!   when the current one is damaged.
//!
//! Segments wholly covered by the snapshot (kept so that the previous snapshot plus the journal
//! can rebuild the current one) are not read.

use std::path::{Path, PathBuf};

use crate::engine::State;
use crate::fs::Fs;
use crate::journal::{self, Header, StoreId};
use crate::{OpenError, snapshot_file};

/// What recovery is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Open for use: a torn last batch may be set aside; other damage refuses.
    Open,
    /// Look only: the same rules, nothing changed.
    ReadOnly,
    /// Repair: cut at the first damage, whatever it is.
    Repair,
}

/// Bytes to move out of the journal into a file beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SetAside {
    /// The segment.
    pub(crate) segment: PathBuf,
    /// From where (0: the whole file).
    pub(crate) offset: u64,
    /// How many records can be recognised in those bytes.
    pub(crate) records: usize,
    /// What is wrong there.
    pub(crate) detail: String,
}

impl SetAside {
    /// The file the bytes go to, `<segment>.damaged-at-<offset>`, unless a file of that name
    /// exists already (then a numbered one beside it).
    pub(crate) fn target(&self) -> PathBuf {
        let mut name = self.segment.clone().into_os_string();
        name.push(format!(".damaged-at-{}", self.offset));
        PathBuf::from(name)
    }

    /// How an operator is told that it went to `moved_to`.
    pub(crate) fn describe(&self, moved_to: &Path) -> String {
        format!(
            "{} from byte {} ({}; {} record(s) recognisable) moved to {}",
            self.segment.display(),
            self.offset,
            self.detail,
            self.records,
            moved_to.display()
        )
    }
}

/// What a store directory holds, and what opening it has to do.
pub(crate) struct Recovery {
    pub(crate) state: State,
    /// The last record replayed.
    pub(crate) seq: u64,
    /// The store's identity (new for a new or upgraded store).
    pub(crate) store: StoreId,
    /// Whether the directory holds no store yet.
    pub(crate) new: bool,
    /// Whether the store is in format 1 and is upgraded when opened for use.
    pub(crate) legacy: bool,
    /// The sequence numbers of `snapshot.json` and `snapshot.prev.json`, where they were read.
    pub(crate) snapshot_seq: Option<u64>,
    /// The bytes of the segments read.
    pub(crate) journal_bytes: u64,
    /// The segments replayed, oldest first: (first sequence number, path, framed).
    pub(crate) segments: Vec<(u64, PathBuf, bool)>,
    /// Damage to set aside.
    pub(crate) set_aside: Vec<SetAside>,
    /// A damaged `snapshot.json` that repair replaces by the previous snapshot.
    pub(crate) damaged_snapshot: Option<PathBuf>,
    /// Where the state came from, when it was not `snapshot.json` (for the report).
    pub(crate) from_previous_snapshot: bool,
}

/// Reads the store in `dir` under `mode`'s rules.
pub(crate) fn recover(fs: &dyn Fs, dir: &Path, mode: Mode) -> Result<Recovery, OpenError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| OpenError::Io { path, source }
    };
    let current = dir.join(snapshot_file::FILE_NAME);
    let previous = dir.join(snapshot_file::PREV_NAME);
    let read_snapshot = |path: &Path| -> Result<Option<snapshot_file::Decoded>, OpenError> {
        match fs.read(path).map_err(io(path))? {
            None => Ok(None),
            Some(bytes) => {
                snapshot_file::decode(&bytes)
                    .map(Some)
                    .map_err(|error| OpenError::Snapshot {
                        file: path.to_path_buf(),
                        error,
                    })
            }
        }
    };
    let mut damaged_snapshot = None;
    let mut from_previous_snapshot = false;
    let snapshot = match read_snapshot(&current) {
        Ok(Some(snapshot)) => Some(snapshot),
        // Compaction renames the current snapshot to the previous one before it puts the new
        // one in place; a crash between the two leaves only the previous one, and the journal
        // since it.
        Ok(None) => {
            from_previous_snapshot = true;
            read_snapshot(&previous)?
        }
        Err(error) if mode == Mode::Repair => {
            damaged_snapshot = Some(current.clone());
            from_previous_snapshot = true;
            match read_snapshot(&previous)? {
                Some(snapshot) => Some(snapshot),
                None => return Err(error),
            }
        }
        Err(error) => return Err(error),
    };
    let from_previous_snapshot = from_previous_snapshot && snapshot.is_some();

    let mut segments: Vec<(u64, PathBuf)> = fs
        .list(dir)
        .map_err(io(dir))?
        .iter()
        .filter_map(|name| Some((journal::parse_segment_name(name)?, dir.join(name))))
        .collect();
    segments.sort();

    let (mut state, snapshot_seq, mut store) = match snapshot {
        Some(s) => (State::from_snapshot(s.snapshot), Some(s.seq), s.store),
        None => (State::new(), None, None),
    };
    let framed_store = store.is_some();
    let new = snapshot_seq.is_none() && segments.is_empty();
    let base = snapshot_seq.unwrap_or(0);
    let mut seq = base;
    let mut legacy = snapshot_seq.is_some() && !framed_store;

    // Skip the segments the snapshot covers: those whose successor starts at or before the
    // record after it.
    let first_needed = segments
        .iter()
        .rposition(|(first, _)| *first <= base + 1)
        .unwrap_or(0);
    let needed = segments.get(first_needed..).unwrap_or_default();
    let mut contents = Vec::with_capacity(needed.len());
    for (_, path) in needed {
        contents.push(fs.read(path).map_err(io(path))?.unwrap_or_default());
    }

    let mut replayed = Vec::new();
    let mut set_aside = Vec::new();
    let corrupt = |path: &Path, offset: u64, detail: String| OpenError::Corrupt {
        file: path.to_path_buf(),
        offset,
        detail,
    };
    for (index, ((first, path), bytes)) in needed.iter().zip(&contents).enumerate() {
        if *first > seq + 1 {
            return Err(corrupt(
                path,
                0,
                format!("records {} to {} are missing", seq + 1, first - 1),
            ));
        }
        let last = index + 1 == needed.len();
        let scan = match journal::read_header(bytes) {
            Ok(Header::Framed {
                store: owner,
                first_seq,
                len,
            }) => {
                if first_seq != *first {
                    return Err(corrupt(
                        path,
                        0,
                        format!("its header says it starts at record {first_seq}"),
                    ));
                }
                match store {
                    Some(expected) if expected != owner => {
                        return Err(corrupt(
                            path,
                            0,
                            format!(
                                "it belongs to another store ({owner}, this one is {expected})"
                            ),
                        ));
                    }
                    _ => store = Some(owner),
                }
                replayed.push((*first, path.clone(), true));
                journal::scan_framed(bytes, len)
            }
            Ok(Header::Unframed) if framed_store => {
                return Err(corrupt(
                    path,
                    0,
                    "it has no journal header, but this store writes format 2".to_owned(),
                ));
            }
            Ok(Header::Unframed) => {
                legacy = true;
                replayed.push((*first, path.clone(), false));
                journal::scan_unframed(bytes)
            }
            Err(error) if mode == Mode::Repair => {
                set_aside.push(SetAside {
                    segment: path.clone(),
                    offset: 0,
                    records: journal::record::count_recognisable(bytes),
                    detail: error.to_string(),
                });
                set_aside_rest(&mut set_aside, needed.get(index + 1..), &contents, index);
                break;
            }
            Err(error) => return Err(corrupt(path, 0, error.to_string())),
        };
        for record in scan.records {
            if record.seq <= seq {
                continue;
            }
            if record.seq != seq + 1 {
                return Err(corrupt(
                    path,
                    0,
                    format!("expected record {} but found {}", seq + 1, record.seq),
                ));
            }
            state.apply(record.command).map_err(|e| {
                corrupt(
                    path,
                    0,
                    format!("record {} does not replay: {e:?}", record.seq),
                )
            })?;
            seq = record.seq;
        }
        let Some(damage) = scan.damage else {
            continue;
        };
        let later_data =
            contents
                .iter()
                .skip(index + 1)
                .any(|later| match journal::read_header(later) {
                    Ok(Header::Framed { len, .. }) => later.len() > len,
                    _ => !later.is_empty(),
                });
        let cut = SetAside {
            segment: path.clone(),
            offset: damage.offset,
            records: damage.records,
            detail: damage.detail.clone(),
        };
        // A framed segment is started only once everything before it is durable, so only the
        // last one can end in a torn batch.
        let may_be_torn = damage.torn_tail
            && if replayed.last().is_some_and(|s| s.2) {
                last
            } else {
                !later_data
            };
        if mode == Mode::Repair || may_be_torn {
            set_aside.push(cut);
            set_aside_rest(&mut set_aside, needed.get(index + 1..), &contents, index);
            break;
        }
        let what = if damage.torn_tail {
            "followed by further journal segments"
        } else {
            "damaged before its last batch, or followed by valid data"
        };
        return Err(OpenError::Corrupt {
            file: path.clone(),
            offset: damage.offset,
            detail: format!("{}; the journal is {what}", damage.detail),
        });
    }
    // A large import still staging when the store was last closed or crashed has nobody to
    // finish it: its lines were never visible, and now they are forgotten.
    let stages = state.discard_stages();
    if stages > 0 {
        tracing::warn!(
            stages,
            "discarded unfinished stock imports (nothing of them was visible)"
        );
    }
    Ok(Recovery {
        state,
        seq,
        store: store.unwrap_or_else(StoreId::random),
        journal_bytes: contents.iter().map(|c| c.len() as u64).sum(),
        new,
        legacy,
        snapshot_seq,
        segments: replayed,
        set_aside,
        damaged_snapshot,
        from_previous_snapshot,
    })
}

/// Sets aside, whole, every segment after a cut.
fn set_aside_rest(
    set_aside: &mut Vec<SetAside>,
    later: Option<&[(u64, PathBuf)]>,
    contents: &[Vec<u8>],
    index: usize,
) {
    for (offset, (_, path)) in later.unwrap_or_default().iter().enumerate() {
        let bytes = contents
            .get(index + 1 + offset)
            .map_or(&[][..], Vec::as_slice);
        set_aside.push(SetAside {
            segment: path.clone(),
            offset: 0,
            records: journal::record::count_recognisable(bytes),
            detail: "a segment after the damage".to_owned(),
        });
    }
}
