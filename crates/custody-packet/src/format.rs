//! The packet container: a first line, then sections, each `<type> <length>\n`, exactly
//! `<length>` bytes, then `\n`; written and read as a stream.
//!
//! ```text
//! custody-ledger/packet/v1\n
//! manifest <n>\n<canonical JSON of the manifest>\n
//! record <n>\n<canonical JSON of a record>\n          one per record, in ledger order
//! checkpoint <n>\n<signed checkpoint note>\n
//! proof <n>\n<c2sp.org/tlog-proof@v1 text>\n           one per record, in the same order
//! sealed <n>\n<a binary age file>\n                   one per sealed payload, manifest order
//! blob <n>\n<the blob's bytes>\n                       one per included evidence blob
//! end 0\n\n
//! ```
//!
//! Lengths are decimal without leading zeros; nothing follows `end`. The SHA-256 of the whole
//! file is the packet digest shown to sender and receiver.

use std::io::{self, BufRead, Write};

use custody_core::authority::TrustAnchors;
use custody_core::Record;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// First line of a packet (without its line feed).
pub const MAGIC: &str = "custody-ledger/packet/v1";

/// Largest section other than a blob: 16 MiB (a manifest of a very long chain).
pub const MAX_SMALL_SECTION: u64 = 16 << 20;

/// The section types, in the order they come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// The manifest (first, once).
    Manifest,
    /// A record.
    Record,
    /// The checkpoint (once).
    Checkpoint,
    /// A tlog-proof.
    Proof,
    /// A sealed payload: the payload encrypted (age) to the receiver's medical keys.
    Sealed,
    /// An evidence blob.
    Blob,
    /// The end (last, length 0).
    End,
}

impl Section {
    /// The type's name in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Section::Manifest => "manifest",
            Section::Record => "record",
            Section::Checkpoint => "checkpoint",
            Section::Proof => "proof",
            Section::Sealed => "sealed",
            Section::Blob => "blob",
            Section::End => "end",
        }
    }

    fn parse(s: &str) -> Option<Section> {
        Some(match s {
            "manifest" => Section::Manifest,
            "record" => Section::Record,
            "checkpoint" => Section::Checkpoint,
            "proof" => Section::Proof,
            "sealed" => Section::Sealed,
            "blob" => Section::Blob,
            "end" => Section::End,
            _ => return None,
        })
    }
}

/// A payload the sender did not put in the packet (the record travels with its header).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Withheld {
    /// Event hash.
    pub event: String,
    /// Its kind.
    pub kind: String,
    /// `restricted` (medical or risk data, under medical confidentiality, not in the packet),
    /// `sealed` (the same, in the packet encrypted to [`Withheld::recipients`]), `redacted` (the
    /// ledger holds no payload: lawfully removed) or `missing` (the sender's store lacks it).
    pub reason: String,
    /// The keys (`ed25519:...`) a `sealed` payload is encrypted to; present only then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipients: Option<Vec<String>>,
}

impl Withheld {
    /// Whether the payload travels sealed.
    pub fn is_sealed(&self) -> bool {
        self.reason == SEALED
    }
}

/// The `reason` of a sealed payload.
pub const SEALED: &str = "sealed";
/// The `reason` of a restricted payload that does not travel.
pub const RESTRICTED: &str = "restricted";

/// One `evidence_added` record whose body the packet carries, and whether its blob is in the
/// packet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceEntry {
    /// The `evidence_added` event's hash.
    pub event: String,
    /// The body's `content_digest`.
    pub digest: String,
    /// The body's `size_bytes`.
    pub size_bytes: u64,
    /// Whether a `blob` section holds it (in the order of these entries).
    pub included: bool,
    /// Why it is not included (`too_large`, `not_in_store`), when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The packet's first section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`MAGIC`].
    pub format: String,
    /// The ledger's name.
    pub ledger: String,
    /// The detainee chain.
    pub chain: String,
    /// Its human code.
    pub code: String,
    /// When the packet was made (as the sender's clock says).
    pub exported_at: String,
    /// The ledger's trust anchors (`trust.json`), as the sender gives them.
    pub trust: TrustAnchors,
    /// The ledger's checkpoint verifier key, as the sender gives it.
    pub ledger_vkey: String,
    /// Number of `record` sections (and of `proof` sections).
    pub records: u64,
    /// Payloads not in the packet, in ledger order.
    pub withheld: Vec<Withheld>,
    /// Evidence, in ledger order of the `evidence_added` records.
    pub evidence: Vec<EvidenceEntry>,
}

/// Writes a packet section by section, hashing every byte written.
pub struct PacketWriter<W: Write> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> PacketWriter<W> {
    /// Writes the first line and the manifest.
    pub fn new(inner: W, manifest: &Manifest) -> io::Result<Self> {
        let mut w = PacketWriter {
            inner,
            hasher: Sha256::new(),
        };
        w.raw(format!("{MAGIC}\n").as_bytes())?;
        let value = serde_json::to_value(manifest).map_err(io::Error::other)?;
        w.section(Section::Manifest, &custody_core::jcs::canonicalize(&value))?;
        Ok(w)
    }

    fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.hasher.update(bytes);
        self.inner.write_all(bytes)
    }

    /// Writes a whole section.
    pub fn section(&mut self, kind: Section, body: &[u8]) -> io::Result<()> {
        self.begin(kind, body.len() as u64)?;
        self.raw(body)?;
        self.raw(b"\n")
    }

    /// Writes a record section.
    pub fn record(&mut self, record: &Record) -> io::Result<()> {
        self.section(Section::Record, record.to_json_line().as_bytes())
    }

    /// Starts a section of `len` bytes whose body the caller writes with [`Self::write_body`],
    /// then ends with [`Self::end_body`].
    pub fn begin(&mut self, kind: Section, len: u64) -> io::Result<()> {
        self.raw(format!("{} {len}\n", kind.as_str()).as_bytes())
    }

    /// Writes part of a section body begun with [`Self::begin`].
    pub fn write_body(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.raw(bytes)
    }

    /// Ends a section body begun with [`Self::begin`].
    pub fn end_body(&mut self) -> io::Result<()> {
        self.raw(b"\n")
    }

    /// Writes the end section, flushes, and returns the packet digest (SHA-256 of the file).
    pub fn finish(mut self) -> io::Result<(W, [u8; 32])> {
        self.section(Section::End, b"")?;
        self.inner.flush()?;
        Ok((self.inner, self.hasher.finalize().into()))
    }
}

/// Reads a packet section by section, hashing every byte read.
pub struct PacketReader<R: BufRead> {
    inner: R,
    hasher: Sha256,
    offset: u64,
}

fn bad(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

impl<R: BufRead> PacketReader<R> {
    /// Reads and checks the first line.
    pub fn new(inner: R) -> io::Result<Self> {
        let mut r = PacketReader {
            inner,
            hasher: Sha256::new(),
            offset: 0,
        };
        let line = r.line(64)?;
        if line != MAGIC {
            return Err(bad(format!(
                "this is not a custody transfer packet: its first line is not {MAGIC}"
            )));
        }
        Ok(r)
    }

    /// Bytes read so far (the offset in the file).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn take(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.inner.read_exact(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                bad(format!("the packet ends early, at byte {}", self.offset))
            } else {
                e
            }
        })?;
        self.hasher.update(&*buf);
        self.offset += buf.len() as u64;
        Ok(())
    }

    /// One line of at most `max` bytes, without its line feed.
    fn line(&mut self, max: usize) -> io::Result<String> {
        let mut out = Vec::new();
        loop {
            let mut b = [0u8; 1];
            self.take(&mut b)?;
            if b[0] == b'\n' {
                break;
            }
            if out.len() >= max {
                return Err(bad(format!(
                    "line at byte {} of the packet is too long to be a section header",
                    self.offset
                )));
            }
            out.push(b[0]);
        }
        String::from_utf8(out).map_err(|_| bad("a section header is not UTF-8".into()))
    }

    /// The next section's type and length.
    pub fn next_section(&mut self) -> io::Result<(Section, u64)> {
        let at = self.offset;
        let line = self.line(64)?;
        let parsed = line.split_once(' ').and_then(|(kind, len)| {
            let canonical = !len.is_empty()
                && len.bytes().all(|b| b.is_ascii_digit())
                && (len == "0" || !len.starts_with('0'));
            let len: u64 = len.parse().ok().filter(|_| canonical)?;
            Some((Section::parse(kind)?, len))
        });
        parsed.ok_or_else(|| {
            bad(format!(
                "byte {at} of the packet is not a section header `<type> <length>`: {:?}",
                custody_core::encoding::excerpt(&line)
            ))
        })
    }

    /// Reads a section body of `len` bytes (at most [`MAX_SMALL_SECTION`]) and its final line
    /// feed.
    pub fn body(&mut self, len: u64) -> io::Result<Vec<u8>> {
        if len > MAX_SMALL_SECTION {
            return Err(bad(format!(
                "a section of {len} bytes at byte {} is larger than the {MAX_SMALL_SECTION} bytes a manifest, record, checkpoint or proof may have",
                self.offset
            )));
        }
        let mut body = vec![0u8; len as usize];
        self.take(&mut body)?;
        self.end_of_body()?;
        Ok(body)
    }

    fn end_of_body(&mut self) -> io::Result<()> {
        let mut nl = [0u8; 1];
        self.take(&mut nl)?;
        if nl[0] != b'\n' {
            return Err(bad(format!(
                "the section ending at byte {} is not followed by a line feed",
                self.offset
            )));
        }
        Ok(())
    }

    /// Streams a section body of `len` bytes into `sink` in chunks (a blob), then reads its
    /// final line feed.
    pub fn stream(
        &mut self,
        len: u64,
        mut sink: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut left = len;
        let mut buf = vec![0u8; 64 * 1024];
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            self.take(&mut buf[..n])?;
            sink(&buf[..n])?;
            left -= n as u64;
        }
        self.end_of_body()
    }

    /// After the end section: checks that nothing follows and returns the packet digest.
    pub fn finish(mut self) -> io::Result<[u8; 32]> {
        let mut extra = [0u8; 1];
        match self.inner.read(&mut extra)? {
            0 => Ok(self.hasher.finalize().into()),
            _ => Err(bad(format!(
                "bytes follow the end section at byte {}",
                self.offset
            ))),
        }
    }
}
