//! A transaction of a PostgreSQL read-model database, as the shared
//! bookkeeping runs it ([`Txn`]).

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres};

use super::portable::{bound, portable_row};
use super::{db, PgTransaction};
use crate::adapter::{Kind, OwnSql, Txn};
use crate::error::ProjectionError;
use crate::sql::{Row, SqlValue};

/// PostgreSQL's own statements.
static OWN: OwnSql = OwnSql {
    bookkeeping_table: include_str!("bookkeeping.sql"),
    partitions_table: include_str!("partitions.sql"),
    has_bookkeeping: include_str!("has_bookkeeping.sql"),
    has_partitions: include_str!("has_partitions.sql"),
    lock_row: include_str!("lock_row.sql"),
    lock_partition: include_str!("lock_partition.sql"),
    lock_generations: Some(include_str!("lock_generations.sql")),
    object_kind: include_str!("object_kind.sql"),
};

/// One transaction on a connection of the read models' pool.
pub(crate) struct PgTxn {
    pub(crate) tx: PgTransaction,
}

impl PgTxn {
    /// Opens a transaction of `kind`: a bookkeeping one holds the schema's
    /// bookkeeping lock, so two runners' plans, claims and switches take
    /// turns (a batch locks only its row). `BEGIN` runs in a task of its
    /// own: sqlx hands a connection whose `BEGIN` was cancelled half way
    /// back to the pool inside the server's transaction, and the next user
    /// of it (a test's `DROP SCHEMA`, another runner) would wait on its
    /// locks for good.
    pub(crate) async fn begin(pool: &PgPool, kind: Kind) -> Result<Self, ProjectionError> {
        // Invariant: a runner aborted while its BEGIN is in flight drops a whole transaction (rolled back), never a pooled connection left inside one.
        let pool = pool.clone();
        let mut tx = tokio::spawn(async move { pool.begin().await })
            .await
            .map_err(|e| ProjectionError::ReadModel(format!("beginning a transaction: {e}")))?
            .map_err(db)?;
        if kind == Kind::Bookkeeping {
            sqlx::query(include_str!("serialize.sql"))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        Ok(PgTxn { tx })
    }
}

fn statement(e: crate::HandlerError) -> ProjectionError {
    ProjectionError::ReadModel(e.to_string())
}

async fn run(conn: &mut PgConnection, sql: &str, args: &[SqlValue]) -> Result<(), ProjectionError> {
    bound(sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())), args)
        .map_err(statement)?
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

async fn fetch(
    conn: &mut PgConnection,
    sql: &str,
    args: &[SqlValue],
) -> Result<Vec<Row>, ProjectionError> {
    let rows = bound(sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())), args)
        .map_err(statement)?
        .fetch_all(conn)
        .await
        .map_err(db)?;
    rows.iter()
        .map(|row| portable_row(row).map_err(statement))
        .collect()
}

impl Txn for PgTxn {
    const OWN: &'static OwnSql = &OWN;

    async fn execute(&mut self, sql: &str, args: &[SqlValue]) -> Result<(), ProjectionError> {
        run(&mut self.tx, sql, args).await
    }

    async fn query(&mut self, sql: &str, args: &[SqlValue]) -> Result<Vec<Row>, ProjectionError> {
        fetch(&mut self.tx, sql, args).await
    }

    async fn commit(self) -> Result<(), ProjectionError> {
        self.tx.commit().await.map_err(db)
    }
}

/// The reads of the bookkeeping (`Kind::Read`: a tool's listing, a
/// standby's look at the live generation) on a pooled connection, outside
/// any transaction: each is one statement, so it needs no `BEGIN` (a round
/// trip a standby would pay at every poll), and a read dropped half way
/// (its runner aborted) has no transaction to leave open.
pub(crate) struct PgRead {
    conn: PoolConnection<Postgres>,
}

impl PgRead {
    /// A connection of `pool`.
    pub(crate) async fn begin(pool: &PgPool) -> Result<Self, ProjectionError> {
        Ok(PgRead {
            conn: pool.acquire().await.map_err(db)?,
        })
    }
}

impl Txn for PgRead {
    const OWN: &'static OwnSql = &OWN;

    async fn execute(&mut self, sql: &str, args: &[SqlValue]) -> Result<(), ProjectionError> {
        run(&mut self.conn, sql, args).await
    }

    async fn query(&mut self, sql: &str, args: &[SqlValue]) -> Result<Vec<Row>, ProjectionError> {
        fetch(&mut self.conn, sql, args).await
    }

    async fn commit(self) -> Result<(), ProjectionError> {
        Ok(())
    }
}
