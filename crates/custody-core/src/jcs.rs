//! Canonical JSON (RFC 8785, "JCS") and the strict JSON parser in front of it.
//!
//! - [`parse_strict`] reads JSON text and refuses what RFC 8259 only discourages: invalid UTF-8,
//!   duplicate object keys (at any depth), lone surrogates, trailing data and nesting deeper than
//!   [`MAX_DEPTH`]. It accepts floating point numbers so that the RFC 8785 test cases can be
//!   canonicalised; the wire format check is [`check_integers_only`].
//! - [`canonicalize`] / [`canonicalize_into`] write the RFC 8785 bytes of a value: no whitespace,
//!   object members sorted by the UTF-16 code units of their names, minimal string escaping, and
//!   numbers as ECMAScript `Number.prototype.toString` writes them.
//!
//! The parser is hand written rather than built on `serde_json`'s deserializer: without its
//! `float_roundtrip` feature `serde_json` rounds many decimal numbers to a neighbouring double
//! (for example `333333333.33333329` from RFC 8785's own test data), and the canonical form of a
//! number must be that of the correctly rounded double. Numbers here are parsed by the standard
//! library, which rounds correctly.

use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

/// The deepest nesting of arrays and objects that [`parse_strict`] accepts. A scalar at the top
/// is depth 0, `[]` is depth 1, `[[]]` depth 2.
pub const MAX_DEPTH: usize = 64;

/// The largest integer magnitude that wire format v1 accepts: 2^53 - 1, the largest integer `n`
/// such that every integer of magnitude at most `n` is exactly one IEEE-754 double.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Integers of magnitude up to this bound (2^53) are written as plain integers by
/// [`canonicalize`]; larger ones are written as the ECMAScript form of the nearest double.
const MAX_EXACT_INTEGER: u64 = 1 << 53;

/// Why JSON text was refused by [`parse_strict`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// The bytes are not valid UTF-8.
    #[error("invalid utf-8 at byte {offset}")]
    InvalidUtf8 {
        /// Offset of the first byte that is not part of a valid UTF-8 sequence.
        offset: usize,
    },
    /// The text is not JSON.
    #[error("{message} at line {line}, column {column}")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// 1-based column, counted in Unicode scalar values.
        column: usize,
        /// What was wrong, lowercase.
        message: String,
    },
    /// An object has the same member name twice (after unescaping).
    #[error("duplicate key {key:?} in object at {}", describe_pointer(.path))]
    DuplicateKey {
        /// JSON Pointer (RFC 6901) of the object holding the duplicate; `""` is the top level.
        path: String,
        /// The repeated member name.
        key: String,
    },
    /// Arrays and objects are nested deeper than allowed.
    #[error("nesting is deeper than the limit of {limit} levels")]
    TooDeep {
        /// The limit that was exceeded ([`MAX_DEPTH`]).
        limit: usize,
    },
    /// Something other than whitespace follows the value.
    #[error("trailing data after the json value")]
    TrailingData,
}

/// A number refused by [`check_integers_only`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("number {number} at {} {}", describe_pointer(.path), number_reason(.number))]
pub struct NumberError {
    /// JSON Pointer (RFC 6901) of the number; `""` when the whole value is that number.
    pub path: String,
    /// The number as `serde_json` displays it, e.g. `1.5`, `100.0`, `1e+30` or `9007199254740992`;
    /// after [`NumberError::as_sent`], as it was written in the source text (`18446744073709551616`
    /// rather than the double `1.8446744073709552e+19` it was parsed to).
    pub number: String,
}

impl NumberError {
    /// This error naming the number as it was written in `source`, the text the checked value
    /// was parsed from: an integer too large for 64 bits was parsed to the nearest double, so
    /// without the source it can only be shown as that double. Unchanged if `source` holds no
    /// number at [`NumberError::path`].
    pub fn as_sent(mut self, source: &[u8]) -> NumberError {
        if let Some(text) = number_text_at(source, &self.path) {
            self.number = text.to_owned();
        }
        self
    }
}

/// The text of the number at JSON Pointer `path` (RFC 6901; `""` is the whole text) in the JSON
/// text `source`, as written there; `None` when `source` is not JSON or holds no number there.
pub fn number_text_at<'a>(source: &'a [u8], path: &str) -> Option<&'a str> {
    let src = std::str::from_utf8(source).ok()?;
    let mut parser = Parser {
        src,
        bytes: src.as_bytes(),
        pos: 0,
        depth: 0,
    };
    let tokens: Vec<String> = if path.is_empty() {
        Vec::new()
    } else {
        path.strip_prefix('/')?
            .split('/')
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect()
    };
    for token in &tokens {
        parser.skip_ws();
        match parser.peek()? {
            b'{' => {
                parser.pos += 1;
                loop {
                    parser.skip_ws();
                    if parser.peek()? != b'"' {
                        return None;
                    }
                    let key = parser.parse_string().ok()?;
                    parser.skip_ws();
                    if parser.peek()? != b':' {
                        return None;
                    }
                    parser.pos += 1;
                    if key == *token {
                        break;
                    }
                    parser.skip_ws();
                    parser.parse_value().ok()?;
                    parser.skip_ws();
                    if parser.peek()? != b',' {
                        return None;
                    }
                    parser.pos += 1;
                }
            }
            b'[' => {
                parser.pos += 1;
                let index: usize = token.parse().ok()?;
                for _ in 0..index {
                    parser.skip_ws();
                    parser.parse_value().ok()?;
                    parser.skip_ws();
                    if parser.peek()? != b',' {
                        return None;
                    }
                    parser.pos += 1;
                }
            }
            _ => return None,
        }
    }
    parser.skip_ws();
    let start = parser.pos;
    match parser.peek()? {
        b'-' | b'0'..=b'9' => {
            parser.parse_number().ok()?;
            src.get(start..parser.pos)
        }
        _ => None,
    }
}

