//! The active stretch's loop shared by the consumer and projection runners
//! (`consumer::stretch::drive`), driven by a scripted `Work`: batches keep
//! the feed's order and size, a command is obeyed before the next batch,
//! and a lease found lost ends the stretch before any batch.

use std::sync::Arc;
use std::time::Duration;

use disco::memory::MemoryStore;
use disco::{EventStore, ExpectedVersion, NewEvent, RecordedEvent, StreamId};
use disco_runtime::consumer::holding::Holding;
use disco_runtime::consumer::stretch::{drive, Feed, Parts, Work};
use disco_runtime::{Subscription, SubscriptionOptions};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// What the scripted work saw, in order.
#[derive(Debug, PartialEq)]
enum Seen {
    /// A batch: its events' positions, and the position the feed had seen.
    Batch(Vec<u64>, u64),
    Command(&'static str),
}

#[derive(Debug, PartialEq)]
enum End {
    /// Every event of the store was handed over.
    Done,
    Stopped,
    LeaseLost,
    Failed(String),
}

struct Script {
    commands: mpsc::UnboundedReceiver<&'static str>,
    /// Where the script sends a command from inside a batch.
    sender: mpsc::UnboundedSender<&'static str>,
    feed: Subscription,
    hold: Holding,
    batch_size: usize,
    renews: bool,
    /// Send a "stop" while handling the first batch.
    stop_in_first_batch: bool,
    total: usize,
    log: Vec<Seen>,
}

impl Work for Script {
    type Command = &'static str;
    type End = End;

    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn clock_every(&self) -> u32 {
        1
    }

    fn hold(&self) -> &Holding {
        &self.hold
    }

    async fn renew(&mut self) -> bool {
        self.renews
    }

    fn lease_lost(&mut self) -> End {
        End::LeaseLost
    }

    fn parts(&mut self) -> Parts<'_, &'static str> {
        Parts {
            commands: &mut self.commands,
            feeds: [Some(&mut self.feed), None],
        }
    }

    fn due_at(&self) -> Instant {
        Instant::now() + Duration::from_secs(3600)
    }

    async fn due(&mut self) -> Result<(), End> {
        Ok(())
    }

    async fn obey(&mut self, command: &'static str) -> Result<(), End> {
        self.log.push(Seen::Command(command));
        match command {
            "stop" => Err(End::Stopped),
            _ => Ok(()),
        }
    }

    async fn stop(&mut self) -> End {
        End::Stopped
    }

    async fn events(
        &mut self,
        lane: Feed,
        events: &mut Vec<RecordedEvent>,
        seen: u64,
    ) -> Result<(), End> {
        assert_eq!(lane, Feed::First, "only the first feed is open");
        let positions: Vec<u64> = events.iter().map(|e| e.position).collect();
        self.total += positions.len();
        self.log.push(Seen::Batch(positions, seen));
        if self.stop_in_first_batch {
            self.stop_in_first_batch = false;
            self.sender
                .send("stop")
                .map_err(|e| End::Failed(e.to_string()))?;
        }
        if self.total >= 10 {
            return Err(End::Done);
        }
        Ok(())
    }

    async fn seen(&mut self, _lane: Feed, _seen: u64) -> Result<(), End> {
        Ok(())
    }

    async fn feed_failed(&mut self, _lane: Feed, error: String) -> End {
        End::Failed(error)
    }
}

/// A store of 10 events and a script over it.
async fn script(batch_size: usize, ttl: Duration) -> Script {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let events = (0..10)
        .map(|i| NewEvent::new("Counted", format!("{{\"i\":{i}}}").into_bytes()))
        .collect();
    let stream = StreamId::new("counter-1").expect("a valid stream id");
    store
        .append(&stream, ExpectedVersion::NoStream, events)
        .await
        .expect("the append");
    let lease = store
        .try_lease("stretch-test", ttl)
        .await
        .expect("the lease call")
        .expect("a free lease");
    let (sender, commands) = mpsc::unbounded_channel();
    let options = SubscriptionOptions {
        page_size: 4,
        ..SubscriptionOptions::default()
    };
    Script {
        commands,
        sender,
        feed: Subscription::start(store, options),
        hold: Holding::new(lease, ttl),
        batch_size,
        renews: true,
        stop_in_first_batch: false,
        total: 0,
        log: Vec::new(),
    }
}

#[tokio::test]
async fn batches_keep_the_feeds_order_and_size() {
    let mut work = script(3, Duration::from_secs(30)).await;
    assert_eq!(drive(&mut work).await, End::Done);
    let mut handed: Vec<u64> = Vec::new();
    for entry in &work.log {
        let Seen::Batch(positions, seen) = entry else {
            panic!("no command was sent, yet the log has {entry:?}");
        };
        assert!(
            !positions.is_empty() && positions.len() <= 3,
            "a batch of {} events, with batches of at most 3",
            positions.len()
        );
        let last = positions.last().copied().unwrap_or_default();
        assert!(
            *seen >= last,
            "the feed had seen {seen}, behind its event {last}"
        );
        handed.extend(positions);
    }
    assert_eq!(handed, (1..=10).collect::<Vec<u64>>());
}

#[tokio::test]
async fn a_command_is_obeyed_before_the_next_batch() {
    let mut work = script(2, Duration::from_secs(30)).await;
    work.stop_in_first_batch = true;
    assert_eq!(drive(&mut work).await, End::Stopped);
    assert_eq!(
        work.log,
        vec![Seen::Batch(vec![1, 2], 2), Seen::Command("stop")],
        "the stop sent during the first batch ends the stretch before the second"
    );
}

#[tokio::test]
async fn a_lease_found_lost_ends_the_stretch_before_any_batch() {
    let mut work = script(5, Duration::from_millis(3)).await;
    work.renews = false;
    // The renewal falls due a third of the time to live after the take.
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(drive(&mut work).await, End::LeaseLost);
    assert_eq!(
        work.log,
        Vec::new(),
        "no batch after the lease was found lost"
    );
}

#[tokio::test]
async fn the_handle_gone_stops_the_stretch() {
    let mut work = script(5, Duration::from_secs(30)).await;
    // Replace the channel with one whose sender is dropped.
    let (sender, commands) = mpsc::unbounded_channel();
    drop(sender);
    work.commands = commands;
    assert_eq!(drive(&mut work).await, End::Stopped);
    assert_eq!(work.log, Vec::new());
}
