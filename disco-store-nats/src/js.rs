//! The JetStream protocol the store speaks: API requests, publishes with
//! their checks, atomic batches, direct gets (one message or a batch) and
//! purges, over a plain `async_nats::Client` (async-nats has no atomic batch
//! publish or batch direct get of its own).

use std::time::Duration;

use async_nats::{HeaderMap, Message};
use disco_core::{Error, Result};
use futures_util::StreamExt;
use serde_json::{json, Value};

/// The most messages one atomic batch may hold (the server's limit).
pub(crate) const MAX_BATCH: usize = 1000;

/// A message to publish.
#[derive(Debug, Clone)]
pub(crate) struct Out {
    pub subject: String,
    pub headers: Vec<(&'static str, String)>,
    /// Shared, so a grouped batch keeps its appends' messages without
    /// copying them (to publish each alone if the group is refused).
    pub payload: bytes::Bytes,
}

impl Out {
    pub(crate) fn new(subject: String, payload: Vec<u8>) -> Self {
        Out {
            subject,
            headers: Vec::new(),
            payload: payload.into(),
        }
    }

    /// Adds a header.
    pub(crate) fn with(mut self, name: &'static str, value: impl ToString) -> Self {
        self.headers.push((name, value.to_string()));
        self
    }

    /// Stored only if the last message on its own subject is `seq` (0: none).
    pub(crate) fn expect_last(self, seq: u64) -> Self {
        self.with("Nats-Expected-Last-Subject-Sequence", seq)
    }

    /// Stored only if the last message on `subject` (wildcards allowed) is
    /// `seq` (0: none).
    pub(crate) fn expect_last_on(self, subject: &str, seq: u64) -> Self {
        self.with("Nats-Expected-Last-Subject-Sequence", seq)
            .with("Nats-Expected-Last-Subject-Sequence-Subject", subject)
    }
}

/// A stored message as a direct get returns it.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub seq: u64,
    pub subject: String,
    pub payload: Vec<u8>,
}

/// Why the server refused a publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refused {
    /// A `Nats-Expected-Last-Subject-Sequence` check failed; the server
    /// names the sequence it found when it can.
    WrongLastSequence(Option<u64>),
    /// Anything else the server said no to (code, description).
    Other(u64, String),
}

/// The connection and the timeout of every request.
#[derive(Clone, Debug)]
pub(crate) struct Js {
    pub client: async_nats::Client,
    pub timeout: Duration,
}

/// A client-side failure: the connection, a timeout, an answer that does
/// not parse. Retryable but for a malformed answer.
pub(crate) fn unavailable(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Unavailable(format!("NATS: {what}: {e}"))
}

fn header(message: &Message, name: &str) -> Option<String> {
    message
        .headers
        .as_ref()
        .and_then(|h| h.get(name))
        .map(|v| v.as_str().to_owned())
}

fn headers_of(out: &Out) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in &out.headers {
        headers.insert(*name, value.as_str());
    }
    headers
}

/// The sequence a "wrong last sequence: N" description names.
fn named_sequence(description: &str) -> Option<u64> {
    description
        .rsplit(':')
        .next()
        .and_then(|n| n.trim().parse().ok())
}

/// The server's answer as JSON, and the refusal it holds, if any.
fn answer_of(message: &Message) -> Result<(Value, Option<Refused>)> {
    let value: Value = serde_json::from_slice(&message.payload)
        .map_err(|e| Error::Backend(format!("NATS: an answer that is not JSON: {e}")))?;
    let refused = value.get("error").map(|error| {
        let code = error.get("err_code").and_then(Value::as_u64).unwrap_or(0);
        let description = error
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        // 10071: JSStreamWrongLastSequenceErr.
        if code == 10071 || description.starts_with("wrong last sequence") {
            Refused::WrongLastSequence(named_sequence(&description))
        } else {
            Refused::Other(code, description)
        }
    });
    Ok((value, refused))
}

/// A publish acknowledgment or the server's refusal.
fn ack_of(message: &Message) -> Result<std::result::Result<u64, Refused>> {
    let (value, refused) = answer_of(message)?;
    if let Some(refused) = refused {
        return Ok(Err(refused));
    }
    value
        .get("seq")
        .and_then(Value::as_u64)
        .map(Ok)
        .ok_or_else(|| {
            Error::Backend(format!(
                "NATS: a publish answer without a sequence: {value}"
            ))
        })
}

