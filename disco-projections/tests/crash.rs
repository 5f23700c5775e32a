//! Exactly once under `kill -9`: a child process projects slowly and is
//! killed mid-batch, again and again; then a runner finishes the job. The
//! table must equal the fold of the events, with no event applied twice
//! (the `applied` table's primary key would refuse it) and none missing.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

/// Where the child finds its stores.
const SOURCE: &str = "DISCO_CRASH_SOURCE";
const TARGET: &str = "DISCO_CRASH_TARGET";

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
    let handle = models.projector(projection).start(store).expect("start");
    handle.wait().await;
}

async fn open_target(target: &str) -> ReadModels {
    match target.strip_prefix("sqlite:") {
        Some(path) => ReadModels::Sqlite(
            disco::projections::sqlite::SqliteReadModels::open(path).expect("open"),
            TempDir::new("unused"),
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
    Command::new(std::env::current_exe().expect("the test binary"))
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

async fn kill_mid_batch(source_url: &str, store: &SourceStore, models: ReadModels, target: &str) {
    credit_many(&*store.store, 40, 3000).await;
    let head = store.store.head_position().await.expect("head");
    let mut last = 0;
    for round in 0..3 {
        let mut child = spawn_child(source_url, target);
        // Let it commit a batch or two beyond the last kill, then kill it
        // while it is inside the next (each takes ~100 ms).
        let deadline = Instant::now() + PATIENCE;
        loop {
            let position = stored_position(&models).await;
            if position > last {
                last = position;
                break;
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: the child made no progress"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
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
    let expected = fold(&*store.store, head).await;
    assert_eq!(models.answer().await.balances, expected);
    let events: i64 = expected.values().map(|(_, n)| n).sum();
    assert_eq!(models.applied().await, events);
    handle.stop().await;
    models.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_read_model_survives_kill_9_mid_batch() {
    let dir = TempDir::new("crash");
    let source_url = format!("sqlite:{}", dir.file("events.db").display());
    let store = SourceStore::open_url(&source_url).await;
    let target = format!("sqlite:{}", dir.file("read.db").display());
    let models = open_target(&target).await;
    kill_mid_batch(&source_url, &store, models, &target).await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_read_model_survives_kill_9_mid_batch() {
    let store = SourceStore::open(Source::Postgres).await;
    let models = ReadModels::open(Target::Postgres).await;
    let ReadModels::Postgres(_, schema, _) = &models else {
        unreachable!("a PostgreSQL target")
    };
    let target = schema.clone();
    let source_url = store.url().to_owned();
    kill_mid_batch(&source_url, &store, models, &target).await;
    store.close().await;
}
