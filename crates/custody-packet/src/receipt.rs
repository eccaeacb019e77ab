//! The printable handover receipt: one A4 page that the releasing officer and the receiving
//! registrar sign at the gate, so that the paper file and the ledger can be matched.
//!
//! It shows the handover itself (the packet's last `custody_released` and, when it is known,
//! the `custody_accepted` that answers it), not the whole timeline: the detainee chain's human
//! code, the packet digest (grouped for reading aloud), both agencies and facilities, both
//! signers (key id, agency, roles, badge), the dates and times, the condition on arrival and the
//! discrepancies the registrar recorded, the evidence (present in the packet or absent), a
//! one-line summary of the chain, and blank lines for handwritten signatures and stamps.
//!
//! The receipt may be printed and filed, so it carries no personal data of the detainee: no
//! name, no date of birth, no description, no medical payload, no inventory of belongings (only
//! counts). The code is the key to the ledger. What it does carry from the bodies is what both
//! sides sign for: the place and legal status of the handover, the condition on arrival
//! (visible injuries, complaints of ill-treatment, Mandela Rule 7) and the discrepancies.
//!
//! The page is self-contained HTML (inline CSS, no external resource), every value escaped
//! ([`escape`]); long lists and texts are cut so that the page never runs onto a second sheet.

use std::fmt::Write as _;

use custody_core::humancode::code_for_chain;
use custody_core::ids::AUTHORITY_CHAIN;
use custody_core::kinds::EventKind;
use custody_core::{PublicKeyId, Record};
use serde_json::Value;

use crate::timeline::{kind_name, Lang};
use crate::verify::Verified;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Who holds a key, from its latest `key_enrolled` record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyHolder {
    /// The key's agency.
    pub agency: String,
    /// Its roles.
    pub roles: Vec<String>,
    /// The holder's badge or service number, when enrolled with one.
    pub badge: Option<String>,
    /// The holder's name, when enrolled with one (an official, not the detainee).
    pub name: Option<String>,
}

/// The holder of `key` according to the latest `key_enrolled` among `authority` (records with
/// their payloads, as authority records always travel).
pub fn key_holder<'a>(
    authority: impl IntoIterator<Item = &'a Record>,
    key: &PublicKeyId,
) -> Option<KeyHolder> {
    let key = key.to_string();
    authority
        .into_iter()
        .filter(|r| r.header.chain == AUTHORITY_CHAIN && r.header.kind == EventKind::KeyEnrolled)
        .filter_map(|r| r.payload.as_ref().map(|p| &p.body))
        .filter(|b| b.get("key").and_then(Value::as_str) == Some(key.as_str()))
        .last()
        .map(|b| KeyHolder {
            agency: str_of(b, "agency").unwrap_or("?").to_string(),
            roles: b
                .get("roles")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            badge: str_of(b, "holder_badge").map(str::to_string),
            name: str_of(b, "holder_name").map(str::to_string),
        })
}

/// The acceptance of the handover, as the receiving store holds it.
#[derive(Clone, Debug)]
pub struct Acceptance {
    /// The `custody_accepted` record (with its payload when the store holds it).
    pub record: Record,
    /// Who signed it, from the receiving ledger's authority chain.
    pub signer: Option<KeyHolder>,
}

/// Everything a receipt shows.
pub struct Receipt<'a> {
    /// The verified packet.
    pub packet: &'a Verified,
    /// The acceptance from the receiving store, when it holds one for the packet's handover
    /// (an acceptance inside the packet is found without it).
    pub acceptance: Option<Acceptance>,
    /// Language of the page.
    pub lang: Lang,
    /// When the receipt is printed (RFC 3339).
    pub printed_at: String,
    /// How the packet was verified, in `lang` (e.g. against the receiving store's anchors).
    pub verified_with: String,
    /// The label of an enum value (a legal status, a role) in `lang`.
    pub value_label: &'a dyn Fn(&str) -> String,
}

