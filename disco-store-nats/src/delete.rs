//! Deleting a stream: a marker on the stream's subject, stored only if the
//! stream is where it was read (its expected version) and, through a guard
//! message checked against every stream's subject, only if no event came in
//! since the head was read (the marker records the head, which a delete
//! neither moves nor lowers). A hard delete's marker rolls the subject up
//! (the server removes the events in the same step); the claims of its
//! events and its snapshot go after.

use disco_backend::append_check::check_delete;
use disco_core::{DeleteMode, Error, ExpectedVersion, Result, StreamId, Uuid};

use crate::codec::{self, stream_message, StreamMessage};
use crate::js::{Out, Refused};
use crate::NatsStore;

const ROUNDS: usize = 64;

impl NatsStore {
    pub(crate) async fn delete(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        mode: DeleteMode,
    ) -> Result<()> {
        for _ in 0..ROUNDS {
            let state = self.state(stream).await?;
            check_delete(stream, state.deleted, state.version, expected, mode)?;
            let hard = mode == DeleteMode::Hard;
            let ids = if hard {
                self.stream_ids(stream).await?
            } else {
                Vec::new()
            };
            let (head, last) = self.head_and_last().await?;
            let guard = Out::new(self.names().guard(), Vec::new())
                .with("Nats-TTL", "1s")
                .expect_last_on(&self.names().event_streams(), last);
            let mut marker = Out::new(
                self.names().stream(stream),
                codec::deleted(hard, state.version, head),
            )
            .expect_last(state.last_seq);
            if hard {
                marker = marker.with("Nats-Rollup", "sub");
            }
            match self.js().publish_batch(vec![guard, marker]).await? {
                Ok(seq) => {
                    self.saw(seq);
                    if hard {
                        for id in ids {
                            self.js()
                                .purge(&self.names().events, &self.names().claim(id), 0)
                                .await?;
                        }
                        self.js()
                            .purge(&self.names().meta, &self.names().snapshot(stream), 0)
                            .await?;
                    }
                    return Ok(());
                }
                Err(Refused::WrongLastSequence(_)) => continue,
                Err(Refused::Other(code, description)) => {
                    return Err(crate::append::refused(code, &description))
                }
            }
        }
        Err(Error::Unavailable(
            "NATS: the store kept changing during the delete; try again".into(),
        ))
    }

    /// The ids of the stream's events (a hard delete frees them).
    async fn stream_ids(&self, stream: &StreamId) -> Result<Vec<Uuid>> {
        let subject = self.names().stream(stream);
        let mut ids = Vec::new();
        let mut seq = 1;
        loop {
            let page = self
                .js()
                .batch(
                    &self.names().events,
                    serde_json::json!({ "seq": seq, "next_by_subj": subject }),
                    512,
                )
                .await?;
            let done = page.len() < 512;
            for message in &page {
                seq = message.seq.saturating_add(1);
                if let StreamMessage::Event(event) =
                    stream_message(stream, message.seq, &message.payload)?
                {
                    ids.push(event.id);
                }
            }
            if done {
                return Ok(ids);
            }
        }
    }
}
