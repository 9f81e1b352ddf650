//! Reading `shopbot.toml`: its sections and keys, checked against [`KEYS`].
//!
//! Owns [`ConfigFile`]: the values the file gives, each under the path of its key and as
//! text, so one parser per key reads the file, the environment and the flags alike. An
//! unknown section or key, a float, or a key given both under its section and by its older
//! top-level name is refused here, before any value is parsed.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use super::keys::{self, KEYS, SECTIONS};
use crate::error::{CliError, CliResult};

/// The largest configuration file read; anything bigger is not a configuration file.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// What a configuration file gives: key path (`shop.currency`) to the value as text.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    /// The file's name, as the operator gave it.
    pub name: String,
    /// Each key the file sets, by path, with its value as text.
    pub values: BTreeMap<String, String>,
}

impl ConfigFile {
    /// Parses the text of a configuration file; `name` is used in errors.
    pub fn parse(text: &str, name: &str) -> CliResult<ConfigFile> {
        let table: toml::Table = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|span| line_at(text, span.start))
                .unwrap_or_default();
            CliError::usage(format!("{name}{at}: {}", e.message()))
        })?;
        let mut file = ConfigFile {
            name: name.to_owned(),
            values: BTreeMap::new(),
        };
        for (top, value) in &table {
            if SECTIONS.contains(&top.as_str()) {
                let toml::Value::Table(section) = value else {
                    return Err(file.error(
                        text,
                        top,
                        &format!("`{top}` is a section: write [{top}]"),
                    ));
                };
                for (name, value) in section {
                    let path = format!("{top}.{name}");
                    if keys::find(&path).is_none() {
                        let accepted: Vec<&str> = KEYS
                            .iter()
                            .filter(|key| key.section == top)
                            .map(|key| key.name)
                            .collect();
                        return Err(file.error(
                            text,
                            name,
                            &format!(
                                "unknown key `{name}` in [{top}]; accepted: {}",
                                accepted.join(", ")
                            ),
                        ));
                    }
                    file.insert(text, name, path, value)?;
                }
                continue;
            }
            let key = KEYS.iter().find(|key| {
                (key.section.is_empty() && key.name == top) || key.legacy_file == Some(top)
            });
            let Some(key) = key else {
                return Err(file.error(
                    text,
                    top,
                    &format!("unknown key `{top}`; {}", top_level_accepted()),
                ));
            };
            file.insert(text, top, key.path(), value)?;
        }
        Ok(file)
    }

    /// Reads `path`. `None` when `path` is the default file and it does not exist.
    pub fn load(path: &Path, explicit: bool) -> CliResult<Option<ConfigFile>> {
        let name = path.display().to_string();
        let file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => return Ok(None),
            Err(e) => {
                return Err(CliError::usage(format!(
                    "cannot read configuration file {name}: {e}"
                )));
            }
        };
        let mut bytes = Vec::new();
        file.take(MAX_CONFIG_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| CliError::usage(format!("cannot read configuration file {name}: {e}")))?;
        if bytes.len() as u64 > MAX_CONFIG_BYTES {
            return Err(CliError::usage(format!(
                "{name} is larger than 1 MiB: is it really a configuration file?"
            )));
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| CliError::usage(format!("{name} is not UTF-8 text")))?;
        ConfigFile::parse(&text, &name).map(Some)
    }

    /// Records `value` under `path`, refusing a key set twice (under its section and by its
    /// older name): which one was meant cannot be told.
    fn insert(
        &mut self,
        text: &str,
        written: &str,
        path: String,
        value: &toml::Value,
    ) -> CliResult<()> {
        let key = keys::find(&path);
        let secret = key.is_some_and(|key| key.secret);
        let as_text = value_text(value).map_err(|why| {
            let why = match key {
                Some(key) => format!("{why}; accepted: {}", key.accepted),
                None => why,
            };
            let shown = match value {
                _ if secret => super::REDACTED.to_owned(),
                toml::Value::Float(number) => number.to_string(),
                _ => "that value".to_owned(),
            };
            self.error(
                text,
                written,
                &format!("{path} = {shown} is not accepted: {why}"),
            )
        })?;
        if self.values.insert(path.clone(), as_text).is_some() {
            return Err(self.error(
                text,
                written,
                &format!("{path} is set twice (under [section] and by its older top-level name): keep one"),
            ));
        }
        Ok(())
    }

    fn error(&self, text: &str, key: &str, message: &str) -> CliError {
        CliError::usage(format!("{}{}: {message}", self.name, key_line(text, key)))
    }
}

/// A TOML value as the text its key's parser reads. Floats are refused: no amount or
/// duration in shopbot is a float.
fn value_text(value: &toml::Value) -> Result<String, String> {
    match value {
        toml::Value::String(text) => Ok(text.clone()),
        toml::Value::Integer(number) => Ok(number.to_string()),
        toml::Value::Boolean(flag) => Ok(flag.to_string()),
        toml::Value::Float(_) => Err("floats are not accepted: write the value as text".into()),
        toml::Value::Array(items) => items
            .iter()
            .map(|item| match item {
                toml::Value::Array(_) | toml::Value::Table(_) => {
                    Err("a list holds plain values only".to_owned())
                }
                other => value_text(other),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|items| items.join(",")),
        toml::Value::Datetime(_) | toml::Value::Table(_) => Err("not a plain value".into()),
    }
}

fn top_level_accepted() -> String {
    let mut names: Vec<&str> = KEYS
        .iter()
        .filter_map(|key| {
            key.section
                .is_empty()
                .then_some(key.name)
                .or(key.legacy_file)
        })
        .collect();
    names.dedup();
    let sections: Vec<String> = SECTIONS.iter().map(|s| format!("[{s}]")).collect();
    format!(
        "accepted at the top: {}, and the sections {}",
        names.join(", "),
        sections.join(", ")
    )
}

/// ` (line N)` for a byte offset.
fn line_at(text: &str, offset: usize) -> String {
    let line = text.get(..offset).map_or(0, |s| s.matches('\n').count());
    format!(" (line {})", line + 1)
}

/// ` (line N)` of the first line that sets `key`, or nothing when it cannot be found (a
/// dotted or quoted key); the parsed table keeps no positions.
fn key_line(text: &str, key: &str) -> String {
    let sets_key = |line: &str| {
        line.trim_start()
            .strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with('='))
    };
    text.lines()
        .position(sets_key)
        .map(|index| format!(" (line {})", index + 1))
        .unwrap_or_default()
}
