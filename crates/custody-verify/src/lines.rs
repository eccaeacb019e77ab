//! A JSONL ledger read in bounded batches of lines.

use std::collections::HashSet;
use std::io::{BufRead, Read};
use std::ops::Range;

use custody_core::validate::look_back_target;
use custody_core::{Hash, Record};
use memchr::memmem::Finder;

use crate::pipeline::Slot;
use crate::{Failure, Verifier};

/// The longest line read as a record, in bytes: 64 times the largest payload a validator
/// accepts by default (64 KiB); a longer line is refused (rule `format`) without being held.
pub const MAX_LINE_BYTES: usize = 4 << 20;
/// A batch of lines stops growing once it holds this many bytes.
pub const MAX_BATCH_BYTES: usize = 16 << 20;

/// Lines read from a JSONL input, with their numbers.
struct LineReader<R> {
    input: R,
    /// Lines read so far.
    line: u64,
    /// Bytes read so far (from the start of the file).
    offset: u64,
    /// The first of the blank lines just read (tolerated at the end of a file only).
    blank: Option<u64>,
    /// Nothing more to read: the end, or a line that ends the verification.
    done: bool,
}

/// One batch of lines: their bytes back to back.
#[derive(Debug, Default)]
struct LineBatch {
    bytes: Vec<u8>,
    lines: Vec<Line>,
}

/// One line of a batch.
#[derive(Debug)]
struct Line {
    number: u64,
    /// Where the line starts and ends (after its line ending) in the file.
    span: (u64, u64),
    kind: LineKind,
}

#[derive(Debug)]
enum LineKind {
    /// The line's text (without its line ending) in the batch's bytes.
    Text(Range<usize>),
    /// A line refused before parsing, and why.
    Refused(String),
}

impl LineBatch {
    fn slots(&self) -> Vec<Slot<'_>> {
        self.lines
            .iter()
            .map(|line| match &line.kind {
                LineKind::Text(range) => {
                    Slot::text(line.number, line.span, &self.bytes[range.clone()])
                }
                LineKind::Refused(why) => Slot::refused(line.number, why.clone()),
            })
            .collect()
    }

    fn texts(&self) -> impl Iterator<Item = &[u8]> {
        self.lines.iter().filter_map(|line| match &line.kind {
            LineKind::Text(range) => Some(&self.bytes[range.clone()]),
            LineKind::Refused(_) => None,
        })
    }
}

impl<R: BufRead> LineReader<R> {
    fn new(input: R) -> Self {
        LineReader {
            input,
            line: 0,
            offset: 0,
            blank: None,
            done: false,
        }
    }

    /// Replaces the batch with the next lines: at most `max_lines`, and no more once
    /// [`MAX_BATCH_BYTES`] are held. An empty batch: the end of the input.
    fn fill(&mut self, batch: &mut LineBatch, max_lines: usize) -> std::io::Result<()> {
        batch.bytes.clear();
        batch.lines.clear();
        while !self.done && batch.lines.len() < max_lines && batch.bytes.len() < MAX_BATCH_BYTES {
            let start = batch.bytes.len();
            let read = (&mut self.input)
                .take(MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut batch.bytes)?;
            if read == 0 {
                self.done = true;
                break;
            }
            self.line += 1;
            let line_start = self.offset;
            self.offset += read as u64;
            let mut end = batch.bytes.len();
            let ended = batch.bytes[end - 1] == b'\n';
            if !ended && read > MAX_LINE_BYTES {
                batch.bytes.truncate(start);
                let why = format!(
                    "the line is longer than {MAX_LINE_BYTES} bytes, which no record is: a JSONL \
                     export holds one record per line"
                );
                self.refuse(batch, self.line, why);
                break;
            }
            if ended {
                end -= 1;
                if end > start && batch.bytes[end - 1] == b'\r' {
                    end -= 1;
                }
            }
            if batch.bytes[start..end].iter().all(u8::is_ascii_whitespace) {
                self.blank.get_or_insert(self.line);
                batch.bytes.truncate(start);
                continue;
            }
            if self.blank.is_some() {
                // A record after a blank line: the blank line is refused.
                batch.bytes.truncate(start);
                self.refuse(batch, self.line, BLANK.to_string());
                break;
            }
            batch.lines.push(Line {
                number: self.line,
                span: (line_start, self.offset),
                kind: LineKind::Text(start..end),
            });
        }
        Ok(())
    }

