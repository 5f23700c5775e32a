//! Consumer leases in SQLite: a row per name with an owner and an expiry.
//!
//! Every process opening the file shares the table, so one runner per
//! consumer name is active across them. A holder that dies stops renewing;
//! once `expires_at` has passed, another may take the row. Taking, renewing
//! and releasing run on the writer's connection, in order with other writes.

use std::time::{Duration, Instant};

use disco_core::clock::deadline_after;

use async_trait::async_trait;
use disco_core::lease::Lease;
use disco_core::{Result, Timestamp, Uuid};
use rusqlite::{params, Connection, OptionalExtension};

use crate::errors::db_error;
use crate::SqliteStore;

const TAKE: &str = include_str!("sql/take_lease.sql");
const RENEW: &str = include_str!("sql/renew_lease.sql");
const RELEASE: &str = include_str!("sql/release_lease.sql");

/// A lease row held by this handle.
#[derive(Debug)]
pub(crate) struct SqliteLease {
    store: SqliteStore,
    name: String,
    owner: Uuid,
    ttl: Duration,
    token: u64,
    /// When the row expires by this process's clock, taken before the write
    /// that set the expiry (so never later than the row's own): a holder
    /// paused past it knows the lease is gone without asking.
    held_until: Instant,
}

fn expiry(ttl: Duration) -> i64 {
    let ttl = i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX);
    Timestamp::now().as_micros().saturating_add(ttl)
}

fn changed(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<bool> {
    conn.prepare_cached(sql)
        .and_then(|mut st| st.execute(params))
        .map(|rows| rows == 1)
        .map_err(db_error)
}

impl SqliteLease {
    /// Takes the lease `name` for `ttl` if it is free or expired.
    pub(crate) async fn take(
        store: &SqliteStore,
        name: &str,
        ttl: Duration,
    ) -> Result<Option<Self>> {
        let owner = Uuid::new_v4();
        let key = name.to_owned();
        let held_until = deadline_after(ttl);
        let taken: Option<i64> = store
            .write(move |c| {
                let now = Timestamp::now().as_micros();
                c.prepare_cached(TAKE)
                    .and_then(|mut st| {
                        st.query_row(params![key, owner.as_bytes(), expiry(ttl), now], |row| {
                            row.get(0)
                        })
                        .optional()
                    })
                    .map_err(db_error)
            })
            .await?;
        taken
            .map(|generation| {
                Ok(SqliteLease {
                    store: store.clone(),
                    name: name.to_owned(),
                    owner,
                    ttl,
                    token: disco_backend::stored_int::from_stored(generation, "lease generation")?,
                    held_until,
                })
            })
            .transpose()
    }
}

#[async_trait]
impl Lease for SqliteLease {
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
        let (name, owner, ttl) = (self.name.clone(), self.owner, self.ttl);
        let held_until = deadline_after(ttl);
        let renewed = self
            .store
            .write(move |c| changed(c, RENEW, params![name, owner.as_bytes(), expiry(ttl)]))
            .await?;
        if renewed {
            self.held_until = held_until;
        }
        Ok(renewed)
    }

    async fn release(self: Box<Self>) -> Result<()> {
        let (name, owner) = (self.name.clone(), self.owner);
        self.store
            .write(move |c| changed(c, RELEASE, params![name, owner.as_bytes()]))
            .await
            .map(|_| ())
    }
}
