//! The store's lock file: one process at a time, and the one that is refused learns who holds it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

use crate::OpenError;

/// The lock file's name in a store directory.
pub const FILE_NAME: &str = "LOCK";

/// Takes the exclusive lock on `dir`, or says which process holds it. The lock lasts as long as
/// the returned file is open, and the operating system releases it if the process dies.
pub fn acquire(dir: &Path) -> Result<File, OpenError> {
    let path = dir.join(FILE_NAME);
    let io = |source| OpenError::Io {
        path: path.clone(),
        source,
    };
    let mut file = crate::fs::owner_only(
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false),
    )
    .open(&path)
    .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            return Err(OpenError::Locked {
                dir: dir.to_path_buf(),
                pid: holder.trim().parse().ok(),
            });
        }
        Err(TryLockError::Error(source)) => return Err(io(source)),
    }
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    write!(file, "{}", std::process::id()).map_err(io)?;
    Ok(file)
}

/// Takes a shared lock on `dir` for reading only, without creating or writing anything: `None`
/// when the store has no lock file (nothing holds it). Refused while a process has the store
/// open for use.
pub fn acquire_shared(dir: &Path) -> Result<Option<File>, OpenError> {
    let path = dir.join(FILE_NAME);
    let mut file = match OpenOptions::new().read(true).open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(OpenError::Io { path, source }),
    };
    match file.try_lock_shared() {
        Ok(()) => Ok(Some(file)),
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            Err(OpenError::Locked {
                dir: dir.to_path_buf(),
                pid: holder.trim().parse().ok(),
            })
        }
        Err(TryLockError::Error(source)) => Err(OpenError::Io { path, source }),
    }
}
