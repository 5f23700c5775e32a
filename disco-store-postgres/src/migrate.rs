//! Versioned migrations, and the decisions of what an open, a migration and
//! a drop may do with what they find in the schema.
//!
//! Migrations are applied in one transaction under an advisory lock, so
//! several processes migrating at once is safe. What an open does (the same
//! table is in the crate's README):
//!
//! | found in the schema | default connect | `create_if_missing(false)` | `migrate_on_connect(false)` |
//! |---|---|---|---|
//! | no such schema | creates it (marked as disco's) and the store | `NoStore` | `NoStore` |
//! | an empty schema (`public` included) | creates the store in it | `NoStore` | `NoStore` |
//! | a schema with other objects and no store | `Foreign`, unless `share_schema(true)` | `Foreign` | `Foreign` |
//! | a store of an older version | migrates | migrates | `IncompatibleSchema` |
//! | a store of this version | opens | opens | opens |
//! | a store of a newer version | `IncompatibleSchema` | same | same |
//!
//! Sharing a *database* with the application needs nothing: disco keeps to
//! its own schema. Sharing a *schema* is the explicit `share_schema` option.

use disco_core::{Error, Result};
use sqlx::{PgPool, Postgres, Transaction};

use crate::errors::db_error;
use crate::sql::{checksum, lock_key, Statements, LATEST_SCHEMA_VERSION, MIGRATIONS};

fn location(schema: &str) -> String {
    format!("PostgreSQL schema {schema}")
}

fn incompatible(schema: &str, found: i32) -> Error {
    Error::IncompatibleSchema {
        location: location(schema),
        found: found.max(0) as u64,
        supported: LATEST_SCHEMA_VERSION as u64,
    }
}

/// The refusal for a schema without a store: `NoStore` when it is empty
/// (or missing), `Foreign` listing what it holds otherwise.
fn no_store(schema: &str, objects: Vec<String>) -> Error {
    if objects.is_empty() {
        Error::NoStore {
            location: location(schema),
        }
    } else {
        Error::Foreign {
            location: location(schema),
            objects,
        }
    }
}

/// What is in a schema, read without writing.
pub(crate) struct Found {
    /// Whether the schema exists.
    pub exists: bool,
    /// Whether disco created it (its comment says so).
    pub created_by_disco: bool,
    /// The disco schema version, 0 if there is no store.
    pub version: i32,
    /// Every object in the schema (`table invoices`, ...).
    pub objects: Vec<String>,
    /// The applied migrations with their recorded checksums.
    pub applied: Vec<(i32, Option<String>)>,
}

/// Reads what is in `schema`, inside `tx`.
async fn inspect(
    tx: &mut Transaction<'_, Postgres>,
    st: &Statements,
    schema: &str,
) -> Result<Found> {
    let (exists, created_by_disco): (bool, bool) = sqlx::query_as(st.schema_state.clone())
        .bind(schema)
        .fetch_one(&mut **tx)
        .await
        .map_err(db_error)?;
    let objects: Vec<String> = sqlx::query_scalar(st.schema_objects.clone())
        .bind(schema)
        .fetch_all(&mut **tx)
        .await
        .map_err(db_error)?;
    let has_store = objects.iter().any(|o| o == "table disco_migrations");
    let applied: Vec<(i32, Option<String>)> = if has_store {
        sqlx::query_as(st.applied_migrations.clone())
            .fetch_all(&mut **tx)
            .await
            .map_err(db_error)?
    } else {
        Vec::new()
    };
    let version = applied.iter().map(|(v, _)| *v).max().unwrap_or(0);
    Ok(Found {
        exists,
        created_by_disco,
        version,
        objects,
        applied,
    })
}

/// What an open may do.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Allowed {
    pub create: bool,
    pub migrate: bool,
    pub share_schema: bool,
}

