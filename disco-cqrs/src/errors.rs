//! The CQRS layer's own failures, kept apart from the store's: an
//! aggregate's refusal with its typed error, a payload that does not encode
//! or decode, a route table built wrong.

use std::sync::Arc;

/// An event, a state, an answer or metadata that did not encode or decode:
/// a fault of the domain types (or a stored payload they no longer read,
/// which an upcaster should lift), not of the store.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CodecError(pub String);

/// Why an orchestrator could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Two command routes, or two query routes, share a name.
    #[error("{0:?} is registered twice")]
    Duplicate(String),
}

/// An application's error kept typed: an aggregate's refusal of a command,
/// or a query's failure. The named path shows its message; the caller gets
/// the typed error back with [`Rejection::downcast_ref`].
///
/// ```
/// use disco::cqrs::Rejection;
/// #[derive(Debug, thiserror::Error, PartialEq)]
/// #[error("insufficient funds: {0} short")]
/// struct Overdraft(u64);
/// let rejection = Rejection::new(Overdraft(5));
/// assert_eq!(rejection.to_string(), "insufficient funds: 5 short");
/// assert_eq!(rejection.downcast_ref::<Overdraft>(), Some(&Overdraft(5)));
/// ```
#[derive(Clone, Debug)]
pub struct Rejection {
    error: Arc<dyn std::error::Error + Send + Sync + 'static>,
}

impl Rejection {
    /// Keeps `error` as the refusal.
    pub fn new(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Rejection {
            error: Arc::new(error),
        }
    }

    /// Keeps an error already boxed.
    pub(crate) fn from_boxed(error: Box<dyn std::error::Error + Send + Sync + 'static>) -> Self {
        Rejection {
            error: Arc::from(error),
        }
    }

    /// The application's error as its own type, if it is an `E`.
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.error.downcast_ref::<E>()
    }

    /// The application's error.
    pub fn error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.error
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for Rejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.error)
    }
}

/// Why an aggregate could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// One of its events did not decode.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The store failed (or the id makes no valid stream id).
    #[error(transparent)]
    Store(#[from] disco_core::Error),
}
