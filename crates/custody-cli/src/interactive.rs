//! `custody record KIND --interactive`: the body asked field by field from the kind's schema.
//!
//! The embedded schema ([`crate::schemas`]) is walked: each property of an object in turn
//! (required ones first, in the schema's `required` order, then the optional ones, skippable with
//! an empty answer), an enum as a selection list, a boolean as yes/no, an integer as a number, a
//! string as text (a timestamp checked as typed, "now" accepted), a nested object as its own
//! fields under an indented label path, an array as an "add one?" loop that respects `minItems`.
//! Each answer is checked against its own schema piece as it is given and asked again with the
//! error. The whole body is then checked by the validator's parser, shown in plain words and
//! only signed when the user confirms (see [`crate::cmd::record`]).

use std::fmt;

use anyhow::Context;
use custody_core::kinds::{parse_body, EventKind};
use custody_core::Timestamp;
use dialoguer::console::Term;
use dialoguer::theme::Theme;
use dialoguer::{Input, Select};
use serde_json::{Map, Value};

use crate::clock;
use crate::labels::{self, Lang};

/// The prompts' look: dialoguer's plain one, with errors prefixed in the chosen language.
struct Plain(Lang);

impl Theme for Plain {
    fn format_error(&self, f: &mut dyn fmt::Write, err: &str) -> fmt::Result {
        write!(f, "{} {err}", self.0.pick("erreur :", "error:"))
    }
}

/// A schema piece with its local `$ref`s followed (the referring piece's own keys win, as a
/// `description` beside a `$ref`), and whether it is the `timestamp` definition.
struct Piece {
    node: Map<String, Value>,
    timestamp: bool,
}

/// The interactive session: the kind's schema, the language and the terminal.
pub struct Session {
    root: Value,
    lang: Lang,
    term: Term,
}

/// The answer to a yes/no question: o/oui/n/non in French, y/yes/n/no in English (any case).
fn yes_no(lang: Lang, text: &str) -> Result<bool, String> {
    match (lang, text.trim().to_lowercase().as_str()) {
        (Lang::Fr, "o" | "oui") | (Lang::En, "y" | "yes") => Ok(true),
        (Lang::Fr, "n" | "non") | (Lang::En, "n" | "no") => Ok(false),
        _ => Err(lang
            .pick("répondez o (oui) ou n (non)", "answer y (yes) or n (no)")
            .to_string()),
    }
}

