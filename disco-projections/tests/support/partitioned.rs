//! The partitioned projection cases, run against every (event store,
//! read-model database) pair by the test files' macro. The balances
//! projection's `applied` table has the event id as its primary key, so an
//! event applied twice fails the handler and the case.

use std::time::{Duration, Instant};

use disco::projections::{GenerationState, PartitionedProjectionHandle, ProjectionState};

use super::*;

async fn wait_all(handle: &PartitionedProjectionHandle, position: u64) {
    if let Err(behind) = handle.wait_for(position, PATIENCE).await {
        panic!("{behind}; status {:?}", handle.status().await);
    }
}

async fn assert_once(models: &ReadModels, store: &dyn EventStore, upto: u64) {
    let expected = fold(store, upto).await;
    assert_eq!(
        models.answer().await.balances,
        expected,
        "the read model differs from the fold"
    );
    let events: i64 = expected.values().map(|(_, n)| n).sum();
    assert_eq!(models.applied().await, events, "events applied != events");
}

/// Appends `n` credits over `accounts` accounts, 10 events per append,
/// the accounts taking turns (so every partition gets some).
pub async fn spread(store: &dyn EventStore, accounts: usize, n: usize) -> u64 {
    let mut last = 0;
    for (turn, start) in (0..n).step_by(10).enumerate() {
        let events = (start..(start + 10).min(n))
            .map(|i| {
                let amount = (i % 7 + 1) as i64;
                encode(&Credited { amount }, &CommandContext::new()).expect("encodes")
            })
            .collect();
        let stream = StreamId::new(format!("acct-{}", turn % accounts)).expect("valid");
        last = store
            .append(&stream, ExpectedVersion::Any, events)
            .await
            .expect("append")
            .last_position;
    }
    last
}

