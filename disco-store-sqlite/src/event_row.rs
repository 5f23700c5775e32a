//! The one map between the contract's events and a `disco_events` row.
//! Reads select whole rows (`SELECT *`) and find their columns by name here,
//! once per statement ([`columns_of`]: a name lookup per column per row
//! cost reads a third of their speed); the insert binds its parameters by
//! name here. A new stored field is this file, a field of
//! `disco_backend::event_columns::EventColumns`, a migration and
//! `insert_event.sql`.

use disco_backend::event_columns::EventColumns;
use disco_core::{Error, NewEvent, RecordedEvent, Result, StreamId, Timestamp, Uuid};
use rusqlite::{named_params, CachedStatement, Row, Statement};

use crate::errors::{sql_int, stored_u64};

/// The columns of `statement`'s rows, found by name once.
pub(crate) fn columns_of(statement: &Statement<'_>) -> rusqlite::Result<EventColumns> {
    EventColumns::find(|name| statement.column_index(name))
}

/// A row of `disco_events` as SQLite gives it, before the contract's checks.
pub(crate) struct EventRow {
    position: i64,
    stream_id: String,
    version: i64,
    event_id: Vec<u8>,
    event_type: String,
    data: Vec<u8>,
    metadata: Vec<u8>,
    recorded_at: i64,
    tags: String,
}

impl EventRow {
    /// Reads a row whose columns are at `columns`.
    pub(crate) fn read(row: &Row<'_>, columns: &EventColumns) -> rusqlite::Result<EventRow> {
        Ok(EventRow {
            position: row.get(columns.position)?,
            stream_id: row.get(columns.stream_id)?,
            version: row.get(columns.version)?,
            event_id: row.get(columns.event_id)?,
            event_type: row.get(columns.event_type)?,
            data: row.get(columns.data)?,
            metadata: row.get(columns.metadata)?,
            recorded_at: row.get(columns.recorded_at)?,
            tags: row.get(columns.tags)?,
        })
    }

    /// The event, checked: a value no append could have stored is corruption.
    pub(crate) fn into_recorded(self) -> Result<RecordedEvent> {
        Ok(RecordedEvent {
            id: Uuid::from_slice(&self.event_id)
                .map_err(|_| Error::Backend("corrupt event id in the database".into()))?,
            stream_id: StreamId::new(&self.stream_id)
                .map_err(|e| Error::Backend(format!("corrupt stream id in the database: {e}")))?,
            version: stored_u64(self.version, "event version")?,
            position: stored_u64(self.position, "event position")?,
            event_type: self.event_type,
            data: self.data,
            metadata: self.metadata,
            recorded_at: Timestamp::from_micros(self.recorded_at),
            tags: disco_backend::stored_tags::decode(&self.tags),
        })
    }

    /// Inserts `event` into `stream` at `(position, version)` with the
    /// prepared `insert_event.sql`; `now` stamps an event without a time.
    pub(crate) fn insert(
        insert: &mut CachedStatement<'_>,
        stream: &StreamId,
        (position, version): (u64, u64),
        event: &NewEvent,
        now: Timestamp,
    ) -> rusqlite::Result<()> {
        insert.execute(named_params! {
            ":position": sql_int(position),
            ":stream_id": stream.as_str(),
            ":version": sql_int(version),
            ":event_id": &event.id.as_bytes()[..],
            ":event_type": event.event_type,
            ":data": event.data,
            ":metadata": event.metadata,
            ":recorded_at": event.recorded_at.unwrap_or(now).as_micros(),
            ":tags": disco_backend::stored_tags::encode(&event.tags),
        })?;
        Ok(())
    }
}
