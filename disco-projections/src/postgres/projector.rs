//! [`PgProjector`]: a [`PgProjection`] bound to its database, as the
//! runner's [`ReadModel`](crate::ReadModel) (the bookkeeping itself is
//! written once, in `adapter`).

use async_trait::async_trait;

use disco_cqrs::Envelope;

use super::txn::PgTxn;
use super::{PgProjection, PgReadModels};
use crate::adapter::{self, Adapter, Done, Handler, Op};
use crate::definition::Tables;
use crate::error::ProjectionError;
use crate::interest::Interest;
use crate::read_model::{GenerationRow, PartitionRow};
use crate::HandlerError;

/// A [`PgProjection`] writing to a [`PgReadModels`] database.
pub struct PgProjector<P> {
    models: PgReadModels,
    handling: Handling<P>,
}

/// The projection and what it reads.
struct Handling<P> {
    projection: P,
    interest: Interest,
}

impl<P> std::fmt::Debug for PgProjector<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgProjector")
            .field("interest", &self.handling.interest)
            .finish()
    }
}

impl<P: PgProjection> PgProjector<P> {
    pub(crate) fn new(models: PgReadModels, projection: P) -> Self {
        PgProjector {
            models,
            handling: Handling {
                projection,
                interest: P::interest(),
            },
        }
    }
}

impl<P: PgProjection> Handler<PgTxn> for Handling<P> {
    type Projection = P;

    fn interest(&self) -> &Interest {
        &self.interest
    }

    async fn setup(&self, tx: &mut PgTxn, tables: &Tables) -> Result<(), HandlerError> {
        self.projection.setup(&mut tx.tx, tables).await
    }

    async fn apply(
        &self,
        tx: &mut PgTxn,
        tables: &Tables,
        event: Envelope<P::Event>,
    ) -> Result<(), HandlerError> {
        self.projection.apply(&mut tx.tx, tables, event).await
    }
}

#[async_trait]
impl<P: PgProjection> Adapter for PgProjector<P> {
    type Projection = P;

    fn interest(&self) -> &Interest {
        &self.handling.interest
    }

    async fn transact(&self, op: Op) -> Result<Done, ProjectionError> {
        let tx = PgTxn::begin(self.models.pool(), op.kind()).await?;
        adapter::run(tx, &self.handling, op).await
    }

    async fn all_generations(&self) -> Result<Vec<GenerationRow>, ProjectionError> {
        self.models.list().await
    }

    async fn all_partitions(&self) -> Result<Vec<PartitionRow>, ProjectionError> {
        self.models.list_partitions().await
    }
}