/// Waits until the stored positions of every partition reach `head`.
async fn wait_stored(handle: &PartitionedProjectionHandle, head: u64) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let generations = handle.generations().await.expect("generations");
        if generations
            .iter()
            .any(|g| g.state == GenerationState::Live && g.position >= head)
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "stored positions stay behind {head}: {generations:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until every partition `handle` runs here has failed because the
/// projection now runs in `count` partitions.
async fn wait_replaced(handle: &PartitionedProjectionHandle, count: u32) {
    let deadline = Instant::now() + PATIENCE;
    let said = format!("runs in {count} partitions");
    loop {
        let status = handle.status().await;
        let local: Vec<_> = status.iter().filter(|p| p.local).collect();
        if !local.is_empty()
            && local
                .iter()
                .all(|p| p.state == Some(ProjectionState::Failed))
        {
            assert!(
                local
                    .iter()
                    .all(|p| p.last_error.as_deref().is_some_and(|e| e.contains(&said))),
                "{status:?}"
            );
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the replaced layout kept running: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `handle` runs `n` partitions.
async fn wait_local(handle: &PartitionedProjectionHandle, n: usize) {
    let deadline = Instant::now() + PATIENCE;
    while handle.local_partitions().await.len() != n {
        assert!(
            Instant::now() < deadline,
            "member {:?} runs {:?}, not {n} partitions",
            handle.member(),
            handle.local_partitions().await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Two members share 4 partitions, one hands its share over on leaving,
/// the other one dies: every event applied exactly once.
pub async fn partitioned_projection_applies_each_event_once(
    store: Arc<dyn EventStore>,
    models: ReadModels,
) {
    let second = models.again().await;
    spread(&*store, 40, 600).await;
    let a = models
        .projector(Balances::<1>::new())
        .partitioned(4)
        .start(store.clone())
        .expect("start");
    wait_local(&a, 4).await;
    let b = second
        .projector(Balances::<1>::new())
        .partitioned(4)
        .start(store.clone())
        .expect("start");
    wait_local(&b, 2).await;
    wait_local(&a, 2).await;
    spread(&*store, 40, 400).await;
    let head = store.head_position().await.expect("head");
    wait_all(&a, head).await;
    wait_all(&b, head).await;
    assert_once(&models, &*store, head).await;
    let status = b.status().await;
    assert_eq!(status.len(), 4);
    assert!(
        status.iter().all(|p| p.position >= head && p.lag == 0),
        "{status:?}"
    );
    assert_eq!(status.iter().filter(|p| p.local).count(), 2);
    // Graceful leave: b takes every partition.
    a.stop().await;
    wait_local(&b, 4).await;
    spread(&*store, 40, 200).await;
    let head = store.head_position().await.expect("head");
    wait_all(&b, head).await;
    assert_once(&models, &*store, head).await;
    // A crash: a third member takes over once the leases end.
    let c = models
        .projector(Balances::<1>::new())
        .partitioned(4)
        .start(store.clone())
        .expect("start");
    wait_local(&c, 2).await;
    b.abort();
    wait_local(&c, 4).await;
    spread(&*store, 40, 200).await;
    let head = store.head_position().await.expect("head");
    wait_all(&c, head).await;
    assert_once(&models, &*store, head).await;
    // The generation's position is its lowest partition's, stored.
    wait_stored(&c, head).await;
    assert_eq!(c.generations().await.expect("generations").len(), 1);
    c.stop().await;
    second.close().await;
    models.close().await;
}

/// The 2 have caught up and are idle (nothing left to write) when the 3
/// take over: they still stop with `Repartitioned` (a superseded runner
/// learns it from its next plan, not only from its next write), and nothing
/// is applied twice.
pub async fn an_idle_layout_stops_when_replaced(store: Arc<dyn EventStore>, models: ReadModels) {
    spread(&*store, 30, 300).await;
    let two = models
        .projector(Balances::<1>::new())
        .partitioned(2)
        .start(store.clone())
        .expect("start");
    let head = store.head_position().await.expect("head");
    wait_all(&two, head).await;
    let three = models
        .projector(Balances::<1>::new())
        .partitioned(3)
        .start(store.clone())
        .expect("start");
    wait_all(&three, head).await;
    wait_replaced(&two, 3).await;
    two.stop().await;
    spread(&*store, 30, 300).await;
    let head = store.head_position().await.expect("head");
    wait_all(&three, head).await;
    assert_once(&models, &*store, head).await;
    three.stop().await;
    models.close().await;
}

/// An unpartitioned projection is taken over by 2 partitions, then by 3
/// (while the 2 still run): nothing applied twice or lost; the older
/// layout's runners stop with `Repartitioned`, and an unpartitioned runner
/// is refused.
pub async fn repartitioning_applies_nothing_twice(store: Arc<dyn EventStore>, models: ReadModels) {
    spread(&*store, 30, 300).await;
    let whole = models
        .projector(Balances::<1>::new())
        .start(store.clone())
        .expect("start");
    let head = store.head_position().await.expect("head");
    whole
        .wait_for(head, PATIENCE)
        .await
        .expect("the unpartitioned runner caught up");
    whole.stop().await;
    spread(&*store, 30, 300).await;
    let two = models
        .projector(Balances::<1>::new())
        .partitioned(2)
        .start(store.clone())
        .expect("start");
    let head = store.head_position().await.expect("head");
    wait_all(&two, head).await;
    assert_once(&models, &*store, head).await;
    // The 3 take over while the 2 are busy.
    spread(&*store, 30, 300).await;
    let three = models
        .projector(Balances::<1>::new())
        .partitioned(3)
        .start(store.clone())
        .expect("start");
    spread(&*store, 30, 300).await;
    let head = store.head_position().await.expect("head");
    wait_all(&three, head).await;
    assert_once(&models, &*store, head).await;
    // The 2's runners stopped, saying why.
    wait_replaced(&two, 3).await;
    two.stop().await;
    // An unpartitioned runner is refused.
    let whole = models
        .projector(Balances::<1>::new())
        .start(store.clone())
        .expect("start");
    match whole.wait().await {
        disco::projections::ProjectionExit::Failed { error, .. } => {
            assert!(error.contains("runs in 3 partitions"), "{error}")
        }
        other => panic!("an unpartitioned runner ran: {other:?}"),
    }
    three.stop().await;
    models.close().await;
}

/// A rebuild of a partitioned projection: each partition builds its share
/// of generation 2, the switch waits for all of them, then queries read it.
pub async fn partitioned_rebuild_switches_when_every_partition_caught_up(
    store: Arc<dyn EventStore>,
    models: ReadModels,
) {
    spread(&*store, 25, 500).await;
    let handle = models
        .projector(Balances::<1>::new())
        .partitioned(3)
        .start(store.clone())
        .expect("start");
    let head = store.head_position().await.expect("head");
    wait_all(&handle, head).await;
    assert_eq!(handle.rebuild().await.expect("rebuild"), 2);
    spread(&*store, 25, 100).await;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let generations = handle.generations().await.expect("generations");
        let live = generations
            .iter()
            .find(|g| g.state == GenerationState::Live)
            .map(|g| g.generation);
        if live == Some(2) {
            break;
        }
        assert!(Instant::now() < deadline, "no switch: {generations:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let head = store.head_position().await.expect("head");
    wait_all(&handle, head).await;
    // Generation 2 answers, complete.
    assert_once(&models, &*store, head).await;
    // Every partition's runner goes on in generation 2.
    let deadline = Instant::now() + PATIENCE;
    loop {
        let status = handle.status().await;
        if status.iter().all(|p| p.generation == Some(2)) {
            break;
        }
        assert!(Instant::now() < deadline, "{status:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(handle.drop_retired().await.expect("drop"), vec![1]);
    handle.stop().await;
    models.close().await;
}

/// A custom key (account parity): each event applied by one partition.
pub async fn partitioned_projection_by_a_custom_key(
    store: Arc<dyn EventStore>,
    models: ReadModels,
) {
    spread(&*store, 10, 300).await;
    let handle = models
        .projector(Balances::<1>::new())
        .partitioned(2)
        .keyed_by(|event| {
            let id = event.stream_id.as_str();
            let n: u32 = id.trim_start_matches("acct-").parse().unwrap_or(0);
            (n % 2).to_string()
        })
        .start(store.clone())
        .expect("start");
    let head = store.head_position().await.expect("head");
    wait_all(&handle, head).await;
    assert_once(&models, &*store, head).await;
    let applied: u64 = handle.status().await.iter().map(|p| p.applied).sum();
    assert_eq!(applied, 300, "each event applied by one partition");
    handle.stop().await;
    models.close().await;
}

/// Strong consistency over a partitioned projection: a dispatch returns
/// once the partition of its stream has applied it (and the others have
/// seen past it), in two members.
pub async fn strong_dispatch_waits_for_every_partition(
    store: Arc<dyn EventStore>,
    models: ReadModels,
) {
    let second = models.again().await;
    let mut slow = Balances::<1>::new();
    slow.slow = Some(Duration::from_millis(20));
    let a = models
        .projector(slow)
        .partitioned(4)
        .start(store.clone())
        .expect("start");
    let mut slow = Balances::<1>::new();
    slow.slow = Some(Duration::from_millis(20));
    let b = second
        .projector(slow)
        .partitioned(4)
        .start(store.clone())
        .expect("start");
    wait_local(&b, 2).await;
    wait_local(&a, 2).await;
    let app = orchestrator(store.clone(), vec![a.progress()]);
    let strong = disco::cqrs::DispatchOptions::strong(["balances"]).timeout(PATIENCE);
    for i in 0..12 {
        let id = format!("s{}", i % 6);
        app.dispatch_with(
            "credit",
            serde_json::json!({"id": id, "amount": 10 + i}),
            &strong,
        )
        .await
        .expect("a strong dispatch");
        let answer = models.answer().await;
        let expected: i64 = (0..=i).filter(|k| k % 6 == i % 6).map(|k| 10 + k).sum();
        assert_eq!(
            answer.balances.get(&id).map(|(balance, _)| *balance),
            Some(expected),
            "dispatch {i} returned before its partition applied it"
        );
    }
    a.stop().await;
    b.stop().await;
    second.close().await;
    models.close().await;
}
