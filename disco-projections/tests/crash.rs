//! Exactly once under `kill -9`: a child process projects slowly and is
//! killed mid-batch, again and again; then a runner finishes the job. The
//! table must equal the fold of the events, with no event applied twice
//! (the `applied` table's primary key would refuse it) and none missing.

mod support;

/// The cases run through each adapter's own projection trait.
pub const PORTABLE: bool = false;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

/// Where the child finds its stores.
const SOURCE: &str = "DISCO_CRASH_SOURCE";
const TARGET: &str = "DISCO_CRASH_TARGET";
/// How many partitions the child runs the projection in (unpartitioned
/// when unset).
const PARTITIONS: &str = "DISCO_CRASH_PARTITIONS";

/// The child: projects with a slow handler until it is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child process of the kill -9 tests, started by them"]
async fn child_projects_until_killed() {
    let source = std::env::var(SOURCE).expect("the source URL");
    let target = std::env::var(TARGET).expect("the target");
    let store = disco::connect(&source).await.expect("open the source");
    let models = open_target(&target).await;
    let mut projection = Balances::<1>::new();
    projection.slow = Some(Duration::from_millis(1));
    match std::env::var(PARTITIONS).ok().and_then(|n| n.parse().ok()) {
        Some(n) => {
            let _member = models
                .projector(projection)
                .partitioned(n)
                .start(store)
                .expect("start");
            std::future::pending::<()>().await;
        }
        None => {
            let handle = models.projector(projection).start(store).expect("start");
            handle.wait().await;
        }
    }
}

async fn open_target(target: &str) -> ReadModels {
    match target.strip_prefix("sqlite:") {
        Some(path) => ReadModels::Sqlite(
            disco::projections::sqlite::SqliteReadModels::open(path).expect("open"),
            TempDir::none(),
        ),
        None => ReadModels::Postgres(
            disco::projections::postgres::PgReadModels::connect(&pg_base(), Some(target))
                .await
                .expect("connect"),
            target.to_owned(),
            false,
        ),
    }
}

fn spawn_child(source: &str, target: &str) -> Child {
    spawn_child_with(source, target, None)
}

fn spawn_child_with(source: &str, target: &str, partitions: Option<u32>) -> Child {
    let mut command = Command::new(std::env::current_exe().expect("the test binary"));
    if let Some(n) = partitions {
        command.env(PARTITIONS, n.to_string());
    }
    command
        .args([
            "--ignored",
            "--exact",
            "child_projects_until_killed",
            "--nocapture",
        ])
        .env(SOURCE, source)
        .env(TARGET, target)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the child")
}

async fn stored_position(models: &ReadModels) -> u64 {
    models.list().await.first().map_or(0, |row| row.position)
}

/// Waits until the stored position passes `last`; the new one.
async fn progressed_past(models: &ReadModels, last: u64, round: u64) -> u64 {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let position = stored_position(models).await;
        if position > last {
            return position;
        }
        assert!(
            Instant::now() < deadline,
            "round {round}: no progress past {last}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The table equals the fold of the events up to `head`, with every event
/// applied once (the `applied` table counts them).
async fn assert_complete(models: &ReadModels, store: &SourceStore, head: u64) {
    let expected = fold(&*store.store, head).await;
    assert_eq!(models.answer().await.balances, expected);
    let events: i64 = expected.values().map(|(_, n)| n).sum();
    assert_eq!(
        models.applied().await,
        events,
        "an event applied twice or lost"
    );
}

/// A SQLite event store and read-model file in `dir`: (source URL, store,
/// target, models).
async fn on_sqlite(dir: &TempDir) -> (String, SourceStore, String, ReadModels) {
    let source_url = format!("sqlite:{}", dir.file("events.db").display());
    let store = SourceStore::open_url(&source_url).await;
    let target = format!("sqlite:{}", dir.file("read.db").display());
    let models = open_target(&target).await;
    (source_url, store, target, models)
}

/// A PostgreSQL event store and read-model schema: (source URL, store,
/// target schema, models).
async fn on_postgres() -> (String, SourceStore, String, ReadModels) {
    let store = SourceStore::open(Source::Postgres).await;
    let models = ReadModels::open(Target::Postgres).await;
    let ReadModels::Postgres(_, schema, _) = &models else {
        unreachable!("a PostgreSQL target")
    };
    let target = schema.clone();
    (store.url().to_owned(), store, target, models)
}

async fn kill_mid_batch(source_url: &str, store: &SourceStore, models: ReadModels, target: &str) {
    credit_many(&*store.store, 40, 3000).await;
    let head = store.store.head_position().await.expect("head");
    let mut last = 0;
    for round in 0..3 {
        let mut child = spawn_child(source_url, target);
        // Let it commit a batch or two beyond the last kill, then kill it
        // while it is inside the next (each takes ~100 ms).
        last = progressed_past(&models, last, round).await;
        tokio::time::sleep(Duration::from_millis(50 + 40 * round)).await;
        child.kill().expect("kill -9 the child");
        child.wait().expect("reap the child");
        assert!(
            last < head,
            "the child finished before it was killed; slow it down"
        );
    }
    let handle = models
        .projector(Balances::<1>::new())
        .start(store.store.clone())
        .expect("start");
    handle
        .wait_for(head, PATIENCE)
        .await
        .expect("the survivor catches up");
    assert_complete(&models, store, head).await;
    handle.stop().await;
    models.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_read_model_survives_kill_9_mid_batch() {
    let dir = TempDir::new("crash");
    let (source_url, store, target, models) = on_sqlite(&dir).await;
    kill_mid_batch(&source_url, &store, models, &target).await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_read_model_survives_kill_9_mid_batch() {
    let (source_url, store, target, models) = on_postgres().await;
    kill_mid_batch(&source_url, &store, models, &target).await;
    store.close().await;
}

/// Two processes run a projection in 3 partitions; each is killed with
/// `kill -9` in turn while the other goes on; a third finishes the job.
async fn kill_partition_members(
    source_url: &str,
    store: &SourceStore,
    models: ReadModels,
    target: &str,
) {
    support::partitioned::spread(&*store.store, 40, 3000).await;
    let head = store.store.head_position().await.expect("head");
    let mut children = vec![
        spawn_child_with(source_url, target, Some(3)),
        spawn_child_with(source_url, target, Some(3)),
    ];
    let mut last = 0;
    for round in 0..2 {
        last = progressed_past(&models, last, round).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut child = children.remove(0);
        child.kill().expect("kill -9 a member");
        child.wait().expect("reap the member");
        assert!(
            last < head,
            "the members finished before the kill; slow them down"
        );
    }
    let survivor = models
        .projector(Balances::<1>::new())
        .partitioned(3)
        .start(store.store.clone())
        .expect("start");
    survivor
        .wait_for(head, PATIENCE)
        .await
        .expect("the survivor catches up");
    assert_complete(&models, store, head).await;
    survivor.stop().await;
    models.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_partitioned_read_model_survives_killed_members() {
    let dir = TempDir::new("crash-partitions");
    let (source_url, store, target, models) = on_sqlite(&dir).await;
    kill_partition_members(&source_url, &store, models, &target).await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_partitioned_read_model_survives_killed_members() {
    let (source_url, store, target, models) = on_postgres().await;
    kill_partition_members(&source_url, &store, models, &target).await;
    store.close().await;
}