impl Session {
    /// Starts a session for `kind`; refuses when standard error is not a terminal.
    pub fn new(kind: EventKind, lang: Lang) -> anyhow::Result<Session> {
        let text = crate::schemas::for_kind(kind.as_str())
            .with_context(|| format!("no embedded schema for {kind}"))?;
        let root: Value = serde_json::from_str(text)
            .with_context(|| format!("the embedded schema of {kind} is not JSON"))?;
        let term = Term::stderr();
        if !term.is_term() || !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            anyhow::bail!(
                "{}",
                lang.pick(
                    "--interactive demande un terminal (l'entrée et la sortie d'erreur doivent être un terminal) : sinon passez --body ou --body-json",
                    "--interactive needs a terminal (standard input and standard error): otherwise pass --body or --body-json",
                )
            );
        }
        Ok(Session { root, lang, term })
    }

    /// The language of the session.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// Prints a line on the prompts' terminal.
    pub fn say(&self, line: &str) -> anyhow::Result<()> {
        self.term
            .write_line(line)
            .context("cannot write to the terminal")
    }

    /// Asks every field of the kind's body, then checks the whole body with the validator's
    /// parser; on a refusal shows why and offers to start over (no: an error, nothing signed).
    pub fn ask_body(&self, kind: EventKind) -> anyhow::Result<Value> {
        loop {
            let root = self.root.clone();
            let body = self
                .ask_object(&self.piece(&root), &[], true)?
                .unwrap_or_else(|| Value::Object(Map::new()));
            match parse_body(kind, &body) {
                Ok(_) => return Ok(body),
                Err(e) => {
                    let l = self.lang;
                    self.say(&format!(
                        "{} {e}",
                        l.pick(
                            "Ces réponses ne forment pas un événement valide :",
                            "These answers do not make a valid event:",
                        )
                    ))?;
                    if !self.ask_yes_no(l.pick("Recommencer ? (o/n)", "Start over? (y/n)"))? {
                        anyhow::bail!(
                            "{}",
                            l.pick(
                                "événement invalide : rien n'a été enregistré",
                                "invalid event: nothing was recorded",
                            )
                        );
                    }
                }
            }
        }
    }

    /// Asks a yes/no question until it gets o/oui/n/non (or y/yes/no).
    pub fn ask_yes_no(&self, prompt: &str) -> anyhow::Result<bool> {
        let lang = self.lang;
        let theme = Plain(lang);
        let text: String = Input::with_theme(&theme)
            .with_prompt(prompt)
            .validate_with(|t: &String| yes_no(lang, t).map(|_| ()))
            .interact_text_on(&self.term)
            .context("cannot read the answer from the terminal")?;
        yes_no(lang, &text).map_err(|e| anyhow::anyhow!(e))
    }

    /// Follows local `$ref`s of `node` (`#/$defs/NAME`).
    fn piece(&self, node: &Value) -> Piece {
        let mut own = node.as_object().cloned().unwrap_or_default();
        let mut timestamp = false;
        let mut depth = 0;
        while let Some(Value::String(r)) = own.remove("$ref") {
            let name = r.strip_prefix("#/$defs/").unwrap_or(&r);
            timestamp |= name == "timestamp";
            let target = self.root["$defs"][name]
                .as_object()
                .cloned()
                .unwrap_or_default();
            for (k, v) in target {
                own.entry(k).or_insert(v);
            }
            depth += 1;
            if depth > 16 {
                break;
            }
        }
        Piece {
            node: own,
            timestamp,
        }
    }

    /// The label of a field at `path`, indented by its depth.
    fn label(&self, path: &[(String, Option<String>)], optional: bool) -> String {
        let names: Vec<String> = path
            .iter()
            .map(|(name, description)| labels::field(self.lang, name, description.as_deref()))
            .collect();
        let indent = "  ".repeat(path.len().saturating_sub(1));
        let skip = if optional {
            self.lang.pick(
                " (facultatif, Entrée pour passer)",
                " (optional, Enter to skip)",
            )
        } else {
            ""
        };
        format!("{indent}{}{skip}", names.join(" › "))
    }

    /// Asks the fields of an object; `None` when it is optional and every field was skipped.
    fn ask_object(
        &self,
        piece: &Piece,
        path: &[(String, Option<String>)],
        required: bool,
    ) -> anyhow::Result<Option<Value>> {
        let Some(Value::Object(props)) = piece.node.get("properties") else {
            return self.ask_json_object(piece, path, required);
        };
        let req: Vec<String> = piece
            .node
            .get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let mut order: Vec<&String> = req.iter().filter(|r| props.contains_key(*r)).collect();
        order.extend(props.keys().filter(|k| !req.contains(k)));
        let mut out = Map::new();
        for name in order {
            let sub = &props[name];
            let description = sub
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_string);
            let mut sub_path = path.to_vec();
            sub_path.push((name.clone(), description));
            if let Some(v) = self.ask_value(sub, &sub_path, req.contains(name))? {
                out.insert(name.clone(), v);
            }
        }
        Ok((required || !out.is_empty()).then_some(Value::Object(out)))
    }

    /// An object without listed properties (e.g. corrected fields): typed as JSON.
    fn ask_json_object(
        &self,
        piece: &Piece,
        path: &[(String, Option<String>)],
        required: bool,
    ) -> anyhow::Result<Option<Value>> {
        let lang = self.lang;
        let min = piece
            .node
            .get("minProperties")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let check = move |t: &str| -> Result<Option<Value>, String> {
            if t.trim().is_empty() {
                return if required {
                    Err(lang
                        .pick("réponse obligatoire", "an answer is required")
                        .to_string())
                } else {
                    Ok(None)
                };
            }
            match serde_json::from_str::<Value>(t) {
                Ok(Value::Object(m)) if m.len() as u64 >= min => Ok(Some(Value::Object(m))),
                _ => Err(format!(
                    "{} {min} {}",
                    lang.pick(
                        "attendu : un objet JSON d'au moins",
                        "expected: a JSON object of at least"
                    ),
                    lang.pick("membre(s)", "member(s)")
                )),
            }
        };
        let prompt = format!("{} (JSON)", self.label(path, !required));
        let text = self.input(&prompt, |t| check(t).map(|_| ()))?;
        check(&text).map_err(|e| anyhow::anyhow!(e))
    }

    /// Asks one line of text until `check` accepts it.
    fn input(
        &self,
        prompt: &str,
        check: impl Fn(&str) -> Result<(), String>,
    ) -> anyhow::Result<String> {
        let theme = Plain(self.lang);
        Input::<String>::with_theme(&theme)
            .with_prompt(prompt)
            .allow_empty(true)
            .validate_with(|t: &String| check(t))
            .interact_text_on(&self.term)
            .context("cannot read the answer from the terminal")
    }

    /// Asks one value of the schema piece `node`; `None` when an optional one is skipped.
    fn ask_value(
        &self,
        node: &Value,
        path: &[(String, Option<String>)],
        required: bool,
    ) -> anyhow::Result<Option<Value>> {
        let piece = self.piece(node);
        let lang = self.lang;
        if let Some(Value::Array(values)) = piece.node.get("enum") {
            return self.ask_enum(values, path, required);
        }
        let kind = match piece.node.get("type") {
            Some(Value::String(t)) => t.clone(),
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .unwrap_or("string")
                .to_string(),
            _ if piece.node.contains_key("properties") => "object".to_string(),
            _ => "string".to_string(),
        };
        match kind.as_str() {
            "object" => {
                if !required {
                    let q = format!(
                        "{} {} ? {}",
                        lang.pick("Renseigner", "Fill in"),
                        self.label(path, false),
                        lang.pick("(o/n)", "(y/n)")
                    );
                    if !self.ask_yes_no(&q)? {
                        return Ok(None);
                    }
                }
                self.say(&format!("{} :", self.label(path, false)))?;
                self.ask_object(&piece, path, true)
            }
            "array" => self.ask_array(&piece, path, required),
            _ => {
                let check = |t: &str| scalar(lang, &piece, &kind, t, required);
                let hint = match kind.as_str() {
                    "boolean" => lang.pick(" (o/n)", " (y/n)"),
                    "integer" => lang.pick(" (nombre)", " (number)"),
                    _ if piece.timestamp => lang.pick(
                        " (AAAA-MM-JJTHH:MM:SSZ, ou « maintenant »)",
                        " (YYYY-MM-DDTHH:MM:SSZ, or \"now\")",
                    ),
                    _ => "",
                };
                let prompt = format!("{}{hint}", self.label(path, !required));
                let text = self.input(&prompt, |t| check(t).map(|_| ()))?;
                check(&text).map_err(|e| anyhow::anyhow!(e))
            }
        }
    }

    /// A selection list of the enum's values (French labels by default), with a first "skip"
    /// entry when the field is optional.
    fn ask_enum(
        &self,
        values: &[Value],
        path: &[(String, Option<String>)],
        required: bool,
    ) -> anyhow::Result<Option<Value>> {
        let mut items: Vec<String> = Vec::new();
        if !required {
            items.push(self.lang.pick("(passer)", "(skip)").to_string());
        }
        for v in values {
            let raw = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            items.push(labels::value(self.lang, &raw));
        }
        let theme = Plain(self.lang);
        let chosen = Select::with_theme(&theme)
            .with_prompt(self.label(path, false))
            .items(&items)
            .default(0)
            .interact_on(&self.term)
            .context("cannot read the choice from the terminal")?;
        let index = if required {
            Some(chosen)
        } else {
            chosen.checked_sub(1)
        };
        Ok(index.and_then(|i| values.get(i).cloned()))
    }

    /// An "add one?" loop over the array's items, asking at least `minItems` of them.
    fn ask_array(
        &self,
        piece: &Piece,
        path: &[(String, Option<String>)],
        required: bool,
    ) -> anyhow::Result<Option<Value>> {
        let lang = self.lang;
        let min = piece
            .node
            .get("minItems")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let max = piece.node.get("maxItems").and_then(Value::as_u64);
        let items = piece
            .node
            .get("items")
            .cloned()
            .unwrap_or(Value::Bool(true));
        let mut out = Vec::new();
        loop {
            let n = out.len() as u64;
            if max.is_some_and(|m| n >= m) {
                break;
            }
            if n >= min {
                let q = format!(
                    "{} {} ? {}",
                    self.label(path, false),
                    lang.pick("— en ajouter un", "— add one"),
                    lang.pick("(o/n)", "(y/n)")
                );
                if !self.ask_yes_no(&q)? {
                    break;
                }
            }
            let mut item_path = path.to_vec();
            if let Some(last) = item_path.last_mut() {
                last.0 = format!(
                    "{} n°{}",
                    labels::field(lang, &last.0, last.1.as_deref()),
                    n + 1
                );
                last.1 = None;
            }
            if let Some(v) = self.ask_value(&items, &item_path, true)? {
                out.push(v);
            }
        }
        Ok((required || !out.is_empty()).then_some(Value::Array(out)))
    }

    /// The body in plain words: one `label : value` line per answered field, nested fields
    /// indented, enum values and booleans in the session's language.
    pub fn summary(&self, body: &Value) -> Vec<String> {
        let mut lines = Vec::new();
        let root = self.root.clone();
        self.describe(&root, body, 0, &mut lines);
        lines
    }

    fn describe(&self, schema: &Value, value: &Value, depth: usize, lines: &mut Vec<String>) {
        let piece = self.piece(schema);
        let props = piece.node.get("properties").and_then(Value::as_object);
        let Value::Object(map) = value else {
            return;
        };
        let indent = "  ".repeat(depth + 1);
        for (name, v) in map {
            let sub = props
                .and_then(|p| p.get(name))
                .cloned()
                .unwrap_or(Value::Bool(true));
            let description = sub.get("description").and_then(Value::as_str);
            let label = labels::field(self.lang, name, description);
            self.describe_value(&sub, &label, v, depth, &indent, lines);
        }
    }

    fn describe_value(
        &self,
        schema: &Value,
        label: &str,
        v: &Value,
        depth: usize,
        indent: &str,
        lines: &mut Vec<String>,
    ) {
        let sep = self.lang.pick(" : ", ": ");
        match v {
            Value::Object(_) => {
                lines.push(format!("{indent}{label}{sep}"));
                self.describe(schema, v, depth + 1, lines);
            }
            Value::Array(items) => {
                let item_schema = self
                    .piece(schema)
                    .node
                    .get("items")
                    .cloned()
                    .unwrap_or(Value::Bool(true));
                for (i, item) in items.iter().enumerate() {
                    let item_label = format!("{label} n°{}", i + 1);
                    self.describe_value(&item_schema, &item_label, item, depth, indent, lines);
                }
            }
            Value::Bool(b) => {
                let word = if *b {
                    self.lang.pick("oui", "yes")
                } else {
                    self.lang.pick("non", "no")
                };
                lines.push(format!("{indent}{label}{sep}{word}"));
            }
            Value::String(s) if self.piece(schema).node.contains_key("enum") => {
                lines.push(format!(
                    "{indent}{label}{sep}{}",
                    labels::value(self.lang, s)
                ));
            }
            Value::String(s) => lines.push(format!("{indent}{label}{sep}{s}")),
            other => lines.push(format!("{indent}{label}{sep}{other}")),
        }
    }
}

