//! Where `--out` may write: never into a store, never over a file by surprise.
//!
//! `export --out` and `backup --out` write files an operator names by hand, often next to the
//! store and late at night. One slip (`--out shopbot-data/journal-…log`) would replace the
//! journal, and the whole shop with it. So before anything is written, the target is resolved
//! the way the system will resolve it (`..` and symbolic links in the part that exists, the
//! rest lexically) and refused, with exit code 3, when:
//!
//! * it lies inside a store directory: any directory holding a JSON store's files
//!   ([`holds_store`]), at any depth, or the configured store's own directory whatever it holds;
//! * for a file, something already exists there, unless `--force` is given and it is a plain
//!   file (never a directory, a symbolic link, a device, a pipe or a socket).
//!
//! This module decides only where output may go; the commands write it. It must never create,
//! change or delete anything itself.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::error::{CliError, CliResult};
use crate::store::StoreUrl;

/// Files that only a JSON store directory holds: its snapshot and its lock (journals are
/// recognised by name, see [`is_journal`]).
const STORE_FILES: [&str; 2] = ["snapshot.json", "LOCK"];

/// Where a file named by `--out` may be written (`export`): the resolved path to write, after
/// refusing a target inside a store directory, a directory, and anything that exists unless
/// `force` is set and it is a plain file.
pub fn file(given: &Path, store: &StoreUrl, force: bool) -> CliResult<PathBuf> {
    let shown = given.display();
    let cannot = |e: io::Error| {
        CliError::invalid(format!(
            "--out: cannot write {shown}: {e}; give a file path in a writable directory"
        ))
    };
    let absolute = std::path::absolute(given).map_err(cannot)?;
    // The file itself is never followed: a link there is refused below, not written through.
    let (Some(parent), Some(name)) = (absolute.parent(), absolute.file_name()) else {
        return Err(CliError::invalid(format!(
            "--out: {shown} is a directory; give a file path"
        )));
    };
    let parent = resolve(parent).map_err(cannot)?;
    let target = parent.path.join(name);
    refuse_stores(given, &target, &parent.existing, store)?;
    match fs::symlink_metadata(&target) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(target),
        Err(e) => Err(cannot(e)),
        Ok(found) => {
            let kind = found.file_type();
            let refusal = if kind.is_dir() {
                format!("{shown} is a directory; give a file path")
            } else if kind.is_symlink() {
                format!(
                    "{shown} is a symbolic link; give a new file name (--force replaces plain \
                     files only)"
                )
            } else if !kind.is_file() {
                format!(
                    "{shown} is not a plain file (a device, pipe or socket); give a new file \
                     name (--force replaces plain files only)"
                )
            } else if !force {
                format!(
                    "{shown} already exists; give a new file name, or add --force to replace it"
                )
            } else {
                return Ok(target);
            };
            Err(CliError::invalid(format!("--out: {refusal}")))
        }
    }
}

/// Where a directory named by `--out` may be created or filled (`backup`): the resolved path,
/// after refusing anything but a new or empty directory, and one inside a store directory.
pub fn directory(given: &Path, store: &StoreUrl) -> CliResult<PathBuf> {
    let shown = given.display();
    let cannot = |e: io::Error| {
        CliError::invalid(format!(
            "--out: cannot use {shown}: {e}; give a new or empty directory for the copy"
        ))
    };
    let resolved = std::path::absolute(given)
        .and_then(|absolute| resolve(&absolute))
        .map_err(cannot)?;
    match fs::read_dir(&resolved.path) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(CliError::invalid(format!(
                    "--out: {shown} is not empty; give a new or empty directory for the copy"
                )));
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) if resolved.path.exists() && !resolved.path.is_dir() => {
            return Err(CliError::invalid(format!(
                "--out: {shown} is a file ({e}); give a new or empty directory for the copy"
            )));
        }
        Err(e) => return Err(cannot(e)),
    }
    refuse_stores(given, &resolved.path, &resolved.existing, store)?;
    Ok(resolved.path)
}

/// A path as the system will see it once the missing part is created.
#[derive(Debug, PartialEq, Eq)]
struct Resolved {
    /// The whole path: its existing part canonical, the rest appended lexically.
    path: PathBuf,
    /// The deepest directory of the path that exists, canonical.
    existing: PathBuf,
}

/// Resolves an absolute `path` one component at a time: while components exist, symbolic links
/// and `..` are resolved by the system (so `link/..` is the parent of the link's target, as the
/// system sees it); from the first component that does not exist on, the rest is lexical,
/// since nothing there can be a link yet.
fn resolve(path: &Path) -> io::Result<Resolved> {
    let mut existing = PathBuf::new();
    let mut missing: Vec<OsString> = Vec::new();
    for component in path.components() {
        match component {
            Component::Prefix(_) | Component::RootDir => existing.push(component.as_os_str()),
            Component::CurDir => {}
            Component::ParentDir => {
                // A canonical path holds no links, so its parent is its lexical parent.
                if missing.pop().is_none() {
                    existing.pop();
                }
            }
            Component::Normal(name) if missing.is_empty() => {
                let next = existing.join(name);
                match fs::canonicalize(&next) {
                    Ok(canonical) => existing = canonical,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        if fs::symlink_metadata(&next).is_ok() {
                            return Err(io::Error::other(format!(
                                "{} is a symbolic link to nothing",
                                next.display()
                            )));
                        }
                        missing.push(name.to_os_string());
                    }
                    Err(e) => return Err(e),
                }
            }
            Component::Normal(name) => missing.push(name.to_os_string()),
        }
    }
    let mut full = existing.clone();
    full.extend(&missing);
    Ok(Resolved {
        path: full,
        existing,
    })
}

