//! Deleting a stream: a marker on the stream's subject, stored only if the
//! stream is where it was read (its expected version) and, through a guard
//! message checked against every stream's subject, only if no event came in
//! since the head was read (the marker records the head, which a delete
//! neither moves nor lowers). A hard delete's marker rolls the subject up
//! (the server removes the events in the same step); the claims of its
//! events and its snapshot go after.

use disco_backend::append_check::check_delete;
use disco_core::{DeleteMode, Error, ExpectedVersion, Result, StreamId};

use crate::codec;
use crate::js::{Out, Refused};
use crate::{NatsStore, ROUNDS};

impl NatsStore {
    pub(crate) async fn delete(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        mode: DeleteMode,
    ) -> Result<()> {
        self.known().forget(stream);
        for _ in 0..ROUNDS {
            let state = self.state(stream).await?;
            check_delete(stream, state.deleted, state.version, expected, mode)?;
            let hard = mode == DeleteMode::Hard;
            // The ids of the stream's events: a hard delete frees them.
            let mut ids = Vec::new();
            if hard {
                self.stream_events(stream, state.last_seq, |event| {
                    ids.push(event.id);
                    true
                })
                .await?;
            }
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
}
