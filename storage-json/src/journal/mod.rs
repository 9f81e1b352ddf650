//! The journal: segment files of framed batches of records.
//!
//! A segment is named after its first sequence number (`journal-<seq>.log`) and begins with a
//! header line, `shopbot-journal 2 <store id> <first seq> <crc32>`, written whole before the
//! file gets its name (a temporary file, synced and renamed), so a segment never has a torn
//! header. After the header come frames, one per write the committer makes durable with one
//! `fdatasync`: `@<len> <crc32>\n` (eight hex digits each) and `len` bytes of records (see
//! [`record`]). A frame holds at most [`FRAME_CAP`] bytes; a group-commit batch larger than that
//! (a 100,000-key import, say) is split across frames, each synced before the next is written,
//! and is acknowledged only after its last frame.
//!
//! That is what lets recovery tell a write cut short by a crash from damage: a crash can only
//! spoil the bytes after the last sync, so a torn tail is at most one frame long, with nothing
//! valid after it, or a record whose later frames never reached the disk. Anything else is
//! damage to acknowledged data.
//!
//! Stores written before frames existed have format-1 segments: no header, records back to back.
//! They are still read, and the store upgrades itself when it opens one.

pub mod record;

use std::fmt;
use std::hash::{BuildHasher, Hasher};

pub use record::{Decoded, Defect, encode};

/// The most record bytes one frame holds.
pub const FRAME_CAP: usize = 64 * 1024;
/// The length of a frame's header: `@`, eight hex digits, a space, eight hex digits, `\n`.
pub const FRAME_HEADER_LEN: usize = 19;
/// The longest stretch a crash can spoil: one whole frame.
pub const MAX_FRAME_LEN: usize = FRAME_HEADER_LEN + FRAME_CAP;

const MAGIC: &str = "shopbot-journal";
const FORMAT: u32 = 2;

/// The file name of the segment whose first record is `first_seq`.
pub fn segment_name(first_seq: u64) -> String {
    format!("journal-{first_seq:020}.log")
}

/// The first sequence number of a segment, from its file name.
pub fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("journal-")?.strip_suffix(".log")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A store's identity: written into its snapshot and every journal header, so a segment from
/// another store is never replayed into this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreId(u128);

impl StoreId {
    /// A new random identity.
    pub fn random() -> StoreId {
        // Randomly keyed hashers (seeded by the operating system) over the time and the
        // process id: unique enough to tell stores apart, without a dependency.
        let half = |salt: u64| {
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u64(salt);
            hasher.write_u32(std::process::id());
            if let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
                hasher.write_u128(now.as_nanos());
            }
            hasher.finish()
        };
        StoreId((u128::from(half(1)) << 64) | u128::from(half(2)))
    }

    /// Parses the 32 hex digits [`Display`](fmt::Display) writes.
    pub fn parse(text: &str) -> Option<StoreId> {
        if text.len() != 32 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u128::from_str_radix(text, 16).ok().map(StoreId)
    }
}

impl fmt::Display for StoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl serde::Serialize for StoreId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for StoreId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        StoreId::parse(&text).ok_or_else(|| serde::de::Error::custom("not a store id"))
    }
}

/// The header line of a new segment.
pub fn header(store: StoreId, first_seq: u64) -> Vec<u8> {
    let text = format!("{MAGIC} {FORMAT} {store} {first_seq:020}");
    let crc = crc32fast::hash(text.as_bytes());
    format!("{text} {crc:08x}\n").into_bytes()
}

/// What a segment's first bytes say it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Header {
    /// A format-2 segment; its frames start at `len`.
    Framed {
        /// The store it belongs to.
        store: StoreId,
        /// Its first sequence number.
        first_seq: u64,
        /// The header's length in bytes.
        len: usize,
    },
    /// A format-1 segment (records from the first byte on, or empty).
    Unframed,
}

/// Why a segment's first bytes are not a journal header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The file does not start like a journal at all.
    #[error("it is not a shopbot journal (it starts with {0:?})")]
    NotAJournal(String),
    /// The header line is damaged.
    #[error("its header is damaged ({0})")]
    Damaged(&'static str),
}

