//! The model-based test: random operation sequences run on a store and on the
//! [`ReferenceModel`]; every result must match.
//!
//! Stores may number positions their own way (rule 4 allows holes), so the
//! harness learns, after each append, which store position each new event got,
//! checks that those positions come after every earlier one (commit order),
//! and translates positions between the two numberings when comparing.

pub mod ops;
mod reference;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;

use disco_core::{
    AppendCondition, AppendResult, DeleteMode, Error, EventFilter, EventStore, ExpectedVersion,
    NewEvent, Query, QueryItem, ReadDirection, RecordedEvent, StreamId, Uuid,
};
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

use crate::Fixture;
use ops::{Expect, IdChoice, Op, CHECKPOINTS, LIMITS, PREFIXES, STREAMS, TAGS, TYPES};
pub use reference::{Failure, ModelEvent, ModelNewEvent, Outcome, ReferenceModel};

/// Default number of generated sequences; `DISCO_MODEL_CASES` overrides it.
pub const DEFAULT_CASES: u32 = 200;
/// Default longest sequence; `DISCO_MODEL_OPS` overrides it.
pub const DEFAULT_MAX_OPS: usize = 50;

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a number")),
        Err(_) => default,
    }
}

/// Runs the model test on fresh stores from `factory` (one per sequence) and
/// panics with the shrunk failing sequence if a store result ever differs
/// from the model's.
pub fn run_model_test<F, Fut>(factory: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Fixture>,
{
    if let Err(message) = check_model(factory) {
        panic!("{message}");
    }
}

/// Like [`run_model_test`], but returns the failure report instead of
/// panicking (for tests that expect a faulty store to fail).
pub fn check_model<F, Fut>(factory: F) -> Result<(), String>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Fixture>,
{
    let cases = env_number("DISCO_MODEL_CASES", DEFAULT_CASES);
    let max_ops = env_number("DISCO_MODEL_OPS", DEFAULT_MAX_OPS);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a tokio runtime: {e}"))?;
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&ops::sequence(max_ops), |ops| {
        runtime
            .block_on(async {
                let fixture = factory().await;
                let outcome = run_sequence(&*fixture.store, &ops).await;
                fixture.finish().await;
                outcome
            })
            .map_err(TestCaseError::fail)
    });
    match result {
        Ok(()) => Ok(()),
        Err(TestError::Fail(reason, ops)) => Err(format!(
            "the store differs from the reference model: {reason}\n\
             minimal failing sequence ({} operations):\n{ops:#?}",
            ops.len()
        )),
        Err(TestError::Abort(reason)) => Err(format!("the model test aborted: {reason}")),
    }
}

/// Runs `ops` on `store` (which must be empty) and on a fresh model, and
/// describes the first difference.
pub async fn run_sequence(store: &dyn EventStore, ops: &[Op]) -> Result<(), String> {
    let mut harness = Harness {
        store,
        model: ReferenceModel::default(),
        to_store: BTreeMap::new(),
        to_model: HashMap::new(),
        next_id: 1,
        used_ids: Vec::new(),
        history: Vec::new(),
        atomic_history: Vec::new(),
    };
    for (i, op) in ops.iter().enumerate() {
        harness
            .step(op)
            .await
            .map_err(|e| format!("at operation {i} ({op:?}): {e}"))?;
    }
    harness
        .compare_whole_state()
        .await
        .map_err(|e| format!("after the last operation: {e}"))
}

struct Harness<'a> {
    store: &'a dyn EventStore,
    model: ReferenceModel,
    to_store: BTreeMap<u64, u64>,
    to_model: HashMap<u64, u64>,
    next_id: u128,
    used_ids: Vec<Uuid>,
    history: Vec<(u8, Vec<NewEvent>)>,
    atomic_history: Vec<Vec<(u8, ExpectedVersion, Vec<NewEvent>)>>,
}

