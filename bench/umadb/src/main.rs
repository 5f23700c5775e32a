//! UmaDB's side of `bench/umadb/run.sh`: the workloads of
//! `disco-bench --umadb-workload`, on UmaDB 0.7.8 embedded or on its gRPC
//! server. Prints one JSON line per measurement:
//! `{"case", "side", "events", "seconds"}`.
//!
//! ```text
//! disco-umadb-peer embedded DIR CASE [mmap]   # a fresh directory per run
//! disco-umadb-peer server URL CASE             # http://127.0.0.1:50151, a fresh server
//! ```
//!
//! Embedded, UmaDB reads with its defaults (file I/O, no page cache, as its
//! server starts) or, with `mmap`, the way it reads fastest (memory map and
//! a 256 MB page cache); the side is `umadb-embedded` or
//! `umadb-embedded-mmap`.
//!
//! CASE: `append-8x1` (8 writers, one event per append), `append-1x100`
//! (one writer, 100 events per append), `reads` (fills 100,000 events,
//! then reads them all, and reads the 1,000 of one tag: `read-query`),
//! `cond-8x1` (8 writers, one event per append tagged with a course and a
//! student, on a 2-item condition nothing matches), `seat-race` (12
//! writers race for the 5 seats of a course, each reading the course and
//! appending on the condition that nothing about it changed since: exactly
//! 5 must win). `PEERS_SCALE` scales the write time (5 s at 1).
//!
//! Embedded appends go through UmaDB's own writer thread (as its server
//! does): its `UmaDb::append` takes no writer lock and must not be called
//! from several threads at once.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::{mpsc, oneshot, watch};
use umadb_client::{AsyncUmaDbClient, UmaDbClient};
use umadb_core::db::UmaDb;
use umadb_core::mvcc::{Mvcc, StorageOptions};
use umadb_core::pager::ReadMethod;
use umadb_core::writer_thread_blocking::writer_thread_blocking;
use umadb_core::writer_thread_request::WriterThreadRequest;
use umadb_dcb::{
    DcbAppendCondition, DcbError, DcbEvent, DcbEventStoreAsync, DcbEventStoreSync, DcbQuery,
    DcbQueryItem,
};

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Bytes of each event's data (disco's side writes the same).
const PAYLOAD: usize = 200;
/// Concurrent writers of `append-8x1`.
const WRITERS: usize = 8;
/// Events the read cases fill the store with.
const FILL: u64 = 100_000;
/// Every this many events of the fill, one goes to the tag read back.
const TARGET_EVERY: u64 = 100;
/// Reads of the whole store, and of the 1,000 events of one tag.
const READ_ALL_TIMES: usize = 3;
const READ_TAG_TIMES: usize = 20;
/// Most events the writer thread commits at once.
const WRITER_BATCH: usize = 10_000;
/// UmaDB's page cache with `mmap` (its fastest reads are with a memory map
/// and a cache; the server gets the same by its flags in run.sh).
const PAGE_CACHE_MB: usize = 256;

/// UmaDB, embedded or over gRPC.
enum Uma {
    Embedded {
        db: Arc<UmaDb>,
        requests: mpsc::Sender<WriterThreadRequest>,
        mmap: bool,
    },
    Server(Arc<AsyncUmaDbClient>),
}

impl Uma {
    fn side(&self) -> &'static str {
        match self {
            Uma::Embedded { mmap: false, .. } => "umadb-embedded",
            Uma::Embedded { mmap: true, .. } => "umadb-embedded-mmap",
            Uma::Server(_) => "umadb-server",
        }
    }

    async fn append(&self, events: Vec<DcbEvent>) -> Result<u64, Failure> {
        Ok(self.append_if(events, None).await??)
    }

    /// Appends on `condition`: the outer error is a failure, the inner one
    /// UmaDB's answer (an `IntegrityError` when the condition failed).
    async fn append_if(
        &self,
        events: Vec<DcbEvent>,
        condition: Option<DcbAppendCondition>,
    ) -> Result<Result<u64, DcbError>, Failure> {
        match self {
            Uma::Embedded { requests, .. } => {
                let (tx, rx) = oneshot::channel();
                requests
                    .send(WriterThreadRequest::Append {
                        events,
                        condition,
                        tracking_info: None,
                        response_tx: tx,
                        cancel: None,
                    })
                    .await
                    .map_err(|_| "the writer thread stopped")?;
                Ok(rx.await?)
            }
            Uma::Server(client) => Ok(client.append(events, condition, None).await),
        }
    }

    /// The events matching `query` and the head the read saw.
    async fn read_with_head(&self, query: DcbQuery) -> Result<(Vec<String>, Option<u64>), Failure> {
        let (events, head) = match self {
            Uma::Embedded { db, .. } => {
                let db = db.clone();
                tokio::task::spawn_blocking(move || {
                    db.read_with_head(Some(query), None, false, None)
                })
                .await??
            }
            Uma::Server(client) => {
                client
                    .read_with_head(Some(query), None, false, None)
                    .await?
            }
        };
        Ok((
            events.into_iter().map(|e| e.event.event_type).collect(),
            head,
        ))
    }

    /// Events matching `query` (all with `None`), counted.
    async fn read_count(&self, query: Option<DcbQuery>) -> Result<u64, Failure> {
        match self {
            Uma::Embedded { db, .. } => {
                let db = db.clone();
                tokio::task::spawn_blocking(move || {
                    let mut n = 0u64;
                    for event in db.read(query, None, false, None)? {
                        let event = event?;
                        n += u64::from(!event.event.data.is_empty());
                    }
                    Ok::<_, Failure>(n)
                })
                .await?
            }
            Uma::Server(client) => {
                let mut response = client.read(query, None, false, None).await?;
                let mut n = 0u64;
                while let Some(event) = response.next().await {
                    n += u64::from(!event?.event.data.is_empty());
                }
                Ok(n)
            }
        }
    }
}

