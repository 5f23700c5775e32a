//! The SQLite baseline: plain rusqlite on one connection (WAL,
//! `synchronous=FULL`), one transaction per append, rows decoded into plain
//! tuples. No expected-version check, no idempotency lookups, no group commit.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use disco_core::{Error, NewEvent, Result, StreamId, Timestamp};
use rusqlite::{params, Connection};

use crate::target::Target;

const SCHEMA: &str = include_str!("sql/sqlite_schema.sql");
const INSERT: &str = include_str!("sql/sqlite_insert.sql");
const READ_PAGE: &str = include_str!("sql/sqlite_read_page.sql");
const READ_STREAM: &str = include_str!("sql/sqlite_read_stream.sql");

/// A row as the baseline reads it.
type Row = (i64, String, i64, Vec<u8>, String, Vec<u8>, Vec<u8>, i64);

/// The raw SQLite baseline.
pub struct RawSqlite {
    conn: Arc<Mutex<Connection>>,
}

fn sql_error(e: rusqlite::Error) -> Error {
    Error::Backend(e.to_string())
}

impl RawSqlite {
    /// Creates the baseline's database at `path`.
    pub fn open(path: &Path) -> Result<RawSqlite> {
        let conn = Connection::open(path).map_err(sql_error)?;
        conn.execute_batch(SCHEMA).map_err(sql_error)?;
        Ok(RawSqlite {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().map_err(|_| Error::Backend("poisoned".into()))?;
            f(&mut conn).map_err(sql_error)
        })
        .await
        .map_err(|e| Error::Backend(e.to_string()))?
    }
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    ))
}

#[async_trait]
impl Target for RawSqlite {
    async fn append(&self, stream: &StreamId, version: u64, events: Vec<NewEvent>) -> Result<()> {
        self.append_group(vec![(stream.clone(), version, events)])
            .await
    }

    async fn append_group(&self, appends: Vec<(StreamId, u64, Vec<NewEvent>)>) -> Result<()> {
        self.with_conn(move |conn| {
            let tx = conn.transaction()?;
            {
                let mut insert = tx.prepare_cached(INSERT)?;
                let now = Timestamp::now().as_micros();
                for (stream, version, events) in &appends {
                    for (i, e) in events.iter().enumerate() {
                        insert.execute(params![
                            stream.as_str(),
                            (version + 1 + i as u64) as i64,
                            &e.id.as_bytes()[..],
                            e.event_type,
                            e.data,
                            e.metadata,
                            now
                        ])?;
                    }
                }
            }
            tx.commit()
        })
        .await
    }

    async fn read_page(&self, after: u64, limit: usize) -> Result<(usize, u64)> {
        let rows: Vec<Row> = self
            .with_conn(move |conn| {
                let mut st = conn.prepare_cached(READ_PAGE)?;
                let rows = st.query_map(params![after as i64, limit as i64], row)?;
                rows.collect()
            })
            .await?;
        Ok((rows.len(), rows.last().map_or(0, |r| r.0 as u64)))
    }

    async fn read_stream(&self, stream: &StreamId, limit: usize) -> Result<usize> {
        let stream = stream.to_string();
        let rows: Vec<Row> = self
            .with_conn(move |conn| {
                let mut st = conn.prepare_cached(READ_STREAM)?;
                let rows = st.query_map(params![stream, limit as i64], row)?;
                rows.collect()
            })
            .await?;
        Ok(rows.len())
    }
}
