//! Consumer leases in PostgreSQL: a session advisory lock held on a
//! connection of its own (not one of the pool's, which would return to the
//! pool still holding it). Every process sharing the schema competes for the
//! same key; when the holder dies its connection closes and the server drops
//! the lock at once, so a standby takes over on its next try.
//!
//! Two different consumer names could share a key if their 32-bit hashes
//! collide; they would then take turns rather than run together. Nothing is
//! lost that way, and with a handful of consumers per store it is unlikely.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use disco_core::lease::Lease;
use disco_core::{Error, Result};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::Connection;

use crate::errors::db_error;
use crate::sql::{lease_keys, Statements};

/// A lease held through its own connection.
pub(crate) struct PgLease {
    name: String,
    keys: (i32, i32),
    conn: PgConnection,
    statements: Arc<Statements>,
}

impl std::fmt::Debug for PgLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgLease").field("name", &self.name).finish()
    }
}

impl PgLease {
    /// Opens a connection and tries the lock; the connection closes again
    /// when the lock is taken by another.
    pub(crate) async fn take(
        connect: &PgConnectOptions,
        timeout: Duration,
        statements: Arc<Statements>,
        schema: &str,
        name: &str,
    ) -> Result<Option<Self>> {
        let mut conn = tokio::time::timeout(timeout, PgConnection::connect_with(connect))
            .await
            .map_err(|_| {
                Error::Unavailable(format!("PostgreSQL did not answer within {timeout:?}"))
            })?
            .map_err(db_error)?;
        let keys = lease_keys(schema, name);
        let taken: bool = sqlx::query_scalar(statements.try_lease.clone())
            .bind(keys.0)
            .bind(keys.1)
            .fetch_one(&mut conn)
            .await
            .map_err(db_error)?;
        if !taken {
            let _ = conn.close().await;
            return Ok(None);
        }
        Ok(Some(PgLease {
            name: name.to_owned(),
            keys,
            conn,
            statements,
        }))
    }
}

#[async_trait]
impl Lease for PgLease {
    fn name(&self) -> &str {
        &self.name
    }

    async fn renew(&mut self) -> Result<bool> {
        let alive = sqlx::query(self.statements.lease_alive.clone())
            .execute(&mut self.conn)
            .await;
        match alive {
            Ok(_) => Ok(true),
            // A failed round trip means the connection, and with it the
            // lock, may be gone: treat the lease as lost.
            Err(error) => {
                tracing::warn!(lease = %self.name, %error, "lease connection lost");
                Ok(false)
            }
        }
    }

    async fn release(mut self: Box<Self>) -> Result<()> {
        let unlocked = sqlx::query(self.statements.release_lease.clone())
            .bind(self.keys.0)
            .bind(self.keys.1)
            .execute(&mut self.conn)
            .await
            .map(|_| ())
            .map_err(db_error);
        // Closing ends the lock even if the unlock failed.
        let closed = self.conn.close().await.map_err(db_error);
        unlocked.and(closed)
    }
}
