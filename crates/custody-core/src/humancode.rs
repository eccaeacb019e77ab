//! The short human code of a detainee chain, printed on paper forms and read back by people.
//!
//! A chain id such as `d-01jd8x3k5q7v9w2y4z6b8c0e1f` is too long to copy by hand reliably. The
//! code is `XXXX-XXXX-C`: the first 40 bits of SHA-256 of the chain id, as 8 Crockford base32
//! characters, then a Crockford check symbol.
//!
//! Design choices:
//! - Crockford base32 (`0123456789ABCDEFGHJKMNPQRSTVWXYZ`) has no I, L, O or U, so the usual
//!   misreadings cannot produce another valid character; on input, O is read as 0 and I or L as
//!   1, case is ignored, and hyphens and spaces are ignored, as Crockford specifies.
//! - The check symbol is the 40-bit value modulo 37, written with the 37 Crockford check
//!   symbols (`0-9`, `A-Z` without I L O U, then `*~$=U`). Because 37 is prime and larger than
//!   the 32 digit values, every single-character substitution changes the value by
//!   `d * 32^k` with `0 < |d| < 37`, and every transposition of adjacent distinct characters by
//!   `(a - b) * 31 * 32^k`, neither of which is a multiple of 37: both kinds of typo are always
//!   detected (the tests check it exhaustively over random codes).
//! - The code is a lookup key, not an identifier: 40 bits make accidental collisions unlikely
//!   for any realistic number of chains, but the full chain id stays authoritative, and a system
//!   resolving a code must handle (and report) a collision. The code is derived by hashing
//!   rather than taken from the ULID so that it carries no creation time.
//! - [`code_for_chain`] hashes whatever it is given; validating the chain id is the job of the
//!   record validation, not of this presentation helper.

use sha2::{Digest as _, Sha256};

/// The 32 Crockford base32 digits.
const DIGITS: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// The 37 Crockford check symbols: the digits, then `*~$=U` for values 32 to 36.
const CHECK_SYMBOLS: &[u8; 37] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U";
/// Number of data characters in a code.
const DATA_CHARS: usize = 8;

/// Why a typed code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodeError {
    /// The code does not have 8 data characters and 1 check character.
    #[error(
        "code has {found} characters, expected 9 (8 code characters and 1 check character; \
         hyphens and spaces do not count)"
    )]
    WrongLength {
        /// Characters found, hyphens and spaces not counted.
        found: usize,
    },
    /// A character is not a Crockford base32 digit (or, in last position, check symbol).
    #[error(
        "code contains {character:?} at position {position}, which is not a valid code character"
    )]
    InvalidCharacter {
        /// The offending character, as typed.
        character: char,
        /// Its 1-based position, hyphens and spaces not counted.
        position: usize,
    },
    /// The check symbol does not match the data characters.
    #[error("code {code} fails its check character: a character was probably mistyped")]
    CheckMismatch {
        /// The code as read, in canonical layout.
        code: String,
    },
}

/// The human code `XXXX-XXXX-C` of a chain id.
pub fn code_for_chain(chain_id: &str) -> String {
    let digest = Sha256::digest(chain_id.as_bytes());
    let value = digest
        .iter()
        .take(5)
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    format_code(value)
}

/// Canonical layout of a 40-bit value with its check symbol.
fn format_code(value: u64) -> String {
    let mut out = String::with_capacity(DATA_CHARS + 3);
    for i in 0..DATA_CHARS {
        if i == 4 {
            out.push('-');
        }
        let shift = 5 * (DATA_CHARS - 1 - i);
        out.push(char::from(DIGITS[((value >> shift) & 31) as usize]));
    }
    out.push('-');
    out.push(char::from(CHECK_SYMBOLS[(value % 37) as usize]));
    out
}

/// Crockford reading of one character: case-insensitive, O as 0, I and L as 1.
fn canonical_char(c: char) -> char {
    match c.to_ascii_uppercase() {
        'O' => '0',
        'I' | 'L' => '1',
        other => other,
    }
}

/// Value of a data character, if it is one.
fn digit_value(c: char) -> Option<u64> {
    let c = canonical_char(c);
    DIGITS
        .iter()
        .position(|&d| char::from(d) == c)
        .map(|p| p as u64)
}

