//! The writer: one task per store handle that group-commits appends.
//!
//! It takes the appends waiting on its channel (up to `max_batch`; when the
//! previous batch showed k > 1 concurrent appenders it waits up to
//! `group_commit_delay` for k of them) and commits them in one transaction of
//! four round trips, however many appends the batch holds, on a connection it
//! keeps between batches:
//!
//! 1. `BEGIN`;
//! 2. `lock_and_read` (migrations/0001_init.sql): the schema's
//!    transaction-scoped advisory lock, then the head, the state of the
//!    batch's streams and where its event ids sit. One batch commits at a
//!    time across every process sharing the schema, so positions, assigned
//!    from the head read under the lock, are in commit order, and a reader
//!    paging by position can never skip a late commit;
//! 3. every append decided here by the shared `decide_append`, over that
//!    state plus the earlier appends of the batch (a failing append fails
//!    alone and writes nothing), then one statement writing every event, the
//!    streams, the head and `pg_notify`;
//! 4. `COMMIT`, which answers every append.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use disco_core::append_check::{decide_append, AppendDecision, AppendView, StreamStatus};
use disco_core::group_commit::{answer_batch, AppendRequest, BatchOutcome, Batching};
use disco_core::{AppendResult, EventLocation, Notifier, Result, StreamId, StreamState};
use sqlx::pool::PoolConnection;
use sqlx::{Acquire, PgPool, Postgres, Row};
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use crate::errors::{db_error, sql_int, stored_u64};
use crate::reads;
use crate::sql::Statements;

pub(crate) struct WriterContext {
    pub pool: PgPool,
    pub statements: Arc<Statements>,
    pub write_lock: i64,
    pub channel: String,
    pub notifier: Arc<Notifier>,
    pub batching: Batching,
}

/// The writer loop; returns when every sender is gone or `stop` is set (the
/// store was closed), releasing its connection.
pub(crate) async fn run(
    context: WriterContext,
    mut requests: mpsc::UnboundedReceiver<AppendRequest>,
    mut stop: watch::Receiver<bool>,
) {
    let mut last_batch = 1;
    let mut connection: Option<PoolConnection<Postgres>> = None;
    loop {
        let first = tokio::select! {
            request = requests.recv() => match request {
                Some(request) => request,
                None => return,
            },
            _ = stop.changed() => return,
        };
        let max = context.batching.max_batch.max(1);
        let target = last_batch.min(max);
        let deadline = tokio::time::Instant::now() + context.batching.delay;
        let mut batch = vec![first];
        while batch.len() < max {
            match requests.try_recv() {
                Ok(request) => batch.push(request),
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => {
                    if batch.len() >= target {
                        break;
                    }
                    match tokio::time::timeout_at(deadline, requests.recv()).await {
                        Ok(Some(request)) => batch.push(request),
                        _ => break,
                    }
                }
            }
        }
        last_batch = batch.len();
        commit_batch(&context, &mut connection, batch).await;
    }
}

async fn commit_batch(
    context: &WriterContext,
    connection: &mut Option<PoolConnection<Postgres>>,
    batch: Vec<AppendRequest>,
) {
    let outcome = write_on_a_connection(context, connection, &batch).await;
    answer_batch(batch, outcome, &context.notifier);
}

/// Runs the batch on the kept connection, or a fresh one. A kept connection
/// may have died while idle (a restart, a terminated backend): if its `BEGIN`
/// fails, nothing of the batch ran, so it is tried once more on a fresh one.
async fn write_on_a_connection(
    context: &WriterContext,
    connection: &mut Option<PoolConnection<Postgres>>,
    batch: &[AppendRequest],
) -> BatchOutcome {
    let mut kept = connection.take();
    loop {
        let reused = kept.is_some();
        let mut conn = match kept.take() {
            Some(conn) => conn,
            None => context.pool.acquire().await.map_err(db_error)?,
        };
        let result = match attempt(context, &mut conn, batch).await {
            Attempt::BeginFailed(e) => {
                conn.close_on_drop();
                if reused {
                    continue;
                }
                return Err(db_error(e));
            }
            Attempt::Done(result) => result,
        };
        if result.is_ok() {
            *connection = Some(conn);
        } else {
            // The connection may be broken or mid-transaction: never reuse it.
            conn.close_on_drop();
        }
        return result;
    }
}

/// The batch's view of the database: what `lock_and_read` returned, updated
/// with each append the batch decides to write.
#[derive(Default)]
struct BatchView {
    streams: HashMap<String, StreamStatus>,
    located: HashMap<Uuid, EventLocation>,
}

impl AppendView for BatchView {
    fn stream_status(&mut self, stream: &StreamId) -> Result<StreamStatus> {
        Ok(self
            .streams
            .get(stream.as_str())
            .copied()
            .unwrap_or_default())
    }

    fn locate_events(&mut self, ids: &[Uuid]) -> Result<Vec<Option<EventLocation>>> {
        Ok(ids.iter().map(|id| self.located.get(id).cloned()).collect())
    }
}

