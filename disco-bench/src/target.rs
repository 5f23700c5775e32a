//! [`Target`]: what a workload runs against, a store or its raw baseline, so
//! both do exactly the same work and the ratio compares like with like.

use std::sync::Arc;

use async_trait::async_trait;
use disco_core::{EventStore, ExpectedVersion, NewEvent, ReadDirection, Result, StreamId};

/// A thing that appends and reads events.
#[async_trait]
pub trait Target: Send + Sync {
    /// Appends `events` to `stream`, whose version is `version` before.
    async fn append(&self, stream: &StreamId, version: u64, events: Vec<NewEvent>) -> Result<()>;
    /// Appends each `(stream, version, events)` at once: the store as
    /// concurrent appends, a raw baseline in one transaction.
    async fn append_group(&self, appends: Vec<(StreamId, u64, Vec<NewEvent>)>) -> Result<()>;
    /// Reads up to `limit` events after `after`; returns how many and the last
    /// position (0 when none).
    async fn read_page(&self, after: u64, limit: usize) -> Result<(usize, u64)>;
    /// Reads up to `limit` events of `stream` forward; returns how many.
    async fn read_stream(&self, stream: &StreamId, limit: usize) -> Result<usize>;
}

/// A disco store as a [`Target`].
pub struct StoreTarget(pub Arc<dyn EventStore>);

#[async_trait]
impl Target for StoreTarget {
    async fn append(&self, stream: &StreamId, version: u64, events: Vec<NewEvent>) -> Result<()> {
        self.0
            .append(stream, ExpectedVersion::Exact(version), events)
            .await
            .map(|_| ())
    }

    async fn append_group(&self, appends: Vec<(StreamId, u64, Vec<NewEvent>)>) -> Result<()> {
        let mut tasks = tokio::task::JoinSet::new();
        for (stream, version, events) in appends {
            let store = self.0.clone();
            tasks.spawn(async move {
                store
                    .append(&stream, ExpectedVersion::Exact(version), events)
                    .await
            });
        }
        while let Some(joined) = tasks.join_next().await {
            joined
                .map_err(|e| disco_core::Error::Backend(format!("append task failed: {e}")))??;
        }
        Ok(())
    }

    async fn read_page(&self, after: u64, limit: usize) -> Result<(usize, u64)> {
        let page = self.0.read_all(after, limit).await?;
        Ok((page.len(), page.last().map_or(0, |e| e.position)))
    }

    async fn read_stream(&self, stream: &StreamId, limit: usize) -> Result<usize> {
        Ok(self
            .0
            .read_stream(stream, 1, ReadDirection::Forward, limit)
            .await?
            .len())
    }
}
