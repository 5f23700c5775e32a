//! [`DocumentProjection`]: a read model that is one serde value per key
//! ("the latest state of X"), on every read-model database.

use serde::de::DeserializeOwned;
use serde::Serialize;

use disco_cqrs::Envelope;

use crate::definition::Projection;
use crate::interest::Interest;
use crate::HandlerError;

/// The table of a [`DocumentProjection`]: its one table, a key and the
/// document as JSON text (`{table}` is the generation's table).
pub const DOCUMENT_TABLE_SQL: &str =
    "CREATE TABLE {table} (id TEXT PRIMARY KEY, document TEXT NOT NULL)";

/// A read model of one document per key: for each event, the document of
/// its key (by default its aggregate's id) is read, changed by
/// [`DocumentProjection::apply`] and written back, in the batch's
/// transaction, exactly once. It keeps one table, `TABLES[0]`
/// ([`DOCUMENT_TABLE_SQL`]); queries read it by key with the facade's
/// `ReadModelDb::document` and `ReadModelDb::document_page`.
///
/// ```
/// use disco::cqrs::doc_fixture::{Added, Counter};
/// use disco::projections::sql::DocumentProjection;
/// use disco::projections::{Envelope, HandlerError, Interest, Projection};
///
/// #[derive(Default, serde::Serialize, serde::Deserialize)]
/// struct CounterView { total: u64, additions: u32 }
///
/// struct Counters;
///
/// impl Projection for Counters {
///     type Event = Added;
///     const NAME: &'static str = "counter_views";
///     const TABLES: &'static [&'static str] = &["counter_views"];
///     fn interest() -> Interest { Interest::aggregate::<Counter>() }
/// }
///
/// impl DocumentProjection for Counters {
///     type Document = CounterView;
///     fn apply(&self, view: &mut Option<CounterView>, e: &Envelope<Added>) -> Result<(), HandlerError> {
///         let view = view.get_or_insert_with(CounterView::default);
///         view.total += e.event.0;
///         view.additions += 1;
///         Ok(())
///     }
/// }
/// ```
pub trait DocumentProjection: Projection {
    /// The document kept per key.
    type Document: Serialize + DeserializeOwned + Send;

    /// The key of the document `event` changes (`None`: it changes none).
    /// By default, the event's aggregate id.
    fn key(&self, event: &Envelope<Self::Event>) -> Option<String> {
        Some(event.aggregate_id.clone())
    }

    /// Changes the document: `None` when there is none yet; leave or set
    /// `None` to have none (a stored one is deleted).
    fn apply(
        &self,
        document: &mut Option<Self::Document>,
        event: &Envelope<Self::Event>,
    ) -> Result<(), HandlerError>;
}

/// A [`DocumentProjection`] as an adapter's projection (see [`Portable`](super::Portable)).
#[derive(Debug)]
pub struct Documents<P>(pub P);

impl<P: DocumentProjection> Projection for Documents<P> {
    type Event = P::Event;
    const NAME: &'static str = P::NAME;
    const VERSION: u32 = P::VERSION;
    const TABLES: &'static [&'static str] = P::TABLES;

    fn interest() -> Interest {
        P::interest()
    }
}

impl<P: DocumentProjection> Documents<P> {
    /// The document table's physical name in `tables`' generation.
    pub(crate) fn table(tables: &crate::Tables) -> Result<String, HandlerError> {
        match P::TABLES {
            [table] => Ok(tables.name(table)),
            _ => Err(format!(
                "document projection {} must declare exactly one table, not {}",
                P::NAME,
                P::TABLES.len()
            )
            .into()),
        }
    }

    /// The document after `event`, from the stored one's JSON text.
    pub(crate) fn next(
        &self,
        stored: Option<String>,
        event: &Envelope<P::Event>,
    ) -> Result<Option<String>, HandlerError> {
        let mut document =
            match stored {
                Some(text) => Some(serde_json::from_str::<P::Document>(&text).map_err(|e| {
                    format!("a stored document of {} does not decode: {e}", P::NAME)
                })?),
                None => None,
            };
        self.0.apply(&mut document, event)?;
        document
            .map(|d| serde_json::to_string(&d))
            .transpose()
            .map_err(|e| format!("a document of {} does not encode: {e}", P::NAME).into())
    }
}
