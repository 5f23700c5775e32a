//! Snapshots and checkpoints, one subject each in the meta stream (which
//! keeps one message per subject: the latest).

use disco_backend::append_check::check_snapshot_version;
use disco_core::{Checkpoint, Error, Result, Snapshot, StreamId};
use serde_json::json;

use crate::js::{Out, Refused};
use crate::{NatsStore, ROUNDS};

fn u64_at(payload: &[u8]) -> Result<(u64, &[u8])> {
    if payload.len() < 8 {
        return Err(Error::Backend("NATS: a stored record is damaged".into()));
    }
    let (head, rest) = payload.split_at(8);
    let bytes: [u8; 8] = head
        .try_into()
        .map_err(|_| Error::Backend("NATS: a stored record is damaged".into()))?;
    Ok((u64::from_be_bytes(bytes), rest))
}

impl NatsStore {
    pub(crate) async fn snapshot_save(
        &self,
        stream: &StreamId,
        version: u64,
        data: Vec<u8>,
    ) -> Result<()> {
        let state = self.state(stream).await?;
        if state.deleted.is_some() {
            return Err(Error::StreamDeleted {
                stream: stream.clone(),
            });
        }
        check_snapshot_version(stream, version, state.version)?;
        let subject = self.names().snapshot(stream);
        for _ in 0..ROUNDS {
            let current = self.js().last(&self.names().meta, &subject).await?;
            let current_seq = current.as_ref().map_or(0, |m| m.seq);
            if let Some(current) = current {
                let (stored, _) = u64_at(&current.payload)?;
                // The newest snapshot wins; the same version is replaced.
                if stored > version {
                    return Ok(());
                }
            }
            let mut payload = version.to_be_bytes().to_vec();
            payload.extend_from_slice(&data);
            match self
                .js()
                .publish(Out::new(subject.clone(), payload).expect_last(current_seq))
                .await?
            {
                Ok(_) => return Ok(()),
                Err(Refused::WrongLastSequence(_)) => continue,
                Err(Refused::Other(code, description)) => {
                    return Err(crate::append::refused(code, &description))
                }
            }
        }
        Err(Error::Unavailable(
            "NATS: the snapshot kept changing; try again".into(),
        ))
    }

    pub(crate) async fn snapshot_load(&self, stream: &StreamId) -> Result<Option<Snapshot>> {
        if self.state(stream).await?.deleted.is_some() {
            return Err(Error::StreamDeleted {
                stream: stream.clone(),
            });
        }
        let Some(message) = self
            .js()
            .last(&self.names().meta, &self.names().snapshot(stream))
            .await?
        else {
            return Ok(None);
        };
        let (version, data) = u64_at(&message.payload)?;
        Ok(Some(Snapshot {
            stream_id: stream.clone(),
            version,
            data: data.to_vec(),
        }))
    }

    pub(crate) async fn snapshot_delete(&self, stream: &StreamId) -> Result<()> {
        if self.state(stream).await?.deleted.is_some() {
            return Err(Error::StreamDeleted {
                stream: stream.clone(),
            });
        }
        self.js()
            .purge(&self.names().meta, &self.names().snapshot(stream), 0)
            .await
    }

    /// Saves a checkpoint; with a `token`, only while the lease of that
    /// name has not been taken since (the fence's sequence is the token,
    /// checked on the server in the same step).
    pub(crate) async fn checkpoint_save(
        &self,
        name: &str,
        position: u64,
        token: Option<u64>,
    ) -> Result<()> {
        let mut out = Out::new(
            self.names().checkpoint(name),
            position.to_be_bytes().to_vec(),
        );
        if let Some(token) = token {
            out = out.expect_last_on(&self.names().fence(name), token);
        }
        match self.js().publish(out).await? {
            Ok(_) => Ok(()),
            Err(Refused::WrongLastSequence(found)) if token.is_some() => {
                let current = match found {
                    Some(current) => current,
                    None => self
                        .js()
                        .last(&self.names().meta, &self.names().fence(name))
                        .await?
                        .map_or(0, |m| m.seq),
                };
                Err(Error::Fenced {
                    name: name.to_owned(),
                    token: token.unwrap_or(0),
                    current,
                })
            }
            Err(Refused::WrongLastSequence(_)) => Err(Error::Backend(
                "NATS: an unconditional checkpoint write was refused".into(),
            )),
            Err(Refused::Other(code, description)) => {
                Err(crate::append::refused(code, &description))
            }
        }
    }

    pub(crate) async fn checkpoint_load(&self, name: &str) -> Result<Option<u64>> {
        match self
            .js()
            .last(&self.names().meta, &self.names().checkpoint(name))
            .await?
        {
            Some(message) => u64_at(&message.payload).map(|(p, _)| Some(p)),
            None => Ok(None),
        }
    }

    pub(crate) async fn checkpoint_list(&self) -> Result<Vec<Checkpoint>> {
        let found = self
            .js()
            .batch(
                &self.names().meta,
                json!({ "multi_last": [self.names().checkpoints()] }),
                1000,
            )
            .await?;
        let mut checkpoints = Vec::new();
        for message in found {
            let Some(name) = self.names().checkpoint_of(&message.subject) else {
                continue;
            };
            let (position, _) = u64_at(&message.payload)?;
            checkpoints.push(Checkpoint { name, position });
        }
        checkpoints.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(checkpoints)
    }
}
