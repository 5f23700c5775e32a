//! Portable projections ([`SqlProjection`], [`DocumentProjection`]) and
//! portable queries on PostgreSQL: statements run with their `$N`
//! parameters bound in order.

use async_trait::async_trait;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::types::Oid;
use sqlx::postgres::{PgArgumentBuffer, PgArguments, PgRow, PgTypeInfo};
use sqlx::query::Query;
use sqlx::{Column, Encode, Postgres, Row as _, Type, TypeInfo, ValueRef};

use super::{PgProjection, PgTransaction};
use crate::definition::Tables;
use crate::sql::{
    check_arity, render, DocumentProjection, Documents, Portable, Row, SqlProjection, SqlValue,
    Statements, DOCUMENT_TABLE_SQL,
};
use crate::HandlerError;
use disco_cqrs::Envelope;

#[async_trait]
impl<P: SqlProjection> PgProjection for Portable<P> {
    async fn setup(&self, tx: &mut PgTransaction, tables: &Tables) -> Result<(), HandlerError> {
        let mut sql = Statements::new();
        self.0.setup(&mut sql);
        run_all(tx, tables, sql).await
    }

    async fn apply(
        &self,
        tx: &mut PgTransaction,
        tables: &Tables,
        event: Envelope<Self::Event>,
    ) -> Result<(), HandlerError> {
        let mut sql = Statements::new();
        self.0.apply(event, &mut sql)?;
        run_all(tx, tables, sql).await
    }
}

#[async_trait]
impl<P: DocumentProjection> PgProjection for Documents<P> {
    async fn setup(&self, tx: &mut PgTransaction, tables: &Tables) -> Result<(), HandlerError> {
        let table = Self::table(tables)?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(
            DOCUMENT_TABLE_SQL.replace("{table}", &table),
        ))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn apply(
        &self,
        tx: &mut PgTransaction,
        tables: &Tables,
        event: Envelope<Self::Event>,
    ) -> Result<(), HandlerError> {
        let Some(key) = self.0.key(&event) else {
            return Ok(());
        };
        let table = Self::table(tables)?;
        let stored: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT document FROM {table} WHERE id = $1"
        )))
        .bind(&key)
        .fetch_optional(&mut **tx)
        .await?;
        match self.next(stored, &event)? {
            Some(document) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO {table} (id, document) VALUES ($1, $2) \
                     ON CONFLICT (id) DO UPDATE SET document = excluded.document"
                )))
                .bind(&key)
                .bind(document)
                .execute(&mut **tx)
                .await?
            }
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE id = $1"
                )))
                .bind(&key)
                .execute(&mut **tx)
                .await?
            }
        };
        Ok(())
    }
}

/// Runs `sql`, in order, in `tx`.
async fn run_all(
    tx: &mut PgTransaction,
    tables: &Tables,
    mut sql: Statements,
) -> Result<(), HandlerError> {
    for statement in sql.take() {
        let text = render(&statement.sql, tables)?;
        check_arity(&text, statement.args.len())?;
        bound(sqlx::query(sqlx::AssertSqlSafe(text)), &statement.args)?
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// `query` with `args` bound to `$1, $2, ...`.
pub(crate) fn bound<'q>(
    mut query: Query<'q, Postgres, PgArguments>,
    args: &[SqlValue],
) -> Result<Query<'q, Postgres, PgArguments>, HandlerError> {
    for value in args {
        query = match &*value.bindable()? {
            SqlValue::Null => query.bind(Null),
            SqlValue::Integer(n) => query.bind(*n),
            SqlValue::Real(x) => query.bind(*x),
            SqlValue::Text(s) => query.bind(s.clone()),
            SqlValue::Blob(b) => query.bind(b.clone()),
            SqlValue::Bool(b) => query.bind(*b),
            SqlValue::Unsigned(n) => query.bind(i64::try_from(*n)?),
        };
    }
    Ok(query)
}

/// SQL `NULL` of no declared type: the server takes the parameter's type
/// from where it stands, as it does for a literal `NULL` (a typed NULL
/// would be refused by a column of another type).
struct Null;

impl Type<Postgres> for Null {
    fn type_info() -> PgTypeInfo {
        // OID 0: unspecified, inferred by the server.
        PgTypeInfo::with_oid(Oid(0))
    }
}

impl Encode<'_, Postgres> for Null {
    fn encode_by_ref(&self, _: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        Ok(IsNull::Yes)
    }
}

/// Runs the query `sql` (with `$N` parameters) on `pool` and reads every
/// row; a column of a type with no portable value is refused, naming it.
pub(crate) async fn query(
    pool: &sqlx::PgPool,
    sql: &str,
    args: &[SqlValue],
) -> Result<Vec<Row>, HandlerError> {
    check_arity(sql, args.len())?;
    let rows = bound(sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())), args)?
        .fetch_all(pool)
        .await?;
    rows.iter().map(portable_row).collect()
}

pub(crate) fn portable_row(row: &PgRow) -> Result<Row, HandlerError> {
    let mut columns = Vec::with_capacity(row.len());
    let mut values = Vec::with_capacity(row.len());
    for column in row.columns() {
        let index = column.ordinal();
        let raw = row.try_get_raw(index)?;
        let value = if raw.is_null() {
            SqlValue::Null
        } else {
            match column.type_info().name() {
                "INT2" => SqlValue::Integer(i64::from(row.try_get::<i16, _>(index)?)),
                "INT4" => SqlValue::Integer(i64::from(row.try_get::<i32, _>(index)?)),
                "INT8" => SqlValue::Integer(row.try_get::<i64, _>(index)?),
                "FLOAT4" => SqlValue::Real(f64::from(row.try_get::<f32, _>(index)?)),
                "FLOAT8" => SqlValue::Real(row.try_get::<f64, _>(index)?),
                "BOOL" => SqlValue::Bool(row.try_get::<bool, _>(index)?),
                "BYTEA" => SqlValue::Blob(row.try_get::<Vec<u8>, _>(index)?),
                "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CHAR" => {
                    SqlValue::Text(row.try_get::<String, _>(index)?)
                }
                "UUID" => SqlValue::Text(row.try_get::<uuid::Uuid, _>(index)?.to_string()),
                other => {
                    return Err(format!(
                        "column {} is {other}, which has no portable value: cast it \
                         (::BIGINT, ::DOUBLE PRECISION or ::TEXT)",
                        column.name()
                    )
                    .into())
                }
            }
        };
        columns.push(column.name().to_owned());
        values.push(value);
    }
    Ok(Row::new(columns, values))
}
