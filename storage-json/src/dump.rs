//! The whole store as a storage-neutral [`Dump`], and a new store directory built from one:
//! the JSON side of `shopbot migrate`.
//!
//! An import writes one snapshot into a directory that holds no store yet, with the same
//! protocol as compaction and backups (temporary file, sync, rename, sync the directory), under
//! the directory's lock. It never merges into, or overwrites, an existing store.

use std::io;
use std::path::{Path, PathBuf};

use shopbot_core::Result;
use shopbot_core::dump::Dump;

use crate::engine::State;
use crate::fs::{Fs, RealFs};
use crate::{JsonStore, OpenError, durable, lock, snapshot_file};

/// Why a dump could not be written into a new store directory.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The directory already holds a store; nothing was written.
    #[error(
        "{} already holds a store: import into a new or empty directory, or move the store \
         aside first",
        dir.display()
    )]
    NotEmpty {
        /// The directory.
        dir: PathBuf,
    },
    /// The directory is locked by another process, or cannot be used.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// Writing the store failed.
    #[error("cannot write the store into {}: {source}", dir.display())]
    Io {
        /// The directory.
        dir: PathBuf,
        /// Why.
        source: io::Error,
    },
}

impl JsonStore {
    /// Everything the store holds, as of its last durable command, in canonical order.
    pub async fn export_dump(&self) -> Result<Dump> {
        self.read_durable(State::to_dump).await?
    }

    /// Writes a new store into `dir` (created if missing) holding exactly `dump`, with its id
    /// counters after the dump's highest ids. Refuses a directory that already holds a store,
    /// and one another process has locked. Open the result with [`JsonStore::open`].
    pub fn import_dump(dir: impl AsRef<Path>, dump: Dump) -> Result<(), ImportError> {
        let dir = dir.as_ref();
        let io = |source| ImportError::Io {
            dir: dir.to_path_buf(),
            source,
        };
        RealFs.create_dir_all(dir).map_err(|source| OpenError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        // Held until the snapshot is in place, so no store can be opened here meanwhile.
        let _lock = lock::acquire(dir)?;
        if durable::holds_store(&RealFs, dir).map_err(io)? {
            return Err(ImportError::NotEmpty {
                dir: dir.to_path_buf(),
            });
        }
        let state = State::from_dump(dump);
        let snapshot =
            snapshot_file::encode(&state.to_snapshot(), 0, crate::journal::StoreId::random())
                .map_err(|e| io(e.into()))?;
        durable::write_backup(&RealFs, dir, &snapshot).map_err(io)
    }
}
