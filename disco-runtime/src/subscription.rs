//! [`Subscription`]: the events after a position, caught up in pages and
//! then followed live, as a [`Stream`].
//!
//! A subscription runs on the [`EventStore`] trait alone, so every store has
//! it. A task of its own reads [`EventStore::read_all_filtered`] in pages of
//! [`SubscriptionOptions::page_size`]; when a page comes back short it has
//! caught up, and it waits for the store's [notifications](crate::Notifications)
//! (or [`SubscriptionOptions::poll_interval`], the fallback when a
//! notification is lost) before it reads again. Pages go to the subscriber
//! through a bounded channel, so a slow subscriber holds back the reads
//! rather than filling memory (at most `buffer_pages` pages wait).
//!
//! Invariants:
//! - every read starts after the last position delivered, and the contract's
//!   rule 4 (position order is commit order) means no event can later appear
//!   behind it: nothing is missed, nothing comes twice;
//! - the head announced *before* a short read is what the wait waits beyond,
//!   so a commit that lands during the read wakes the next one;
//! - a short read has seen the whole store up to that announced head (rule
//!   4: everything at or below it was committed before the read began), so
//!   the subscription's [`Subscription::seen`] moves there, and the next
//!   read starts there: a filter that rarely matches never reads a range
//!   twice, and a filtered reader's lag reaches 0.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use tokio::sync::mpsc;

use disco_core::{Error, EventFilter, EventStore, RecordedEvent, Result};

/// Where a subscription starts, what it lets through and how it reads.
///
/// ```
/// use disco::EventFilter;
/// use disco::SubscriptionOptions;
/// let options = SubscriptionOptions::default()
///     .after(41)
///     .filter(EventFilter::default().with_stream_prefix("wallet-"))
///     .page_size(500);
/// assert_eq!(options.after, 41);
/// ```
#[derive(Clone, Debug)]
pub struct SubscriptionOptions {
    /// Deliver events with positions above this (0: from the start).
    pub after: u64,
    /// Which events to deliver.
    pub filter: EventFilter,
    /// Events per read (at least 1). Default 512.
    pub page_size: usize,
    /// Pages read ahead of the subscriber (at least 1). Default 4.
    pub buffer_pages: usize,
    /// The longest wait for a notification before reading again. Default 1 s.
    pub poll_interval: Duration,
    /// The first wait after a read failed with a retryable error; it doubles
    /// up to `poll_interval`. Default 50 ms.
    pub retry_delay: Duration,
}

impl Default for SubscriptionOptions {
    fn default() -> Self {
        SubscriptionOptions {
            after: 0,
            filter: EventFilter::default(),
            page_size: 512,
            buffer_pages: 4,
            poll_interval: Duration::from_secs(1),
            retry_delay: Duration::from_millis(50),
        }
    }
}

impl SubscriptionOptions {
    /// Deliver events with positions above `position`.
    pub fn after(mut self, position: u64) -> Self {
        self.after = position;
        self
    }

    /// Deliver only events that pass `filter`.
    pub fn filter(mut self, filter: EventFilter) -> Self {
        self.filter = filter;
        self
    }

    /// Read `events` per page.
    pub fn page_size(mut self, events: usize) -> Self {
        self.page_size = events;
        self
    }

    /// Read up to `pages` pages ahead of the subscriber.
    pub fn buffer_pages(mut self, pages: usize) -> Self {
        self.buffer_pages = pages;
        self
    }

    /// Read again after `interval` without a notification.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }
}

/// A page of events, and the position up to which the reader has seen the
/// store once they are delivered (at least the last event's position).
type Page = Result<(Vec<RecordedEvent>, u64)>;

/// What [`Subscription::next_progress`] yields.
#[derive(Clone, Debug, PartialEq)]
pub enum Progressed {
    /// The next event.
    Event(RecordedEvent),
    /// No event, but everything up to this position has been seen (the
    /// filter let nothing through in the range).
    Seen(u64),
}

/// A live feed of a store's events in position order: every event after the
/// start that passes the filter, once, including those appended while it runs.
///
/// It implements [`Stream`]; [`Subscription::next`] is the same without a
/// stream combinator crate. After an item that is an error (a store failure
/// that retrying does not cure, or a closed store) the stream ends. Dropping
/// it stops its reader task.
///
/// ```
/// # async fn demo(store: std::sync::Arc<dyn disco::EventStore>) -> disco::Result<()> {
/// use disco::{ExpectedVersion, NewEvent, StreamId};
/// use disco::{Subscription, SubscriptionOptions};
/// let mut feed = Subscription::start(store.clone(), SubscriptionOptions::default());
/// let stream = StreamId::new("wallet-1")?;
/// store.append(&stream, ExpectedVersion::Any, vec![NewEvent::new("Opened", vec![])]).await?;
/// let event = feed.next().await.expect("a live subscription")?;
/// assert_eq!(event.event_type, "Opened");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Subscription {
    pages: mpsc::Receiver<Page>,
    current: VecDeque<RecordedEvent>,
    /// What the current page has seen once its events are delivered.
    current_seen: u64,
    position: u64,
    seen: u64,
    ended: bool,
}

