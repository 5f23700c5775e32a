//! The NATS baseline: bare JetStream publishes with acks to a stream of the
//! same replicas, one subject per stream, the event's data and metadata as
//! the payload. One event is one publish; several are one atomic batch (no
//! id claims, no expected sequences). Reads are batch direct gets. No
//! expected-version check, no idempotency, no decoding beyond counting.

use async_nats::HeaderMap;
use async_trait::async_trait;
use disco_core::{Error, NewEvent, Result, StreamId};
use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::target::Target;

/// A plain client of `servers` (`nats://HOST:PORT` each).
pub async fn connect(servers: &[String]) -> Result<async_nats::Client> {
    let addresses: Vec<async_nats::ServerAddr> = servers
        .iter()
        .map(|s| s.parse().map_err(|e| failed("address", e)))
        .collect::<Result<_>>()?;
    async_nats::connect(addresses)
        .await
        .map_err(|e| failed("connect", e))
}

/// The raw NATS baseline: its own stream on the cluster.
pub struct RawNats {
    client: async_nats::Client,
    stream: String,
    root: String,
}

fn failed(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Backend(format!("raw NATS: {what}: {e}"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl RawNats {
    /// Creates the baseline's stream `BENCH_{name}` (replaced if it exists).
    pub async fn create(servers: &[String], name: &str, replicas: usize) -> Result<RawNats> {
        let client = connect(servers).await?;
        let raw = RawNats {
            client,
            stream: format!("BENCH_{name}"),
            root: format!("benchraw.{name}"),
        };
        raw.destroy().await;
        let config = json!({
            "name": raw.stream,
            "subjects": [format!("{}.>", raw.root)],
            "storage": "file",
            "num_replicas": replicas,
            "allow_direct": true,
            "allow_atomic": true,
        });
        let answer = raw
            .api(&format!("STREAM.CREATE.{}", raw.stream), config)
            .await?;
        if answer.get("error").is_some() {
            return Err(failed("create the stream", answer));
        }
        raw.ready().await?;
        Ok(raw)
    }

    /// Waits until a publish to the new stream is answered: right after a
    /// stream is made, its leader's interest may not yet have reached the
    /// server this client talks to, and a publish then reaches nobody (the
    /// store under test retries the same way). The probe is purged, so the
    /// stream holds only what the case writes.
    async fn ready(&self) -> Result<()> {
        let probe = format!("{}.ready", self.root);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            match self.client.request(probe.clone(), Vec::new().into()).await {
                Ok(_) => break,
                Err(e)
                    if e.kind() == async_nats::client::RequestErrorKind::NoResponders
                        && std::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
                Err(e) => return Err(failed("wait for the stream", e)),
            }
        }
        let answer = self
            .api(
                &format!("STREAM.PURGE.{}", self.stream),
                json!({ "filter": probe }),
            )
            .await?;
        if answer.get("error").is_some() {
            return Err(failed("purge the probe", answer));
        }
        Ok(())
    }

    /// Removes the baseline's stream.
    pub async fn destroy(&self) {
        let _ = self
            .api(&format!("STREAM.DELETE.{}", self.stream), json!({}))
            .await;
    }

    async fn api(&self, what: &str, body: Value) -> Result<Value> {
        let answer = self
            .client
            .request(format!("$JS.API.{what}"), body.to_string().into())
            .await
            .map_err(|e| failed("request", e))?;
        serde_json::from_slice(&answer.payload).map_err(|e| failed("answer", e))
    }

    fn subject(&self, stream: &StreamId) -> String {
        format!("{}.{}", self.root, hex(stream.as_str().as_bytes()))
    }

    fn payload(event: &NewEvent) -> Vec<u8> {
        let mut payload = event.data.clone();
        payload.extend_from_slice(&event.metadata);
        payload
    }

    /// Publishes `messages` and waits for the ack: one publish, or one
    /// atomic batch.
    async fn publish(&self, messages: Vec<(String, Vec<u8>)>) -> Result<()> {
        let count = messages.len();
        let batch = uuid::Uuid::new_v4().simple().to_string();
        for (i, (subject, payload)) in messages.into_iter().enumerate() {
            let mut headers = HeaderMap::new();
            if count > 1 {
                headers.insert("Nats-Batch-Id", batch.as_str());
                headers.insert("Nats-Batch-Sequence", (i + 1).to_string().as_str());
            }
            if i + 1 == count {
                if count > 1 {
                    headers.insert("Nats-Batch-Commit", "1");
                }
                let answer = self
                    .client
                    .request_with_headers(subject, headers, payload.into())
                    .await
                    .map_err(|e| failed("publish", e))?;
                let ack: Value =
                    serde_json::from_slice(&answer.payload).map_err(|e| failed("ack", e))?;
                if ack.get("error").is_some() {
                    return Err(failed("publish refused", ack));
                }
                return Ok(());
            }
            self.client
                .publish_with_headers(subject, headers, payload.into())
                .await
                .map_err(|e| failed("publish", e))?;
        }
        Ok(())
    }

    /// The mean time of one acknowledged publish of `size` messages (one
    /// plain publish for 1, one atomic batch for more), over `rounds`
    /// sequential publishes of 200-byte messages: what a commit costs the
    /// server, the floor under any store that writes in batches.
    pub async fn commit_cost(&self, size: usize, rounds: u32) -> Result<std::time::Duration> {
        let started = std::time::Instant::now();
        for round in 0..rounds {
            let messages = (0..size.max(1))
                .map(|i| {
                    (
                        format!("{}.cost.{}", self.root, (round as usize + i) % 64),
                        vec![b'x'; 200],
                    )
                })
                .collect();
            self.publish(messages).await?;
        }
        Ok(started.elapsed() / rounds.max(1))
    }

    /// A batch direct get: how many messages, and the last one's sequence.
    async fn batch(&self, body: Value, limit: usize) -> Result<(usize, u64)> {
        let mut body = body;
        if let Some(fields) = body.as_object_mut() {
            fields.insert("batch".into(), json!(limit.max(1)));
        }
        let inbox = self.client.new_inbox();
        let mut replies = self
            .client
            .subscribe(inbox.clone())
            .await
            .map_err(|e| failed("subscribe", e))?;
        self.client
            .publish_with_reply(
                format!("$JS.API.DIRECT.GET.{}", self.stream),
                inbox,
                body.to_string().into(),
            )
            .await
            .map_err(|e| failed("get", e))?;
        let (mut count, mut last) = (0, 0);
        while let Some(message) = replies.next().await {
            if message.status.is_some() {
                break;
            }
            count += 1;
            last = message
                .headers
                .as_ref()
                .and_then(|h| h.get("Nats-Sequence"))
                .and_then(|v| v.as_str().parse().ok())
                .unwrap_or(last);
        }
        Ok((count, last))
    }
}

#[async_trait]
impl Target for RawNats {
    async fn append(&self, stream: &StreamId, _version: u64, events: Vec<NewEvent>) -> Result<()> {
        let subject = self.subject(stream);
        self.publish(
            events
                .iter()
                .map(|e| (subject.clone(), Self::payload(e)))
                .collect(),
        )
        .await
    }

    async fn append_group(&self, appends: Vec<(StreamId, u64, Vec<NewEvent>)>) -> Result<()> {
        let messages = appends
            .iter()
            .flat_map(|(stream, _, events)| {
                let subject = self.subject(stream);
                events
                    .iter()
                    .map(move |e| (subject.clone(), Self::payload(e)))
            })
            .collect();
        self.publish(messages).await
    }

    async fn read_page(&self, after: u64, limit: usize) -> Result<(usize, u64)> {
        self.batch(json!({ "seq": after + 1 }), limit).await
    }

    async fn read_stream(&self, stream: &StreamId, limit: usize) -> Result<usize> {
        let (count, _) = self
            .batch(
                json!({ "seq": 1, "next_by_subj": self.subject(stream) }),
                limit,
            )
            .await?;
        Ok(count)
    }
}
