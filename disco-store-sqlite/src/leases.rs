//! Consumer leases in SQLite: a row per name with an owner and an expiry.
//!
//! Every process opening the file shares the table, so one runner per
//! consumer name is active across them. A holder that dies stops renewing;
//! once `expires_at` has passed, another may take the row. Taking, renewing
//! and releasing run on the writer's connection, in order with other writes.

use std::time::Duration;

use async_trait::async_trait;
use disco_core::lease::Lease;
use disco_core::{Result, Timestamp, Uuid};
use rusqlite::{params, Connection};

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
        let taken = store
            .write(move |c| {
                let now = Timestamp::now().as_micros();
                changed(c, TAKE, params![key, owner.as_bytes(), expiry(ttl), now])
            })
            .await?;
        Ok(taken.then(|| SqliteLease {
            store: store.clone(),
            name: name.to_owned(),
            owner,
            ttl,
        }))
    }
}

#[async_trait]
impl Lease for SqliteLease {
    fn name(&self) -> &str {
        &self.name
    }

    async fn renew(&mut self) -> Result<bool> {
        let (name, owner, ttl) = (self.name.clone(), self.owner, self.ttl);
        self.store
            .write(move |c| changed(c, RENEW, params![name, owner.as_bytes(), expiry(ttl)]))
            .await
    }

    async fn release(self: Box<Self>) -> Result<()> {
        let (name, owner) = (self.name.clone(), self.owner);
        self.store
            .write(move |c| changed(c, RELEASE, params![name, owner.as_bytes()]))
            .await
            .map(|_| ())
    }
}