fn event(tag: String) -> DcbEvent {
    DcbEvent::new()
        .event_type("Deposited")
        .tags([tag])
        .data(vec![b'x'; PAYLOAD])
        .uuid(uuid::Uuid::new_v4())
}

/// The fill's tag of event `n` (disco's side: its stream).
fn fill_tag(n: u64) -> String {
    if n.is_multiple_of(TARGET_EVERY) {
        "target".to_owned()
    } else {
        format!("s-{}", n % 97)
    }
}

fn line(case: &str, side: &str, events: u64, seconds: f64) {
    println!(
        "{{\"case\":\"{case}\",\"side\":\"{side}\",\"events\":{events},\"seconds\":{seconds:.6}}}"
    );
}

/// `WRITERS` writers call `append(uma, writer, i)` for their `i`th append
/// for `time`: the appends made and the seconds they took.
async fn count_writers<A, Fut>(
    uma: &Arc<Uma>,
    time: Duration,
    append: A,
) -> Result<(u64, f64), Failure>
where
    A: Fn(Arc<Uma>, usize, u64) -> Fut + Send + Sync + Copy + 'static,
    Fut: std::future::Future<Output = Result<(), Failure>> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let (uma, stop, count) = (uma.clone(), stop.clone(), count.clone());
        tasks.spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::Acquire) {
                append(uma.clone(), w, i).await?;
                i += 1;
                count.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<(), Failure>(())
        });
    }
    let started = Instant::now();
    tokio::time::sleep(time).await;
    stop.store(true, Ordering::Release);
    let seconds = started.elapsed().as_secs_f64();
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok((count.load(Ordering::Relaxed), seconds))
}

async fn append_8x1(uma: Arc<Uma>, time: Duration) -> Result<(), Failure> {
    let (events, seconds) = count_writers(&uma, time, |uma, w, _| async move {
        uma.append(vec![event(format!("writer-{w}"))]).await?;
        Ok(())
    })
    .await?;
    line("append-8x1", uma.side(), events, seconds);
    Ok(())
}

async fn append_1x100(uma: Arc<Uma>, time: Duration) -> Result<(), Failure> {
    let started = Instant::now();
    let mut events = 0;
    while started.elapsed() < time {
        uma.append((0..100).map(|_| event("batch".to_owned())).collect())
            .await?;
        events += 100;
    }
    line(
        "append-1x100",
        uma.side(),
        events,
        started.elapsed().as_secs_f64(),
    );
    Ok(())
}

async fn reads(uma: Arc<Uma>) -> Result<(), Failure> {
    for start in (0..FILL).step_by(100) {
        uma.append((start..start + 100).map(|n| event(fill_tag(n))).collect())
            .await?;
    }
    let started = Instant::now();
    for _ in 0..READ_ALL_TIMES {
        let n = uma.read_count(None).await?;
        if n != FILL {
            return Err(format!("read {n} events of {FILL}").into());
        }
    }
    line(
        "read-all",
        uma.side(),
        FILL * READ_ALL_TIMES as u64,
        started.elapsed().as_secs_f64(),
    );
    let query = DcbQuery::new().item(DcbQueryItem::new().tags(["target"]));
    let want = FILL / TARGET_EVERY;
    let started = Instant::now();
    for _ in 0..READ_TAG_TIMES {
        let n = uma.read_count(Some(query.clone())).await?;
        if n != want {
            return Err(format!("read {n} events of the tag, not {want}").into());
        }
    }
    line(
        "read-query",
        uma.side(),
        want * READ_TAG_TIMES as u64,
        started.elapsed().as_secs_f64(),
    );
    Ok(())
}

/// A course's and a student's query, as disco's side builds it.
fn course_query(course: &str, student: &str) -> DcbQuery {
    DcbQuery::new()
        .item(
            DcbQueryItem::new()
                .types(["CourseDefined", "StudentSubscribed"])
                .tags([course.to_owned()]),
        )
        .item(
            DcbQueryItem::new()
                .types(["StudentRegistered"])
                .tags([student.to_owned()]),
        )
}

fn subscribed(course: String, student: String) -> DcbEvent {
    DcbEvent::new()
        .event_type("StudentSubscribed")
        .tags([course, student])
        .data(vec![b'x'; PAYLOAD])
        .uuid(uuid::Uuid::new_v4())
}

