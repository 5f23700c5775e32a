//! The writer: one task per store handle that group-commits appends.
//!
//! It takes the appends waiting on its channel (up to `max_batch`; when the
//! previous batch showed k > 1 concurrent appenders it waits up to
//! `group_commit_delay` for k of them) and writes them in one transaction
//! whose number of round trips does not grow with the batch:
//!
//! 1. `pg_advisory_xact_lock` on the schema's write key: one writer commits at
//!    a time across every process sharing the schema, so positions, assigned
//!    from the head read under the lock, are in commit order, and a reader
//!    paging by position can never skip a late commit;
//! 2. the state of every stream and every event id of the batch, in two
//!    `= ANY($1)` queries;
//! 3. every append decided in Rust by the shared `decide_append`, over that
//!    state plus the earlier appends of the batch, so a failing append fails
//!    alone and writes nothing;
//! 4. one `INSERT ... SELECT FROM unnest(...)` for all events, one upsert of
//!    the streams, the new head and `pg_notify` in the same transaction;
//! 5. one commit answers every append.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use disco_core::append_check::{decide_append, AppendDecision, AppendView, StreamStatus};
use disco_core::group_commit::AppendRequest;
use disco_core::{AppendResult, EventLocation, Notifier, Result, StreamId, StreamState};
use sqlx::{PgPool, Row};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::errors::{db_error, sql_int, stored_u64};
use crate::reads;
use crate::sql::Statements;

/// How the writer batches.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Batching {
    pub max_batch: usize,
    pub delay: Duration,
}

pub(crate) struct WriterContext {
    pub pool: PgPool,
    pub statements: Arc<Statements>,
    pub write_lock: i64,
    pub channel: String,
    pub notifier: Arc<Notifier>,
    pub batching: Batching,
}

/// The writer loop; returns when every sender is gone.
pub(crate) async fn run(
    context: WriterContext,
    mut requests: mpsc::UnboundedReceiver<AppendRequest>,
) {
    let mut last_batch = 1;
    while let Some(first) = requests.recv().await {
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
        commit_batch(&context, batch).await;
    }
}

async fn commit_batch(context: &WriterContext, batch: Vec<AppendRequest>) {
    let size = batch.len();
    match write_batch(context, &batch).await {
        Ok((results, head)) => {
            context.notifier.notify(head);
            tracing::trace!(appends = size, head, "group commit");
            for (request, result) in batch.into_iter().zip(results) {
                request.reply(result);
            }
        }
        Err(error) => {
            tracing::warn!(appends = size, %error, "group commit failed");
            for request in batch {
                request.reply(Err(error.clone()));
            }
        }
    }
}

/// The batch's view of the database: what the two lookups returned, updated
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

/// The rows the batch inserts, as the columns `unnest` takes.
#[derive(Default)]
struct Columns {
    positions: Vec<i64>,
    streams: Vec<String>,
    versions: Vec<i64>,
    ids: Vec<Uuid>,
    types: Vec<String>,
    data: Vec<Vec<u8>>,
    metadata: Vec<Vec<u8>>,
}

async fn write_batch(
    context: &WriterContext,
    batch: &[AppendRequest],
) -> Result<(Vec<Result<AppendResult>>, u64)> {
    let st = &context.statements;
    let mut tx = context.pool.begin().await.map_err(db_error)?;
    sqlx::query(st.advisory_lock.clone())
        .bind(context.write_lock)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    let start_head = reads::head(&mut *tx, st).await?;

    let names: Vec<String> = batch.iter().map(|r| r.stream.as_str().to_owned()).collect();
    let ids: Vec<Uuid> = batch
        .iter()
        .flat_map(|r| r.events.iter().map(|e| e.id))
        .collect();
    let mut view = BatchView::default();
    for row in sqlx::query(st.batch_streams.clone())
        .bind(&names)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?
    {
        let name: String = row.try_get(0).map_err(db_error)?;
        let version = stored_u64(row.try_get(1).map_err(db_error)?, "stream version")?;
        let deleted = reads::state_of(row.try_get(2).map_err(db_error)?)? != StreamState::Active;
        view.streams.insert(name, StreamStatus { version, deleted });
    }
    for row in sqlx::query(st.batch_locate.clone())
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?
    {
        let id: Uuid = row.try_get(0).map_err(db_error)?;
        view.located.insert(
            id,
            EventLocation {
                id,
                stream_id: reads::stream_id(row.try_get(1).map_err(db_error)?)?,
                version: stored_u64(row.try_get(2).map_err(db_error)?, "version")?,
                position: stored_u64(row.try_get(3).map_err(db_error)?, "position")?,
            },
        );
    }

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
        view.streams.insert(
            request.stream.as_str().to_owned(),
            StreamStatus {
                version: last_version,
                deleted: false,
            },
        );
        final_versions.insert(request.stream.as_str().to_owned(), last_version);
        results.push(Ok(AppendResult {
            first_version,
            last_version,
            first_position: head + 1,
            last_position: head + count,
        }));
        head += count;
    }

    if head > start_head {
        sqlx::query(st.insert_events.clone())
            .bind(&columns.positions)
            .bind(&columns.streams)
            .bind(&columns.versions)
            .bind(&columns.ids)
            .bind(&columns.types)
            .bind(&columns.data)
            .bind(&columns.metadata)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let (names, versions): (Vec<String>, Vec<i64>) = final_versions
            .into_iter()
            .map(|(name, v)| (name, sql_int(v)))
            .unzip();
        sqlx::query(st.upsert_streams.clone())
            .bind(&names)
            .bind(&versions)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        sqlx::query(st.write_head_and_notify.clone())
            .bind(sql_int(head))
            .bind(&context.channel)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
    }
    tx.commit().await.map_err(db_error)?;
    Ok((results, head))
}
