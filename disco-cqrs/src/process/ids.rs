//! The ids a process manager derives, so that an event delivered again
//! produces the same step, the same commands and the same events, and the
//! store's idempotent retry (rule 6) makes every repeat a no-op.

use disco_core::Uuid;

/// What a derived id is for; part of what it is derived from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// The step an event made an instance take.
    Step = 1,
    /// The `index`-th command decided for an event.
    Command = 2,
    /// The record of the `index`-th command's refusal.
    Refused = 3,
    /// The `index`-th command making up for a refused one.
    Compensation = 4,
}

/// A stable id from the process manager's name, the event (or command) it
/// is derived from, a purpose and an index: FNV-1a over all of them, twice
/// with different offsets, as a version-8 UUID. Stable across builds and
/// releases (no `std` hasher, whose output may change).
pub(crate) fn derive(process: &str, from: Uuid, purpose: Purpose, index: u64) -> Uuid {
    let fnv = |offset: u64| {
        let mut hash = offset;
        let mut eat = |bytes: &[u8]| {
            for byte in bytes {
                hash ^= u64::from(*byte);
                hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            }
        };
        eat(process.as_bytes());
        eat(&[0]);
        eat(from.as_bytes());
        eat(&[purpose as u8]);
        eat(&index.to_le_bytes());
        hash
    };
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&fnv(0xcbf2_9ce4_8422_2325).to_be_bytes());
    bytes[8..].copy_from_slice(&fnv(0x6c62_272e_07bb_0142).to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Uuid::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        let e = Uuid::from_u128(42);
        let a = derive("transfers", e, Purpose::Command, 0);
        assert_eq!(a, derive("transfers", e, Purpose::Command, 0));
        assert_ne!(a, derive("transfers", e, Purpose::Command, 1));
        assert_ne!(a, derive("transfers", e, Purpose::Step, 0));
        assert_ne!(a, derive("other", e, Purpose::Command, 0));
        assert_ne!(
            a,
            derive("transfers", Uuid::from_u128(43), Purpose::Command, 0)
        );
        // Pinned: a release that changed this would re-dispatch old commands.
        assert_eq!(
            derive("p", Uuid::nil(), Purpose::Step, 0).to_string(),
            "e577d2c8-8358-8a54-8968-cdad5fdcc0b9"
        );
    }
}