/// How long a request that reached nobody is tried again before it is
/// reported: time for a cluster to elect a stream's leader and route its
/// interest to the server this client talks to (NATS's design note
/// "JetStream Publish Retries on No Responders" asks clients to retry for
/// the same reason).
const NO_RESPONDERS_PATIENCE: Duration = Duration::from_secs(2);

/// One try of a request: its answer, or `None` when nobody listens on the
/// subject here (yet). Nothing was delivered then, so trying again cannot
/// store anything twice.
type Try<T> = Option<T>;

impl Js {
    async fn request_once(
        &self,
        subject: String,
        headers: HeaderMap,
        payload: bytes::Bytes,
    ) -> Result<Try<Message>> {
        let request = async_nats::Request::new()
            .headers(headers)
            .payload(payload)
            .timeout(Some(self.timeout));
        match self.client.send_request(subject, request).await {
            Ok(message) => Ok(Some(message)),
            Err(e) if e.kind() == async_nats::RequestErrorKind::NoResponders => Ok(None),
            Err(e) => Err(unavailable("request", e)),
        }
    }

    /// Runs `attempt` again while it reaches nobody, for a bounded time: a
    /// stream leader just elected, or one on another server whose interest
    /// has not reached this one yet, answers a moment later.
    async fn patiently<T, F, Fut>(&self, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Try<T>>>,
    {
        let patience = NO_RESPONDERS_PATIENCE.min(self.timeout);
        let started = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(5);
        loop {
            if let Some(answer) = attempt().await? {
                return Ok(answer);
            }
            if started.elapsed().saturating_add(pause) > patience {
                return Err(Error::Unavailable(
                    "NATS: nobody answered (no stream leader, or the stream is gone)".into(),
                ));
            }
            tokio::time::sleep(pause).await;
            pause = pause.saturating_mul(2).min(Duration::from_millis(200));
        }
    }

    async fn request(
        &self,
        subject: String,
        headers: HeaderMap,
        payload: bytes::Bytes,
    ) -> Result<Message> {
        self.patiently(|| self.request_once(subject.clone(), headers.clone(), payload.clone()))
            .await
    }

    /// A JetStream API call (`$JS.API.{what}`); the server's error as
    /// `Err(Refused)` inside.
    pub(crate) async fn api(
        &self,
        what: &str,
        body: Value,
    ) -> Result<std::result::Result<Value, Refused>> {
        let message = self
            .request(
                format!("$JS.API.{what}"),
                HeaderMap::new(),
                body.to_string().into_bytes().into(),
            )
            .await?;
        let (value, refused) = answer_of(&message)?;
        if let Some(refused) = refused {
            return Ok(Err(refused));
        }
        Ok(Ok(value))
    }

    /// Publishes one message and waits for it to be stored.
    pub(crate) async fn publish(&self, out: Out) -> Result<std::result::Result<u64, Refused>> {
        let headers = headers_of(&out);
        let message = self.request(out.subject, headers, out.payload).await?;
        ack_of(&message)
    }

    /// Publishes `messages` as one atomic batch: all are stored, in order,
    /// or none. Returns the sequence of the last one.
    pub(crate) async fn publish_batch(
        &self,
        messages: Vec<Out>,
    ) -> Result<std::result::Result<u64, Refused>> {
        if messages.len() == 1 {
            // One message is atomic on its own.
            if let Some(only) = messages.into_iter().next() {
                return self.publish(only).await;
            }
            return Err(Error::InvalidInput("an empty batch".into()));
        }
        // Each try is a batch of its own (a fresh id): the server drops a
        // batch whose commit never arrives, so a try that reached nobody
        // with its commit leaves nothing behind.
        let message = self.patiently(|| self.batch_once(&messages)).await?;
        ack_of(&message)
    }

    /// One try of an atomic batch: every message but the last published
    /// with the batch's headers, the last with the commit, as a request.
    async fn batch_once(&self, messages: &[Out]) -> Result<Try<Message>> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let count = messages.len();
        for (index, out) in messages.iter().enumerate() {
            let sequence = index.saturating_add(1);
            let mut headers = headers_of(out);
            headers.insert("Nats-Batch-Id", id.as_str());
            headers.insert("Nats-Batch-Sequence", sequence.to_string().as_str());
            if sequence == count {
                headers.insert("Nats-Batch-Commit", "1");
                return self
                    .request_once(out.subject.clone(), headers, out.payload.clone())
                    .await;
            }
            self.client
                .publish_with_headers(out.subject.clone(), headers, out.payload.clone())
                .await
                .map_err(|e| unavailable("publish", e))?;
        }
        Err(Error::InvalidInput("an empty batch".into()))
    }

