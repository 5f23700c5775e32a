//! [`SqlProjection`]: a projection written once, as statements, for every
//! read-model database; [`Portable`] runs one through an adapter.

use disco_cqrs::Envelope;

use super::Statements;
use crate::definition::Projection;
use crate::interest::Interest;
use crate::HandlerError;

/// A projection for every read-model database: its tables and what each
/// event does to them, as [`Statements`] in the SQL SQLite and PostgreSQL
/// share (see [the module](crate::sql)). Start it with the facade's
/// `ReadModelDb::projection` (or wrap it in [`Portable`] for one adapter).
///
/// ```
/// use disco::cqrs::doc_fixture::{Added, Counter};
/// use disco::projections::sql::{SqlProjection, Statements};
/// use disco::projections::{args, Envelope, HandlerError, Interest, Projection};
///
/// struct Totals;
///
/// impl Projection for Totals {
///     type Event = Added;
///     const NAME: &'static str = "totals";
///     const TABLES: &'static [&'static str] = &["totals"];
///     fn interest() -> Interest { Interest::aggregate::<Counter>() }
/// }
///
/// impl SqlProjection for Totals {
///     fn setup(&self, sql: &mut Statements) {
///         sql.run("CREATE TABLE {totals} (id TEXT PRIMARY KEY, total BIGINT NOT NULL)", args![]);
///     }
///     fn apply(&self, e: Envelope<Added>, sql: &mut Statements) -> Result<(), HandlerError> {
///         sql.run(
///             "INSERT INTO {totals} (id, total) VALUES ($1, $2)
///              ON CONFLICT (id) DO UPDATE SET total = {totals}.total + excluded.total",
///             args![e.aggregate_id, e.event.0],
///         );
///         Ok(())
///     }
/// }
/// ```
pub trait SqlProjection: Projection {
    /// The statements that create the generation's tables and indexes.
    fn setup(&self, sql: &mut Statements);

    /// The statements that apply one event (run in order, in the batch's
    /// transaction). An error, here or from a statement, rolls back the
    /// whole batch.
    fn apply(&self, event: Envelope<Self::Event>, sql: &mut Statements)
        -> Result<(), HandlerError>;
}

/// A [`SqlProjection`] as an adapter's projection: the SQLite adapter's
/// `SqliteReadModels::projection(Portable(p))`, the PostgreSQL one's
/// `PgReadModels::projection(Portable(p))`.
#[derive(Debug)]
pub struct Portable<P>(pub P);

impl<P: SqlProjection> Projection for Portable<P> {
    type Event = P::Event;
    const NAME: &'static str = P::NAME;
    const VERSION: u32 = P::VERSION;
    const TABLES: &'static [&'static str] = P::TABLES;

    fn interest() -> Interest {
        P::interest()
    }
}
