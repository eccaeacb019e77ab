//! C2SP `tlog-proof` (c2sp.org/tlog-proof@v1): the index of an entry, its Merkle inclusion
//! proof and the checkpoint it is proved against, as text.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! index 7
//! <base64 hash>          one per line, from the leaf's sibling up (zero or more)
//!
//! <the checkpoint note, verbatim>
//! ```
//!
//! The optional `extra` line of the format is never written here, and is refused on reading:
//! a packet has nothing to put in it.

use custody_core::encoding::{b64std, unb64std};
use custody_core::merkle::Digest;

/// First line of a proof.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// A parsed proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// Leaf index (the event's ledger position).
    pub index: u64,
    /// The inclusion proof, from the leaf's sibling up.
    pub hashes: Vec<Digest>,
    /// The checkpoint note, verbatim.
    pub checkpoint: String,
}

impl TlogProof {
    /// The proof's text.
    pub fn to_text(&self) -> String {
        let mut text = format!("{HEADER}\nindex {}\n", self.index);
        for h in &self.hashes {
            text.push_str(&b64std(h));
            text.push('\n');
        }
        text.push('\n');
        text.push_str(&self.checkpoint);
        text
    }

    /// Parses a proof strictly: the header line, `index N` (decimal, no leading zero), base64
    /// hashes of 32 bytes, an empty line, then the checkpoint (not checked here).
    pub fn parse(text: &str) -> Result<TlogProof, String> {
        let rest = text
            .strip_prefix(HEADER)
            .and_then(|r| r.strip_prefix('\n'))
            .ok_or_else(|| format!("it does not start with the line {HEADER}"))?;
        if rest.starts_with("extra ") {
            return Err("it has an extra line, which a packet never holds".into());
        }
        let (line, mut rest) = rest
            .split_once('\n')
            .ok_or("it ends after its first line")?;
        let digits = line
            .strip_prefix("index ")
            .ok_or("its second line is not `index N`")?;
        let canonical = !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'));
        let index: u64 = digits.parse().ok().filter(|_| canonical).ok_or_else(|| {
            format!("index {digits:?} is not a decimal number without leading zeros")
        })?;
        let mut hashes = Vec::new();
        loop {
            let (line, after) = rest
                .split_once('\n')
                .ok_or("the proof hashes are not followed by an empty line")?;
            rest = after;
            if line.is_empty() {
                break;
            }
            let bytes = unb64std(line).filter(|b| b.len() == 32).ok_or_else(|| {
                format!("proof line {:?} is not the base64 of a 32-byte hash", line)
            })?;
            let mut h = [0u8; 32];
            h.copy_from_slice(&bytes);
            hashes.push(h);
        }
        Ok(TlogProof {
            index,
            hashes,
            checkpoint: rest.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_strictness() {
        let p = TlogProof {
            index: 5,
            hashes: vec![[1; 32], [2; 32]],
            checkpoint: "origin\n6\nAAAA\n\n— origin abc\n".into(),
        };
        let text = p.to_text();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nindex 5\nAQEB"));
        assert_eq!(TlogProof::parse(&text).unwrap(), p);
        assert!(TlogProof::parse(&text.replace("index 5", "index 05")).is_err());
        assert!(TlogProof::parse(&text.replace("index 5", "extra AA\nindex 5")).is_err());
        let empty = TlogProof {
            index: 0,
            hashes: vec![],
            checkpoint: "x\n".into(),
        };
        assert_eq!(TlogProof::parse(&empty.to_text()).unwrap(), empty);
    }
}