/// Reads a segment's header.
pub fn read_header(bytes: &[u8]) -> Result<Header, HeaderError> {
    if bytes.starts_with(MAGIC.as_bytes()) {
        return read_framed_header(bytes).map_err(HeaderError::Damaged);
    }
    match bytes.first() {
        None => Ok(Header::Unframed),
        Some(b) if b.is_ascii_digit() => Ok(Header::Unframed),
        Some(_) => {
            let start = bytes.get(..24).unwrap_or(bytes);
            Err(HeaderError::NotAJournal(
                String::from_utf8_lossy(start).into_owned(),
            ))
        }
    }
}

fn read_framed_header(bytes: &[u8]) -> Result<Header, &'static str> {
    let end = bytes
        .iter()
        .take(128)
        .position(|&b| b == b'\n')
        .ok_or("no end of line")?;
    let line = bytes
        .get(..end)
        .and_then(|l| std::str::from_utf8(l).ok())
        .ok_or("not text")?;
    let (text, crc) = line.rsplit_once(' ').ok_or("no checksum")?;
    let crc = u32::from_str_radix(crc, 16).map_err(|_| "bad checksum")?;
    if crc32fast::hash(text.as_bytes()) != crc {
        return Err("checksum mismatch");
    }
    let fields: Vec<&str> = text.split(' ').collect();
    let [_, format, store, first_seq] = fields.as_slice() else {
        return Err("wrong number of fields");
    };
    if format.parse::<u32>() != Ok(FORMAT) {
        return Err("unknown format version");
    }
    Ok(Header::Framed {
        store: StoreId::parse(store).ok_or("bad store id")?,
        first_seq: first_seq.parse().map_err(|_| "bad sequence number")?,
        len: end + 1,
    })
}

/// One frame around `records` (at most [`FRAME_CAP`] bytes of whole or partial records).
pub fn frame(records: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(FRAME_HEADER_LEN + records.len());
    bytes.extend_from_slice(
        format!("@{:08x} {:08x}\n", records.len(), frame_crc(records)).as_bytes(),
    );
    bytes.extend_from_slice(records);
    bytes
}

fn frame_crc(records: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&(records.len() as u64).to_le_bytes());
    hasher.update(records);
    hasher.finalize()
}

/// The frame at `pos`: its records and where it ends.
fn frame_at(bytes: &[u8], pos: usize) -> Result<(&[u8], usize), Defect> {
    let header = bytes
        .get(pos..pos + FRAME_HEADER_LEN)
        .ok_or(Defect::Incomplete)?;
    let hex = |range: std::ops::Range<usize>| {
        header
            .get(range)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or(Defect::Malformed)
    };
    if header.first() != Some(&b'@')
        || header.get(9) != Some(&b' ')
        || header.last() != Some(&b'\n')
    {
        return Err(Defect::Malformed);
    }
    let len = hex(1..9)? as usize;
    let crc = hex(10..18)?;
    if len == 0 || len > FRAME_CAP {
        return Err(Defect::Malformed);
    }
    let start = pos + FRAME_HEADER_LEN;
    let records = bytes.get(start..start + len).ok_or(Defect::Incomplete)?;
    if frame_crc(records) != crc {
        return Err(Defect::Checksum);
    }
    Ok((records, start + len))
}

/// Whether a valid frame starts anywhere at or after `offset`.
fn valid_frame_from(bytes: &[u8], offset: usize) -> bool {
    bytes
        .iter()
        .enumerate()
        .skip(offset)
        .any(|(pos, &b)| b == b'@' && frame_at(bytes, pos).is_ok())
}

/// What reading a segment found.
#[derive(Debug)]
pub struct SegmentScan {
    /// The records before any damage.
    pub records: Vec<Decoded>,
    /// The damage, if any.
    pub damage: Option<Damage>,
}

