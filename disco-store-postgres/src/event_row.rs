//! The one map between the contract's events and the `events` table: rows
//! read whole (`SELECT *`) and mapped by column name, and the columns a batch
//! binds for `unnest`, in the one order both write paths take. A new stored
//! field is this file, a field of `disco_backend::event_columns::EventColumns`,
//! `write_batch.sql`, and a migration (with a new version of `append_fast`).

use disco_backend::event_columns::EventColumns;
use disco_core::{NewEvent, RecordedEvent, Result, StreamId, Timestamp, Uuid};
use sqlx::postgres::PgRow;
use sqlx::{Column, Row};

use crate::errors::{db_error, sql_int, stored_u64};
use crate::reads::stream_id;

/// The columns of `row`'s result, found by name once: a name lookup per
/// column per row (a hash of the name and a type check each) is a
/// measurable part of a page's decoding.
fn columns_of(row: &PgRow) -> Result<EventColumns> {
    EventColumns::find(|name| row.try_column(name).map(Column::ordinal).map_err(db_error))
}

/// The event in `row`, a row of the result `columns` were found in.
fn event_at(columns: &EventColumns, row: &PgRow) -> Result<RecordedEvent> {
    let get = |e: sqlx::Error| db_error(e);
    Ok(RecordedEvent {
        position: stored_u64(row.try_get(columns.position).map_err(get)?, "position")?,
        stream_id: stream_id(row.try_get(columns.stream_id).map_err(get)?)?,
        version: stored_u64(row.try_get(columns.version).map_err(get)?, "version")?,
        id: row.try_get::<Uuid, _>(columns.event_id).map_err(get)?,
        event_type: row.try_get(columns.event_type).map_err(get)?,
        data: row.try_get(columns.data).map_err(get)?,
        metadata: row.try_get(columns.metadata).map_err(get)?,
        recorded_at: Timestamp::from_micros(row.try_get(columns.recorded_at).map_err(get)?),
        tags: disco_backend::stored_tags::decode(row.try_get(columns.tags).map_err(get)?),
    })
}

/// The events of `rows`, rows of one result each holding a whole `events`
/// row.
pub(crate) fn events(rows: &[PgRow]) -> Result<Vec<RecordedEvent>> {
    decode_rows(rows, false)
}

/// The events of `rows`, rows of one result of a join that may hold no
/// event (a row whose `event_id` is NULL holds none).
pub(crate) fn joined_events(rows: &[PgRow]) -> Result<Vec<RecordedEvent>> {
    decode_rows(rows, true)
}

fn decode_rows(rows: &[PgRow], joined: bool) -> Result<Vec<RecordedEvent>> {
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let columns = columns_of(first)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        if joined {
            let id: Option<Uuid> = row.try_get(columns.event_id).map_err(db_error)?;
            if id.is_none() {
                continue;
            }
        }
        out.push(event_at(&columns, row)?);
    }
    Ok(out)
}

/// Binds the event columns of a batch, in the one order both the fast path
/// (`append_fast`, migration 0002) and `write_batch.sql` take them: stream,
/// version, id, type, data, metadata, recorded_at. A new stored field is a
/// field of [`Columns`], a line here, and the statements.
macro_rules! bind_event_columns {
    ($query:expr, $columns:expr) => {
        $query
            .bind(&$columns.streams)
            .bind(&$columns.versions)
            .bind(&$columns.ids)
            .bind(&$columns.types)
            .bind(&$columns.data)
            .bind(&$columns.metadata)
            .bind(&$columns.recorded_at)
    };
}
pub(crate) use bind_event_columns;

/// The rows the batch writes, as the columns `unnest` takes.
#[derive(Default)]
pub(crate) struct Columns {
    pub(crate) positions: Vec<i64>,
    pub(crate) streams: Vec<String>,
    pub(crate) versions: Vec<i64>,
    pub(crate) ids: Vec<Uuid>,
    pub(crate) types: Vec<String>,
    pub(crate) data: Vec<Vec<u8>>,
    pub(crate) metadata: Vec<Vec<u8>>,
    pub(crate) recorded_at: Vec<Option<i64>>,
    /// Each event's tags as stored (`write_batch.sql` only: the fast path
    /// takes no tagged event).
    pub(crate) tags: Vec<String>,
    /// One (tag, position) per tag of the batch, for the tag index.
    pub(crate) tag_index: (Vec<String>, Vec<i64>),
}

impl Columns {
    /// The position of the first event of these columns (a batch's, decided
    /// so far) that breaks `condition`.
    pub(crate) fn first_match(&self, condition: &disco_core::AppendCondition) -> Option<u64> {
        let query = &condition.fail_if_events_match;
        (0..self.ids.len()).find_map(|i| {
            let position = u64::try_from(*self.positions.get(i)?).ok()?;
            let tags = disco_backend::stored_tags::decode(self.tags.get(i)?);
            (position > condition.after && query.matches(self.types.get(i)?, &tags))
                .then_some(position)
        })
    }

    pub(crate) fn push(
        &mut self,
        stream: &StreamId,
        version: u64,
        position: u64,
        event: &NewEvent,
    ) {
        self.positions.push(sql_int(position));
        self.streams.push(stream.as_str().to_owned());
        self.versions.push(sql_int(version));
        self.ids.push(event.id);
        self.types.push(event.event_type.clone());
        self.data.push(event.data.clone());
        self.metadata.push(event.metadata.clone());
        self.recorded_at
            .push(event.recorded_at.map(|t| t.as_micros()));
        self.tags
            .push(disco_backend::stored_tags::encode(&event.tags));
        for tag in &event.tags {
            self.tag_index.0.push(tag.clone());
            self.tag_index.1.push(sql_int(position));
        }
    }
}
