//! [`AggregateRoutes`]: the commands of one aggregate, decoded field by
//! field ([`AggregateRoutes::command`]) or by serde
//! ([`AggregateRoutes::decoded`]), with an optional asynchronous
//! validation step ([`AggregateRoutes::validated`]) that may look at the
//! store through [`Checks`].

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::aggregate::Aggregate;
use crate::checks::{Checks, Lookup};
use crate::decode_fields::{decode_again, decode_leniently};
use crate::orchestrator::{
    BoxFuture, CommandRoute, DispatchError, Dispatched, Prepared, Refused, Target,
};
use crate::params::{aggregate_id_problem, Params};
use crate::repository::Repository;
use disco_core::Uuid;

/// A route's asynchronous validation step, bound to decoded parameters.
pub(crate) type Validate<C> = Arc<dyn Fn(C) -> Validation + Send + Sync>;

/// A validation step bound to one dispatch's parameters.
pub(crate) type Validation = Box<dyn FnOnce(Checks) -> BoxFuture<Result<(), DispatchError>> + Send>;

/// What a route's decoding made of the parameters.
pub(crate) struct Decoded<T> {
    /// Every problem found so far.
    pub(crate) params: Params,
    /// Where the command goes and what it is, when decoding got that far
    /// (also with problems, to name the aggregate to the validation step).
    pub(crate) value: Option<T>,
    /// The fields that did not decode (they hold stand-ins).
    pub(crate) stand_ins: BTreeSet<String>,
    /// The validation step, when the route has one and the parameters
    /// decoded far enough to run it.
    pub(crate) validation: Option<Validation>,
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
        self.route(name, move |params| {
            let mut p = Params::new(params);
            let value = decode(&mut p);
            Decoded {
                params: p,
                value,
                stand_ins: BTreeSet::new(),
                validation: None,
            }
        })
    }

    /// Registers the command `name` decoded by serde: the parameters are a
    /// `C`, with unknown fields refused and every field's problem reported
    /// under its name, all together ([`decode_fields`](crate::decode_fields));
    /// then `map` turns the `C` into where it goes and the aggregate's
    /// command, recording any further problem in the [`Params`] it is
    /// given. `map` runs even when some fields did not decode (they hold
    /// stand-ins, and what it records on them is dropped), so its problems
    /// come in the same answer.
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
        self.route(name, serde_decoder::<C, _, _>(map, None))
    }

    /// [`AggregateRoutes::decoded`] with an asynchronous validation step:
    /// `validate` gets the decoded parameters and [`Checks`] (a lookup of
    /// the store, the aggregate's id, and where to record problems), and
    /// records every field problem it finds (say, "there is no account
    /// with this id" on `to`). The problems of decoding, of `map` and of
    /// `validate` come back together as [`DispatchError::Validation`],
    /// with nothing written: `validate` also runs when some fields did not
    /// decode, as long as the others did ([`Checks::decoded`]). A failed
    /// read of the store is returned by `validate` and fails the dispatch.
    ///
    /// [`Orchestrator::dispatch_async`](crate::Orchestrator::dispatch_async)
    /// answers decoding's and `map`'s problems at once, and runs `validate`
    /// in the background task when there are none: its problems arrive
    /// through the outcome.
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
    ///         routes.validated(
    ///             "add_to_existing",
    ///             |add: Add, _| Some((Target::Existing(add.counter_id), add.n)),
    ///             |add: Add, checks| async move {
    ///                 checks.exists::<Counter>("counter_id", &add.counter_id).await?;
    ///                 checks.check("n", add.n <= 50, "must be 50 or less");
    ///                 Ok(())
    ///             },
    ///         )
    ///     })
    ///     .build()?;
    /// # let _ = app; Ok(()) }
    /// ```
    pub fn validated<C, M, V, Fut>(self, name: &str, map: M, validate: V) -> Self
    where
        C: DeserializeOwned + Send + 'static,
        M: Fn(C, &mut Params) -> Option<(Target, A::Command)> + Send + Sync + 'static,
        V: Fn(C, Checks) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), DispatchError>> + Send + 'static,
    {
        let validate = Arc::new(validate);
        let validate: Validate<C> = Arc::new(move |params: C| {
            let validate = validate.clone();
            Box::new(move |checks| Box::pin(validate(params, checks)) as BoxFuture<_>) as Validation
        });
        self.route(name, serde_decoder::<C, _, _>(map, Some(validate)))
    }

    /// Registers a route: `decode` gives the parameters' problems so far,
    /// the decoded command and the validation step; the aggregate id is
    /// checked here.
    fn route<D>(mut self, name: &str, decode: D) -> Self
    where
        D: Fn(Value) -> Decoded<(Target, A::Command)> + Send + Sync + 'static,
    {
        let repository = self.repository.clone();
        let route: CommandRoute = Arc::new(move |params: Value, new_id: Option<Uuid>| {
            let Decoded {
                params: mut p,
                value,
                stand_ins,
                validation,
            } = decode(params);
            // Invariant: an id that makes no valid stream id is the caller's
            // mistake, reported on its field (the one holding it) with every
            // other message, never as a store error.
            if let Some((Target::Existing(id), _)) = &value {
                if let Some(problem) = aggregate_id_problem::<A>(id) {
                    match p.field_holding(id) {
                        Some(field) => p.invalid(&field, problem),
                        None if stand_ins.is_empty() => p.invalid("id", problem),
                        // Made from a stand-in: its field's problem is
                        // reported already.
                        None => {}
                    }
                }
            }
            let id = value.as_ref().map(|(target, _)| match target {
                Target::New => new_id.unwrap_or_else(Uuid::now_v7).to_string(),
                Target::Existing(id) => id.clone(),
            });
            let lookup = Lookup::new(repository.store().clone());
            let checks = Checks::new(lookup, id.clone(), Arc::new(stand_ins));
            let clean = p.errors().is_empty();
            let (Some(id), Some((target, command)), true) = (id, value, clean) else {
                let mut errors = p.finish().err().unwrap_or_default();
                if errors.is_empty() {
                    errors.add("", "the parameters are not valid");
                }
                let rest = validation.map(|validate| {
                    Box::pin(async move {
                        validate(checks.clone()).await?;
                        Ok(checks.errors())
                    }) as BoxFuture<_>
                });
                return Err(Refused { errors, rest });
            };
            let new = target == Target::New;
            let repository = repository.clone();
            let run_id = id.clone();
            let prepared: Prepared = Box::new(move |context| {
                Box::pin(async move {
                    if let Some(validate) = validation {
                        validate(checks.clone()).await?;
                        checks
                            .errors()
                            .into_result()
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

/// The decoder of a serde route: the fields leniently decoded, then `map`
/// on them (its messages on fields that did not decode dropped), and the
/// validation step bound to a second copy of the parameters.
pub(crate) fn serde_decoder<C, T, M>(
    map: M,
    validate: Option<Validate<C>>,
) -> impl Fn(Value) -> Decoded<T> + Send + Sync + 'static
where
    C: DeserializeOwned + 'static,
    T: 'static,
    M: Fn(C, &mut Params) -> Option<T> + Send + Sync + 'static,
{
    move |params: Value| {
        let (decoded, decoding) = decode_leniently::<C>(params.clone());
        let mut p = Params::new(params.clone());
        for (field, messages) in decoding.errors {
            for message in messages {
                p.invalid(&field, message);
            }
        }
        let Some(decoded) = decoded else {
            return Decoded {
                params: p,
                value: None,
                stand_ins: decoding.stand_ins,
                validation: None,
            };
        };
        let mut mapped = Params::new(params);
        let value = map(decoded, &mut mapped);
        for (field, messages) in mapped.errors() {
            if !decoding.stand_ins.contains(field) {
                for message in messages {
                    p.invalid(field, message.clone());
                }
            }
        }
        let validation = validate
            .as_ref()
            .and_then(|validate| Some(validate(decode_again::<C>(&decoding.filled)?)));
        Decoded {
            params: p,
            value,
            stand_ins: decoding.stand_ins,
            validation,
        }
    }
}
