//! [`Orchestrator`]: named commands and queries over any number of
//! aggregates, dispatched with JSON parameters.

use std::any::{Any, TypeId};
use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use tokio::task::JoinHandle;

use disco_runtime::measured::COMMAND_DURATION;
use tracing::Instrument;

use crate::aggregate::{Aggregate, CommandContext};
use crate::consistency::{DispatchOptions, ReadModels};
use crate::errors::{BuildError, CodecError, LoadError, Rejection};
use crate::field_errors::FieldErrors;
use crate::params::{oversized, Params};
use crate::repository::{ExecuteError, Executed, Repository};
use crate::routes::AggregateRoutes;
use crate::suggest::Unknown;
use disco_core::progress::{Behind, Progress};
use disco_core::{Error, EventStore, Uuid};

/// Where a decoded command goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A new aggregate: the orchestrator makes its id (a UUIDv7).
    New,
    /// The aggregate with this id.
    Existing(String),
}

/// Why a dispatch or query failed.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    /// No command of this name is registered (the nearest that is, or the
    /// names there are, in the message).
    #[error("unknown command {0}")]
    UnknownCommand(Unknown),
    /// No query of this name is registered (the nearest that is, or the
    /// names there are, in the message).
    #[error("unknown query {0}")]
    UnknownQuery(Unknown),
    /// The parameters did not decode or validate: field -> every message.
    #[error("invalid parameters: {0:?}")]
    Validation(FieldErrors),
    /// The aggregate refused the command; its typed error is kept
    /// ([`Rejection::downcast_ref`]).
    #[error("rejected: {0}")]
    Rejected(Rejection),
    /// The query failed with the application's own error, kept typed
    /// ([`Rejection::downcast_ref`]) and displayed as it is.
    #[error("{0}")]
    Query(Rejection),
    /// Concurrent writers kept changing the aggregate.
    #[error("conflict: {stream} kept changing under {attempts} attempts")]
    Conflict {
        /// The aggregate's stream.
        stream: String,
        /// Attempts made.
        attempts: u32,
    },
    /// An event, the state or an answer did not encode or decode: a fault
    /// of the domain types, not of the store.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] Error),
    /// An asynchronous dispatch's task ended without an outcome.
    #[error("the dispatch did not finish: {0}")]
    Lost(String),
    /// The dispatch options name a read model the orchestrator does not
    /// know; nothing was dispatched.
    #[error("unknown read model {0:?}")]
    UnknownReadModel(String),
    /// A read model waited for did not see the position in time (the
    /// command, if there was one, was done: its outcome is kept).
    #[error("{behind}")]
    Behind {
        /// Which read model is behind, and how far it got.
        behind: Behind,
        /// The command's outcome, for [`Orchestrator::dispatch_with`].
        dispatched: Option<Box<Dispatched>>,
    },
}

impl From<LoadError> for DispatchError {
    fn from(error: LoadError) -> Self {
        match error {
            LoadError::Codec(e) => DispatchError::Codec(e),
            LoadError::Store(e) => DispatchError::Store(e),
        }
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<ExecuteError<E>> for DispatchError {
    fn from(error: ExecuteError<E>) -> Self {
        match error {
            ExecuteError::Rejected(e) => DispatchError::Rejected(Rejection::new(e)),
            ExecuteError::Codec(e) => DispatchError::Codec(e),
            ExecuteError::Conflict { stream, attempts } => {
                DispatchError::Conflict { stream, attempts }
            }
            ExecuteError::Store(e) => DispatchError::Store(e),
        }
    }
}

/// A command's outcome, as JSON for callers that dispatch by name.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Dispatched {
    /// The aggregate's id.
    pub id: String,
    /// Its version after the command.
    pub version: u64,
    /// The position of the command's last event (0 if it wrote none).
    pub position: u64,
    /// Its state after the command, serialized.
    pub state: Value,
}

impl<A: Aggregate> TryFrom<Executed<A>> for Dispatched {
    type Error = DispatchError;