fn describe_pointer(path: &str) -> String {
    if path.is_empty() {
        "the root".to_owned()
    } else {
        path.to_owned()
    }
}

fn number_reason(number: &str) -> &'static str {
    let digits = number.strip_prefix('-').unwrap_or(number);
    if number == "-0" {
        // Only as sent (the parsed double displays as `-0.0`): all digits, yet not out of range.
        "is not an integer: wire format v1 allows integers only, and -0 is the double negative zero"
    } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        "is out of range: wire format v1 allows integers from -(2^53-1) to 2^53-1 only"
    } else {
        "is not an integer: wire format v1 allows integers only"
    }
}

/// Appends one RFC 6901 reference token (`~` as `~0`, `/` as `~1`) after a `/`.
fn push_pointer_token(out: &mut String, token: &str) {
    out.push('/');
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            _ => out.push(c),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Strict parser
// ---------------------------------------------------------------------------------------------

/// Parses JSON text strictly: valid UTF-8, one value, no trailing non-whitespace, duplicate
/// object keys refused (at any depth), nesting depth at most [`MAX_DEPTH`].
///
/// Numbers are accepted here, floats too, so that RFC 8785 test cases can be canonicalised;
/// wire format v1 additionally requires [`check_integers_only`]. Integers that fit `u64` (or
/// `i64` when negative) are kept exactly; other numbers become the correctly rounded double.
/// `-0` becomes the double `-0.0` (as `serde_json` does), which [`check_integers_only`] refuses.
/// Strings with lone surrogate escapes (`"\ud800"`) and raw control characters are refused.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, JsonError> {
    let src = std::str::from_utf8(bytes).map_err(|e| JsonError::InvalidUtf8 {
        offset: e.valid_up_to(),
    })?;
    let mut parser = Parser {
        src,
        bytes: src.as_bytes(),
        pos: 0,
        depth: 0,
    };
    parser.skip_ws();
    let value = parser.parse_value()?;
    parser.skip_ws();
    if parser.pos < parser.bytes.len() {
        return Err(JsonError::TrailingData);
    }
    Ok(value)
}

