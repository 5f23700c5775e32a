//! A stream's state and the store's head, read from the last message of a
//! subject.

use disco_core::{DeleteMode, Result, StreamId};

use crate::codec::{stream_message, StreamMessage};
use crate::NatsStore;

/// A stream's state as the last message of its subject says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct State {
    /// The stream's version (at deletion, for a deleted one).
    pub version: u64,
    /// How it was deleted, if it was.
    pub deleted: Option<DeleteMode>,
    /// The sequence of the subject's last message; 0 when none.
    pub last_seq: u64,
}

impl NatsStore {
    /// The state of `stream`.
    pub(crate) async fn state(&self, stream: &StreamId) -> Result<State> {
        let subject = self.names().stream(stream);
        let Some(last) = self.js().last(&self.names().events, &subject).await? else {
            return Ok(State::default());
        };
        self.saw(last.seq);
        Ok(match stream_message(stream, last.seq, &last.payload)? {
            StreamMessage::Event(event) => State {
                version: event.version,
                deleted: None,
                last_seq: last.seq,
            },
            StreamMessage::Deleted { hard, version, .. } => State {
                version,
                deleted: Some(if hard {
                    DeleteMode::Hard
                } else {
                    DeleteMode::Soft
                }),
                last_seq: last.seq,
            },
        })
    }

    /// The head and the sequence of the last message on any stream's
    /// subject (0 and 0 for an empty store). The head is that message's
    /// position when it is an event, else the head its delete marker
    /// recorded (a delete neither moves nor lowers the head).
    pub(crate) async fn head_and_last(&self) -> Result<(u64, u64)> {
        let Some(last) = self
            .js()
            .last(&self.names().events, &self.names().event_streams())
            .await?
        else {
            return Ok((0, 0));
        };
        self.saw(last.seq);
        let stream = self.names().stream_of(&last.subject).ok_or_else(|| {
            disco_core::Error::Backend(format!(
                "NATS: a message on {} is not disco's",
                last.subject
            ))
        })?;
        Ok(match stream_message(&stream, last.seq, &last.payload)? {
            StreamMessage::Event(_) => (last.seq, last.seq),
            StreamMessage::Deleted { head, .. } => (head, last.seq),
        })
    }
}

/// The most streams a handle remembers the state of; past it, it forgets
/// them all and starts again (a guess lost costs one read).
const KNOWN_MAX: usize = 4096;

/// The state of each stream as this handle last wrote or read it: a guess
/// that saves the read before an append. Never trusted: the append checks
/// it on the server (the expected sequence of the stream's subject), and a
/// stale guess fails there and the append is decided on a fresh read.
#[derive(Default)]
pub(crate) struct Known {
    states: std::sync::Mutex<std::collections::HashMap<StreamId, State>>,
}

impl Known {
    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<StreamId, State>> {
        self.states.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The state last seen of a live stream.
    pub(crate) fn get(&self, stream: &StreamId) -> Option<State> {
        self.lock().get(stream).copied()
    }

    /// Remembers `state` of a live stream (a deleted one is read each time).
    pub(crate) fn remember(&self, stream: &StreamId, state: State) {
        let mut states = self.lock();
        if state.deleted.is_some() {
            states.remove(stream);
            return;
        }
        if states.len() >= KNOWN_MAX && !states.contains_key(stream) {
            states.clear();
        }
        states.insert(stream.clone(), state);
    }

    /// Forgets what was seen of `stream`.
    pub(crate) fn forget(&self, stream: &StreamId) {
        self.lock().remove(stream);
    }
}