    fn try_from(done: Executed<A>) -> Result<Self, DispatchError> {
        let state = serde_json::to_value(&done.state).map_err(|e| {
            DispatchError::Codec(CodecError(format!("the state does not serialize: {e}")))
        })?;
        Ok(Dispatched {
            id: done.id,
            version: done.version,
            position: done.position,
            state,
        })
    }
}

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
pub(crate) type Prepared =
    Box<dyn FnOnce(CommandContext) -> BoxFuture<Result<Dispatched, DispatchError>> + Send>;
/// A command route: the parameters, and the id a `Target::New` takes when
/// the caller chose the command's id (so sending it again targets the same
/// aggregate); `None` makes a fresh one.
pub(crate) type CommandRoute =
    Arc<dyn Fn(Value, Option<Uuid>) -> Result<(String, Prepared), Refused> + Send + Sync>;

/// Why a route would not prepare a command: the parameters have `errors`;
/// `rest` is the route's validation step still to run, for the problems
/// only it finds.
pub(crate) struct Refused {
    pub(crate) errors: FieldErrors,
    pub(crate) rest: Option<BoxFuture<Result<FieldErrors, DispatchError>>>,
}

impl Refused {
    /// Every problem: the ones found so far and the validation step's (a
    /// validation step that cannot read the store adds none: the problems
    /// known stand).
    async fn all(self) -> DispatchError {
        let Refused { mut errors, rest } = self;
        if let Some(rest) = rest {
            match rest.await {
                Ok(more) => errors.merge(more),
                Err(error) => {
                    tracing::debug!(%error, "the validation step could not finish")
                }
            }
        }
        DispatchError::Validation(errors)
    }

    /// The problems found so far, without running the validation step.
    fn now(self) -> DispatchError {
        DispatchError::Validation(self.errors)
    }
}
type QueryRoute = Arc<
    dyn Fn(Value) -> Result<BoxFuture<Result<Value, DispatchError>>, DispatchError> + Send + Sync,
>;

/// Runs a query's `decode` on `params`: every field message it recorded,
/// or a general one if it gave up without recording any.
fn decode_params<T>(
    params: Value,
    decode: &impl Fn(&mut Params) -> Option<T>,
) -> Result<T, DispatchError> {
    let mut p = Params::new(params);
    let decoded = decode(&mut p);
    p.finish().map_err(DispatchError::Validation)?;
    decoded.ok_or_else(|| {
        let mut errors = FieldErrors::new();
        errors.insert(String::new(), vec!["the parameters are not valid".into()]);
        DispatchError::Validation(errors)
    })
}

/// Reports a named command's time and outcome ([`COMMAND_DURATION`]); an
/// unknown name is reported as `unknown`, so a caller cannot mint labels.
fn report<T, E: Borrow<DispatchError>>(
    name: &str,
    started: std::time::Instant,
    outcome: &Result<T, E>,
) {
    let (command, outcome) = match outcome.as_ref().map_err(Borrow::borrow) {
        Ok(_) => (name, "ok"),
        Err(DispatchError::UnknownCommand(_)) => ("unknown", "unknown"),
        Err(DispatchError::Validation(_)) => (name, "invalid"),
        Err(DispatchError::Rejected(_)) => (name, "rejected"),
        Err(DispatchError::Conflict { .. }) => (name, "conflict"),
        Err(DispatchError::Behind { .. }) => (name, "behind"),
        Err(_) => (name, "error"),
    };
    metrics::histogram!(
        COMMAND_DURATION,
        "disco.command" => command.to_owned(),
        "disco.outcome" => outcome
    )
    .record(started.elapsed().as_secs_f64());
}

/// A query's failure: a store error stays one, anything else is the
/// application's, kept typed.
fn query_failed<E: std::error::Error + Send + Sync + 'static>(error: E) -> DispatchError {
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(error);
    match boxed.downcast::<Error>() {
        Ok(store) => DispatchError::Store(*store),
        Err(other) => DispatchError::Query(Rejection::from_boxed(other)),
    }
}