struct Parser<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// A syntax error located at byte offset `at`.
    fn error_at(&self, at: usize, message: &str) -> JsonError {
        let before = self.bytes.get(..at).unwrap_or(self.bytes);
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let column = 1 + before[line_start..]
            .iter()
            .filter(|&&b| (b & 0xc0) != 0x80)
            .count();
        JsonError::Syntax {
            line,
            column,
            message: message.to_owned(),
        }
    }

    fn error(&self, message: &str) -> JsonError {
        if self.pos >= self.bytes.len() {
            self.error_at(self.pos, "unexpected end of input")
        } else {
            self.error_at(self.pos, message)
        }
    }

    /// Parses the value starting at `self.pos` (whitespace already skipped).
    fn parse_value(&mut self) -> Result<Value, JsonError> {
        match self.peek() {
            Some(b'{') => self.parse_object(),
            Some(b'[') => self.parse_array(),
            Some(b'"') => Ok(Value::String(self.parse_string()?)),
            Some(b't') => self.parse_literal("true", Value::Bool(true)),
            Some(b'f') => self.parse_literal("false", Value::Bool(false)),
            Some(b'n') => self.parse_literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.parse_number(),
            _ => Err(self.error("expected a json value")),
        }
    }

    fn parse_literal(&mut self, word: &str, value: Value) -> Result<Value, JsonError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.error("expected a json value"))
        }
    }

    fn enter(&mut self) -> Result<(), JsonError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(JsonError::TooDeep { limit: MAX_DEPTH });
        }
        Ok(())
    }

    fn parse_array(&mut self) -> Result<Value, JsonError> {
        self.enter()?;
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            let index = items.len();
            let item = self
                .parse_value()
                .map_err(|e| prefix_path(e, &index.to_string()))?;
            items.push(item);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.error("expected ',' or ']' after an array element")),
            }
        }
        self.depth -= 1;
        Ok(Value::Array(items))
    }

    fn parse_object(&mut self) -> Result<Value, JsonError> {
        self.enter()?;
        self.pos += 1; // '{'
        let mut map = Map::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Object(map));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a string as object member name"));
            }
            let key = self.parse_string()?;
            if map.contains_key(&key) {
                return Err(JsonError::DuplicateKey {
                    path: String::new(),
                    key,
                });
            }
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.error("expected ':' after an object member name"));
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.parse_value().map_err(|e| prefix_path(e, &key))?;
            map.insert(key, value);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.error("expected ',' or '}' after an object member")),
            }
        }
        self.depth -= 1;
        Ok(Value::Object(map))
    }

    /// Parses a string starting at the opening quote.
    fn parse_string(&mut self) -> Result<String, JsonError> {
        self.pos += 1; // '"'
        let mut out = String::new();
        let mut run_start = self.pos;
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    out.push_str(self.slice(run_start, self.pos)?);
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    out.push_str(self.slice(run_start, self.pos)?);
                    let escape_at = self.pos;
                    self.pos += 1;
                    let c = self.parse_escape(escape_at)?;
                    out.push(c);
                    run_start = self.pos;
                }
                Some(0x00..=0x1f) => {
                    return Err(self.error("control character in string must be escaped"))
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    /// `start` and `end` are always at ASCII bytes (quotes, backslashes, escape ends), hence at
    /// character boundaries; the check only avoids a panic path.
    fn slice(&self, start: usize, end: usize) -> Result<&str, JsonError> {
        self.src
            .get(start..end)
            .ok_or_else(|| self.error_at(start, "internal error: string slice"))
    }

    /// Parses the escape after a backslash (`self.pos` is just past the backslash).
    fn parse_escape(&mut self, escape_at: usize) -> Result<char, JsonError> {
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.pos += 1;
                let first = self.parse_hex4()?;
                return match first {
                    0xd800..=0xdbff => {
                        if self.bytes[self.pos..].starts_with(b"\\u") {
                            self.pos += 2;
                            let second = self.parse_hex4()?;
                            if (0xdc00..=0xdfff).contains(&second) {
                                let c = 0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00);
                                char::from_u32(c).ok_or_else(|| {
                                    self.error_at(escape_at, "invalid surrogate pair")
                                })
                            } else {
                                Err(self
                                    .error_at(escape_at, "lone leading surrogate in \\u escape"))
                            }
                        } else {
                            Err(self.error_at(escape_at, "lone leading surrogate in \\u escape"))
                        }
                    }
                    0xdc00..=0xdfff => {
                        Err(self.error_at(escape_at, "lone trailing surrogate in \\u escape"))
                    }
                    _ => char::from_u32(first)
                        .ok_or_else(|| self.error_at(escape_at, "invalid \\u escape")),
                };
            }
            _ => return Err(self.error("invalid escape sequence")),
        };
        self.pos += 1;
        Ok(c)
    }

    fn parse_hex4(&mut self) -> Result<u32, JsonError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let digit = match self.peek() {
                Some(b @ b'0'..=b'9') => b - b'0',
                Some(b @ b'a'..=b'f') => b - b'a' + 10,
                Some(b @ b'A'..=b'F') => b - b'A' + 10,
                _ => return Err(self.error("expected four hex digits in \\u escape")),
            };
            v = (v << 4) | u32::from(digit);
            self.pos += 1;
        }
        Ok(v)
    }

    fn skip_digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    /// Parses a number per the RFC 8259 grammar.
    fn parse_number(&mut self) -> Result<Value, JsonError> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.pos += 1;
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err(self.error("leading zero in number"));
                }
            }
            Some(b'1'..=b'9') => {
                self.skip_digits();
            }
            _ => return Err(self.error("expected a digit in number")),
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            integer = false;
            self.pos += 1;
            if self.skip_digits() == 0 {
                return Err(self.error("expected a digit after the decimal point"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            integer = false;
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.skip_digits() == 0 {
                return Err(self.error("expected a digit in the exponent"));
            }
        }
        let text = self.slice(start, self.pos)?;
        if integer {
            let exact = if negative {
                // "-0" is not an i64 zero: keep the sign, as a double, like serde_json.
                text.parse::<i64>()
                    .ok()
                    .filter(|&i| i != 0)
                    .map(Number::from)
            } else {
                text.parse::<u64>().ok().map(Number::from)
            };
            if let Some(n) = exact {
                return Ok(Value::Number(n));
            }
        }
        // Correctly rounded (std's parser); the text matches the JSON grammar, which is a subset
        // of what `f64::from_str` accepts.
        let f: f64 = text
            .parse()
            .map_err(|_| self.error_at(start, "invalid number"))?;
        Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| self.error_at(start, "number out of range"))
    }
}

/// Adds the reference token `token` in front of the path of a duplicate key error coming up from
/// a nested value; other errors pass unchanged.
fn prefix_path(err: JsonError, token: &str) -> JsonError {
    match err {
        JsonError::DuplicateKey { path, key } => {
            let mut full = String::with_capacity(path.len() + token.len() + 1);
            push_pointer_token(&mut full, token);
            full.push_str(&path);
            JsonError::DuplicateKey { path: full, key }
        }
        other => other,
    }
}

// ---------------------------------------------------------------------------------------------
// Canonicalisation
// ---------------------------------------------------------------------------------------------

/// RFC 8785 canonical bytes of a value.
///
/// Object members are sorted by the UTF-16 code units of their names; strings use the JCS
/// escaping (only `"`, `\` and control characters, with `\b \f \n \r \t` short forms, everything
/// else as raw UTF-8); numbers are written in ECMAScript `Number.prototype.toString` form.
/// Integers (`u64`/`i64` in the value) of magnitude at most 2^53 are written as integers; larger
/// ones as the ECMAScript form of the nearest double (what a JavaScript canonicaliser would see).
///
/// Recursion follows the nesting of the value; values from [`parse_strict`] are at most
/// [`MAX_DEPTH`] deep.
pub fn canonicalize(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    canonicalize_into(value, &mut out);
    out
}

/// Same as [`canonicalize`], appending to `out`.
///
/// Allocates nothing besides growing `out`, except for objects whose member order (as the map
/// iterates) is not already the UTF-16 order: those sort a `Vec` of references. With
/// `serde_json`'s default `BTreeMap` that only happens when names contain characters from
/// U+E000 to U+FFFF next to characters above U+FFFF, where byte order and UTF-16 order differ.
pub fn canonicalize_into(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonicalize_into(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => canonicalize_object_into(map, out),
    }
}

