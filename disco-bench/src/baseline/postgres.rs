//! The PostgreSQL baseline: plain sqlx on a pool of 8 connections, a table
//! with the same columns and uniqueness as the store's and a `bigserial`
//! position; each append is one autocommitted INSERT (one row, or an
//! `unnest` of the batch). No expected-version check, no idempotency
//! lookups, no group commit, and no guarantee against late positions.

use async_trait::async_trait;
use disco_core::{Error, NewEvent, Result, StreamId};
use sqlx::{AssertSqlSafe, PgPool, SqlSafeStr, SqlStr};
use uuid::Uuid;

use crate::target::Target;

fn sql(text: &str, schema: &str) -> SqlStr {
    AssertSqlSafe(text.replace("__SCHEMA__", &format!("\"{schema}\""))).into_sql_str()
}

fn pg_error(e: sqlx::Error) -> Error {
    Error::Backend(e.to_string())
}

type Row = (i64, String, i64, Uuid, String, Vec<u8>, Vec<u8>, i64);

/// The raw PostgreSQL baseline in its own schema.
pub struct RawPostgres {
    pool: PgPool,
    insert: SqlStr,
    insert_one: SqlStr,
    read_page: SqlStr,
    read_stream: SqlStr,
    drop: SqlStr,
}

impl RawPostgres {
    /// Creates the baseline's schema and table.
    pub async fn create(url: &str, schema: &str) -> Result<RawPostgres> {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(8)
            .connect(url)
            .await
            .map_err(pg_error)?;
        let drop = sql(include_str!("sql/pg_drop_schema.sql"), schema);
        sqlx::query(drop.clone())
            .execute(&pool)
            .await
            .map_err(pg_error)?;
        sqlx::raw_sql(sql(include_str!("sql/pg_schema.sql"), schema))
            .execute(&pool)
            .await
            .map_err(pg_error)?;
        Ok(RawPostgres {
            insert: sql(include_str!("sql/pg_insert.sql"), schema),
            insert_one: sql(include_str!("sql/pg_insert_one.sql"), schema),
            read_page: sql(include_str!("sql/pg_read_page.sql"), schema),
            read_stream: sql(include_str!("sql/pg_read_stream.sql"), schema),
            drop,
            pool,
        })
    }

    /// Drops the schema and closes the pool.
    pub async fn destroy(&self) {
        let _ = sqlx::query(self.drop.clone()).execute(&self.pool).await;
        self.pool.close().await;
    }
}

#[async_trait]
impl Target for RawPostgres {
    async fn append(&self, stream: &StreamId, version: u64, events: Vec<NewEvent>) -> Result<()> {
        if let [e] = events.as_slice() {
            sqlx::query(self.insert_one.clone())
                .bind(stream.as_str())
                .bind((version + 1) as i64)
                .bind(e.id)
                .bind(&e.event_type)
                .bind(&e.data)
                .bind(&e.metadata)
                .execute(&self.pool)
                .await
                .map_err(pg_error)?;
            return Ok(());
        }
        self.append_group(vec![(stream.clone(), version, events)])
            .await
    }

    async fn append_group(&self, appends: Vec<(StreamId, u64, Vec<NewEvent>)>) -> Result<()> {
        let (mut streams, mut versions, mut ids, mut types, mut data, mut metadata) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        for (stream, version, events) in appends {
            for (i, e) in events.into_iter().enumerate() {
                streams.push(stream.to_string());
                versions.push((version + 1 + i as u64) as i64);
                ids.push(e.id);
                types.push(e.event_type);
                data.push(e.data);
                metadata.push(e.metadata);
            }
        }
        sqlx::query(self.insert.clone())
            .bind(streams)
            .bind(versions)
            .bind(ids)
            .bind(types)
            .bind(data)
            .bind(metadata)
            .execute(&self.pool)
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    async fn read_page(&self, after: u64, limit: usize) -> Result<(usize, u64)> {
        let rows: Vec<Row> = sqlx::query_as(self.read_page.clone())
            .bind(after as i64)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(pg_error)?;
        Ok((rows.len(), rows.last().map_or(0, |r| r.0 as u64)))
    }

    async fn read_stream(&self, stream: &StreamId, limit: usize) -> Result<usize> {
        let rows: Vec<Row> = sqlx::query_as(self.read_stream.clone())
            .bind(stream.as_str())
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(pg_error)?;
        Ok(rows.len())
    }
}

/// Fills a store's schema with 5,000,000 events straight in SQL (minutes,
/// not hours).
pub async fn prefill_five_million(url: &str, schema: &str) -> Result<()> {
    let pool = PgPool::connect(url).await.map_err(pg_error)?;
    sqlx::raw_sql(sql(include_str!("sql/pg_prefill.sql"), schema))
        .execute(&pool)
        .await
        .map_err(pg_error)?;
    pool.close().await;
    Ok(())
}
