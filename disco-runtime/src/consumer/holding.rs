//! A runner's hold on its lease: the part of a consumer's runner and a
//! projection's runner that is the same. Wait for the lease while obeying
//! the handle ([`acquire`], through the runner's [`Standby`]), renew it
//! every third of its time to live ([`Holding`]), release it at the end.

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::{sleep_until, Instant};

use disco_core::lease::Lease;
use disco_core::EventStore;

/// What a runner does while it waits for its lease.
pub trait Standby: Send {
    /// What its handle sends it.
    type Command: Send;

    /// The handle's channel.
    fn commands(&mut self) -> &mut UnboundedReceiver<Self::Command>;

    /// Obeys a command while not holding the lease; `false` to stop
    /// waiting (and end the runner).
    fn obey_waiting(&mut self, command: Self::Command) -> impl Future<Output = bool> + Send;

    /// Another runner holds the lease (called after each such try).
    fn held_elsewhere(&mut self) -> impl Future<Output = ()> + Send;

    /// A try to take the lease failed.
    fn try_failed(&mut self, error: &disco_core::Error);
}

/// Waits for lease `name` on `store` (trying every `poll`), obeying the
/// handle meanwhile; `None` if told to stop first (or the handle is gone).
/// `yield_first`: wait one `poll` before the first try, so a runner that
/// just lost its lease leaves it to the runner that took it (or is about
/// to) instead of snatching it back.
pub async fn acquire<S: Standby>(
    runner: &mut S,
    store: &dyn EventStore,
    name: &str,
    ttl: Duration,
    poll: Duration,
    yield_first: bool,
) -> Option<Box<dyn Lease>> {
    if yield_first && !wait_a_poll(runner, poll).await {
        return None;
    }
    loop {
        match store.try_lease(name, ttl).await {
            Ok(Some(lease)) => return Some(lease),
            Ok(None) => runner.held_elsewhere().await,
            Err(error) => runner.try_failed(&error),
        }
        if !wait_a_poll(runner, poll).await {
            return None;
        }
    }
}

/// Waits `poll`, obeying the handle meanwhile; `false` if told to stop.
pub async fn wait_a_poll<S: Standby>(runner: &mut S, poll: Duration) -> bool {
    let wake = Instant::from_std(disco_core::clock::deadline_after(poll));
    loop {
        let command = tokio::select! {
            command = runner.commands().recv() => command,
            _ = sleep_until(wake) => return true,
        };
        let Some(command) = command else {
            return false;
        };
        if !runner.obey_waiting(command).await {
            return false;
        }
    }
}

/// A lease held, and when it is next renewed.
#[derive(Debug)]
pub struct Holding {
    lease: Box<dyn Lease>,
    every: Duration,
    due: Instant,
}

impl Holding {
    /// `lease`, just taken with time to live `ttl`: renewed every third of
    /// it, so two renewals can fail before it lapses.
    pub fn new(lease: Box<dyn Lease>, ttl: Duration) -> Self {
        let every = ttl
            .checked_div(3)
            .unwrap_or_default()
            .max(Duration::from_millis(1));
        Holding {
            lease,
            every,
            due: after(every),
        }
    }

    /// The lease.
    pub fn lease(&self) -> &dyn Lease {
        &*self.lease
    }

    /// When it is next renewed.
    pub fn renew_due(&self) -> Instant {
        self.due
    }

    /// Renews it (the next renewal is due a third of its time to live
    /// later); `Ok(false)` when it was lost.
    pub async fn renew(&mut self) -> disco_core::Result<bool> {
        self.due = after(self.every);
        self.lease.renew().await
    }

    /// Releases it.
    pub async fn release(self) -> disco_core::Result<()> {
        self.lease.release().await
    }
}

fn after(every: Duration) -> Instant {
    Instant::from_std(disco_core::clock::deadline_after(every))
}
