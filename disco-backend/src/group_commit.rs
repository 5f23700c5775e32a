//! [`GroupCommitWriter`]: the single writer thread with group commit that
//! the durable embedded stores (SQLite, redb) put their writes through.
//!
//! Callers send appends over a channel and await a reply. The thread blocks
//! for the first command, then drains what is already waiting (up to
//! [`Batching::max_batch`] appends, stopping at the first command that is not
//! an append so order is kept) and hands the batch to the store's commit
//! function, which writes it in one transaction, commits once (one fsync) and
//! answers each append. Other writes (deletes, snapshots, checkpoints) run as
//! jobs on the same thread, in order with the appends.
//!
//! When the previous batch held k > 1 appends, the thread waits up to
//! [`Batching::delay`] for k appends before it hands the batch over: the
//! callers it just answered are likely to send again at once, and committing
//! them together costs one fsync instead of several (PostgreSQL's
//! `commit_delay` and `commit_siblings` do the same). A lone writer never
//! waits.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use disco_core::notifications::Notifier;
use disco_core::{
    AppendCondition, AppendMany, AppendResult, Error, ExpectedVersion, NewEvent, Result, StreamId,
};

/// How the writer batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Batching {
    /// The most appends in one commit.
    pub max_batch: usize,
    /// The longest wait for a batch to fill when writers are concurrent.
    pub delay: Duration,
}

/// The adaptive batching decision both kinds of writer make (the thread of
/// the embedded stores, the task of PostgreSQL): when the previous batch
/// held k > 1 appends, wait up to [`Batching::delay`] for k before committing,
/// because the callers just answered send again at once; a lone writer never
/// waits. The writer keeps one and asks it, for each batch, how large the
/// batch may grow, until when it may wait, and whether to wait now.
#[derive(Clone, Copy, Debug)]
pub struct AdaptiveBatch {
    batching: Batching,
    last: usize,
}

/// One batch being filled, as [`AdaptiveBatch::start`] plans it.
#[derive(Clone, Copy, Debug)]
pub struct BatchPlan {
    /// The most appends this batch may take.
    pub max: usize,
    /// The size worth waiting for: the previous batch's.
    pub target: usize,
    /// Until when waiting is worth it.
    pub deadline: Instant,
}

impl AdaptiveBatch {
    /// A writer's batching, starting as a lone writer.
    pub fn new(batching: Batching) -> Self {
        AdaptiveBatch { batching, last: 1 }
    }

    /// Plans the batch whose first append just arrived.
    pub fn start(&self) -> BatchPlan {
        let max = self.batching.max_batch.max(1);
        BatchPlan {
            max,
            target: self.last.min(max),
            deadline: disco_core::clock::deadline_after(self.batching.delay),
        }
    }

    /// Records the size of the batch committed. The size worth waiting
    /// for falls by one per smaller batch rather than to it at once: a batch
    /// cut short by the deadline (its callers were still being woken) must
    /// not teach the writer to stop waiting for them.
    pub fn finish(&mut self, size: usize) {
        self.last = size.max(self.last.saturating_sub(1)).max(1);
    }
}

impl BatchPlan {
    /// Whether a batch of `size`, with nothing more waiting, should wait
    /// for another append (and `false` once the deadline passed).
    pub fn should_wait(&self, size: usize) -> bool {
        size < self.target && Instant::now() < self.deadline
    }
}

impl Default for Batching {
    fn default() -> Self {
        Batching {
            max_batch: 1000,
            delay: Duration::from_micros(200),
        }
    }
}

/// One append waiting for the writer. The commit function must answer it
/// through [`AppendRequest::reply`] only after the commit that holds it (or
/// with the error that stopped it).
pub struct AppendRequest {
    /// The stream.
    pub stream: StreamId,
    /// The expected version.
    pub expected: ExpectedVersion,
    /// The events, already checked against the store's limits.
    pub events: Vec<NewEvent>,
    /// The condition of a one-part conditional append (checked, by the
    /// store's commit, in the batch's transaction after the appends before
    /// it), or `None`.
    pub condition: Option<AppendCondition>,
    reply: oneshot::Sender<Result<AppendResult>>,
}

/// What the caller of an [`AppendRequest`] awaits.
pub type AppendReply = oneshot::Receiver<Result<AppendResult>>;

