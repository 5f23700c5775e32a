//! Grouped publishing: the appends of one handle that are ready while a
//! batch is on its way leave together as the next atomic batch, so eight
//! concurrent writers pay one commit (one fsync on each replica) instead of
//! eight. A group is all or nothing on the server; when any check in it
//! fails, each append in it is published alone, so one append's conflict
//! never decides another's outcome.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use disco_core::{Error, Result};
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

use crate::js::{Js, Out, Refused, MAX_BATCH};

/// What the group answers one append.
enum Answer {
    /// Stored; the sequence of the append's last message.
    Written(u64),
    /// Refused, the append alone in its batch.
    Refused(Refused),
    /// Its group was refused: publish it alone (its messages, back).
    Alone(Vec<Out>),
}

struct Submission {
    messages: Vec<Out>,
    answer: oneshot::Sender<Result<Answer>>,
}

/// How many batches of one handle may be on their way at once: the next
/// group forms and leaves while the last one is being replicated.
const IN_FLIGHT: usize = 2;

/// The appends waiting for the next batch, and the batches in flight.
pub(crate) struct Grouper {
    waiting: Mutex<Vec<Submission>>,
    publishing: Arc<Semaphore>,
}

impl Default for Grouper {
    fn default() -> Self {
        Grouper {
            waiting: Mutex::default(),
            publishing: Arc::new(Semaphore::new(IN_FLIGHT)),
        }
    }
}

impl Grouper {
    /// Publishes `messages` (one append, at most [`MAX_BATCH`]) atomically,
    /// with whatever other appends of this handle are ready: the sequence
    /// of its last message, or the server's refusal of it alone.
    pub(crate) async fn publish(
        self: &Arc<Self>,
        js: &Js,
        messages: Vec<Out>,
    ) -> Result<std::result::Result<u64, Refused>> {
        let (answer, answered) = oneshot::channel();
        self.lock_waiting().push(Submission { messages, answer });
        self.start(js);
        match answered.await {
            Ok(Ok(Answer::Written(last))) => Ok(Ok(last)),
            Ok(Ok(Answer::Refused(refused))) => Ok(Err(refused)),
            Ok(Ok(Answer::Alone(messages))) => js.publish_batch(messages).await,
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Error::Unavailable(
                "NATS: the batch carrying this append stopped before its answer (the runtime shut down?); it may or may not be stored: retrying with the same event ids is safe".into(),
            )),
        }
    }

    fn lock_waiting(&self) -> std::sync::MutexGuard<'_, Vec<Submission>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a publisher unless [`IN_FLIGHT`] run (one will take what
    /// waits).
    fn start(self: &Arc<Self>, js: &Js) {
        if let Ok(turn) = self.publishing.clone().try_acquire_owned() {
            let me = self.clone();
            let js = js.clone();
            // A task of its own: an append whose caller stops waiting does
            // not stop the batch that carries the others.
            tokio::spawn(async move { me.run(js, turn).await });
        }
    }

    async fn run(self: Arc<Self>, js: Js, turn: OwnedSemaphorePermit) {
        let mut turn = Some(turn);
        loop {
            let group = self.take();
            if group.is_empty() {
                drop(turn.take());
                // An append queued after the take found the turn held and
                // left it to this task: look once more after letting go.
                if self.lock_waiting().is_empty() {
                    return;
                }
                match self.publishing.clone().try_acquire_owned() {
                    Ok(again) => turn = Some(again),
                    Err(_) => return,
                }
                continue;
            }
            publish_group(&js, group).await;
        }
    }

    /// The next group: appends in arrival order while the batch stays
    /// within the server's cap and no two check the same subject (the
    /// second would fail on the first's write and fail the group).
    fn take(&self) -> Vec<Submission> {
        let mut waiting = self.lock_waiting();
        let mut group = Vec::new();
        let mut size = 0usize;
        let mut checked: HashSet<String> = HashSet::new();
        let mut later = Vec::new();
        for submission in waiting.drain(..) {
            let subjects = checked_subjects(&submission.messages);
            let fits = size.saturating_add(submission.messages.len()) <= MAX_BATCH;
            let clashes = subjects.iter().any(|s| checked.contains(s));
            if group.is_empty() || (fits && !clashes) {
                size = size.saturating_add(submission.messages.len());
                checked.extend(subjects);
                group.push(submission);
            } else {
                later.push(submission);
            }
        }
        *waiting = later;
        group
    }
}

/// The subjects whose last sequence `messages` check.
fn checked_subjects(messages: &[Out]) -> Vec<String> {
    messages
        .iter()
        .filter(|m| {
            m.headers
                .iter()
                .any(|(name, _)| *name == "Nats-Expected-Last-Subject-Sequence")
        })
        .map(|m| {
            m.headers
                .iter()
                .find(|(name, _)| *name == "Nats-Expected-Last-Subject-Sequence-Subject")
                .map_or_else(|| m.subject.clone(), |(_, subject)| subject.clone())
        })
        .collect()
}

async fn publish_group(js: &Js, mut group: Vec<Submission>) {
    if group.len() == 1 {
        if let Some(only) = group.pop() {
            let answer = js.publish_batch(only.messages).await.map(|r| match r {
                Ok(last) => Answer::Written(last),
                Err(refused) => Answer::Refused(refused),
            });
            let _ = only.answer.send(answer);
        }
        return;
    }
    let counts: Vec<u64> = group
        .iter()
        .map(|s| u64::try_from(s.messages.len()).unwrap_or(u64::MAX))
        .collect();
    let all: Vec<Out> = group.iter().flat_map(|s| s.messages.clone()).collect();
    let total = u64::try_from(all.len()).unwrap_or(u64::MAX);
    match js.publish_batch(all).await {
        Ok(Ok(last)) => {
            // A batch's sequences are contiguous, in the order published.
            let mut end = last.saturating_sub(total);
            for (submission, count) in group.into_iter().zip(counts) {
                end = end.saturating_add(count);
                let _ = submission.answer.send(Ok(Answer::Written(end)));
            }
        }
        Ok(Err(_)) => {
            for submission in group {
                let messages = submission.messages;
                let _ = submission.answer.send(Ok(Answer::Alone(messages)));
            }
        }
        Err(e) => {
            for submission in group {
                let _ = submission.answer.send(Err(e.clone()));
            }
        }
    }
}