/// Why no receipt can be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiptError {
    /// The packet's chain has no `custody_released`: there is no handover to acknowledge.
    #[error("the packet's chain records no handover (custody_released): there is nothing to acknowledge")]
    NoHandover,
}

/// The handover a receipt is about: the last `custody_released` of the packet's chain.
pub fn handover(v: &Verified) -> Option<&Record> {
    v.chain_records()
        .filter(|r| r.header.kind == EventKind::CustodyReleased)
        .last()
}

/// The `custody_accepted` of the packet's chain that answers `release`, if it travels.
pub fn acceptance_in_packet<'a>(v: &'a Verified, release: &Record) -> Option<&'a Record> {
    let hash = release.hash.to_hex();
    v.chain_records().find(|r| {
        r.header.kind == EventKind::CustodyAccepted
            && r.header.facts.str("release_event") == Some(hash.as_str())
    })
}

fn t(lang: Lang, fr: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Fr => fr,
        Lang::En => en,
    }
}

fn str_of<'a>(v: &'a Value, field: &str) -> Option<&'a str> {
    v.get(field)?.as_str()
}

fn body(r: &Record) -> Option<&Value> {
    r.payload.as_ref().map(|p| &p.body)
}

/// At most `max` characters of `text`, with an ellipsis when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

/// An RFC 3339 UTC instant as `YYYY-MM-DD HH:MM UTC`.
fn when(ts: &str) -> String {
    if ts.len() >= 16 && ts.as_bytes()[10] == b'T' {
        format!("{} {} UTC", &ts[..10], &ts[11..16])
    } else {
        ts.to_string()
    }
}

/// Hex in groups of four, separated by spaces.
fn grouped(hex: &str) -> String {
    hex.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The registered name of an agency or facility, from the packet's authority records.
fn registered_name<'a>(v: &'a Verified, kind: EventKind, id: &str) -> Option<&'a str> {
    v.records
        .iter()
        .rev()
        .map(|(_, r)| r)
        .filter(|r| r.header.chain == AUTHORITY_CHAIN && r.header.kind == kind)
        .filter_map(body)
        .find(|b| str_of(b, "id") == Some(id))
        .and_then(|b| str_of(b, "name"))
}

fn named(v: &Verified, kind: EventKind, id: &str) -> String {
    match registered_name(v, kind, id) {
        Some(name) => format!(
            "{} <span class=\"id\">({})</span>",
            escape(&cut(name, 60)),
            escape(id)
        ),
        None => format!("<span class=\"mono\">{}</span>", escape(id)),
    }
}

