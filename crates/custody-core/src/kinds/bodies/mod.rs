//! The body of every event kind: its Rust type, its parser and the checks that its JSON Schema
//! (`schemas/<kind>.schema.json` at the top of the repository) also expresses.
//!
//! Conventions, the same in every body and every schema:
//! - a body is a JSON object with snake_case field names; unknown fields are refused;
//! - no floating point numbers anywhere: quantities are integers in a stated unit (hours,
//!   months, minutes, bytes, microdegrees, the smallest unit of a currency);
//! - timestamps are [`Timestamp`]s (RFC 3339 UTC with `Z`), references to other events are
//!   [`Hash`](struct@Hash)es, agency and facility ids are slugs ([`crate::ids::is_valid_slug`]);
//! - an optional field is left out when it has no value: `null` is refused;
//! - an optional list is left out when it is empty: `[]` is refused; a required list holds at
//!   least one element;
//! - text is never empty nor only whitespace, and has a maximum length in characters:
//!   [`NAME_MAX`] for names and labels, [`REF_MAX`] for document references and numbers,
//!   [`TEXT_MAX`] for narrative text;
//! - enumerations are snake_case strings;
//! - legal status is always its own explicit field; nothing in a body labels a suspect as
//!   guilty (there is `suspected_offence`, `legal_status`, `charges`, and `judgment.outcome`);
//! - identity follows Mandela Rule 7: gender is recorded only as the person declares it
//!   (`gender_self_declared`, free text), nothing is imposed.
//!
//! Checks that need more than one event, or compare times (an order that ends before it
//! starts, a questioning that ends before it starts, a key valid until before valid from), are
//! the validator's, not this module's: the schema cannot express them either.
//!
//! Layout: one module per group of kinds holds each kind's type and its checks (`authority`,
//! `arrest`, `handover`, `police_custody`, `judicial`, `prison`, `hearings`, `family`,
//! `evidence`, `closing`, `corrections`, `rule8` for the file of Mandela Rule 8: complaints,
//! sanctions, injuries, counsel); the field types several kinds share are in `common`,
//! the check helpers in `check`, the deserializer that knows where it is in `de`, and the
//! registrar hints for missing and unknown fields in `hints` (keyed by field name, whatever the
//! kind). Everything public is re-exported here, so every type is `bodies::Name`. The kind list
//! itself, with each kind's body type, is the one table in [`super`] (`kinds/mod.rs`), which
//! generates [`Body`], [`parse_body`] and [`body_fields`].

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::EventKind;
#[cfg(doc)]
use crate::hash::Hash;
#[cfg(doc)]
use crate::time::Timestamp;

mod check;
mod de;
mod hints;

mod arrest;
mod authority;
mod closing;
mod common;
mod corrections;
mod evidence;
mod family;
mod handover;
mod hearings;
mod judicial;
mod police_custody;
mod prison;
mod rule8;

pub use arrest::*;
pub use authority::*;
pub use closing::*;
pub use common::*;
pub use corrections::*;
pub use evidence::*;
pub use family::*;
pub use handover::*;
pub use hearings::*;
pub use judicial::*;
pub use police_custody::*;
pub use prison::*;
pub use rule8::*;

// Generated from the kind table in `kinds/mod.rs`; documented here too, where they were first.
#[doc(inline)]
pub use super::{body_fields, parse_body, Body};

use check::Check;
use hints::{missing_hint, unknown_hint};

/// Maximum length, in characters, of a name or a label (schema `$defs/name`).
pub const NAME_MAX: usize = 200;

/// Maximum length, in characters, of a document reference or number (schema `$defs/ref`).
pub const REF_MAX: usize = 100;

/// Maximum length, in characters, of narrative text (schema `$defs/text`).
pub const TEXT_MAX: usize = 4000;

/// A body that does not parse or does not pass its checks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("payload.body{path}: {message}")]
pub struct BodyError {
    /// The kind the body was parsed for.
    pub kind: EventKind,
    /// JSON pointer of the offending field within the body, e.g. `/place/region`; empty for the
    /// body itself.
    pub path: String,
    /// What is wrong, in words a registrar can act on.
    pub message: String,
}

pub(super) fn value_of<T: Serialize>(body: &T) -> Value {
    // Serialising these types into a `Value` cannot fail: every map key is a string and every
    // number an integer. `Null` would only ever signal a bug, and fails every schema.
    serde_json::to_value(body).unwrap_or(Value::Null)
}

/// Parses a body of type `T` for `kind`: deserialisation (with the position of an error), then
/// the semantic checks.
pub(super) fn parse<T>(kind: EventKind, body: &Value) -> Result<T, BodyError>
where
    T: serde::de::DeserializeOwned + Check,
{
    let root = de::Seg::Root;
    let parsed = T::deserialize(de::ValueDe::new(body, &root))
        .map_err(|e| e.into_body_error(kind, &root))?;
    parsed.check().map_err(|f| BodyError {
        kind,
        path: f.path,
        message: f.message,
    })?;
    Ok(parsed)
}

/// The field names serde knows for a struct, read by a deserializer that only asks for them.
pub(super) fn field_names<T: serde::de::DeserializeOwned>() -> &'static [&'static str] {
    match T::deserialize(FieldNames) {
        Err(FieldNamesError(Some(fields))) => fields,
        _ => &[],
    }
}

/// A deserializer that fails at once, carrying the field list of the struct asked for.
struct FieldNames;

#[derive(Debug)]
struct FieldNamesError(Option<&'static [&'static str]>);

impl std::fmt::Display for FieldNamesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("field names only")
    }
}

impl std::error::Error for FieldNamesError {}

impl serde::de::Error for FieldNamesError {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        FieldNamesError(None)
    }
}

impl<'de> Deserializer<'de> for FieldNames {
    type Error = FieldNamesError;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(FieldNamesError(None))
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        Err(FieldNamesError(Some(fields)))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// Deserialises an optional list, refusing `[]` (an empty list is left out).
fn optional_list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let v = Vec::<T>::deserialize(d)?;
    if v.is_empty() {
        return Err(serde::de::Error::custom(
            "an empty list is not allowed: leave the field out when there is nothing to record",
        ));
    }
    Ok(v)
}

/// Deserialises a required list, refusing `[]`.
fn required_list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let v = Vec::<T>::deserialize(d)?;
    if v.is_empty() {
        return Err(serde::de::Error::custom("must list at least one entry"));
    }
    Ok(v)
}
