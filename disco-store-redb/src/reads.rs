//! Every read, over any table that can be read (a read transaction's, or the
//! writer's own while it decides an append).

use std::ops::Bound;

use disco_backend::query_plan::{run_sync, Fetch, QueryPlan, Source};
use disco_backend::EventLocation;
use disco_core::{
    Checkpoint, Error, EventFilter, Query, QueryRead, ReadDirection, RecordedEvent, Result,
    Snapshot, StreamId, StreamInfo, StreamState, Uuid,
};
use redb::{ReadTransaction, ReadableTable};

use crate::errors::db_error;
use crate::tables::*;

use disco_backend::stream_state::state_of;

fn stream_id(text: &str) -> Result<StreamId> {
    StreamId::new(text).map_err(|e| Error::Backend(format!("corrupt stream id in the file: {e}")))
}

/// The event at `position` of `events`, decoded.
pub(crate) fn event_at(
    events: &impl ReadableTable<u64, EventRow>,
    position: u64,
) -> Result<Option<RecordedEvent>> {
    match events.get(position).map_err(db_error)? {
        None => Ok(None),
        Some(guard) => decode(position, StoredEvent::of(guard.value())).map(Some),
    }
}

/// A stored row as a recorded event.
fn decode(position: u64, row: StoredEvent<'_>) -> Result<RecordedEvent> {
    Ok(row.to_recorded(position, stream_id(row.stream_id)?))
}

/// A stream's version and state, `None` if never written.
pub(crate) fn stream_row(
    streams: &impl ReadableTable<&'static str, (u64, u8)>,
    stream: &StreamId,
) -> Result<Option<(u64, StreamState)>> {
    match streams.get(stream.as_str()).map_err(db_error)? {
        None => Ok(None),
        Some(guard) => {
            let (version, state) = guard.value();
            Ok(Some((version, state_of(state)?)))
        }
    }
}

/// The version of a live stream; `StreamDeleted` for a deleted one.
pub(crate) fn live_version(
    streams: &impl ReadableTable<&'static str, (u64, u8)>,
    stream: &StreamId,
) -> Result<u64> {
    match stream_row(streams, stream)? {
        None => Ok(0),
        Some((version, StreamState::Active)) => Ok(version),
        Some(_) => Err(Error::StreamDeleted {
            stream: stream.clone(),
        }),
    }
}

/// Where an event id sits.
pub(crate) fn locate(
    ids: &impl ReadableTable<u128, u64>,
    events: &impl ReadableTable<u64, EventRow>,
    id: Uuid,
) -> Result<Option<EventLocation>> {
    let Some(position) = ids.get(id.as_u128()).map_err(db_error)?.map(|g| g.value()) else {
        return Ok(None);
    };
    let event = event_at(events, position)?.ok_or_else(|| {
        Error::Backend(format!(
            "event id {id} points at missing position {position}"
        ))
    })?;
    Ok(Some(EventLocation {
        id,
        stream_id: event.stream_id,
        version: event.version,
        position,
    }))
}

/// The head position.
pub(crate) fn head(txn: &ReadTransaction) -> Result<u64> {
    let events = txn.open_table(EVENTS).map_err(db_error)?;
    let meta = txn.open_table(META).map_err(db_error)?;
    let last = events
        .last()
        .map_err(db_error)?
        .map_or(0, |(k, _)| k.value());
    let recorded = meta.get("head").map_err(db_error)?.map_or(0, |g| g.value());
    Ok(last.max(recorded))
}

