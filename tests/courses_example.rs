//! The courses example end to end (SQLite, redb, PostgreSQL, memory, and
//! NATS with the `nats` feature), and its rules under a race: several
//! processes subscribe many students to one course and register students
//! with the same emails at once; no course ends over its capacity, no
//! student holds a seat twice, no email is registered twice.

#[path = "../examples/courses/app.rs"]
#[allow(dead_code)]
mod app;
#[path = "../examples/courses/domain.rs"]
#[allow(dead_code)]
mod domain;
#[cfg(feature = "postgres")]
#[path = "support/pg.rs"]
mod pg;
#[path = "support/temp.rs"]
mod temp;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::Arc;

use disco::cqrs::DispatchError;
use disco::{Query, QueryItem};
use serde_json::json;
use temp::TempDir;

const URL: &str = "DISCO_COURSES_URL";
const PROCESSES: usize = 3;
const STUDENTS: usize = 12;
const CAPACITY: u32 = 5;
const EMAILS: usize = 6;

async fn session(url: &str) -> app::Session {
    let mut out = Vec::new();
    match app::run(url, &mut out).await {
        Ok(session) => session,
        Err(e) => panic!(
            "the courses session on {url} failed: {e}\n{}",
            String::from_utf8_lossy(&out)
        ),
    }
}

fn check(session: &app::Session) {
    let invalid = &session.invalid;
    assert_eq!(
        invalid["course_id"],
        vec!["must be a string"],
        "{invalid:?}"
    );
    assert_eq!(
        invalid["capacity"],
        vec!["must be from 1 to 1000"],
        "{invalid:?}"
    );
    assert_eq!(
        session.refusals,
        vec![
            "course c1 is already defined",
            "the email ADA@example.com is taken",
            "course c1 is full (2 seats)",
            "student ada already holds a seat in course c1",
            "there is no student dee",
            "there is no course c9",
        ]
    );
    assert_eq!(session.c1, ["ada", "bob"]);
    assert_eq!(session.c2, ["ada"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_on_memory_sqlite_and_redb() {
    check(&session("memory:").await);
    let dir = TempDir::new("courses");
    check(&session(&format!("sqlite:{}", dir.file("courses.db").display())).await);
    check(&session(&format!("redb:{}", dir.file("courses.redb").display())).await);
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_on_postgres() {
    let (schema, url) = pg::Schema::new().await;
    check(&session(&url).await);
    schema.drop().await;
}

/// The child: subscribes every student to the race course and registers
/// students with the shared emails, in an order of its own, as fast as it
/// can; prints each outcome.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a racing process of the courses race, started by it"]
async fn courses_race_child() {
    let url = std::env::var(URL).expect("the store URL");
    let store = disco::connect(&url).await.expect("open the store");
    let app = app::orchestrator(store.clone()).expect("the orchestrator");
    let me = std::process::id() as usize;
    let mut tasks = tokio::task::JoinSet::new();
    let app = Arc::new(app);
    for i in 0..STUDENTS {
        let app = app.clone();
        let student = (i + me) % STUDENTS;
        tasks.spawn(async move {
            let params = json!({"student_id": format!("s{student}"), "course_id": "race"});
            (
                format!("subscribe s{student}"),
                app.dispatch("subscribe", params).await,
            )
        });
    }
    for k in 0..EMAILS {
        let app = app.clone();
        tasks.spawn(async move {
            let params = json!({
                "student_id": format!("p{me}-{k}"),
                "email": format!("shared-{k}@example.com"),
            });
            (
                format!("register shared-{k}"),
                app.dispatch("register_student", params).await,
            )
        });
    }
    while let Some(joined) = tasks.join_next().await {
        let (what, outcome) = joined.expect("a racing task panicked");
        match outcome {
            Ok(_) => println!("RACE {what} ok"),
            Err(DispatchError::Rejected(refusal)) => println!("RACE {what} refused: {refusal}"),
            Err(other) => panic!("{what} failed: {other}"),
        }
    }
    store.close().await.expect("close");
}

async fn race(url: &str) {
    let store = disco::connect(url).await.expect("open the store");
    let app = app::orchestrator(store.clone()).expect("the orchestrator");
    app.dispatch(
        "define_course",
        json!({"course_id": "race", "capacity": CAPACITY}),
    )
    .await
    .expect("define the race course");
    for s in 0..STUDENTS {
        let params = json!({"student_id": format!("s{s}"), "email": format!("s{s}@example.com")});
        app.dispatch("register_student", params)
            .await
            .expect("register a student");
    }
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            Command::new(std::env::current_exe().expect("the test binary"))
                .args(["courses_race_child", "--ignored", "--exact", "--nocapture"])
                .env(URL, url)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start a racing process")
        })
        .collect();
    let mut won = 0;
    for child in children {
        let output = child.wait_with_output().expect("a racing process");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "a racing process failed: {}\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        won += stdout
            .lines()
            .filter(|l| l.starts_with("RACE subscribe") && l.ends_with(" ok"))
            .count();
    }
    // The store, read by tag, is the judge.
    let roster = app::roster(&*store, "race").await.expect("the roster");
    assert_eq!(
        roster.len(),
        CAPACITY as usize,
        "the course is full, not over: {roster:?}"
    );
    assert_eq!(won, CAPACITY as usize, "exactly the capacity was told ok");
    let mut seats: BTreeMap<&str, usize> = BTreeMap::new();
    for student in &roster {
        *seats.entry(student.as_str()).or_default() += 1;
    }
    assert!(
        seats.values().all(|n| *n == 1),
        "a student holds two seats: {roster:?}"
    );
    for k in 0..EMAILS {
        let tag = domain::email_tag(&format!("shared-{k}@example.com"));
        let query = Query::new().or(QueryItem::new().types(["StudentRegistered"]).tags([tag]));
        let read = store
            .read_query(&query, 0, 100)
            .await
            .expect("read an email");
        assert_eq!(read.events.len(), 1, "shared-{k} registered once");
    }
    store.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_processes_race_and_no_rule_breaks() {
    let dir = TempDir::new("courses-race");
    race(&format!("sqlite:{}", dir.file("race.db").display())).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_processes_race_and_no_rule_breaks() {
    let (schema, url) = pg::Schema::new().await;
    race(&url).await;
    schema.drop().await;
}

#[cfg(feature = "nats")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_processes_race_and_no_rule_breaks() {
    let servers = std::env::var("DISCO_TEST_NATS_URL")
        .unwrap_or_else(|_| "nats://127.0.0.1:4301,127.0.0.1:4302,127.0.0.1:4303".into());
    let name = format!(
        "courses{}",
        &disco::Uuid::new_v4().simple().to_string()[..12]
    );
    let url = format!("{servers}?store={name}&replicas=3");
    if let Err(e) = disco::connect(&url).await {
        panic!(
            "cannot open a store on the test NATS cluster {servers}: {e}\nStart it with \
             `scripts/nats-cluster.sh start` (`bash .ci/run` does), or point DISCO_TEST_NATS_URL at another cluster."
        );
    }
    race(&url).await;
    let _ = disco::drop_url(&url).await;
}
