//! The projection the bench runs: one row per stream, upserted per event.

use async_trait::async_trait;
use disco_cqrs::DomainEvent;
use disco_projections::postgres::{PgProjection, PgTransaction};
use disco_projections::sql::{SqlProjection, Statements};
use disco_projections::sqlite::{rusqlite, SqliteProjection};
use disco_projections::{args, Envelope, HandlerError, Interest, Projection, Tables};
use serde::{Deserialize, Serialize};

/// A bench event's payload (`bench_event`'s data).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BenchPayload {
    /// Its number.
    pub n: u64,
    /// Filler.
    pub payload: String,
}

impl DomainEvent for BenchPayload {
    fn event_type(&self) -> &'static str {
        "BenchEvent"
    }
}

/// The rows: (stream, events seen, the last event's number).
pub struct BenchRows;

/// The streams the projection reads.
pub const PREFIX: &str = "row-";

impl Projection for BenchRows {
    type Event = BenchPayload;
    const NAME: &'static str = "bench-rows";
    const TABLES: &'static [&'static str] = &["bench_rows"];

    fn interest() -> Interest {
        Interest::stream_prefix(PREFIX)
    }
}

/// `text` with the table's name in place of `__TABLE__`.
pub fn sql(text: &str, table: &str) -> String {
    text.replace("__TABLE__", table)
}

impl SqliteProjection for BenchRows {
    fn setup(&self, tx: &rusqlite::Transaction<'_>, tables: &Tables) -> Result<(), HandlerError> {
        tx.execute(
            &sql(include_str!("sqlite_rows.sql"), &tables.name("bench_rows")),
            [],
        )?;
        Ok(())
    }

    fn apply(
        &self,
        tx: &rusqlite::Transaction<'_>,
        tables: &Tables,
        event: Envelope<BenchPayload>,
    ) -> Result<(), HandlerError> {
        let upsert = sql(
            include_str!("sqlite_upsert.sql"),
            &tables.name("bench_rows"),
        );
        tx.prepare_cached(&upsert)?
            .execute(rusqlite::params![event.aggregate_id, event.event.n as i64])?;
        Ok(())
    }
}

#[async_trait]
impl PgProjection for BenchRows {
    async fn setup(&self, tx: &mut PgTransaction, tables: &Tables) -> Result<(), HandlerError> {
        let create = sql(include_str!("pg_rows.sql"), &tables.name("bench_rows"));
        sqlx::query(sqlx::AssertSqlSafe(create))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    async fn apply(
        &self,
        tx: &mut PgTransaction,
        tables: &Tables,
        event: Envelope<BenchPayload>,
    ) -> Result<(), HandlerError> {
        let upsert = sql(include_str!("pg_upsert.sql"), &tables.name("bench_rows"));
        sqlx::query(sqlx::AssertSqlSafe(upsert))
            .bind(event.aggregate_id)
            .bind(event.event.n as i64)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

/// The same projection, written once for every read-model database.
impl SqlProjection for BenchRows {
    fn setup(&self, sql: &mut Statements) {
        sql.run(
            "CREATE TABLE {bench_rows} (id TEXT PRIMARY KEY, n BIGINT NOT NULL, last BIGINT NOT NULL)",
            args![],
        );
    }

    fn apply(
        &self,
        event: Envelope<BenchPayload>,
        sql: &mut Statements,
    ) -> Result<(), HandlerError> {
        sql.run(
            "INSERT INTO {bench_rows} (id, n, last) VALUES ($1, 1, $2)
             ON CONFLICT (id) DO UPDATE SET n = {bench_rows}.n + 1, last = $2",
            args![event.aggregate_id, event.event.n],
        );
        Ok(())
    }
}