impl Subscription {
    /// Starts reading `store` as `options` say, on a task of its own (it needs
    /// a tokio runtime).
    pub fn start(store: Arc<dyn EventStore>, options: SubscriptionOptions) -> Self {
        let (tx, rx) = mpsc::channel(options.buffer_pages.max(1));
        let position = options.after;
        tokio::spawn(pump(store, options, tx));
        Subscription {
            pages: rx,
            current: VecDeque::new(),
            current_seen: position,
            position,
            seen: position,
            ended: false,
        }
    }

    /// The position of the last event delivered (the start before the first).
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The position up to which the subscriber has seen the store: every
    /// event at or below it was delivered or did not pass the filter. It
    /// runs ahead of [`Subscription::position`] when the filter leaves a
    /// range empty, and reaches the head when the subscriber is caught up.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// The next event if it is already read, without waiting.
    pub fn try_next(&mut self) -> Option<RecordedEvent> {
        let event = self.current.pop_front()?;
        self.delivered(&event);
        Some(event)
    }

    /// The next event; `None` once the stream ended.
    pub async fn next(&mut self) -> Option<Result<RecordedEvent>> {
        loop {
            match self.next_progress().await? {
                Ok(Progressed::Event(event)) => return Some(Ok(event)),
                Ok(Progressed::Seen(_)) => {}
                Err(error) => return Some(Err(error)),
            }
        }
    }

    /// The next event, or news that the subscriber has seen further without
    /// an event to deliver (see [`Subscription::seen`]); `None` once the
    /// stream ended.
    pub async fn next_progress(&mut self) -> Option<Result<Progressed>> {
        std::future::poll_fn(|cx| self.poll_progress(cx)).await
    }

    fn delivered(&mut self, event: &RecordedEvent) {
        self.position = event.position;
        self.seen = if self.current.is_empty() {
            self.current_seen.max(event.position)
        } else {
            event.position
        };
    }

    fn poll_progress(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Progressed>>> {
        loop {
            if let Some(event) = self.current.pop_front() {
                self.delivered(&event);
                return Poll::Ready(Some(Ok(Progressed::Event(event))));
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
                Poll::Ready(Some(Ok((page, seen)))) => {
                    self.current = page.into();
                    self.current_seen = seen;
                    if self.current.is_empty() && seen > self.seen {
                        self.seen = seen;
                        return Poll::Ready(Some(Ok(Progressed::Seen(seen))));
                    }
                }
            }
        }
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<RecordedEvent>>> {
        loop {
            match self.poll_progress(cx) {
                Poll::Ready(Some(Ok(Progressed::Seen(_)))) => {}
                Poll::Ready(Some(Ok(Progressed::Event(event)))) => {
                    return Poll::Ready(Some(Ok(event)))
                }
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl Stream for Subscription {
    type Item = Result<RecordedEvent>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_event(cx)
    }
}

/// The reader task: pages until caught up, then waits for the head to move.
async fn pump(store: Arc<dyn EventStore>, options: SubscriptionOptions, tx: mpsc::Sender<Page>) {
    let page_size = options.page_size.max(1);
    let mut notifications = store.notifications();
    let mut after = options.after;
    let mut retry_delay = options.retry_delay;
    loop {
        let announced = notifications.head();
        let read = tokio::select! {
            read = store.read_all_filtered(after, page_size, &options.filter) => read,
            _ = tx.closed() => return,
        };
        let page = match read {
            Ok(page) => {
                retry_delay = options.retry_delay;
                page
            }
            Err(error) if error.is_retryable() => {
                tracing::warn!(%error, after, "subscription read failed; retrying");
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
        let last = page.last().map_or(after, |event| event.position);
        // A short read saw everything up to the head announced before it.
        let seen = if caught_up { last.max(announced) } else { last };
        if seen > after || !page.is_empty() {
            after = seen;
            if tx.send(Ok((page, seen))).await.is_err() {
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

/// Waits `delay` before a retry (doubling it up to `max` for the next);
/// `false` if the subscriber went away meanwhile.
pub(crate) async fn back_off<T>(
    tx: &mpsc::Sender<Result<T>>,
    delay: &mut Duration,
    max: Duration,
) -> bool {
    let waited = tokio::select! {
        _ = tokio::time::sleep(*delay) => true,
        _ = tx.closed() => false,
    };
    *delay = delay.saturating_mul(2).min(max);
    waited
}

/// Waits for a head beyond `announced` (the head announced before the read,
/// so a commit during the read counts), or `poll_interval`; `false` when the
/// subscriber went away or the store closed (which it is told).
pub(crate) async fn wait_for_head<T>(
    tx: &mpsc::Sender<Result<T>>,
    notifications: &mut disco_core::Notifications,
    announced: u64,
    poll_interval: Duration,
) -> bool {
    let woke = tokio::select! {
        woke = tokio::time::timeout(poll_interval, notifications.wait_beyond(announced)) => woke,
        _ = tx.closed() => return false,
    };
    if let Ok(Err(closed)) = woke {
        let _ = tx.send(Err(closed_store(closed))).await;
        return false;
    }
    true
}

fn closed_store(error: Error) -> Error {
    match error {
        Error::Unavailable(m) => Error::Unavailable(format!("subscription ended: {m}")),
        other => other,
    }
}