impl AppendRequest {
    /// A request and the receiver its caller awaits (for stores with writers
    /// of their own, such as an async one).
    pub fn new(
        stream: StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> (Self, AppendReply) {
        let (reply, answer) = oneshot::channel();
        (
            AppendRequest {
                stream,
                expected,
                events,
                condition: None,
                reply,
            },
            answer,
        )
    }

    /// A one-part conditional append's request and the receiver its caller
    /// awaits: it joins a group commit like any append.
    pub fn conditional(
        stream: StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        condition: AppendCondition,
    ) -> (Self, AppendReply) {
        let (mut request, answer) = AppendRequest::new(stream, expected, events);
        request.condition = Some(condition);
        (request, answer)
    }

    /// Answers the caller (who may have stopped waiting: that is fine).
    pub fn reply(self, result: Result<AppendResult>) {
        let _ = self.reply.send(result);
    }
}

/// What a store's commit of one batch gives: each append's result, in batch
/// order, and the head after the commit; or the error that stopped the whole
/// batch.
pub type BatchOutcome = Result<(Vec<Result<AppendResult>>, u64)>;

/// The bulk path of `append_many` for a store with a writer of its own:
/// hands each append to `send` in order without waiting in between (so the
/// writer takes them in that order and commits them in as few batches as it
/// can), then awaits each reply. `check` runs on each append first; one that
/// fails it gets its error and is not sent. `gone` is the error of an append
/// whose writer stopped.
pub async fn append_in_order(
    appends: Vec<AppendMany>,
    check: impl Fn(&[NewEvent]) -> Result<()>,
    send: impl Fn(AppendRequest) -> Result<()>,
    gone: impl Fn() -> Error,
) -> Vec<Result<AppendResult>> {
    let sent: Vec<Result<AppendReply>> = appends
        .into_iter()
        .map(|(stream, expected, events)| {
            check(&events)?;
            let (request, answer) = AppendRequest::new(stream, expected, events);
            send(request)?;
            Ok(answer)
        })
        .collect();
    let mut results = Vec::with_capacity(sent.len());
    for answer in sent {
        results.push(match answer {
            Ok(answer) => answer.await.unwrap_or_else(|_| Err(gone())),
            Err(e) => Err(e),
        });
    }
    results
}

/// Answers every append of a batch once its commit is over: on success,
/// announces the new head to waiting readers and gives each append its
/// result; on failure, gives each the error (none of them was written).
pub fn answer_batch(batch: Vec<AppendRequest>, outcome: BatchOutcome, notifier: &Notifier) {
    let size = batch.len();
    match outcome {
        Ok((results, head)) => {
            // Invariant: a committed batch answers each of its requests exactly once.
            debug_assert_eq!(results.len(), size, "one result per request of a batch");
            notifier.notify(head);
            tracing::trace!(appends = size, head, "group commit");
            for (request, result) in batch.into_iter().zip(results) {
                request.reply(result);
            }
        }
        Err(error) => {
            tracing::warn!(appends = size, %error, "group commit failed");
            for request in batch {
                request.reply(Err(error.clone()));
            }
        }
    }
}

/// How a store's batch write treats an append it refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchMode {
    /// Each append succeeds or fails alone (group commit, `append_many`).
    Independent,
    /// The first refused append fails the whole batch, which writes nothing
    /// (`append_atomic`).
    AllOrNothing,
}

/// The parts of an atomic append as one batch of requests. Nobody awaits
/// their replies: the caller gets the batch's outcome through
/// [`answer_atomic`].
pub fn atomic_batch(parts: Vec<AppendMany>) -> Vec<AppendRequest> {
    parts
        .into_iter()
        .map(|(stream, expected, events)| AppendRequest::new(stream, expected, events).0)
        .collect()
}

/// The answer to an atomic append, from the outcome of its batch written
/// with [`BatchMode::AllOrNothing`]: announces the new head once committed.
pub fn answer_atomic(outcome: BatchOutcome, notifier: &Notifier) -> Result<Vec<AppendResult>> {
    let (results, head) = outcome?;
    notifier.notify(head);
    results.into_iter().collect()
}

type Job<S> = Box<dyn FnOnce(&mut S) + Send>;

enum Command<S> {
    Append(AppendRequest),
    Run(Job<S>),
}

/// The handle to a writer thread that owns a store's write state `S` (a
/// connection, a database handle). The thread stops when the last handle
/// drops.
pub struct GroupCommitWriter<S> {
    commands: Sender<Command<S>>,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
    /// Why the thread stopped, if a batch or job panicked in it (a damaged
    /// file can make the storage engine panic).
    failure: Arc<Mutex<Option<String>>>,
}

impl<S> Clone for GroupCommitWriter<S> {
    fn clone(&self) -> Self {
        GroupCommitWriter {
            commands: self.commands.clone(),
            thread: self.thread.clone(),
            failure: self.failure.clone(),
        }
    }
}

/// The error of a call whose writer thread is gone, before it is known why.
fn writer_stopped() -> Error {
    Error::Unavailable("the store's writer thread has stopped".into())
}

/// The message of a caught panic's payload.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