fn stream_id(index: u8) -> Result<StreamId, String> {
    StreamId::new(STREAMS[index as usize % STREAMS.len()]).map_err(|e| e.to_string())
}

/// The query of generated items.
fn query_of(items: &[ops::ItemSpec]) -> Query {
    let mut query = Query::new();
    for (event_type, tags) in items {
        let mut item = QueryItem::new().tags(
            TAGS.iter()
                .enumerate()
                .filter(|(bit, _)| tags & (1 << bit) != 0)
                .map(|(_, tag)| *tag),
        );
        if let Some(t) = event_type {
            item = item.types([TYPES[*t as usize % TYPES.len()]]);
        }
        query = query.or(item);
    }
    query
}

fn failure_of(error: Error) -> Failure {
    match error {
        Error::WrongExpectedVersion { actual, .. } => Failure::WrongExpectedVersion { actual },
        Error::StreamDeleted { .. } => Failure::StreamDeleted,
        Error::DuplicateEventId { .. } => Failure::DuplicateEventId,
        Error::InvalidInput(_) => Failure::InvalidInput,
        Error::TooLarge { .. } => Failure::TooLarge,
        other => Failure::Unexpected(other.to_string()),
    }
}

fn same(want: Outcome, got: Outcome) -> Result<(), String> {
    if want == got {
        Ok(())
    } else {
        Err(format!("\n  model: {want:?}\n  store: {got:?}"))
    }
}

