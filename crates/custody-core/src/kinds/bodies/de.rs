//! Deserialises straight from a borrowed [`Value`] (no copy), like serde_json's own
//! `Deserializer for &Value`, and in addition keeps the JSON pointer of the current position
//! (built only when there is an error), refuses `null` for optional fields and words errors for
//! registrars.

use std::fmt;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, Expected, MapAccess, SeqAccess, Unexpected, Visitor};
use serde_json::Value;

use super::{missing_hint, unknown_hint, BodyError, EventKind};

/// One step of a JSON pointer, linked to its parent on the stack.
pub(super) enum Seg<'a> {
    Root,
    Key(&'a Seg<'a>, &'a str),
    Index(&'a Seg<'a>, usize),
}

impl Seg<'_> {
    fn pointer(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Seg::Root => {}
            Seg::Key(parent, k) => {
                parent.write(out);
                out.push('/');
                push_escaped(out, k);
            }
            Seg::Index(parent, i) => {
                parent.write(out);
                out.push('/');
                out.push_str(&i.to_string());
            }
        }
    }
}

/// Appends a key to a JSON pointer, escaped as RFC 6901 says.
pub(super) fn push_escaped(out: &mut String, key: &str) {
    for c in key.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
}

#[derive(Debug)]
enum Problem {
    Missing(&'static str),
    Unknown(String, &'static [&'static str]),
    Other(String),
}

/// A deserialisation error and, once known, where it happened.
#[derive(Debug)]
pub(super) struct Error {
    path: Option<String>,
    problem: Problem,
}

impl Error {
    fn other(message: String) -> Self {
        Error {
            path: None,
            problem: Problem::Other(message),
        }
    }

    /// Sets the position, unless a deeper one is already set.
    fn at(mut self, seg: &Seg<'_>) -> Self {
        if self.path.is_none() {
            let mut p = seg.pointer();
            if let Problem::Missing(f) = &self.problem {
                p.push('/');
                push_escaped(&mut p, f);
            }
            self.path = Some(p);
        }
        self
    }

    pub(super) fn into_body_error(self, kind: EventKind, root: &Seg<'_>) -> BodyError {
        let e = self.at(root);
        let nested = e
            .path
            .as_deref()
            .is_some_and(|p| p.matches('/').count() > 1);
        let message = match e.problem {
            Problem::Missing(f) => missing_hint(kind, f, nested),
            Problem::Unknown(f, allowed) => unknown_hint(&f, allowed),
            Problem::Other(m) => m,
        };
        BodyError {
            kind,
            path: e.path.unwrap_or_default(),
            message,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.problem {
            Problem::Missing(field) => write!(f, "missing field \"{field}\""),
            Problem::Unknown(field, _) => write!(f, "unknown field \"{field}\""),
            Problem::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

/// What was expected, in words.
fn expected(exp: &dyn Expected) -> String {
    let s = exp.to_string();
    if s.starts_with("struct ") || s == "a map" {
        "a JSON object".into()
    } else if s == "a sequence" {
        "a JSON array".into()
    } else if s.starts_with("enum ") || s == "variant identifier" {
        "a string naming one of the allowed values".into()
    } else if matches!(s.as_str(), "u8" | "u16" | "u32" | "u64") {
        format!("a non-negative integer ({s})")
    } else if matches!(s.as_str(), "i8" | "i16" | "i32" | "i64") {
        format!("an integer ({s})")
    } else {
        s
    }
}

fn found(unexp: &Unexpected<'_>) -> String {
    match unexp {
        Unexpected::Unit => "null".into(),
        Unexpected::Map => "an object".into(),
        Unexpected::Seq => "an array".into(),
        Unexpected::Float(_) => {
            format!("{unexp}: wire format v1 allows no floating point numbers")
        }
        other => other.to_string(),
    }
}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error::other(msg.to_string())
    }

    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        Error::other(format!(
            "expected {}, found {}",
            expected(exp),
            found(&unexp)
        ))
    }

    fn invalid_value(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        Error::other(format!(
            "{} is out of range: expected {}",
            found(&unexp),
            expected(exp)
        ))
    }

    fn unknown_variant(variant: &str, allowed: &'static [&'static str]) -> Self {
        Error::other(format!(
            "{variant:?} is not an allowed value; allowed: {}",
            allowed.join(", ")
        ))
    }

    fn unknown_field(field: &str, allowed: &'static [&'static str]) -> Self {
        Error {
            path: None,
            problem: Problem::Unknown(field.to_string(), allowed),
        }
    }

    fn missing_field(field: &'static str) -> Self {
        Error {
            path: None,
            problem: Problem::Missing(field),
        }
    }
}

/// The deserializer of one value at one position.
pub(super) struct ValueDe<'de, 'p> {
    value: &'de Value,
    path: &'p Seg<'p>,
}

impl<'de, 'p> ValueDe<'de, 'p> {
    pub(super) fn new(value: &'de Value, path: &'p Seg<'p>) -> Self {
        ValueDe { value, path }
    }
}

fn unexpected(v: &Value) -> Unexpected<'_> {
    match v {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Unexpected::Unsigned(u)
            } else if let Some(i) = n.as_i64() {
                Unexpected::Signed(i)
            } else {
                Unexpected::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

impl<'de> de::Deserializer<'de> for ValueDe<'de, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let path = self.path;
        let r = match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(a) => visitor.visit_seq(SeqDe {
                iter: a.iter().enumerate(),
                path,
            }),
            Value::Object(m) => visitor.visit_map(MapDe {
                iter: m.iter(),
                pending: None,
                path,
            }),
        };
        r.map_err(|e| e.at(path))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => Err(Error::other(
                "null is not allowed: leave the field out when there is no value".into(),
            )
            .at(self.path)),
            _ => {
                let path = self.path;
                visitor.visit_some(self).map_err(|e| e.at(path))
            }
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let r = match self.value {
            Value::String(s) => visitor.visit_enum(BorrowedStrDeserializer::new(s)),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        };
        r.map_err(|e: Error| e.at(self.path))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let path = self.path;
        visitor.visit_newtype_struct(self).map_err(|e| e.at(path))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

struct SeqDe<'de, 'p> {
    iter: std::iter::Enumerate<std::slice::Iter<'de, Value>>,
    path: &'p Seg<'p>,
}

impl<'de> SeqAccess<'de> for SeqDe<'de, '_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.iter.next() {
            Some((i, v)) => {
                let seg = Seg::Index(self.path, i);
                seed.deserialize(ValueDe::new(v, &seg))
                    .map(Some)
                    .map_err(|e| e.at(&seg))
            }
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct MapDe<'de, 'p> {
    iter: serde_json::map::Iter<'de>,
    pending: Option<(&'de str, &'de Value)>,
    path: &'p Seg<'p>,
}

impl<'de> MapAccess<'de> for MapDe<'de, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.iter.next() {
            Some((k, v)) => {
                self.pending = Some((k.as_str(), v));
                seed.deserialize(BorrowedStrDeserializer::new(k.as_str()))
                    .map(Some)
                    .map_err(|e: Error| e.at(&Seg::Key(self.path, k)))
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let (k, v) = self
            .pending
            .take()
            .ok_or_else(|| Error::other("a value was requested before its key".into()))?;
        let seg = Seg::Key(self.path, k);
        seed.deserialize(ValueDe::new(v, &seg))
            .map_err(|e| e.at(&seg))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}
