//! [`decode_fields`]: a `serde::Deserialize` command read from JSON
//! parameters with every problem reported under its field, all fields
//! together, unknown fields refused.
//!
//! serde stops at the first error and ignores unknown fields. So the
//! parameters are fed to the type's `Deserialize` through a deserializer of
//! our own: it learns the struct's field names (serde hands them to
//! `deserialize_struct`), refuses the others, and records which field a
//! failure came from. A failed (or missing) field is then given a stand-in
//! value of a common shape and the decoding runs again, so the next bad
//! field is found too, until the type decodes or no stand-in fits.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::field_errors::FieldErrors;

/// The message for a field the command does not have.
pub const UNKNOWN_FIELD: &str = "is not a field of this command";

/// Decodes `params` (a JSON object) into `C`: every field's problem under
/// its name (`"is required"`, `"must be ..."`, [`UNKNOWN_FIELD`], or the
/// type's own message), all together; a problem with the whole (not an
/// object, not a struct) under `""`.
///
/// ```
/// use disco::cqrs::decode_fields;
/// use serde_json::json;
///
/// #[derive(serde::Deserialize)]
/// struct Open { owner: String, limit: u64 }
///
/// let errors = decode_fields::<Open>(json!({"limit": "lots", "colour": "red"})).err().unwrap();
/// assert_eq!(errors["owner"], vec!["is required"]);
/// assert_eq!(errors["limit"], vec!["must be a whole number, 0 or more"]);
/// assert_eq!(errors["colour"], vec!["is not a field of this command"]);
/// assert!(decode_fields::<Open>(json!({"owner": "ann", "limit": 3})).is_ok());
/// ```
pub fn decode_fields<C: DeserializeOwned>(params: Value) -> Result<C, FieldErrors> {
    let (decoded, decoding) = decode_leniently::<C>(params);
    match decoded {
        Some(command) if decoding.errors.is_empty() => Ok(command),
        _ => Err(decoding.errors),
    }
}

/// What [`decode_leniently`] found besides the value.
#[derive(Debug, Default)]
pub(crate) struct Decoding {
    /// Every field's problem, as [`decode_fields`] reports them.
    pub(crate) errors: FieldErrors,
    /// The fields that did not decode: each holds a stand-in in the value.
    pub(crate) stand_ins: BTreeSet<String>,
    /// The parameters the value decoded from (unknown fields dropped,
    /// stand-ins in place), to decode it again.
    pub(crate) filled: Map<String, Value>,
}

/// [`decode_fields`] that also answers a value when only some fields had
/// problems: each such field holds a stand-in of a fitting shape (listed
/// in [`Decoding::stand_ins`]), so checks of the other fields can run. No
/// value when no stand-in fits a field, or the parameters as a whole are
/// not what the type reads.
pub(crate) fn decode_leniently<C: DeserializeOwned>(params: Value) -> (Option<C>, Decoding) {
    let mut decoding = Decoding::default();
    let mut input = match params {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        _ => {
            decoding.errors.add("", "parameters must be a JSON object");
            return (None, decoding);
        }
    };
    let mut reported = BTreeSet::new();
    let mut tried: HashMap<String, usize> = HashMap::new();
    // Each round either ends or moves one field to its next stand-in, so
    // the rounds are bounded by fields x stand-ins.
    let rounds = input
        .len()
        .saturating_add(16)
        .saturating_mul(STAND_INS.len().saturating_add(1));
    for _ in 0..rounds {
        let recorder = Recorder::default();
        let result = C::deserialize(Top {
            map: input.clone(),
            recorder: &recorder,
        });
        if let Some(fields) = recorder.fields.take() {
            for key in input.keys() {
                if !fields.contains(&key.as_str()) && reported.insert(key.clone()) {
                    decoding.errors.add(key, UNKNOWN_FIELD);
                }
            }
            input.retain(|key, _| fields.contains(&key.as_str()));
        }
        let error = match result {
            Ok(command) => {
                decoding.stand_ins = tried.into_keys().collect();
                decoding.filled = input;
                return (Some(command), decoding);
            }
            Err(error) => error,
        };
        let (field, message) = match recorder.failed.take() {
            Some(failed) => failed,
            None => match missing_field(&error.to_string()) {
                Some(field) => (field, "is required".to_owned()),
                None => {
                    decoding.errors.add("", error.to_string());
                    return (None, decoding);
                }
            },
        };
        if reported.insert(field.clone()) {
            decoding.errors.add(&field, message);
        }
        let next = tried.entry(field.clone()).or_insert(0);
        let Some(stand_in) = STAND_INS.get(*next) else {
            // No stand-in fits this field: later fields stay unchecked.
            return (None, decoding);
        };
        *next = next.saturating_add(1);
        input.insert(field, stand_in());
    }
    (None, decoding)
}

/// `C` decoded again from what [`decode_leniently`] decoded it from.
pub(crate) fn decode_again<C: DeserializeOwned>(filled: &Map<String, Value>) -> Option<C> {
    let recorder = Recorder::default();
    C::deserialize(Top {
        map: filled.clone(),
        recorder: &recorder,
    })
    .ok()
}

/// Values of common shapes tried in place of a bad field.
const STAND_INS: [fn() -> Value; 6] = [
    || Value::from(0),
    || Value::from("00000000-0000-0000-0000-000000000000"),
    || Value::from(""),
    || Value::from(false),
    || Value::Array(Vec::new()),
    || Value::Object(Map::new()),
];

