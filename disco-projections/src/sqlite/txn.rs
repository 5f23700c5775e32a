//! A transaction of a SQLite read-model database, as the shared
//! bookkeeping runs it ([`Txn`]).

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::db;
use super::portable::{bind, query};
use crate::adapter::{Kind, OwnSql, Txn};
use crate::error::ProjectionError;
use crate::sql::{Row, SqlValue};

/// SQLite's own statements.
static OWN: OwnSql = OwnSql {
    bookkeeping_table: include_str!("bookkeeping.sql"),
    partitions_table: include_str!("partitions.sql"),
    has_bookkeeping: include_str!("has_bookkeeping.sql"),
    has_partitions: include_str!("has_partitions.sql"),
    lock_row: include_str!("lock_row.sql"),
    lock_partition: include_str!("lock_partition.sql"),
    // A write transaction holds the database's one write lock already.
    lock_generations: None,
    object_kind: include_str!("object_kind.sql"),
};

/// One transaction on the read models' connection; its steps never wait
/// (they run on the connection's blocking thread).
pub(crate) struct SqliteTxn<'c> {
    pub(crate) tx: Transaction<'c>,
}

impl<'c> SqliteTxn<'c> {
    /// Opens a transaction of `kind`: a write takes the write lock at once
    /// (so two runners serialize on it rather than failing at their first
    /// write); a read takes none.
    pub(crate) fn begin(conn: &'c mut Connection, kind: Kind) -> Result<Self, ProjectionError> {
        let behavior = match kind {
            Kind::Read => TransactionBehavior::Deferred,
            Kind::Bookkeeping | Kind::Batch => TransactionBehavior::Immediate,
        };
        let tx = conn.transaction_with_behavior(behavior).map_err(db)?;
        Ok(SqliteTxn { tx })
    }
}

impl Txn for SqliteTxn<'_> {
    const OWN: &'static OwnSql = &OWN;

    async fn execute(&mut self, sql: &str, args: &[SqlValue]) -> Result<(), ProjectionError> {
        let mut statement = self.tx.prepare_cached(sql).map_err(db)?;
        bind(&mut statement, args).map_err(|e| ProjectionError::ReadModel(e.to_string()))?;
        statement.raw_execute().map_err(db)?;
        Ok(())
    }

    async fn query(&mut self, sql: &str, args: &[SqlValue]) -> Result<Vec<Row>, ProjectionError> {
        query(&self.tx, sql, args).map_err(|e| ProjectionError::ReadModel(e.to_string()))
    }

    async fn commit(self) -> Result<(), ProjectionError> {
        self.tx.commit().map_err(db)
    }
}
