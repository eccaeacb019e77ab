//! The semantic checks of a parsed body that its JSON Schema also expresses, and the
//! rules they are written with (non-empty bounded text, slugs, codes, ranges).

use super::{NAME_MAX, REF_MAX, TEXT_MAX};
use crate::ids::is_valid_slug;

pub(in crate::kinds) struct Fail {
    pub(super) path: String,
    pub(super) message: String,
}

impl Fail {
    pub(super) fn under(mut self, field: &str) -> Fail {
        self.path = format!("/{field}{}", self.path);
        self
    }

    pub(super) fn under_index(mut self, field: &str, i: usize) -> Fail {
        self.path = format!("/{field}/{i}{}", self.path);
        self
    }
}

pub(in crate::kinds) type Checked = Result<(), Fail>;

pub(super) type Rule = Result<(), String>;

/// Checks of a parsed value that its schema also expresses.
pub(in crate::kinds) trait Check {
    fn check(&self) -> Checked;
}

pub(super) fn field(name: &str, r: Rule) -> Checked {
    r.map_err(|message| Fail {
        path: format!("/{name}"),
        message,
    })
}

pub(super) fn fail(name: &str, message: impl Into<String>) -> Checked {
    field(name, Err(message.into()))
}

pub(super) fn nested<T: Check>(name: &str, v: &T) -> Checked {
    v.check().map_err(|f| f.under(name))
}

pub(super) fn nested_opt<T: Check>(name: &str, v: &Option<T>) -> Checked {
    v.as_ref().map_or(Ok(()), |v| nested(name, v))
}

pub(super) fn each<T: Check>(name: &str, items: &[T]) -> Checked {
    for (i, it) in items.iter().enumerate() {
        it.check().map_err(|f| f.under_index(name, i))?;
    }
    Ok(())
}

pub(super) fn each_str(name: &str, items: &[String], rule: fn(&str) -> Rule) -> Checked {
    for (i, s) in items.iter().enumerate() {
        rule(s).map_err(|message| Fail {
            path: format!("/{name}/{i}"),
            message,
        })?;
    }
    Ok(())
}

pub(super) fn opt(v: &Option<String>, rule: fn(&str) -> Rule) -> Rule {
    v.as_deref().map_or(Ok(()), rule)
}

/// A blank string holds only spaces, tabs and line breaks (schema: pattern `[^\t\n\r ]`).
pub(super) fn is_blank(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

pub(super) fn string(s: &str, max: usize) -> Rule {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if is_blank(s) {
        return Err("must not be only whitespace".into());
    }
    let n = s.chars().count();
    if n > max {
        return Err(format!("is {n} characters long; the maximum is {max}"));
    }
    Ok(())
}

pub(super) fn name(s: &str) -> Rule {
    string(s, NAME_MAX)
}

pub(super) fn text(s: &str) -> Rule {
    string(s, TEXT_MAX)
}

pub(super) fn reference(s: &str) -> Rule {
    string(s, REF_MAX)
}

pub(super) fn slug(s: &str) -> Rule {
    if is_valid_slug(s) {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not an agency or facility id: 2 to 64 characters of a-z, 0-9 and '-', starting with a letter or digit (e.g. \"ml-gendarmerie-camp1\")"
        ))
    }
}

pub(super) fn upper_code(s: &str, len: usize, what: &str) -> Rule {
    if s.len() == len && s.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(format!("{s:?} is not {what}"))
    }
}

pub(super) fn country(s: &str) -> Rule {
    upper_code(
        s,
        2,
        "an ISO 3166-1 alpha-2 country code in uppercase (e.g. \"ML\")",
    )
}

pub(super) fn currency(s: &str) -> Rule {
    upper_code(
        s,
        3,
        "an ISO 4217 currency code in uppercase (e.g. \"XOF\")",
    )
}

/// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, year 1900-2099, day within the month (29 February is
/// accepted in any year, as in the schema pattern).
pub(super) fn partial_date(s: &str) -> Rule {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let d = b.get(r)?;
        if d.iter().all(u8::is_ascii_digit) {
            Some(d.iter().fold(0, |n, c| n * 10 + u32::from(c - b'0')))
        } else {
            None
        }
    };
    let ok = (|| {
        let year = num(0..4)?;
        if !(1900..=2099).contains(&year) {
            return None;
        }
        if b.len() == 4 {
            return Some(());
        }
        if b.get(4) != Some(&b'-') {
            return None;
        }
        let month = num(5..7)?;
        if !(1..=12).contains(&month) {
            return None;
        }
        if b.len() == 7 {
            return Some(());
        }
        if b.len() != 10 || b.get(7) != Some(&b'-') {
            return None;
        }
        let day = num(8..10)?;
        let max = match month {
            2 => 29,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        (1..=max).contains(&day).then_some(())
    })();
    ok.ok_or_else(|| format!("{s:?} is not a date written YYYY, YYYY-MM or YYYY-MM-DD"))
}

pub(super) fn media_type(s: &str) -> Rule {
    let part = |p: &str| {
        let b = p.as_bytes();
        (1..=127).contains(&b.len())
            && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"!#$&^_.+-".contains(c))
    };
    match s.split_once('/') {
        Some((t, sub)) if part(t) && part(sub) => Ok(()),
        _ => Err(format!(
            "{s:?} is not a media type in lowercase without parameters (e.g. \"image/jpeg\")"
        )),
    }
}

pub(super) fn range<T: PartialOrd + std::fmt::Display>(v: T, min: T, max: T) -> Rule {
    if v < min || v > max {
        Err(format!("{v} is out of range: from {min} to {max}"))
    } else {
        Ok(())
    }
}

/// `details` is required when `present` is true.
pub(super) fn required_when(cond: bool, v: &Option<String>, name: &str, why: &str) -> Checked {
    if cond && v.is_none() {
        return fail(name, format!("required {why}"));
    }
    Ok(())
}

pub(super) fn counsel(present: bool, counsel_name: &Option<String>) -> Checked {
    required_when(
        present,
        counsel_name,
        "counsel_name",
        "when counsel_present is true: name counsel",
    )?;
    field("counsel_name", opt(counsel_name, name))
}
