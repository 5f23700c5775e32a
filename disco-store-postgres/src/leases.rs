//! Consumer leases in PostgreSQL: a session advisory lock held on a
//! connection of its own (not one of the pool's, which would return to the
//! pool still holding it). Every process sharing the schema competes for the
//! same key; when the holder dies its connection closes and the server drops
//! the lock at once, so a standby takes over on its next try.
//!
//! The holder learns of the loss at once too: a task waits on the lease
//! connection for the next message from the server, which on an idle
//! connection comes only when the server ends it (`pg_terminate_backend`, a
//! restart, a shutdown) or the socket closes. The task then marks the lease
//! lost, and [`Lease::is_held`] turns false before the runner's next event.
//! A network partition that leaves the socket half-open is not seen this
//! way; the fencing token covers it (see `save_checkpoint_fenced.sql`).
//!
//! Each acquisition takes the next generation of the name from
//! `lease_generations`: the fencing token.
//!
//! Two different consumer names could share a lock key if their 32-bit hashes
//! collide; they would then take turns rather than run together. Nothing is
//! lost that way, and with a handful of consumers per store it is unlikely.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use disco_core::lease::Lease;
use disco_core::{Error, Result};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::PgPool;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::errors::{db_error, stored_u64};
use crate::sql::{lease_keys, Statements};

/// The `application_name` of a lease connection of `schema` (so an operator,
/// or a test, can find it in `pg_stat_activity`).
pub(crate) fn lease_application_name(schema: &str) -> String {
    format!("disco-lease:{schema}")
}

/// A lease held through its own connection, watched by a task.
pub(crate) struct PgLease {
    name: String,
    token: u64,
    lost: Arc<AtomicBool>,
    /// Sent (or dropped, which is the crash path) to end the watcher, which
    /// then closes the connection; `true` asks it to unlock first.
    end: Option<oneshot::Sender<bool>>,
    watcher: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for PgLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgLease")
            .field("name", &self.name)
            .field("token", &self.token)
            .finish()
    }
}

impl PgLease {
    /// Opens a connection and tries the lock; the connection closes again
    /// when the lock is taken by another.
    pub(crate) async fn take(
        connect: &PgConnectOptions,
        timeout: Duration,
        statements: &Statements,
        schema: &str,
        name: &str,
    ) -> Result<Option<Self>> {
        let connect = connect
            .clone()
            .application_name(&lease_application_name(schema));
        // A pool of one that never replaces its connection: the listener
        // must not reconnect behind the lock's back.
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .max_lifetime(None)
            .idle_timeout(None)
            .acquire_timeout(timeout)
            .connect_lazy_with(connect);
        let taken = tokio::time::timeout(timeout, Self::lock(&pool, statements, schema, name))
            .await
            .map_err(|_| {
                Error::Unavailable(format!(
                    "PostgreSQL is unreachable: it did not answer within {timeout:?}"
                ))
            })
            .and_then(|taken| taken);
        let (listener, token) = match taken {
            Ok(Some(taken)) => taken,
            Ok(None) => {
                pool.close().await;
                return Ok(None);
            }
            Err(error) => {
                pool.close().await;
                return Err(error);
            }
        };
        let lost = Arc::new(AtomicBool::new(false));
        let (end, ended) = oneshot::channel();
        let keys = lease_keys(schema, name);
        let watcher = tokio::spawn(watch(
            listener,
            pool,
            statements.release_lease.clone(),
            keys,
            lost.clone(),
            ended,
            name.to_owned(),
        ));
        Ok(Some(PgLease {
            name: name.to_owned(),
            token,
            lost,
            end: Some(end),
            watcher: Some(watcher),
        }))
    }

    /// Takes the lock and the next token on a fresh connection.
    async fn lock(
        pool: &PgPool,
        statements: &Statements,
        schema: &str,
        name: &str,
    ) -> Result<Option<(PgListener, u64)>> {
        let mut listener = PgListener::connect_with(pool).await.map_err(db_error)?;
        listener.ignore_pool_close_event(true);
        listener.eager_reconnect(false);
        let keys = lease_keys(schema, name);
        let taken: bool = sqlx::query_scalar(statements.try_lease.clone())
            .bind(keys.0)
            .bind(keys.1)
            .fetch_one(&mut listener)
            .await
            .map_err(db_error)?;
        if !taken {
            return Ok(None);
        }
        let token: i64 = sqlx::query_scalar(statements.take_lease_token.clone())
            .bind(name)
            .fetch_one(&mut listener)
            .await
            .map_err(db_error)?;
        Ok(Some((listener, stored_u64(token, "lease generation")?)))
    }
}

/// Waits until the lease connection dies (then marks the lease lost) or the
/// holder ends the lease; closes the connection either way, which ends the
/// lock on the server.
async fn watch(
    mut listener: PgListener,
    pool: PgPool,
    unlock: sqlx::SqlStr,
    keys: (i32, i32),
    lost: Arc<AtomicBool>,
    ended: oneshot::Receiver<bool>,
    name: String,
) {
    let died = async {
        // Nothing is LISTENed to: the only messages on this idle connection
        // are the server's notices, and its end.
        loop {
            match listener.try_recv().await {
                Ok(Some(_)) => continue,
                Ok(None) => return "the connection closed".to_owned(),
                Err(error) => return error.to_string(),
            }
        }
    };
    let outcome = tokio::select! {
        why = died => Err(why),
        release = ended => Ok(release.unwrap_or(false)),
    };
    match outcome {
        Err(why) => {
            lost.store(true, Ordering::Release);
            tracing::warn!(lease = %name, %why, "lease connection lost; the lease is gone");
        }
        Ok(true) => {
            if let Err(error) = sqlx::query(unlock)
                .bind(keys.0)
                .bind(keys.1)
                .execute(&mut listener)
                .await
            {
                tracing::warn!(lease = %name, %error, "unlocking the lease failed; closing its connection ends it");
            }
        }
        Ok(false) => {}
    }
    drop(listener);
    pool.close().await;
}

impl Drop for PgLease {
    fn drop(&mut self) {
        // Without a release (a crash): the watcher sees the sender gone and
        // closes the connection without unlocking; the server ends the lock.
        self.end.take();
    }
}

#[async_trait]
impl Lease for PgLease {
    fn name(&self) -> &str {
        &self.name
    }

    fn token(&self) -> u64 {
        self.token
    }

    fn is_held(&self) -> bool {
        !self.lost.load(Ordering::Acquire)
    }

    async fn renew(&mut self) -> Result<bool> {
        // The watcher sees the connection's end as it happens; a session lock
        // needs no extension.
        Ok(self.is_held())
    }

    async fn release(mut self: Box<Self>) -> Result<()> {
        if let Some(end) = self.end.take() {
            let _ = end.send(true);
        }
        if let Some(watcher) = self.watcher.take() {
            watcher
                .await
                .map_err(|e| Error::Backend(format!("the lease watcher failed: {e}")))?;
        }
        Ok(())
    }
}