/// [`canonicalize_into`] of an object given as its map.
pub fn canonicalize_object_into(map: &Map<String, Value>, out: &mut Vec<u8>) {
    out.push(b'{');
    for (i, (key, item)) in members(map).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(key, out);
        out.push(b':');
        canonicalize_into(item, out);
    }
    out.push(b'}');
}

/// Writes a JSON string with JCS escaping (the canonical form of a string value), appending to
/// `out`.
pub fn write_string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut run_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[run_start..i]);
        if short.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0x0f)]);
        } else {
            out.extend_from_slice(short);
        }
        run_start = i + 1;
    }
    out.extend_from_slice(&bytes[run_start..]);
    out.push(b'"');
}

fn write_number(n: &Number, out: &mut Vec<u8>) {
    if let Some(u) = n.as_u64() {
        if u <= MAX_EXACT_INTEGER {
            write_integer(u, false, out);
        } else {
            write_double(u as f64, out);
        }
    } else if let Some(i) = n.as_i64() {
        let magnitude = i.unsigned_abs();
        if magnitude <= MAX_EXACT_INTEGER {
            write_integer(magnitude, i < 0, out);
        } else {
            write_double(i as f64, out);
        }
    } else if let Some(f) = n.as_f64() {
        write_double(f, out);
    }
}

/// Writes a non-negative integer of at most 2^53 in its canonical form, appending to `out`
/// (larger ones are written as the nearest double, as [`canonicalize`] writes them).
pub fn write_uint(n: u64, out: &mut Vec<u8>) {
    if n <= MAX_EXACT_INTEGER {
        write_integer(n, false, out);
    } else {
        write_double(n as f64, out);
    }
}

fn write_integer(mut magnitude: u64, negative: bool, out: &mut Vec<u8>) {
    let mut buf = [0u8; 20];
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        if magnitude == 0 {
            break;
        }
    }
    if negative {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[start..]);
}

/// ECMAScript `Number.prototype.toString` (a `serde_json::Number` is always finite).
fn write_double(f: f64, out: &mut Vec<u8>) {
    let mut buf = ryu_js::Buffer::new();
    out.extend_from_slice(buf.format(f).as_bytes());
}

/// Compares two strings by their UTF-16 code units, as RFC 8785 section 3.2.3 orders member
/// names, without allocating.
///
/// UTF-8 byte order is code point order, which differs from UTF-16 order only between a
/// character above U+FFFF (surrogates D800-DFFF) and one from U+E000 to U+FFFF. So the strings
/// are compared bytewise up to the first difference; if both differing bytes are ASCII that
/// decides, else the two differing characters are compared by their UTF-16 encodings.
fn cmp_utf16(a: &str, b: &str) -> Ordering {
    let (ab, bb) = (a.as_bytes(), b.as_bytes());
    let common = ab.iter().zip(bb).take_while(|(x, y)| x == y).count();
    match (ab.get(common), bb.get(common)) {
        (Some(&x), Some(&y)) if x < 0x80 && y < 0x80 => x.cmp(&y),
        (Some(_), Some(_)) => {
            // Back up to the start of the differing character; the equal prefix makes it a
            // boundary in both strings.
            let mut start = common;
            while !a.is_char_boundary(start) {
                start -= 1;
            }
            let ca = a.get(start..).and_then(|s| s.chars().next());
            let cb = b.get(start..).and_then(|s| s.chars().next());
            match (ca, cb) {
                (Some(ca), Some(cb)) => {
                    let (mut ua, mut ub) = ([0u16; 2], [0u16; 2]);
                    let ua: &[u16] = ca.encode_utf16(&mut ua);
                    let ub: &[u16] = cb.encode_utf16(&mut ub);
                    ua.cmp(ub)
                }
                _ => ab.cmp(bb),
            }
        }
        _ => ab.len().cmp(&bb.len()),
    }
}

/// Members of an object in RFC 8785 order.
enum Members<'a> {
    /// The map already iterates in UTF-16 order (the usual case: no allocation).
    InOrder(serde_json::map::Iter<'a>),
    /// Sorted copy of the references.
    Sorted(std::vec::IntoIter<(&'a String, &'a Value)>),
}

impl<'a> Iterator for Members<'a> {
    type Item = (&'a String, &'a Value);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Members::InOrder(it) => it.next(),
            Members::Sorted(it) => it.next(),
        }
    }
}

fn members(map: &Map<String, Value>) -> Members<'_> {
    let mut keys = map.keys();
    let in_order = match keys.next() {
        None => true,
        Some(first) => {
            let mut prev = first;
            keys.all(|key| {
                let ordered = cmp_utf16(prev, key) == Ordering::Less;
                prev = key;
                ordered
            })
        }
    };
    if in_order {
        Members::InOrder(map.iter())
    } else {
        let mut sorted: Vec<(&String, &Value)> = map.iter().collect();
        sorted.sort_unstable_by(|x, y| cmp_utf16(x.0, y.0));
        Members::Sorted(sorted.into_iter())
    }
}

// ---------------------------------------------------------------------------------------------
// Wire format v1 number check
// ---------------------------------------------------------------------------------------------

/// Refuses any number that is not an integer in -(2^53-1)..=2^53-1: wire format v1 allows no
/// floating point numbers.
///
/// A number held as a double is refused even when its value is integral (`1.0`, `1e2`, `-0`):
/// the text it came from was not an integer. Members are visited in canonical order, so the
/// error names the first offending number as it appears in the canonical bytes, by its JSON
/// Pointer (RFC 6901) path.
pub fn check_integers_only(value: &Value) -> Result<(), NumberError> {
    check_numbers(value).map_err(|failure| {
        let mut path = String::new();
        for token in failure.reversed_path.iter().rev() {
            push_pointer_token(&mut path, token);
        }
        NumberError {
            path,
            number: failure.number,
        }
    })
}