/// Value of a check symbol, if it is one.
fn check_value(c: char) -> Option<u64> {
    let c = canonical_char(c);
    CHECK_SYMBOLS
        .iter()
        .position(|&d| char::from(d) == c)
        .map(|p| p as u64)
}

/// Reads a typed code leniently (lowercase, O/I/L, hyphens and spaces anywhere), verifies its
/// check symbol and returns it in canonical form `XXXX-XXXX-C`.
pub fn normalize_code(input: &str) -> Result<String, CodeError> {
    let chars: Vec<char> = input
        .chars()
        .filter(|&c| c != '-' && !c.is_whitespace())
        .collect();
    let (check, data) = match chars.split_last() {
        Some((check, data)) if data.len() == DATA_CHARS => (*check, data),
        _ => return Err(CodeError::WrongLength { found: chars.len() }),
    };
    let mut value = 0u64;
    for (i, &c) in data.iter().enumerate() {
        let d = digit_value(c).ok_or(CodeError::InvalidCharacter {
            character: c,
            position: i + 1,
        })?;
        value = (value << 5) | d;
    }
    let check_typed = check_value(check).ok_or(CodeError::InvalidCharacter {
        character: check,
        position: DATA_CHARS + 1,
    })?;
    let canonical = format_code(value);
    if check_typed != value % 37 {
        // Show what was read, with the typed check symbol.
        let mut code = canonical;
        code.pop();
        code.push(canonical_char(check));
        return Err(CodeError::CheckMismatch { code });
    }
    Ok(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CHAIN: &str = "d-01jd8x3k5q7v9w2y4z6b8c0e1f";

    /// Independent computation of the code from the digest bits, as a big integer in Python
    /// would do it.
    fn slow_code(chain_id: &str) -> String {
        let digest = Sha256::digest(chain_id.as_bytes());
        let bits: String = digest[..5].iter().map(|b| format!("{b:08b}")).collect();
        let mut data = String::new();
        let mut value: u64 = 0;
        for chunk in bits.as_bytes().chunks(5) {
            let v = u8::from_str_radix(std::str::from_utf8(chunk).unwrap(), 2).unwrap();
            data.push(DIGITS[v as usize] as char);
            value = value * 32 + u64::from(v);
        }
        let check = CHECK_SYMBOLS[(value % 37) as usize] as char;
        format!("{}-{}-{check}", &data[..4], &data[4..])
    }

    #[test]
    fn code_layout_and_known_answer() {
        let code = code_for_chain(CHAIN);
        assert_eq!(code, slow_code(CHAIN));
        assert_eq!(code.len(), 11);
        assert_eq!(&code[4..5], "-");
        assert_eq!(&code[9..10], "-");
        assert_eq!(code, KNOWN);
        assert_eq!(normalize_code(&code).unwrap(), code);
    }

    /// SHA-256("d-01jd8x3k5q7v9w2y4z6b8c0e1f") starts with c15840d517 = 830409331991, which
    /// is R5C4-1N8Q in base32 and 8 mod 37 (computed independently, with Python).
    const KNOWN: &str = "R5C4-1N8Q-8";

    #[test]
    fn lenient_reading() {
        let code = code_for_chain(CHAIN);
        let lower = code.to_lowercase();
        assert_eq!(normalize_code(&lower).unwrap(), code);
        let spaced: String = code.chars().filter(|&c| c != '-').collect::<String>();
        assert_eq!(normalize_code(&spaced).unwrap(), code);
        let odd = format!(" {} {} ", &spaced[..3], &spaced[3..]);
        assert_eq!(normalize_code(&odd).unwrap(), code);
        // O read as 0, I and L read as 1.
        assert_eq!(normalize_code("0000-0000-0").unwrap(), "0000-0000-0");
        assert_eq!(normalize_code("oOoo-0000-o").unwrap(), "0000-0000-0");
        // 0x0842108421 = 1 in every 5-bit group.
        let ones = format_code(0x08_4210_8421);
        assert_eq!(&ones[..9], "1111-1111");
        let typed = format!("iIlL-1111-{}", ones.chars().last().unwrap());
        assert_eq!(normalize_code(&typed).unwrap(), ones);
    }

    #[test]
    fn check_symbols_beyond_the_digits() {
        // Values whose remainder mod 37 is 32..=36 use *~$=U; U is accepted in lowercase.
        for (rem, sym) in (32u64..37).zip(['*', '~', '$', '=', 'U']) {
            let code = format_code(rem);
            assert!(code.ends_with(sym), "{code}");
            assert_eq!(normalize_code(&code).unwrap(), code);
            assert_eq!(normalize_code(&code.to_lowercase()).unwrap(), code);
        }
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(
            normalize_code("7K3M-Q9X-5"),
            Err(CodeError::WrongLength { found: 8 })
        );
        assert_eq!(normalize_code(""), Err(CodeError::WrongLength { found: 0 }));
        assert_eq!(
            normalize_code("7K3M-Q9XZ-55"),
            Err(CodeError::WrongLength { found: 10 })
        );
        assert_eq!(
            normalize_code("7K3U-Q9XZ-5"),
            Err(CodeError::InvalidCharacter {
                character: 'U',
                position: 4
            })
        );
        assert_eq!(
            normalize_code("7K3M-Q9XZ-#"),
            Err(CodeError::InvalidCharacter {
                character: '#',
                position: 9
            })
        );
        assert_eq!(
            normalize_code("7K3M-Q9XZ-\u{d6}"),
            Err(CodeError::InvalidCharacter {
                character: '\u{d6}',
                position: 9
            })
        );
        // 7K3MQ9XZ is 0 mod 37: its check symbol is 0, not 5.
        assert_eq!(normalize_code("7K3M-Q9XZ-0").unwrap(), "7K3M-Q9XZ-0");
        let err = normalize_code("7k3m q9xz 5").unwrap_err();
        assert_eq!(
            err.to_string(),
            "code 7K3M-Q9XZ-5 fails its check character: a character was probably mistyped"
        );
        assert_eq!(
            CodeError::WrongLength { found: 8 }.to_string(),
            "code has 8 characters, expected 9 (8 code characters and 1 check character; \
             hyphens and spaces do not count)"
        );
    }

    fn data_chars(code: &str) -> Vec<u8> {
        code.bytes().filter(|&b| b != b'-').take(8).collect()
    }

    fn assemble(data: &[u8], check: char) -> String {
        let data = std::str::from_utf8(data).unwrap();
        format!("{}-{}-{check}", &data[..4], &data[4..])
    }

    proptest! {
        #[test]
        fn round_trip(id in "d-[0-9a-hjkmnp-tv-z]{26}") {
            let code = code_for_chain(&id);
            prop_assert_eq!(&code, &slow_code(&id));
            prop_assert_eq!(normalize_code(&code).unwrap(), code.clone());
            prop_assert_eq!(normalize_code(&code.to_lowercase()).unwrap(), code);
        }

        #[test]
        fn every_substitution_is_detected(value in 0u64..(1 << 40)) {
            let code = format_code(value);
            let check = code.chars().last().unwrap();
            let data = data_chars(&code);
            for pos in 0..8 {
                for &replacement in DIGITS.iter() {
                    if replacement == data[pos] {
                        continue;
                    }
                    let mut typo = data.clone();
                    typo[pos] = replacement;
                    let typed = assemble(&typo, check);
                    let is_check_mismatch =
                        matches!(normalize_code(&typed), Err(CodeError::CheckMismatch { .. }));
                    prop_assert!(is_check_mismatch, "{} accepted for {}", typed, code);
                }
            }
            // A substituted check symbol is detected too.
            for &replacement in CHECK_SYMBOLS.iter() {
                if char::from(replacement) != check {
                    let typed = assemble(&data, char::from(replacement));
                    prop_assert!(normalize_code(&typed).is_err(), "{} accepted", typed);
                }
            }
        }

        #[test]
        fn every_adjacent_transposition_is_detected(value in 0u64..(1 << 40)) {
            let code = format_code(value);
            let check = code.chars().last().unwrap();
            let data = data_chars(&code);
            for pos in 0..7 {
                if data[pos] == data[pos + 1] {
                    continue;
                }
                let mut typo = data.clone();
                typo.swap(pos, pos + 1);
                let typed = assemble(&typo, check);
                let is_check_mismatch =
                    matches!(normalize_code(&typed), Err(CodeError::CheckMismatch { .. }));
                prop_assert!(is_check_mismatch, "{} accepted for {}", typed, code);
            }
        }
    }
}
