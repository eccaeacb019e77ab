//! What a registrar reads at the gate, from a verified packet: who held the person, where, from
//! when to when, on which order, which evidence came along, what was withheld and what is
//! missing; in French (default) or English.
//!
//! It reads the headers and their public facts, and the bodies where they travel (references
//! of orders, places); an absent body shows as withheld, never as a guess.

use std::fmt::Write as _;

use custody_core::humancode::code_for_chain;
use custody_core::kinds::EventKind;
use custody_core::Record;
use serde_json::Value;

use crate::format::Withheld;
use crate::verify::{SealedState, Verified};

/// Why a payload is not in clear, and for a sealed one what the verifier could do with it. The
/// medical content itself is never shown.
fn withheld_reason(v: &Verified, wh: &Withheld, lang: Lang) -> String {
    let medical = wh.kind == "medical_screening";
    match wh.reason.as_str() {
        "sealed" => {
            let n = wh.recipients.as_ref().map_or(0, Vec::len);
            let head = match lang {
                Lang::Fr => format!(
                    "{} : chiffré pour le service médical du destinataire ({n} clé{})",
                    if medical {
                        "secret médical"
                    } else {
                        "contenu restreint"
                    },
                    if n > 1 { "s" } else { "" }
                ),
                Lang::En => format!(
                    "{}: encrypted to the receiver's medical staff ({n} key{})",
                    if medical {
                        "medical confidentiality"
                    } else {
                        "restricted content"
                    },
                    if n > 1 { "s" } else { "" }
                ),
            };
            let state = v
                .sealed
                .iter()
                .find(|s| s.event == wh.event)
                .map(|s| &s.state);
            let what = match state {
                Some(SealedState::Opened(_)) if medical => t(
                    lang,
                    "note médicale ouverte avec la clé médicale donnée : conforme à l'en-tête signé",
                    "medical note opened with the medical key given: matches its signed header",
                ),
                Some(SealedState::Opened(_)) => t(
                    lang,
                    "ouvert avec la clé médicale donnée : conforme à l'en-tête signé",
                    "opened with the medical key given: matches its signed header",
                ),
                Some(SealedState::NotAddressed) => t(
                    lang,
                    "non adressé à la clé médicale donnée, non ouvert",
                    "not addressed to the medical key given, not opened",
                ),
                _ => t(
                    lang,
                    "scellé, non ouvert (passez --medical-key)",
                    "sealed, not opened (pass --medical-key)",
                ),
            };
            format!("{head}{}{what}", t(lang, " ; ", "; "))
        }
        "restricted" if medical => t(
            lang,
            "secret médical : à demander au service médical de l'expéditeur",
            "medical confidentiality: ask the sender's medical staff",
        )
        .to_string(),
        "restricted" => t(
            lang,
            "contenu restreint : à demander au greffe de l'expéditeur",
            "restricted content: ask the sender's registrar",
        )
        .to_string(),
        "redacted" => t(lang, "supprimé légalement", "lawfully redacted").to_string(),
        _ => t(lang, "absent chez l'expéditeur", "missing at the sender").to_string(),
    }
}

/// Language of the timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    /// French (default).
    #[default]
    Fr,
    /// English.
    En,
}

fn t(lang: Lang, fr: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Fr => fr,
        Lang::En => en,
    }
}

