//! The tables of a disco redb file, one per access path, and the format
//! version.
//!
//! Invariants (kept by the writer, in one write transaction per batch):
//! - `EVENTS[p]` is the event at position `p`; positions are assigned in
//!   commit order by the only writer and never reused;
//! - `STREAM_EVENTS[(s, v)] = p` for every stored event of stream `s` at
//!   version `v`; `EVENT_IDS[id] = p` for every stored event id;
//! - `STREAMS[s] = (version, state)` for every stream ever written or deleted
//!   (state 0 active, 1 soft-deleted, 2 hard-deleted);
//! - `META["head"]` is the head as of the last hard delete; the head is the
//!   larger of it and the last key of `EVENTS`.

use redb::TableDefinition;

/// The file format this library writes and reads.
pub const FORMAT_VERSION: u64 = 1;

/// A stored event: (stream id, version, event id, event type, data,
/// metadata, recorded_at in µs).
pub(crate) type EventRow = (
    &'static str,
    u64,
    u128,
    &'static str,
    &'static [u8],
    &'static [u8],
    i64,
);

/// position -> event
pub(crate) const EVENTS: TableDefinition<u64, EventRow> = TableDefinition::new("disco_events");
/// (stream id, version) -> position
pub(crate) const STREAM_EVENTS: TableDefinition<(&str, u64), u64> =
    TableDefinition::new("disco_stream_events");
/// event id -> position
pub(crate) const EVENT_IDS: TableDefinition<u128, u64> = TableDefinition::new("disco_event_ids");
/// stream id -> (version, state)
pub(crate) const STREAMS: TableDefinition<&str, (u64, u8)> = TableDefinition::new("disco_streams");
/// stream id -> (version, data)
pub(crate) const SNAPSHOTS: TableDefinition<&str, (u64, &[u8])> =
    TableDefinition::new("disco_snapshots");
/// consumer name -> position
pub(crate) const CHECKPOINTS: TableDefinition<&str, u64> =
    TableDefinition::new("disco_checkpoints");
/// "format_version", "head"
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("disco_meta");

pub(crate) use disco_backend::stream_state::{
    ACTIVE as STATE_ACTIVE, HARD_DELETED as STATE_HARD_DELETED, SOFT_DELETED as STATE_SOFT_DELETED,
};