async fn cond_8x1(uma: Arc<Uma>, time: Duration) -> Result<(), Failure> {
    let (events, seconds) = count_writers(&uma, time, |uma, w, i| async move {
        let (course, student) = (format!("course:{w}-{i}"), format!("student:{w}"));
        let condition = DcbAppendCondition {
            fail_if_events_match: course_query(&course, &format!("{student}-{i}")),
            after: None,
        };
        uma.append_if(vec![subscribed(course, student)], Some(condition))
            .await??;
        Ok(())
    })
    .await?;
    line("cond-8x1", uma.side(), events, seconds);
    Ok(())
}

/// Racing writers and the course's seats (disco's side races the same).
const RACERS: usize = 12;
const SEATS: usize = 5;

async fn seat_race(uma: Arc<Uma>) -> Result<(), Failure> {
    let course = "course:race".to_owned();
    let defined = DcbEvent::new()
        .event_type("CourseDefined")
        .tags([course.clone()])
        .data(vec![b'x'; PAYLOAD])
        .uuid(uuid::Uuid::new_v4());
    uma.append(vec![defined]).await?;
    let query = DcbQuery::new().item(
        DcbQueryItem::new()
            .types(["CourseDefined", "StudentSubscribed"])
            .tags([course.clone()]),
    );
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..RACERS {
        let (uma, query, course) = (uma.clone(), query.clone(), course.clone());
        tasks.spawn(async move {
            loop {
                let (types, head) = uma.read_with_head(query.clone()).await?;
                let taken = types.iter().filter(|t| *t == "StudentSubscribed").count();
                if taken >= SEATS {
                    return Ok::<bool, Failure>(false);
                }
                let condition = DcbAppendCondition {
                    fail_if_events_match: query.clone(),
                    after: head,
                };
                let event = subscribed(course.clone(), format!("student:{w}"));
                match uma.append_if(vec![event], Some(condition)).await? {
                    Ok(_) => return Ok(true),
                    Err(DcbError::IntegrityError(_)) => continue,
                    Err(other) => return Err(other.into()),
                }
            }
        });
    }
    let mut won = 0u64;
    while let Some(done) = tasks.join_next().await {
        won += u64::from(done??);
    }
    let seconds = started.elapsed().as_secs_f64();
    let (types, _) = uma.read_with_head(query).await?;
    let seated = types.iter().filter(|t| *t == "StudentSubscribed").count();
    if won != SEATS as u64 || seated != SEATS {
        return Err(format!("{won} writers won and {seated} seats are taken, of {SEATS}").into());
    }
    line("seat-race", uma.side(), won, seconds);
    Ok(())
}

async fn run(args: &[String]) -> Result<(), Failure> {
    let (how, at, case, read) = match args {
        [_, how, at, case] => (how, at, case, None),
        [_, how, at, case, read] => (how, at, case, Some(read.as_str())),
        _ => return Err(
            "usage: disco-umadb-peer embedded DIR|server URL append-8x1|append-1x100|reads|cond-8x1|seat-race [mmap]"
                .into(),
        ),
    };
    let mmap = match read {
        None => false,
        Some("mmap") => true,
        Some(other) => return Err(format!("no read method {other:?}: mmap or nothing").into()),
    };
    let scale: f64 = std::env::var("PEERS_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let time = Duration::from_secs_f64((5.0 * scale).max(1.0));
    let mut writer = None;
    let uma = match how.as_str() {
        "embedded" => {
            let mut options = StorageOptions::default().db_path(at);
            if mmap {
                options = options
                    .read_method(ReadMethod::Mmap)
                    .page_cache_max_mb(PAGE_CACHE_MB);
            }
            let mvcc = Arc::new(Mvcc::new(false, options)?);
            let (requests, rx) = mpsc::channel(1024);
            let (head, _) = watch::channel(None);
            let for_thread = mvcc.clone();
            writer = Some(std::thread::spawn(move || {
                writer_thread_blocking(for_thread, rx, head, WRITER_BATCH)
            }));
            Uma::Embedded {
                db: Arc::new(UmaDb::from_arc(mvcc)),
                requests,
                mmap,
            }
        }
        "server" => Uma::Server(Arc::new(
            UmaDbClient::new(at.clone()).connect_async().await?,
        )),
        other => return Err(format!("no side {other:?}: embedded or server").into()),
    };
    let uma = Arc::new(uma);
    match case.as_str() {
        "append-8x1" => append_8x1(uma.clone(), time).await?,
        "append-1x100" => append_1x100(uma.clone(), time).await?,
        "reads" => reads(uma.clone()).await?,
        "cond-8x1" => cond_8x1(uma.clone(), time).await?,
        "seat-race" => seat_race(uma.clone()).await?,
        other => return Err(format!("no case {other:?}").into()),
    }
    if let Uma::Embedded { requests, .. } = &*uma {
        let _ = requests.send(WriterThreadRequest::Shutdown).await;
    }
    drop(uma);
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match run(&args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("disco-umadb-peer: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
