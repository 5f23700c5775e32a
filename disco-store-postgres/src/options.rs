//! [`PgOptions`]: how a PostgreSQL store connects and behaves.

use std::time::Duration;

use disco_core::{Error, Limits, Result};

/// Options of [`PostgresStore::connect`](crate::PostgresStore::connect).
///
/// ```
/// use std::time::Duration;
/// use disco::postgres::PgOptions;
/// let options = PgOptions::default()
///     .schema("tenant_42")
///     .pool_size(20)
///     .connect_timeout(Duration::from_secs(2));
/// assert_eq!(options.schema, "tenant_42");
/// ```
#[derive(Clone, Debug)]
pub struct PgOptions {
    /// The schema holding every object of the store; `disco` by default. One
    /// database holds as many independent stores as schemas.
    pub schema: String,
    /// Connections in the pool; 10 by default.
    pub pool_size: u32,
    /// How long connecting (or waiting for a pooled connection) may take
    /// before a call fails with `Unavailable`; 5 s by default.
    pub connect_timeout: Duration,
    /// Input limits (maximum event size, 16 MiB by default).
    pub limits: Limits,
    /// How often readers poll the head besides LISTEN/NOTIFY (the fallback
    /// when a notification is lost); 1 s by default.
    pub poll_interval: Duration,
    /// Whether `delete_stream` may delete hard (remove events for good);
    /// false by default, so a hard delete is an explicit decision.
    pub allow_hard_delete: bool,
    /// Whether `connect` applies pending migrations (and may create the
    /// store); true by default. Teams with their own migration tool set it to
    /// false and apply the files; then a schema that is not at this library's
    /// version is refused and nothing is written.
    pub migrate_on_connect: bool,
    /// Whether `connect` may create the store (the schema if missing, disco's
    /// tables in an empty one); true by default. Off, a schema without a
    /// store is [`Error::NoStore`](disco_core::Error::NoStore).
    pub create_if_missing: bool,
    /// Whether disco may install its tables in a schema that already holds
    /// other objects; false by default, so a schema named by mistake (the
    /// application's own, `public` with its tables) is refused with
    /// [`Error::Foreign`](disco_core::Error::Foreign). Sharing a database
    /// needs nothing: disco keeps to its own schema.
    pub share_schema: bool,
    /// The most appends the writer commits in one transaction; 1000 by default.
    pub max_batch: usize,
    /// How long the writer may wait to fill a group commit when the previous
    /// batch showed concurrent appenders; 200 µs by default.
    pub group_commit_delay: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            schema: "disco".into(),
            pool_size: 10,
            connect_timeout: Duration::from_secs(5),
            limits: Limits::default(),
            poll_interval: Duration::from_secs(1),
            allow_hard_delete: false,
            migrate_on_connect: true,
            create_if_missing: true,
            share_schema: false,
            max_batch: 1000,
            group_commit_delay: Duration::from_micros(200),
        }
    }
}

impl PgOptions {
    /// Sets the schema.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// Sets the pool size (at least 2: the writer and the listener take one each
    /// while they work).
    pub fn pool_size(mut self, size: u32) -> Self {
        self.pool_size = size.max(2);
        self
    }

    /// Sets the connect timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the maximum event size (data plus metadata, in bytes).
    pub fn max_event_size(mut self, bytes: usize) -> Self {
        self.limits = self.limits.with_max_event_size(bytes);
        self
    }

    /// Sets the poll interval of the notification fallback.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Allows or forbids hard deletes.
    pub fn allow_hard_delete(mut self, allow: bool) -> Self {
        self.allow_hard_delete = allow;
        self
    }

    /// Sets whether `connect` migrates.
    pub fn migrate_on_connect(mut self, migrate: bool) -> Self {
        self.migrate_on_connect = migrate;
        self
    }

    /// Sets whether `connect` may create the store.
    pub fn create_if_missing(mut self, create: bool) -> Self {
        self.create_if_missing = create;
        self
    }

    /// Sets whether disco may install its tables beside other objects.
    pub fn share_schema(mut self, share: bool) -> Self {
        self.share_schema = share;
        self
    }

    /// Options that open an existing store as it is: nothing created,
    /// nothing migrated (what read-only tools use).
    pub fn existing_only(self) -> Self {
        self.create_if_missing(false).migrate_on_connect(false)
    }

    /// Sets the largest group-commit batch (at least 1).
    pub fn max_batch(mut self, appends: usize) -> Self {
        self.max_batch = appends.max(1);
        self
    }

    /// Sets the longest wait for a group commit to fill.
    pub fn group_commit_delay(mut self, delay: Duration) -> Self {
        self.group_commit_delay = delay;
        self
    }
}

/// Checks a schema name: 1 to 63 bytes of lower-case ASCII letters, digits
/// and underscores, not starting with a digit, and not `pg_`-prefixed. It is
/// the one identifier spliced into SQL (always double-quoted), so it is held
/// to the strictest form.
pub fn check_schema_name(schema: &str) -> Result<()> {
    let valid = !schema.is_empty()
        && schema.len() <= 63
        && !schema.starts_with("pg_")
        && !schema.starts_with(|c: char| c.is_ascii_digit())
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "schema name {schema:?} must be 1 to 63 lower-case letters, digits or underscores, not starting with a digit or pg_"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::check_schema_name;

    #[test]
    fn schema_names_are_plain_identifiers() {
        for good in ["disco", "tenant_42", "_x"] {
            assert!(check_schema_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Disco",
            "1abc",
            "pg_catalog",
            "a-b",
            "a\"b",
            "a;drop",
            &"a".repeat(64),
        ] {
            assert!(check_schema_name(bad).is_err(), "{bad}");
        }
    }
}