impl Harness<'_> {
    fn resolve(&self, expect: Expect, stream: &str) -> ExpectedVersion {
        let current = self.model.version_of(stream);
        match expect {
            Expect::Any => ExpectedVersion::Any,
            Expect::NoStream => ExpectedVersion::NoStream,
            Expect::StreamExists => ExpectedVersion::StreamExists,
            Expect::Exact(v) => ExpectedVersion::Exact(u64::from(v)),
            Expect::Current => ExpectedVersion::Exact(current),
            Expect::Stale => ExpectedVersion::Exact(current.saturating_sub(1)),
        }
    }

    fn make_events(&mut self, specs: &[ops::EventSpec]) -> Vec<NewEvent> {
        specs
            .iter()
            .map(|spec| {
                let id = match spec.id {
                    IdChoice::Reuse(k) if !self.used_ids.is_empty() => {
                        self.used_ids[k as usize % self.used_ids.len()]
                    }
                    _ => {
                        let id = Uuid::from_u128(self.next_id);
                        self.next_id += 1;
                        self.used_ids.push(id);
                        id
                    }
                };
                NewEvent::new(
                    TYPES[spec.event_type as usize % TYPES.len()],
                    spec.data.clone(),
                )
                .with_id(id)
                .with_metadata(spec.metadata.clone())
                .with_tags(
                    TAGS.iter()
                        .enumerate()
                        .filter(|(bit, _)| spec.tags & (1 << bit) != 0)
                        .map(|(_, tag)| *tag),
                )
            })
            .collect()
    }

    fn model_position(&self, store_position: u64) -> Result<u64, String> {
        self.to_model.get(&store_position).copied().ok_or_else(|| {
            format!("the store returned position {store_position}, which no append produced")
        })
    }

    fn store_after(&self, model_after: u64) -> u64 {
        if model_after == 0 {
            return 0;
        }
        if let Some(&p) = self.to_store.get(&model_after) {
            return p;
        }
        match self.to_store.last_key_value() {
            Some((&m, &s)) if model_after > m => s + (model_after - m),
            _ => model_after,
        }
    }

    fn events(&self, events: Vec<RecordedEvent>) -> Result<Outcome, String> {
        let mut out = Vec::with_capacity(events.len());
        for e in events {
            out.push(ModelEvent {
                id: e.id,
                stream: e.stream_id.to_string(),
                version: e.version,
                position: self.model_position(e.position)?,
                event_type: e.event_type,
                data: e.data,
                metadata: e.metadata,
                tags: e.tags,
            });
        }
        Ok(Outcome::Events(out))
    }

    /// Learns the store positions of the events an append just wrote and
    /// checks they come after every position seen before.
    async fn learn_positions(
        &mut self,
        stream: &StreamId,
        result: &AppendResult,
        model_first: u64,
        count: usize,
    ) -> Result<(), String> {
        let written = self
            .store
            .read_stream(stream, result.first_version, ReadDirection::Forward, count)
            .await
            .map_err(|e| format!("reading back the append failed: {e}"))?;
        if written.len() != count {
            return Err(format!(
                "the append returned Ok for {count} events but the stream holds {} from version {}",
                written.len(),
                result.first_version
            ));
        }
        let mut last_seen = self.to_store.values().copied().max().unwrap_or(0);
        for (i, e) in written.iter().enumerate() {
            if e.position <= last_seen {
                return Err(format!(
                    "event {} got position {} although position {last_seen} was committed before it",
                    e.id, e.position
                ));
            }
            last_seen = e.position;
            self.to_store.insert(model_first + i as u64, e.position);
            self.to_model.insert(e.position, model_first + i as u64);
        }
        Ok(())
    }

    async fn append(
        &mut self,
        index: u8,
        expect: Expect,
        events: Vec<NewEvent>,
    ) -> Result<(), String> {
        let stream = stream_id(index)?;
        let expected = self.resolve(expect, stream.as_str());
        let model_events: Vec<ModelNewEvent> = events
            .iter()
            .map(|e| ModelNewEvent {
                id: e.id,
                event_type: e.event_type.clone(),
                data: e.data.clone(),
                metadata: e.metadata.clone(),
                tags: e.tags.clone(),
            })
            .collect();
        let head_before = self.model.head();
        let want = self.model.append(stream.as_str(), expected, &model_events);
        let count = events.len();
        let got = match self.store.append(&stream, expected, events).await {
            Err(e) => Outcome::Failed(failure_of(e)),
            Ok(result) => {
                if !matches!(want, Outcome::Appended { .. }) {
                    return Err(format!(
                        "the store appended ({result:?}) where the model says {want:?}"
                    ));
                }
                if self.model.head() > head_before {
                    self.learn_positions(&stream, &result, head_before + 1, count)
                        .await?;
                }
                Outcome::Appended {
                    first_version: result.first_version,
                    last_version: result.last_version,
                    first_position: self.model_position(result.first_position)?,
                    last_position: self.model_position(result.last_position)?,
                }
            }
        };
        same(want, got)
    }

    /// Runs one atomic append on the model and the store and compares
    /// every part's result, learning the positions of the parts written.
    async fn append_atomic(
        &mut self,
        parts: Vec<(u8, ExpectedVersion, Vec<NewEvent>)>,
        condition: Option<(Query, u64)>,
    ) -> Result<(), String> {
        let mut model_parts = Vec::with_capacity(parts.len());
        let mut store_parts = Vec::with_capacity(parts.len());
        for (index, expected, events) in parts {
            let stream = stream_id(index)?;
            model_parts.push((
                stream.as_str().to_owned(),
                expected,
                events
                    .iter()
                    .map(|e| ModelNewEvent {
                        id: e.id,
                        event_type: e.event_type.clone(),
                        data: e.data.clone(),
                        metadata: e.metadata.clone(),
                        tags: e.tags.clone(),
                    })
                    .collect::<Vec<_>>(),
            ));
            store_parts.push((stream, expected, events));
        }
        let head_before = self.model.head();
        let want = match &condition {
            None => self.model.append_atomic(&model_parts),
            Some((query, after)) => self.model.append_if(&model_parts, query, *after),
        };
        let counts: Vec<(StreamId, usize)> = store_parts
            .iter()
            .map(|(s, _, events)| (s.clone(), events.len()))
            .collect();
        let written = match &condition {
            None => self.store.append_atomic(store_parts).await,
            Some((query, after)) => {
                let condition = AppendCondition::new(query.clone()).after(self.store_after(*after));
                self.store.append_if(store_parts, &condition).await
            }
        };
        let got = match written {
            Err(Error::ConditionFailed { position, .. }) => {
                Outcome::Failed(Failure::ConditionFailed {
                    position: self.model_position(position)?,
                })
            }
            Err(e) => Outcome::Failed(failure_of(e)),
            Ok(results) => {
                let Outcome::AppendedAtomic(parts) = &want else {
                    return Err(format!(
                        "the store appended ({results:?}) where the model says {want:?}"
                    ));
                };
                if results.len() != parts.len() {
                    return Err(format!(
                        "{} results for {} parts",
                        results.len(),
                        parts.len()
                    ));
                }
                let mut outcomes = Vec::with_capacity(results.len());
                for ((result, part), (stream, count)) in results.iter().zip(parts).zip(&counts) {
                    if let Outcome::Appended { first_position, .. } = part {
                        if *first_position > head_before {
                            self.learn_positions(stream, result, *first_position, *count)
                                .await?;
                        }
                    }
                    outcomes.push(Outcome::Appended {
                        first_version: result.first_version,
                        last_version: result.last_version,
                        first_position: self.model_position(result.first_position)?,
                        last_position: self.model_position(result.last_position)?,
                    });
                }
                Outcome::AppendedAtomic(outcomes)
            }
        };
        same(want, got)
    }

    async fn step(&mut self, op: &Op) -> Result<(), String> {
        match op {
            Op::AppendAtomic { parts } => {
                let mut resolved = Vec::with_capacity(parts.len());
                for (index, expect, specs) in parts {
                    let stream = stream_id(*index)?;
                    let expected = self.resolve(*expect, stream.as_str());
                    let events = self.make_events(specs);
                    if !events.is_empty() {
                        self.history.push((*index, events.clone()));
                    }
                    resolved.push((*index, expected, events));
                }
                self.atomic_history.push(resolved.clone());
                self.append_atomic(resolved, None).await
            }
            Op::AppendIf {
                parts,
                items,
                after,
            } => {
                let mut resolved = Vec::with_capacity(parts.len());
                for (index, expect, specs) in parts {
                    let stream = stream_id(*index)?;
                    let expected = self.resolve(*expect, stream.as_str());
                    let events = self.make_events(specs);
                    self.history.push((*index, events.clone()));
                    resolved.push((*index, expected, events));
                }
                self.atomic_history.push(resolved.clone());
                let after = if *after == 255 {
                    self.model.head()
                } else {
                    u64::from(*after)
                };
                self.append_atomic(resolved, Some((query_of(items), after)))
                    .await
            }
            Op::ReadQuery {
                items,
                after,
                limit,
            } => {
                let query = query_of(items);
                let limit = LIMITS[*limit as usize % LIMITS.len()];
                let after = u64::from(*after);
                let want = self.model.read_query(&query, after, limit);
                let got = match self
                    .store
                    .read_query(&query, self.store_after(after), limit)
                    .await
                {
                    Ok(read) => {
                        if let Some(last) = read.events.last() {
                            if read.consistent_at < last.position {
                                return Err(format!(
                                    "a query read consistent at {} returned position {}",
                                    read.consistent_at, last.position
                                ));
                            }
                        }
                        self.events(read.events)?
                    }
                    Err(e) => Outcome::Failed(failure_of(e)),
                };
                same(want, got)
            }
            Op::RetryAtomic { back } => {
                if self.atomic_history.is_empty() {
                    return Ok(());
                }
                let n = self.atomic_history.len();
                let pick = n - 1 - (*back as usize % n);
                self.append_atomic(self.atomic_history[pick].clone(), None)
                    .await
            }
            Op::Append {
                stream,
                expected,
                events,
            } => {
                let events = self.make_events(events);
                if !events.is_empty() {
                    self.history.push((*stream, events.clone()));
                }
                self.append(*stream, *expected, events).await
            }
            Op::Retry { back, expected } => {
                if self.history.is_empty() {
                    return Ok(());
                }
                let pick = self.history.len() - 1 - (*back as usize % self.history.len());
                let (stream, events) = self.history[pick].clone();
                self.append(stream, *expected, events).await
            }
            Op::ReadStream {
                stream,
                from,
                backward,
                limit,
            } => {
                let s = stream_id(*stream)?;
                let from = if *from == 255 {
                    u64::MAX
                } else {
                    u64::from(*from)
                };
                let limit = LIMITS[*limit as usize % LIMITS.len()];
                let want = self.model.read_stream(s.as_str(), from, *backward, limit);
                let direction = if *backward {
                    ReadDirection::Backward
                } else {
                    ReadDirection::Forward
                };
                let got = match self.store.read_stream(&s, from, direction, limit).await {
                    Ok(events) => self.events(events)?,
                    Err(e) => Outcome::Failed(failure_of(e)),
                };
                same(want, got)
            }
            Op::ReadAll {
                after,
                limit,
                event_type,
                prefix,
                partition,
            } => {
                let partition =
                    partition.map(|i| disco_core::StreamPartition::new(u32::from(i), 3));
                let limit = LIMITS[*limit as usize % LIMITS.len()];
                let types: Vec<String> = event_type
                    .iter()
                    .map(|t| TYPES[*t as usize % TYPES.len()].to_owned())
                    .collect();
                let prefix = prefix.map(|p| PREFIXES[p as usize % PREFIXES.len()]);
                let want = self
                    .model
                    .read_all(u64::from(*after), limit, &types, prefix, partition);
                let mut filter = EventFilter::default().with_event_types(types);
                if let Some(p) = prefix {
                    filter = filter.with_stream_prefix(p);
                }
                if let Some(p) = partition {
                    filter = filter.with_partition(p);
                }
                let store_after = self.store_after(u64::from(*after));
                let got = match self
                    .store
                    .read_all_filtered(store_after, limit, &filter)
                    .await
                {
                    Ok(events) => self.events(events)?,
                    Err(e) => Outcome::Failed(failure_of(e)),
                };
                same(want, got)
            }
            Op::ReadAllBackward { from, limit } => {
                let limit = LIMITS[*limit as usize % LIMITS.len()];
                let from = if *from == 255 {
                    u64::MAX
                } else {
                    u64::from(*from)
                };
                let want = self.model.read_all_backward(from, limit);
                let store_from = if from == u64::MAX {
                    u64::MAX
                } else {
                    self.store_after(from)
                };
                let got = match self.store.read_all_backward(store_from, limit).await {
                    Ok(events) => self.events(events)?,
                    Err(e) => Outcome::Failed(failure_of(e)),
                };
                same(want, got)
            }
            Op::StreamVersion { stream } => {
                let s = stream_id(*stream)?;
                let want = self.model.stream_version(s.as_str());
                let got = match self.store.stream_version(&s).await {
                    Ok(v) => Outcome::Number(v),
                    Err(e) => Outcome::Failed(failure_of(e)),
                };
                same(want, got)
            }
            Op::Head => {
                let want = Outcome::Number(self.model.head());
                let got = match self.store.head_position().await {
                    Ok(0) => Outcome::Number(0),
                    Ok(p) => Outcome::Number(self.model_position(p)?),
                    Err(e) => Outcome::Failed(failure_of(e)),
                };
                same(want, got)
            }
            Op::ListStreams {
                prefix,
                after,
                limit,
            } => {
                let prefix = PREFIXES[*prefix as usize % PREFIXES.len()];
                let after = after.map(stream_id).transpose()?;
                let limit = LIMITS[*limit as usize % LIMITS.len()];
                let want =
                    self.model
                        .list_streams(prefix, after.as_ref().map(StreamId::as_str), limit);
                let got = match self.store.list_streams(prefix, after.as_ref(), limit).await {
                    Ok(rows) => Outcome::Streams(
                        rows.into_iter()
                            .map(|r| (r.stream_id.to_string(), r.version, r.state))
                            .collect(),
                    ),
                    Err(e) => Outcome::Failed(failure_of(e)),
                };
                same(want, got)
            }
            Op::Delete {
                stream,
                expected,
                hard,
            } => {
                let s = stream_id(*stream)?;
                let expected = self.resolve(*expected, s.as_str());
                let mode = if *hard {
                    DeleteMode::Hard
                } else {
                    DeleteMode::Soft
                };
                let want = self.model.delete(s.as_str(), expected, mode);
                let got = match self.store.delete_stream(&s, expected, mode).await {
                    Ok(()) => Outcome::Done,
                    Err(e) => Outcome::Failed(failure_of(e)),
                };
                same(want, got)
            }
            Op::SaveSnapshot {
                stream,
                version,
                data,
            } => {
                let s = stream_id(*stream)?;
                let version = if *version == 7 {
                    self.model.version_of(s.as_str())
                } else {
                    u64::from(*version)
                };
                let want = self.model.save_snapshot(s.as_str(), version, &[*data]);
                let got = match self.store.save_snapshot(&s, version, vec![*data]).await {
                    Ok(()) => Outcome::Done,
                    Err(e) => Outcome::Failed(failure_of(e)),
                };
                same(want, got)
            }
            Op::LoadSnapshot { stream } => {
                let s = stream_id(*stream)?;
                let want = self.model.load_snapshot(s.as_str());
                let got = match self.store.load_snapshot(&s).await {
                    Ok(snap) => Outcome::Snapshot(snap.map(|s| (s.version, s.data))),
                    Err(e) => Outcome::Failed(failure_of(e)),
                };
                same(want, got)
            }
            Op::SaveCheckpoint { name, position } => {
                let name = CHECKPOINTS[*name as usize % CHECKPOINTS.len()];
                let want = self.model.save_checkpoint(name, u64::from(*position));
                let got = match self.store.save_checkpoint(name, u64::from(*position)).await {
                    Ok(()) => Outcome::Done,
                    Err(e) => Outcome::Failed(failure_of(e)),
                };
                same(want, got)
            }
            Op::LoadCheckpoint { name } => {
                let name = CHECKPOINTS[*name as usize % CHECKPOINTS.len()];
                let want = self.model.load_checkpoint(name);
                let got = match self.store.load_checkpoint(name).await {
                    Ok(p) => Outcome::Checkpoint(p),
                    Err(e) => Outcome::Failed(failure_of(e)),
                };
                same(want, got)
            }
            Op::ListCheckpoints => {
                let want = self.model.list_checkpoints();
                let got = match self.store.list_checkpoints().await {
                    Ok(list) => Outcome::Checkpoints(
                        list.into_iter().map(|c| (c.name, c.position)).collect(),
                    ),
                    Err(e) => Outcome::Failed(failure_of(e)),
                };
                same(want, got)
            }
        }
    }

    async fn compare_whole_state(&mut self) -> Result<(), String> {
        let want = self.model.read_all(0, usize::MAX, &[], None, None);
        let got = match self.store.read_all(0, usize::MAX).await {
            Ok(events) => self.events(events)?,
            Err(e) => Outcome::Failed(failure_of(e)),
        };
        same(want, got).map_err(|e| format!("the whole log differs:{e}"))?;
        let want = self.model.list_streams("", None, usize::MAX);
        let got = match self.store.list_streams("", None, usize::MAX).await {
            Ok(rows) => Outcome::Streams(
                rows.into_iter()
                    .map(|r| (r.stream_id.to_string(), r.version, r.state))
                    .collect(),
            ),
            Err(e) => Outcome::Failed(failure_of(e)),
        };
        same(want, got).map_err(|e| format!("the stream list differs:{e}"))
    }
}
