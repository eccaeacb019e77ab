//! The parallel verifier decides exactly as the sequential `Validator` loop, on every published
//! vector of wire format v1 (`tests/vectors/v1/`): the valid ledger is accepted with the same
//! counts and root, and every invalid record is refused by its rule at its position, also when
//! it sits in the middle of a batch verified on several threads and a later record of the
//! same batch has a bad signature too.

use std::io::BufReader;
use std::path::PathBuf;

use custody_core::authority::TrustAnchors;
use custody_core::merkle::{leaf_hash, Frontier};
use custody_core::validate::{Validator, ValidatorConfig};
use custody_core::{Record, Rule, StateRule, Timestamp};
use custody_verify::{Failure, Report, Verifier};
use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/v1")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn trust() -> TrustAnchors {
    serde_json::from_str(&read("trust.json")).unwrap()
}

fn valid_lines() -> Vec<String> {
    read("records.jsonl").lines().map(str::to_string).collect()
}

/// Every invalid case: (file name, rule, prefix, line, clock).
fn invalid_cases() -> Vec<(String, Rule, usize, String, Option<Timestamp>)> {
    let mut cases: Vec<_> = std::fs::read_dir(dir().join("invalid"))
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let case: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                case["rule"].as_str().unwrap().parse().unwrap(),
                case["prefix"].as_u64().unwrap() as usize,
                case["line"].as_str().unwrap().to_string(),
                case["now"].as_str().map(|t| Timestamp::parse(t).unwrap()),
            )
        })
        .collect();
    cases.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(cases.len() >= 40);
    cases
}

/// The sequential reference: one `Validator`, every line parsed and appended in order.
/// Returns the verdict in the verifier's terms and the validator reached.
fn sequential(text: &str, now: Option<&Timestamp>) -> (Option<Failure>, Validator, Frontier) {
    let mut v = Validator::new(trust(), ValidatorConfig::default());
    let mut frontier = Frontier::new();
    for (i, line) in text.lines().enumerate() {
        let refused = |rule: Rule, message: String, chain, hash| Failure {
            line: Some(i as u64 + 1),
            position: frontier.size(),
            chain,
            hash,
            rule,
            message,
        };
        let record = match Record::from_json(line.as_bytes()) {
            Ok(r) => r,
            Err(e) => {
                let claimed: Option<Value> = serde_json::from_str(line).ok();
                let at = |p: &str| {
                    claimed
                        .as_ref()
                        .and_then(|c| c.pointer(p)?.as_str().map(str::to_string))
                };
                let f = refused(
                    Rule::Format,
                    custody_core::ValidationError::Format(e).to_string(),
                    at("/header/chain"),
                    at("/hash"),
                );
                return (Some(f), v, frontier);
            }
        };
        if let Err(e) = v.append(&record, now) {
            let f = refused(
                e.rule(),
                e.to_string(),
                Some(record.header.chain.clone()),
                Some(record.hash.to_hex()),
            );
            return (Some(f), v, frontier);
        }
        frontier.push(leaf_hash(record.hash.as_bytes()));
    }
    (None, v, frontier)
}

/// Threads and batch sizes: one thread, record by record; two threads in batches of 64 (the
/// invalid record at position 170 is the 43rd of its batch, 34 and 42 are inside the first);
/// four threads over the whole input as one batch; an odd size.
const SHAPES: [(usize, usize); 4] = [(1, 1), (2, 64), (4, 100_000), (3, 7)];

fn verify_text(text: &str, now: Option<Timestamp>, threads: usize, batch: usize) -> Report {
    let mut v = Verifier::new(trust())
        .with_clock(now)
        .with_threads(threads)
        .with_batch(batch);
    v.verify_jsonl(|| Ok(BufReader::new(text.as_bytes())))
        .unwrap()
}

#[test]
fn the_valid_ledger_verifies_with_the_counts_and_root_of_the_sequential_loop() {
    let text = read("records.jsonl");
    let (failure, reference, frontier) = sequential(&text, None);
    assert_eq!(failure, None);
    let records: Vec<Record> = valid_lines()
        .iter()
        .map(|l| Record::from_json(l.as_bytes()).unwrap())
        .collect();
    for (threads, batch) in SHAPES {
        let report = verify_text(&text, None, threads, batch);
        assert!(
            report.is_ok(),
            "{threads} threads, batch {batch}: {report:?}"
        );
        let s = &report.summary;
        assert_eq!(s.records, frontier.size());
        assert_eq!(s.root, frontier.root());
        assert_eq!(s.chains, reference.chains().count());
        let authority = records
            .iter()
            .filter(|r| r.header.chain == "authority")
            .count();
        assert_eq!(s.authority_records, authority as u64);
        let headers_only = records.iter().filter(|r| r.payload.is_none()).count();
        assert!(headers_only >= 1);
        assert_eq!(s.headers_only, headers_only as u64);
    }
    // The same state: every chain at the same head.
    let mut v = Verifier::new(trust()).with_threads(2).with_batch(64);
    v.verify_jsonl(|| Ok(BufReader::new(text.as_bytes())))
        .unwrap();
    for (chain, state) in reference.chains() {
        assert_eq!(v.validator().head(chain), Some(state.head), "{chain}");
    }
    assert_eq!(v.validator().head("authority"), reference.head("authority"));
}

