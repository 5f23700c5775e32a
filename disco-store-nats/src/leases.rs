//! Leases: a holder message per name that expires with the lease's time to
//! live (JetStream's per-message TTL), and a fence message per name whose
//! sequence is the fencing token. Taking a lease writes both in one atomic
//! batch, each only if its subject is where it was read: two takers cannot
//! both win, and every taking gets a higher token. A fenced checkpoint names
//! the fence's sequence, checked on the server (see `meta.rs`).

use std::time::{Duration, Instant};

use async_trait::async_trait;
use disco_core::clock::deadline_after;
use disco_core::lease::Lease;
use disco_core::{Result, Uuid};

use crate::js::{Out, Refused};
use crate::NatsStore;

const HELD: u8 = 1;
const RELEASED: u8 = 2;

/// The `Nats-TTL` of a lease: whole seconds, at least one (the server's
/// least), "never" past what the server counts.
pub(crate) fn ttl_header(ttl: Duration) -> String {
    let secs = ttl
        .as_secs()
        .saturating_add(u64::from(ttl.subsec_nanos() > 0))
        .max(1);
    if secs > 100 * 365 * 24 * 3600 {
        "never".to_owned()
    } else {
        format!("{secs}s")
    }
}

#[derive(Debug)]
pub(crate) struct NatsLease {
    store: NatsStore,
    name: String,
    owner: Uuid,
    ttl: Duration,
    token: u64,
    /// The sequence of this holder's latest holder message.
    seq: u64,
    held_until: Instant,
}

impl NatsLease {
    pub(crate) async fn take(store: &NatsStore, name: &str, ttl: Duration) -> Result<Option<Self>> {
        let meta = &store.names().meta;
        let holder = store.js().last(meta, &store.names().lease(name)).await?;
        let holder_seq = match &holder {
            Some(m) if m.payload.first() == Some(&HELD) => return Ok(None),
            Some(m) => m.seq,
            None => 0,
        };
        let fence_seq = store
            .js()
            .last(meta, &store.names().fence(name))
            .await?
            .map_or(0, |m| m.seq);
        let owner = Uuid::new_v4();
        let held_until = deadline_after(ttl);
        let mut payload = vec![HELD];
        payload.extend_from_slice(owner.as_bytes());
        let batch = vec![
            Out::new(store.names().fence(name), owner.as_bytes().to_vec()).expect_last(fence_seq),
            Out::new(store.names().lease(name), payload)
                .with("Nats-TTL", ttl_header(ttl))
                .expect_last(holder_seq),
        ];
        match store.js().publish_batch(batch).await? {
            Ok(seq) => Ok(Some(NatsLease {
                store: store.clone(),
                name: name.to_owned(),
                owner,
                ttl,
                // The fence is the message before the holder's.
                token: seq.saturating_sub(1),
                seq,
                held_until,
            })),
            Err(Refused::WrongLastSequence(_)) => Ok(None),
            Err(Refused::Other(code, description)) => {
                Err(crate::append::refused(code, &description))
            }
        }
    }
}

#[async_trait]
impl Lease for NatsLease {
    fn name(&self) -> &str {
        &self.name
    }

    fn token(&self) -> u64 {
        self.token
    }

    fn is_held(&self) -> bool {
        Instant::now() < self.held_until
    }

    async fn renew(&mut self) -> Result<bool> {
        let held_until = deadline_after(self.ttl);
        let mut payload = vec![HELD];
        payload.extend_from_slice(self.owner.as_bytes());
        let out = Out::new(self.store.names().lease(&self.name), payload)
            .with("Nats-TTL", ttl_header(self.ttl))
            .expect_last(self.seq);
        match self.store.js().publish(out).await? {
            Ok(seq) => {
                self.seq = seq;
                self.held_until = held_until;
                Ok(true)
            }
            Err(Refused::WrongLastSequence(_)) => Ok(false),
            Err(Refused::Other(code, description)) => {
                Err(crate::append::refused(code, &description))
            }
        }
    }

    async fn release(self: Box<Self>) -> Result<()> {
        let out = Out::new(self.store.names().lease(&self.name), vec![RELEASED])
            .with("Nats-TTL", "1s")
            .expect_last(self.seq);
        match self.store.js().publish(out).await? {
            // Taken by another since: nothing of ours to release.
            Ok(_) | Err(Refused::WrongLastSequence(_)) => Ok(()),
            Err(Refused::Other(code, description)) => {
                Err(crate::append::refused(code, &description))
            }
        }
    }
}