    /// Ends the input with a refused line (a blank line before it is refused first).
    fn refuse(&mut self, batch: &mut LineBatch, number: u64, why: String) {
        self.done = true;
        let (number, why) = match self.blank {
            Some(blank) => (blank, BLANK.to_string()),
            None => (number, why),
        };
        batch.lines.push(Line {
            number,
            span: (self.offset, self.offset),
            kind: LineKind::Refused(why),
        });
    }
}

const BLANK: &str = "the line is empty: a JSONL export holds one record per line";

/// Verifies the lines of `input`, batch after batch, reading the next batch while one is
/// verified. Returns the first failure.
pub(crate) fn verify<R: BufRead + Send>(
    v: &mut Verifier,
    input: R,
) -> std::io::Result<Option<Failure>> {
    verify_from(v, input, 0, None)
}

/// Skips the first `skip` lines of `input` (verified before), unread as records: the bytes
/// skipped.
fn skip_lines<R: BufRead>(input: &mut R, skip: u64) -> std::io::Result<u64> {
    let mut scratch = Vec::new();
    let mut bytes = 0;
    for _ in 0..skip {
        scratch.clear();
        let read = input.read_until(b'\n', &mut scratch)?;
        if read == 0 {
            break;
        }
        bytes += read as u64;
    }
    Ok(bytes)
}

/// [`verify`] of the lines after the first `skip` (verified before, by a saved state's
/// verification): lines are numbered from `skip + 1`. `at`: the input starts after line
/// `.0`, at byte `.1` of the file (it was sought there), instead of at its first line.
pub(crate) fn verify_from<R: BufRead + Send>(
    v: &mut Verifier,
    mut input: R,
    skip: u64,
    at: Option<(u64, u64)>,
) -> std::io::Result<Option<Failure>> {
    let skipped = skip_lines(&mut input, skip)?;
    let batch_size = v.batch;
    let mut reader = LineReader::new(input);
    (reader.line, reader.offset) = at.unwrap_or((skip, skipped));
    let mut current = LineBatch::default();
    let mut next = LineBatch::default();
    reader.fill(&mut current, batch_size)?;
    while !current.lines.is_empty() {
        let slots = current.slots();
        let (verdict, read) = v.run_beside(&slots, |_| {}, || reader.fill(&mut next, batch_size));
        if let Err(failure) = verdict {
            return Ok(Some(failure));
        }
        read?;
        drop(slots);
        std::mem::swap(&mut current, &mut next);
    }
    Ok(None)
}

/// The look-back records after the first `skip` lines of a JSONL ledger: (record hash, the
/// event it points at).
pub(crate) fn look_back_pairs_jsonl(
    mut input: impl BufRead,
    skip: u64,
) -> std::io::Result<Vec<(Hash, Hash)>> {
    skip_lines(&mut input, skip)?;
    let finders = [
        Finder::new("correction"),
        Finder::new("redaction"),
        Finder::new("\\u"),
    ];
    let mut pairs = Vec::new();
    let mut reader = LineReader::new(input);
    let mut batch = LineBatch::default();
    loop {
        reader.fill(&mut batch, 4096)?;
        if batch.lines.is_empty() {
            return Ok(pairs);
        }
        for text in batch.texts() {
            if !finders.iter().any(|f| f.find(text).is_some()) {
                continue;
            }
            if let Ok(record) = Record::from_json(text) {
                if let Some(target) = look_back_target(&record) {
                    pairs.push((record.hash, target));
                }
            }
        }
    }
}

/// The look-back targets of a JSONL ledger (the events its corrections and redactions point
/// at), for [`Verifier::remember_only`]: the first pass of [`Verifier::verify_jsonl`]. Only
/// lines that may hold one are parsed: those that spell `correction` or `redaction`, or that
/// use a `\u` escape (which could spell a kind without its letters); a line that is not a
/// record is left to the verification, which reports it.
pub fn look_back_targets_jsonl(input: impl BufRead) -> std::io::Result<HashSet<Hash>> {
    let finders = [
        Finder::new("correction"),
        Finder::new("redaction"),
        Finder::new("\\u"),
    ];
    let mut targets = HashSet::new();
    let mut reader = LineReader::new(input);
    let mut batch = LineBatch::default();
    loop {
        reader.fill(&mut batch, 4096)?;
        if batch.lines.is_empty() {
            return Ok(targets);
        }
        for text in batch.texts() {
            if !finders.iter().any(|f| f.find(text).is_some()) {
                continue;
            }
            if let Some(target) = Record::from_json(text)
                .ok()
                .as_ref()
                .and_then(look_back_target)
            {
                targets.insert(target);
            }
        }
    }
}
