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
pub(crate) struct Instance<P> {
    /// Its state (the default before its first step).
    pub state: P,
    /// Its stream's version.
    pub version: u64,
    /// The event of its last step.
    pub last_trigger: Option<Uuid>,
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

/// The instance in `stream`: its last step, found reading backward.
pub(crate) async fn load<P: DeserializeOwned + Default>(
    store: &dyn EventStore,
    stream: &StreamId,
) -> Result<Instance<P>, Failure> {
    let version = store.stream_version(stream).await?;
    let mut from = version;
    while from > 0 {
        let page = store
            .read_stream(stream, from, ReadDirection::Backward, PAGE)
            .await?;
        if let Some(last) = page.iter().find(|e| e.event_type == STEP) {
            let step = step_of::<P>(last)?;
            return Ok(Instance {
                state: step.state,
                version,
                last_trigger: Some(step.trigger),
                done: step.done,
            });
        }
        from = page.last().map_or(0, |e| e.version.saturating_sub(1));
    }
    Ok(Instance {
        state: P::default(),
        version,
        last_trigger: None,
        done: false,
    })
}

/// The state before the step at `version` (the previous step's, or the
/// default) and the state it holds.
pub(crate) async fn around<P: DeserializeOwned + Default>(
    store: &dyn EventStore,
    stream: &StreamId,
    version: u64,
) -> Result<(P, P), Failure> {
    let mut after = None;
    let mut from = version;
    while from > 0 {
        let page = store
            .read_stream(stream, from, ReadDirection::Backward, PAGE)
            .await?;
        for event in page.iter().filter(|e| e.event_type == STEP) {
            let step = step_of::<P>(event)?;
            match after {
                None => after = Some(step.state),
                Some(after) => return Ok((step.state, after)),
            }
        }
        from = page.last().map_or(0, |e| e.version.saturating_sub(1));
    }
    let after =
        after.ok_or_else(|| CodecError(format!("no step at version {version} of {stream}")))?;
    Ok((P::default(), after))
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
    let mut from = version + 1;
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
            Some(last) if page.len() == PAGE => from = last.version + 1,
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

/// The step `trigger` makes an instance take, with id `id`.
pub(crate) fn step_event<P: Serialize>(
    id: Uuid,
    trigger: Uuid,
    state: &P,
    done: bool,
    context: &CommandContext,
) -> Result<NewEvent, CodecError> {
    let data = serde_json::to_vec(&StepRecord {
        trigger,
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
