//! The loop of a runner's active stretch, the same for a consumer's runner
//! and a projection's: look at the handle's commands, renew the lease and
//! run the timed work when due, take the events the feeds have read (or
//! wait for the first of a command, a deadline and a feed), and hand them
//! over. What a runner does with each of these is its [`Work`]: a consumer
//! handles events one at a time and saves a checkpoint; a projection
//! applies batches to one or two generations, each in a read-model
//! transaction.
//!
//! Invariants ([`drive`]):
//! - the handle's commands are looked at before every batch, and a waiting
//!   loop wakes for them first;
//! - the lease is renewed when due before a batch is handed over, at the
//!   latest [`Work::clock_every`] batches after it fell due, and a lease
//!   found lost ends the stretch before any further batch;
//! - a feed's events are handed over in the order it read them, with the
//!   position the feed has seen once they are taken.

use std::future::Future;

use tokio::sync::mpsc::{error::TryRecvError, UnboundedReceiver};
use tokio::time::{sleep_until, Instant};

use super::holding::Holding;
use crate::{Progressed, Subscription};
use disco_core::RecordedEvent;

/// One of the (at most two) feeds a stretch reads: a consumer reads one;
/// a projection reads its live generation's and, while it rebuilds, the
/// building generation's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feed {
    /// The first feed (a projection's live generation).
    First,
    /// The second feed (a projection's building generation).
    Second,
}

/// What [`drive`] waits on: the handle's channel and the feeds.
pub struct Parts<'a, C> {
    /// The handle's commands.
    pub commands: &'a mut UnboundedReceiver<C>,
    /// The feeds, in [`Feed`] order; `None` where one is not open.
    pub feeds: [Option<&'a mut Subscription>; 2],
}

/// What a runner does while it holds its lease; [`drive`] runs the loop
/// around it. A method that returns `Err(end)` ends the stretch with `end`.
pub trait Work: Send {
    /// What the runner's handle sends it.
    type Command: Send;
    /// How a stretch ends: an exit of the runner, or back to standby.
    type End: Send;

    /// The most events handed over at once.
    fn batch_size(&self) -> usize;

    /// How many batches may pass between two looks at the clock (for the
    /// lease's renewal and [`Work::due`]); reading the clock for every
    /// event costs more than a no-op delivery. The clock is also read
    /// whenever the feeds run dry.
    fn clock_every(&self) -> u32;

    /// The lease held.
    fn hold(&self) -> &Holding;

    /// Renews the lease; `false` when it is lost (or cannot be confirmed).
    fn renew(&mut self) -> impl Future<Output = bool> + Send;

    /// How a lost lease ends the stretch.
    fn lease_lost(&mut self) -> Self::End;

    /// The handle's channel and the open feeds.
    fn parts(&mut self) -> Parts<'_, Self::Command>;

    /// When [`Work::due`] is next to run.
    fn due_at(&self) -> Instant;

    /// Whether [`Work::due`] must run at the next look at the clock,
    /// whatever the time (a consumer's checkpoint every so many events).
    fn due_now(&self) -> bool {
        false
    }

    /// The timed work (a checkpoint, a look at the plan).
    fn due(&mut self) -> impl Future<Output = Result<(), Self::End>> + Send;

    /// Publishes the progress not yet announced; called at every look at
    /// the clock and whenever the feeds run dry.
    fn announce(&mut self) {}

    /// Obeys a command from the handle.
    fn obey(
        &mut self,
        command: Self::Command,
    ) -> impl Future<Output = Result<(), Self::End>> + Send;

    /// Ends the stretch gracefully (the handle is gone).
    fn stop(&mut self) -> impl Future<Output = Self::End> + Send;

    /// Handles `events`, read by `lane`'s feed, which has seen up to
    /// `seen` once they were taken. The events left in `events` are
    /// dropped.
    fn events(
        &mut self,
        lane: Feed,
        events: &mut Vec<RecordedEvent>,
        seen: u64,
    ) -> impl Future<Output = Result<(), Self::End>> + Send;

    /// `lane`'s feed has seen up to `seen` with nothing in its range for
    /// this runner.
    fn seen(&mut self, lane: Feed, seen: u64)
        -> impl Future<Output = Result<(), Self::End>> + Send;

    /// `lane`'s feed failed (or ended, which a feed never does by itself).
    fn feed_failed(&mut self, lane: Feed, error: String) -> impl Future<Output = Self::End> + Send;
}

