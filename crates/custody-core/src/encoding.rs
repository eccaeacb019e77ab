//! Byte encodings used on the wire: lowercase hex and unpadded base64url, both decoded strictly
//! (a value has exactly one accepted spelling, so the bytes signed are the bytes checked).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

/// Encodes bytes as lowercase hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0x0f) as usize] as char);
    }
    out
}

/// Decodes exactly `N` bytes of lowercase hexadecimal; uppercase, odd lengths and other
/// characters are refused.
pub fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let s = s.as_bytes();
    if s.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (i, pair) in s.chunks_exact(2).enumerate() {
        out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Encodes bytes as unpadded base64url (RFC 4648 section 5).
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes unpadded base64url strictly: padding, non-alphabet characters and non-zero trailing
/// bits are refused.
pub fn unb64url(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

/// Encodes bytes as standard padded base64 (RFC 4648 section 4), as used by signed notes and
/// proof files.
pub fn b64std(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard padded base64 strictly.
pub fn unb64std(s: &str) -> Option<Vec<u8>> {
    STANDARD.decode(s).ok()
}

/// At most the first 64 characters of `s`, followed by `…` and the full length in bytes when
/// it is longer: what an error message repeats of a received value.
pub fn excerpt(s: &str) -> String {
    const KEEP: usize = 64;
    match s.char_indices().nth(KEEP) {
        None => s.to_string(),
        Some((end, _)) => format!("{}… ({} bytes)", &s[..end], s.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_strictness() {
        let b = [0u8, 1, 0xab, 0xff];
        assert_eq!(hex(&b), "0001abff");
        assert_eq!(unhex::<4>("0001abff"), Some(b));
        assert_eq!(unhex::<4>("0001ABFF"), None);
        assert_eq!(unhex::<4>("0001abf"), None);
        assert_eq!(unhex::<4>("0001abfg"), None);
    }

    #[test]
    fn b64url_is_unpadded_and_strict() {
        assert_eq!(b64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(unb64url("-_8"), Some(vec![0xfb, 0xff]));
        assert_eq!(unb64url("-_8="), None);
        // "-_9" carries non-zero trailing bits: another spelling of the same bytes is refused.
        assert_eq!(unb64url("-_9"), None);
    }
}
