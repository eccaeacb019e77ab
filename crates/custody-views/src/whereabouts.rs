//! Where a person is: the official whereabouts view, and the relatives' and counsel's view
//! (International Convention for the Protection of All Persons from Enforced Disappearance,
//! art. 18 fields only, under the restrictions art. 20 allows).
//!
//! Art. 18 fields: (a) the authority that ordered the deprivation of liberty; (b) the date, time
//! and place of the deprivation of liberty and of the admission to a place of detention; (c)
//! the authority responsible for supervising it; (d) the whereabouts, transfers included; (e)
//! the date, time and place of release; (f) a death in custody; (g) the state of health, which
//! this view gives only as "a medical screening took place on D", never its content.
//!
//! Art. 20: a restriction comes only from an `access_restricted` record that is reasoned, time
//! limited and names its judicial review ([`restriction_in_force`]); one that expired, or whose
//! review date has passed, does not apply (and the alarms report it). Under a restriction the
//! relatives' view withholds the place (facility, transfers, places of arrest and admission);
//! no restriction ever hides that the person is alive and held by a named authority.
//!
//! Headers give every field but the places of arrest and release and the wording of the
//! ordering authority, which are in payloads: [`whereabouts`] reads them from the chain's
//! records when their payloads are present.

use std::fmt::Write as _;

use custody_core::{EventKind, Record, Timestamp};
use serde_json::{json, Value};

use crate::detainee::{AccessRestriction, CustodyState, DetaineeFold, Projection};
use crate::i18n::{fmt_date, fmt_datetime, t, Lang, MessageId};

/// The art. 20 restriction in force for a person at `at`, if any: the latest
/// `access_restricted` that is reasoned, not expired, names its judicial review, and whose
/// review date (when recorded) has not passed. The schema of `access_restricted` requires its
/// `reasons`, so a record that passed validation is reasoned unless a fact says otherwise
/// (`reasoned: false`).
pub fn restriction_in_force<'a>(
    fold: &'a DetaineeFold,
    at: &Timestamp,
) -> Option<&'a AccessRestriction> {
    fold.restrictions
        .iter()
        .filter(|r| {
            r.reasoned != Some(false)
                && r.until.as_ref().is_some_and(|u| u > at)
                && r.review_by.as_deref().is_some_and(|s| !s.is_empty())
                && r.review_at.as_ref().is_none_or(|d| d > at)
        })
        .max_by(|a, b| a.decided_at.cmp(&b.decided_at))
}

/// Where the person stands now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Current {
    /// Held by an agency.
    Held {
        /// The agency (id).
        agency: String,
        /// Its registered name.
        agency_name: Option<String>,
        /// The facility where the records place the person (`None`: not recorded, or withheld).
        facility: Option<String>,
        /// Its registered name.
        facility_name: Option<String>,
        /// Whether that facility is a registered, officially recognised place of detention.
        recognised: bool,
        /// Since when the agency holds the person.
        since: Timestamp,
    },
    /// Released by one agency and not yet accepted by the next (a custody gap).
    Gap {
        /// The releasing agency.
        from: String,
        /// The agency named to receive the person.
        to: Option<String>,
        /// Since when.
        since: Timestamp,
    },
    /// Released.
    Released {
        /// When.
        at: Timestamp,
        /// Where, when the release record's payload gives it.
        place: Option<String>,
    },
    /// Died in custody.
    Deceased {
        /// When.
        at: Timestamp,
    },
    /// Escaped.
    Escaped {
        /// When.
        at: Timestamp,
    },
    /// No record.
    Unknown,
}

/// A stay at a place of detention (a transfer is the move from one to the next).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StayLine {
    /// The facility id.
    pub facility: String,
    /// Its registered name.
    pub name: Option<String>,
    /// The agency that recorded the person there.
    pub agency: String,
    /// Arrival.
    pub from: Timestamp,
    /// Departure (`None`: still there).
    pub until: Option<Timestamp>,
}

