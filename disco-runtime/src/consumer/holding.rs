//! A runner's hold on its lease, the same for a consumer's runner and a
//! projection's: stand by until the lease is free, then hold it for an
//! active stretch, and again after the lease is lost ([`serve`], through
//! the runner's [`Serve`]); wait for the lease while obeying the handle
//! ([`acquire`], through its [`Standby`]), renew it every third of its
//! time to live ([`Holding`]), release it at the end. What a stretch does
//! is [`super::stretch`].

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

/// How an active stretch ended.
#[derive(Debug)]
pub enum Stretched<X> {
    /// The runner ends with this exit.
    Ended(X),
    /// The lease was lost (or could not be confirmed): stand by again,
    /// leaving the lease for one poll to whoever took it.
    LeaseLost,
    /// The stretch could not start for now (the lease was released):
    /// stand by again after one poll.
    Unavailable,
}

/// A runner: a standby that holds its lease for active stretches.
pub trait Serve: Standby {
    /// How the runner ends.
    type Exit: Send;

    /// The lease's name, time to live, and how often a standby tries it.
    fn lease(&self) -> (String, Duration, Duration);

    /// The runner stands by (for its status).
    fn standing_by(&mut self);

    /// The exit when told to stop while standing by.
    fn stopped(&self) -> Self::Exit;

    /// One active stretch with `lease` held.
    fn active(
        &mut self,
        lease: Box<dyn Lease>,
    ) -> impl Future<Output = Stretched<Self::Exit>> + Send;
}

/// Runs `runner` on `store` until it ends: stand by, hold the lease for a
/// stretch, and stand by again when the stretch loses it.
pub async fn serve<S: Serve>(runner: &mut S, store: &dyn EventStore) -> S::Exit {
    let mut lost = false;
    loop {
        runner.standing_by();
        let (name, ttl, poll) = runner.lease();
        // After a lost lease, the lease is left to whoever took it over.
        let Some(lease) = acquire(runner, store, &name, ttl, poll, lost).await else {
            return runner.stopped();
        };
        lost = false;
        match runner.active(lease).await {
            Stretched::Ended(exit) => return exit,
            Stretched::LeaseLost => lost = true,
            Stretched::Unavailable => tokio::time::sleep(poll).await,
        }
    }
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
