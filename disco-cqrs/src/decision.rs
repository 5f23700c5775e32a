//! [`Decision`]: a rule that spans aggregates, kept without a saga. A
//! decision model reads the events its command depends on by [`Query`]
//! (tags and types, across streams), folds them into its state, decides,
//! and appends on the condition that no event matching the same query was
//! stored since it read (the Dynamic Consistency Boundary of dcb.events).
//! Two decisions that read overlapping events cannot both act on what the
//! other changed: the second is refused by the store and decided again on
//! the fresher events, so "a course takes 30 students" and "an email is
//! used once" hold under any number of writers and processes.
//!
//! Registered beside aggregates ([`OrchestratorBuilder::decision`](crate::OrchestratorBuilder::decision)),
//! a decision's commands are dispatched by name with the same parameter
//! decoding, validation answer and outcome types as an aggregate's.

use std::sync::Arc;

use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;

use disco_core::{AppendCondition, Error, EventStore, ExpectedVersion, Query, StreamId, Uuid};

use crate::aggregate::{decode, encode, encode_nth, event_id, CommandContext, DomainEvent};
use crate::errors::{CodecError, Rejection};
use crate::orchestrator::{CommandRoute, DispatchError, Dispatched, Prepared, Refused};
use crate::params::{id_problem, Params};
use crate::routes::serde_decoder;

/// A decision model: the state one kind of command is decided on, folded
/// from the events its [`query`](Decision::query) matches.
///
/// ```
/// use disco::cqrs::{Decision, DomainEvent};
/// use disco::{Query, QueryItem};
///
/// #[derive(Clone, serde::Serialize, serde::Deserialize)]
/// struct Registered { email: String }
/// impl DomainEvent for Registered {
///     fn event_type(&self) -> &'static str { "Registered" }
///     fn tags(&self) -> Vec<String> { vec![format!("email:{}", self.email)] }
/// }
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("this email is taken")]
/// struct Taken;
///
/// /// Whether an email is taken: one registration per email, store-wide.
/// #[derive(Default, serde::Serialize)]
/// struct EmailUse { taken: bool }
///
/// impl Decision for EmailUse {
///     const NAME: &'static str = "registration";
///     type Command = String; // the email
///     type Event = Registered;
///     type Error = Taken;
///     fn id(email: &String) -> String { email.clone() }
///     fn query(email: &String) -> Query {
///         Query::new().or(QueryItem::new().types(["Registered"]).tags([format!("email:{email}")]))
///     }
///     fn apply(&mut self, _: &Registered) { self.taken = true; }
///     fn decide(&self, email: &String) -> Result<Vec<Registered>, Taken> {
///         if self.taken { return Err(Taken); }
///         Ok(vec![Registered { email: email.clone() }])
///     }
/// }
/// ```
pub trait Decision: Default + Serialize + Send + Sync + 'static {
    /// The decision's name; the events it writes go to streams
    /// `"{NAME}-{id}"`.
    const NAME: &'static str;
    /// What it is asked to decide. `Clone`, because a command whose
    /// condition failed is decided again on the fresher events.
    type Command: Clone + Send + Sync + 'static;
    /// What it records (and reads: every event its query matches must
    /// decode as one), with the [tags](DomainEvent::tags) queries find it by.
    type Event: DomainEvent;
    /// Why it refuses a command.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The id of the stream the command's events go to (`"{NAME}-{id}"`),
    /// also the dispatch's answered id.
    fn id(command: &Self::Command) -> String;

    /// The events the command's decision depends on; its events are
    /// appended on the condition that none came in since they were read.
    fn query(command: &Self::Command) -> Query;

    /// The state before the first matched event is folded in: the default,
    /// unless folding needs to know the command (say, to tell a course's
    /// seats from a student's courses among the events of both).
    fn initial(command: &Self::Command) -> Self {
        let _ = command;
        Self::default()
    }

    /// Folds one of the matched events into the state.
    fn apply(&mut self, event: &Self::Event);

    /// Decides the events of `command` on the state, or refuses it.
    fn decide(&self, command: &Self::Command) -> Result<Vec<Self::Event>, Self::Error>;
}

/// How many times a decision is made again after its condition failed
/// before the dispatch answers [`DispatchError::Conflict`].
pub const DECISION_ATTEMPTS: u32 = 50;

/// A decision's state, folded from every event `query` matches (read in
/// pages), and the position the read is consistent at.
///
/// ```
/// # async fn demo(store: std::sync::Arc<dyn disco::EventStore>) -> Result<(), Box<dyn std::error::Error>> {
/// # use disco::cqrs::doc_fixture::Counter;
/// use disco::cqrs::decision::load;
/// use disco::cqrs::doc_fixture::Added;
/// use disco::{Query, QueryItem};
/// let query = Query::new().or(QueryItem::new().types(["Added"]));
/// let (events, at) = load::<Added>(&*store, &query).await?;
/// assert!(events.is_empty());
/// assert_eq!(at, store.head_position().await?);
/// # Ok(()) }
/// ```
pub async fn load<E: DomainEvent>(
    store: &dyn EventStore,
    query: &Query,
) -> Result<(Vec<(E, Uuid)>, u64), DispatchError> {
    const PAGE: usize = 1000;
    let mut events = Vec::new();
    let mut after = 0;
    loop {
        let read = store.read_query(query, after, PAGE).await?;
        let full = read.events.len() >= PAGE;
        for recorded in &read.events {
            let (event, _) = decode::<E>(recorded)?;
            events.push((event, recorded.id));
        }
        if !full || read.consistent_at <= after {
            return Ok((events, read.consistent_at));
        }
        after = read.consistent_at;
    }
}

