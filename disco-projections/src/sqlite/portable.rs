//! Portable projections ([`SqlProjection`], [`DocumentProjection`]) and
//! portable queries on SQLite: statements run with `$N` parameters bound
//! by name.

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{OptionalExtension, Statement, ToSql, Transaction};

use super::SqliteProjection;
use crate::definition::Tables;
use crate::sql::{
    parameter_number, render, DocumentProjection, Documents, Portable, Row, SqlProjection,
    SqlValue, Statements, DOCUMENT_TABLE_SQL,
};
use crate::HandlerError;
use disco_cqrs::Envelope;

impl<P: SqlProjection> SqliteProjection for Portable<P> {
    fn setup(&self, tx: &Transaction<'_>, tables: &Tables) -> Result<(), HandlerError> {
        let mut sql = Statements::new();
        self.0.setup(&mut sql);
        run_all(tx, tables, sql)
    }

    fn apply(
        &self,
        tx: &Transaction<'_>,
        tables: &Tables,
        event: Envelope<Self::Event>,
    ) -> Result<(), HandlerError> {
        let mut sql = Statements::new();
        self.0.apply(event, &mut sql)?;
        run_all(tx, tables, sql)
    }
}

impl<P: DocumentProjection> SqliteProjection for Documents<P> {
    fn setup(&self, tx: &Transaction<'_>, tables: &Tables) -> Result<(), HandlerError> {
        let table = Self::table(tables)?;
        tx.execute_batch(&DOCUMENT_TABLE_SQL.replace("{table}", &table))?;
        Ok(())
    }

    fn apply(
        &self,
        tx: &Transaction<'_>,
        tables: &Tables,
        event: Envelope<Self::Event>,
    ) -> Result<(), HandlerError> {
        let Some(key) = self.0.key(&event) else {
            return Ok(());
        };
        let table = Self::table(tables)?;
        let stored: Option<String> = tx
            .prepare_cached(&format!("SELECT document FROM {table} WHERE id = ?1"))?
            .query_row([&key], |row| row.get(0))
            .optional()?;
        match self.next(stored, &event)? {
            Some(document) => tx
                .prepare_cached(&format!(
                    "INSERT INTO {table} (id, document) VALUES (?1, ?2) \
                     ON CONFLICT (id) DO UPDATE SET document = excluded.document"
                ))?
                .execute([&key, &document])?,
            None => tx
                .prepare_cached(&format!("DELETE FROM {table} WHERE id = ?1"))?
                .execute([&key])?,
        };
        Ok(())
    }
}

/// Runs `sql`, in order, in `tx`.
fn run_all(tx: &Transaction<'_>, tables: &Tables, mut sql: Statements) -> Result<(), HandlerError> {
    for statement in sql.take() {
        let text = render(&statement.sql, tables)?;
        let mut prepared = tx.prepare_cached(&text)?;
        bind(&mut prepared, &statement.args)?;
        prepared.raw_execute()?;
    }
    Ok(())
}

/// Binds `args` to the `$N` parameters of `statement`; every parameter
/// must be a `$N` with a value, and every value must be used.
pub(crate) fn bind(statement: &mut Statement<'_>, args: &[SqlValue]) -> Result<(), HandlerError> {
    let mut used = 0usize;
    for index in 1..=statement.parameter_count() {
        let name = statement.parameter_name(index).unwrap_or("?");
        let number = parameter_number(name).ok_or_else(|| {
            format!("parameter {name} of a portable statement is not $1, $2, ...")
        })?;
        let value = number
            .checked_sub(1)
            .and_then(|i| args.get(i))
            .ok_or_else(|| format!("${number} has no value ({} given)", args.len()))?;
        statement.raw_bind_parameter(index, Bound(&*value.bindable()?))?;
        used = used.max(number);
    }
    if used < args.len() {
        return Err(format!(
            "{} values given to a statement that uses {used}",
            args.len()
        )
        .into());
    }
    Ok(())
}

/// A value as rusqlite binds it.
struct Bound<'a>(&'a SqlValue);

impl ToSql for Bound<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            SqlValue::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            SqlValue::Integer(n) => ToSqlOutput::from(*n),
            SqlValue::Real(x) => ToSqlOutput::from(*x),
            SqlValue::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            SqlValue::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            SqlValue::Bool(b) => ToSqlOutput::from(*b),
            // Made an Integer by `bindable` before binding.
            SqlValue::Unsigned(n) => ToSqlOutput::from(i64::try_from(*n).unwrap_or(i64::MAX)),
        })
    }
}

/// Runs the query `sql` (with `$N` parameters) and reads every row.
pub(crate) fn query(
    conn: &rusqlite::Connection,
    sql: &str,
    args: &[SqlValue],
) -> Result<Vec<Row>, HandlerError> {
    let mut statement = conn.prepare_cached(sql)?;
    bind(&mut statement, args)?;
    let columns: Vec<String> = statement
        .column_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut rows = statement.raw_query();
    let mut all = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(columns.len());
        for index in 0..columns.len() {
            values.push(match row.get_ref(index)? {
                ValueRef::Null => SqlValue::Null,
                ValueRef::Integer(n) => SqlValue::Integer(n),
                ValueRef::Real(x) => SqlValue::Real(x),
                ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => SqlValue::Blob(b.to_vec()),
            });
        }
        all.push(Row::new(columns.clone(), values));
    }
    Ok(all)
}
