//! [`StreamSubscription`]: one stream's events from a version, caught up in
//! pages and then followed live.
//!
//! It runs on the [`EventStore`] trait alone, so every store has it: a task
//! reads [`EventStore::read_stream`] forward from the next version; after a
//! short page it waits for the store's notifications (or the poll interval)
//! beyond the head announced before the read, then reads again.
//!
//! Invariant: each read starts at the version after the last one delivered,
//! and a stream's versions have no holes (rule 2), so nothing is missed and
//! nothing comes twice.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use tokio::sync::mpsc;

use disco_core::{EventStore, ReadDirection, RecordedEvent, Result, StreamId};

use crate::subscription::{back_off, wait_for_head};
use crate::SubscriptionOptions;

/// A live feed of one stream's events from a version, in version order.
///
/// A deleted stream ends it with [`disco_core::Error::StreamDeleted`]; so
/// does any error that retrying does not cure. Dropping it stops its task.
///
/// ```
/// # async fn demo(store: std::sync::Arc<dyn disco::EventStore>) -> disco::Result<()> {
/// use disco::{ExpectedVersion, NewEvent, StreamId, StreamSubscription, SubscriptionOptions};
/// let stream = StreamId::new("wallet-1")?;
/// let mut feed = StreamSubscription::start(store.clone(), stream.clone(), 1, SubscriptionOptions::default());
/// store.append(&stream, ExpectedVersion::Any, vec![NewEvent::new("Opened", vec![])]).await?;
/// let event = feed.next().await.expect("a live subscription")?;
/// assert_eq!(event.version, 1);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct StreamSubscription {
    pages: mpsc::Receiver<Result<Vec<RecordedEvent>>>,
    current: VecDeque<RecordedEvent>,
    version: u64,
    ended: bool,
}

impl StreamSubscription {
    /// Starts reading `stream` from version `from` (1: every event; the
    /// options' `after` and `filter` do not apply) on a task of its own.
    pub fn start(
        store: Arc<dyn EventStore>,
        stream: StreamId,
        from: u64,
        options: SubscriptionOptions,
    ) -> Self {
        let from = from.max(1);
        let (tx, rx) = mpsc::channel(options.buffer_pages.max(1));
        tokio::spawn(pump(store, stream, from, options, tx));
        StreamSubscription {
            pages: rx,
            current: VecDeque::new(),
            version: from.saturating_sub(1),
            ended: false,
        }
    }

    /// The version of the last event delivered (`from - 1` before the first).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The next event; `None` once the feed ended.
    pub async fn next(&mut self) -> Option<Result<RecordedEvent>> {
        std::future::poll_fn(|cx| self.poll_event(cx)).await
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<RecordedEvent>>> {
        loop {
            if let Some(event) = self.current.pop_front() {
                self.version = event.version;
                return Poll::Ready(Some(Ok(event)));
            }
            if self.ended {
                return Poll::Ready(None);
            }
            match self.pages.poll_recv(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    self.ended = true;
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(Err(error))) => {
                    self.ended = true;
                    return Poll::Ready(Some(Err(error)));
                }
                Poll::Ready(Some(Ok(page))) => self.current = page.into(),
            }
        }
    }
}

impl Stream for StreamSubscription {
    type Item = Result<RecordedEvent>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_event(cx)
    }
}

async fn pump(
    store: Arc<dyn EventStore>,
    stream: StreamId,
    mut next: u64,
    options: SubscriptionOptions,
    tx: mpsc::Sender<Result<Vec<RecordedEvent>>>,
) {
    let page_size = options.page_size.max(1);
    let mut notifications = store.notifications();
    let mut retry_delay = options.retry_delay;
    loop {
        let announced = notifications.head();
        let read = tokio::select! {
            read = store.read_stream(&stream, next, ReadDirection::Forward, page_size) => read,
            _ = tx.closed() => return,
        };
        let page = match read {
            Ok(page) => {
                retry_delay = options.retry_delay;
                page
            }
            Err(error) if error.is_retryable() => {
                tracing::warn!(%error, %stream, next, "stream subscription read failed; retrying");
                if !back_off(&tx, &mut retry_delay, options.poll_interval).await {
                    return;
                }
                continue;
            }
            Err(error) => {
                let _ = tx.send(Err(error)).await;
                return;
            }
        };
        let caught_up = page.len() < page_size;
        if let Some(last) = page.last() {
            next = last.version.saturating_add(1);
            if tx.send(Ok(page)).await.is_err() {
                return;
            }
        }
        if !caught_up {
            continue;
        }
        if !wait_for_head(&tx, &mut notifications, announced, options.poll_interval).await {
            return;
        }
    }
}