/// Refuses `target` (resolved from `given`) when it lies inside the configured store's
/// directory, or when `existing` or any directory above it holds a store.
fn refuse_stores(given: &Path, target: &Path, existing: &Path, store: &StoreUrl) -> CliResult<()> {
    let configured = match store {
        StoreUrl::Json(dir) => std::path::absolute(dir)
            .and_then(|dir| resolve(&dir))
            .ok()
            .map(|r| r.path),
        StoreUrl::Postgres(_) => None,
    };
    let inside = configured
        .filter(|dir| target.starts_with(dir))
        .or_else(|| {
            existing
                .ancestors()
                .find(|dir| holds_store(dir))
                .map(Path::to_path_buf)
        });
    match inside {
        Some(dir) => Err(CliError::invalid(format!(
            "--out: {} is inside the store directory {}: writing there could destroy the shop; \
             write it outside every store directory",
            given.display(),
            dir.display()
        ))),
        None => Ok(()),
    }
}

/// Whether `dir` holds a JSON store: its snapshot, its lock or a journal. A directory that
/// cannot be read counts as holding none (nothing can be written there by us either).
pub fn holds_store(dir: &Path) -> bool {
    STORE_FILES
        .iter()
        .any(|name| fs::symlink_metadata(dir.join(name)).is_ok())
        || fs::read_dir(dir).is_ok_and(|mut entries| {
            entries.any(|entry| entry.is_ok_and(|e| is_journal(&e.file_name())))
        })
}

/// `journal-<anything>.log`: how a JSON store names its journal files.
fn is_journal(name: &std::ffi::OsStr) -> bool {
    name.to_str()
        .is_some_and(|n| n.starts_with("journal-") && n.ends_with(".log"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_missing_tail_is_resolved_lexically_and_the_existing_part_by_the_system() {
        let dir = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(dir.path()).unwrap();
        fs::create_dir_all(root.join("a/b")).unwrap();

        let resolved = resolve(&root.join("a/b/new/../../c/./d")).unwrap();

        assert_eq!(resolved.path, root.join("a/c/d"));
        assert_eq!(resolved.existing, root.join("a"));
    }

    #[cfg(unix)]
    #[test]
    fn dot_dot_after_a_link_is_the_parent_of_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(dir.path()).unwrap();
        fs::create_dir_all(root.join("shop/data")).unwrap();
        std::os::unix::fs::symlink(root.join("shop/data"), root.join("link")).unwrap();

        let resolved = resolve(&root.join("link/../x.csv")).unwrap();

        assert_eq!(resolved.path, root.join("shop/x.csv"));
        assert_eq!(resolved.existing, root.join("shop"));
    }

    #[test]
    fn a_store_is_recognised_by_its_snapshot_lock_or_journal() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!holds_store(dir.path()));
        for (i, name) in ["snapshot.json", "LOCK", "journal-00000000000000000001.log"]
            .into_iter()
            .enumerate()
        {
            let store = dir.path().join(format!("store-{i}"));
            fs::create_dir(&store).unwrap();
            fs::write(store.join(name), b"").unwrap();
            assert!(holds_store(&store), "{name}");
        }
        fs::write(dir.path().join("journal.txt"), b"").unwrap();
        assert!(!holds_store(dir.path()));
    }

    /// Names in a small tree: directories `a` and `a/b`, a link `l` to `a/b`, a link `m` to
    /// the root itself, and `x`, which does not exist.
    fn component() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec!["a", "b", "l", "m", "x", "..", "."])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[cfg(unix)]
        #[test]
        fn wherever_the_system_resolves_a_path_the_resolution_agrees(
            parts in prop::collection::vec(component(), 0..8)
        ) {
            let dir = tempfile::tempdir().unwrap();
            let root = fs::canonicalize(dir.path()).unwrap();
            fs::create_dir_all(root.join("a/b")).unwrap();
            std::os::unix::fs::symlink(root.join("a/b"), root.join("l")).unwrap();
            std::os::unix::fs::symlink(&root, root.join("m")).unwrap();
            let path = parts.iter().fold(root.clone(), |p, part| p.join(part));

            let resolved = resolve(&path).unwrap();

            if let Ok(system) = fs::canonicalize(&path) {
                prop_assert_eq!(&resolved.path, &system);
            }
            prop_assert!(resolved.path.starts_with(&resolved.existing));
            prop_assert!(fs::canonicalize(&resolved.existing).is_ok());
        }
    }
}