/// The rows the batch writes, as the columns `unnest` takes.
#[derive(Default)]
struct Columns {
    positions: Vec<i64>,
    streams: Vec<String>,
    versions: Vec<i64>,
    ids: Vec<Uuid>,
    types: Vec<String>,
    data: Vec<Vec<u8>>,
    metadata: Vec<Vec<u8>>,
    recorded_at: Vec<Option<i64>>,
}

enum Attempt {
    BeginFailed(sqlx::Error),
    Done(BatchOutcome),
}

async fn attempt(
    context: &WriterContext,
    conn: &mut PoolConnection<Postgres>,
    batch: &[AppendRequest],
) -> Attempt {
    match conn.begin().await {
        Err(e) => Attempt::BeginFailed(e),
        Ok(tx) => Attempt::Done(write_batch(context, tx, batch).await),
    }
}

async fn write_batch(
    context: &WriterContext,
    mut tx: sqlx::Transaction<'_, Postgres>,
    batch: &[AppendRequest],
) -> BatchOutcome {
    let st = &context.statements;
    let names: Vec<String> = batch.iter().map(|r| r.stream.as_str().to_owned()).collect();
    let ids: Vec<Uuid> = batch
        .iter()
        .flat_map(|r| r.events.iter().map(|e| e.id))
        .collect();
    let rows = sqlx::query(st.lock_and_read.clone())
        .bind(context.write_lock)
        .bind(&names)
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
    let mut start_head = None;
    let mut view = BatchView::default();
    for row in rows {
        let kind: i16 = row.try_get(0).map_err(db_error)?;
        let version = |row: &sqlx::postgres::PgRow| -> Result<u64> {
            stored_u64(row.try_get::<i64, _>(2).map_err(db_error)?, "version")
        };
        match kind {
            0 => start_head = Some(stored_u64(row.try_get(5).map_err(db_error)?, "head")?),
            1 => {
                let name: String = row.try_get(1).map_err(db_error)?;
                let deleted =
                    reads::state_of(row.try_get(3).map_err(db_error)?)? != StreamState::Active;
                view.streams.insert(
                    name,
                    StreamStatus {
                        version: version(&row)?,
                        deleted,
                    },
                );
            }
            _ => {
                let id: Uuid = row.try_get(4).map_err(db_error)?;
                let location = EventLocation {
                    id,
                    stream_id: reads::stream_id(row.try_get(1).map_err(db_error)?)?,
                    version: version(&row)?,
                    position: stored_u64(row.try_get(5).map_err(db_error)?, "position")?,
                };
                view.located.insert(id, location);
            }
        }
    }
    let start_head =
        start_head.ok_or_else(|| disco_core::Error::Backend("the head row is missing".into()))?;

    let mut head = start_head;
    let mut columns = Columns::default();
    let mut final_versions: BTreeMap<String, u64> = BTreeMap::new();
    let mut results = Vec::with_capacity(batch.len());
    for request in batch {
        let first_version = match decide_append(
            &mut view,
            &request.stream,
            request.expected,
            &request.events,
        ) {
            Err(e) => {
                results.push(Err(e));
                continue;
            }
            Ok(AppendDecision::AlreadyWritten(result)) => {
                results.push(Ok(result));
                continue;
            }
            Ok(AppendDecision::Write { first_version }) => first_version,
        };
        for (offset, event) in request.events.iter().enumerate() {
            let position = head + 1 + offset as u64;
            let version = first_version + offset as u64;
            columns.positions.push(sql_int(position));
            columns.streams.push(request.stream.as_str().to_owned());
            columns.versions.push(sql_int(version));
            columns.ids.push(event.id);
            columns.types.push(event.event_type.clone());
            columns.data.push(event.data.clone());
            columns.metadata.push(event.metadata.clone());
            columns
                .recorded_at
                .push(event.recorded_at.map(|t| t.as_micros()));
            view.located.insert(
                event.id,
                EventLocation {
                    id: event.id,
                    stream_id: request.stream.clone(),
                    version,
                    position,
                },
            );
        }
        let count = request.events.len() as u64;
        let last_version = first_version + count - 1;
        let name = request.stream.as_str().to_owned();
        view.streams.insert(
            name.clone(),
            StreamStatus {
                version: last_version,
                deleted: false,
            },
        );
        final_versions.insert(name, last_version);
        results.push(Ok(AppendResult {
            first_version,
            last_version,
            first_position: head + 1,
            last_position: head + count,
        }));
        head += count;
    }

    if head > start_head {
        // One row per stream: an upsert may not touch a row twice.
        let (names, versions): (Vec<String>, Vec<i64>) = final_versions
            .into_iter()
            .map(|(name, v)| (name, sql_int(v)))
            .unzip();
        sqlx::query(st.write_batch.clone())
            .bind(&columns.positions)
            .bind(&columns.streams)
            .bind(&columns.versions)
            .bind(&columns.ids)
            .bind(&columns.types)
            .bind(&columns.data)
            .bind(&columns.metadata)
            .bind(&names)
            .bind(&versions)
            .bind(sql_int(head))
            .bind(&context.channel)
            .bind(&columns.recorded_at)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
    }
    tx.commit().await.map_err(db_error)?;
    Ok((results, head))
}