/// The art. 18 information about one person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Whereabouts {
    /// The chain id.
    pub chain: String,
    /// Its human code.
    pub code: String,
    /// The instant of the view.
    pub at: Timestamp,
    /// (a) The authority that ordered the deprivation of liberty: the current detention
    /// order's issuing authority (its payload), court or recording agency; before any order,
    /// the arrest's ordering authority (its payload) or the arresting agency.
    pub ordering_authority: Option<String>,
    /// (b) When the person was deprived of liberty (the current arrest).
    pub deprived_at: Option<Timestamp>,
    /// (b) The agency that deprived the person of liberty.
    pub deprived_by: Option<String>,
    /// (b) Where, when the arrest's payload gives it.
    pub deprived_place: Option<String>,
    /// (b) The first admission to a place of detention: when, and where.
    pub admission: Option<(Timestamp, Option<String>)>,
    /// (c) The authority supervising the holding agency (directory), when registered.
    pub supervising_authority: Option<String>,
    /// (d), (e), (f) Where the person stands now.
    pub current: Current,
    /// (d) Every stay, in order (transfers included).
    pub stays: Vec<StayLine>,
    /// (g) The dates of medical screenings (never their content).
    pub medical_screenings: Vec<Timestamp>,
    /// The art. 20 restriction in force, if any (the relatives' view withholds places under it).
    pub restriction: Option<AccessRestriction>,
    /// Whether places were withheld from this view under the restriction.
    pub withheld: bool,
}

fn payload_str<'a>(r: &'a Record, field: &str) -> Option<&'a str> {
    r.payload.as_ref()?.body.get(field)?.as_str()
}

fn place_text(r: &Record, field: &str) -> Option<String> {
    let place = r.payload.as_ref()?.body.get(field)?;
    let description = place.get("description")?.as_str()?;
    let mut text = description.to_string();
    for part in ["locality", "region"] {
        if let Some(p) = place.get(part).and_then(Value::as_str) {
            text.push_str(", ");
            text.push_str(p);
        }
    }
    Some(text)
}

/// The official whereabouts of the person of `chain` at `at` (who holds the person, where,
/// since when, every stay), from the projection and the chain's records (`records`: in chain
/// order, with or without payloads; only this chain's are read). `None`: no such chain.
pub fn whereabouts(
    p: &Projection,
    chain: &str,
    records: &[Record],
    at: &Timestamp,
) -> Option<Whereabouts> {
    let fold = p.detainee(chain)?;
    let dir = &p.directory;
    let mine = || records.iter().filter(|r| r.header.chain == chain);
    let arrest_record = fold
        .arrest
        .as_ref()
        .and_then(|a| mine().find(|r| r.hash == a.event));
    let order = fold.current_order();
    let order_record = order.and_then(|o| mine().find(|r| r.hash == o.event));
    let ordering_authority = match order {
        Some(o) => order_record
            .and_then(|r| payload_str(r, "issuing_authority"))
            .map(str::to_string)
            .or_else(|| o.court.clone())
            .or_else(|| Some(o.agency.clone())),
        None => arrest_record
            .and_then(|r| payload_str(r, "ordering_authority"))
            .map(str::to_string)
            .or_else(|| fold.arrest.as_ref().map(|a| a.agency.clone())),
    };
    let agency_name = |id: &str| dir.agencies.get(id).map(|a| a.name.clone());
    let current = match &fold.custody {
        CustodyState::Held { agency, since } => {
            let facility = fold.current_facility();
            Current::Held {
                agency: agency.clone(),
                agency_name: agency_name(agency),
                facility: facility.map(str::to_string),
                facility_name: facility
                    .and_then(|f| dir.facility(f))
                    .map(|f| f.name.clone()),
                recognised: facility.is_some_and(|f| dir.is_recognised_facility(f)),
                since: since.clone(),
            }
        }
        CustodyState::Gap {
            from, to, since, ..
        } => Current::Gap {
            from: from.clone(),
            to: to.clone(),
            since: since.clone(),
        },
        CustodyState::Released { at } => Current::Released {
            at: at.clone(),
            place: records
                .iter()
                .rev()
                .find(|r| r.header.chain == chain && r.header.kind == EventKind::Release)
                .and_then(|r| place_text(r, "place")),
        },
        CustodyState::Deceased { at } => Current::Deceased { at: at.clone() },
        CustodyState::Escaped { at } => Current::Escaped { at: at.clone() },
        CustodyState::Unknown => Current::Unknown,
    };
    let supervising_authority = fold
        .holder()
        .or_else(|| fold.stays.last().map(|s| s.agency.as_str()))
        .and_then(|a| dir.agencies.get(a))
        .and_then(|a| a.supervising_authority.clone());
    Some(Whereabouts {
        chain: fold.chain.clone(),
        code: fold.code.clone(),
        at: at.clone(),
        ordering_authority,
        deprived_at: fold.arrest.as_ref().map(|a| a.occurred_at.clone()),
        deprived_by: fold.arrest.as_ref().map(|a| a.agency.clone()),
        deprived_place: arrest_record.and_then(|r| place_text(r, "place")),
        admission: fold
            .first_admission()
            .map(|a| (a.at.clone(), a.facility.clone())),
        supervising_authority,
        current,
        stays: fold
            .stays
            .iter()
            .map(|s| StayLine {
                facility: s.facility.clone(),
                name: dir.facility(&s.facility).map(|f| f.name.clone()),
                agency: s.agency.clone(),
                from: s.from.clone(),
                until: s.until.clone(),
            })
            .collect(),
        medical_screenings: mine()
            .filter(|r| r.header.kind == EventKind::MedicalScreening)
            .map(|r| r.header.occurred_at.clone())
            .collect(),
        restriction: restriction_in_force(fold, at).cloned(),
        withheld: false,
    })
}