/// An offending number and its path, innermost token first (built while unwinding, so the
/// success path allocates nothing).
struct NumberFailure {
    number: String,
    reversed_path: Vec<String>,
}

fn check_numbers(value: &Value) -> Result<(), NumberFailure> {
    match value {
        Value::Number(n) => {
            let safe = n
                .as_i64()
                .is_some_and(|i| i.unsigned_abs() <= MAX_SAFE_INTEGER);
            if safe {
                Ok(())
            } else {
                Err(NumberFailure {
                    number: n.to_string(),
                    reversed_path: Vec::new(),
                })
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_numbers(item).map_err(|mut f| {
                    f.reversed_path.push(i.to_string());
                    f
                })?;
            }
            Ok(())
        }
        Value::Object(map) => {
            for (key, item) in members(map) {
                check_numbers(item).map_err(|mut f| {
                    f.reversed_path.push(key.clone());
                    f
                })?;
            }
            Ok(())
        }
        Value::Null | Value::Bool(_) | Value::String(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn canon_str(v: &Value) -> String {
        String::from_utf8(canonicalize(v)).expect("canonical bytes are UTF-8")
    }

    fn parse(text: &str) -> Result<Value, JsonError> {
        parse_strict(text.as_bytes())
    }

    // --- strings -----------------------------------------------------------------------------

    #[test]
    fn string_escaping_is_minimal() {
        let v = Value::String("\"\\\u{8}\u{c}\n\r\t/".to_owned());
        assert_eq!(canon_str(&v), r#""\"\\\b\f\n\r\t/""#);
        // Other control characters as lowercase \u00xx.
        let v = Value::String("\u{0}\u{1}\u{b}\u{e}\u{f}\u{1a}\u{1f}".to_owned());
        assert_eq!(
            canon_str(&v),
            r#""\u0000\u0001\u000b\u000e\u000f\u001a\u001f""#
        );
        // DEL, non-ASCII, U+2028/U+2029 and astral characters are raw UTF-8.
        let raw = "\u{7f}\u{80}é€\u{2028}\u{2029}\u{fb33}😀<script>";
        let v = Value::String(raw.to_owned());
        assert_eq!(canonicalize(&v), format!("\"{raw}\"").into_bytes());
    }

    #[test]
    fn escapes_in_input_are_decoded() {
        let v = parse(r#""\u20ac\/\u0041\ud83d\ude00\u00e9\uFB33""#).expect("valid");
        assert_eq!(v, Value::String("€/A😀é\u{fb33}".to_owned()));
        assert_eq!(canon_str(&v), "\"€/A😀é\u{fb33}\"");
    }

    #[test]
    fn lone_surrogates_and_raw_controls_are_refused() {
        for text in [
            r#""\ud800""#,
            r#""\ud800x""#,
            r#""\ud800\u0041""#,
            r#""\udc00""#,
            "\"a\u{1}b\"",
            "\"tab\there\"",
            r#""\x""#,
            r#""\u12""#,
            r#""unterminated"#,
        ] {
            assert!(
                matches!(parse(text), Err(JsonError::Syntax { .. })),
                "{text:?} should be a syntax error"
            );
        }
    }

    // --- key order ---------------------------------------------------------------------------

    #[test]
    fn rfc8785_section_3_2_3_sorting_example() {
        let text = r#"{
            "\u20ac": "Euro Sign",
            "\r": "Carriage Return",
            "\ufb33": "Hebrew Letter Dalet With Dagesh",
            "1": "One",
            "\ud83d\ude00": "Emoji: Grinning Face",
            "\u0080": "Control",
            "\u00f6": "Latin Small Letter O With Diaeresis",
            "<script>": "Browser Challenge"
        }"#;
        let v = parse(text).expect("valid");
        let expected = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\
            \"<script>\":\"Browser Challenge\",\"\u{80}\":\"Control\",\
            \"ö\":\"Latin Small Letter O With Diaeresis\",\"€\":\"Euro Sign\",\
            \"😀\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
        assert_eq!(canon_str(&v), expected);
        // The emoji sorts before U+FB33 in UTF-16 but after it in UTF-8 byte order, so the
        // BTreeMap order is not the canonical one here.
        let map_order: Vec<&String> = v.as_object().expect("object").keys().collect();
        assert_eq!(map_order.last().map(|k| k.as_str()), Some("😀"));
    }

    #[test]
    fn utf16_comparison_examples() {
        assert_eq!(cmp_utf16("😀", "\u{fb33}"), Ordering::Less);
        assert_eq!(cmp_utf16("\u{ffff}", "\u{10000}"), Ordering::Greater);
        assert_eq!(cmp_utf16("\u{d7ff}", "\u{10000}"), Ordering::Less);
        assert_eq!(cmp_utf16("a", "ab"), Ordering::Less);
        assert_eq!(cmp_utf16("", ""), Ordering::Equal);
        assert_eq!(cmp_utf16("é", "e"), Ordering::Greater);
        assert_eq!(cmp_utf16("xé", "xê"), Ordering::Less);
        assert_eq!(cmp_utf16("A", "a"), Ordering::Less);
        // Same lead byte, differing continuation bytes.
        assert_eq!(cmp_utf16("\u{e000}", "\u{ffee}"), Ordering::Less);
        assert_eq!(cmp_utf16("\u{1f600}", "\u{1f601}"), Ordering::Less);
    }

    #[test]
    fn nested_objects_are_sorted_and_arrays_keep_order() {
        let v = json!({"b": [3, 1, {"z": 1, "a": 2}], "a": {"\u{fb33}": 1, "😀": 2}});
        assert_eq!(
            canon_str(&v),
            "{\"a\":{\"😀\":2,\"\u{fb33}\":1},\"b\":[3,1,{\"a\":2,\"z\":1}]}"
        );
    }

    #[test]
    fn canonicalize_into_appends() {
        let mut out = b"prefix:".to_vec();
        canonicalize_into(&json!({"b": null, "a": [true, false]}), &mut out);
        assert_eq!(out, b"prefix:{\"a\":[true,false],\"b\":null}");
    }

    // --- numbers -----------------------------------------------------------------------------

    #[test]
    fn integers_at_the_2_pow_53_edges() {
        let cases: [(Value, &str); 10] = [
            (json!(0), "0"),
            (json!(9_007_199_254_740_991_u64), "9007199254740991"),
            (json!(9_007_199_254_740_992_u64), "9007199254740992"),
            // Beyond 2^53: the nearest double, as JavaScript would print it.
            (json!(9_007_199_254_740_993_u64), "9007199254740992"),
            (json!(9_007_199_254_740_995_u64), "9007199254740996"),
            (json!(-9_007_199_254_740_992_i64), "-9007199254740992"),
            (json!(-9_007_199_254_740_993_i64), "-9007199254740992"),
            (json!(u64::MAX), "18446744073709552000"),
            (json!(i64::MIN), "-9223372036854776000"),
            (json!(1_000_000_000_000_000_000_000_u128 as f64), "1e+21"),
        ];
        for (v, expected) in cases {
            assert_eq!(canon_str(&v), expected, "{v}");
        }
    }

    #[test]
    fn doubles_use_ecmascript_form() {
        let cases: [(f64, &str); 9] = [
            (-0.0, "0"),
            (56.0, "56"),
            (4.5, "4.5"),
            (0.002, "0.002"),
            (1e-7, "1e-7"),
            (1e30, "1e+30"),
            (1e21, "1e+21"),
            (123_456_789_012_345_680_000.0, "123456789012345680000"),
            (-1.5, "-1.5"),
        ];
        for (f, expected) in cases {
            let v = Value::Number(Number::from_f64(f).expect("finite"));
            assert_eq!(canon_str(&v), expected, "{f:e}");
        }
    }

    #[test]
    fn parsed_numbers_are_exact_or_correctly_rounded() {
        let v = parse("[18446744073709551615, -9223372036854775808, 18446744073709551616, -0, 0, 333333333.33333329, 1E400]");
        assert!(
            matches!(v, Err(JsonError::Syntax { ref message, .. }) if message == "number out of range")
        );
        let v = parse(
            "[18446744073709551615, -9223372036854775808, 18446744073709551616, -0, 0, 333333333.33333329]",
        )
        .expect("valid");
        let items = v.as_array().expect("array");
        assert_eq!(items[0].as_u64(), Some(u64::MAX));
        assert_eq!(items[1].as_i64(), Some(i64::MIN));
        assert_eq!(items[2].as_f64(), Some(18_446_744_073_709_551_616.0));
        assert!(items[2].is_f64());
        let minus_zero = items[3].as_f64().expect("double");
        assert!(items[3].is_f64() && minus_zero == 0.0 && minus_zero.is_sign_negative());
        assert!(items[4].is_u64());
        // serde_json's default parser yields 333333333.33333325 here.
        assert_eq!(items[5].as_f64(), Some(333_333_333.333_333_3));
        assert_eq!(
            canon_str(&v),
            "[18446744073709552000,-9223372036854776000,18446744073709552000,0,0,333333333.3333333]"
        );
    }

    #[test]
    fn malformed_numbers_are_refused() {
        for text in [
            "01", "-", "-a", "1.", ".5", "1e", "1e+", "+1", "0x10", "1.5e", "- 1", "NaN",
            "Infinity",
        ] {
            assert!(
                matches!(
                    parse(text),
                    Err(JsonError::Syntax { .. } | JsonError::TrailingData)
                ),
                "{text:?} should be refused"
            );
        }
        assert_eq!(parse("-0.0e-0").ok(), Some(json!(-0.0)));
    }

    // --- strict parsing ----------------------------------------------------------------------

    #[test]
    fn duplicate_keys_are_refused_at_any_depth_with_their_path() {
        let err = parse(r#"{"seq": 1, "seq": 2}"#).expect_err("duplicate");
        assert_eq!(
            err,
            JsonError::DuplicateKey {
                path: String::new(),
                key: "seq".to_owned()
            }
        );
        assert_eq!(
            err.to_string(),
            r#"duplicate key "seq" in object at the root"#
        );

        let err = parse(r#"{"header": {"seq": 1, "kind": "x", "seq": 1}}"#).expect_err("dup");
        assert_eq!(
            err.to_string(),
            r#"duplicate key "seq" in object at /header"#
        );

        let text = r#"{"a": [0, {"b/c": {"~d": [{"k": 1, "\u006b": 2}]}}]}"#;
        let err = parse(text).expect_err("duplicate after unescaping");
        assert_eq!(
            err,
            JsonError::DuplicateKey {
                path: "/a/1/b~1c/~0d/0".to_owned(),
                key: "k".to_owned()
            }
        );
        // The same names in different objects are fine.
        assert!(parse(r#"{"k": {"k": {"k": 1}}, "j": [{"k": 1}, {"k": 2}]}"#).is_ok());
    }

    fn nested(depth: usize) -> String {
        let mut text = String::new();
        for i in 0..depth {
            text.push_str(if i % 2 == 0 { "[" } else { "{\"k\":" });
        }
        text.push('1');
        for i in (0..depth).rev() {
            text.push(if i % 2 == 0 { ']' } else { '}' });
        }
        text
    }

    #[test]
    fn depth_limit_is_64() {
        assert!(parse(&nested(MAX_DEPTH)).is_ok());
        assert_eq!(
            parse(&nested(MAX_DEPTH + 1)),
            Err(JsonError::TooDeep { limit: 64 })
        );
        // Far beyond serde_json's 128: refused early, no stack exhaustion.
        let deep = "[".repeat(100_000);
        assert_eq!(parse(&deep), Err(JsonError::TooDeep { limit: 64 }));
        // Depth counts nesting, not the number of siblings.
        let wide = format!("[{}]", vec![nested(MAX_DEPTH - 1); 100].join(","));
        assert!(parse(&wide).is_ok());
    }

    #[test]
    fn trailing_data_is_refused() {
        assert_eq!(parse("{} {}"), Err(JsonError::TrailingData));
        assert_eq!(parse("1 2"), Err(JsonError::TrailingData));
        assert_eq!(parse("null x"), Err(JsonError::TrailingData));
        assert_eq!(parse("[]]"), Err(JsonError::TrailingData));
        assert_eq!(parse("\"a\"\u{0}"), Err(JsonError::TrailingData));
        assert_eq!(parse(" \t\r\n{} \t\r\n").ok(), Some(json!({})));
        assert_eq!(parse("1").ok(), Some(json!(1)));
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let err = parse("{\n  \"a\": 1,\n  \"é\": tru\n}").expect_err("bad literal");
        assert_eq!(
            err,
            JsonError::Syntax {
                line: 3,
                column: 8,
                message: "expected a json value".to_owned()
            }
        );
        assert_eq!(err.to_string(), "expected a json value at line 3, column 8");
        for text in ["", "   ", "[1,", "{\"a\"", "{\"a\":"] {
            assert!(
                matches!(parse(text), Err(JsonError::Syntax { ref message, .. }) if message == "unexpected end of input"),
                "{text:?}"
            );
        }
        for text in [
            "[1,]",
            "{\"a\":1,}",
            "{a:1}",
            "[1 2]",
            "{\"a\" 1}",
            "\u{feff}{}",
            "'a'",
        ] {
            assert!(
                matches!(parse(text), Err(JsonError::Syntax { .. })),
                "{text:?}"
            );
        }
    }

    #[test]
    fn invalid_utf8_is_refused() {
        assert_eq!(
            parse_strict(b"[\"ab\xff\"]"),
            Err(JsonError::InvalidUtf8 { offset: 4 })
        );
        // An encoded surrogate (CESU-8) is not UTF-8 either.
        assert_eq!(
            parse_strict(b"\"\xed\xa0\x80\""),
            Err(JsonError::InvalidUtf8 { offset: 1 })
        );
    }

    // --- integers only -----------------------------------------------------------------------

    #[test]
    fn integers_only_accepts_safe_integers() {
        let v = parse(
            r#"{"a": [0, -1, 9007199254740991, -9007199254740991], "b": {"c": true, "d": null, "e": "1.5"}}"#,
        )
        .expect("valid");
        assert_eq!(check_integers_only(&v), Ok(()));
    }

    #[test]
    fn integers_only_names_the_first_offender() {
        let v = parse(r#"{"payload": {"body": {"name": "x", "age": 1.5}}}"#).expect("valid");
        let err = check_integers_only(&v).expect_err("float");
        assert_eq!(
            err,
            NumberError {
                path: "/payload/body/age".to_owned(),
                number: "1.5".to_owned()
            }
        );
        assert_eq!(
            err.to_string(),
            "number 1.5 at /payload/body/age is not an integer: wire format v1 allows integers only"
        );

        // Canonical (UTF-16) order decides which is first; tokens are RFC 6901 escaped.
        let v = parse(r#"{"z": 7, "a/b": [1, 2, {"~": 1e2}], "\ufb33": 3.5, "😀": 2.5}"#)
            .expect("valid");
        let err = check_integers_only(&v).expect_err("float");
        assert_eq!(err.path, "/a~1b/2/~0");
        assert_eq!(err.number, "100.0");

        let mut v = v;
        v["a/b"][2]["~"] = json!(100);
        let err = check_integers_only(&v).expect_err("float");
        assert_eq!((err.path.as_str(), err.number.as_str()), ("/😀", "2.5"));
    }

    #[test]
    fn integers_only_edges() {
        let refused: [(&str, &str); 7] = [
            ("9007199254740992", "9007199254740992"),
            ("-9007199254740992", "-9007199254740992"),
            ("18446744073709551615", "18446744073709551615"),
            ("1.0", "1.0"),
            ("1e2", "100.0"),
            ("-0", "-0.0"),
            ("0.5", "0.5"),
        ];
        for (text, number) in refused {
            let v = parse(text).expect("valid");
            let err = check_integers_only(&v).expect_err(text);
            assert_eq!(
                (err.path.as_str(), err.number.as_str()),
                ("", number),
                "{text}"
            );
        }
        let err = check_integers_only(&json!([9_007_199_254_740_992_u64])).expect_err("big");
        assert_eq!(
            err.to_string(),
            "number 9007199254740992 at /0 is out of range: wire format v1 allows integers from -(2^53-1) to 2^53-1 only"
        );
        let err = check_integers_only(&json!(0.5)).expect_err("float");
        assert_eq!(
            err.to_string(),
            "number 0.5 at the root is not an integer: wire format v1 allows integers only"
        );
        for ok in [
            "9007199254740991",
            "-9007199254740991",
            "0",
            "[]",
            "{}",
            "\"1.5\"",
        ] {
            assert_eq!(
                check_integers_only(&parse(ok).expect("valid")),
                Ok(()),
                "{ok}"
            );
        }
    }

    #[test]
    fn number_errors_name_the_number_as_sent() {
        // 2^64 does not fit u64: parsed to the double 2^64, displayed as 1.8446744073709552e19
        // unless the source text is consulted.
        let text = r#"{"header": {"seq": 18446744073709551616, "z": 1}, "a": [0, -0, 1E2]}"#;
        let v = parse(text).expect("valid");
        let err = check_integers_only(&v).expect_err("too large");
        assert_eq!(err.path, "/a/1");
        let err = err.as_sent(text.as_bytes());
        assert_eq!(err.number, "-0");
        assert_eq!(
            err.to_string(),
            "number -0 at /a/1 is not an integer: wire format v1 allows integers only, and -0 is the double negative zero"
        );

        let mut v = v;
        v["a"] = json!([]);
        let err = check_integers_only(&v).expect_err("too large");
        assert!(err.number.contains("e"), "{}", err.number);
        let err = err.as_sent(text.as_bytes());
        assert_eq!(
            err.to_string(),
            "number 18446744073709551616 at /header/seq is out of range: wire format v1 allows integers from -(2^53-1) to 2^53-1 only"
        );

        for (source, path, expected) in [
            (text, "/a/2", Some("1E2")),
            (text, "/a/0", Some("0")),
            (text, "/header/z", Some("1")),
            (text, "/header", None),
            (text, "/a/3", None),
            (text, "/b", None),
            (text, "a", None),
            (r#" -12.5e3 "#, "", Some("-12.5e3")),
            (r#"{"a/b": {"~": [7]}}"#, "/a~1b/~0/0", Some("7")),
            (r#"{"k\u00e9": 3}"#, "/k\u{e9}", Some("3")),
            ("not json", "", None),
        ] {
            assert_eq!(
                number_text_at(source.as_bytes(), path),
                expected,
                "{source} {path}"
            );
        }
        // No number at the path: the error is kept as it was.
        let err = NumberError {
            path: "/x".to_owned(),
            number: "1.5".to_owned(),
        };
        assert_eq!(err.clone().as_sent(b"{\"x\": \"1.5\"}"), err);
    }

    // --- properties --------------------------------------------------------------------------

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-(1i64 << 53)..=(1i64 << 53)).prop_map(Value::from),
            any::<f64>()
                .prop_filter_map("finite", Number::from_f64)
                .prop_map(Value::Number),
            any::<String>().prop_map(Value::String),
            "[a-c\u{7f}\u{e000}\u{fb33}\u{ffff}\u{10000}\u{1f600}]{0,3}".prop_map(Value::String),
        ];
        leaf.prop_recursive(6, 64, 6, |inner| {
            let key = prop_oneof![
                any::<String>(),
                "[a-c\u{e000}\u{fb33}\u{ffff}\u{10000}\u{1f600}]{0,3}",
            ];
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(key, inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn canonical_bytes_reparse_to_the_same_canonical_bytes(v in arb_value()) {
            let canonical = canonicalize(&v);
            let reparsed = parse_strict(&canonical);
            prop_assert!(reparsed.is_ok(), "{:?}", reparsed);
            let reparsed = reparsed.unwrap_or(Value::Null);
            prop_assert_eq!(canonicalize(&reparsed), canonical);
        }

        #[test]
        fn utf16_comparison_matches_encode_utf16(
            a in "[a\u{7f}\u{80}\u{d7ff}\u{e000}\u{ffff}\u{10000}\u{10ffff}]{0,4}|\\PC{0,4}",
            b in "[a\u{7f}\u{80}\u{d7ff}\u{e000}\u{ffff}\u{10000}\u{10ffff}]{0,4}|\\PC{0,4}",
        ) {
            prop_assert_eq!(cmp_utf16(&a, &b), a.encode_utf16().cmp(b.encode_utf16()));
        }

        #[test]
        fn doubles_round_trip_exactly(bits in any::<u64>()) {
            let f = f64::from_bits(bits);
            prop_assume!(f.is_finite());
            let text = canonicalize(&Value::Number(Number::from_f64(f).unwrap_or_else(|| 0.into())));
            // Both zeros are written "0", which parses as the integer 0 (as_f64 gives +0.0).
            let expected_bits = if f == 0.0 { 0 } else { bits };
            let parsed = parse_strict(&text).map(|v| v.as_f64().map(f64::to_bits));
            prop_assert_eq!(parsed, Ok(Some(expected_bits)));
        }

        #[test]
        fn canonical_strings_round_trip(s in any::<String>()) {
            let text = canonicalize(&Value::String(s.clone()));
            prop_assert_eq!(parse_strict(&text), Ok(Value::String(s)));
        }
    }
}
