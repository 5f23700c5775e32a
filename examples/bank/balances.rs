//! The `balances` read model: one row per account, kept by a projection in
//! the store's own database (beside a redb file, in memory for `memory:`),
//! written once for SQLite and PostgreSQL.

use std::sync::Arc;

use disco::projections::sql::{SqlProjection, Statements};
use disco::projections::{
    args, Envelope, HandlerError, Interest, Projection, ProjectionError, ProjectionHandle,
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

impl SqlProjection for Balances {
    fn setup(&self, sql: &mut Statements) {
        sql.run(
            "CREATE TABLE {balances} (account_id TEXT PRIMARY KEY, balance BIGINT NOT NULL)",
            args![],
        );
    }

    fn apply(
        &self,
        event: Envelope<AccountEvent>,
        sql: &mut Statements,
    ) -> Result<(), HandlerError> {
        sql.run(
            "INSERT INTO {balances} (account_id, balance) VALUES ($1, $2)
             ON CONFLICT (account_id) DO UPDATE SET balance = {balances}.balance + excluded.balance",
            args![event.aggregate_id, change(&event.event)],
        );
        Ok(())
    }
}

/// Starts the projection that keeps the balances.
pub fn start(
    models: &ReadModelDb,
    store: Arc<dyn EventStore>,
) -> Result<ProjectionHandle, ProjectionError> {
    models.projection(Balances).start(store)
}

/// The balance of `account`, if the read model has it.
pub async fn balance_of(
    models: &ReadModelDb,
    account: String,
) -> Result<Option<i64>, ProjectionError> {
    models
        .query_scalar(
            "SELECT balance FROM balances WHERE account_id = $1",
            args![account],
        )
        .await
}
