//! Read models written once for every read-model database.
//!
//! A [`SqlProjection`] does not talk to a connection: for each event it
//! says which statements to run ([`Statements`]), in the subset of SQL that
//! SQLite and PostgreSQL share, with `$1, $2, ...` for parameters and
//! `{table}` for its tables; the adapter runs them, in order, in the
//! batch's transaction, with the same exactly-once, blue-green and
//! partitioning guarantees as a projection written for one database. A
//! [`DocumentProjection`] keeps one serde value per key, for the read
//! models that are "the latest state of X". Queries read through the same
//! subset ([`Row`], and the facade's `ReadModelDb::query`).
//!
//! What the two databases share, and what to write:
//! - types: `TEXT`, `BIGINT` (SQLite reads it as an integer), `DOUBLE
//!   PRECISION`, `BLOB`/`BYTEA` differ (keep bytes as hex `TEXT`), booleans
//!   as `BIGINT` 0/1;
//! - upserts: `INSERT ... ON CONFLICT (key) DO UPDATE SET col = {t}.col +
//!   excluded.col` (name the table before a column inside the update);
//! - parameters: `$1, $2, ...` (each number once or more, any order).

// What runs the statements is in the adapters: with neither, only the
// types are used.
#![cfg_attr(
    not(any(feature = "sqlite", feature = "postgres")),
    allow(dead_code, unused_imports)
)]

mod document;
mod projection;
mod rows;
mod text;
mod value;

pub use document::{DocumentProjection, Documents, DOCUMENT_TABLE_SQL};
pub use projection::{Portable, SqlProjection};
pub use rows::Row;
#[cfg(feature = "postgres")]
pub(crate) use text::check_arity;
#[cfg(feature = "sqlite")]
pub(crate) use text::parameter_number;
pub(crate) use text::render;
pub use value::SqlValue;

use std::borrow::Cow;

/// One statement: SQL in the shared subset, and its parameters' values
/// (`$1` is the first).
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    /// The SQL, with `{table}` for the projection's tables.
    pub sql: Cow<'static, str>,
    /// The values of `$1, $2, ...`.
    pub args: Vec<SqlValue>,
}

/// The statements a [`SqlProjection`] decides for one event (or for its
/// tables), run in order in the batch's transaction.
///
/// ```
/// use disco::projections::sql::{Statements, SqlValue};
/// use disco::projections::args;
/// let mut sql = Statements::new();
/// sql.run("UPDATE {totals} SET total = total + $2 WHERE id = $1", args!["a", 5]);
/// assert_eq!(sql.len(), 1);
/// assert_eq!(sql.iter().next().unwrap().args, vec![SqlValue::from("a"), SqlValue::Integer(5)]);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Statements {
    list: Vec<Statement>,
}

impl Statements {
    /// None yet.
    pub fn new() -> Self {
        Statements::default()
    }

    /// Adds `sql` with the values of its parameters ([`args!`](crate::args)).
    pub fn run(&mut self, sql: impl Into<Cow<'static, str>>, args: Vec<SqlValue>) -> &mut Self {
        self.list.push(Statement {
            sql: sql.into(),
            args,
        });
        self
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Each, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Statement> {
        self.list.iter()
    }

    pub(crate) fn take(&mut self) -> Vec<Statement> {
        std::mem::take(&mut self.list)
    }
}

/// The values of a statement's parameters, each converted with
/// [`SqlValue::from`]: `args![id, amount]`.
#[macro_export]
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        vec![$($crate::sql::SqlValue::from($value)),*]
    };
}