/// A kind's name for the registrar.
pub fn kind_name(kind: EventKind, lang: Lang) -> &'static str {
    use EventKind as K;
    let (fr, en) = match kind {
        K::Arrest => ("arrestation", "arrest"),
        K::CustodyReleased => ("remise de la personne", "custody released"),
        K::CustodyAccepted => ("prise en charge", "custody accepted"),
        K::PoliceCustodyStarted => ("placement en garde à vue", "police custody started"),
        K::PoliceCustodyExtended => ("prolongation de la garde à vue", "police custody extended"),
        K::Questioning => ("audition", "questioning"),
        K::PlacementDecision => ("décision d'orientation", "placement decision"),
        K::JudicialAppearance => ("présentation à un magistrat", "judicial appearance"),
        K::Charged => ("inculpation", "charged"),
        K::DetentionOrder => ("mandat de dépôt", "detention order"),
        K::DetentionExtended => ("prolongation de la détention", "detention extended"),
        K::Admission => ("écrou", "admission"),
        K::MedicalScreening => ("examen médical", "medical screening"),
        K::RiskAssessment => ("évaluation des risques", "risk assessment"),
        K::HearingScheduled => ("audience fixée", "hearing scheduled"),
        K::HearingHeld => ("audience tenue", "hearing held"),
        K::Judgment => ("jugement", "judgment"),
        K::Release => ("libération", "release"),
        K::FamilyNotified => ("famille informée", "family notified"),
        K::Visit => ("visite", "visit"),
        K::EvidenceAdded => ("pièce versée", "evidence added"),
        K::DeathInCustody => ("décès en détention", "death in custody"),
        K::Escape => ("évasion", "escape"),
        K::Correction => ("rectification", "correction"),
        K::IdentityLinked => ("identité rapprochée", "identity linked"),
        K::AccessRestricted => ("restriction d'accès", "access restricted"),
        K::Redaction => ("suppression légale", "redaction"),
        _ => (kind.as_str(), kind.as_str()),
    };
    t(lang, fr, en)
}

fn body(r: &Record) -> Option<&Value> {
    r.payload.as_ref().map(|p| &p.body)
}

fn body_str<'a>(r: &'a Record, field: &str) -> Option<&'a str> {
    body(r)?.get(field)?.as_str()
}

