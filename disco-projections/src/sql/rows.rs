//! [`Row`]: one row a portable query read, by column name, and as any
//! serde type.

use serde::de::DeserializeOwned;

use super::SqlValue;
use crate::error::ProjectionError;

/// One row of a query's answer.
///
/// ```
/// use disco::projections::sql::{Row, SqlValue};
/// #[derive(serde::Deserialize, Debug, PartialEq)]
/// struct Balance { account_id: String, balance: i64 }
/// let row = Row::new(
///     vec!["account_id".into(), "balance".into()],
///     vec![SqlValue::Text("a".into()), SqlValue::Integer(7)],
/// );
/// assert_eq!(row.get("balance"), Some(&SqlValue::Integer(7)));
/// assert_eq!(row.decode::<Balance>().unwrap(), Balance { account_id: "a".into(), balance: 7 });
/// assert_eq!(row.first::<i64>().unwrap(), None); // the first column is text
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    columns: Vec<String>,
    values: Vec<SqlValue>,
}

impl Row {
    /// A row of `values` under `columns`.
    pub fn new(columns: Vec<String>, values: Vec<SqlValue>) -> Self {
        Row { columns, values }
    }

    /// The value of `column`.
    pub fn get(&self, column: &str) -> Option<&SqlValue> {
        let index = self.columns.iter().position(|c| c == column)?;
        self.values.get(index)
    }

    /// The columns' names, in order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The values, in order.
    pub fn values(&self) -> &[SqlValue] {
        &self.values
    }

    /// The row as `T`, read from an object of its columns by name.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, ProjectionError> {
        let object: serde_json::Map<String, serde_json::Value> = self
            .columns
            .iter()
            .cloned()
            .zip(self.values.iter().map(SqlValue::to_json))
            .collect();
        serde_json::from_value(serde_json::Value::Object(object)).map_err(|e| {
            ProjectionError::ReadModel(format!("a row does not decode as the type asked: {e}"))
        })
    }

    /// The first column as `T`; `None` when it is NULL or not a `T`.
    pub fn first<T: DeserializeOwned>(&self) -> Result<Option<T>, ProjectionError> {
        match self.values.first() {
            None | Some(SqlValue::Null) => Ok(None),
            Some(value) => Ok(serde_json::from_value(value.to_json()).ok()),
        }
    }
}
