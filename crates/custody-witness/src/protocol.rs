//! The `add-checkpoint` wire format of C2SP `tlog-witness` v1.0.
//!
//! Request body:
//!
//! ```text
//! old <old size, decimal, no leading zeros>\n
//! <base64 of one 32-byte consistency proof hash>\n      (0 to 63 lines)
//! \n
//! <the checkpoint note: text, blank line, signature lines>
//! ```
//!
//! Responses: 200 with one cosignature line per witness key (each `— <name> <base64>\n`);
//! 409 with the witness's size as `<decimal>\n` and `Content-Type: text/x.tlog.size`; other
//! statuses with a plain-text reason.

use custody_core::encoding::{b64std, unb64std};
use custody_core::merkle::Digest;

/// Most consistency proof lines in a request (the spec's limit).
pub const MAX_PROOF_LINES: usize = 63;
/// Content type of a 409 answer's body.
pub const CONTENT_TYPE_SIZE: &str = "text/x.tlog.size";
/// Content type of the 200 answer (cosignature lines) and of error texts.
pub const CONTENT_TYPE_TEXT: &str = "text/plain; charset=utf-8";
/// Most bytes of a request body the witness reads (a note has at most 100 signature lines).
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// A parsed `add-checkpoint` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpointRequest {
    /// The size of the checkpoint the client believes the witness last cosigned.
    pub old_size: u64,
    /// The consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Digest>,
    /// The signed checkpoint note, as sent.
    pub note: String,
}

/// Why a request body is malformed (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The body is not UTF-8.
    #[error("request body is not UTF-8")]
    NotUtf8,
    /// No empty line separates the header lines from the checkpoint.
    #[error("request body has no empty line before the checkpoint")]
    NoBlankLine,
    /// The first line is not `old <decimal>`.
    #[error("first line must be \"old <size>\" with a decimal size without sign or leading zeros")]
    BadOldSize,
    /// A proof line is not standard padded base64 of 32 bytes.
    #[error("consistency proof line {line} is not standard base64 of a 32-byte hash")]
    BadProofLine {
        /// One-based number of the proof line.
        line: usize,
    },
    /// More than 63 proof lines.
    #[error("consistency proof has {got} lines: at most 63 are allowed")]
    TooManyProofLines {
        /// Lines sent.
        got: usize,
    },
    /// Nothing after the empty line.
    #[error("request body has no checkpoint after the empty line")]
    EmptyCheckpoint,
}

/// Parses a canonical decimal u64: digits only, no leading zero unless the value is 0.
pub fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// Parses a request body strictly.
pub fn parse_request(body: &[u8]) -> Result<AddCheckpointRequest, ParseError> {
    let text = std::str::from_utf8(body).map_err(|_| ParseError::NotUtf8)?;
    let (head, note) = text.split_once("\n\n").ok_or(ParseError::NoBlankLine)?;
    if note.is_empty() {
        return Err(ParseError::EmptyCheckpoint);
    }
    let mut lines = head.split('\n');
    let old_size = lines
        .next()
        .and_then(|l| l.strip_prefix("old "))
        .and_then(parse_decimal)
        .ok_or(ParseError::BadOldSize)?;
    let proof_lines: Vec<&str> = lines.collect();
    if proof_lines.len() > MAX_PROOF_LINES {
        return Err(ParseError::TooManyProofLines {
            got: proof_lines.len(),
        });
    }
    let proof = proof_lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            unb64std(l)
                .and_then(|b| <Digest>::try_from(b.as_slice()).ok())
                .ok_or(ParseError::BadProofLine { line: i + 1 })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AddCheckpointRequest {
        old_size,
        proof,
        note: note.to_owned(),
    })
}

/// Formats a request body: `old N`, the proof lines, an empty line, the note.
pub fn format_request(old_size: u64, proof: &[Digest], note: &str) -> String {
    let mut body = format!("old {old_size}\n");
    for h in proof {
        body.push_str(&b64std(h));
        body.push('\n');
    }
    body.push('\n');
    body.push_str(note);
    body
}

/// Parses a 409 body: a decimal size and a newline.
pub fn parse_size_body(body: &str) -> Option<u64> {
    body.strip_suffix('\n').and_then(parse_decimal)
}

