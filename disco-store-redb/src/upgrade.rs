//! The format upgrades of a redb file, one function per step (listed in
//! `tables::UPGRADES`). Each runs inside the open's upgrade transaction.

use redb::{ReadableTable, TableDefinition, WriteTransaction};

use crate::errors::db_error;
use crate::tables::{EVENTS, TAGS, TYPES};

/// A stored event as format 1 laid it out: (stream id, version, event id,
/// event type, data, metadata, recorded_at in µs).
type EventRowV1 = (
    &'static str,
    u64,
    u128,
    &'static str,
    &'static [u8],
    &'static [u8],
    i64,
);

/// Format 1's events table.
const EVENTS_V1: TableDefinition<u64, EventRowV1> = TableDefinition::new("disco_events");

/// Format 1 to 2 (tags): every event moves, byte for byte and without tags,
/// into the events table of format 2, whose rows end with the tags; the type
/// index gets an entry per event, the tag index starts empty.
pub(crate) fn to_format_2(txn: &WriteTransaction) -> disco_core::Result<()> {
    {
        let old = txn.open_table(EVENTS_V1).map_err(db_error)?;
        let mut events = txn.open_table(EVENTS).map_err(db_error)?;
        let mut types = txn.open_table(TYPES).map_err(db_error)?;
        txn.open_table(TAGS).map_err(db_error)?;
        for entry in old.iter().map_err(db_error)? {
            let (position, row) = entry.map_err(db_error)?;
            let position = position.value();
            let (stream, version, id, event_type, data, metadata, recorded_at) = row.value();
            events
                .insert(
                    position,
                    (
                        stream,
                        version,
                        id,
                        event_type,
                        data,
                        metadata,
                        recorded_at,
                        "",
                    ),
                )
                .map_err(db_error)?;
            types.insert((event_type, position), ()).map_err(db_error)?;
        }
    }
    txn.delete_table(EVENTS_V1).map_err(db_error)?;
    Ok(())
}
