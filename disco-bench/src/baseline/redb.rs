//! The redb baseline: plain redb with the same tables as the store (events by
//! position, stream and version to position, event id to position), one write
//! transaction per append at redb's default (immediate) durability. No
//! expected-version check, no idempotency lookups, no group commit.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use disco_core::{Error, NewEvent, Result, StreamId, Timestamp};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use crate::target::Target;

type Row = (
    &'static str,
    u64,
    u128,
    &'static str,
    &'static [u8],
    &'static [u8],
    i64,
);
const EVENTS: TableDefinition<u64, Row> = TableDefinition::new("events");
const STREAMS: TableDefinition<(&str, u64), u64> = TableDefinition::new("stream_events");
const IDS: TableDefinition<u128, u64> = TableDefinition::new("event_ids");

/// An owned row, as a reader would decode it.
type OwnedRow = (String, u64, u128, String, Vec<u8>, Vec<u8>, i64);

/// The raw redb baseline.
pub struct RawRedb {
    db: Arc<Database>,
}

fn redb_error(e: impl Into<redb::Error>) -> Error {
    Error::Backend(e.into().to_string())
}

fn owned(row: (&str, u64, u128, &str, &[u8], &[u8], i64)) -> OwnedRow {
    (
        row.0.to_owned(),
        row.1,
        row.2,
        row.3.to_owned(),
        row.4.to_vec(),
        row.5.to_vec(),
        row.6,
    )
}

impl RawRedb {
    /// Creates the baseline's database at `path`.
    pub fn open(path: &Path) -> Result<RawRedb> {
        let mut builder = Database::builder();
        builder.set_cache_size(64 * 1024 * 1024);
        let db = builder.create(path).map_err(redb_error)?;
        Ok(RawRedb { db: Arc::new(db) })
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| Error::Backend(e.to_string()))?
    }
}

#[async_trait]
impl Target for RawRedb {
    async fn append(&self, stream: &StreamId, version: u64, events: Vec<NewEvent>) -> Result<()> {
        self.append_group(vec![(stream.clone(), version, events)])
            .await
    }

    async fn append_group(&self, appends: Vec<(StreamId, u64, Vec<NewEvent>)>) -> Result<()> {
        self.blocking(move |db| {
            let mut txn = db.begin_write().map_err(redb_error)?;
            // The same commit the store makes by default (quick repair: the
            // allocator state recorded, two fsyncs), so the ratio is disco's
            // own work and not a durability setting.
            txn.set_quick_repair(true);
            {
                let mut events = txn.open_table(EVENTS).map_err(redb_error)?;
                let mut streams = txn.open_table(STREAMS).map_err(redb_error)?;
                let mut ids = txn.open_table(IDS).map_err(redb_error)?;
                let mut position = events
                    .last()
                    .map_err(redb_error)?
                    .map_or(0, |(k, _)| k.value());
                let now = Timestamp::now().as_micros();
                for (stream, version, batch) in &appends {
                    for (i, e) in batch.iter().enumerate() {
                        position += 1;
                        let v = version + 1 + i as u64;
                        let row = (
                            stream.as_str(),
                            v,
                            e.id.as_u128(),
                            e.event_type.as_str(),
                            e.data.as_slice(),
                            e.metadata.as_slice(),
                            now,
                        );
                        events.insert(position, row).map_err(redb_error)?;
                        streams
                            .insert((stream.as_str(), v), position)
                            .map_err(redb_error)?;
                        ids.insert(e.id.as_u128(), position).map_err(redb_error)?;
                    }
                }
            }
            txn.commit().map_err(redb_error)
        })
        .await
    }

    async fn read_page(&self, after: u64, limit: usize) -> Result<(usize, u64)> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(redb_error)?;
            let events = txn.open_table(EVENTS).map_err(redb_error)?;
            let mut rows: Vec<(u64, OwnedRow)> = Vec::with_capacity(limit);
            for entry in events.range(after + 1..).map_err(redb_error)?.take(limit) {
                let (k, v) = entry.map_err(redb_error)?;
                rows.push((k.value(), owned(v.value())));
            }
            Ok((rows.len(), rows.last().map_or(0, |r| r.0)))
        })
        .await
    }

    async fn read_stream(&self, stream: &StreamId, limit: usize) -> Result<usize> {
        let stream = stream.to_string();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(redb_error)?;
            let index = txn.open_table(STREAMS).map_err(redb_error)?;
            let events = txn.open_table(EVENTS).map_err(redb_error)?;
            let mut rows: Vec<OwnedRow> = Vec::with_capacity(limit);
            for entry in index
                .range((stream.as_str(), 1)..=(stream.as_str(), u64::MAX))
                .map_err(redb_error)?
                .take(limit)
            {
                let (_, position) = entry.map_err(redb_error)?;
                if let Some(row) = events.get(position.value()).map_err(redb_error)? {
                    rows.push(owned(row.value()));
                }
            }
            Ok(rows.len())
        })
        .await
    }
}