/// The relatives' and counsel's view of the person of `chain` at `at`: [`whereabouts`], with
/// the places withheld while an art. 20 restriction is in force. The holding agency, the fact
/// that the person is alive and held, the dates, a release and a death are never withheld.
pub fn relatives_view(
    p: &Projection,
    chain: &str,
    records: &[Record],
    at: &Timestamp,
) -> Option<Whereabouts> {
    let mut w = whereabouts(p, chain, records, at)?;
    if w.restriction.is_some() {
        w.withheld = true;
        w.deprived_place = None;
        w.stays.clear();
        if let Some((_, facility)) = &mut w.admission {
            *facility = None;
        }
        if let Current::Held {
            facility,
            facility_name,
            ..
        } = &mut w.current
        {
            *facility = None;
            *facility_name = None;
        }
    }
    Some(w)
}

impl Whereabouts {
    /// The machine form.
    pub fn to_json(&self) -> Value {
        let current = match &self.current {
            Current::Held {
                agency,
                agency_name,
                facility,
                facility_name,
                recognised,
                since,
            } => {
                json!({"state": "held", "alive": true, "agency": agency, "agency_name": agency_name,
                        "facility": facility, "facility_name": facility_name,
                        "facility_recognised": recognised, "since": since.as_str()})
            }
            Current::Gap { from, to, since } => {
                json!({"state": "gap", "alive": true, "from": from, "to": to, "since": since.as_str()})
            }
            Current::Released { at, place } => {
                json!({"state": "released", "at": at.as_str(), "place": place})
            }
            Current::Deceased { at } => {
                json!({"state": "deceased", "alive": false, "at": at.as_str()})
            }
            Current::Escaped { at } => json!({"state": "escaped", "at": at.as_str()}),
            Current::Unknown => json!({"state": "unknown"}),
        };
        json!({
            "chain": self.chain,
            "code": self.code,
            "at": self.at.as_str(),
            "ordering_authority": self.ordering_authority,
            "deprived_of_liberty": {
                "at": self.deprived_at.as_ref().map(Timestamp::as_str),
                "by": self.deprived_by,
                "place": self.deprived_place,
            },
            "admission": self.admission.as_ref().map(|(at, f)| json!({"at": at.as_str(), "facility": f})),
            "supervising_authority": self.supervising_authority,
            "current": current,
            "stays": self.stays.iter().map(|s| json!({
                "facility": s.facility, "name": s.name, "agency": s.agency,
                "from": s.from.as_str(), "until": s.until.as_ref().map(Timestamp::as_str),
            })).collect::<Vec<_>>(),
            "medical_screenings": self.medical_screenings.iter().map(Timestamp::as_str).collect::<Vec<_>>(),
            "restriction": self.restriction.as_ref().map(|r| json!({
                "event": r.event.to_hex(),
                "until": r.until.as_ref().map(Timestamp::as_str),
                "review_by": r.review_by,
            })),
            "withheld": self.withheld,
        })
    }

