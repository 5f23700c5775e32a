//! The lease-loss scenario: two runners of one consumer name on two handles
//! of one store; the active one loses its lease (its PostgreSQL connection
//! is killed, or it is paused past its SQLite lease's TTL) and the other
//! takes over. Measures whether the old runner started any event after the
//! new one had started, and for how long both were handling.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use disco_core::{EventStore, ExpectedVersion, NewEvent, RecordedEvent, StreamId};
use disco_runtime::consumer::{handler_fn, Consumer, ConsumerHandle, ConsumerState, HandlerError};

/// The consumer's name in the scenario.
pub const NAME: &str = "fencing-scenario";
/// Events in the scenario's stream.
pub const EVENTS: u64 = 3000;

/// How the active runner loses its lease.
pub enum Loss<F> {
    /// Something outside the runner ends it (kills its lease connection).
    External(F),
    /// The runner's handler stalls this long on one event (a paused
    /// process), longer than the lease's time to live.
    Pause(Duration),
}

/// What the scenario saw.
#[derive(Debug)]
pub struct Overlap {
    /// Events the old runner started after the new one started its first.
    pub started_after_takeover: usize,
    /// From the new runner's first start to the old runner's last end
    /// (zero when the old runner was done before).
    pub window: Duration,
    /// Events the old runner handled before it lost the lease.
    pub old_handled: usize,
    /// The checkpoint at the end (after both runners stopped).
    pub final_checkpoint: Option<u64>,
    /// The position of the stream's last event.
    pub last: u64,
}

#[derive(Clone, Copy)]
struct Call {
    runner: u8,
    start: Instant,
    end: Instant,
}

type Calls = Arc<Mutex<Vec<Call>>>;

type HandlerFuture = std::pin::Pin<Box<dyn Future<Output = Result<(), HandlerError>> + Send>>;

fn runner(
    id: u8,
    calls: Calls,
    pause_at: Option<(u64, Duration)>,
    ttl: Duration,
    takeover_poll: Duration,
    store: Arc<dyn EventStore>,
) -> ConsumerHandle {
    let handler = handler_fn(move |event: &RecordedEvent| {
        let (calls, position) = (calls.clone(), event.position);
        Box::pin(async move {
            let start = Instant::now();
            match pause_at {
                Some((at, pause)) if position == at => tokio::time::sleep(pause).await,
                _ => tokio::time::sleep(Duration::from_millis(1)).await,
            }
            calls.lock().unwrap_or_else(|p| p.into_inner()).push(Call {
                runner: id,
                start,
                end: Instant::now(),
            });
            Ok(())
        }) as HandlerFuture
    });
    let consumer = Consumer::new(NAME, handler)
        .lease(ttl, takeover_poll)
        .checkpoint_every(100, Duration::from_millis(100));
    match consumer.start(store) {
        Ok(handle) => handle,
        Err(e) => panic!("starting runner {id}: {e}"),
    }
}

fn calls_of(calls: &Calls) -> Vec<Call> {
    calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

async fn wait_until(what: &str, limit: Duration, done: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Runs the scenario: `old` becomes active, `new` stands by, the lease is
/// lost as `loss` says, `new` takes over and finishes the stream.
pub async fn lease_loss<F: Future<Output = ()>>(
    old: Arc<dyn EventStore>,
    new: Arc<dyn EventStore>,
    ttl: Duration,
    loss: Loss<F>,
) -> Overlap {
    let stream = StreamId::new("fencing-1").unwrap_or_else(|e| panic!("{e}"));
    let events: Vec<NewEvent> = (0..EVENTS)
        .map(|i| NewEvent::new("Tick", i.to_string().into_bytes()))
        .collect();
    // In appends the store takes (NATS: 500 events at most).
    let (mut first, mut last) = (None, 0);
    let chunk = old.limits().max_events_per_append.min(EVENTS as usize);
    for (n, events) in events.chunks(chunk).enumerate() {
        let written = old
            .append(
                &stream,
                ExpectedVersion::Exact((n * chunk) as u64),
                events.to_vec(),
            )
            .await
            .unwrap_or_else(|e| panic!("append: {e}"));
        first.get_or_insert(written.first_position);
        last = written.last_position;
    }
    let first = first.unwrap_or_default();
    let calls: Calls = Arc::default();
    let pause = match &loss {
        Loss::Pause(pause) => Some((first + 200, *pause)),
        Loss::External(_) => None,
    };
    let checkpoints = new.clone();
    // The old runner waits long before it tries again, so the new one is
    // the one that takes over.
    let a = runner(1, calls.clone(), pause, ttl, Duration::from_secs(30), old);
    let seen = calls.clone();
    wait_until(
        "the first runner handles 100 events",
        Duration::from_secs(30),
        || calls_of(&seen).len() >= 100,
    )
    .await;
    let b = runner(2, calls.clone(), None, ttl, Duration::from_millis(50), new);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        b.status().await.state,
        ConsumerState::Standby,
        "two active runners"
    );
    if let Loss::External(lose) = loss {
        lose.await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while b.status().await.position < last {
        assert!(
            Instant::now() < deadline,
            "the second runner did not reach the end within 60 s: {:?}",
            b.status().await
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    b.stop().await;
    a.stop().await;
    let all = calls_of(&calls);
    let Some(b_first) = all.iter().filter(|c| c.runner == 2).map(|c| c.start).min() else {
        panic!("the second runner handled nothing");
    };
    let old_calls: Vec<&Call> = all.iter().filter(|c| c.runner == 1).collect();
    let started_after_takeover = old_calls.iter().filter(|c| c.start >= b_first).count();
    let window = old_calls
        .iter()
        .map(|c| c.end)
        .max()
        .map_or(Duration::ZERO, |end| end.saturating_duration_since(b_first));
    let final_checkpoint = checkpoints
        .load_checkpoint(NAME)
        .await
        .unwrap_or_else(|e| panic!("load_checkpoint: {e}"));
    Overlap {
        started_after_takeover,
        window,
        old_handled: old_calls.len(),
        final_checkpoint,
        last,
    }
}
