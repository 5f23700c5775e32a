//! FNV-1a, 64 bits: stable across processes, platforms and releases (unlike
//! Rust's hasher), for lock keys and migration checksums.

/// The FNV-1a hash of `bytes`.
///
/// ```
/// use disco::backend::checksum::{fnv1a, hex};
/// assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
/// assert_eq!(hex(b"a"), "af63dc4c8601ec8c");
/// ```
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// [`fnv1a`] as 16 lower-case hex digits: how migration checksums are stored.
pub fn hex(bytes: &[u8]) -> String {
    format!("{:016x}", fnv1a(bytes))
}