const STYLE: &str = r#"
@page { size: A4; margin: 11mm 12mm; }
* { box-sizing: border-box; }
html, body { margin: 0; padding: 0; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 8pt;
  line-height: 1.2; color: #000; width: 186mm; }
h1 { font-size: 11pt; margin: 0 0 1mm 0; }
h2 { font-size: 9pt; margin: 1.6mm 0 0.7mm 0; padding-bottom: 0.4mm; border-bottom: 0.3mm solid #000;
  text-transform: uppercase; letter-spacing: 0.03em; }
.mono, .id, .digest, .code { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; }
.id { font-size: 7pt; color: #333; }
.nowrap, table.evidence td { white-space: nowrap; }
.top { display: flex; justify-content: space-between; align-items: flex-start; gap: 4mm; }
.meta { font-size: 7.6pt; color: #222; }
.top > div:first-child { flex: 1 1 auto; }
.codebox { flex: 0 0 auto; border: 0.6mm solid #000; padding: 1.5mm 3mm; text-align: center; }
.codebox .label { font-size: 7.4pt; text-transform: uppercase; }
.code { font-size: 22pt; font-weight: bold; letter-spacing: 0.06em; white-space: nowrap; }
.digestbox { border: 0.3mm solid #000; padding: 1.2mm 2.5mm; margin-top: 2mm; }
.digest-short { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 15pt;
  font-weight: bold; letter-spacing: 0.04em; }
.digest { font-size: 8.6pt; word-spacing: 0.25em; }
table { border-collapse: collapse; width: 100%; }
td, th { border: 0.25mm solid #555; padding: 0.7mm 1.4mm; vertical-align: top; text-align: left; }
th { background: #eee; font-weight: bold; }
th.row { background: #f4f4f4; font-weight: normal; font-size: 7.8pt; }
table.sides th.row { width: 34mm; }
table.sides td { width: 76mm; }
table.cond th.row { width: 44mm; }
table.cond td:nth-child(2) { width: 28mm; }
.warn { font-weight: bold; }
.ok { font-weight: bold; }
ul { margin: 0.5mm 0 0.5mm 5mm; padding: 0; }
li { margin: 0 0 0.4mm 0; }
.signs { display: flex; gap: 4mm; margin-top: 1mm; }
.sign { flex: 1; border: 0.3mm solid #000; padding: 1.2mm 2.5mm; }
.sign .who { font-weight: bold; margin-bottom: 1.5mm; }
.line { border-bottom: 0.25mm solid #000; height: 7mm; margin-bottom: 0.8mm; font-size: 7.4pt;
  color: #333; display: flex; align-items: flex-end; }
.stamp { border: 0.25mm dashed #555; height: 13mm; margin-top: 1.5mm; font-size: 7.4pt; color: #555;
  padding: 0.8mm; }
.foot { margin-top: 1.5mm; font-size: 7pt; color: #333; }
@media screen { body { margin: 8mm auto; } }
"#;

/// Most discrepancies shown (the rest are counted).
const MAX_DISCREPANCIES: usize = 4;
/// Most evidence rows shown (the rest are counted).
const MAX_EVIDENCE: usize = 5;
/// Most documents listed (the rest are counted).
const MAX_DOCUMENTS: usize = 3;

/// Renders the receipt as a self-contained HTML page that prints on one A4 sheet.
pub fn render_html(r: &Receipt<'_>) -> Result<String, ReceiptError> {
    let v = r.packet;
    let lang = r.lang;
    let release = handover(v).ok_or(ReceiptError::NoHandover)?;
    let in_packet = acceptance_in_packet(v, release);
    let acceptance: Option<Acceptance> = match in_packet {
        Some(rec) => Some(Acceptance {
            record: rec.clone(),
            signer: key_holder(v.records.iter().map(|(_, r)| r), &rec.header.signer),
        }),
        None => r.acceptance.clone().filter(|a| {
            a.record.header.kind == EventKind::CustodyAccepted
                && a.record.header.facts.str("release_event")
                    == Some(release.hash.to_hex().as_str())
        }),
    };
    let m = &v.manifest;
    let code = code_for_chain(&m.chain);
    let digest_hex: String = v.digest.iter().map(|b| format!("{b:02x}")).collect();
    let rel_body = body(release);
    let to_agency = release.header.facts.str("to_agency").unwrap_or("?");
    let to_facility = release.header.facts.str("to_facility");
    let label = |s: &str| escape(&(r.value_label)(s));
    // French sets a space before a colon, English none.
    let c = t(lang, " :", ":");
    let sc = t(lang, " ;", ";");

    let mut h = String::new();
    let w = &mut h;
    let _ = writeln!(
        w,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{} {}</title>\n<style>{STYLE}</style>\n</head>\n<body>",
        t(lang, "fr", "en"),
        t(lang, "Reçu de remise", "Handover receipt"),
        escape(&code)
    );

    // Title, code and digest.
    let _ = write!(
        w,
        "<div class=\"top\"><div><h1>{}</h1><div class=\"meta\">{} <span class=\"mono\">{}</span> · {} <span class=\"mono\">{}</span><br>{} {} · {} {}</div></div>",
        t(lang, "Reçu de remise d'une personne privée de liberté", "Receipt for the handover of a person deprived of liberty"),
        t(lang, "Registre :", "Ledger:"),
        escape(&m.ledger),
        t(lang, "Chaîne :", "Chain:"),
        escape(&m.chain),
        t(lang, "Paquet exporté le", "Packet exported on"),
        escape(&when(&m.exported_at)),
        t(lang, "Reçu imprimé le", "Receipt printed on"),
        escape(&when(&r.printed_at)),
    );
    let _ = writeln!(
        w,
        "<div class=\"codebox\"><div class=\"label\">{}</div><div class=\"code\" id=\"code\">{}</div></div></div>",
        t(lang, "Code du détenu", "Detainee code"),
        escape(&code)
    );
    let _ = write!(
        w,
        "<div class=\"digestbox\"><div>{} <span class=\"digest-short\" id=\"digest-short\">{}</span></div><div class=\"digest\" id=\"digest\">sha256 {}<br>{}</div>",
        t(lang, "Empreinte du paquet (à lire à voix haute, à comparer avec l'expéditeur) :", "Packet digest (read it aloud, compare with the sender):"),
        escape(&grouped(&digest_hex[..16])),
        escape(&grouped(&digest_hex[..32])),
        escape(&grouped(&digest_hex[32..])),
    );
    let _ = write!(
        w,
        "<div class=\"meta\"><span class=\"ok\">{}</span> {} ",
        t(lang, "Paquet vérifié :", "Packet verified:"),
        escape(&cut(&r.verified_with, 160))
    );
    let _ = write!(
        w,
        "{} {} {} {}.",
        v.records.len(),
        t(
            lang,
            "enregistrements, point de contrôle signé de taille",
            "records, signed checkpoint of size"
        ),
        v.checkpoint.size,
        t(
            lang,
            "(signatures, chaînage, autorité des signataires, inclusion)",
            "(signatures, links, signers' authority, inclusion)"
        ),
    );
    if v.trust_from_packet || v.vkey_from_packet {
        let _ = write!(
            w,
            " <span class=\"warn\">{}</span>",
            t(
                lang,
                "ATTENTION : racines de confiance ou clé du registre prises dans le paquet lui-même.",
                "WARNING: trust anchors or ledger key taken from the packet itself."
            )
        );
    }
    let _ = writeln!(w, "</div></div>");

    // The two sides.
    let _ = write!(
        w,
        "<h2>{}</h2>\n<table class=\"sides\"><tr><th></th><th>{}</th><th>{}</th></tr>\n",
        t(lang, "La remise", "The handover"),
        t(lang, "Agence qui remet", "Releasing agency"),
        t(lang, "Agence qui reçoit", "Receiving agency"),
    );
    let acc = acceptance.as_ref();
    let acc_body = acc.and_then(|a| body(&a.record));
    let not_yet = t(
        lang,
        "prise en charge non encore enregistrée",
        "acceptance not yet recorded",
    );
    let row = |w: &mut String, head: &str, left: String, right: String| {
        let _ = writeln!(
            w,
            "<tr><th class=\"row\">{head}</th><td>{left}</td><td>{right}</td></tr>"
        );
    };
    row(
        w,
        t(lang, "Agence", "Agency"),
        format!(
            "<span id=\"from-agency\">{}</span>",
            named(v, EventKind::AgencyRegistered, &release.header.agency)
        ),
        format!(
            "<span id=\"to-agency\">{}</span>",
            named(v, EventKind::AgencyRegistered, to_agency)
        ),
    );
    let acc_facility = acc.and_then(|a| a.record.header.facts.str("facility"));
    row(
        w,
        t(
            lang,
            "Lieu (remise, détention)",
            "Place (handover, held at)",
        ),
        rel_body
            .and_then(|b| b.get("place"))
            .map(|p| {
                let parts: Vec<&str> = ["description", "locality", "region"]
                    .iter()
                    .filter_map(|f| str_of(p, f))
                    .collect();
                escape(&cut(&parts.join(", "), 80))
            })
            .unwrap_or_else(|| "—".to_string()),
        match (acc_facility, to_facility) {
            (Some(f), _) => named(v, EventKind::FacilityRegistered, f),
            (None, Some(f)) => format!(
                "{} ({})",
                named(v, EventKind::FacilityRegistered, f),
                t(lang, "annoncé", "announced")
            ),
            (None, None) => "—".to_string(),
        },
    );
    let acc_when = acc.map(|a| {
        format!(
            "{} <span class=\"id\">({} {})</span>",
            escape(&when(a.record.header.occurred_at.as_str())),
            t(lang, "signé", "signed"),
            escape(when(a.record.header.recorded_at.as_str()).trim_end_matches(" UTC"))
        )
    });
    row(
        w,
        t(lang, "Date et heure", "Date and time"),
        format!(
            "{} <span class=\"id\">({} {})</span>",
            escape(&when(release.header.occurred_at.as_str())),
            t(lang, "signé", "signed"),
            escape(when(release.header.recorded_at.as_str()).trim_end_matches(" UTC"))
        ),
        acc_when.unwrap_or_else(|| format!("<span class=\"warn\">{not_yet}</span>")),
    );
    let signer = |key: &PublicKeyId, holder: Option<&KeyHolder>, id: &str| {
        let mut s = format!(
            "<span class=\"mono id nowrap\" id=\"{id}\">{}</span>",
            escape(&key.to_string())
        );
        if let Some(k) = holder {
            let roles: Vec<String> = k.roles.iter().map(|x| label(x)).collect();
            let _ = write!(s, "<br>{}", escape(&k.agency));
            if !roles.is_empty() {
                let _ = write!(s, ", {}", roles.join(", "));
            }
            if let Some(n) = &k.name {
                let _ = write!(s, "<br>{}", escape(&cut(n, 40)));
            }
            if let Some(b) = &k.badge {
                let _ = write!(s, " ({} {})", t(lang, "matricule", "badge"), escape(b));
            }
        }
        s
    };
    let rel_holder = key_holder(v.records.iter().map(|(_, r)| r), &release.header.signer);
    row(
        w,
        t(lang, "Signataire (clé)", "Signer (key)"),
        signer(
            &release.header.signer,
            rel_holder.as_ref(),
            "release-signer",
        ),
        acc.map(|a| signer(&a.record.header.signer, a.signer.as_ref(), "accept-signer"))
            .unwrap_or_else(|| "—".to_string()),
    );
    row(
        w,
        t(lang, "Événement", "Event"),
        format!(
            "{} <span class=\"mono id\">{}</span>",
            kind_name(EventKind::CustodyReleased, lang),
            &release.hash.to_hex()[..16]
        ),
        acc.map(|a| {
            format!(
                "{} <span class=\"mono id\">{}</span>",
                kind_name(EventKind::CustodyAccepted, lang),
                &a.record.hash.to_hex()[..16]
            )
        })
        .unwrap_or_else(|| "—".to_string()),
    );
    let status = rel_body
        .and_then(|b| str_of(b, "legal_status"))
        .map(&label)
        .unwrap_or_else(|| t(lang, "contenu retenu", "content withheld").to_string());
    let count = |b: Option<&Value>, f: &str| {
        b.and_then(|b| b.get(f))
            .and_then(Value::as_array)
            .map(|a| a.len())
    };
    let fmt_count = |n: Option<usize>| n.map_or("—".to_string(), |n| n.to_string());
    row(
        w,
        t(lang, "Statut, objets remis", "Status, items"),
        format!(
            "{}{c} {status}{sc} {}{c} {}{sc} {}{c} {}",
            t(lang, "statut", "status"),
            t(lang, "objets", "items"),
            fmt_count(count(rel_body, "items_handed_over")),
            t(lang, "documents", "documents"),
            fmt_count(count(rel_body, "documents_handed_over")),
        ),
        format!(
            "{}{c} {}{sc} {}{c} {}",
            t(lang, "objets reçus", "items received"),
            fmt_count(count(acc_body, "items_received")),
            t(lang, "documents", "documents"),
            fmt_count(count(acc_body, "documents_received")),
        ),
    );
    let _ = writeln!(w, "</table>");

    // Condition on arrival and discrepancies.
    let _ = writeln!(
        w,
        "<h2>{}</h2>",
        t(
            lang,
            "État à l'arrivée et écarts constatés",
            "Condition on arrival and discrepancies"
        )
    );
    let finding = |cond: Option<&Value>, field: &str| -> String {
        match cond.and_then(|c| c.get(field)) {
            Some(f) if f.get("present").and_then(Value::as_bool) == Some(true) => format!(
                "<span class=\"warn\">{}</span>{c} {}",
                t(lang, "OUI", "YES"),
                escape(&cut(str_of(f, "details").unwrap_or("?"), 110))
            ),
            Some(_) => t(lang, "non", "no").to_string(),
            None => "—".to_string(),
        }
    };
    match acc {
        Some(_) if acc_body.is_none() => {
            let _ = writeln!(
                w,
                "<p>{}</p>",
                t(
                    lang,
                    "Le contenu de la prise en charge n'est pas détenu ici : voir le registre de l'agence qui reçoit.",
                    "The acceptance's content is not held here: see the receiving agency's register."
                )
            );
        }
        Some(_) => {
            let cond = acc_body.and_then(|b| b.get("condition_on_arrival"));
            let before = rel_body.and_then(|b| b.get("condition_at_release"));
            let _ = writeln!(
                w,
                "<table class=\"cond\"><tr><th></th><th>{}</th><th>{}</th></tr>",
                t(lang, "à la remise", "at release"),
                t(lang, "à l'arrivée", "on arrival")
            );
            for (field, head) in [
                (
                    "visible_injuries",
                    t(lang, "Blessures visibles", "Visible injuries"),
                ),
                (
                    "complaints_of_ill_treatment",
                    t(
                        lang,
                        "Plainte de mauvais traitements",
                        "Complaint of ill-treatment",
                    ),
                ),
            ] {
                let _ = writeln!(
                    w,
                    "<tr><th class=\"row\">{head}</th><td>{}</td><td id=\"arrival-{field}\">{}</td></tr>",
                    finding(before, field),
                    finding(cond, field)
                );
            }
            if let Some(n) = cond.and_then(|c| str_of(c, "notes")) {
                let _ = writeln!(
                    w,
                    "<tr><th class=\"row\">{}</th><td colspan=\"2\">{}</td></tr>",
                    t(lang, "Observations", "Notes"),
                    escape(&cut(n, 110))
                );
            }
            let _ = writeln!(w, "</table>");
            let list: Vec<&str> = acc_body
                .and_then(|b| b.get("discrepancies"))
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if list.is_empty() {
                let _ = writeln!(
                    w,
                    "<p>{}{c} {}</p>",
                    t(lang, "Écarts constatés", "Discrepancies"),
                    t(lang, "aucun", "none")
                );
            } else {
                let _ = writeln!(
                    w,
                    "<div>{}{c}</div><ul id=\"discrepancies\">",
                    t(lang, "Écarts constatés", "Discrepancies")
                );
                for d in list.iter().take(MAX_DISCREPANCIES) {
                    let _ = writeln!(w, "<li>{}</li>", escape(&cut(d, 100)));
                }
                if list.len() > MAX_DISCREPANCIES {
                    let _ = writeln!(
                        w,
                        "<li>… {} {}</li>",
                        list.len() - MAX_DISCREPANCIES,
                        t(lang, "autres : voir le registre", "more: see the register")
                    );
                }
                let _ = writeln!(w, "</ul>");
            }
        }
        None => {
            let _ = writeln!(
                w,
                "<p class=\"warn\">{}</p><div class=\"line\">{}</div><div class=\"line\">{}</div><div class=\"line\">{}</div>",
                t(lang, "Prise en charge non encore enregistrée : la personne est en écart de garde jusqu'à son enregistrement. À remplir à la main :", "Acceptance not yet recorded: the person is in a custody gap until it is. Fill in by hand:"),
                t(lang, "Blessures visibles à l'arrivée :", "Visible injuries on arrival:"),
                t(lang, "Plainte de mauvais traitements :", "Complaint of ill-treatment:"),
                t(lang, "Écarts constatés :", "Discrepancies:"),
            );
        }
    }

    // Evidence.
    let _ = writeln!(
        w,
        "<h2>{} ({})</h2>",
        t(
            lang,
            "Pièces annoncées dans le paquet",
            "Evidence listed in the packet"
        ),
        m.evidence.len()
    );
    if m.evidence.is_empty() {
        let _ = writeln!(w, "<p>{}</p>", t(lang, "aucune", "none"));
    } else {
        let _ = writeln!(
            w,
            "<table class=\"evidence\"><tr><th>{}</th><th>{}</th><th>sha256</th><th>{}</th></tr>",
            t(lang, "Pièce", "Item"),
            t(lang, "Taille", "Size"),
            t(lang, "Dans le paquet", "In the packet"),
        );
        // The absent ones first: they are what the registrar must ask for.
        let mut listed: Vec<&crate::format::EvidenceEntry> = m.evidence.iter().collect();
        listed.sort_by_key(|e| e.included);
        for e in listed.iter().take(MAX_EVIDENCE) {
            let rec = v.chain_records().find(|x| x.hash.to_hex() == e.event);
            let name = rec
                .and_then(body)
                .and_then(|b| str_of(b, "label"))
                .unwrap_or("?");
            let state = if e.included {
                t(
                    lang,
                    "présente, empreinte vérifiée",
                    "present, digest verified",
                )
                .to_string()
            } else {
                let why = match e.reason.as_deref() {
                    Some("too_large") => t(lang, "trop volumineuse", "too large"),
                    Some("not_in_store") => {
                        t(lang, "pas chez l'expéditeur", "not held by the sender")
                    }
                    _ => t(lang, "non jointe", "not included"),
                };
                format!(
                    "<span class=\"warn\">{}</span> ({why})",
                    t(lang, "ABSENTE", "ABSENT")
                )
            };
            let _ = writeln!(
                w,
                "<tr><td>{}</td><td>{} {}</td><td class=\"mono id\">{}</td><td>{state}</td></tr>",
                escape(&cut(name, 40)),
                e.size_bytes,
                t(lang, "octets", "bytes"),
                escape(&grouped(&e.digest[..e.digest.len().min(16)])),
            );
        }
        if m.evidence.len() > MAX_EVIDENCE {
            let absent = listed
                .iter()
                .skip(MAX_EVIDENCE)
                .filter(|e| !e.included)
                .count();
            let _ = writeln!(
                w,
                "<tr><td colspan=\"4\">… {} {} ({} {})</td></tr>",
                m.evidence.len() - MAX_EVIDENCE,
                t(
                    lang,
                    "autres pièces : voir `custody packet verify`",
                    "more: see `custody packet verify`"
                ),
                absent,
                t(lang, "absentes", "absent"),
            );
        }
        let _ = writeln!(w, "</table>");
    }
    let docs: Vec<String> = rel_body
        .and_then(|b| b.get("documents_handed_over"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|d| {
                    let title = str_of(d, "title").unwrap_or("?");
                    match str_of(d, "reference") {
                        Some(r) => format!("{} ({})", cut(title, 40), cut(r, 30)),
                        None => cut(title, 40),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    if !docs.is_empty() {
        let shown: Vec<String> = docs.iter().take(MAX_DOCUMENTS).map(|d| escape(d)).collect();
        let more = if docs.len() > MAX_DOCUMENTS {
            format!(" … +{}", docs.len() - MAX_DOCUMENTS)
        } else {
            String::new()
        };
        let _ = writeln!(
            w,
            "<div>{}{c} {}{more}</div>",
            t(lang, "Documents remis", "Documents handed over"),
            shown.join(&format!("{sc} "))
        );
    }

    // The chain, in one line.
    let records: Vec<&Record> = v.chain_records().collect();
    let mut custodians: Vec<&str> = Vec::new();
    for rec in &records {
        if matches!(
            rec.header.kind,
            EventKind::Arrest | EventKind::CustodyAccepted
        ) && custodians.last() != Some(&rec.header.agency.as_str())
        {
            custodians.push(&rec.header.agency);
        }
    }
    if in_packet.is_none() && custodians.last() != Some(&to_agency) {
        custodians.push(to_agency);
    }
    let chain_line = if custodians.len() > 6 {
        let mut s: Vec<&str> = custodians[..2].to_vec();
        s.push("…");
        s.extend_from_slice(&custodians[custodians.len() - 3..]);
        s.join(" → ")
    } else {
        custodians.join(" → ")
    };
    let _ = writeln!(
        w,
        "<h2>{}</h2>",
        t(lang, "La chaîne en bref", "The chain in brief")
    );
    let _ = writeln!(
        w,
        "<div>{} {} {} {} {}{sc} {}{c} {}{sc} {}{c} {}.</div>",
        records.len(),
        t(lang, "événements, du", "events, from"),
        escape(&when(
            records
                .first()
                .map_or("", |r| r.header.occurred_at.as_str())
        )),
        t(lang, "au", "to"),
        escape(&when(
            records.last().map_or("", |r| r.header.occurred_at.as_str())
        )),
        t(lang, "gardes successives", "custodians in order"),
        escape(&chain_line),
        t(
            lang,
            "contenus retenus par l'expéditeur",
            "payloads withheld by the sender"
        ),
        m.withheld.len(),
    );

    // Signatures.
    let _ = writeln!(
        w,
        "<h2>{}</h2><div class=\"signs\">",
        t(lang, "Signatures", "Signatures")
    );
    for (who, agency) in [
        (
            t(lang, "Pour l'agence qui remet", "For the releasing agency"),
            release.header.agency.as_str(),
        ),
        (
            t(lang, "Pour l'agence qui reçoit", "For the receiving agency"),
            to_agency,
        ),
    ] {
        let _ = writeln!(
            w,
            "<div class=\"sign\"><div class=\"who\">{who} <span class=\"id\">({})</span></div><div class=\"line\">{}</div><div class=\"line\">{}</div><div class=\"line\">{}</div><div class=\"stamp\">{}</div></div>",
            escape(agency),
            t(lang, "Nom, grade, matricule :", "Name, rank, badge:"),
            t(lang, "Date et heure :", "Date and time:"),
            t(lang, "Signature :", "Signature:"),
            t(lang, "Cachet", "Stamp"),
        );
    }
    let _ = writeln!(w, "</div>");
    let _ = writeln!(
        w,
        "<div class=\"foot\">{} <span class=\"mono\">{}</span> {} <span class=\"mono\">{}</span>.</div>",
        t(lang, "Aucune donnée d'identité du détenu : le code", "No identity data of the detainee: the code"),
        escape(&code),
        t(lang, "et l'empreinte renvoient au registre ; vérifier :", "and the digest lead to the ledger; check with:"),
        escape("custody packet verify FILE"),
    );
    let _ = writeln!(w, "</body>\n</html>");
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_replaces_the_five_characters_and_keeps_the_rest() {
        assert_eq!(
            escape(r#"<b a="1" c='2'>&amp; été</b>"#),
            "&lt;b a=&quot;1&quot; c=&#39;2&#39;&gt;&amp;amp; été&lt;/b&gt;"
        );
        assert_eq!(escape("plain text"), "plain text");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn cut_keeps_short_text_and_marks_a_cut() {
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("ééééé", 3), "éé…");
    }

    #[test]
    fn instants_and_digests_are_written_for_reading() {
        assert_eq!(when("2026-12-01T14:03:59Z"), "2026-12-01 14:03 UTC");
        assert_eq!(when("?"), "?");
        assert_eq!(grouped("0123456789abcdef"), "0123 4567 89ab cdef");
    }
}
