//! Identifiers on the wire: chain ids, agency and facility ids, reference strings.

/// The id of the one authority chain.
pub const AUTHORITY_CHAIN: &str = "authority";

/// Crockford base32 alphabet in lowercase, as used by ULIDs in chain ids.
const CROCKFORD_LOWER: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Whether `s` is a valid chain id: `authority`, or `d-` followed by a 26-character ULID in
/// lowercase Crockford base32 (first character `0`-`7`, so that the ULID fits 128 bits).
pub fn is_valid_chain_id(s: &str) -> bool {
    s == AUTHORITY_CHAIN || is_detainee_chain_id(s)
}

/// Whether `s` is a detainee chain id (`d-` + lowercase ULID).
pub fn is_detainee_chain_id(s: &str) -> bool {
    let Some(ulid) = s.strip_prefix("d-") else {
        return false;
    };
    let b = ulid.as_bytes();
    b.len() == 26 && (b'0'..=b'7').contains(&b[0]) && b.iter().all(|c| CROCKFORD_LOWER.contains(c))
}

/// Builds a detainee chain id from the 128 bits of a ULID (48-bit millisecond time, 80 random
/// bits). Chains are created offline at the first record, so ids need no coordination.
pub fn detainee_chain_id(ulid: u128) -> String {
    let mut out = String::with_capacity(28);
    out.push_str("d-");
    for i in (0..26).rev() {
        let idx = ((ulid >> (i * 5)) & 0x1f) as usize;
        out.push(CROCKFORD_LOWER[idx] as char);
    }
    out
}

/// Whether `s` is a valid agency or facility id: 2 to 64 characters of `a-z`, `0-9` and `-`,
/// starting with a letter or digit (e.g. `ml-gendarmerie-camp1`).
pub fn is_valid_slug(s: &str) -> bool {
    let b = s.as_bytes();
    (2..=64).contains(&b.len())
        && b[0].is_ascii_alphanumeric()
        && !b[0].is_ascii_uppercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// Longest ledger name, in bytes.
pub const MAX_LEDGER_NAME_BYTES: usize = 255;

/// Whether `s` is a valid ledger name: 1 to 255 characters of printable ASCII (`!` to `~`)
/// other than `+`, e.g. `ml.justice/custody`. The name is the origin line of the ledger's
/// checkpoints and the `ledger` member of every record's header, which binds each record to
/// its ledger.
pub fn is_valid_ledger_name(s: &str) -> bool {
    (1..=MAX_LEDGER_NAME_BYTES).contains(&s.len())
        && s.bytes().all(|c| (b'!'..=b'~').contains(&c) && c != b'+')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_names() {
        assert!(is_valid_ledger_name("custody-ledger.demo.ml"));
        assert!(is_valid_ledger_name("ml.justice/custody"));
        for bad in ["", "a b", "a+b", "caf\u{e9}", "a\tb", &"x".repeat(256)] {
            assert!(!is_valid_ledger_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn chain_ids() {
        let id = detainee_chain_id(0x0191_2345_6789_abcd_ef01_2345_6789_abcd);
        assert!(is_valid_chain_id(&id), "{id}");
        assert_eq!(id.len(), 28);
        assert!(is_valid_chain_id("authority"));
        assert!(!is_valid_chain_id("d-01JD8X3K5Q7V9W2Y4Z6B8C0E1F"));
        assert!(!is_valid_chain_id("d-81jd8x3k5q7v9w2y4z6b8c0e1f"));
        assert!(!is_valid_chain_id("d-01jd8x3k5q7v9w2y4z6b8c0e1"));
        assert!(!is_valid_chain_id("d-01jd8x3k5q7v9w2y4z6b8c0eil"));
    }

    #[test]
    fn slugs() {
        assert!(is_valid_slug("ml-gendarmerie-camp1"));
        assert!(!is_valid_slug("-x"));
        assert!(!is_valid_slug("Camp"));
        assert!(!is_valid_slug("a"));
        assert!(!is_valid_slug("a_b"));
    }
}
