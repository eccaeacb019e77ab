//! The documents name every rule code of `custody_core::Rule`: the validation rules in
//! `docs/SPEC.md` section 10 (in the order of checking), the gateway's codes in `docs/API.md`.

use std::path::Path;

use custody_core::{AuthRule, Rule, StateRule};

fn doc(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The text of `doc` from the line starting with `from` to the next line starting with `to`.
fn section(doc: &str, from: &str, to: &str) -> String {
    let start = doc
        .find(from)
        .unwrap_or_else(|| panic!("no {from:?} in the document"));
    let rest = &doc[start + from.len()..];
    let end = rest.find(to).unwrap_or(rest.len());
    rest[..end].to_string()
}

#[test]
fn spec_section_10_names_every_validation_rule_in_the_order_of_checking() {
    let spec = doc("SPEC.md");
    let validation = section(&spec, "\n## 10. Validation", "\n## 11.");
    // The record rules in order: each first named after the previous one.
    let mut at = 0;
    for rule in Rule::RECORD {
        let quoted = format!("`{}`", rule.code());
        let found = validation[at..].find(&quoted).unwrap_or_else(|| {
            panic!("SPEC.md section 10 does not name {quoted} after the rule before it")
        });
        at += found;
    }
    for rule in StateRule::ALL {
        let quoted = format!("`{}`", rule.code());
        assert!(
            validation.contains(&quoted),
            "SPEC.md section 10 does not name state rule {quoted}"
        );
    }
    for rule in Rule::LEDGER.iter().chain(Rule::VERIFIER) {
        let quoted = format!("`{}`", rule.code());
        assert!(
            validation.contains(&quoted),
            "SPEC.md section 10 does not name {quoted}"
        );
    }
}

#[test]
fn api_md_names_every_code_of_the_gateway() {
    let api = doc("API.md");
    let errors = section(&api, "\n## Errors", "\n## ");
    for rule in Rule::REQUEST
        .iter()
        .chain(Rule::LEDGER)
        .chain(&[Rule::Seq, Rule::Prev])
    {
        assert!(
            errors.contains(&format!("| `{rule}`")) || errors.contains(&format!(", `{rule}`")),
            "the table of docs/API.md \"Errors\" does not give {rule}"
        );
    }
    for rule in AuthRule::ALL {
        let code = Rule::Auth(*rule).code();
        assert!(
            api.contains(&format!("`{code}`")),
            "docs/API.md does not give {code}"
        );
    }
}
