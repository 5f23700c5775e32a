//! Every read, as a function of a connection. They run on the reader pool
//! (file stores) or on the writer's connection (in-memory stores).

use disco_backend::query_plan::{condition_plan, run_sync, Fetch, QueryPlan, Source};
use disco_core::{
    AppendCondition, Checkpoint, Error, EventFilter, Query, QueryRead, ReadDirection,
    RecordedEvent, Result, Snapshot, StreamId, StreamInfo, StreamState,
};
use rusqlite::{params, Connection, OptionalExtension};

use crate::errors::{db_error, sql_int, sql_limit, stored_u64};
use crate::event_row::{columns_of, EventRow};

const READ_STREAM_FORWARD: &str = include_str!("sql/read_stream_forward.sql");
const READ_STREAM_BACKWARD: &str = include_str!("sql/read_stream_backward.sql");
const READ_ALL: &str = include_str!("sql/read_all.sql");
const READ_ALL_FILTERED: &str = include_str!("sql/read_all_filtered.sql");
const READ_ALL_BACKWARD: &str = include_str!("sql/read_all_backward.sql");
const STREAM_STATUS: &str = include_str!("sql/stream_status.sql");
const READ_HEAD: &str = include_str!("sql/read_head.sql");
const LIST_STREAMS: &str = include_str!("sql/list_streams.sql");
const LOAD_SNAPSHOT: &str = include_str!("sql/load_snapshot.sql");
const LOAD_CHECKPOINT: &str = include_str!("sql/load_checkpoint.sql");
const LIST_CHECKPOINTS: &str = include_str!("sql/list_checkpoints.sql");
const QUERY_BY_TAG: &str = include_str!("sql/query_by_tag.sql");
const QUERY_BY_TYPE: &str = include_str!("sql/query_by_type.sql");
const QUERY_ALL: &str = include_str!("sql/query_all.sql");
const TAG_CANDIDATE: &str = include_str!("sql/tag_candidate.sql");
/// The most driving tags [`TAG_CANDIDATE`] takes.
const CANDIDATE_TAGS: usize = 4;

/// `read_query`, in one read transaction: the head, then the plan's chunks.
pub(crate) fn read_query(
    conn: &Connection,
    query: &Query,
    after: u64,
    limit: usize,
) -> Result<QueryRead> {
    let tx = conn.unchecked_transaction().map_err(db_error)?;
    let head = head(&tx)?;
    run_sync(QueryPlan::new(query, after, limit, head), |f| fetch(&tx, f))
}

/// The position of the first event breaking `condition`, read in the
/// caller's transaction whose head is `head`.
pub(crate) fn first_match(
    conn: &Connection,
    condition: &AppendCondition,
    head: u64,
) -> Result<Option<u64>> {
    if !any_tag_candidate(conn, condition, head)? {
        return Ok(None);
    }
    let read = run_sync(condition_plan(condition, head), |f| fetch(conn, f))?;
    Ok(read.events.first().map(|e| e.position))
}

/// `false` when the condition's items all have tags (at most
/// [`CANDIDATE_TAGS`] distinct first ones) and no event after its position
/// carries any of them: nothing can match, known in one step. `true` when
/// something may match.
fn any_tag_candidate(conn: &Connection, condition: &AppendCondition, head: u64) -> Result<bool> {
    let mut tags: Vec<&str> = Vec::with_capacity(CANDIDATE_TAGS);
    for item in &condition.fail_if_events_match.items {
        let Some(first) = item.tags.first() else {
            return Ok(true);
        };
        if !tags.contains(&first.as_str()) {
            tags.push(first);
        }
    }
    if tags.len() > CANDIDATE_TAGS {
        return Ok(true);
    }
    let tag = |i: usize| tags.get(i).copied();
    conn.prepare_cached(TAG_CANDIDATE)
        .and_then(|mut st| {
            st.exists(params![
                tag(0),
                tag(1),
                tag(2),
                tag(3),
                sql_int(condition.after),
                sql_int(head)
            ])
        })
        .map_err(db_error)
}

