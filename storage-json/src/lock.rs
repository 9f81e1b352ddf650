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
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
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