    /// The view as text, in a language.
    pub fn render(&self, lang: Lang, relatives: bool) -> String {
        let colon = if lang == Lang::Fr { " :" } else { ":" };
        let nr = t(lang, MessageId::NotRecorded);
        let withheld = t(lang, MessageId::Withheld);
        let place = |p: &Option<String>| match p {
            Some(p) => p.clone(),
            None if self.withheld => withheld.to_string(),
            None => nr.to_string(),
        };
        let mut out = String::new();
        let title = if relatives {
            MessageId::RelativesTitle
        } else {
            MessageId::WhereaboutsTitle
        };
        let _ = writeln!(
            out,
            "{} — {} — {} {}",
            t(lang, title),
            self.code,
            t(lang, MessageId::AsOf),
            fmt_datetime(lang, &self.at)
        );
        // The person is alive and held by a named authority: first, and never withheld.
        match &self.current {
            Current::Held {
                agency,
                agency_name,
                facility,
                facility_name,
                since,
                ..
            } => {
                let who = agency_name
                    .as_ref()
                    .map_or(agency.clone(), |n| format!("{n} ({agency})"));
                let _ = writeln!(
                    out,
                    "{} {who}, {} {}.",
                    t(lang, MessageId::AliveAndHeldBy),
                    if lang == Lang::Fr {
                        "depuis le"
                    } else {
                        "since"
                    },
                    fmt_datetime(lang, since)
                );
                let at_place = match (facility, facility_name) {
                    (Some(id), Some(n)) => format!("{n} ({id})"),
                    (Some(id), None) => id.clone(),
                    (None, _) => place(&None),
                };
                let _ = writeln!(
                    out,
                    "{}{colon} {at_place}",
                    t(lang, MessageId::CurrentWhereabouts)
                );
            }
            Current::Gap { from, to, since } => {
                let _ = writeln!(
                    out,
                    "{} {} ({from} → {}).",
                    t(lang, MessageId::InCustodyGap),
                    fmt_datetime(lang, since),
                    to.as_deref().unwrap_or(nr)
                );
            }
            Current::Released { at, place: p } => {
                let _ = writeln!(
                    out,
                    "{}{colon} {} — {}",
                    t(lang, MessageId::ReleaseLine),
                    fmt_datetime(lang, at),
                    place(p)
                );
            }
            Current::Deceased { at } => {
                let _ = writeln!(
                    out,
                    "{}{colon} {}",
                    t(lang, MessageId::Death),
                    fmt_datetime(lang, at)
                );
            }
            Current::Escaped { at } => {
                let _ = writeln!(
                    out,
                    "{}{colon} {}",
                    crate::i18n::kind_label(lang, "escape"),
                    fmt_datetime(lang, at)
                );
            }
            Current::Unknown => {
                let _ = writeln!(out, "{}", t(lang, MessageId::NotRecorded));
            }
        }
        let _ = writeln!(
            out,
            "{}{colon} {}",
            t(lang, MessageId::OrderingAuthority),
            self.ordering_authority.as_deref().unwrap_or(nr)
        );
        let deprived = match &self.deprived_at {
            Some(at) => format!(
                "{} — {} — {}",
                fmt_datetime(lang, at),
                self.deprived_by.as_deref().unwrap_or(nr),
                place(&self.deprived_place)
            ),
            None => nr.to_string(),
        };
        let _ = writeln!(
            out,
            "{}{colon} {deprived}",
            t(lang, MessageId::DeprivedOfLiberty)
        );
        let admission = match &self.admission {
            Some((at, f)) => format!("{} — {}", fmt_datetime(lang, at), place(f)),
            None => nr.to_string(),
        };
        let _ = writeln!(out, "{}{colon} {admission}", t(lang, MessageId::AdmittedTo));
        let _ = writeln!(
            out,
            "{}{colon} {}",
            t(lang, MessageId::SupervisingAuthority),
            self.supervising_authority.as_deref().unwrap_or(nr)
        );
        let _ = writeln!(out, "{}{colon}", t(lang, MessageId::Transfers));
        if self.withheld {
            let _ = writeln!(out, "  {withheld}");
        } else if self.stays.is_empty() {
            let _ = writeln!(out, "  {nr}");
        }
        for s in &self.stays {
            let name = s
                .name
                .as_ref()
                .map_or(s.facility.clone(), |n| format!("{n} ({})", s.facility));
            let until = s
                .until
                .as_ref()
                .map_or(String::new(), |u| format!(" → {}", fmt_datetime(lang, u)));
            let _ = writeln!(out, "  {}{until} — {name}", fmt_datetime(lang, &s.from));
        }
        let health = if self.medical_screenings.is_empty() {
            nr.to_string()
        } else {
            self.medical_screenings
                .iter()
                .map(|d| {
                    format!(
                        "{} {}",
                        t(lang, MessageId::MedicalScreeningOn),
                        fmt_date(lang, crate::calendar::Date::of(d))
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        let _ = writeln!(out, "{}{colon} {health}", t(lang, MessageId::Health));
        if let Some(r) = &self.restriction {
            let _ = writeln!(
                out,
                "{} {} {}, {} {}",
                t(lang, MessageId::RestrictionApplies),
                t(lang, MessageId::Until),
                r.until
                    .as_ref()
                    .map_or(nr.to_string(), |u| fmt_datetime(lang, u)),
                t(lang, MessageId::ReviewedBy),
                r.review_by.as_deref().unwrap_or(nr)
            );
        }
        out
    }
}
