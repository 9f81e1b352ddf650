//! Where a store's socket is: [`socket_path`] for the holder, [`find_socket`] for clients.
//!
//! The socket is `<store dir>/shopbot.sock`. A Unix socket's path must fit `sun_path` (108
//! bytes with its terminating zero); when the store's path is too long, the socket goes into
//! the runtime directory (`$XDG_RUNTIME_DIR`, else `/tmp/shopbot-<uid>/`, made owner-only),
//! and its path is written to `<store dir>/shopbot.sock.path` where clients read it.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// The socket's name inside the store directory.
pub const SOCKET_NAME: &str = "shopbot.sock";

/// The file in the store directory that names a socket placed elsewhere.
pub const RECORD_NAME: &str = "shopbot.sock.path";

/// The longest socket path `bind` accepts (`sun_path` holds 108 bytes with the final zero).
pub const MAX_SOCKET_PATH: usize = 107;

/// Where the holder of the store in `dir` binds its socket, and whether the path must be
/// recorded in the store directory (a fallback outside it). Creates the fallback directory
/// owner-only when needed.
pub fn socket_path(dir: &Path) -> io::Result<(PathBuf, bool)> {
    let dir = std::path::absolute(dir)?;
    let inside = dir.join(SOCKET_NAME);
    if fits(&inside) {
        return Ok((inside, false));
    }
    let runtime = runtime_dir()?;
    let mut hasher = DefaultHasher::new();
    dir.hash(&mut hasher);
    let fallback = runtime.join(format!("shopbot-{:016x}.sock", hasher.finish()));
    if !fits(&fallback) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "no socket path under 108 bytes: {} is too long (set XDG_RUNTIME_DIR to a \
                 short directory)",
                fallback.display()
            ),
        ));
    }
    Ok((fallback, true))
}

/// Where clients find the socket of the store in `dir`: the recorded fallback if there is
/// one, else `<dir>/shopbot.sock`.
pub fn find_socket(dir: &Path) -> PathBuf {
    match std::fs::read_to_string(dir.join(RECORD_NAME)) {
        Ok(recorded) if !recorded.trim().is_empty() => PathBuf::from(recorded.trim()),
        _ => dir.join(SOCKET_NAME),
    }
}

fn fits(path: &Path) -> bool {
    path.as_os_str().as_bytes().len() <= MAX_SOCKET_PATH
}

/// `$XDG_RUNTIME_DIR` (made by the login manager, owner-only), else `/tmp/shopbot-<uid>`,
/// created with mode 0700 and refused if another user owns it.
fn runtime_dir() -> io::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let uid = rustix::process::getuid().as_raw();
    let dir = PathBuf::from(format!("/tmp/shopbot-{uid}"));
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(&dir)?;
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} is not an owner-only directory of this user: remove it or set \
                 XDG_RUNTIME_DIR",
                dir.display()
            ),
        ));
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_store_path_keeps_its_socket_inside() {
        let (path, recorded) = socket_path(Path::new("/srv/shop")).unwrap_or_default();
        assert_eq!(path, PathBuf::from("/srv/shop/shopbot.sock"));
        assert!(!recorded);
    }

    #[test]
    fn a_long_store_path_falls_back_to_a_short_one() {
        let long = PathBuf::from(format!("/srv/{}", "d".repeat(120)));
        let (path, recorded) = socket_path(&long).unwrap_or_default();
        assert!(recorded);
        assert!(fits(&path), "{}", path.display());
        assert!(!path.starts_with(&long));
    }
}
