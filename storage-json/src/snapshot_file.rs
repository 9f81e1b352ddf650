//! The snapshot file: a header line, then the whole state as JSON.
//!
//! The header names the format, its schema version, the store's identity, the last journal
//! sequence number the snapshot contains, and the body's length and CRC-32, so a damaged
//! snapshot is refused instead of half-loaded. Older schema versions are migrated on load; newer
//! ones are refused. Snapshots written before stores had an identity have none.

use serde::{Deserialize, Serialize};

use crate::engine::Snapshot;
use crate::journal::StoreId;

/// The name of the snapshot file in a store directory.
pub const FILE_NAME: &str = "snapshot.json";
/// The snapshot before the current one, kept with the journal since it, so a damaged current
/// snapshot can be rebuilt (`shopbot store repair`).
pub const PREV_NAME: &str = "snapshot.prev.json";
/// The name a snapshot is written under before it is renamed into place.
pub const TEMP_NAME: &str = "snapshot.json.tmp";
/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = 1;
const FORMAT: &str = "shopbot-json-store";

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    store: Option<StoreId>,
    seq: u64,
    len: usize,
    crc: u32,
}

/// Why a snapshot could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// Not a snapshot, or damaged.
    #[error("{0}")]
    Damaged(String),
    /// Written by a newer shopbot.
    #[error(
        "the store was written by a newer shopbot (schema version {found}; this build reads up \
         to {SCHEMA_VERSION}): upgrade shopbot to open it"
    )]
    Newer {
        /// The version found.
        found: u32,
    },
}

/// A snapshot read back.
#[derive(Debug)]
pub struct Decoded {
    /// The state.
    pub snapshot: Snapshot,
    /// The last journal record it contains.
    pub seq: u64,
    /// The store it belongs to (none for snapshots written before stores had one).
    pub store: Option<StoreId>,
}

/// Encodes a snapshot of store `store`'s state after journal record `seq`.
pub fn encode(snapshot: &Snapshot, seq: u64, store: StoreId) -> Result<Vec<u8>, serde_json::Error> {
    let body = serde_json::to_vec(snapshot)?;
    let header = Header {
        format: FORMAT.to_owned(),
        version: SCHEMA_VERSION,
        store: Some(store),
        seq,
        len: body.len(),
        crc: crc32fast::hash(&body),
    };
    let mut bytes = serde_json::to_vec(&header)?;
    bytes.push(b'\n');
    bytes.extend_from_slice(&body);
    Ok(bytes)
}

/// Decodes a snapshot file.
pub fn decode(bytes: &[u8]) -> Result<Decoded, SnapshotError> {
    let damaged = |what: &str| SnapshotError::Damaged(what.to_owned());
    let newline = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| damaged("no header line"))?;
    let (head, rest) = bytes.split_at(newline);
    let body = rest.get(1..).unwrap_or_default();
    let header: Header =
        serde_json::from_slice(head).map_err(|e| damaged(&format!("bad header: {e}")))?;
    if header.format != FORMAT {
        return Err(damaged("not a shopbot store snapshot"));
    }
    if header.version > SCHEMA_VERSION {
        return Err(SnapshotError::Newer {
            found: header.version,
        });
    }
    if body.len() != header.len || crc32fast::hash(body) != header.crc {
        return Err(damaged("the body does not match its length and checksum"));
    }
    let bad_body = |e: serde_json::Error| damaged(&format!("bad body: {e}"));
    let snapshot = if header.version == SCHEMA_VERSION {
        // The common case reads straight into the state, without an intermediate tree.
        serde_json::from_slice(body).map_err(bad_body)?
    } else {
        let value = serde_json::from_slice(body).map_err(bad_body)?;
        serde_json::from_value(migrate(header.version, value)?).map_err(bad_body)?
    };
    Ok(Decoded {
        snapshot,
        seq: header.seq,
        store: header.store,
    })
}

/// Brings a snapshot body of schema `version` up to [`SCHEMA_VERSION`], one version at a time.
/// Each future schema change adds one step here and bumps the version.
fn migrate(version: u32, value: serde_json::Value) -> Result<serde_json::Value, SnapshotError> {
    match version {
        SCHEMA_VERSION => Ok(value),
        other => Err(SnapshotError::Damaged(format!(
            "unknown schema version {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_reads_back_with_its_sequence_number() {
        let store = StoreId::random();
        let bytes = encode(&Snapshot::default(), 42, store).unwrap();
        let decoded = decode(&bytes).unwrap();
        assert_eq!((decoded.seq, decoded.store), (42, Some(store)));
    }

    #[test]
    fn a_damaged_body_is_refused() {
        let mut bytes = encode(&Snapshot::default(), 1, StoreId::random()).unwrap();
        let last = bytes.len() - 2;
        bytes[last] ^= 1;
        assert!(matches!(decode(&bytes), Err(SnapshotError::Damaged(_))));
    }

    #[test]
    fn a_newer_schema_is_refused_with_advice() {
        let bytes = encode(&Snapshot::default(), 1, StoreId::random()).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let newer = text.replacen("\"version\":1", "\"version\":99", 1);
        let error = decode(newer.as_bytes()).unwrap_err();
        assert_eq!(error, SnapshotError::Newer { found: 99 });
        assert!(error.to_string().contains("upgrade shopbot"));
    }
}