enum Woke<C> {
    Command(Option<C>),
    Due,
    Feed(Feed, Option<disco_core::Result<Progressed>>),
}

/// Runs `work`'s stretch until one of its methods ends it.
pub async fn drive<W: Work>(work: &mut W) -> W::End {
    let batch_size = work.batch_size().max(1);
    let clock_every = work.clock_every().max(1);
    // Batches since the clock was last read.
    let mut unclocked = 0u32;
    let mut batch = Vec::with_capacity(batch_size.min(1024));
    loop {
        match work.parts().commands.try_recv() {
            Ok(command) => {
                if let Err(end) = work.obey(command).await {
                    return end;
                }
                continue;
            }
            Err(TryRecvError::Disconnected) => return work.stop().await,
            Err(TryRecvError::Empty) => {}
        }
        unclocked = unclocked.saturating_add(1);
        let due_now = work.due_now();
        if unclocked >= clock_every || due_now {
            unclocked = 0;
            work.announce();
            let now = Instant::now();
            // Invariant: no batch is handed over once the lease is known lost.
            if now >= work.hold().renew_due() && !work.renew().await {
                return work.lease_lost();
            }
            if now >= work.due_at() || due_now {
                if let Err(end) = work.due().await {
                    return end;
                }
            }
        }
        batch.clear();
        let lane = match take_buffered(work.parts().feeds, batch_size, &mut batch) {
            Some(lane) => lane,
            None => {
                work.announce();
                unclocked = clock_every;
                let due = work.hold().renew_due().min(work.due_at());
                let Parts {
                    commands,
                    feeds: [first, second],
                } = work.parts();
                let woke = tokio::select! {
                    biased;
                    command = commands.recv() => Woke::Command(command),
                    _ = sleep_until(due) => Woke::Due,
                    item = next(first) => Woke::Feed(Feed::First, item),
                    item = next(second) => Woke::Feed(Feed::Second, item),
                };
                match woke {
                    Woke::Command(None) => return work.stop().await,
                    Woke::Command(Some(command)) => {
                        if let Err(end) = work.obey(command).await {
                            return end;
                        }
                        continue;
                    }
                    Woke::Due => continue,
                    Woke::Feed(lane, Some(Ok(Progressed::Event(event)))) => {
                        batch.push(event);
                        if let Some(feed) = pick(work.parts().feeds, lane) {
                            fill(feed, batch_size, &mut batch);
                        }
                        lane
                    }
                    Woke::Feed(lane, Some(Ok(Progressed::Seen(seen)))) => {
                        if let Err(end) = work.seen(lane, seen).await {
                            return end;
                        }
                        continue;
                    }
                    Woke::Feed(lane, Some(Err(error))) => {
                        return work.feed_failed(lane, error.to_string()).await
                    }
                    Woke::Feed(lane, None) => {
                        let error = "the subscription ended".to_owned();
                        return work.feed_failed(lane, error).await;
                    }
                }
            }
        };
        let seen = pick(work.parts().feeds, lane).map_or(0, |feed| feed.seen());
        if let Err(end) = work.events(lane, &mut batch, seen).await {
            return end;
        }
    }
}

/// Takes up to `most` events the first lane with any has already read.
fn take_buffered(
    feeds: [Option<&mut Subscription>; 2],
    most: usize,
    batch: &mut Vec<RecordedEvent>,
) -> Option<Feed> {
    for (feed, lane) in feeds.into_iter().zip([Feed::First, Feed::Second]) {
        if let Some(feed) = feed {
            fill(feed, most, batch);
            if !batch.is_empty() {
                return Some(lane);
            }
        }
    }
    None
}

/// Adds what `feed` has already read to `batch`, up to `most` events.
fn fill(feed: &mut Subscription, most: usize, batch: &mut Vec<RecordedEvent>) {
    while batch.len() < most {
        match feed.try_next() {
            Some(event) => batch.push(event),
            None => break,
        }
    }
}

fn pick(feeds: [Option<&mut Subscription>; 2], lane: Feed) -> Option<&mut Subscription> {
    let [first, second] = feeds;
    match lane {
        Feed::First => first,
        Feed::Second => second,
    }
}

/// The next item of a feed; pending forever where the lane is not open.
async fn next(feed: Option<&mut Subscription>) -> Option<disco_core::Result<Progressed>> {
    match feed {
        Some(feed) => feed.next_progress().await,
        None => std::future::pending().await,
    }
}