fn place_of(r: &Record) -> Option<String> {
    let place = body(r)?.get("place")?;
    let mut parts = Vec::new();
    for f in ["description", "locality", "region"] {
        if let Some(s) = place.get(f).and_then(Value::as_str) {
            parts.push(s);
        }
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// One period during which an agency held the person.
struct Stay {
    agency: String,
    facility: Option<String>,
    from: String,
    until: Option<String>,
    order: Option<String>,
}

/// Renders the timeline of a verified packet.
pub fn render(v: &Verified, lang: Lang) -> String {
    let m = &v.manifest;
    let records: Vec<&Record> = v.chain_records().collect();
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(
        w,
        "{} {} ({} {}), {} {}",
        t(lang, "Paquet de transfert de", "Transfer packet of"),
        m.chain,
        t(lang, "code", "code"),
        code_for_chain(&m.chain),
        t(lang, "registre", "ledger"),
        m.ledger
    );

    // Order references by event hash.
    let mut orders: Vec<(String, String)> = Vec::new();
    for r in &records {
        let is_order = r.header.kind == EventKind::DetentionOrder
            || (r.header.kind == EventKind::Judgment
                && r.header.facts.str("outcome") == Some("convicted"));
        if is_order {
            let reference = body_str(r, "order_ref")
                .or_else(|| body_str(r, "judgment_ref"))
                .unwrap_or(t(lang, "référence retenue", "reference withheld"));
            let mut text = format!("{} {reference}", kind_name(r.header.kind, lang));
            if let Some(until) = r.header.facts.str("valid_until") {
                let _ = write!(
                    text,
                    ", {} {until}",
                    t(lang, "valable jusqu'au", "valid until")
                );
            }
            let _ = write!(
                text,
                ", {} {}",
                t(lang, "signé par", "signed by"),
                r.header.agency
            );
            orders.push((r.hash.to_hex(), text));
        }
    }
    let order_text = |hash: &str| {
        orders
            .iter()
            .find(|(h, _)| h == hash)
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| hash.to_string())
    };

    // Who held the person.
    let mut stays: Vec<Stay> = Vec::new();
    let mut police_custody = Vec::new();
    let mut released = None;
    for r in &records {
        let h = &r.header;
        let at = h.occurred_at.to_string();
        match h.kind {
            EventKind::Arrest => {
                if let Some(last) = stays.last_mut() {
                    last.until.get_or_insert(at.clone());
                }
                stays.push(Stay {
                    agency: h.agency.clone(),
                    facility: place_of(r),
                    from: at,
                    until: None,
                    order: None,
                });
            }
            EventKind::CustodyReleased => {
                if let Some(last) = stays.last_mut() {
                    last.until = Some(at);
                }
            }
            EventKind::CustodyAccepted => stays.push(Stay {
                agency: h.agency.clone(),
                facility: h.facts.str("facility").map(str::to_string),
                from: at,
                until: None,
                order: None,
            }),
            EventKind::PoliceCustodyStarted => {
                police_custody.push(format!(
                    "{} {at}, {} {}",
                    t(lang, "début", "started"),
                    t(lang, "lieu", "at"),
                    h.facts.str("facility").unwrap_or("?")
                ));
                if let Some(last) = stays.last_mut() {
                    last.facility = h.facts.str("facility").map(str::to_string);
                }
            }
            EventKind::PoliceCustodyExtended => {
                let until = body_str(r, "extended_until").unwrap_or(t(
                    lang,
                    "durée retenue",
                    "length withheld",
                ));
                police_custody.push(format!(
                    "{} {at} {} {until}",
                    t(lang, "prolongée le", "extended on"),
                    t(lang, "jusqu'au", "until")
                ));
            }
            EventKind::Admission => {
                if let Some(last) = stays.last_mut() {
                    last.facility = h.facts.str("facility").map(str::to_string);
                    last.order = h.facts.str("commitment_order_event").map(order_text);
                }
            }
            EventKind::Release | EventKind::DeathInCustody | EventKind::Escape => {
                if let Some(last) = stays.last_mut() {
                    last.until = Some(at.clone());
                }
                released = Some((h.kind, at));
            }
            _ => {}
        }
    }
    let _ = writeln!(
        w,
        "\n{}",
        t(lang, "Garde successive :", "Custody, in order:")
    );
    let gap = records.iter().rev().find(|r| {
        matches!(
            r.header.kind,
            EventKind::CustodyReleased | EventKind::CustodyAccepted | EventKind::Arrest
        )
    });
    for (i, s) in stays.iter().enumerate() {
        let _ = write!(w, "  {}. {}", i + 1, s.agency);
        if let Some(f) = &s.facility {
            let _ = write!(w, " ({} {f})", t(lang, "lieu :", "at"));
        }
        match &s.until {
            Some(u) => {
                let _ = write!(
                    w,
                    " {} {} {} {u}",
                    t(lang, "du", "from"),
                    s.from,
                    t(lang, "au", "to")
                );
            }
            None => {
                let _ = write!(w, " {} {}", t(lang, "depuis le", "since"), s.from);
            }
        }
        if let Some(o) = &s.order {
            let _ = write!(
                w,
                "\n     {} {o}",
                t(lang, "sur l'ordonnance :", "on the order:")
            );
        }
        let _ = writeln!(w);
    }
    if let Some(r) = gap.filter(|r| r.header.kind == EventKind::CustodyReleased) {
        let _ = writeln!(
            w,
            "  -> {} {} {} {} ({})",
            t(lang, "remis à", "handed to"),
            r.header.facts.str("to_agency").unwrap_or("?"),
            t(lang, "le", "on"),
            r.header.occurred_at,
            t(
                lang,
                "prise en charge non encore enregistrée",
                "acceptance not yet recorded"
            )
        );
    }
    if let Some((kind, at)) = &released {
        let _ = writeln!(w, "  {} {at}", kind_name(*kind, lang));
    }

    let _ = writeln!(w, "\n{}", t(lang, "Titres de détention :", "Orders:"));
    if orders.is_empty() {
        let _ = writeln!(w, "  {}", t(lang, "aucun", "none"));
    }
    for (hash, text) in &orders {
        let _ = writeln!(
            w,
            "  - {text} ({} {})",
            t(lang, "événement", "event"),
            &hash[..16]
        );
    }
    if !police_custody.is_empty() {
        let _ = writeln!(w, "\n{}", t(lang, "Garde à vue :", "Police custody:"));
        for line in &police_custody {
            let _ = writeln!(w, "  - {line}");
        }
    }

    let _ = writeln!(w, "\n{}", t(lang, "Pièces :", "Evidence:"));
    if m.evidence.is_empty() {
        let _ = writeln!(w, "  {}", t(lang, "aucune", "none"));
    }
    for e in &m.evidence {
        let r = records.iter().find(|r| r.hash.to_hex() == e.event);
        let label = r.and_then(|r| body_str(r, "label")).unwrap_or("?");
        let media = r.and_then(|r| body_str(r, "media_type")).unwrap_or("?");
        let status = if e.included {
            t(
                lang,
                "jointe, empreinte vérifiée",
                "included, digest verified",
            )
        } else {
            t(
                lang,
                "non jointe (manifeste seulement)",
                "not included (manifest only)",
            )
        };
        let _ = writeln!(
            w,
            "  - {label} ({media}, {} {}) : {status} ; sha256 {}",
            e.size_bytes,
            t(lang, "octets", "bytes"),
            e.digest
        );
    }

    let _ = writeln!(
        w,
        "\n{}",
        t(lang, "Retenu par l'expéditeur :", "Withheld by the sender:")
    );
    if m.withheld.is_empty() {
        let _ = writeln!(w, "  {}", t(lang, "rien", "nothing"));
    }
    let mut kinds: Vec<(&str, String, usize)> = Vec::new();
    for wh in &m.withheld {
        let why = withheld_reason(v, wh, lang);
        match kinds
            .iter_mut()
            .find(|(k, r, _)| *k == wh.kind && *r == why)
        {
            Some(e) => e.2 += 1,
            None => kinds.push((&wh.kind, why, 1)),
        }
    }
    for (kind, why, n) in kinds {
        let name = kind
            .parse::<EventKind>()
            .map(|k| kind_name(k, lang))
            .unwrap_or(kind);
        let _ = writeln!(w, "  - {name} x{n} ({why})");
    }

    let mut missing = Vec::new();
    if orders.is_empty() {
        missing.push(t(lang, "aucun titre de détention (mandat de dépôt ou jugement) : pas d'écrou possible (règle Mandela 7)", "no commitment order (detention order or judgment): no admission possible (Mandela Rule 7)"));
    }
    if !records
        .iter()
        .any(|r| r.header.kind == EventKind::MedicalScreening)
    {
        missing.push(t(
            lang,
            "aucun examen médical enregistré",
            "no medical screening recorded",
        ));
    }
    if gap.is_some_and(|r| r.header.kind == EventKind::CustodyReleased) {
        missing.push(t(lang, "la remise n'a pas encore de prise en charge : la personne n'est détenue par personne selon le registre", "the handover is not yet accepted: the record shows no one holding the person"));
    }
    if m.evidence.iter().any(|e| !e.included) {
        missing.push(t(
            lang,
            "des pièces ne sont pas jointes (manifeste seulement)",
            "some evidence is not included (manifest only)",
        ));
    }
    let _ = writeln!(w, "\n{}", t(lang, "Manquant :", "Missing:"));
    if missing.is_empty() {
        let _ = writeln!(w, "  {}", t(lang, "rien", "nothing"));
    }
    for line in missing {
        let _ = writeln!(w, "  - {line}");
    }

    let _ = writeln!(w, "\n{}", t(lang, "Chronologie :", "Timeline:"));
    for r in &records {
        let h = &r.header;
        let _ = write!(
            w,
            "  {}  {:<32} {}",
            h.occurred_at,
            kind_name(h.kind, lang),
            h.agency
        );
        if r.payload.is_none() {
            let hash = r.hash.to_hex();
            let label = match v.sealed.iter().find(|s| s.event == hash).map(|s| &s.state) {
                Some(SealedState::Opened(_)) => t(
                    lang,
                    "contenu scellé, ouvert : conforme",
                    "sealed content, opened: matches",
                ),
                Some(_) => t(lang, "contenu scellé", "sealed content"),
                None => t(lang, "contenu retenu", "content withheld"),
            };
            let _ = write!(w, "  [{label}]");
        }
        let _ = writeln!(w);
    }
    out
}
