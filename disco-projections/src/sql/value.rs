//! [`SqlValue`]: a parameter or a column value, in the types SQLite and
//! PostgreSQL share.

/// A value bound to a parameter or read from a column.
#[derive(Clone, Debug, PartialEq)]
pub enum SqlValue {
    /// SQL `NULL`.
    Null,
    /// A whole number (`BIGINT`; SQLite's `INTEGER`).
    Integer(i64),
    /// A number with a fraction (`DOUBLE PRECISION`; SQLite's `REAL`).
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes (`BYTEA`; SQLite's `BLOB`).
    Blob(Vec<u8>),
    /// A boolean (PostgreSQL's `BOOLEAN`; SQLite stores 0 or 1).
    Bool(bool),
    /// A `u64` as given: bound as a whole number when it fits `BIGINT`;
    /// over `i64::MAX`, the statement is refused (the batch fails naming
    /// it). Never read back: a column's whole number is an `Integer`.
    Unsigned(u64),
}

impl SqlValue {
    /// The value as JSON: numbers, text, booleans and null as they are,
    /// bytes as an array of numbers.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            SqlValue::Null => serde_json::Value::Null,
            SqlValue::Integer(n) => (*n).into(),
            SqlValue::Real(x) => serde_json::Number::from_f64(*x)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            SqlValue::Text(s) => s.clone().into(),
            SqlValue::Blob(b) => b.clone().into(),
            SqlValue::Bool(b) => (*b).into(),
            SqlValue::Unsigned(n) => (*n).into(),
        }
    }

    /// The value to bind: an `Unsigned` as an `Integer`, or why it cannot
    /// be one.
    pub(crate) fn bindable(&self) -> Result<std::borrow::Cow<'_, SqlValue>, String> {
        match self {
            SqlValue::Unsigned(n) => i64::try_from(*n)
                .map(|n| std::borrow::Cow::Owned(SqlValue::Integer(n)))
                .map_err(|_| format!("{n} does not fit a SQL BIGINT (at most {})", i64::MAX)),
            other => Ok(std::borrow::Cow::Borrowed(other)),
        }
    }
}

impl From<u64> for SqlValue {
    fn from(n: u64) -> Self {
        SqlValue::Unsigned(n)
    }
}

impl From<usize> for SqlValue {
    fn from(n: usize) -> Self {
        SqlValue::Unsigned(u64::try_from(n).unwrap_or(u64::MAX))
    }
}

macro_rules! integer_from {
    ($($t:ty)*) => {
        $(impl From<$t> for SqlValue {
            fn from(n: $t) -> Self {
                SqlValue::Integer(i64::from(n))
            }
        })*
    };
}

integer_from!(i8 i16 i32 i64 u8 u16 u32);

impl From<f64> for SqlValue {
    fn from(x: f64) -> Self {
        SqlValue::Real(x)
    }
}

impl From<bool> for SqlValue {
    fn from(b: bool) -> Self {
        SqlValue::Bool(b)
    }
}

impl From<String> for SqlValue {
    fn from(s: String) -> Self {
        SqlValue::Text(s)
    }
}

impl From<&String> for SqlValue {
    fn from(s: &String) -> Self {
        SqlValue::Text(s.clone())
    }
}

impl From<&str> for SqlValue {
    fn from(s: &str) -> Self {
        SqlValue::Text(s.to_owned())
    }
}

impl From<Vec<u8>> for SqlValue {
    fn from(b: Vec<u8>) -> Self {
        SqlValue::Blob(b)
    }
}

impl From<uuid::Uuid> for SqlValue {
    fn from(id: uuid::Uuid) -> Self {
        SqlValue::Text(id.to_string())
    }
}

impl From<serde_json::Value> for SqlValue {
    /// JSON is stored as its text.
    fn from(value: serde_json::Value) -> Self {
        SqlValue::Text(value.to_string())
    }
}

impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(value: Option<T>) -> Self {
        value.map_or(SqlValue::Null, Into::into)
    }
}

impl From<disco_core::Timestamp> for SqlValue {
    /// Microseconds since the Unix epoch.
    fn from(at: disco_core::Timestamp) -> Self {
        SqlValue::Integer(at.as_micros())
    }
}
