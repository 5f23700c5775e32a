//! The SQL of the store, loaded from the .sql files beside this module with
//! the schema spliced in (quoted) once per store.

use crate::options::check_schema_name;
use disco_core::Result;
use sqlx::{AssertSqlSafe, SqlSafeStr, SqlStr};

macro_rules! statements {
    ($($name:ident = $file:literal;)*) => {
        /// Every statement, for one schema.
        pub(crate) struct Statements {
            $(pub $name: SqlStr,)*
        }

        impl Statements {
            /// The statements with `schema` spliced in. The schema name is the
            /// only text that is not a literal of ours, and it is validated to a
            /// plain lower-case identifier and quoted, so the SQL is safe.
            pub(crate) fn for_schema(schema: &str) -> Result<Statements> {
                check_schema_name(schema)?;
                let quoted = format!("\"{schema}\"");
                Ok(Statements {
                    $($name: AssertSqlSafe(include_str!(concat!("sql/", $file)).replace("__SCHEMA__", &quoted)).into_sql_str(),)*
                })
            }
        }
    };
}

statements! {
    create_schema = "create_schema.sql";
    drop_schema = "drop_schema.sql";
    drop_store = "drop_store.sql";
    schema_objects = "schema_objects.sql";
    schema_state = "schema_state.sql";
    migrations_table = "migrations_table.sql";
    record_migration = "record_migration.sql";
    migrations_checksum = "migrations_checksum.sql";
    applied_migrations = "applied_migrations.sql";
    backfill_checksum = "backfill_checksum.sql";
    advisory_lock = "advisory_lock.sql";
    read_head = "read_head.sql";
    keep_head = "keep_head.sql";
    lock_and_read = "lock_and_read.sql";
    write_batch = "write_batch.sql";
    append_fast = "append_fast.sql";
    read_stream_forward = "read_stream_forward.sql";
    read_stream_backward = "read_stream_backward.sql";
    read_all = "read_all.sql";
    read_all_filtered = "read_all_filtered.sql";
    read_all_backward = "read_all_backward.sql";
    stream_status = "stream_status.sql";
    list_streams = "list_streams.sql";
    upsert_stream_state = "upsert_stream_state.sql";
    delete_stream_events = "delete_stream_events.sql";
    delete_stream_tags = "delete_stream_tags.sql";
    query_by_tag = "query_by_tag.sql";
    query_by_type = "query_by_type.sql";
    query_all = "query_all.sql";
    delete_snapshot = "delete_snapshot.sql";
    save_snapshot = "save_snapshot.sql";
    load_snapshot = "load_snapshot.sql";
    load_stream = "load_stream.sql";
    save_checkpoint = "save_checkpoint.sql";
    load_checkpoint = "load_checkpoint.sql";
    list_checkpoints = "list_checkpoints.sql";
    try_lease = "try_lease.sql";
    release_lease = "release_lease.sql";
    take_lease_token = "take_lease_token.sql";
    save_checkpoint_fenced = "save_checkpoint_fenced.sql";
}

/// The migrations, in order: (version, SQL with `__SCHEMA__`).
/// (`build.rs` lists `migrations/`; adding a file adds the migration.)
pub(crate) const MIGRATIONS: &[(i32, &str)] = include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// The checksum of a migration file as shipped (FNV-1a over its text, with
/// the `__SCHEMA__` placeholder): recorded with each applied migration, and
/// compared on every open, so a shipped migration that was changed is
/// noticed instead of silently diverging.
pub(crate) fn checksum(sql: &str) -> String {
    disco_backend::checksum::hex(sql.as_bytes())
}

/// Every shipped migration's version and checksum, for tools and for the
/// test that shipped migrations never change.
pub fn migration_checksums() -> Vec<(i32, String)> {
    MIGRATIONS
        .iter()
        .map(|(version, sql)| (*version, checksum(sql)))
        .collect()
}

/// The schema version this library knows.
// Evaluated at compile time: an empty list fails the build, never a caller.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
pub const LATEST_SCHEMA_VERSION: i32 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// Advisory lock keys: one for migrations and one for writes, per schema.
pub(crate) fn lock_key(schema: &str, purpose: &str) -> i64 {
    // FNV-1a, stable across processes and versions (unlike Rust's hasher).
    disco_backend::checksum::fnv1a(format!("disco:{purpose}:{schema}").as_bytes()) as i64
}

/// The two int4 keys of a consumer lease: the store's and the consumer's.
pub(crate) fn lease_keys(schema: &str, name: &str) -> (i32, i32) {
    // Folding the 64-bit hashes keeps every bit's influence.
    let fold = |h: i64| ((h >> 32) ^ h) as i32;
    (
        fold(lock_key(schema, "lease-store")),
        fold(lock_key(name, "lease-name")),
    )
}

/// The LISTEN/NOTIFY channel of a schema.
pub(crate) fn channel(schema: &str) -> String {
    format!("disco_{schema}")
}