#[test]
fn every_invalid_vector_is_refused_at_its_position_as_by_the_sequential_loop() {
    let valid = valid_lines();
    let bad_signature = invalid_cases()
        .into_iter()
        .find(|c| c.1 == Rule::Signature)
        .expect("a signature vector")
        .3;
    let mut rules = std::collections::HashSet::new();
    for (name, rule, prefix, line, now) in invalid_cases() {
        // The valid prefix, the invalid record, then records that are refused too if reached
        // (the rest of the ledger, or its first records again), ending with a bad signature.
        let mut lines: Vec<&str> = valid[..prefix].iter().map(String::as_str).collect();
        lines.push(&line);
        lines.extend(valid[prefix..].iter().map(String::as_str));
        lines.extend(valid.iter().take(20).map(String::as_str));
        lines.push(&bad_signature);
        let text = lines.join("\n") + "\n";

        let (expected, _, _) = sequential(&text, now.as_ref());
        let expected = expected.unwrap_or_else(|| panic!("{name}: accepted sequentially"));
        assert_eq!(
            (expected.position, expected.line, expected.rule),
            (prefix as u64, Some(prefix as u64 + 1), rule),
            "{name}"
        );
        for (threads, batch) in SHAPES {
            let report = verify_text(&text, now.clone(), threads, batch);
            assert_eq!(
                report.failure.as_ref(),
                Some(&expected),
                "{name}, {threads} threads, batch {batch}"
            );
            assert!(!expected.message.is_empty(), "{name}");
            assert_eq!(report.summary.records, prefix as u64, "{name}");
        }
        rules.insert(rule);
    }
    assert!(rules.contains(&Rule::Signature) && rules.contains(&Rule::Format));
    assert!(rules.contains(&Rule::State(StateRule::CustodyGap)));
}

/// A record refused by its state in the middle of a batch, and later records of the same batch
/// with a bad signature (one in the same chunk of 16 records, one in the next, verified by
/// another thread): the first in ledger order is the answer, on every shape.
#[test]
fn the_first_failure_in_ledger_order_wins_over_a_later_bad_signature() {
    let valid = valid_lines();
    let broken = |i: usize| {
        let record: Value = serde_json::from_str(&valid[i]).unwrap();
        let sig = record["signature"].as_str().unwrap();
        let flipped = if sig.starts_with('A') { "B" } else { "A" };
        let line = valid[i].replace(sig, &format!("{flipped}{}", &sig[1..]));
        assert_ne!(line, valid[i]);
        line
    };
    // Position 140: the record of position 139 again (a stale seq), then the rest, with the
    // signatures of the records that follow at 142 and 150 broken.
    let mut lines: Vec<String> = valid[..140].to_vec();
    lines.push(valid[139].clone());
    lines.extend(valid[140..].iter().cloned());
    lines[142] = broken(141);
    lines[150] = broken(149);
    let text = lines.join("\n") + "\n";
    let (expected, _, _) = sequential(&text, None);
    let expected = expected.unwrap();
    assert_eq!(expected.position, 140);
    assert_ne!(expected.rule, Rule::Signature);
    for (threads, batch) in SHAPES {
        let report = verify_text(&text, None, threads, batch);
        assert_eq!(
            report.failure.as_ref(),
            Some(&expected),
            "{threads}/{batch}"
        );
    }
    // Without the earlier failure, the first bad signature is the answer.
    let mut lines = valid.clone();
    lines[142] = broken(142);
    lines[150] = broken(150);
    let text = lines.join("\n") + "\n";
    for (threads, batch) in SHAPES {
        let f = verify_text(&text, None, threads, batch).failure.unwrap();
        assert_eq!((f.position, f.rule), (142, Rule::Signature));
    }
}

