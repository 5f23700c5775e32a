//! Versioned migrations: applied in one transaction under an advisory lock,
//! so several processes migrating at once is safe; a schema newer than this
//! library is refused.

use disco_core::{Error, Result};
use sqlx::PgPool;

use crate::errors::db_error;
use crate::sql::{lock_key, Statements, LATEST_SCHEMA_VERSION, MIGRATIONS};

fn newer(schema: &str, found: i32) -> Error {
    Error::Backend(format!(
        "schema {schema} is at version {found}, newer than this disco (version {LATEST_SCHEMA_VERSION}); upgrade disco"
    ))
}

/// Applies the pending migrations; returns the schema version after.
pub(crate) async fn migrate(pool: &PgPool, st: &Statements, schema: &str) -> Result<i32> {
    let mut tx = pool.begin().await.map_err(db_error)?;
    sqlx::query(st.advisory_lock.clone())
        .bind(lock_key(schema, "migrate"))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    sqlx::query(st.create_schema.clone())
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    sqlx::query(st.migrations_table.clone())
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    let current: i32 = sqlx::query_scalar(st.schema_version.clone())
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
    if current > LATEST_SCHEMA_VERSION {
        return Err(newer(schema, current));
    }
    let quoted = format!("\"{schema}\"");
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        // Our migration file with the validated, quoted schema name spliced in.
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.replace("__SCHEMA__", &quoted)))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        sqlx::query(st.record_migration.clone())
            .bind(*version)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tracing::info!(schema, version, "applied disco migration");
    }
    tx.commit().await.map_err(db_error)?;
    Ok(LATEST_SCHEMA_VERSION.max(current))
}

/// The schema's version, 0 if it has none; refuses a newer one.
pub(crate) async fn schema_version(pool: &PgPool, st: &Statements, schema: &str) -> Result<i32> {
    let exists: bool = sqlx::query_scalar(st.table_exists.clone())
        .bind(format!("\"{schema}\".disco_migrations"))
        .fetch_one(pool)
        .await
        .map_err(db_error)?;
    if !exists {
        return Ok(0);
    }
    let found: i32 = sqlx::query_scalar(st.schema_version.clone())
        .fetch_one(pool)
        .await
        .map_err(db_error)?;
    if found > LATEST_SCHEMA_VERSION {
        return Err(newer(schema, found));
    }
    Ok(found)
}
