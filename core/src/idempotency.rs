//! Fingerprints of requests, so a repeated idempotency key can be told apart from a reused one.
//!
//! A backend stores a command's fingerprint with its key. The same key with the same fingerprint
//! returns the recorded result; with another fingerprint it is a `Conflict`. Every backend uses
//! this one function so they agree on what "the same request" means.

use serde::{Deserialize, Serialize};

/// A 128-bit digest of a request's canonical JSON, as 32 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fingerprint(pub String);

/// The fingerprint of `request` (which should leave out fields such as the time that may differ
/// between honest retries).
pub fn fingerprint<T: Serialize + ?Sized>(request: &T) -> Fingerprint {
    // Serializing plain data structs cannot fail; if it ever did, an empty body still yields a
    // stable digest and the keys would compare as their request kinds only.
    let bytes = serde_json::to_vec(request).unwrap_or_default();
    // Two FNV-1a lanes with different offsets: not a cryptographic hash, and it does not need to
    // be: a collision could only make a caller's own retry look like its own earlier request.
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x6c62_272e_07bb_0142;
    for byte in bytes {
        a = (a ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        b = (b ^ u64::from(byte))
            .wrapping_mul(0x0000_0100_0000_01b3)
            .rotate_left(5);
    }
    Fingerprint(format!("{a:016x}{b:016x}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_requests_share_a_fingerprint_and_different_ones_do_not() {
        assert_eq!(fingerprint(&(1, "a")), fingerprint(&(1, "a")));
        assert_ne!(fingerprint(&(1, "a")), fingerprint(&(2, "a")));
        assert_ne!(fingerprint(&(1, "a")), fingerprint(&(1, "b")));
        assert_eq!(fingerprint(&0).0.len(), 32);
    }
}