#[test]
fn the_root_at_a_checkpoint_size_is_the_root_of_that_prefix() {
    let text = read("records.jsonl");
    let mut prefix = Frontier::new();
    for line in valid_lines().iter().take(100) {
        prefix.push(leaf_hash(
            Record::from_json(line.as_bytes()).unwrap().hash.as_bytes(),
        ));
    }
    for (threads, batch) in SHAPES {
        let mut v = Verifier::new(trust())
            .with_threads(threads)
            .with_batch(batch)
            .with_checkpoint_size(Some(100));
        let report = v
            .verify_jsonl(|| Ok(BufReader::new(text.as_bytes())))
            .unwrap();
        assert_eq!(report.summary.root_at_mark, Some(prefix.root()));
    }
}

#[test]
fn lines_that_are_not_records_are_refused_where_they_stand() {
    let valid = valid_lines();
    let first = valid[..3].join("\n");
    let rest = valid[3..].join("\n");
    let failure = |text: &[u8]| {
        let mut v = Verifier::new(trust()).with_threads(2).with_batch(64);
        v.verify_jsonl(|| Ok(BufReader::new(text))).unwrap().failure
    };
    // Blank lines (and CRLF line ends) are tolerated at the end only.
    let crlf = valid.join("\r\n") + "\r\n\r\n  \n";
    assert_eq!(failure(crlf.as_bytes()), None);
    let f = failure(format!("{first}\n\n \n{rest}\n").as_bytes()).unwrap();
    assert_eq!((f.line, f.position, f.rule), (Some(4), 3, Rule::Format));
    // A line that is not UTF-8 is a refused line at its place, not an unreadable file.
    let mut bytes = format!("{first}\n").into_bytes();
    bytes.extend_from_slice(b"{\"hash\": \"\xff\"}\n");
    bytes.extend_from_slice(rest.as_bytes());
    let f = failure(&bytes).unwrap();
    assert_eq!((f.line, f.position, f.rule), (Some(4), 3, Rule::Format));
    // An over-long line is refused without being read whole.
    let mut bytes = format!("{first}\n").into_bytes();
    bytes.resize(bytes.len() + custody_verify::MAX_LINE_BYTES + 10, b' ');
    bytes.extend_from_slice(b"x\n");
    let f = failure(&bytes).unwrap();
    assert_eq!((f.line, f.position, f.rule), (Some(4), 3, Rule::Format));
    assert!(f.message.contains("longer than"), "{}", f.message);
    // A malformed line names the hash and chain it claims.
    let mut claimed: Value = serde_json::from_str(&valid[3]).unwrap();
    claimed["header"]["seq"] = Value::from(-1);
    let f = failure(format!("{first}\n{claimed}\n").as_bytes()).unwrap();
    assert_eq!(f.rule, Rule::Format);
    assert_eq!(f.hash.as_deref(), claimed["hash"].as_str());
    assert_eq!(f.chain.as_deref(), claimed["header"]["chain"].as_str());
    // Nothing at all is not a success.
    let f = failure(b"\n").unwrap();
    assert_eq!((f.position, f.rule), (0, Rule::Empty));
}

/// The `future` vector replayed as a stored ledger (`with_ahead_notice` instead of
/// `with_clock`): the record an hour after the clock is accepted and reported, on every shape;
/// with no clock at all nothing is reported.
#[test]
fn a_record_ahead_of_the_clock_is_reported_not_refused_when_a_ledger_is_replayed() {
    let valid = valid_lines();
    let (_, _, prefix, line, now) = invalid_cases()
        .into_iter()
        .find(|c| c.1 == Rule::Future)
        .expect("a future vector");
    let now = now.expect("the future vector gives its clock");
    let mut lines: Vec<&str> = valid[..prefix].iter().map(String::as_str).collect();
    lines.push(&line);
    let text = lines.join("\n") + "\n";
    let record = Record::from_json(line.as_bytes()).unwrap();
    for (threads, batch) in SHAPES {
        let mut v = Verifier::new(trust())
            .with_ahead_notice(Some(now.clone()))
            .with_threads(threads)
            .with_batch(batch);
        let report = v
            .verify_jsonl(|| Ok(BufReader::new(text.as_bytes())))
            .unwrap();
        assert_eq!(report.failure, None, "{threads} threads, batch {batch}");
        assert_eq!(report.summary.records, prefix as u64 + 1);
        let ahead = report.summary.ahead_of_clock.expect("reported");
        assert_eq!(ahead.count, 1);
        assert_eq!(ahead.first, (prefix as u64, record.hash));
        assert_eq!(ahead.latest, record.header.recorded_at);
        assert_eq!(ahead.clock, now);
    }
    let report = verify_text(&text, None, 2, 64);
    assert_eq!(
        (report.failure, report.summary.ahead_of_clock),
        (None, None)
    );
}