pub(crate) fn read_stream(
    txn: &ReadTransaction,
    stream: &StreamId,
    from: u64,
    direction: ReadDirection,
    limit: usize,
) -> Result<Vec<RecordedEvent>> {
    let streams = txn.open_table(STREAMS).map_err(db_error)?;
    if live_version(&streams, stream)? == 0 || limit == 0 {
        return Ok(Vec::new());
    }
    let index = txn.open_table(STREAM_EVENTS).map_err(db_error)?;
    let events = txn.open_table(EVENTS).map_err(db_error)?;
    let s = stream.as_str();
    let range = match direction {
        ReadDirection::Forward => index
            .range((s, from.max(1))..=(s, u64::MAX))
            .map_err(db_error)?,
        ReadDirection::Backward => {
            if from == 0 {
                return Ok(Vec::new());
            }
            index.range((s, 1)..=(s, from)).map_err(db_error)?
        }
    };
    let positions: Box<dyn Iterator<Item = _>> = match direction {
        ReadDirection::Forward => Box::new(range),
        ReadDirection::Backward => Box::new(range.rev()),
    };
    let mut out = Vec::new();
    for entry in positions.take(limit) {
        let (_, position) = entry.map_err(db_error)?;
        let position = position.value();
        out.push(event_at(&events, position)?.ok_or_else(|| {
            Error::Backend(format!(
                "stream index points at missing position {position}"
            ))
        })?);
    }
    Ok(out)
}

pub(crate) fn read_all(
    txn: &ReadTransaction,
    after: u64,
    limit: usize,
    filter: &EventFilter,
) -> Result<Vec<RecordedEvent>> {
    let Some(start) = after.checked_add(1) else {
        return Ok(Vec::new());
    };
    let events = txn.open_table(EVENTS).map_err(db_error)?;
    let mut out = Vec::new();
    if limit == 0 {
        return Ok(out);
    }
    for entry in events.range(start..).map_err(db_error)? {
        let (position, row) = entry.map_err(db_error)?;
        let row = StoredEvent::of(row.value());
        if !filter.matches(row.stream_id, row.event_type) {
            continue;
        }
        out.push(decode(position.value(), row)?);
        if out.len() == limit {
            break;
        }
    }
    Ok(out)
}

/// `read_query` in the read transaction `txn`.
pub(crate) fn read_query(
    txn: &ReadTransaction,
    query: &Query,
    after: u64,
    limit: usize,
) -> Result<QueryRead> {
    let head = head(txn)?;
    let (events, tags, types) = (
        txn.open_table(EVENTS).map_err(db_error)?,
        txn.open_table(TAGS).map_err(db_error)?,
        txn.open_table(TYPES).map_err(db_error)?,
    );
    let tables = QueryTables {
        events: &events,
        tags: &tags,
        types: &types,
    };
    run_sync(QueryPlan::new(query, after, limit, head), |f| {
        tables.fetch(f)
    })
}

/// The tables a query plan reads (a read transaction's or the writer's).
pub(crate) struct QueryTables<'a, E, T, Y> {
    pub events: &'a E,
    pub tags: &'a T,
    pub types: &'a Y,
}

