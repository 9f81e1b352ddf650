//! Where a JSON store may live: `~` expanded from `$HOME`, and whether a new store may be made
//! in a directory.
//!
//! Owns the rules that keep a mistyped path from becoming a shop: a new store goes into a new
//! or empty directory whose parent exists, never into a deep path made up on the spot nor into
//! a directory that holds other files (`json:/`). It never creates or changes anything itself.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::error::{CliError, CliResult};

/// How many of a directory's entries a refusal names.
const NAMED_ENTRIES: usize = 3;

/// The directory a `json:` URL's path names: `~` and `~/…` start at `home`; any other path is
/// taken as written. `~user/…` is refused rather than created as a directory named `~user`.
pub(crate) fn expand_home(path: &str, home: Option<&OsStr>) -> CliResult<PathBuf> {
    let rest = match path.strip_prefix('~') {
        None => return Ok(PathBuf::from(path)),
        Some(rest) => rest,
    };
    if !(rest.is_empty() || rest.starts_with('/')) {
        return Err(CliError::usage(format!(
            "store URL json:{path}: `~user` paths are not expanded; write the whole path, for \
             example json:/home/user/shop"
        )));
    }
    let home = home.filter(|h| !h.is_empty()).ok_or_else(|| {
        CliError::usage(format!(
            "store URL json:{path} starts with ~, but HOME is not set: set HOME or write the \
             whole path"
        ))
    })?;
    let mut dir = PathBuf::from(home);
    let rest = rest.trim_start_matches('/');
    if !rest.is_empty() {
        dir.push(rest);
    }
    Ok(dir)
}

/// Refuses a directory a new store must not be made in (`url` names it in messages): one whose
/// parent does not exist (exit 4, naming the first missing part), a file, or a directory that
/// holds anything (exit 5, naming some of it).
pub(crate) fn check_new_store_dir(dir: &Path, url: &impl std::fmt::Display) -> CliResult<()> {
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            let mut names: Vec<String> = entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            if names.is_empty() {
                return Ok(());
            }
            names.sort();
            let more = names.len().saturating_sub(NAMED_ENTRIES);
            names.truncate(NAMED_ENTRIES);
            let mut listed = names.join(", ");
            if more > 0 {
                listed.push_str(&format!(" and {more} more"));
            }
            Err(CliError::refused(format!(
                "{url} holds other files ({listed}): a new shop needs a new or empty \
                 directory; nothing was changed"
            )))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => check_parent(dir, url),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Err(CliError::refused(format!(
            "{url} is a file, not a directory: name a new or empty directory"
        ))),
        Err(e) => Err(CliError::invalid(format!(
            "cannot use {url}: {e} (--store json:PATH needs a directory this user can read and \
             write)"
        ))),
    }
}

/// Refuses (exit 4) a new store directory whose parent does not exist, naming the first part
/// of the path that is missing: a store is never made by creating a whole mistyped path.
pub(crate) fn check_parent(dir: &Path, url: &impl std::fmt::Display) -> CliResult<()> {
    match first_missing(dir) {
        Some(missing) if missing != dir => Err(CliError::not_found(format!(
            "cannot create a shop at {url}: {} does not exist (a new store's parent directory \
             must exist: create it first, or correct the path)",
            missing.display()
        ))),
        _ => Ok(()),
    }
}

/// The outermost ancestor of `dir` (or `dir` itself) that does not exist.
fn first_missing(dir: &Path) -> Option<&Path> {
    let mut missing = None;
    for ancestor in dir.ancestors() {
        if ancestor.as_os_str().is_empty() || ancestor.exists() {
            break;
        }
        missing = Some(ancestor);
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitStatus;

    fn home() -> Option<&'static OsStr> {
        Some(OsStr::new("/home/ann"))
    }

    #[test]
    fn a_tilde_starts_at_home() {
        let expand = |p: &str| expand_home(p, home()).ok();
        assert_eq!(expand("~/shop"), Some(PathBuf::from("/home/ann/shop")));
        assert_eq!(expand("~"), Some(PathBuf::from("/home/ann")));
        assert_eq!(expand("~//shop/"), Some(PathBuf::from("/home/ann/shop/")));
        assert_eq!(expand("./~/shop"), Some(PathBuf::from("./~/shop")));
        assert_eq!(expand("/srv/shop"), Some(PathBuf::from("/srv/shop")));
    }

    #[test]
    fn a_tilde_without_home_or_with_a_user_name_is_a_usage_error() {
        for (path, home, needle) in [
            ("~/shop", None, "HOME is not set"),
            ("~/shop", Some(OsStr::new("")), "HOME is not set"),
            ("~bob/shop", home(), "`~user` paths are not expanded"),
        ] {
            let e = expand_home(path, home)
                .err()
                .map(|e| (e.status(), e.message().to_owned()));
            let (status, message) = e.unwrap_or((ExitStatus::Success, String::new()));
            assert_eq!(status, ExitStatus::Usage, "{path}");
            assert!(message.contains(needle), "{message}");
        }
    }

    #[test]
    fn a_new_store_needs_an_existing_parent_and_an_empty_directory() {
        let Ok(tmp) = tempfile::tempdir() else {
            return;
        };
        let root = tmp.path();
        let url = "json:X";
        assert!(check_new_store_dir(&root.join("new"), &url).is_ok());
        assert!(
            check_new_store_dir(root, &url).is_ok(),
            "an empty directory"
        );

        let deep = root.join("missing").join("deep").join("dir");
        let e = check_new_store_dir(&deep, &url).err();
        let e = e.map(|e| (e.status(), e.message().to_owned()));
        let (status, message) = e.unwrap_or((ExitStatus::Success, String::new()));
        assert_eq!(status, ExitStatus::NotFound);
        let missing = root.join("missing");
        assert!(
            message.contains(&format!("{} does not exist", missing.display())),
            "{message}"
        );
        assert!(!missing.exists(), "nothing is created");

        for name in ["a", "b", "c", "d"] {
            assert!(std::fs::write(root.join(name), b"x").is_ok());
        }
        let e = check_new_store_dir(root, &url).err();
        let e = e.map(|e| (e.status(), e.message().to_owned()));
        let (status, message) = e.unwrap_or((ExitStatus::Success, String::new()));
        assert_eq!(status, ExitStatus::Refused);
        assert!(
            message.contains("holds other files (a, b, c and 1 more)"),
            "{message}"
        );
        let e = check_new_store_dir(&root.join("a"), &url).err();
        assert_eq!(e.map(|e| e.status()), Some(ExitStatus::Refused));
    }
}