/// Where a segment stops being readable, and whether that can be a write cut short.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// The byte offset from which the segment is unreadable (or, for a cut-off batch, where
    /// that batch begins).
    pub offset: u64,
    /// What is wrong there.
    pub detail: String,
    /// Whether this can be the tail a crash leaves: at most one frame (or a record whose later
    /// frames never arrived), with nothing valid after it. Only then, and only in the last
    /// segment, may it be set aside.
    pub torn_tail: bool,
    /// How many records can still be recognised in the bytes from `offset` on.
    pub records: usize,
}

/// Reads a format-2 segment whose frames start at `start`.
pub fn scan_framed(bytes: &[u8], start: usize) -> SegmentScan {
    // (offset in the file, offset in the record stream) of each valid frame.
    let mut frames: Vec<(usize, usize)> = Vec::new();
    let mut stream = Vec::new();
    let mut pos = start;
    let mut frame_defect = None;
    while pos < bytes.len() {
        match frame_at(bytes, pos) {
            Ok((records, end)) => {
                frames.push((pos, stream.len()));
                stream.extend_from_slice(records);
                pos = end;
            }
            Err(defect) => {
                frame_defect = Some((pos, defect));
                break;
            }
        }
    }
    let scan = record::scan(&stream);
    let mut records = scan.records;
    let file_offset = |stream_offset: usize| {
        frames
            .iter()
            .rev()
            .find(|(_, s)| *s <= stream_offset)
            .map_or(pos, |(f, _)| *f)
    };
    let damage = match (scan.defect, frame_defect) {
        // A record spoiled inside frames whose checksums hold: not something a crash does.
        (Some((at, defect)), _) if defect != Defect::Incomplete => Some(Damage {
            offset: file_offset(at as usize) as u64,
            detail: match defect {
                Defect::Payload(error) => format!(
                    "a record this version cannot read ({error}); was the store written by a \
                     newer shopbot?"
                ),
                other => format!("{other:?} record inside a valid frame"),
            },
            torn_tail: false,
            records: 0,
        }),
        (cut, frame_defect) => {
            // A record cut at the end of the stream belongs to a batch whose last frames never
            // reached the disk: from the frame where it starts on, nothing was acknowledged.
            let cut_frame = cut.map(|(at, _)| file_offset(at as usize));
            if let Some(frame_start) = cut_frame {
                let first_in_frame = frames
                    .iter()
                    .find(|(f, _)| *f == frame_start)
                    .map_or(0, |(_, s)| *s);
                records.retain(|r| r.offset < first_in_frame);
            }
            match (cut_frame, frame_defect) {
                (None, None) => None,
                (from, Some((at, defect))) => {
                    let rest = bytes.len() - at;
                    let torn_tail = rest <= MAX_FRAME_LEN && !valid_frame_from(bytes, at + 1);
                    let offset = from.unwrap_or(at);
                    Some(Damage {
                        offset: offset as u64,
                        detail: format!("{defect:?} frame at byte {at}"),
                        torn_tail,
                        records: record::count_recognisable(
                            bytes.get(offset..).unwrap_or_default(),
                        ),
                    })
                }
                (Some(from), None) => Some(Damage {
                    offset: from as u64,
                    detail: "a record whose batch was never completed".to_owned(),
                    torn_tail: true,
                    records: record::count_recognisable(bytes.get(from..).unwrap_or_default()),
                }),
            }
        }
    };
    SegmentScan { records, damage }
}

/// Reads a format-1 segment: records from the first byte on, where only a last record cut
/// short, with no valid record after it, can be a torn tail.
pub fn scan_unframed(bytes: &[u8]) -> SegmentScan {
    let scan = record::scan(bytes);
    let damage = scan.defect.map(|(offset, defect)| {
        let at = offset as usize;
        let torn_tail =
            !matches!(defect, Defect::Payload(_)) && !record::valid_record_after(bytes, at);
        Damage {
            offset,
            detail: match defect {
                Defect::Payload(error) => format!(
                    "a record this version cannot read ({error}); was the store written by a \
                     newer shopbot?"
                ),
                other => format!("{other:?} record"),
            },
            torn_tail,
            records: record::count_recognisable(bytes.get(at..).unwrap_or_default()),
        }
    });
    SegmentScan {
        records: scan.records,
        damage,
    }
}

#[cfg(test)]
mod tests;
