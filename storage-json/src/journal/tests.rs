use super::*;
use crate::engine::Command;
use proptest::prelude::*;
use shopbot_core::ids::{ChatId, UserId};

fn command(n: i64) -> Command {
    Command::ClearDialogue {
        chat: ChatId(n),
        user: UserId(n),
    }
}

fn records(seqs: std::ops::RangeInclusive<u64>) -> Vec<u8> {
    seqs.flat_map(|seq| encode(seq, &command(seq as i64)).unwrap())
        .collect()
}

/// A segment with one frame per batch of record numbers.
fn segment(batches: &[std::ops::RangeInclusive<u64>]) -> Vec<u8> {
    let first = batches.first().map_or(1, |b| *b.start());
    let mut bytes = header(StoreId::random(), first);
    for batch in batches {
        bytes.extend(frame(&records(batch.clone())));
    }
    bytes
}

fn start(bytes: &[u8]) -> usize {
    match read_header(bytes).unwrap() {
        Header::Framed { len, .. } => len,
        Header::Unframed => 0,
    }
}

fn seqs(scan: &SegmentScan) -> Vec<u64> {
    scan.records.iter().map(|r| r.seq).collect()
}

#[test]
fn a_header_reads_back_with_its_store_and_first_sequence_number() {
    let store = StoreId::random();
    let bytes = header(store, 42);
    assert_eq!(
        read_header(&bytes),
        Ok(Header::Framed {
            store,
            first_seq: 42,
            len: bytes.len()
        })
    );
    assert_ne!(StoreId::random(), StoreId::random());
}

#[test]
fn a_file_that_is_not_a_journal_is_named_as_such() {
    let error = read_header(b"order_id,user_id,total\n1,2,3\n").unwrap_err();
    assert!(matches!(error, HeaderError::NotAJournal(ref start) if start.starts_with("order_id")));
    let mut bytes = header(StoreId::random(), 1);
    bytes[30] ^= 1;
    assert!(matches!(read_header(&bytes), Err(HeaderError::Damaged(_))));
    assert_eq!(read_header(b""), Ok(Header::Unframed));
    assert_eq!(read_header(b"1 2 00000000 {}\n"), Ok(Header::Unframed));
}

#[test]
fn frames_read_back_in_order() {
    let bytes = segment(&[1..=3, 4..=4, 5..=9]);
    let scan = scan_framed(&bytes, start(&bytes));
    assert_eq!(scan.damage, None);
    assert_eq!(seqs(&scan), (1..=9).collect::<Vec<_>>());
}

#[test]
fn a_last_frame_cut_anywhere_is_a_torn_tail_from_its_first_byte() {
    let whole = segment(&[1..=3, 4..=6]);
    let two_frames_before = segment(&[1..=3]).len();
    for cut in two_frames_before + 1..whole.len() {
        let scan = scan_framed(&whole[..cut], start(&whole));
        assert_eq!(seqs(&scan), vec![1, 2, 3], "cut at {cut}");
        let damage = scan.damage.unwrap();
        assert_eq!(damage.offset as usize, two_frames_before);
        assert!(damage.torn_tail, "cut at {cut}");
    }
}

#[test]
fn garbage_in_place_of_the_last_frame_is_a_torn_tail() {
    let mut bytes = segment(&[1..=3, 4..=6]);
    let last = segment(&[1..=3]).len();
    for b in &mut bytes[last..] {
        *b = b.wrapping_mul(31).wrapping_add(7);
    }
    let scan = scan_framed(&bytes, start(&bytes));
    assert_eq!(seqs(&scan), vec![1, 2, 3]);
    assert!(scan.damage.unwrap().torn_tail);
}

#[test]
fn damage_followed_by_a_valid_frame_is_not_a_torn_tail() {
    let mut bytes = segment(&[1..=3, 4..=6, 7..=7]);
    let second = segment(&[1..=3]).len();
    bytes[second + 30] ^= 0x20;
    let scan = scan_framed(&bytes, start(&bytes));
    assert_eq!(seqs(&scan), vec![1, 2, 3]);
    let damage = scan.damage.unwrap();
    assert_eq!(damage.offset as usize, second);
    assert!(!damage.torn_tail);
    assert_eq!(damage.records, 3);
}

#[test]
fn damage_longer_than_one_frame_is_not_a_torn_tail() {
    let batches: Vec<_> = (0..40).map(|b| b * 100 + 1..=b * 100 + 100).collect();
    let mut bytes = segment(&batches);
    assert!(bytes.len() > MAX_FRAME_LEN + 1000);
    let from = bytes.len() - MAX_FRAME_LEN - 100;
    for b in &mut bytes[from..] {
        *b = 0;
    }
    let scan = scan_framed(&bytes, start(&bytes));
    assert!(!scan.damage.unwrap().torn_tail);
}

#[test]
fn a_record_whose_later_frames_never_arrived_is_set_aside_from_its_first_frame() {
    // One batch split across two frames, the second missing: the small record before it in
    // the same frame was never acknowledged either.
    let before = records(1..=2);
    let batch: Vec<u8> = records(3..=4);
    let (first_half, _) = batch.split_at(batch.len() - 10);
    let mut bytes = header(StoreId::random(), 1);
    bytes.extend(frame(&before));
    let batch_start = bytes.len();
    bytes.extend(frame(first_half));
    let scan = scan_framed(&bytes, start(&bytes));
    assert_eq!(seqs(&scan), vec![1, 2]);
    let damage = scan.damage.unwrap();
    assert_eq!(damage.offset as usize, batch_start);
    assert!(damage.torn_tail);
}

#[test]
fn a_spoiled_record_inside_a_valid_frame_is_not_a_torn_tail() {
    let mut body = records(1..=2);
    body[5] = b'x';
    let mut bytes = header(StoreId::random(), 1);
    bytes.extend(frame(&body));
    let scan = scan_framed(&bytes, start(&bytes));
    assert!(!scan.damage.unwrap().torn_tail);
}

#[test]
fn segment_names_round_trip() {
    assert_eq!(parse_segment_name(&segment_name(42)), Some(42));
    assert_eq!(parse_segment_name("journal-42.log"), None);
    assert_eq!(parse_segment_name("snapshot.json"), None);
}

proptest! {
    #[test]
    fn any_bytes_scan_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = read_header(&bytes);
        let _ = scan_framed(&bytes, 0);
        let _ = scan_unframed(&bytes);
    }

    #[test]
    fn a_damaged_range_never_hides_damage_before_the_last_frame(
        from in 0usize..2000, len in 1usize..200, fill in any::<u8>(),
    ) {
        let batches: Vec<_> = (0..12).map(|b| b * 3 + 1..=b * 3 + 3).collect();
        let original = segment(&batches);
        let body_start = start(&original);
        let last_frame = segment(&batches[..11]).len();
        let from = body_start + from % (original.len() - body_start);
        let mut bytes = original.clone();
        let end = (from + len).min(bytes.len());
        for b in &mut bytes[from..end] {
            *b = fill ^ 0x5a;
        }
        prop_assume!(bytes != original);
        let scan = scan_framed(&bytes, body_start);
        let damage = scan.damage.expect("damage is found");
        if damage.torn_tail {
            // Only the last frame may be given up.
            prop_assert!(damage.offset as usize >= last_frame);
            prop_assert_eq!(scan.records.len(), 33);
        }
    }
}
