//! The memory baseline: a `Vec` of recorded events behind a mutex, with a
//! per-stream index. No id index, no expected-version check, no validation.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use disco_core::{Error, NewEvent, RecordedEvent, Result, StreamId, Timestamp};

use crate::target::Target;

/// The raw in-memory log.
#[derive(Default)]
pub struct RawMemory {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    log: Vec<RecordedEvent>,
    streams: HashMap<StreamId, Vec<usize>>,
}

impl RawMemory {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>> {
        self.inner
            .lock()
            .map_err(|_| Error::Backend("the raw baseline's lock is poisoned".into()))
    }
}

#[async_trait]
impl Target for RawMemory {
    async fn append(&self, stream: &StreamId, version: u64, events: Vec<NewEvent>) -> Result<()> {
        let mut inner = self.lock()?;
        let now = Timestamp::now();
        let mut indexes = Vec::with_capacity(events.len());
        for (i, e) in events.into_iter().enumerate() {
            let position = inner.log.len() as u64 + 1;
            indexes.push(inner.log.len());
            let version = version + 1 + i as u64;
            inner.log.push(RecordedEvent::recorded(
                e,
                stream.clone(),
                version,
                position,
                now,
            ));
        }
        inner
            .streams
            .entry(stream.clone())
            .or_default()
            .extend(indexes);
        Ok(())
    }

    async fn append_group(&self, appends: Vec<(StreamId, u64, Vec<NewEvent>)>) -> Result<()> {
        for (stream, version, events) in appends {
            self.append(&stream, version, events).await?;
        }
        Ok(())
    }

    async fn read_page(&self, after: u64, limit: usize) -> Result<(usize, u64)> {
        let inner = self.lock()?;
        let start = (after as usize).min(inner.log.len());
        let page: Vec<RecordedEvent> = inner.log[start..].iter().take(limit).cloned().collect();
        Ok((page.len(), page.last().map_or(0, |e| e.position)))
    }

    async fn read_stream(&self, stream: &StreamId, limit: usize) -> Result<usize> {
        let inner = self.lock()?;
        let Some(indexes) = inner.streams.get(stream) else {
            return Ok(0);
        };
        let events: Vec<RecordedEvent> = indexes
            .iter()
            .take(limit)
            .map(|&i| inner.log[i].clone())
            .collect();
        Ok(events.len())
    }
}