/// Decides `command` with `D` and appends its events on `D`'s condition,
/// deciding again (up to [`DECISION_ATTEMPTS`] times) when another writer
/// changed what it read.
pub async fn execute<D: Decision>(
    store: &dyn EventStore,
    command: D::Command,
    context: &CommandContext,
) -> Result<Dispatched, DispatchError> {
    let id = D::id(&command);
    let stream = StreamId::new(format!("{}-{id}", D::NAME)).map_err(DispatchError::Store)?;
    let query = D::query(&command);
    let first_id = event_id(context.command_id, 0);
    for _ in 0..DECISION_ATTEMPTS {
        let (events, consistent_at) = load::<D::Event>(store, &query).await?;
        let mut state = D::initial(&command);
        let mut ran_before = false;
        for (event, event_id) in &events {
            state.apply(event);
            ran_before |= context.idempotent && *event_id == first_id;
        }
        if ran_before {
            // This very command was decided and written before (sent
            // again after a lost answer): its events are in the state.
            return dispatched(id, 0, consistent_at, &state);
        }
        let decided = state
            .decide(&command)
            .map_err(|refusal| DispatchError::Rejected(Rejection::new(refusal)))?;
        if decided.is_empty() {
            return dispatched(id, 0, 0, &state);
        }
        let encoded = decided
            .iter()
            .enumerate()
            .map(|(i, e)| {
                if context.idempotent {
                    encode_nth(e, context, i)
                } else {
                    encode(e, context)
                }
            })
            .collect::<Result<Vec<_>, CodecError>>()?;
        let condition = AppendCondition::new(query.clone()).after(consistent_at);
        match store
            .append_if(
                vec![(stream.clone(), ExpectedVersion::Any, encoded)],
                &condition,
            )
            .await
        {
            Ok(results) => {
                for event in &decided {
                    state.apply(event);
                }
                let last = results.last().copied().unwrap_or(disco_core::AppendResult {
                    first_version: 0,
                    last_version: 0,
                    first_position: 0,
                    last_position: 0,
                });
                return dispatched(id, last.last_version, last.last_position, &state);
            }
            Err(Error::ConditionFailed { .. }) => continue,
            Err(other) => return Err(DispatchError::Store(other)),
        }
    }
    Err(DispatchError::Conflict {
        stream: stream.to_string(),
        attempts: DECISION_ATTEMPTS,
    })
}

fn dispatched<D: Serialize>(
    id: String,
    version: u64,
    position: u64,
    state: &D,
) -> Result<Dispatched, DispatchError> {
    let state = serde_json::to_value(state).map_err(|e| {
        DispatchError::Codec(CodecError(format!("the state does not serialize: {e}")))
    })?;
    Ok(Dispatched {
        id,
        version,
        position,
        state,
    })
}

/// The commands of one decision model, given to
/// [`OrchestratorBuilder::decision`](crate::OrchestratorBuilder::decision).
pub struct DecisionRoutes<D: Decision> {
    pub(crate) store: Arc<dyn EventStore>,
    pub(crate) commands: Vec<(String, CommandRoute)>,
    pub(crate) _decision: std::marker::PhantomData<fn() -> D>,
}

impl<D: Decision> DecisionRoutes<D> {
    /// Registers the command `name`: `decode` reads its parameters (every
    /// problem recorded in the [`Params`]) into the decision's command.
    pub fn command<F>(self, name: &str, decode: F) -> Self
    where
        F: Fn(&mut Params) -> Option<D::Command> + Send + Sync + 'static,
    {
        self.route(name, move |params| {
            let mut p = Params::new(params);
            let value = decode(&mut p);
            (p, value)
        })
    }

    /// Registers the command `name` decoded by serde: the parameters are a
    /// `C` (unknown fields refused, every field's problem under its name,
    /// all together), then `map` turns it into the decision's command,
    /// recording any further problem in the [`Params`] it is given (as
    /// [`AggregateRoutes::decoded`](crate::AggregateRoutes::decoded)).
    pub fn decoded<C, M>(self, name: &str, map: M) -> Self
    where
        C: DeserializeOwned + 'static,
        M: Fn(C, &mut Params) -> Option<D::Command> + Send + Sync + 'static,
    {
        let decoder = serde_decoder::<C, _, _>(map, None);
        self.route(name, move |params| {
            let decoded = decoder(params);
            (decoded.params, decoded.value)
        })
    }

    fn route<F>(mut self, name: &str, decode: F) -> Self
    where
        F: Fn(Value) -> (Params, Option<D::Command>) + Send + Sync + 'static,
    {
        let store = self.store.clone();
        let route: CommandRoute = Arc::new(move |params: Value, _new_id: Option<Uuid>| {
            let (mut p, value) = decode(params);
            let id = value.as_ref().map(D::id);
            // Invariant: an id that makes no valid stream id is reported on
            // its field with every other problem, never as a store error.
            if let Some(problem) = id.as_deref().and_then(|id| id_problem(D::NAME, id)) {
                let field = id
                    .as_deref()
                    .and_then(|id| p.field_holding(id))
                    .unwrap_or_else(|| "id".to_owned());
                p.invalid(&field, problem);
            }
            let clean = p.errors().is_empty();
            let (Some(command), Some(id), true) = (value, id, clean) else {
                let mut errors = p.finish().err().unwrap_or_default();
                if errors.is_empty() {
                    errors.add("", "the parameters are not valid");
                }
                return Err(Refused { errors, rest: None });
            };
            let store = store.clone();
            let prepared: Prepared = Box::new(move |context| {
                Box::pin(async move { execute::<D>(&*store, command, &context).await })
            });
            Ok((id, prepared))
        });
        self.commands.push((name.to_owned(), route));
        self
    }
}
