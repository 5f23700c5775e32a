//! [`FieldErrors`]: every message of every field of a command's or query's
//! parameters.

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};

use serde::Serialize;

/// Field name -> every message for that field (a problem with the
/// parameters as a whole is under `""`). It reads as the map it is
/// (`errors["amount"]`, `errors.len()`), serializes as a JSON object, and
/// has the two helpers a validation needs.
///
/// ```
/// use disco::cqrs::FieldErrors;
///
/// let mut errors = FieldErrors::new();
/// errors.add("to", "there is no account with this id");
/// errors.check("amount", -5 > 0, "must be greater than 0");
/// errors.check("from", true, "never recorded");
/// assert_eq!(errors["amount"], vec!["must be greater than 0"]);
/// assert_eq!(errors.len(), 2);
/// assert_eq!(
///     serde_json::to_value(&errors).unwrap(),
///     serde_json::json!({"amount": ["must be greater than 0"], "to": ["there is no account with this id"]})
/// );
/// assert_eq!(errors.to_string(), "amount: must be greater than 0; to: there is no account with this id");
/// assert!(errors.into_result().is_err());
/// assert!(FieldErrors::new().into_result().is_ok());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    /// No message yet.
    pub fn new() -> Self {
        FieldErrors(BTreeMap::new())
    }

    /// Records `message` for `field` (a message already there is not
    /// repeated).
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        let message = message.into();
        let messages = self.0.entry(field.to_owned()).or_default();
        if !messages.contains(&message) {
            messages.push(message);
        }
    }

    /// Records `message` for `field` unless `ok`; returns `ok`.
    pub fn check(&mut self, field: &str, ok: bool, message: &str) -> bool {
        if !ok {
            self.add(field, message);
        }
        ok
    }

    /// Adds every message of `other`.
    pub fn merge(&mut self, other: FieldErrors) {
        for (field, messages) in other {
            for message in messages {
                self.add(&field, message);
            }
        }
    }

    /// `Ok` when there is no message, else all of them.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

/// Every field's messages on one line: `field: first, second; other: ...`.
impl std::fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (field, messages)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{field}: {}", messages.join(", "))?;
        }
        Ok(())
    }
}

impl Deref for FieldErrors {
    type Target = BTreeMap<String, Vec<String>>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for FieldErrors {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl From<BTreeMap<String, Vec<String>>> for FieldErrors {
    fn from(map: BTreeMap<String, Vec<String>>) -> Self {
        FieldErrors(map)
    }
}

impl IntoIterator for FieldErrors {
    type Item = (String, Vec<String>);
    type IntoIter = std::collections::btree_map::IntoIter<String, Vec<String>>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a FieldErrors {
    type Item = (&'a String, &'a Vec<String>);
    type IntoIter = std::collections::btree_map::Iter<'a, String, Vec<String>>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