/// One chunk of a query plan, from the tag index, the type index or the log.
fn fetch(conn: &Connection, fetch: &Fetch) -> Result<Vec<RecordedEvent>> {
    let (after, until, limit) = (
        sql_int(fetch.after),
        sql_int(fetch.until),
        sql_limit(fetch.limit),
    );
    let (sql, key) = match &fetch.source {
        Source::Tag(tag) => (QUERY_BY_TAG, Some(tag.as_str())),
        Source::Type(event_type) => (QUERY_BY_TYPE, Some(event_type.as_str())),
        Source::All => (QUERY_ALL, None),
    };
    let mut st = conn.prepare_cached(sql).map_err(db_error)?;
    let columns = columns_of(&st).map_err(db_error)?;
    let read = |r: &rusqlite::Row<'_>| EventRow::read(r, &columns);
    match key {
        Some(key) => collect(
            st.query_map(params![key, after, until, limit], read)
                .map_err(db_error)?,
        ),
        None => collect(
            st.query_map(params![after, until, limit], read)
                .map_err(db_error)?,
        ),
    }
}

/// A stream's row: version and state, or `None` if never written.
pub(crate) fn stream_row(
    conn: &Connection,
    stream: &StreamId,
) -> Result<Option<(u64, StreamState)>> {
    let row = conn
        .prepare_cached(STREAM_STATUS)
        .and_then(|mut st| {
            st.query_row([stream.as_str()], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })
            .optional()
        })
        .map_err(db_error)?;
    row.map(|(version, state)| Ok((stored_u64(version, "stream version")?, state_of(state)?)))
        .transpose()
}

use disco_backend::stream_state::state_of;

/// The version of a live stream; `StreamDeleted` for a deleted one.
pub(crate) fn live_version(conn: &Connection, stream: &StreamId) -> Result<u64> {
    match stream_row(conn, stream)? {
        None => Ok(0),
        Some((version, StreamState::Active)) => Ok(version),
        Some(_) => Err(Error::StreamDeleted {
            stream: stream.clone(),
        }),
    }
}

/// The stored head position.
pub(crate) fn head(conn: &Connection) -> Result<u64> {
    let value: i64 = conn
        .prepare_cached(READ_HEAD)
        .and_then(|mut st| st.query_row([], |r| r.get(0)))
        .map_err(db_error)?;
    stored_u64(value, "head position")
}

fn collect(rows: impl Iterator<Item = rusqlite::Result<EventRow>>) -> Result<Vec<RecordedEvent>> {
    rows.map(|row| row.map_err(db_error)?.into_recorded())
        .collect()
}

/// `read_stream`, in one read transaction so the state check and the events
/// agree.
pub(crate) fn read_stream(
    conn: &Connection,
    stream: &StreamId,
    from: u64,
    direction: ReadDirection,
    limit: usize,
) -> Result<Vec<RecordedEvent>> {
    let tx = conn.unchecked_transaction().map_err(db_error)?;
    if live_version(&tx, stream)? == 0 || limit == 0 {
        return Ok(Vec::new());
    }
    let sql = match direction {
        ReadDirection::Forward => READ_STREAM_FORWARD,
        ReadDirection::Backward => READ_STREAM_BACKWARD,
    };
    let mut st = tx.prepare_cached(sql).map_err(db_error)?;
    let columns = columns_of(&st).map_err(db_error)?;
    let rows = st
        .query_map(
            params![stream.as_str(), sql_int(from), sql_limit(limit)],
            |row| EventRow::read(row, &columns),
        )
        .map_err(db_error)?;
    collect(rows)
}

/// `read_all_filtered`.
pub(crate) fn read_all(
    conn: &Connection,
    after: u64,
    limit: usize,
    filter: &EventFilter,
) -> Result<Vec<RecordedEvent>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    if filter.is_empty() {
        let mut st = conn.prepare_cached(READ_ALL).map_err(db_error)?;
        let columns = columns_of(&st).map_err(db_error)?;
        let rows = st
            .query_map(params![sql_int(after), sql_limit(limit)], |row| {
                EventRow::read(row, &columns)
            })
            .map_err(db_error)?;
        return collect(rows);
    }
    let types = (!filter.event_types.is_empty()).then(|| json_array(&filter.event_types));
    // The partition is kept in SQLite (`disco_partition`), so only its rows
    // are decoded.
    let (count, index) = filter
        .partition
        .map_or((None, None), |p| (Some(p.count.max(1)), Some(p.index)));
    let mut st = conn.prepare_cached(READ_ALL_FILTERED).map_err(db_error)?;
    let columns = columns_of(&st).map_err(db_error)?;
    let rows = st
        .query_map(
            params![
                sql_int(after),
                sql_limit(limit),
                filter.stream_prefix,
                types,
                count,
                index
            ],
            |row| EventRow::read(row, &columns),
        )
        .map_err(db_error)?;
    collect(rows)
}

