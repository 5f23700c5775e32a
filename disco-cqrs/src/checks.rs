//! What an asynchronous validation step works with: [`Lookup`] (the store,
//! and any aggregate as stored now) and [`Checks`] (the lookup, where the
//! command goes, and the field problems found so far).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

use crate::aggregate::Aggregate;
use crate::field_errors::FieldErrors;
use crate::orchestrator::DispatchError;
use crate::params::aggregate_id_problem;
use crate::repository::Repository;
use disco_core::EventStore;

/// What an asynchronous validation step may read: the store, and any
/// aggregate as stored now.
///
/// ```
/// # async fn demo(lookup: disco::cqrs::Lookup) -> Result<(), disco::cqrs::DispatchError> {
/// use disco::cqrs::doc_fixture::Counter;
/// if !lookup.exists::<Counter>("c-9").await? {
///     // report it on the field that named it
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Lookup {
    store: Arc<dyn EventStore>,
}

impl std::fmt::Debug for Lookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lookup").finish_non_exhaustive()
    }
}

impl Lookup {
    /// A lookup over `store`.
    pub fn new(store: Arc<dyn EventStore>) -> Self {
        Lookup { store }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    /// Whether aggregate `A` with `id` has any event (an id that cannot be
    /// one of `A` does not exist).
    pub async fn exists<A: Aggregate + Clone>(&self, id: &str) -> Result<bool, DispatchError> {
        if aggregate_id_problem::<A>(id).is_some() {
            return Ok(false);
        }
        let stream = Repository::<A>::stream_of(id)?;
        Ok(self.store.stream_version(&stream).await? > 0)
    }

    /// Aggregate `A` with `id` as stored now, `None` if it has no event.
    pub async fn load<A: Aggregate + Clone>(&self, id: &str) -> Result<Option<A>, DispatchError> {
        if !self.exists::<A>(id).await? {
            return Ok(None);
        }
        let (state, _) = Repository::<A>::new(self.store.clone()).load(id).await?;
        Ok(Some(state))
    }
}

/// The message [`Checks::exists`] and [`Checks::load`] record for an
/// aggregate that is not there.
pub fn no_such<A: Aggregate>() -> String {
    format!("there is no {} with this id", A::NAME)
}

/// An asynchronous validation step's view of one dispatch: a [`Lookup`] of
/// the store, the id the command goes to, and the problems found so far.
/// Record problems on the field they are about; a failed read of the store
/// is not a field problem: return it (`?`), and the dispatch fails with it.
///
/// The step also runs when some fields did not decode, so that every
/// problem comes back in one answer: such a field holds a stand-in value,
/// and whatever is recorded on it is dropped ([`Checks::decoded`] says
/// which fields did decode, for checks that combine fields).
///
/// ```
/// # fn demo(store: std::sync::Arc<dyn disco::EventStore>) -> Result<(), disco::cqrs::BuildError> {
/// use disco::cqrs::{doc_fixture::Counter, Orchestrator, Target};
///
/// #[derive(serde::Deserialize)]
/// struct Copy { from: String, to: String }
///
/// let app = Orchestrator::builder(store)
///     .aggregate::<Counter, _>(|routes| {
///         routes.validated(
///             "copy",
///             |copy: Copy, _| Some((Target::Existing(copy.to), 1)),
///             |copy: Copy, checks| async move {
///                 if let Some(from) = checks.load::<Counter>("from", &copy.from).await? {
///                     checks.check("from", from.value > 0, "must not be empty");
///                 }
///                 Ok(())
///             },
///         )
///     })
///     .build()?;
/// # let _ = app; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Checks {
    lookup: Lookup,
    aggregate_id: Option<String>,
    stand_ins: Arc<BTreeSet<String>>,
    errors: Arc<Mutex<FieldErrors>>,
}

impl Checks {
    pub(crate) fn new(
        lookup: Lookup,
        aggregate_id: Option<String>,
        stand_ins: Arc<BTreeSet<String>>,
    ) -> Self {
        Checks {
            lookup,
            aggregate_id,
            stand_ins,
            errors: Arc::default(),
        }
    }

    /// The store, and any aggregate as stored now.
    pub fn lookup(&self) -> &Lookup {
        &self.lookup
    }

    /// The id of the aggregate the command goes to (a new one's too);
    /// `None` when the parameters had problems that kept the route from
    /// naming it.
    pub fn aggregate_id(&self) -> Option<&str> {
        self.aggregate_id.as_deref()
    }

    /// Whether `field` decoded (`false`: it holds a stand-in, and its
    /// problem is already reported).
    pub fn decoded(&self, field: &str) -> bool {
        !self.stand_ins.contains(field)
    }

    /// Records `message` for `field`.
    pub fn invalid(&self, field: &str, message: impl Into<String>) {
        if self.decoded(field) {
            self.errors
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .add(field, message);
        }
    }

    /// Records `message` for `field` unless `ok`; returns `ok`.
    pub fn check(&self, field: &str, ok: bool, message: &str) -> bool {
        if !ok {
            self.invalid(field, message);
        }
        ok
    }

    /// Whether aggregate `A` with the id in `field` exists; if not, records
    /// "there is no {A::NAME} with this id" on `field`. A field that did
    /// not decode is not looked up (`false`).
    pub async fn exists<A: Aggregate + Clone>(
        &self,
        field: &str,
        id: &str,
    ) -> Result<bool, DispatchError> {
        if !self.decoded(field) {
            return Ok(false);
        }
        let exists = self.lookup.exists::<A>(id).await?;
        self.check(field, exists, &no_such::<A>());
        Ok(exists)
    }

    /// Aggregate `A` with the id in `field`, as stored now; if there is
    /// none, records "there is no {A::NAME} with this id" on `field`. A
    /// field that did not decode is not looked up (`None`).
    pub async fn load<A: Aggregate + Clone>(
        &self,
        field: &str,
        id: &str,
    ) -> Result<Option<A>, DispatchError> {
        if !self.decoded(field) {
            return Ok(None);
        }
        let loaded = self.lookup.load::<A>(id).await?;
        self.check(field, loaded.is_some(), &no_such::<A>());
        Ok(loaded)
    }

    /// The problems recorded so far.
    pub fn errors(&self) -> FieldErrors {
        self.errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