/// Collects aggregates, commands and queries; [`OrchestratorBuilder::build`]
/// checks that no name is taken twice.
pub struct OrchestratorBuilder {
    store: Arc<dyn EventStore>,
    max_params: usize,
    read_models: ReadModels,
    commands: Vec<(String, CommandRoute)>,
    queries: Vec<(String, QueryRoute)>,
    repositories: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl OrchestratorBuilder {
    /// Registers aggregate `A` with the commands `routes` adds.
    pub fn aggregate<A, F>(mut self, routes: F) -> Self
    where
        A: Aggregate + Clone,
        F: FnOnce(AggregateRoutes<A>) -> AggregateRoutes<A>,
    {
        let repository = match self
            .repositories
            .get(&TypeId::of::<A>())
            .and_then(|r| r.clone().downcast::<Repository<A>>().ok())
        {
            Some(repository) => repository,
            None => {
                let repository = Arc::new(Repository::<A>::new(self.store.clone()));
                self.repositories
                    .insert(TypeId::of::<A>(), repository.clone());
                repository
            }
        };
        let routes = routes(AggregateRoutes {
            repository,
            commands: Vec::new(),
        });
        self.commands.extend(routes.commands);
        self
    }

    /// Registers the decision model `D` with the commands `routes` adds:
    /// dispatched by name beside the aggregates' commands, with the same
    /// parameter checks and outcome types.
    pub fn decision<D, F>(mut self, routes: F) -> Self
    where
        D: crate::Decision,
        F: FnOnce(crate::DecisionRoutes<D>) -> crate::DecisionRoutes<D>,
    {
        let routes = routes(crate::DecisionRoutes {
            store: self.store.clone(),
            commands: Vec::new(),
            _decision: std::marker::PhantomData,
        });
        self.commands.extend(routes.commands);
        self
    }

    /// Uses `repository` (say, with another cache size) for `A`; call it
    /// before [`OrchestratorBuilder::aggregate`].
    pub fn repository<A: Aggregate + Clone>(mut self, repository: Repository<A>) -> Self {
        self.repositories
            .insert(TypeId::of::<A>(), Arc::new(repository));
        self
    }

    /// Registers the query `name`: `decode` reads its parameters, `run`
    /// answers it. `run` fails with the application's own error type: it
    /// comes back as [`DispatchError::Query`], typed
    /// ([`Rejection::downcast_ref`]) and displayed as it is; a store
    /// [`Error`] stays [`DispatchError::Store`].
    pub fn query<Q, D, R, Fut, T, E>(mut self, name: &str, decode: D, run: R) -> Self
    where
        Q: Send + 'static,
        D: Fn(&mut Params) -> Option<Q> + Send + Sync + 'static,
        R: Fn(Q) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Serialize,
        E: std::error::Error + Send + Sync + 'static,
    {
        let run = Arc::new(run);
        let route: QueryRoute = Arc::new(move |params: Value| {
            let query = decode_params(params, &decode)?;
            let answer = run(query);
            Ok(Box::pin(async move {
                let answer = answer.await.map_err(query_failed)?;
                serde_json::to_value(answer).map_err(|e| {
                    DispatchError::Codec(CodecError(format!("the answer does not serialize: {e}")))
                })
            }) as BoxFuture<_>)
        });
        self.queries.push((name.to_owned(), route));
        self
    }

    /// Registers a read model (a consumer's or projection's
    /// [`Progress`]) that dispatches may wait for, under its name
    /// ([`DispatchOptions::strong`]).
    pub fn read_model(self, progress: Progress) -> Self {
        self.read_models.insert(progress);
        self
    }

    /// Refuses, before decoding, parameters that take more than `bytes`
    /// written as JSON ([`DispatchError::Validation`] on `""`). Default:
    /// the store's [`max_event_size`](disco_core::Limits::max_event_size),
    /// since no event could hold more.
    pub fn max_parameter_size(mut self, bytes: usize) -> Self {
        self.max_params = bytes;
        self
    }

    /// The orchestrator, or [`BuildError::Duplicate`] for a name taken
    /// twice.
    pub fn build(self) -> Result<Orchestrator, BuildError> {
        let mut commands = BTreeMap::new();
        for (name, route) in self.commands {
            if commands.insert(name.clone(), route).is_some() {
                return Err(BuildError::Duplicate(name));
            }
        }
        let mut queries = BTreeMap::new();
        for (name, route) in self.queries {
            if queries.insert(name.clone(), route).is_some() {
                return Err(BuildError::Duplicate(name));
            }
        }
        Ok(Orchestrator {
            store: self.store,
            max_params: self.max_params,
            read_models: self.read_models,
            commands,
            queries,
            repositories: self.repositories,
        })
    }
}

/// A dispatch running in the background: the aggregate's id at once, the
/// outcome when it is done.
#[derive(Debug)]
pub struct Pending {
    /// The aggregate's id.
    pub id: String,
    task: JoinHandle<Result<Dispatched, DispatchError>>,
}

impl Pending {
    /// Waits for the outcome.
    pub async fn outcome(self) -> Result<Dispatched, DispatchError> {
        match self.task.await {
            Ok(outcome) => outcome,
            Err(e) => Err(DispatchError::Lost(e.to_string())),
        }
    }
}

/// Named commands and queries over registered aggregates.
///
/// ```
/// # async fn demo(store: std::sync::Arc<dyn disco_core::EventStore>) -> Result<(), Box<dyn std::error::Error>> {
/// # use disco::cqrs::*;
/// # use disco::cqrs::doc_fixture::Counter;
/// use serde_json::json;
/// let orchestrator = Orchestrator::builder(store)
///     .aggregate::<Counter, _>(|routes| {
///         routes.command("add", |p| {
///             let id = p.string("counter_id");
///             let n = p.unsigned("n");
///             Some((Target::Existing(id?), n?))
///         })
///     })
///     .build()?;
/// assert_eq!(orchestrator.commands(), vec!["add"]);
/// let done = orchestrator.dispatch("add", json!({"counter_id": "c1", "n": 2})).await?;
/// assert_eq!(done.state["value"], 2);
/// # Ok(()) }
/// ```
pub struct Orchestrator {
    store: Arc<dyn EventStore>,
    max_params: usize,
    read_models: ReadModels,
    commands: BTreeMap<String, CommandRoute>,
    queries: BTreeMap<String, QueryRoute>,
    repositories: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for Orchestrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Orchestrator")
            .field("commands", &self.commands())
            .field("queries", &self.queries())
            .finish()
    }
}