/// Opens the store in `schema` as `allowed` says (the table of the module
/// docs): creates, migrates, or only checks. Returns the schema version.
pub(crate) async fn open(
    pool: &PgPool,
    st: &Statements,
    schema: &str,
    allowed: Allowed,
) -> Result<i32> {
    let mut tx = pool.begin().await.map_err(db_error)?;
    sqlx::query(st.advisory_lock.clone())
        .bind(lock_key(schema, "migrate"))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    let found = inspect(&mut tx, st, schema).await?;
    if found.version > LATEST_SCHEMA_VERSION {
        return Err(incompatible(schema, found.version));
    }
    check_checksums(schema, &found.applied)?;
    if found.version == LATEST_SCHEMA_VERSION {
        return Ok(found.version);
    }
    if found.version > 0 {
        if !allowed.migrate {
            return Err(incompatible(schema, found.version));
        }
        sqlx::query(st.migrations_checksum.clone())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v <= found.version) {
            sqlx::query(st.backfill_checksum.clone())
                .bind(*version)
                .bind(checksum(sql))
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
    } else {
        if !allowed.create || !allowed.migrate {
            return Err(no_store(schema, found.objects));
        }
        // Invariant: disco installs its tables beside other objects only when told to.
        if !found.objects.is_empty() && !allowed.share_schema {
            let mut objects = found.objects;
            objects.push(
                "(connect with PgOptions::share_schema(true) to keep disco's tables beside them, or use a schema of its own)".into(),
            );
            return Err(Error::Foreign {
                location: location(schema),
                objects,
            });
        }
        if !found.exists {
            sqlx::raw_sql(st.create_schema.clone())
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        sqlx::query(st.migrations_table.clone())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
    }
    let quoted = format!("\"{schema}\"");
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > found.version) {
        // Our migration file with the validated, quoted schema name spliced in.
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.replace("__SCHEMA__", &quoted)))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        sqlx::query(st.record_migration.clone())
            .bind(*version)
            .bind(checksum(sql))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tracing::info!(schema, version, "applied disco migration");
    }
    tx.commit().await.map_err(db_error)?;
    Ok(LATEST_SCHEMA_VERSION)
}

/// Refuses a store in which a migration was applied whose recorded checksum
/// differs from the file this library ships under that version.
fn check_checksums(schema: &str, applied: &[(i32, Option<String>)]) -> Result<()> {
    for (version, recorded) in applied {
        let shipped = MIGRATIONS.iter().find(|(v, _)| v == version);
        if let (Some(recorded), Some((_, sql))) = (recorded, shipped) {
            // Invariant: a shipped migration never changes; a store that ran another text is refused.
            if *recorded != checksum(sql) {
                return Err(Error::Backend(format!(
                    "schema {schema}: migration {version} was applied with checksum {recorded}, but this disco ships it with checksum {}; the migration file changed after it shipped",
                    checksum(sql)
                )));
            }
        }
    }
    Ok(())
}

/// The schema's version, 0 if it holds no store; refuses a newer one.
pub(crate) async fn schema_version(pool: &PgPool, st: &Statements, schema: &str) -> Result<i32> {
    let mut tx = pool.begin().await.map_err(db_error)?;
    let found = inspect(&mut tx, st, schema).await?;
    tx.rollback().await.map_err(db_error)?;
    if found.version > LATEST_SCHEMA_VERSION {
        return Err(incompatible(schema, found.version));
    }
    Ok(found.version)
}

/// What dropping a store did (`drop_store`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dropped {
    /// disco's objects were dropped, then the schema, which disco had
    /// created and which held nothing else.
    Schema,
    /// disco's objects were dropped; the schema stays, with these objects
    /// (or empty, when disco did not create it).
    Objects {
        /// What is left in the schema.
        kept: Vec<String>,
    },
}

/// Drops exactly disco's objects in `schema`, then the schema itself if
/// disco created it and nothing else is in it; one transaction under the
/// migration lock. A schema with no store is refused ([`Error::NoStore`] or
/// [`Error::Foreign`] listing what is there) and left as it was.
pub(crate) async fn drop_store(pool: &PgPool, st: &Statements, schema: &str) -> Result<Dropped> {
    let mut tx = pool.begin().await.map_err(db_error)?;
    sqlx::query(st.advisory_lock.clone())
        .bind(lock_key(schema, "migrate"))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    let found = inspect(&mut tx, st, schema).await?;
    if found.version == 0 {
        return Err(no_store(schema, found.objects));
    }
    sqlx::raw_sql(st.drop_store.clone())
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    let kept: Vec<String> = sqlx::query_scalar(st.schema_objects.clone())
        .bind(schema)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
    // Invariant: the schema itself goes only if disco created it and nothing else is left in it.
    let dropped = if kept.is_empty() && found.created_by_disco {
        sqlx::query(st.drop_schema.clone())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        Dropped::Schema
    } else {
        Dropped::Objects { kept }
    };
    tx.commit().await.map_err(db_error)?;
    Ok(dropped)
}
