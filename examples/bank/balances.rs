//! The `balances` read model: one row per account, kept by a projection in
//! the store's own database (beside a redb file, in memory for `memory:`).

use std::sync::Arc;

#[cfg(feature = "postgres")]
use disco::projections::postgres::{sqlx, PgTransaction};
use disco::projections::sqlite::{rusqlite, SqliteProjection};
use disco::projections::{
    Envelope, HandlerError, Interest, Projection, ProjectionError, ProjectionHandle, Projector,
    Tables,
};
use disco::{EventStore, ReadModelDb};

use crate::domain::{Account, AccountEvent};

pub struct Balances;

impl Projection for Balances {
    type Event = AccountEvent;
    const NAME: &'static str = "balances";
    const TABLES: &'static [&'static str] = &["balances"];

    fn interest() -> Interest {
        Interest::aggregate::<Account>()
    }
}

/// What an event does to the account's balance.
fn change(event: &AccountEvent) -> i64 {
    match event {
        AccountEvent::Opened { initial } => *initial,
        AccountEvent::Debited { amount, .. } => -amount,
        AccountEvent::Credited { amount, .. } | AccountEvent::Refunded { amount, .. } => *amount,
        AccountEvent::Closed => 0,
    }
}

impl SqliteProjection for Balances {
    fn setup(&self, tx: &rusqlite::Transaction<'_>, tables: &Tables) -> Result<(), HandlerError> {
        let balances = tables.name("balances");
        tx.execute_batch(&format!(
            "CREATE TABLE {balances} (account_id TEXT PRIMARY KEY, balance INTEGER NOT NULL)"
        ))?;
        Ok(())
    }

    fn apply(
        &self,
        tx: &rusqlite::Transaction<'_>,
        tables: &Tables,
        event: Envelope<AccountEvent>,
    ) -> Result<(), HandlerError> {
        let balances = tables.name("balances");
        tx.execute(
            &format!(
                "INSERT INTO {balances} (account_id, balance) VALUES (?1, ?2)
                 ON CONFLICT (account_id) DO UPDATE SET balance = balance + excluded.balance"
            ),
            rusqlite::params![event.aggregate_id, change(&event.event)],
        )?;
        Ok(())
    }
}

#[cfg(feature = "postgres")]
#[disco::async_trait]
impl disco::projections::postgres::PgProjection for Balances {
    async fn setup(&self, tx: &mut PgTransaction, tables: &Tables) -> Result<(), HandlerError> {
        let balances = tables.name("balances");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE TABLE {balances} (account_id TEXT PRIMARY KEY, balance BIGINT NOT NULL)"
        )))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn apply(
        &self,
        tx: &mut PgTransaction,
        tables: &Tables,
        event: Envelope<AccountEvent>,
    ) -> Result<(), HandlerError> {
        let balances = tables.name("balances");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO {balances} (account_id, balance) VALUES ($1, $2)
             ON CONFLICT (account_id) DO UPDATE SET balance = {balances}.balance + excluded.balance"
        )))
        .bind(event.aggregate_id.clone())
        .bind(change(&event.event))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

/// Starts the projection that keeps the balances.
pub fn start(
    models: &ReadModelDb,
    store: Arc<dyn EventStore>,
) -> Result<ProjectionHandle, ProjectionError> {
    let projector = match models {
        ReadModelDb::Sqlite(m) => Projector::new(m.projection(Balances)),
        #[cfg(feature = "postgres")]
        ReadModelDb::Postgres(m) => Projector::new(m.projection(Balances)),
    };
    projector.start(store)
}

/// The balance of `account`, if the read model has it.
pub async fn balance_of(
    models: &ReadModelDb,
    account: String,
) -> Result<Option<i64>, ProjectionError> {
    match models {
        ReadModelDb::Sqlite(m) => {
            m.with_connection(move |c| {
                use rusqlite::OptionalExtension;
                c.query_row(
                    "SELECT balance FROM balances WHERE account_id = ?1",
                    [account],
                    |r| r.get(0),
                )
                .optional()
            })
            .await
        }
        #[cfg(feature = "postgres")]
        ReadModelDb::Postgres(m) => {
            sqlx::query_scalar("SELECT balance FROM balances WHERE account_id = $1")
                .bind(account)
                .fetch_optional(m.pool())
                .await
                .map_err(|e| ProjectionError::ReadModel(e.to_string()))
        }
    }
}
