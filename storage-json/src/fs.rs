//! The few file-system operations the durable store uses, behind a trait so tests can inject
//! crashes between them. [`RealFs`] is the operating system's file system; it creates
//! directories owner-only (0700) and files owner-read-write (0600) from the start, because a
//! store holds every unsold key in clear text.

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Write};
use std::path::{Path, PathBuf};

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};

/// The mode of a store directory: the owner only.
pub const DIR_MODE: u32 = 0o700;
/// The mode of every file in a store directory: the owner reads and writes.
pub const FILE_MODE: u32 = 0o600;

/// A file opened for appending.
pub trait AppendFile: Send {
    /// Appends all of `bytes`.
    fn append(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Makes everything appended so far durable (`fdatasync`).
    fn sync(&mut self) -> io::Result<()>;
}

/// File-system operations, each named for what the store needs.
pub trait Fs: Send + Sync + 'static {
    /// The whole file, or `None` if it does not exist.
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>>;
    /// The names of the entries of a directory.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Creates a directory and its parents.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Opens a file for appending, creating it if missing.
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn AppendFile>>;
    /// Creates or replaces a file with `bytes` and makes its data durable.
    fn write_synced(&self, path: &Path, bytes: &[u8]) -> io::Result<()>;
    /// Renames a file, replacing any file at `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file; a missing file is not an error.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Cuts a file to `len` bytes and makes that durable.
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()>;
    /// Makes the directory's entries (creations, renames, removals) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

/// The operating system's file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealFs;

struct RealAppendFile(File);

impl AppendFile for RealAppendFile {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.write_all(bytes)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.0.sync_data()
    }
}

impl Fs for RealFs {
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        match fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(dir)? {
            if let Some(name) = entry?.file_name().to_str() {
                names.push(name.to_owned());
            }
        }
        Ok(names)
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        builder.mode(DIR_MODE);
        builder.create(dir)
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn AppendFile>> {
        let file = owner_only(OpenOptions::new().create(true).append(true)).open(path)?;
        Ok(Box::new(RealAppendFile(file)))
    }

    fn write_synced(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut file =
            owner_only(OpenOptions::new().write(true).create(true).truncate(true)).open(path)?;
        file.write_all(bytes)?;
        file.sync_all()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        match fs::remove_file(path) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let file = OpenOptions::new().write(true).open(path)?;
        file.set_len(len)?;
        file.sync_all()
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }
}

/// Options that create a file readable and writable by its owner only.
pub(crate) fn owner_only(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    options.mode(FILE_MODE);
    options
}

/// The store directory `dir` and the entries in it whose modes let anyone but the owner in:
/// each with the mode it should have.
pub fn loose_modes(dir: &Path) -> io::Result<Vec<(PathBuf, u32)>> {
    let mut loose = Vec::new();
    #[cfg(unix)]
    {
        let mut check = |path: PathBuf, metadata: fs::Metadata| {
            let wanted = if metadata.is_dir() {
                DIR_MODE
            } else {
                FILE_MODE
            };
            if metadata.permissions().mode() & 0o077 != 0 && !metadata.is_symlink() {
                loose.push((path, wanted));
            }
        };
        check(dir.to_path_buf(), fs::symlink_metadata(dir)?);
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            check(entry.path(), fs::symlink_metadata(entry.path())?);
        }
    }
    Ok(loose)
}

/// Tightens what [`loose_modes`] finds, returning what it changed.
pub fn tighten_modes(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let loose = loose_modes(dir)?;
    #[cfg(unix)]
    for (path, mode) in &loose {
        fs::set_permissions(path, fs::Permissions::from_mode(*mode))?;
    }
    Ok(loose.into_iter().map(|(path, _)| path).collect())
}
