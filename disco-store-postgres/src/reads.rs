//! Every read, on the pool.

use disco_backend::query_plan::{condition_plan, QueryPlan, Source};
use disco_core::{
    AppendCondition, Checkpoint, Error, EventFilter, Query, QueryRead, ReadDirection,
    RecordedEvent, Result, Snapshot, StreamId, StreamInfo, StreamLoad, StreamState,
};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Postgres, Row};

use crate::errors::{db_error, sql_int, sql_limit, stored_u64};
use crate::event_row::{events, joined_events};
use crate::sql::Statements;

pub(crate) use disco_backend::stream_state::state_of;

pub(crate) fn stream_id(text: &str) -> Result<StreamId> {
    StreamId::new(text)
        .map_err(|e| Error::Backend(format!("corrupt stream id in the database: {e}")))
}

/// A stream's version and state, `None` if never written.
pub(crate) async fn stream_row<'e, E>(
    executor: E,
    st: &Statements,
    stream: &StreamId,
) -> Result<Option<(u64, StreamState)>>
where
    E: sqlx::Executor<'e, Database = Postgres>,
{
    let row = sqlx::query(st.stream_status.clone())
        .bind(stream.as_str())
        .fetch_optional(executor)
        .await
        .map_err(db_error)?;
    row.map(|r| {
        let version: i64 = r.try_get(0).map_err(db_error)?;
        let state: i16 = r.try_get(1).map_err(db_error)?;
        Ok((stored_u64(version, "stream version")?, state_of(state)?))
    })
    .transpose()
}

/// The version of a live stream; `StreamDeleted` for a deleted one.
pub(crate) async fn live_version<'e, E>(
    executor: E,
    st: &Statements,
    stream: &StreamId,
) -> Result<u64>
where
    E: sqlx::Executor<'e, Database = Postgres>,
{
    match stream_row(executor, st, stream).await? {
        None => Ok(0),
        Some((version, StreamState::Active)) => Ok(version),
        Some(_) => Err(Error::StreamDeleted {
            stream: stream.clone(),
        }),
    }
}

pub(crate) async fn head<'e, E>(executor: E, st: &Statements) -> Result<u64>
where
    E: sqlx::Executor<'e, Database = Postgres>,
{
    let value: i64 = sqlx::query_scalar(st.read_head.clone())
        .fetch_one(executor)
        .await
        .map_err(db_error)?;
    stored_u64(value, "head position")
}

pub(crate) async fn read_stream(
    pool: &PgPool,
    st: &Statements,
    stream: &StreamId,
    from: u64,
    direction: ReadDirection,
    limit: usize,
) -> Result<Vec<RecordedEvent>> {
    if limit == 0 {
        // Still refuse a deleted stream.
        live_version(pool, st, stream).await?;
        return Ok(Vec::new());
    }
    let sql = match direction {
        ReadDirection::Forward => &st.read_stream_forward,
        ReadDirection::Backward => &st.read_stream_backward,
    };
    // One statement: the state check and the events see one snapshot.
    let rows = sqlx::query(sql.clone())
        .bind(stream.as_str())
        .bind(sql_int(from))
        .bind(sql_limit(limit))
        .fetch_all(pool)
        .await
        .map_err(db_error)?;
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    check_live(first, stream)?;
    joined_events(&rows)
}

/// Refuses a deleted stream, from a row's `stream_state` column.
fn check_live(row: &PgRow, stream: &StreamId) -> Result<()> {
    let state: i16 = row.try_get("stream_state").map_err(db_error)?;
    match state_of(state)? {
        StreamState::Active => Ok(()),
        _ => Err(Error::StreamDeleted {
            stream: stream.clone(),
        }),
    }
}

/// The snapshot in a row's `snapshot_version` and `snapshot_data`, if any.
fn snapshot_of(row: &PgRow, stream: &StreamId) -> Result<Option<Snapshot>> {
    let version: Option<i64> = row.try_get("snapshot_version").map_err(db_error)?;
    let Some(version) = version else {
        return Ok(None);
    };
    Ok(Some(Snapshot {
        stream_id: stream.clone(),
        version: stored_u64(version, "snapshot version")?,
        data: row.try_get("snapshot_data").map_err(db_error)?,
    }))
}

/// The snapshot and the events after it, in one statement.
pub(crate) async fn load_stream(
    pool: &PgPool,
    st: &Statements,
    stream: &StreamId,
    limit: usize,
) -> Result<StreamLoad> {
    let rows = sqlx::query(st.load_stream.clone())
        .bind(stream.as_str())
        .bind(sql_limit(limit))
        .fetch_all(pool)
        .await
        .map_err(db_error)?;
    let Some(first) = rows.first() else {
        return Ok(StreamLoad::default());
    };
    check_live(first, stream)?;
    let snapshot = snapshot_of(first, stream)?;
    let events = if limit == 0 {
        Vec::new()
    } else {
        joined_events(&rows)?
    };
    Ok(StreamLoad { snapshot, events })
}

pub(crate) async fn read_all_backward(
    pool: &PgPool,
    st: &Statements,
    from: u64,
    limit: usize,
) -> Result<Vec<RecordedEvent>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(st.read_all_backward.clone())
        .bind(sql_int(from))
        .bind(sql_limit(limit))
        .fetch_all(pool)
        .await
        .map_err(db_error)?;
    events(&rows)
}