    /// The last message on `subject` (wildcards allowed) in `stream`, as
    /// the stream's leader has it (a message get, not a direct get: a
    /// replica may lag, and decisions and reads after a write must see it).
    pub(crate) async fn last(&self, stream: &str, subject: &str) -> Result<Option<Stored>> {
        let answer = self
            .api(
                &format!("STREAM.MSG.GET.{stream}"),
                json!({ "last_by_subj": subject }),
            )
            .await?;
        let value = match answer {
            Ok(value) => value,
            // 10037: no message found.
            Err(Refused::Other(10037, _)) => return Ok(None),
            Err(refused) => {
                return Err(Error::Unavailable(format!(
                    "NATS: a message get was refused: {refused:?}"
                )))
            }
        };
        let message = value.get("message").ok_or_else(|| {
            Error::Backend(format!(
                "NATS: a message get answer without a message: {value}"
            ))
        })?;
        let seq = message.get("seq").and_then(Value::as_u64).unwrap_or(0);
        let subject = message
            .get("subject")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let data = message.get("data").and_then(Value::as_str).unwrap_or("");
        use base64::Engine;
        let payload = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| {
                Error::Backend(format!(
                    "NATS: a message get answer that does not decode: {e}"
                ))
            })?;
        Ok(Some(Stored {
            seq,
            subject,
            payload,
        }))
    }

    /// A batch direct get: the messages the request body selects (`seq`,
    /// `next_by_subj`, `multi_last`, ...), at most `batch`, in order.
    pub(crate) async fn batch(
        &self,
        stream: &str,
        mut body: Value,
        batch: usize,
    ) -> Result<Vec<Stored>> {
        if let Some(fields) = body.as_object_mut() {
            fields.insert("batch".into(), json!(batch.max(1)));
        }
        self.patiently(|| self.batch_get_once(stream, &body)).await
    }

    /// One try of a batch direct get.
    async fn batch_get_once(&self, stream: &str, body: &Value) -> Result<Try<Vec<Stored>>> {
        let inbox = self.client.new_inbox();
        let mut replies = self
            .client
            .subscribe(inbox.clone())
            .await
            .map_err(|e| unavailable("subscribe", e))?;
        self.client
            .publish_with_reply(
                format!("$JS.API.DIRECT.GET.{stream}"),
                inbox,
                body.to_string().into(),
            )
            .await
            .map_err(|e| unavailable("publish", e))?;
        let mut found = Vec::new();
        loop {
            let next = tokio::time::timeout(self.timeout, replies.next())
                .await
                .map_err(|_| {
                    Error::Unavailable("NATS: a batch get did not finish in time".into())
                })?;
            let Some(message) = next else {
                return Err(Error::Unavailable(
                    "NATS: the connection closed during a batch get".into(),
                ));
            };
            match message.status.map(u16::from) {
                // 204: end of batch; 404: nothing (more) to return.
                Some(204) | Some(404) => break,
                // 503: nobody listens on the subject here (yet).
                Some(503) if found.is_empty() => {
                    let _ = replies.unsubscribe().await;
                    return Ok(None);
                }
                Some(code) if code >= 300 => {
                    return Err(Error::Unavailable(format!(
                        "NATS: a batch get answered {code} {}",
                        message.description.as_deref().unwrap_or("")
                    )))
                }
                _ => found.push(stored(&message)?),
            }
        }
        let _ = replies.unsubscribe().await;
        Ok(Some(found))
    }

    /// Removes the messages of `subject` from `stream`, keeping the last
    /// `keep`.
    pub(crate) async fn purge(&self, stream: &str, subject: &str, keep: u64) -> Result<()> {
        let body = if keep > 0 {
            json!({ "filter": subject, "keep": keep })
        } else {
            json!({ "filter": subject })
        };
        match self.api(&format!("STREAM.PURGE.{stream}"), body).await? {
            Ok(_) => Ok(()),
            Err(refused) => Err(Error::Backend(format!(
                "NATS: a purge was refused: {refused:?}"
            ))),
        }
    }
}

fn stored(message: &Message) -> Result<Stored> {
    let seq = header(message, "Nats-Sequence")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Error::Backend("NATS: a stored message without its sequence".into()))?;
    let subject = header(message, "Nats-Subject")
        .ok_or_else(|| Error::Backend("NATS: a stored message without its subject".into()))?;
    Ok(Stored {
        seq,
        subject,
        payload: message.payload.to_vec(),
    })
}