impl<S: Send + 'static> GroupCommitWriter<S> {
    /// Starts the thread `name`, owning `state`. `commit` writes one batch
    /// and answers every request of it.
    pub fn spawn<F>(name: &str, mut state: S, batching: Batching, mut commit: F) -> Result<Self>
    where
        F: FnMut(&mut S, Vec<AppendRequest>) + Send + 'static,
    {
        let (commands, receiver) = mpsc::channel();
        let failure = Arc::new(Mutex::new(None));
        let failed = failure.clone();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let mut batcher = Batcher {
                    receiver,
                    pending: None,
                    adaptive: AdaptiveBatch::new(batching),
                };
                while let Some(work) = batcher.next() {
                    // A panic in the engine (a damaged file) must not read
                    // as an outage: the thread records it and stops, and
                    // every call then answers it as a backend failure.
                    let done = catch_unwind(AssertUnwindSafe(|| match work {
                        Work::Run(job) => job(&mut state),
                        Work::Batch(batch) => commit(&mut state, batch),
                    }));
                    if let Err(payload) = done {
                        let message = panic_text(payload.as_ref());
                        tracing::error!(%message, "the store's writer panicked and stopped");
                        *failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(message);
                        break;
                    }
                }
            })
            .map_err(|e| Error::Backend(format!("cannot start the writer thread: {e}")))?;
        Ok(GroupCommitWriter {
            commands,
            thread: Arc::new(Mutex::new(Some(thread))),
            failure,
        })
    }

    /// [`Self::writer_gone`] once the thread has had a moment to record why
    /// it stopped: a panic drops the batch's replies while it unwinds,
    /// before the thread gets to record it.
    async fn gone(&self) -> Error {
        for _ in 0..500 {
            let recorded = self
                .failure
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_some();
            let finished = self
                .thread
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
                .is_none_or(JoinHandle::is_finished);
            if recorded || finished {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        self.writer_gone()
    }

    /// What a call gets when the thread is gone: the panic that stopped it
    /// (`Backend`: retrying will not help; reopen the store), else
    /// `Unavailable`.
    fn writer_gone(&self) -> Error {
        match &*self.failure.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(message) => Error::Backend(format!(
                "the store's writer stopped after a failure in the storage engine ({message}); the file may be damaged: reopen the store"
            )),
            None => writer_stopped(),
        }
    }

    /// Drops this handle; if it was the last one, waits until the thread has
    /// finished its work and dropped its state (so a file it held is free).
    pub async fn close(self) -> Result<()> {
        let GroupCommitWriter {
            commands, thread, ..
        } = self;
        drop(commands);
        let Some(handle) =
            Arc::into_inner(thread).and_then(|t| t.into_inner().unwrap_or_else(|p| p.into_inner()))
        else {
            return Ok(());
        };
        tokio::task::spawn_blocking(move || handle.join())
            .await
            .map_err(|e| Error::Backend(format!("waiting for the writer failed: {e}")))?
            .map_err(|_| Error::Backend("the writer thread panicked".into()))
    }

    /// Sends a batch of appends in order without waiting between them, then
    /// waits for each (the bulk path of `append_many`); see
    /// [`append_in_order`].
    pub async fn append_many(
        &self,
        appends: Vec<AppendMany>,
        check: impl Fn(&[NewEvent]) -> Result<()>,
    ) -> Vec<Result<AppendResult>> {
        let stopped = writer_stopped();
        let mut results = append_in_order(
            appends,
            check,
            |request| {
                self.commands
                    .send(Command::Append(request))
                    .map_err(|_| writer_stopped())
            },
            writer_stopped,
        )
        .await;
        if results.iter().any(|r| r.as_ref().err() == Some(&stopped)) {
            let gone = self.gone().await;
            for result in &mut results {
                if result.as_ref().err() == Some(&stopped) {
                    *result = Err(gone.clone());
                }
            }
        }
        results
    }

    /// Sends an append and waits for the commit that holds it.
    pub async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult> {
        let (request, answer) = AppendRequest::new(stream.clone(), expected, events);
        self.send(request, answer).await
    }

    /// Sends a one-part conditional append, which joins a group commit
    /// like any append, and waits for the commit that holds it (or its
    /// refusal).
    pub async fn append_conditional(
        &self,
        stream: StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        condition: AppendCondition,
    ) -> Result<AppendResult> {
        let (request, answer) = AppendRequest::conditional(stream, expected, events, condition);
        self.send(request, answer).await
    }

    /// A conditional append: one part joins a group commit like any append
    /// ([`append_conditional`](GroupCommitWriter::append_conditional)); more
    /// parts run as `job` on the writer thread, in order with the appends.
    pub async fn append_if<F>(
        &self,
        mut parts: Vec<AppendMany>,
        condition: AppendCondition,
        job: F,
    ) -> Result<Vec<AppendResult>>
    where
        F: FnOnce(&mut S, Vec<AppendMany>, &AppendCondition) -> Result<Vec<AppendResult>>
            + Send
            + 'static,
    {
        if parts.len() == 1 {
            if let Some((stream, expected, events)) = parts.pop() {
                return self
                    .append_conditional(stream, expected, events, condition)
                    .await
                    .map(|result| vec![result]);
            }
        }
        self.run(move |state| job(state, parts, &condition)).await
    }

    async fn send(&self, request: AppendRequest, answer: AppendReply) -> Result<AppendResult> {
        if self.commands.send(Command::Append(request)).is_err() {
            return Err(self.gone().await);
        }
        match answer.await {
            Ok(result) => result,
            Err(_) => Err(self.gone().await),
        }
    }

    /// Runs `job` on the writer thread, in order with the appends.
    pub async fn run<T, F>(&self, job: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut S) -> Result<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let sent = self.commands.send(Command::Run(Box::new(move |state| {
            let _ = reply.send(job(state));
        })));
        if sent.is_err() {
            return Err(self.gone().await);
        }
        match answer.await {
            Ok(result) => result,
            Err(_) => Err(self.gone().await),
        }
    }
}