impl Orchestrator {
    /// Starts registering routes over `store`.
    pub fn builder(store: Arc<dyn EventStore>) -> OrchestratorBuilder {
        OrchestratorBuilder {
            max_params: store.limits().max_event_size,
            store,
            read_models: ReadModels::default(),
            commands: Vec::new(),
            queries: Vec::new(),
            repositories: HashMap::new(),
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    /// Registers a read model (a consumer's, a partitioned consumer's or a
    /// projection's [`Progress`]) that dispatches may wait for, once the
    /// orchestrator is built: for what starts over it. A process manager
    /// started by [`ProcessManagerConsumer`](crate::process::ProcessManagerConsumer)
    /// is registered under its name by itself. A read model of the same
    /// name is replaced (a restarted consumer's).
    ///
    /// ```
    /// # async fn demo(app: disco::cqrs::Orchestrator, store: std::sync::Arc<dyn disco::EventStore>) -> disco::Result<()> {
    /// use disco::consumer::{handler_fn, Consumer};
    /// let emails = Consumer::new("emails", handler_fn(|_event| async { Ok(()) })).start(store)?;
    /// app.add_read_model(emails.progress());
    /// // DispatchOptions::strong(["emails"]) now waits for it
    /// # Ok(()) }
    /// ```
    pub fn add_read_model(&self, progress: Progress) {
        self.read_models.insert(progress);
    }

    /// The command names, sorted.
    pub fn commands(&self) -> Vec<&str> {
        self.commands.keys().map(String::as_str).collect()
    }

    /// The query names, sorted.
    pub fn queries(&self) -> Vec<&str> {
        self.queries.keys().map(String::as_str).collect()
    }

    /// Refuses parameters over the size limit, before anything decodes them.
    fn check_size(&self, params: &Value) -> Result<(), DispatchError> {
        match oversized(params, self.max_params) {
            Some(errors) => Err(DispatchError::Validation(errors)),
            None => Ok(()),
        }
    }

    fn route(&self, name: &str) -> Result<&CommandRoute, DispatchError> {
        self.commands
            .get(name)
            .ok_or_else(|| DispatchError::UnknownCommand(Unknown::among(name, self.commands())))
    }

    /// Decodes and validates `params` for the command `name`, runs it, and
    /// returns the aggregate's id, version and new state.
    pub async fn dispatch(&self, name: &str, params: Value) -> Result<Dispatched, DispatchError> {
        self.dispatch_in(name, params, CommandContext::new(), None)
            .await
    }

    /// Runs the command under `context`; `new_id` for a `Target::New`.
    async fn dispatch_in(
        &self,
        name: &str,
        params: Value,
        context: CommandContext,
        new_id: Option<Uuid>,
    ) -> Result<Dispatched, DispatchError> {
        let span =
            tracing::info_span!("dispatch", command = name, command_id = %context.command_id);
        let started = std::time::Instant::now();
        let outcome = async {
            let route = self.route(name)?;
            self.check_size(&params)?;
            let prepared = match route(params, new_id) {
                Ok((_, prepared)) => prepared,
                Err(refused) => return Err(refused.all().await),
            };
            prepared(context).await
        }
        .instrument(span)
        .await;
        report(name, started, &outcome);
        outcome
    }

    /// [`Orchestrator::dispatch`] as `options` say: under their
    /// [`CommandContext`] (a command id the caller chose makes the dispatch
    /// idempotent: sent again, it writes nothing and answers the first
    /// outcome, and a `Target::New` takes the command id as the aggregate's
    /// id; the context's metadata is stored with every event), and with
    /// [`DispatchOptions::strong`], returning only once the named read models
    /// hold the command's events ([`DispatchError::Behind`] after the
    /// timeout, with the outcome).
    ///
    /// ```
    /// # async fn demo(app: disco::cqrs::Orchestrator) -> Result<(), disco::cqrs::DispatchError> {
    /// use disco::cqrs::DispatchOptions;
    /// let options = DispatchOptions::strong(["balances"]);
    /// let done = app.dispatch_with("add", serde_json::json!({"id": "a", "n": 2}), &options).await?;
    /// // the "balances" read model holds done.position here
    /// # Ok(()) }
    /// ```
    pub async fn dispatch_with(
        &self,
        name: &str,
        params: Value,
        options: &DispatchOptions,
    ) -> Result<Dispatched, DispatchError> {
        if let Some(unknown) = self.read_models.unknown(&options.read_models) {
            return Err(DispatchError::UnknownReadModel(unknown.clone()));
        }
        let done = match &options.context {
            Some(context) => {
                let new_id = Some(context.command_id);
                self.dispatch_in(name, params, context.clone(), new_id)
                    .await?
            }
            None => self.dispatch(name, params).await?,
        };
        match self
            .read_models
            .wait_for(&options.read_models, done.position, options.timeout)
            .await
        {
            Ok(()) => Ok(done),
            Err(behind) => Err(DispatchError::Behind {
                behind,
                dispatched: Some(Box::new(done)),
            }),
        }
    }

    /// Waits until the read models `names` have seen `position` (after a
    /// typed [`Orchestrator::execute`], with its `position`).
    pub async fn wait_for(
        &self,
        names: &[&str],
        position: u64,
        timeout: std::time::Duration,
    ) -> Result<(), DispatchError> {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        if let Some(unknown) = self.read_models.unknown(&names) {
            return Err(DispatchError::UnknownReadModel(unknown.clone()));
        }
        self.read_models
            .wait_for(&names, position, timeout)
            .await
            .map_err(|behind: Behind| DispatchError::Behind {
                behind,
                dispatched: None,
            })
    }

    /// Like [`Orchestrator::dispatch`], but returns once the parameters are
    /// valid: the aggregate's id at once, the outcome through the
    /// [`Pending`] handle (and the log).
    pub fn dispatch_async(&self, name: &str, params: Value) -> Result<Pending, DispatchError> {
        let started = std::time::Instant::now();
        let context = CommandContext::new();
        let prepared = self
            .route(name)
            .and_then(|route| {
                self.check_size(&params)?;
                route(params, None).map_err(Refused::now)
            })
            .inspect_err(|error| report(name, started, &Err::<(), _>(error)));
        let (id, prepared) = prepared?;
        let span = tracing::info_span!("dispatch", command = name, command_id = %context.command_id, id = %id, mode = "async");
        let command = name.to_owned();
        let task = tokio::spawn(
            async move {
                let outcome = prepared(context).await;
                report(&command, started, &outcome);
                match &outcome {
                    Ok(done) => {
                        tracing::info!(command, id = %done.id, version = done.version, "async command done")
                    }
                    Err(error) => tracing::warn!(command, %error, "async command failed"),
                }
                outcome
            }
            .instrument(span),
        );
        Ok(Pending { id, task })
    }

    /// Decodes and validates `params` for the query `name` and answers it.
    pub async fn query(&self, name: &str, params: Value) -> Result<Value, DispatchError> {
        let route = self
            .queries
            .get(name)
            .ok_or_else(|| DispatchError::UnknownQuery(Unknown::among(name, self.queries())))?;
        let span = tracing::info_span!("query", query = name);
        self.check_size(&params)?;
        async { route(params)?.await }.instrument(span).await
    }

    /// The repository of aggregate `A`, if `A` is registered.
    pub fn repository<A: Aggregate + Clone>(&self) -> Option<Arc<Repository<A>>> {
        self.repositories
            .get(&TypeId::of::<A>())
            .and_then(|r| r.clone().downcast::<Repository<A>>().ok())
    }

    /// The typed path: runs `command` on aggregate `id` of type `A`.
    pub async fn execute<A: Aggregate + Clone>(
        &self,
        id: &str,
        command: A::Command,
    ) -> Result<Executed<A>, ExecuteError<A::Error>> {
        self.execute_in::<A>(id, command, CommandContext::new())
            .await
    }

    /// The typed path under `context` (a command id the caller chose makes
    /// it idempotent; the context's metadata is stored with every event).
    pub async fn execute_in<A: Aggregate + Clone>(
        &self,
        id: &str,
        command: A::Command,
        context: CommandContext,
    ) -> Result<Executed<A>, ExecuteError<A::Error>> {
        self.execute_along::<A>(id, command, context, None)
            .await
            .map(|(done, _)| done)
    }

    /// [`Orchestrator::execute_in`] with `along` appended atomically with
    /// the command's events; the flag says whether `along` was written.
    pub(crate) async fn execute_along<A: Aggregate + Clone>(
        &self,
        id: &str,
        command: A::Command,
        context: CommandContext,
        along: Option<disco_core::AppendMany>,
    ) -> Result<(Executed<A>, bool), ExecuteError<A::Error>> {
        let repository = self.registered::<A, A::Error>()?;
        let span = tracing::info_span!("execute", aggregate = A::NAME, id, command_id = %context.command_id);
        repository
            .execute_along(id, command, &context, along)
            .instrument(span)
            .await
    }

    /// The typed path for an aggregate the caller has just made up the id
    /// of (a fresh UUID): the command runs on the empty state without
    /// reading the store, and its events are appended at `Exact(0)`. Nothing
    /// is assumed that the store does not check: if the stream exists after
    /// all, the append is refused and the command runs again on the stream
    /// as stored ([`Repository::execute_new`]).
    ///
    /// ```
    /// # async fn demo(app: disco::cqrs::Orchestrator) -> Result<(), Box<dyn std::error::Error>> {
    /// use disco::cqrs::doc_fixture::Counter;
    /// let id = disco::Uuid::now_v7().to_string();
    /// let done = app.execute_new::<Counter>(&id, 5).await?;
    /// assert_eq!((done.version, done.state.value), (1, 5));
    /// # Ok(()) }
    /// ```
    pub async fn execute_new<A: Aggregate + Clone>(
        &self,
        id: &str,
        command: A::Command,
    ) -> Result<Executed<A>, ExecuteError<A::Error>> {
        let repository = self.registered::<A, A::Error>()?;
        let context = CommandContext::new();
        let span = tracing::info_span!("execute", aggregate = A::NAME, id, command_id = %context.command_id, new = true);
        repository
            .execute_new(id, command, &context)
            .instrument(span)
            .await
    }

    fn registered<A: Aggregate + Clone, E: std::error::Error + 'static>(
        &self,
    ) -> Result<Arc<Repository<A>>, ExecuteError<E>> {
        self.repository::<A>().ok_or_else(|| {
            ExecuteError::Store(Error::InvalidInput(format!(
                "aggregate {} is not registered",
                A::NAME
            )))
        })
    }
}
