//! One journal record: `<seq> <len> <crc32> <json>\n`.
//!
//! The sequence number, the byte length of the JSON payload, a CRC-32 of the sequence number and
//! the payload (8 hex digits), and the command as JSON, so an operator can read the journal with
//! `less`. A record stream is records back to back: the whole body of a format-1 segment, and
//! the frame bodies of a format-2 segment put together.

use crate::engine::Command;

fn checksum(seq: u64, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&seq.to_le_bytes());
    hasher.update(payload);
    hasher.finalize()
}

/// Encodes one record.
pub fn encode(seq: u64, command: &Command) -> Result<Vec<u8>, serde_json::Error> {
    let payload = serde_json::to_vec(command)?;
    let crc = checksum(seq, &payload);
    let mut record = format!("{seq} {} {crc:08x} ", payload.len()).into_bytes();
    record.extend_from_slice(&payload);
    record.push(b'\n');
    Ok(record)
}

/// A record read back.
#[derive(Debug)]
pub struct Decoded {
    /// Where it starts in its record stream.
    pub offset: usize,
    /// Its sequence number.
    pub seq: u64,
    /// Its command.
    pub command: Command,
}

/// Why the bytes at an offset are not a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Defect {
    /// The bytes end inside the record.
    Incomplete,
    /// The header is not `<seq> <len> <crc> `.
    Malformed,
    /// The checksum does not match.
    Checksum,
    /// The checksum matches but the payload is not a command this version understands.
    Payload(String),
}

/// The result of reading a record stream.
#[derive(Debug)]
pub struct Scan {
    /// The valid records before the first defect.
    pub records: Vec<Decoded>,
    /// The first defect, at its byte offset, if any.
    pub defect: Option<(u64, Defect)>,
}

/// Reads every record of a record stream, stopping at the first defect.
pub fn scan(bytes: &[u8]) -> Scan {
    let mut records = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        match decode_at(bytes, pos) {
            Ok((seq, command, end)) => {
                records.push(Decoded {
                    offset: pos,
                    seq,
                    command,
                });
                pos = end;
            }
            Err(defect) => {
                return Scan {
                    records,
                    defect: Some((pos as u64, defect)),
                };
            }
        }
    }
    Scan {
        records,
        defect: None,
    }
}

/// Whether a well-formed record with a valid checksum starts anywhere after `offset`.
/// A defect with valid records after it is corruption, not a torn tail.
pub fn valid_record_after(bytes: &[u8], offset: usize) -> bool {
    line_starts(bytes, offset).any(|pos| frame_at(bytes, pos).is_ok())
}

/// How many well-formed records with valid checksums can be found in damaged bytes: what an
/// operator is told a set-aside tail held.
pub fn count_recognisable(bytes: &[u8]) -> usize {
    std::iter::once(0)
        .chain(line_starts(bytes, 0))
        .filter(|&pos| frame_at(bytes, pos).is_ok())
        .count()
}

/// The offsets just after each newline from `offset` on.
fn line_starts(bytes: &[u8], offset: usize) -> impl Iterator<Item = usize> + '_ {
    bytes
        .iter()
        .enumerate()
        .skip(offset)
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i + 1)
        .filter(move |&i| i < bytes.len())
}

/// Checks the frame at `pos`; returns the sequence number, the payload and the end offset.
fn frame_at(bytes: &[u8], pos: usize) -> Result<(u64, &[u8], usize), Defect> {
    let rest = bytes.get(pos..).ok_or(Defect::Incomplete)?;
    let mut fields = [0usize; 3];
    let mut cursor = 0;
    for field in &mut fields {
        let len = rest
            .get(cursor..)
            .and_then(|r| r.iter().take(24).position(|&c| c == b' '));
        match len {
            Some(len) if len > 0 => *field = len,
            Some(_) => return Err(Defect::Malformed),
            None if rest.len() < cursor + 24 => return Err(Defect::Incomplete),
            None => return Err(Defect::Malformed),
        }
        cursor += *field + 1;
    }
    let text = |start: usize, len: usize| {
        rest.get(start..start + len)
            .and_then(|b| std::str::from_utf8(b).ok())
            .ok_or(Defect::Malformed)
    };
    let [seq_len, len_len, crc_len] = fields;
    let seq: u64 = text(0, seq_len)?.parse().map_err(|_| Defect::Malformed)?;
    let len: usize = text(seq_len + 1, len_len)?
        .parse()
        .map_err(|_| Defect::Malformed)?;
    let crc_text = text(seq_len + len_len + 2, crc_len)?;
    if crc_len != 8 {
        return Err(Defect::Malformed);
    }
    let crc = u32::from_str_radix(crc_text, 16).map_err(|_| Defect::Malformed)?;
    let payload_end = cursor.checked_add(len).ok_or(Defect::Malformed)?;
    let payload = rest.get(cursor..payload_end).ok_or(Defect::Incomplete)?;
    match rest.get(payload_end) {
        Some(b'\n') => {}
        Some(_) => return Err(Defect::Malformed),
        None => return Err(Defect::Incomplete),
    }
    if checksum(seq, payload) != crc {
        return Err(Defect::Checksum);
    }
    Ok((seq, payload, pos + payload_end + 1))
}

fn decode_at(bytes: &[u8], pos: usize) -> Result<(u64, Command, usize), Defect> {
    let (seq, payload, end) = frame_at(bytes, pos)?;
    let command = serde_json::from_slice(payload).map_err(|e| Defect::Payload(e.to_string()))?;
    Ok((seq, command, end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use shopbot_core::ids::{ChatId, UserId};

    fn command(n: i64) -> Command {
        Command::ClearDialogue {
            chat: ChatId(n),
            user: UserId(n),
        }
    }

    fn journal(n: u64) -> Vec<u8> {
        (1..=n)
            .flat_map(|seq| encode(seq, &command(seq as i64)).unwrap())
            .collect()
    }

    #[test]
    fn records_read_back_in_order() {
        let scan = scan(&journal(3));
        assert!(scan.defect.is_none());
        let seqs: Vec<u64> = scan.records.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, vec![1, 2, 3]);
        assert_eq!(scan.records[2].command, command(3));
    }

    #[test]
    fn a_cut_last_record_is_an_incomplete_tail() {
        let bytes = journal(3);
        let first_two = journal(2).len();
        for cut in first_two + 1..bytes.len() {
            let scan = scan(&bytes[..cut]);
            assert_eq!(scan.records.len(), 2, "cut at {cut}");
            let (offset, _) = scan.defect.unwrap();
            assert_eq!(offset as usize, first_two);
            assert!(!valid_record_after(&bytes[..cut], first_two));
        }
    }

    #[test]
    fn a_flipped_byte_in_the_middle_is_found_with_valid_records_after_it() {
        let mut bytes = journal(5);
        let second = journal(1).len();
        bytes[second + 12] ^= 0x20;
        let scan = scan(&bytes);
        assert_eq!(scan.records.len(), 1);
        let (offset, _) = scan.defect.unwrap();
        assert_eq!(offset as usize, second);
        assert!(valid_record_after(&bytes, second));
    }

    proptest! {
        #[test]
        fn any_bytes_scan_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let scan = scan(&bytes);
            if let Some((offset, _)) = scan.defect {
                let _ = valid_record_after(&bytes, offset as usize);
            }
        }

        #[test]
        fn garbage_appended_to_a_journal_never_hides_its_records(tail in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut bytes = journal(3);
            bytes.extend_from_slice(&tail);
            prop_assert!(scan(&bytes).records.len() >= 3);
        }
    }
}
