//! What a process manager's instance stream holds: one step per event the
//! instance reacted to (the state after it, so each step is a snapshot),
//! and a record of each refused command, after the step that decided it.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use disco_core::{EventStore, NewEvent, ReadDirection, RecordedEvent, StreamId, Uuid};

use crate::aggregate::{CommandContext, Metadata};
use crate::errors::CodecError;

/// The event type of a step.
pub(crate) const STEP: &str = "ProcessStep";
/// The event type of a refused command's record.
pub(crate) const REFUSED: &str = "CommandRefused";
/// Events per read while looking for steps.
const PAGE: usize = 64;

type Failure = Box<dyn std::error::Error + Send + Sync>;

#[derive(Serialize, Deserialize)]
struct StepRecord<S> {
    trigger: Uuid,
    /// The trigger's position: events reach a process manager in position
    /// order, so an event past its instance's last trigger is new to it.
    position: u64,
    done: bool,
    state: S,
}

#[derive(Serialize, Deserialize)]
struct RefusedRecord {
    trigger: Uuid,
    command: u64,
    reason: String,
}

/// An instance as its last step left it.
#[derive(Clone)]
pub(crate) struct Instance<P> {
    /// Its state (the default before its first step).
    pub state: P,
    /// Its stream's version.
    pub version: u64,
    /// The position of its last step's event (0 before its first step).
    pub last_position: u64,
    /// Whether its last step stopped it.
    pub done: bool,
}

fn step_of<P: DeserializeOwned>(event: &RecordedEvent) -> Result<StepRecord<P>, CodecError> {
    serde_json::from_slice(&event.data).map_err(|e| {
        CodecError(format!(
            "step {} of {} does not decode: {e}",
            event.version, event.stream_id
        ))
    })
}

/// The instance in `stream`: its last step, found reading backward (one
/// read when the last step is among the stream's last events).
pub(crate) async fn load<P: DeserializeOwned + Default>(
    store: &dyn EventStore,
    stream: &StreamId,
) -> Result<Instance<P>, Failure> {
    let mut version = None;
    let mut from = u64::MAX;
    while from > 0 {
        let page = store
            .read_stream(stream, from, ReadDirection::Backward, PAGE)
            .await?;
        let version = *version.get_or_insert(page.first().map_or(0, |e| e.version));
        if let Some(last) = page.iter().find(|e| e.event_type == STEP) {
            let step = step_of::<P>(last)?;
            return Ok(Instance {
                state: step.state,
                version,
                last_position: step.position,
                done: step.done,
            });
        }
        from = match page.last() {
            Some(e) if page.len() == PAGE => e.version.saturating_sub(1),
            _ => 0,
        };
    }
    Ok(Instance {
        state: P::default(),
        version: version.unwrap_or(0),
        last_position: 0,
        done: false,
    })
}

/// The step `trigger` (at `position`) made, if it made one: its version,
/// the state before it (the previous step's, or the default) and the state
/// it holds. Reads backward until the steps are older than the trigger.
pub(crate) async fn find<P: DeserializeOwned + Default>(
    store: &dyn EventStore,
    stream: &StreamId,
    trigger: Uuid,
    position: u64,
) -> Result<Option<(u64, P, P)>, Failure> {
    let mut found: Option<(u64, P)> = None;
    let mut from = u64::MAX;
    while from > 0 {
        let page = store
            .read_stream(stream, from, ReadDirection::Backward, PAGE)
            .await?;
        for event in page.iter().filter(|e| e.event_type == STEP) {
            let step = step_of::<P>(event)?;
            match found {
                Some((version, after)) => return Ok(Some((version, step.state, after))),
                None if step.trigger == trigger => found = Some((event.version, step.state)),
                None if step.position < position => return Ok(None),
                None => {}
            }
        }
        from = match page.last() {
            Some(e) if page.len() == PAGE => e.version.saturating_sub(1),
            _ => 0,
        };
    }
    Ok(found.map(|(version, after)| (version, P::default(), after)))
}

/// The commands of `trigger`'s step (at `version`) recorded as refused:
/// index -> reason.
pub(crate) async fn refusals(
    store: &dyn EventStore,
    stream: &StreamId,
    version: u64,
    trigger: Uuid,
) -> Result<BTreeMap<u64, String>, Failure> {
    let mut refused = BTreeMap::new();
    let mut from = version.saturating_add(1);
    loop {
        let page = store
            .read_stream(stream, from, ReadDirection::Forward, PAGE)
            .await?;
        for event in &page {
            if event.event_type == STEP {
                return Ok(refused);
            }
            if event.event_type == REFUSED {
                let record: RefusedRecord = serde_json::from_slice(&event.data)
                    .map_err(|e| CodecError(format!("a refusal record does not decode: {e}")))?;
                if record.trigger == trigger {
                    refused.insert(record.command, record.reason);
                }
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE => from = last.version.saturating_add(1),
            _ => return Ok(refused),
        }
    }
}

/// Metadata of what the process manager itself records: caused by the
/// event, in its conversation.
fn metadata(context: &CommandContext) -> Result<Vec<u8>, CodecError> {
    serde_json::to_vec(&Metadata {
        schema_version: 1,
        correlation_id: context.correlation_id,
        causation_id: context.causation_id.unwrap_or(context.command_id),
        command_id: None,
        custom: context.metadata.clone(),
    })
    .map_err(|e| CodecError(format!("the metadata does not serialize: {e}")))
}

/// The step `trigger` (at `position`) makes an instance take, with id `id`.
pub(crate) fn step_event<P: Serialize>(
    id: Uuid,
    trigger: Uuid,
    position: u64,
    state: &P,
    done: bool,
    context: &CommandContext,
) -> Result<NewEvent, CodecError> {
    let data = serde_json::to_vec(&StepRecord {
        trigger,
        position,
        done,
        state,
    })
    .map_err(|e| CodecError(format!("the process state does not serialize: {e}")))?;
    Ok(NewEvent::new(STEP, data)
        .with_id(id)
        .with_metadata(metadata(context)?))
}

/// The record of `trigger`'s `command`-th command refused for `reason`.
pub(crate) fn refused_event(
    id: Uuid,
    trigger: Uuid,
    command: u64,
    reason: &str,
    context: &CommandContext,
) -> Result<NewEvent, CodecError> {
    let data = serde_json::to_vec(&RefusedRecord {
        trigger,
        command,
        reason: reason.to_owned(),
    })
    .map_err(|e| CodecError(format!("a refusal record does not serialize: {e}")))?;
    Ok(NewEvent::new(REFUSED, data)
        .with_id(id)
        .with_metadata(metadata(context)?))
}
