//! [`SqliteProjector`]: a [`SqliteProjection`] bound to its database, as
//! the runner's [`ReadModel`](crate::ReadModel) (the bookkeeping itself is
//! written once, in `adapter`).

use std::sync::Arc;

use async_trait::async_trait;

use disco_cqrs::Envelope;

use super::txn::SqliteTxn;
use super::{SqliteProjection, SqliteReadModels};
use crate::adapter::{self, Adapter, Done, Handler, Op};
use crate::definition::Tables;
use crate::error::ProjectionError;
use crate::interest::Interest;
use crate::read_model::{GenerationRow, PartitionRow};
use crate::HandlerError;

/// A [`SqliteProjection`] writing to a [`SqliteReadModels`] database.
pub struct SqliteProjector<P> {
    models: SqliteReadModels,
    handling: Arc<Handling<P>>,
}

/// The projection and what it reads, shared with the blocking thread.
struct Handling<P> {
    projection: P,
    interest: Interest,
}

impl<P> std::fmt::Debug for SqliteProjector<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteProjector")
            .field("interest", &self.handling.interest)
            .finish()
    }
}

impl<P: SqliteProjection> SqliteProjector<P> {
    pub(crate) fn new(models: SqliteReadModels, projection: P) -> Self {
        SqliteProjector {
            models,
            handling: Arc::new(Handling {
                projection,
                interest: P::interest(),
            }),
        }
    }
}

impl<P: SqliteProjection> Handler<SqliteTxn<'_>> for Handling<P> {
    type Projection = P;

    fn interest(&self) -> &Interest {
        &self.interest
    }

    async fn setup(&self, tx: &mut SqliteTxn<'_>, tables: &Tables) -> Result<(), HandlerError> {
        self.projection.setup(&tx.tx, tables)
    }

    async fn apply(
        &self,
        tx: &mut SqliteTxn<'_>,
        tables: &Tables,
        event: Envelope<P::Event>,
    ) -> Result<(), HandlerError> {
        self.projection.apply(&tx.tx, tables, event)
    }
}

#[async_trait]
impl<P: SqliteProjection> Adapter for SqliteProjector<P> {
    type Projection = P;

    fn interest(&self) -> &Interest {
        &self.handling.interest
    }

    async fn transact(&self, op: Op) -> Result<Done, ProjectionError> {
        let handling = self.handling.clone();
        self.models
            .blocking(move |conn| {
                let tx = SqliteTxn::begin(conn, op.kind())?;
                adapter::finish(adapter::run(tx, &*handling, op))?
            })
            .await
    }

    async fn all_generations(&self) -> Result<Vec<GenerationRow>, ProjectionError> {
        self.models.list().await
    }

    async fn all_partitions(&self) -> Result<Vec<PartitionRow>, ProjectionError> {
        self.models.list_partitions().await
    }
}