/// `read_all_backward`.
pub(crate) fn read_all_backward(
    conn: &Connection,
    from: u64,
    limit: usize,
) -> Result<Vec<RecordedEvent>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let mut st = conn.prepare_cached(READ_ALL_BACKWARD).map_err(db_error)?;
    let columns = columns_of(&st).map_err(db_error)?;
    let rows = st
        .query_map(params![sql_int(from), sql_limit(limit)], |row| {
            EventRow::read(row, &columns)
        })
        .map_err(db_error)?;
    collect(rows)
}

/// A JSON array of strings, for `json_each` (the types are bound as one
/// parameter, never spliced into SQL).
fn json_array(items: &[String]) -> String {
    let mut out = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        for c in item.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push(']');
    out
}

/// `list_streams`.
pub(crate) fn list_streams(
    conn: &Connection,
    prefix: &str,
    after: Option<&StreamId>,
    limit: usize,
) -> Result<Vec<StreamInfo>> {
    let mut st = conn.prepare_cached(LIST_STREAMS).map_err(db_error)?;
    let rows = st
        .query_map(
            params![prefix, after.map(StreamId::as_str), sql_limit(limit)],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            },
        )
        .map_err(db_error)?;
    let mut out = Vec::new();
    for row in rows {
        let (id, version, state) = row.map_err(db_error)?;
        if !id.starts_with(prefix) {
            break;
        }
        out.push(StreamInfo {
            stream_id: StreamId::new(&id)
                .map_err(|e| Error::Backend(format!("corrupt stream id in the database: {e}")))?,
            version: stored_u64(version, "stream version")?,
            state: state_of(state)?,
        });
    }
    Ok(out)
}

/// `load_snapshot`.
pub(crate) fn load_snapshot(conn: &Connection, stream: &StreamId) -> Result<Option<Snapshot>> {
    let tx = conn.unchecked_transaction().map_err(db_error)?;
    live_version(&tx, stream)?;
    let row = tx
        .prepare_cached(LOAD_SNAPSHOT)
        .and_then(|mut st| {
            st.query_row([stream.as_str()], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .optional()
        })
        .map_err(db_error)?;
    row.map(|(version, data)| {
        Ok(Snapshot {
            stream_id: stream.clone(),
            version: stored_u64(version, "snapshot version")?,
            data,
        })
    })
    .transpose()
}

/// `load_checkpoint`. Checkpoints are stored as the `i64` with the same bits,
/// so every `u64` round-trips.
pub(crate) fn load_checkpoint(conn: &Connection, name: &str) -> Result<Option<u64>> {
    conn.prepare_cached(LOAD_CHECKPOINT)
        .and_then(|mut st| st.query_row([name], |r| r.get::<_, i64>(0)).optional())
        .map(|p| p.map(|p| p as u64))
        .map_err(db_error)
}

/// `list_checkpoints`.
pub(crate) fn list_checkpoints(conn: &Connection) -> Result<Vec<Checkpoint>> {
    let mut st = conn.prepare_cached(LIST_CHECKPOINTS).map_err(db_error)?;
    let rows = st
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .map_err(db_error)?;
    rows.map(|row| {
        let (name, position) = row.map_err(db_error)?;
        Ok(Checkpoint {
            name,
            position: position as u64,
        })
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::json_array;

    #[test]
    fn json_array_escapes_quotes_backslashes_and_controls() {
        let items = vec!["a".to_string(), "q\"b\\".to_string(), "\u{1}".to_string()];
        assert_eq!(json_array(&items), r#"["a","q\"b\\","\u0001"]"#);
    }
}
