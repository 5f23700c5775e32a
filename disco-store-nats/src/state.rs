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