/// Splits a 200 body into its signature lines (each keeps its final newline); `None` when the
/// body is empty or a line does not start with `— ` or lacks its newline.
pub fn parse_cosignature_lines(body: &str) -> Option<Vec<String>> {
    let body = body.strip_suffix('\n')?;
    body.split('\n')
        .map(|l| {
            (l.starts_with("\u{2014} ") && l.len() > "\u{2014} ".len()).then(|| format!("{l}\n"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_spec_example() {
        let proof = [[1u8; 32], [2u8; 32]];
        let body = format_request(20852014, &proof, "o\n1\nx\n\n\u{2014} o AAAA\n");
        assert!(body.starts_with("old 20852014\nAQEB"));
        let req = parse_request(body.as_bytes()).unwrap();
        assert_eq!(req.old_size, 20852014);
        assert_eq!(req.proof, proof);
        assert_eq!(req.note, "o\n1\nx\n\n\u{2014} o AAAA\n");

        // The example body of the spec.
        let example = "old 20852014\n\
            PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\
            jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n\
            5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n\
            /6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\
            \n\
            example.com/behind-the-sofa\n\
            20852163\n\
            CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\
            \n\
            \u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";
        let req = parse_request(example.as_bytes()).unwrap();
        assert_eq!(req.old_size, 20852014);
        assert_eq!(req.proof.len(), 4);
        assert!(req
            .note
            .starts_with("example.com/behind-the-sofa\n20852163\n"));
        // No proof.
        let req = parse_request(b"old 0\n\nnote\n").unwrap();
        assert_eq!((req.old_size, req.proof.len()), (0, 0));
    }

    #[test]
    fn malformed_bodies_are_named() {
        let h = b64std(&[7u8; 32]);
        let cases: Vec<(Vec<u8>, ParseError)> = vec![
            (b"\xff\n\nx".to_vec(), ParseError::NotUtf8),
            (b"old 1\nx\n".to_vec(), ParseError::NoBlankLine),
            (b"old 1\n\n".to_vec(), ParseError::EmptyCheckpoint),
            (b"old 01\n\nx".to_vec(), ParseError::BadOldSize),
            (b"old -1\n\nx".to_vec(), ParseError::BadOldSize),
            (b"old  1\n\nx".to_vec(), ParseError::BadOldSize),
            (b"Old 1\n\nx".to_vec(), ParseError::BadOldSize),
            (
                b"old 18446744073709551616\n\nx".to_vec(),
                ParseError::BadOldSize,
            ),
            (b"\nold 1\n\nx".to_vec(), ParseError::BadOldSize),
            (
                format!("old 1\n{h}\n{}\n\nx", &h[..43]).into_bytes(),
                ParseError::BadProofLine { line: 2 },
            ),
            (
                format!("old 1\n{}\n\nx", b64std(&[7u8; 31])).into_bytes(),
                ParseError::BadProofLine { line: 1 },
            ),
            (
                format!("old 1\n{h}\r\n\nx").into_bytes(),
                ParseError::BadProofLine { line: 1 },
            ),
            (
                format!("old 1\n{}\nx", format!("{h}\n").repeat(64)).into_bytes(),
                ParseError::TooManyProofLines { got: 64 },
            ),
        ];
        for (body, want) in cases {
            assert_eq!(parse_request(&body), Err(want.clone()), "{body:?}");
        }
        // 63 lines are fine.
        let ok = format!("old 1\n{}\nx", format!("{h}\n").repeat(63));
        assert_eq!(parse_request(ok.as_bytes()).unwrap().proof.len(), 63);
    }

    #[test]
    fn response_bodies() {
        assert_eq!(parse_size_body("42\n"), Some(42));
        assert_eq!(parse_size_body("0\n"), Some(0));
        for bad in ["42", "042\n", "\n", "4 2\n", "42\n\n"] {
            assert_eq!(parse_size_body(bad), None, "{bad:?}");
        }
        assert_eq!(
            parse_cosignature_lines("\u{2014} w AAAA\n\u{2014} v BBBB\n").unwrap(),
            ["\u{2014} w AAAA\n", "\u{2014} v BBBB\n"]
        );
        for bad in [
            "",
            "\n",
            "\u{2014} w AAAA",
            "- w AAAA\n",
            "\u{2014} w AAAA\n\n",
        ] {
            assert_eq!(parse_cosignature_lines(bad), None, "{bad:?}");
        }
    }
}
