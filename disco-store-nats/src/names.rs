//! Where everything of a store lives: two JetStream streams named from the
//! store's name, and one subject layout.
//!
//! | subject (under `disco.{store}.`) | stream | holds |
//! |---|---|---|
//! | `e.{hex(stream id)}` | events | the stream's events, and its delete marker |
//! | `i.{event id}` | events | the id's claim: where the event went (rule 6) |
//! | `g` | events | short-lived guards (a delete's check of the head) |
//! | `m.cp.{hex(name)}` | meta | a checkpoint |
//! | `m.sn.{hex(stream id)}` | meta | a snapshot |
//! | `m.ls.{hex(name)}` | meta | a lease's holder (expires with its TTL) |
//! | `m.fe.{hex(name)}` | meta | a lease's fence: its sequence is the token |
//!
//! Ids are hex-encoded, so any stream id or name is a valid subject token.

use disco_core::{Error, Result, StreamId, Uuid};

/// The names of one store.
#[derive(Clone, Debug)]
pub(crate) struct Names {
    /// `disco.{store}`.
    root: String,
    /// The events stream.
    pub events: String,
    /// The meta stream (checkpoints, snapshots, leases).
    pub meta: String,
}

/// Checks a store name: 1 to 32 ASCII letters, digits, `-` or `_` (it
/// becomes part of stream names and subjects).
pub(crate) fn check_store_name(name: &str) -> Result<()> {
    let fine = !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if fine {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "NATS store name {name:?}: 1 to 32 ASCII letters, digits, '-' or '_'"
        )))
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len().saturating_mul(2));
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let bytes = text.as_bytes();
    if bytes.len().checked_rem(2) != Some(0) || text.bytes().any(|c| c.is_ascii_uppercase()) {
        return None;
    }
    bytes
        .chunks(2)
        .map(|pair| match pair {
            [high, low] => Some((digit(*high)? << 4) | digit(*low)?),
            _ => None,
        })
        .collect()
}

impl Names {
    pub(crate) fn new(store: &str) -> Result<Self> {
        check_store_name(store)?;
        // The name as it is: one store name, one pair of stream names.
        Ok(Names {
            root: format!("disco.{store}"),
            events: format!("DISCO_E_{store}"),
            meta: format!("DISCO_M_{store}"),
        })
    }

    /// Every claim's subject.
    pub(crate) fn claims_subjects(&self) -> String {
        format!("{}.i.>", self.root)
    }

    /// Everything of the events stream but the meta subjects.
    pub(crate) fn event_streams(&self) -> String {
        format!("{}.e.>", self.root)
    }

    pub(crate) fn meta_subjects(&self) -> String {
        format!("{}.m.>", self.root)
    }

    pub(crate) fn stream(&self, stream: &StreamId) -> String {
        format!("{}.e.{}", self.root, hex(stream.as_str().as_bytes()))
    }

    /// The stream id a subject of [`Names::stream`] names.
    pub(crate) fn stream_of(&self, subject: &str) -> Option<StreamId> {
        let hexed = subject.strip_prefix(&self.root)?.strip_prefix(".e.")?;
        let id = String::from_utf8(unhex(hexed)?).ok()?;
        StreamId::new(id).ok()
    }

    pub(crate) fn claim(&self, id: Uuid) -> String {
        format!("{}.i.{}", self.root, id.simple())
    }

    pub(crate) fn guard(&self) -> String {
        format!("{}.g", self.root)
    }

    pub(crate) fn checkpoint(&self, name: &str) -> String {
        format!("{}.m.cp.{}", self.root, hex(name.as_bytes()))
    }

    pub(crate) fn checkpoints(&self) -> String {
        format!("{}.m.cp.>", self.root)
    }

    pub(crate) fn checkpoint_of(&self, subject: &str) -> Option<String> {
        let hexed = subject.strip_prefix(&self.root)?.strip_prefix(".m.cp.")?;
        String::from_utf8(unhex(hexed)?).ok()
    }

    pub(crate) fn snapshot(&self, stream: &StreamId) -> String {
        format!("{}.m.sn.{}", self.root, hex(stream.as_str().as_bytes()))
    }

    pub(crate) fn lease(&self, name: &str) -> String {
        format!("{}.m.ls.{}", self.root, hex(name.as_bytes()))
    }

    pub(crate) fn fence(&self, name: &str) -> String {
        format!("{}.m.fe.{}", self.root, hex(name.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_ids_round_trip_through_subjects() {
        let names = Names::new("t1").unwrap();
        for id in ["a", "wallet-42", "é.*>$ x", "x".repeat(255).as_str()] {
            let stream = StreamId::new(id).unwrap();
            assert_eq!(names.stream_of(&names.stream(&stream)), Some(stream));
        }
        assert!(Names::new("a.b").is_err());
        // Distinct store names never share a stream.
        assert_ne!(
            Names::new("a-b").unwrap().events,
            Names::new("a_b").unwrap().events
        );
        assert_ne!(
            Names::new("x").unwrap().meta,
            Names::new("M_x").unwrap().events
        );
        assert!(Names::new("").is_err());
    }
}
