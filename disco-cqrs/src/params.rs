//! [`Params`]: decoding and validating a command's or query's JSON
//! parameters field by field, collecting every message of every field.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use disco_core::Uuid;

use crate::field_errors::FieldErrors;

/// A command's or query's parameters while they are decoded. Each getter
/// records a message when its field is missing or malformed and returns
/// `None`; read every field before you combine them, so that all messages
/// are collected.
///
/// ```
/// use disco::cqrs::Params;
/// use serde_json::json;
///
/// let mut p = Params::new(json!({"user_id": "nope", "balance": -5}));
/// let user_id = p.uuid("user_id");
/// let balance = p.integer("balance");
/// if let Some(b) = balance { p.check("balance", b >= 0, "must be zero or more"); }
/// let errors = p.finish().unwrap_err();
/// assert_eq!(errors["user_id"], vec!["must be a valid UUID string"]);
/// assert_eq!(errors["balance"], vec!["must be zero or more"]);
/// # let _ = user_id;
/// ```
#[derive(Debug)]
pub struct Params {
    fields: Map<String, Value>,
    errors: FieldErrors,
}

impl Params {
    /// Parameters from a JSON value; anything but an object is an error on
    /// the field `""`.
    pub fn new(value: Value) -> Self {
        match value {
            Value::Object(fields) => Params {
                fields,
                errors: FieldErrors::new(),
            },
            Value::Null => Params {
                fields: Map::new(),
                errors: FieldErrors::new(),
            },
            _ => {
                let mut p = Params {
                    fields: Map::new(),
                    errors: FieldErrors::new(),
                };
                p.invalid("", "parameters must be a JSON object");
                p
            }
        }
    }

    /// Records `message` for `field`.
    pub fn invalid(&mut self, field: &str, message: impl Into<String>) {
        self.errors.add(field, message);
    }

    /// Records `message` for `field` unless `ok`; returns `ok`.
    pub fn check(&mut self, field: &str, ok: bool, message: &str) -> bool {
        if !ok {
            self.invalid(field, message);
        }
        ok
    }

    fn present(&mut self, field: &str) -> Option<&Value> {
        match self.fields.get(field) {
            None | Some(Value::Null) => {
                self.invalid(field, "is required");
                None
            }
            Some(_) => self.fields.get(field),
        }
    }

    /// A required field of any serde type; `expected` names the shape in
    /// the message ("must be {expected}").
    pub fn required<T: DeserializeOwned>(&mut self, field: &str, expected: &str) -> Option<T> {
        let value = self.present(field)?.clone();
        match serde_json::from_value(value) {
            Ok(v) => Some(v),
            Err(_) => {
                self.invalid(field, format!("must be {expected}"));
                None
            }
        }
    }

    /// An optional field: `Some(None)` when absent or null, `None` when
    /// malformed.
    pub fn optional<T: DeserializeOwned>(
        &mut self,
        field: &str,
        expected: &str,
    ) -> Option<Option<T>> {
        match self.fields.get(field) {
            None | Some(Value::Null) => Some(None),
            Some(_) => self.required(field, expected).map(Some),
        }
    }

    /// A required UUID given as a string.
    pub fn uuid(&mut self, field: &str) -> Option<Uuid> {
        let value = self.present(field)?;
        match value.as_str().map(Uuid::parse_str) {
            Some(Ok(id)) => Some(id),
            _ => {
                self.invalid(field, "must be a valid UUID string");
                None
            }
        }
    }

    /// A required aggregate id of `A`: a string that makes a valid stream
    /// id for it, else a message on `field` (the stream's name is internal
    /// and never shown).
    pub fn aggregate_id<A: crate::Aggregate>(&mut self, field: &str) -> Option<String> {
        let id = self.string(field)?;
        match aggregate_id_problem::<A>(&id) {
            None => Some(id),
            Some(problem) => {
                self.invalid(field, problem);
                None
            }
        }
    }

    /// The name of a field whose value is the string `value`, if one is.
    pub(crate) fn field_holding(&self, value: &str) -> Option<String> {
        self.fields
            .iter()
            .find(|(_, v)| v.as_str() == Some(value))
            .map(|(k, _)| k.clone())
    }

    /// A required non-empty string.
    pub fn string(&mut self, field: &str) -> Option<String> {
        let value = self.present(field)?;
        match value.as_str() {
            Some(s) if !s.trim().is_empty() => Some(s.to_owned()),
            Some(_) => {
                self.invalid(field, "must not be empty");
                None
            }
            None => {
                self.invalid(field, "must be a string");
                None
            }
        }
    }

    /// A required whole number, 0 or more (a negative number, a fraction
    /// or anything else gets "must be a whole number, 0 or more").
    ///
    /// ```
    /// use disco::cqrs::Params;
    /// let mut p = Params::new(serde_json::json!({"amount": -5, "days": 14}));
    /// assert_eq!((p.unsigned("amount"), p.unsigned("days")), (None, Some(14)));
    /// assert_eq!(p.finish().unwrap_err()["amount"], vec!["must be a whole number, 0 or more"]);
    /// ```
    pub fn unsigned(&mut self, field: &str) -> Option<u64> {
        let value = self.present(field)?;
        match value.as_u64() {
            Some(n) => Some(n),
            None => {
                self.invalid(field, "must be a whole number, 0 or more");
                None
            }
        }
    }

    /// A required whole number.
    pub fn integer(&mut self, field: &str) -> Option<i64> {
        let value = self.present(field)?;
        match value.as_i64() {
            Some(n) => Some(n),
            None => {
                self.invalid(field, "must be a whole number");
                None
            }
        }
    }

    /// The field errors so far (empty when none).
    pub fn errors(&self) -> &FieldErrors {
        &self.errors
    }

    /// `Ok` when no field had a problem, else every message.
    pub fn finish(self) -> Result<(), FieldErrors> {
        self.errors.into_result()
    }
}

/// Why `id` cannot be an id of aggregate `A`, in the caller's terms.
pub(crate) fn aggregate_id_problem<A: crate::Aggregate>(id: &str) -> Option<String> {
    id_problem(A::NAME, id)
}

/// Why `id` makes no valid stream id `"{name}-{id}"`, if it does not.
pub(crate) fn id_problem(name: &str, id: &str) -> Option<String> {
    let max = disco_core::MAX_STREAM_ID_LEN.saturating_sub(name.len().saturating_add(1));
    if id.is_empty() {
        Some("must not be empty".into())
    } else if id.len() > max {
        Some(format!("must be at most {max} bytes long"))
    } else if id.chars().any(char::is_control) {
        Some("must not hold control characters".into())
    } else {
        None
    }
}

/// Whether `params`, written as JSON, fit in `limit` bytes; their problem
/// (on `""`) when they do not. Counting stops at the limit, so a huge value
/// costs no more than `limit` bytes' worth of writing.
pub(crate) fn oversized(params: &Value, limit: usize) -> Option<FieldErrors> {
    struct Counting {
        written: usize,
        limit: usize,
    }
    impl std::io::Write for Counting {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.written = self.written.saturating_add(bytes.len());
            if self.written > self.limit {
                return Err(std::io::Error::other("over the limit"));
            }
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counting = Counting { written: 0, limit };
    match serde_json::to_writer(&mut counting, params) {
        Ok(()) => None,
        Err(_) => {
            let mut errors = FieldErrors::new();
            errors.add(
                "",
                format!("the parameters are more than {limit} bytes of JSON, the most accepted"),
            );
            Some(errors)
        }
    }
}