pub(crate) async fn read_all(
    pool: &PgPool,
    st: &Statements,
    after: u64,
    limit: usize,
    filter: &EventFilter,
) -> Result<Vec<RecordedEvent>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    if filter.partition.is_some() {
        let mut pages = disco_backend::partition_reads::PartitionPages::new(after, limit, filter);
        while let Some((after, limit)) = pages.next() {
            let rest = pages.rest().clone();
            let rows = Box::pin(read_all(pool, st, after, limit, &rest)).await?;
            pages.take(rows);
        }
        return Ok(pages.finish());
    }
    // PostgreSQL text cannot hold NUL, and no stream id or event type has
    // one (they refuse control characters): a filter naming one matches
    // nothing, as on every other store, instead of failing in the server.
    let nul = |s: &str| s.contains('\0');
    let owned;
    let filter = if filter.stream_prefix.as_deref().is_some_and(nul)
        || filter.event_types.iter().any(|t| nul(t))
    {
        let types: Vec<String> = filter
            .event_types
            .iter()
            .filter(|t| !nul(t))
            .cloned()
            .collect();
        if filter.stream_prefix.as_deref().is_some_and(nul) || types.is_empty() {
            return Ok(Vec::new());
        }
        owned = EventFilter {
            event_types: types,
            stream_prefix: filter.stream_prefix.clone(),
            partition: None,
        };
        &owned
    } else {
        filter
    };
    let rows = if filter.is_empty() {
        sqlx::query(st.read_all.clone())
            .bind(sql_int(after))
            .bind(sql_limit(limit))
            .fetch_all(pool)
            .await
    } else {
        let types = (!filter.event_types.is_empty()).then(|| filter.event_types.clone());
        sqlx::query(st.read_all_filtered.clone())
            .bind(sql_int(after))
            .bind(sql_limit(limit))
            .bind(filter.stream_prefix.clone())
            .bind(types)
            .fetch_all(pool)
            .await
    }
    .map_err(db_error)?;
    events(&rows)
}

pub(crate) async fn list_streams(
    pool: &PgPool,
    st: &Statements,
    prefix: &str,
    after: Option<&StreamId>,
    limit: usize,
) -> Result<Vec<StreamInfo>> {
    // No stream id holds NUL (see read_all).
    if prefix.contains('\0') {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(st.list_streams.clone())
        .bind(prefix)
        .bind(after.map(StreamId::as_str))
        .bind(sql_limit(limit))
        .fetch_all(pool)
        .await
        .map_err(db_error)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let id: String = row.try_get(0).map_err(db_error)?;
        if !id.starts_with(prefix) {
            break;
        }
        out.push(StreamInfo {
            stream_id: stream_id(&id)?,
            version: stored_u64(row.try_get(1).map_err(db_error)?, "stream version")?,
            state: state_of(row.try_get::<i16, _>(2).map_err(db_error)?)?,
        });
    }
    Ok(out)
}

pub(crate) async fn load_snapshot(
    pool: &PgPool,
    st: &Statements,
    stream: &StreamId,
) -> Result<Option<Snapshot>> {
    let row = sqlx::query(st.load_snapshot.clone())
        .bind(stream.as_str())
        .fetch_optional(pool)
        .await
        .map_err(db_error)?;
    let Some(row) = row else {
        return Ok(None);
    };
    check_live(&row, stream)?;
    snapshot_of(&row, stream)
}

/// Checkpoints are stored as the `bigint` with the same bits, so every `u64`
/// round-trips.
pub(crate) async fn load_checkpoint(
    pool: &PgPool,
    st: &Statements,
    name: &str,
) -> Result<Option<u64>> {
    let value: Option<i64> = sqlx::query_scalar(st.load_checkpoint.clone())
        .bind(name)
        .fetch_optional(pool)
        .await
        .map_err(db_error)?;
    Ok(value.map(|v| v as u64))
}

pub(crate) async fn list_checkpoints(pool: &PgPool, st: &Statements) -> Result<Vec<Checkpoint>> {
    let rows = sqlx::query(st.list_checkpoints.clone())
        .fetch_all(pool)
        .await
        .map_err(db_error)?;
    rows.iter()
        .map(|r| {
            Ok(Checkpoint {
                name: r.try_get(0).map_err(db_error)?,
                position: r.try_get::<i64, _>(1).map_err(db_error)? as u64,
            })
        })
        .collect()
}

/// `read_query`: the head, then the plan's chunks. Positions are assigned
/// under the write lock and committed in order, so every event at or below
/// the head read first is visible to each later statement.
pub(crate) async fn read_query(
    pool: &PgPool,
    st: &Statements,
    query: &Query,
    after: u64,
    limit: usize,
) -> Result<QueryRead> {
    let mut conn = pool.acquire().await.map_err(db_error)?;
    let head = head(&mut *conn, st).await?;
    run_plan(&mut conn, st, QueryPlan::new(query, after, limit, head)).await
}

/// The position of the first event breaking `condition`, read on the
/// writer's connection (under its write lock) whose head is `head`.
pub(crate) async fn first_match(
    conn: &mut PgConnection,
    st: &Statements,
    condition: &AppendCondition,
    head: u64,
) -> Result<Option<u64>> {
    let read = run_plan(conn, st, condition_plan(condition, head)).await?;
    Ok(read.events.first().map(|e| e.position))
}

async fn run_plan(
    conn: &mut PgConnection,
    st: &Statements,
    mut plan: QueryPlan<'_>,
) -> Result<QueryRead> {
    while let Some(fetch) = plan.next_fetch() {
        let (after, until, limit) = (
            sql_int(fetch.after),
            sql_int(fetch.until),
            sql_limit(fetch.limit),
        );
        let query = match &fetch.source {
            Source::Tag(tag) => sqlx::query(st.query_by_tag.clone()).bind(tag.as_str()),
            Source::Type(t) => sqlx::query(st.query_by_type.clone()).bind(t.as_str()),
            Source::All => sqlx::query(st.query_all.clone()),
        };
        let rows = query
            .bind(after)
            .bind(until)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?;
        plan.feed(events(&rows)?);
    }
    Ok(plan.finish())
}