/// Checks one typed answer against its schema piece: `None` for an empty optional answer.
fn scalar(
    lang: Lang,
    piece: &Piece,
    kind: &str,
    text: &str,
    required: bool,
) -> Result<Option<Value>, String> {
    let node = &piece.node;
    if text.is_empty() {
        return if required {
            Err(lang
                .pick("réponse obligatoire", "an answer is required")
                .to_string())
        } else {
            Ok(None)
        };
    }
    match kind {
        "boolean" => yes_no(lang, text).map(|b| Some(Value::Bool(b))),
        "integer" => {
            let n: i64 = text.trim().parse().map_err(|_| {
                lang.pick(
                    "attendu : un nombre entier, par exemple 12",
                    "expected: a whole number, e.g. 12",
                )
                .to_string()
            })?;
            if let Some(min) = node.get("minimum").and_then(Value::as_i64) {
                if n < min {
                    return Err(format!(
                        "{} {min}",
                        lang.pick("le minimum est", "the minimum is")
                    ));
                }
            }
            if let Some(max) = node.get("maximum").and_then(Value::as_i64) {
                if n > max {
                    return Err(format!(
                        "{} {max}",
                        lang.pick("le maximum est", "the maximum is")
                    ));
                }
            }
            Ok(Some(Value::from(n)))
        }
        _ => {
            if piece.timestamp {
                let lower = text.trim().to_lowercase();
                if lower == "now" || lower == "maintenant" {
                    let now = clock::now().map_err(|e| e.to_string())?;
                    return Ok(Some(Value::String(now.as_str().to_string())));
                }
                return match Timestamp::parse(text) {
                    Ok(t) => Ok(Some(Value::String(t.as_str().to_string()))),
                    Err(_) => Err(lang
                        .pick(
                            "date et heure attendues en UTC, de la forme 2026-03-15T08:30:00Z, ou « maintenant »",
                            "expected a UTC instant such as 2026-03-15T08:30:00Z, or \"now\"",
                        )
                        .to_string()),
                };
            }
            let chars = text.chars().count() as u64;
            if let Some(min) = node.get("minLength").and_then(Value::as_u64) {
                if chars < min {
                    return Err(format!(
                        "{} {min} {}",
                        lang.pick("au moins", "at least"),
                        lang.pick("caractère(s)", "character(s)")
                    ));
                }
            }
            if let Some(max) = node.get("maxLength").and_then(Value::as_u64) {
                if chars > max {
                    return Err(format!(
                        "{} {max} {}",
                        lang.pick("au plus", "at most"),
                        lang.pick("caractères", "characters")
                    ));
                }
            }
            if let Some(p) = node.get("pattern").and_then(Value::as_str) {
                let re = regex::Regex::new(p).map_err(|e| format!("pattern {p:?}: {e}"))?;
                if !re.is_match(text) {
                    return Err(if p == "[^\\t\\n\\r ]" {
                        lang.pick(
                            "la réponse ne peut pas être faite que d'espaces",
                            "the answer cannot be only whitespace",
                        )
                        .to_string()
                    } else {
                        format!("{} {p}", lang.pick("forme attendue :", "expected form:"))
                    });
                }
            }
            Ok(Some(Value::String(text.to_string())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(node: Value, timestamp: bool) -> Piece {
        Piece {
            node: node.as_object().cloned().unwrap_or_default(),
            timestamp,
        }
    }

    #[test]
    fn each_answer_is_checked_against_its_schema_piece() {
        let fr = Lang::Fr;
        let name = piece(
            serde_json::json!({"type": "string", "minLength": 1, "maxLength": 5, "pattern": "[^\\t\\n\\r ]"}),
            false,
        );
        assert_eq!(
            scalar(fr, &name, "string", "mère", true),
            Ok(Some(Value::from("mère")))
        );
        assert_eq!(scalar(fr, &name, "string", "", false), Ok(None));
        assert!(scalar(fr, &name, "string", "", true)
            .unwrap_err()
            .contains("obligatoire"));
        assert!(scalar(fr, &name, "string", "   ", true)
            .unwrap_err()
            .contains("espaces"));
        assert!(scalar(fr, &name, "string", "abcdef", true)
            .unwrap_err()
            .contains("au plus 5"));
        let minutes = piece(
            serde_json::json!({"type": "integer", "minimum": 1, "maximum": 1440}),
            false,
        );
        assert_eq!(
            scalar(fr, &minutes, "integer", "30", true),
            Ok(Some(Value::from(30)))
        );
        assert!(scalar(fr, &minutes, "integer", "0", true)
            .unwrap_err()
            .contains("minimum"));
        assert!(scalar(Lang::En, &minutes, "integer", "x", true)
            .unwrap_err()
            .contains("whole number"));
        let flag = piece(serde_json::json!({"type": "boolean"}), false);
        assert_eq!(
            scalar(fr, &flag, "boolean", "oui", true),
            Ok(Some(Value::Bool(true)))
        );
        assert_eq!(
            scalar(fr, &flag, "boolean", "N", true),
            Ok(Some(Value::Bool(false)))
        );
        assert!(scalar(fr, &flag, "boolean", "peut-être", true).is_err());
        assert!(
            scalar(fr, &flag, "boolean", "y", true).is_err(),
            "French answers are o/n"
        );
        assert_eq!(
            scalar(Lang::En, &flag, "boolean", "Yes", true),
            Ok(Some(Value::Bool(true)))
        );
        assert!(scalar(Lang::En, &flag, "boolean", "o", true).is_err());
        let at = piece(serde_json::json!({"type": "string"}), true);
        assert_eq!(
            scalar(fr, &at, "string", "2026-03-15T08:30:00Z", true),
            Ok(Some(Value::from("2026-03-15T08:30:00Z")))
        );
        assert!(scalar(fr, &at, "string", "2026-03-15 08:30", true)
            .unwrap_err()
            .contains("UTC"));
        let now = scalar(fr, &at, "string", "maintenant", true).unwrap();
        let text = now
            .as_ref()
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        assert!(Timestamp::parse(&text).is_ok(), "{text}");
    }
}