impl<E, T, Y> QueryTables<'_, E, T, Y>
where
    E: ReadableTable<u64, EventRow>,
    T: ReadableTable<(&'static str, u64), ()>,
    Y: ReadableTable<(&'static str, u64), ()>,
{
    /// The position of the first event breaking `condition` at or below
    /// `head`.
    pub(crate) fn first_match(
        &self,
        condition: &disco_core::AppendCondition,
        head: u64,
    ) -> Result<Option<u64>> {
        let plan = disco_backend::query_plan::condition_plan(condition, head);
        let read = run_sync(plan, |f| self.fetch(f))?;
        Ok(read.events.first().map(|e| e.position))
    }

    /// One chunk of a query plan.
    pub(crate) fn fetch(&self, fetch: &Fetch) -> Result<Vec<RecordedEvent>> {
        let mut out = Vec::new();
        let Some(start) = fetch.after.checked_add(1) else {
            return Ok(out);
        };
        if start > fetch.until || fetch.limit == 0 {
            return Ok(out);
        }
        match &fetch.source {
            Source::Tag(tag) => self.scan(self.tags, tag, start, fetch),
            Source::Type(event_type) => self.scan(self.types, event_type, start, fetch),
            Source::All => {
                for entry in self.events.range(start..=fetch.until).map_err(db_error)? {
                    let (position, row) = entry.map_err(db_error)?;
                    out.push(decode(position.value(), StoredEvent::of(row.value()))?);
                    if out.len() == fetch.limit {
                        break;
                    }
                }
                Ok(out)
            }
        }
    }

    /// The events of `index`'s entries under `key`, from `start`.
    fn scan(
        &self,
        index: &impl ReadableTable<(&'static str, u64), ()>,
        key: &str,
        start: u64,
        fetch: &Fetch,
    ) -> Result<Vec<RecordedEvent>> {
        let mut out = Vec::new();
        for entry in index
            .range((key, start)..=(key, fetch.until))
            .map_err(db_error)?
        {
            let (entry, _) = entry.map_err(db_error)?;
            let (_, position) = entry.value();
            if let Some(event) = event_at(self.events, position)? {
                out.push(event);
            }
            if out.len() == fetch.limit {
                break;
            }
        }
        Ok(out)
    }
}

pub(crate) fn read_all_backward(
    txn: &ReadTransaction,
    from: u64,
    limit: usize,
) -> Result<Vec<RecordedEvent>> {
    let events = txn.open_table(EVENTS).map_err(db_error)?;
    let mut out = Vec::new();
    if limit == 0 {
        return Ok(out);
    }
    for entry in events.range(..=from).map_err(db_error)?.rev() {
        let (position, row) = entry.map_err(db_error)?;
        out.push(decode(position.value(), StoredEvent::of(row.value()))?);
        if out.len() == limit {
            break;
        }
    }
    Ok(out)
}

pub(crate) fn stream_version(txn: &ReadTransaction, stream: &StreamId) -> Result<u64> {
    let streams = txn.open_table(STREAMS).map_err(db_error)?;
    live_version(&streams, stream)
}

pub(crate) fn list_streams(
    txn: &ReadTransaction,
    prefix: &str,
    after: Option<&StreamId>,
    limit: usize,
) -> Result<Vec<StreamInfo>> {
    let streams = txn.open_table(STREAMS).map_err(db_error)?;
    let lower = match after {
        Some(after) if after.as_str() >= prefix => Bound::Excluded(after.as_str()),
        _ => Bound::Included(prefix),
    };
    let mut out = Vec::new();
    for entry in streams
        .range::<&str>((lower, Bound::Unbounded))
        .map_err(db_error)?
    {
        if out.len() == limit {
            break;
        }
        let (id, row) = entry.map_err(db_error)?;
        let id = id.value();
        if !id.starts_with(prefix) {
            break;
        }
        let (version, state) = row.value();
        out.push(StreamInfo {
            stream_id: stream_id(id)?,
            version,
            state: state_of(state)?,
        });
    }
    Ok(out)
}

pub(crate) fn load_snapshot(txn: &ReadTransaction, stream: &StreamId) -> Result<Option<Snapshot>> {
    let streams = txn.open_table(STREAMS).map_err(db_error)?;
    live_version(&streams, stream)?;
    let snapshots = txn.open_table(SNAPSHOTS).map_err(db_error)?;
    Ok(snapshots.get(stream.as_str()).map_err(db_error)?.map(|g| {
        let (version, data) = g.value();
        Snapshot {
            stream_id: stream.clone(),
            version,
            data: data.to_vec(),
        }
    }))
}

pub(crate) fn load_checkpoint(txn: &ReadTransaction, name: &str) -> Result<Option<u64>> {
    let checkpoints = txn.open_table(CHECKPOINTS).map_err(db_error)?;
    Ok(checkpoints.get(name).map_err(db_error)?.map(|g| g.value()))
}

pub(crate) fn list_checkpoints(txn: &ReadTransaction) -> Result<Vec<Checkpoint>> {
    let checkpoints = txn.open_table(CHECKPOINTS).map_err(db_error)?;
    checkpoints
        .iter()
        .map_err(db_error)?
        .map(|entry| {
            let (name, position) = entry.map_err(db_error)?;
            Ok(Checkpoint {
                name: name.value().to_owned(),
                position: position.value(),
            })
        })
        .collect()
}
