//! [`AggregateRoutes`]: the commands of one aggregate, decoded field by
//! field ([`AggregateRoutes::command`]) or by serde
//! ([`AggregateRoutes::decoded`]), with an optional asynchronous
//! validation step ([`AggregateRoutes::validated`]) that may look at the
//! store through a [`Lookup`].

use std::future::Future;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::aggregate::Aggregate;
use crate::decode_fields::decode_fields;
use crate::orchestrator::{
    finish_params, BoxFuture, CommandRoute, DispatchError, Dispatched, Prepared, Target,
};
use crate::params::{aggregate_id_problem, FieldErrors, Params};
use crate::repository::Repository;
use disco_core::{EventStore, Uuid};

/// A command's asynchronous validation: every field problem, or none.
type Validate<C> = Arc<dyn Fn(C, Lookup) -> BoxFuture<Result<(), FieldErrors>> + Send + Sync>;

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

/// The routes of one aggregate, given to
/// [`OrchestratorBuilder::aggregate`](crate::OrchestratorBuilder::aggregate).
pub struct AggregateRoutes<A: Aggregate + Clone> {
    pub(crate) repository: Arc<Repository<A>>,
    pub(crate) commands: Vec<(String, CommandRoute)>,
}

impl<A: Aggregate + Clone> AggregateRoutes<A> {
    /// Registers the command `name`: `decode` reads its parameters (every
    /// problem recorded in the [`Params`]) into where it goes and the
    /// aggregate's command.
    pub fn command<D>(self, name: &str, decode: D) -> Self
    where
        D: Fn(&mut Params) -> Option<(Target, A::Command)> + Send + Sync + 'static,
    {
        self.route(
            name,
            move |params| {
                let mut p = Params::new(params);
                let decoded = decode(&mut p);
                (p, decoded)
            },
            None,
        )
    }

    /// Registers the command `name` decoded by serde: the parameters are a
    /// `C`, with unknown fields refused and every field's problem reported
    /// under its name, all together ([`decode_fields`]); then `map` turns
    /// the `C` into where it goes and the aggregate's command, recording
    /// any further problem in the [`Params`] it is given.
    ///
    /// ```
    /// # fn demo(store: std::sync::Arc<dyn disco::EventStore>) -> Result<(), disco::cqrs::BuildError> {
    /// use disco::cqrs::{doc_fixture::Counter, Orchestrator, Target};
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Add { counter_id: String, n: u64 }
    ///
    /// let app = Orchestrator::builder(store)
    ///     .aggregate::<Counter, _>(|routes| {
    ///         routes.decoded("add", |add: Add, p| {
    ///             p.check("n", add.n > 0, "must be more than zero");
    ///             Some((Target::Existing(add.counter_id), add.n))
    ///         })
    ///     })
    ///     .build()?;
    /// # let _ = app; Ok(()) }
    /// ```
    pub fn decoded<C, M>(self, name: &str, map: M) -> Self
    where
        C: DeserializeOwned + 'static,
        M: Fn(C, &mut Params) -> Option<(Target, A::Command)> + Send + Sync + 'static,
    {
        self.route(name, serde_decoder(map), None)
    }

    /// [`AggregateRoutes::decoded`] with an asynchronous validation step
    /// that runs once the parameters decoded, before the command:
    /// `validate` gets the command and a [`Lookup`] of the store, and
    /// answers every field problem it finds (say, "no such account" on
    /// `to`), which comes back as [`DispatchError::Validation`] with
    /// nothing written. For [`Orchestrator::dispatch_async`](crate::Orchestrator::dispatch_async)
    /// it runs in the background task, so its problems arrive through the
    /// outcome.
    pub fn validated<C, M, V, Fut>(self, name: &str, map: M, validate: V) -> Self
    where
        C: DeserializeOwned + 'static,
        M: Fn(C, &mut Params) -> Option<(Target, A::Command)> + Send + Sync + 'static,
        V: Fn(A::Command, Lookup) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), FieldErrors>> + Send + 'static,
    {
        let validate: Validate<A::Command> =
            Arc::new(move |command, lookup| Box::pin(validate(command, lookup)));
        self.route(name, serde_decoder(map), Some(validate))
    }

    /// Registers a route: `decode` gives the parameters' problems so far
    /// and the decoded command; the aggregate id is checked here.
    fn route<D>(mut self, name: &str, decode: D, validate: Option<Validate<A::Command>>) -> Self
    where
        D: Fn(Value) -> (Params, Option<(Target, A::Command)>) + Send + Sync + 'static,
    {
        let repository = self.repository.clone();
        let route: CommandRoute = Arc::new(move |params: Value, new_id: Option<Uuid>| {
            let (mut p, decoded) = decode(params);
            // Invariant: an id that makes no valid stream id is the caller's
            // mistake, reported on its field (the one holding it) with every
            // other message, never as a store error.
            if let Some((Target::Existing(id), _)) = &decoded {
                if let Some(problem) = aggregate_id_problem::<A>(id) {
                    let field = p.field_holding(id).unwrap_or_else(|| "id".to_owned());
                    p.invalid(&field, problem);
                }
            }
            let (target, command) = finish_params(p, decoded)?;
            let (id, new) = match target {
                Target::New => (new_id.unwrap_or_else(Uuid::now_v7).to_string(), true),
                Target::Existing(id) => (id, false),
            };
            let repository = repository.clone();
            let validate = validate.clone();
            let run_id = id.clone();
            let prepared: Prepared = Box::new(move |context| {
                Box::pin(async move {
                    if let Some(validate) = validate {
                        let lookup = Lookup::new(repository.store().clone());
                        validate(command.clone(), lookup)
                            .await
                            .map_err(DispatchError::Validation)?;
                    }
                    // A new id was made just now: nothing to read.
                    let done = if new {
                        repository.execute_new(&run_id, command, &context).await?
                    } else {
                        repository.execute(&run_id, command, &context).await?
                    };
                    Dispatched::try_from(done)
                })
            });
            Ok((id, prepared))
        });
        self.commands.push((name.to_owned(), route));
        self
    }
}

/// The decoder of a serde route: [`decode_fields`], then `map` (only once
/// the fields decoded) with the original parameters kept for the id check.
fn serde_decoder<C, T, M>(map: M) -> impl Fn(Value) -> (Params, Option<T>) + Send + Sync + 'static
where
    C: DeserializeOwned + 'static,
    M: Fn(C, &mut Params) -> Option<T> + Send + Sync + 'static,
{
    move |params: Value| {
        let decoded = decode_fields::<C>(params.clone());
        let mut p = Params::new(params);
        let result = match decoded {
            Ok(command) => map(command, &mut p),
            Err(errors) => {
                for (field, messages) in errors {
                    for message in messages {
                        let known = p.errors().get(&field).is_some_and(|m| m.contains(&message));
                        if !known {
                            p.invalid(&field, message);
                        }
                    }
                }
                None
            }
        };
        (p, result)
    }
}