enum Work<S> {
    Batch(Vec<AppendRequest>),
    Run(Job<S>),
}

struct Batcher<S> {
    receiver: Receiver<Command<S>>,
    pending: Option<Command<S>>,
    adaptive: AdaptiveBatch,
}

impl<S> Batcher<S> {
    /// The next batch or job; `None` once every handle is gone.
    fn next(&mut self) -> Option<Work<S>> {
        let first = match self.pending.take() {
            Some(command) => command,
            None => self.receiver.recv().ok()?,
        };
        let first = match first {
            Command::Run(job) => return Some(Work::Run(job)),
            Command::Append(request) => request,
        };
        let plan = self.adaptive.start();
        let mut batch = vec![first];
        while batch.len() < plan.max {
            let next = match self.receiver.try_recv() {
                Ok(command) => command,
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) => {
                    if !plan.should_wait(batch.len()) {
                        break;
                    }
                    let left = plan.deadline.saturating_duration_since(Instant::now());
                    match self.receiver.recv_timeout(left) {
                        Ok(command) => command,
                        Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
                    }
                }
            };
            match next {
                Command::Append(request) => batch.push(request),
                other => {
                    self.pending = Some(other);
                    break;
                }
            }
        }
        self.adaptive.finish(batch.len());
        Some(Work::Batch(batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A writer whose "commit" records batch sizes and answers in order.
    fn recording_writer(delay: Duration) -> (GroupCommitWriter<Vec<u64>>, Arc<Mutex<Vec<usize>>>) {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let writer = GroupCommitWriter::spawn(
            "test-writer",
            Vec::new(),
            Batching {
                max_batch: 4,
                delay,
            },
            move |log: &mut Vec<u64>, batch| {
                seen.lock().unwrap().push(batch.len());
                for request in batch {
                    log.push(request.events.len() as u64);
                    let v = log.len() as u64;
                    request.reply(Ok(AppendResult {
                        first_version: v,
                        last_version: v,
                        first_position: v,
                        last_position: v,
                    }));
                }
            },
        )
        .unwrap();
        (writer, sizes)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn batches_concurrent_appends_and_keeps_jobs_in_order() {
        let (writer, sizes) = recording_writer(Duration::from_millis(5));
        let stream = StreamId::new("s").unwrap();
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (writer, stream) = (writer.clone(), stream.clone());
            tasks.push(tokio::spawn(async move {
                writer
                    .append(
                        &stream,
                        ExpectedVersion::Any,
                        vec![NewEvent::new("E", vec![])],
                    )
                    .await
            }));
        }
        for t in tasks {
            assert!(t.await.unwrap().is_ok());
        }
        let count = writer
            .run(|log: &mut Vec<u64>| Ok(log.len()))
            .await
            .unwrap();
        assert_eq!(count, 20, "a job sees every append sent before it");
        let sizes = sizes.lock().unwrap().clone();
        assert_eq!(sizes.iter().sum::<usize>(), 20);
        assert!(
            sizes.iter().all(|&s| s <= 4),
            "a batch exceeded max_batch: {sizes:?}"
        );
        assert!(
            sizes.iter().any(|&s| s > 1),
            "no batching happened: {sizes:?}"
        );
    }

    #[tokio::test]
    async fn a_lone_writer_does_not_wait_for_company() {
        let (writer, _) = recording_writer(Duration::from_secs(5));
        let stream = StreamId::new("s").unwrap();
        let start = Instant::now();
        for _ in 0..3 {
            writer
                .append(
                    &stream,
                    ExpectedVersion::Any,
                    vec![NewEvent::new("E", vec![])],
                )
                .await
                .unwrap();
        }
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}