/// The field of serde's "missing field `name`".
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest[..rest.find('`')?].to_owned())
}

/// serde's message for a bad value, in the caller's terms.
fn field_message(message: &str) -> String {
    let shape = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "));
    match shape.and_then(|s| s.split_once(", expected ")) {
        Some(("null", _)) => "is required".to_owned(),
        Some((_, "i8" | "i16" | "i32" | "i64" | "i128" | "isize")) => {
            "must be a whole number".to_owned()
        }
        Some((_, "u8" | "u16" | "u32" | "u64" | "u128" | "usize")) => {
            "must be a whole number, 0 or more".to_owned()
        }
        Some((_, "f32" | "f64")) => "must be a number".to_owned(),
        Some((_, expected)) => format!("must be {expected}"),
        None => message.to_owned(),
    }
}

#[derive(Default)]
struct Recorder {
    fields: RefCell<Option<&'static [&'static str]>>,
    failed: RefCell<Option<(String, String)>>,
}

/// The top-level parameters: a struct is read field by field through
/// [`Fields`]; any other shape is read by `serde_json` as it is.
struct Top<'r> {
    map: Map<String, Value>,
    recorder: &'r Recorder,
}

macro_rules! as_value {
    ($($method:ident)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            Value::Object(self.map).$method(visitor)
        })*
    };
}

impl<'de> de::Deserializer<'de> for Top<'_> {
    type Error = serde_json::Error;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.recorder.fields.borrow_mut() = Some(fields);
        let map: Vec<(String, Value)> = self
            .map
            .into_iter()
            .filter(|(key, _)| fields.contains(&key.as_str()))
            .collect();
        visitor.visit_map(Fields {
            entries: map.into_iter(),
            current: None,
            recorder: self.recorder,
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        Value::Object(self.map).deserialize_enum(name, variants, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        Value::Object(self.map).deserialize_newtype_struct(name, visitor)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        Value::Object(self.map).deserialize_unit_struct(name, visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        Value::Object(self.map).deserialize_tuple(len, visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        Value::Object(self.map).deserialize_tuple_struct(name, len, visitor)
    }

    as_value! {
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32
        deserialize_i64 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_f32 deserialize_f64 deserialize_char deserialize_str deserialize_string
        deserialize_bytes deserialize_byte_buf deserialize_option deserialize_unit
        deserialize_seq deserialize_map deserialize_identifier deserialize_ignored_any
    }
}

/// A struct's fields, each value read by `serde_json`; a failure is
/// recorded under its field.
struct Fields<'r> {
    entries: std::vec::IntoIter<(String, Value)>,
    current: Option<(String, Value)>,
    recorder: &'r Recorder,
}

impl<'de> MapAccess<'de> for Fields<'_> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        let decoded = seed.deserialize(key.as_str().into_deserializer())?;
        self.current = Some((key, value));
        Ok(Some(decoded))
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, Self::Error> {
        let Some((key, value)) = self.current.take() else {
            return Err(de::Error::custom("a value was read before its field"));
        };
        seed.deserialize(value).inspect_err(|error| {
            *self.recorder.failed.borrow_mut() = Some((key, field_message(&error.to_string())));
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Transfer {
        from: String,
        to: String,
        amount: u64,
        id: disco_core::Uuid,
        note: Option<String>,
    }

    #[test]
    fn every_field_problem_is_reported_together() {
        let errors = decode_fields::<Transfer>(json!({
            "from": 7, "amount": -3, "id": "nope", "extra": true, "more": 1
        }))
        .unwrap_err();
        assert_eq!(errors["from"], vec!["must be a string"]);
        assert_eq!(errors["to"], vec!["is required"]);
        assert_eq!(errors["amount"], vec!["must be a whole number, 0 or more"]);
        assert!(
            errors["id"][0].contains("UUID") || errors["id"][0].contains("uuid"),
            "{errors:?}"
        );
        assert_eq!(errors["extra"], vec![UNKNOWN_FIELD]);
        assert_eq!(errors["more"], vec![UNKNOWN_FIELD]);
        assert!(!errors.contains_key("note"));
        assert_eq!(errors.len(), 6, "{errors:?}");
    }

    #[test]
    fn a_good_command_decodes_and_null_is_required() {
        let id = disco_core::Uuid::now_v7();
        let t: Transfer =
            decode_fields(json!({"from": "a", "to": "b", "amount": 5, "id": id.to_string()}))
                .unwrap();
        assert_eq!((t.amount, t.id, t.note), (5, id, None));
        let errors = decode_fields::<Transfer>(
            json!({"from": null, "to": "b", "amount": 5, "id": id.to_string()}),
        )
        .unwrap_err();
        assert_eq!(errors["from"], vec!["is required"]);
    }

    #[test]
    fn not_an_object_and_not_a_struct_are_whole_problems() {
        assert!(decode_fields::<Transfer>(json!([1, 2]))
            .unwrap_err()
            .contains_key(""));
        #[derive(Debug, Deserialize)]
        enum Kind {
            A,
        }
        let errors = decode_fields::<Kind>(json!({"B": null})).unwrap_err();
        assert!(errors.contains_key(""), "{errors:?}");
        let _ = Kind::A;
    }
}
