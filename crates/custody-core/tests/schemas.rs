//! The JSON Schemas in `schemas/` and the Rust body types in `custody_core::kinds::bodies`
//! agree: on every example, on every mutation of every valid example, and field by field.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use custody_core::kinds::{body_fields, parse_body, Body, BodyError, EventKind};
use custody_core::roles::{roles_for, Role};
use serde_json::{json, Value};

const ID_BASE: &str = "https://custody-ledger.example/schemas/v1/";
const DRAFT: &str = "https://json-schema.org/draft/2020-12/schema";

fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn schema(kind: EventKind) -> Value {
    read_json(&schemas_dir().join(format!("{kind}.schema.json")))
}

fn validator(schema: &Value) -> jsonschema::Validator {
    // Building a validator also validates the schema against the draft 2020-12 meta-schema.
    jsonschema::draft202012::new(schema).unwrap_or_else(|e| panic!("schema does not compile: {e}"))
}

fn schema_errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path))
        .collect()
}

/// `(file name, body)` of every example of a kind whose name starts with `prefix`.
fn examples(kind: EventKind, prefix: &str) -> Vec<(String, Value)> {
    let dir = schemas_dir().join("examples").join(kind.as_str());
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(&dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with(prefix) && name.ends_with(".json") {
            out.push((name, read_json(&path)));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// A kind added to the kind table (`custody_core::kinds`, which generates `EventKind::ALL`) fails
/// here until it has a schema whose properties are its body's fields, examples, and a row in
/// `schemas/README.md`.
#[test]
fn every_kind_has_a_schema_and_examples() {
    let readme = fs::read_to_string(schemas_dir().join("README.md")).unwrap();
    for kind in EventKind::ALL {
        let path = schemas_dir().join(format!("{kind}.schema.json"));
        assert!(path.is_file(), "no schema for {kind}: {}", path.display());
        let s = schema(*kind);
        let properties: BTreeSet<&str> = s["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{kind}.schema.json has no properties"))
            .keys()
            .map(String::as_str)
            .collect();
        let fields: BTreeSet<&str> = body_fields(*kind).iter().copied().collect();
        assert_eq!(
            properties, fields,
            "{kind}: schema properties vs body fields"
        );
        for r in s["required"].as_array().into_iter().flatten() {
            let r = r.as_str().unwrap();
            assert!(
                fields.contains(r),
                "{kind}: required {r} is not a body field"
            );
        }
        let row = format!("| [`{kind}`]({kind}.schema.json) |");
        assert!(
            readme.contains(&row),
            "schemas/README.md has no row for {kind}"
        );
        assert!(
            !examples(*kind, "valid-").is_empty(),
            "no valid example for {kind}"
        );
        assert!(
            examples(*kind, "invalid-").len() >= 2,
            "fewer than two invalid examples for {kind}"
        );
    }
    // And nothing else: no schema or example directory for a kind that does not exist.
    for entry in fs::read_dir(schemas_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(kind) = name.strip_suffix(".schema.json") {
            assert!(
                kind == "record" || kind.parse::<EventKind>().is_ok(),
                "schema for unknown kind {name}"
            );
        }
    }
    for entry in fs::read_dir(schemas_dir().join("examples")).unwrap() {
        let entry = entry.unwrap();
        if entry.path().is_dir() {
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(
                name.parse::<EventKind>().is_ok(),
                "examples for unknown kind {name}"
            );
        }
    }
}

/// The rows of the first Markdown table after `heading` in `docs/SPEC.md`, cells trimmed.
fn spec_table(heading: &str) -> Vec<Vec<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/SPEC.md");
    let spec = fs::read_to_string(&path).unwrap();
    let at = spec
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading} in SPEC.md"));
    spec[at..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// The `code` spans of a table cell.
fn codes(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

/// The specification's tables of kinds (section 8) and of roles (section 9) say what the kind
/// table says: every kind in order with its chain, and the roles allowed to write it.
#[test]
fn spec_tables_agree_with_the_kind_table() {
    let kinds: Vec<(String, String)> = spec_table("## 8. Event kinds")
        .into_iter()
        .map(|row| (codes(&row[0])[0].to_string(), row[1].clone()))
        .collect();
    let ours: Vec<(String, String)> = EventKind::ALL
        .iter()
        .map(|k| {
            let chain = if k.is_authority() {
                "authority"
            } else {
                "detainee"
            };
            (k.to_string(), chain.to_string())
        })
        .collect();
    assert_eq!(kinds, ours, "SPEC.md section 8 vs the kind table");

    let mut written: BTreeMap<EventKind, Vec<Role>> = BTreeMap::new();
    for row in spec_table("## 9. Roles") {
        let roles: Vec<Role> = if row[1].starts_with("any role") {
            Role::ALL.to_vec()
        } else {
            row[1].split(", ").map(|r| r.parse().unwrap()).collect()
        };
        for kind in codes(&row[0]) {
            let kind: EventKind = kind.parse().unwrap();
            assert!(
                written.insert(kind, roles.clone()).is_none(),
                "{kind} twice"
            );
        }
    }
    for kind in EventKind::ALL {
        let want: &[Role] = written.get(kind).map_or(&[], Vec::as_slice);
        assert_eq!(
            roles_for(*kind),
            want,
            "SPEC.md section 9 vs the kind table: {kind}"
        );
    }
}

/// Every `$ref` in `v`, as the name after `#/$defs/`; panics on any other kind of reference.
fn refs(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "$ref" {
                    let r = x.as_str().unwrap();
                    let name = r
                        .strip_prefix("#/$defs/")
                        .unwrap_or_else(|| panic!("non-local $ref {r}"));
                    out.insert(name.to_string());
                } else {
                    refs(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[test]
fn schemas_are_valid_self_contained_draft_2020_12() {
    let mut files: Vec<String> = EventKind::ALL.iter().map(|k| k.to_string()).collect();
    files.push("record".into());
    for name in files {
        let s = read_json(&schemas_dir().join(format!("{name}.schema.json")));
        assert_eq!(s["$schema"], DRAFT, "{name}");
        assert_eq!(
            s["$id"],
            format!("{ID_BASE}{name}.schema.json").as_str(),
            "{name}"
        );
        assert_eq!(s["type"], "object", "{name}");
        assert_eq!(s["additionalProperties"], false, "{name}");
        let _ = validator(&s);
        // Self-contained: every reference is to a definition of the same file, and every
        // definition is used.
        let mut used = BTreeSet::new();
        refs(&s, &mut used);
        let defined: BTreeSet<String> = s
            .get("$defs")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        assert_eq!(used, defined, "{name}: $defs used vs defined");
    }
}

#[test]
fn shared_definitions_are_identical_in_every_schema() {
    let mut seen: BTreeMap<String, (String, Value)> = BTreeMap::new();
    let mut files: Vec<String> = EventKind::ALL.iter().map(|k| k.to_string()).collect();
    files.push("record".into());
    for name in files {
        let s = read_json(&schemas_dir().join(format!("{name}.schema.json")));
        for (def, body) in s
            .get("$defs")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            match seen.get(def) {
                Some((first, v)) => assert_eq!(
                    v, body,
                    "$defs/{def} differs between {first}.schema.json and {name}.schema.json"
                ),
                None => {
                    seen.insert(def.clone(), (name.clone(), body.clone()));
                }
            }
        }
    }
}

#[test]
fn record_schema_lists_every_kind() {
    let s = read_json(&schemas_dir().join("record.schema.json"));
    let listed: Vec<&str> = s["properties"]["header"]["properties"]["kind"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let all: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(listed, all);
}

#[test]
fn valid_examples_pass_schema_and_parser_and_round_trip() {
    for kind in EventKind::ALL {
        let v = validator(&schema(*kind));
        for (name, body) in examples(*kind, "valid-") {
            let errors = schema_errors(&v, &body);
            assert!(
                errors.is_empty(),
                "{kind}/{name} fails its schema: {errors:?}"
            );
            let parsed = parse_body(*kind, &body)
                .unwrap_or_else(|e| panic!("{kind}/{name} refused by parse_body: {e}"));
            assert_eq!(parsed.kind(), *kind);
            let again = parsed.to_value();
            assert_eq!(again, body, "{kind}/{name} does not round-trip");
            let errors = schema_errors(&v, &again);
            assert!(
                errors.is_empty(),
                "{kind}/{name} to_value fails: {errors:?}"
            );
            assert_eq!(serde_json::to_value(&parsed).unwrap(), body);
        }
    }
}

#[test]
fn invalid_examples_fail_schema_and_parser_at_the_expected_field() {
    let expected = read_json(&schemas_dir().join("examples/invalid-paths.json"));
    let expected = expected.as_object().unwrap();
    let mut checked = 0;
    for kind in EventKind::ALL {
        let v = validator(&schema(*kind));
        for (name, body) in examples(*kind, "invalid-") {
            let key = format!("{kind}/{name}");
            assert!(!v.is_valid(&body), "{key} passes its schema but should not");
            let err: BodyError = match parse_body(*kind, &body) {
                Ok(_) => panic!("{key} passes parse_body but should not"),
                Err(e) => e,
            };
            assert_eq!(err.kind, *kind);
            let want = expected
                .get(&key)
                .unwrap_or_else(|| panic!("{key} is not listed in examples/invalid-paths.json"));
            assert_eq!(err.path, want.as_str().unwrap(), "{key}: {err}");
            assert!(!err.message.is_empty());
            println!("{key}: {err}");
            checked += 1;
        }
    }
    assert_eq!(
        checked,
        expected.len(),
        "invalid-paths.json lists missing files"
    );
}

#[test]
fn errors_are_actionable() {
    let dir = schemas_dir().join("examples");
    let body = read_json(&dir.join("admission/invalid-no-commitment-order.json"));
    let e = parse_body(EventKind::Admission, &body).unwrap_err();
    assert_eq!(
        e.to_string(),
        "payload.body/commitment_order_ref: missing field \"commitment_order_ref\": an admission \
         needs the reference of the commitment order (Mandela Rule 7: no admission without a \
         valid commitment order)"
    );

    let body = read_json(&dir.join("arrest/invalid-label-terrorist.json"));
    let e = parse_body(EventKind::Arrest, &body).unwrap_err();
    assert!(e.message.contains("never labels"), "{e}");
    assert!(e.message.contains("suspected_offence"), "{e}");

    let body = read_json(&dir.join("arrest/invalid-coordinates-float.json"));
    let e = parse_body(EventKind::Arrest, &body).unwrap_err();
    assert!(e.message.contains("floating point"), "{e}");

    let body = read_json(&dir.join("visit/invalid-wrong-type.json"));
    let e = parse_body(EventKind::Visit, &body).unwrap_err();
    assert!(e.message.contains("icrc"), "allowed values listed: {e}");

    let e = parse_body(EventKind::Arrest, &json!("arrest")).unwrap_err();
    assert_eq!(e.path, "");
    assert!(e.message.contains("JSON object"), "{e}");

    // A key that needs JSON pointer escaping.
    let mut body = read_json(&dir.join("correction/valid-birth-year.json"));
    body["corrected_fields"]["a/b~c"] = json!(0.5);
    let e = parse_body(EventKind::Correction, &body).unwrap_err();
    assert_eq!(e.path, "/corrected_fields/a~1b~0c");
}

// ---------------------------------------------------------------------------------------------
// Agreement on mutations: every change of every valid example is accepted or refused by both.
// ---------------------------------------------------------------------------------------------

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// JSON pointers of every value inside `v` (not `v` itself).
fn pointers(v: &Value, at: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{at}/{}", escape(k));
                out.push(p.clone());
                pointers(x, &p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(x, &p, out);
            }
        }
        _ => {}
    }
}

fn enum_strings(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("enum", Value::Array(a)) => {
                        out.extend(a.iter().filter_map(|s| s.as_str().map(String::from)))
                    }
                    ("const", Value::String(s)) => {
                        out.insert(s.clone());
                    }
                    _ => enum_strings(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| enum_strings(x, out)),
        _ => {}
    }
}

fn replacements(schema: &Value) -> Vec<Value> {
    let mut r = vec![
        Value::Null,
        json!(true),
        json!(false),
        json!(0),
        json!(1),
        json!(-1),
        json!(1.5),
        json!(120),
        json!(121),
        json!(240),
        json!(241),
        json!(1440),
        json!(1441),
        json!(4_294_967_295u64),
        json!(4_294_967_296u64),
        json!(9_007_199_254_740_991u64),
        json!(9_007_199_254_740_992u64),
        json!(-90_000_001),
        json!(180_000_000),
        json!(""),
        json!(" "),
        json!("x"),
        json!("ab"),
        json!("ML"),
        json!("ml"),
        json!("XOF"),
        json!("1991"),
        json!("1991-02-30"),
        json!("1991-02-29"),
        json!("2019-11-05T10:20:00Z"),
        json!("2019-11-05T10:20:00.123456789Z"),
        json!("2019-11-05 10:20:00Z"),
        json!("a".repeat(64)),
        json!("ml-some-agency"),
        json!("text/plain"),
        json!("d-01dr4y6q1m9v7c3k5x8z2b0nhf"),
        json!("é".repeat(100)),
        json!("é".repeat(101)),
        json!("é".repeat(200)),
        json!("é".repeat(201)),
        json!("é".repeat(4000)),
        json!("é".repeat(4001)),
        json!([]),
        json!({}),
        json!({"present": false}),
        json!({"name": "N"}),
    ];
    let mut strings = BTreeSet::new();
    enum_strings(schema, &mut strings);
    r.extend(strings.into_iter().map(Value::String));
    r
}

/// The mutations of one valid example, with a description of each.
fn mutations(body: &Value, candidates: &[Value]) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut ptrs = Vec::new();
    pointers(body, "", &mut ptrs);
    // The body itself: an unknown field, and not an object.
    let mut b = body.clone();
    b["zz_unknown"] = json!(1);
    out.push(("add /zz_unknown".into(), b));
    out.push(("replace body by []".into(), json!([])));
    for p in &ptrs {
        let (parent, last) = p.rsplit_once('/').unwrap();
        let parent_v = body.pointer(parent).unwrap();
        // Remove it.
        let mut b = body.clone();
        match b.pointer_mut(parent).unwrap() {
            Value::Object(m) => {
                m.remove(&last.replace("~1", "/").replace("~0", "~"));
            }
            Value::Array(a) => {
                a.remove(last.parse::<usize>().unwrap());
            }
            _ => unreachable!(),
        }
        out.push((format!("remove {p}"), b));
        // Duplicate it, in a list.
        if let Value::Array(a) = parent_v {
            let mut b = body.clone();
            let item = a[last.parse::<usize>().unwrap()].clone();
            b.pointer_mut(parent)
                .unwrap()
                .as_array_mut()
                .unwrap()
                .push(item);
            out.push((format!("duplicate {p}"), b));
        }
        // Add an unknown field to it, if it is an object.
        if body.pointer(p).unwrap().is_object() {
            let mut b = body.clone();
            b.pointer_mut(p).unwrap()["zz_unknown"] = json!(1);
            out.push((format!("add {p}/zz_unknown"), b));
        }
        // Replace it.
        for c in candidates {
            let mut b = body.clone();
            *b.pointer_mut(p).unwrap() = c.clone();
            let shown = c.to_string();
            let shown = if shown.chars().count() > 40 {
                let head: String = shown.chars().take(20).collect();
                format!("{head}... ({} chars)", shown.chars().count())
            } else {
                shown
            };
            out.push((format!("replace {p} by {shown}"), b));
        }
    }
    out
}

#[test]
fn schema_and_parser_agree_on_every_mutation_of_every_valid_example() {
    let mut disagreements = Vec::new();
    let mut total = 0usize;
    for kind in EventKind::ALL {
        let s = schema(*kind);
        let v = validator(&s);
        let candidates = replacements(&s);
        for (name, body) in examples(*kind, "valid-") {
            for (what, mutated) in mutations(&body, &candidates) {
                total += 1;
                let by_schema = v.is_valid(&mutated);
                let by_parser = parse_body(*kind, &mutated);
                if by_schema != by_parser.is_ok() {
                    disagreements.push(format!(
                        "{kind}/{name}: {what}: schema {}, parse_body {}",
                        if by_schema { "accepts" } else { "refuses" },
                        match &by_parser {
                            Ok(_) => "accepts".to_string(),
                            Err(e) => format!("refuses ({e})"),
                        }
                    ));
                }
                // Whatever the parser accepts survives the round trip and passes the schema.
                if let Ok(parsed) = by_parser {
                    assert_eq!(parsed.to_value(), mutated, "{kind}/{name}: {what}");
                }
            }
        }
    }
    assert!(total > 10_000, "only {total} mutations");
    assert!(
        disagreements.is_empty(),
        "{} of {total} mutations disagree, e.g.:\n{}",
        disagreements.len(),
        disagreements
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Record envelope
// ---------------------------------------------------------------------------------------------

fn sample_record() -> Value {
    let body = read_json(&schemas_dir().join("examples/visit/valid-icrc.json"));
    json!({
        "header": {
            "v": 1,
            "ledger": "custody-ledger.demo.ml",
            "chain": "d-01jd8x3k5q7v9w2y4z6b8c0e1f",
            "seq": 7,
            "prev": "0".repeat(64),
            "kind": "visit",
            "occurred_at": "2020-01-14T09:30:00Z",
            "recorded_at": "2020-01-14T10:02:11.5Z",
            "agency": "ml-mca-bamako",
            "signer": format!("ed25519:{}A", "a".repeat(42)),
            "payload_digest": "f".repeat(64),
            "facts": {},
        },
        "hash": "e".repeat(64),
        "signature": format!("{}g", "B".repeat(85)),
        "payload": {"salt": "AAAAAAAAAAAAAAAAAAAAAA", "body": body},
    })
}

#[test]
fn record_schema_accepts_a_record_and_refuses_broken_ones() {
    let v = validator(&read_json(&schemas_dir().join("record.schema.json")));
    let good = sample_record();
    assert!(v.is_valid(&good), "{:?}", schema_errors(&v, &good));

    let mut redacted = good.clone();
    redacted.as_object_mut().unwrap().remove("payload");
    assert!(v.is_valid(&redacted));

    let mut first = good.clone();
    first["header"]["seq"] = json!(0);
    first["header"]["prev"] = Value::Null;
    first["header"]["chain"] = json!("authority");
    assert!(v.is_valid(&first));

    let broken: Vec<(&str, Value)> = vec![
        ("/header/v", json!(2)),
        ("/header/chain", json!("d-01JD8X3K5Q7V9W2Y4Z6B8C0E1F")),
        ("/header/seq", json!(-1)),
        ("/header/seq", json!(1.5)),
        ("/header/prev", json!("abc")),
        ("/header/kind", json!("interrogation")),
        ("/header/occurred_at", json!("2020-01-14T09:30:00+01:00")),
        ("/header/agency", json!("MCA")),
        ("/header/signer", json!("ed25519:abc")),
        ("/header/payload_digest", json!("F".repeat(64))),
        ("/hash", json!(null)),
        ("/signature", json!("short")),
        ("/payload/salt", json!("short")),
        ("/payload/body", json!([])),
        ("/header/extra", json!(1)),
        ("/header/ledger", json!("a ledger")),
        ("/header/ledger", json!("a+b")),
        ("/header/facts", json!({"facility": "ml-mca-bamako"})),
        ("/header/facts", json!([])),
        ("/extra", json!(1)),
        ("/payload/extra", json!(1)),
    ];
    for (ptr, value) in broken {
        let mut r = good.clone();
        let (parent, key) = ptr.rsplit_once('/').unwrap();
        r.pointer_mut(parent).unwrap()[key] = value.clone();
        assert!(!v.is_valid(&r), "record with {ptr} = {value} accepted");
    }
    for required in ["header", "hash", "signature"] {
        let mut r = good.clone();
        r.as_object_mut().unwrap().remove(required);
        assert!(!v.is_valid(&r), "record without {required} accepted");
    }
    for required in [
        "v",
        "ledger",
        "facts",
        "chain",
        "seq",
        "prev",
        "kind",
        "occurred_at",
        "recorded_at",
    ] {
        let mut r = good.clone();
        r["header"].as_object_mut().unwrap().remove(required);
        assert!(!v.is_valid(&r), "record without header.{required} accepted");
    }
}

/// Every published record, and every record of the refused vectors that parses, agrees with the
/// record schema: the schema accepts what the parser accepts, facts included.
#[test]
fn record_schema_agrees_with_the_parser_on_the_vectors() {
    let v = validator(&read_json(&schemas_dir().join("record.schema.json")));
    let dir = schemas_dir().join("../tests/vectors/v1");
    let text = fs::read_to_string(dir.join("records.jsonl")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for entry in fs::read_dir(dir.join("invalid")).unwrap() {
        let case = read_json(&entry.unwrap().path());
        lines.push(case["line"].as_str().unwrap().to_string());
    }
    let mut checked = 0;
    for line in &lines {
        let parsed = custody_core::Record::from_json(line.as_bytes());
        let Ok(value) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let schema_ok = v.is_valid(&value);
        // The parser refuses more than a schema can say (depth, -0, duplicate keys, surrogates,
        // calendar dates); what the parser accepts, the schema accepts too.
        if parsed.is_ok() {
            assert!(schema_ok, "{:?}\n{line}", schema_errors(&v, &value));
            checked += 1;
        }
        if !schema_ok {
            assert!(
                custody_core::Record::from_json(line.as_bytes()).is_err(),
                "{line}"
            );
        }
    }
    assert!(checked > 170);
    // A header-only admission without its required facts is refused by both.
    let admission = lines
        .iter()
        .find(|l| l.contains("\"kind\":\"admission\""))
        .unwrap();
    let mut value: Value = serde_json::from_str(admission).unwrap();
    value.as_object_mut().unwrap().remove("payload");
    value["header"]["facts"] = json!({"facility": "ml-mca-bamako"});
    assert!(!v.is_valid(&value));
    assert!(custody_core::Record::from_value(&value).is_err());
}

#[test]
fn body_kind_matches_for_every_kind() {
    for kind in EventKind::ALL {
        let (_, body) = examples(*kind, "valid-").remove(0);
        let parsed: Body = parse_body(*kind, &body).unwrap();
        assert_eq!(parsed.kind(), *kind);
        // A body of one kind is not a body of another: every other kind refuses it.
        for other in EventKind::ALL {
            if other != kind && parse_body(*other, &body).is_ok() {
                panic!("{kind} example also parses as {other}");
            }
        }
    }
}

/// Where JSON Schema cannot express a rule, the parser is the stricter of the two, never the
/// looser (see "What the schemas do not say" in `schemas/README.md`).
#[test]
fn where_the_schema_cannot_follow_the_parser_is_stricter() {
    let dir = schemas_dir().join("examples");
    let cases = [
        (
            EventKind::FacilityRegistered,
            "facility_registered/valid-mca-bamako.json",
            "/capacity",
            json!(400.0),
        ),
        (
            EventKind::KeyRevoked,
            "key_revoked/valid-lost-tablet.json",
            "/effective_from",
            json!("2020-02-30T14:00:00Z"),
        ),
        (
            EventKind::KeyRevoked,
            "key_revoked/valid-lost-tablet.json",
            "/effective_from",
            json!("0000-01-01T00:00:00Z"),
        ),
    ];
    for (kind, file, ptr, value) in cases {
        let mut body = read_json(&dir.join(file));
        *body.pointer_mut(ptr).unwrap() = value.clone();
        assert!(
            validator(&schema(kind)).is_valid(&body),
            "{file} {ptr} = {value}"
        );
        let e = parse_body(kind, &body).unwrap_err();
        assert_eq!(e.path, ptr, "{e}");
    }
}

/// Run with `cargo test --release -p custody-core --test schemas -- --ignored --nocapture`.
#[test]
#[ignore = "timing, meaningful in release builds only"]
fn parse_body_costs_microseconds() {
    let body = read_json(&schemas_dir().join("examples/arrest/valid-menaka-barkhane.json"));
    let n = 20_000;
    let start = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(parse_body(EventKind::Arrest, std::hint::black_box(&body)).is_ok());
    }
    let per = start.elapsed() / n;
    println!("parse_body(arrest, rich example): {per:?} per call");
}

/// The facts of `record.schema.json`, as `fact_fields` gives them: one `if kind = K then facts`
/// clause per kind with facts, in the order of `EventKind::ALL`, then `{}` for every other kind.
fn expected_facts_clauses() -> Value {
    use custody_core::facts::{fact_fields, FactType};
    let mut clauses = Vec::new();
    let mut with_facts = Vec::new();
    for kind in EventKind::ALL {
        let fields = fact_fields(*kind);
        if fields.is_empty() {
            continue;
        }
        with_facts.push(json!(kind.as_str()));
        let mut properties = serde_json::Map::new();
        for f in fields {
            let ty = match f.ty {
                FactType::Slug => json!({"$ref": "#/$defs/slug"}),
                FactType::Hash => json!({"$ref": "#/$defs/hash"}),
                FactType::Timestamp => json!({"$ref": "#/$defs/timestamp"}),
                FactType::ChainId => {
                    json!({"type": "string", "pattern": "^d-[0-7][0-9a-hjkmnp-tv-z]{25}$"})
                }
                FactType::Bool => json!({"type": "boolean"}),
                FactType::OneOf(values) => json!({"enum": values}),
                FactType::Name => json!({"$ref": "#/$defs/name"}),
                FactType::Ref => json!({"$ref": "#/$defs/ref"}),
                FactType::PublicKey => json!({"$ref": "#/$defs/public_key"}),
                FactType::Days => json!({"type": "integer", "minimum": 1, "maximum": 3650}),
            };
            properties.insert(f.name.to_string(), ty);
        }
        let required: Vec<&str> = fields
            .iter()
            .filter(|f| f.required)
            .map(|f| f.name)
            .collect();
        clauses.push(json!({
            "if": {"properties": {"kind": {"const": kind.as_str()}}, "required": ["kind"]},
            "then": {"properties": {"facts": {
                "type": "object",
                "additionalProperties": false,
                "required": required,
                "properties": properties,
            }}}
        }));
    }
    clauses.push(json!({
        "if": {"properties": {"kind": {"enum": with_facts}}, "required": ["kind"]},
        "else": {"properties": {"facts": {"maxProperties": 0}}}
    }));
    Value::Array(clauses)
}

/// `record.schema.json` states every kind's facts exactly as `custody_core::facts::fact_fields`
/// (docs/SPEC.md section 8): a fact added in Rust and not in the schema fails here.
#[test]
fn record_schema_facts_are_the_fact_fields() {
    let record = read_json(&schemas_dir().join("record.schema.json"));
    let expected = expected_facts_clauses();
    let actual = &record["properties"]["header"]["allOf"];
    assert!(
        *actual == expected,
        "record.schema.json header.allOf differs from fact_fields; expected:\n{}",
        serde_json::to_string_pretty(&expected).unwrap()
    );
    for (name, ty) in [("name", "name"), ("ref", "ref")] {
        assert_eq!(
            record["$defs"][name],
            schema(EventKind::HearingScheduled)["$defs"][ty],
            "record.schema.json $defs/{name} is the bodies' one"
        );
    }
}
