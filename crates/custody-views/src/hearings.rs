//! The hearing calendar: upcoming hearings by court and by day, with the case references and
//! who must be produced from which facility (the prison organises the transport from it), and,
//! once the day is over, who was not produced and why.
//!
//! A hearing belongs to the civil (UTC) day of its instant. A hearing whose day is over
//! (`at` is on a later day) and that has no `hearing_held` record is listed as not produced,
//! with "no record of the hearing" as the reason: the calendar never assumes that a hearing
//! nobody recorded took place. The reason a `hearing_held` gives (`reason_not_produced`) is in
//! its payload: the caller fills it in with [`HearingCalendar::fill_reasons`] from the records
//! it holds, otherwise it reads "no reason given".

use std::collections::BTreeMap;
use std::fmt::Write as _;

use custody_core::{Hash, Record, Timestamp};
use serde_json::{json, Value};

use crate::backlog::{csv_field, table};
use crate::calendar::Date;
use crate::detainee::{DetaineeFold, Hearing, Projection};
use crate::i18n::{fmt_date, fmt_datetime, t, Lang, MessageId};

/// Which hearings the calendar lists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HearingFilter {
    /// Only this civil day (upcoming and past hearings of that day); default: every day from
    /// the day of the instant on, and the past days' hearings whose person was not produced.
    pub day: Option<Date>,
    /// Only this court (id, as the records name it).
    pub court: Option<String>,
}

/// One hearing to hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HearingLine {
    /// The chain id.
    pub chain: String,
    /// Its human code.
    pub code: String,
    /// When the hearing is set.
    pub hearing_at: Timestamp,
    /// The case reference, when recorded.
    pub case_ref: Option<String>,
    /// The facility the person must be produced from: where the records place the person at
    /// the instant for a hearing to come, at the hearing's time for a past one (`None`: at no
    /// recorded facility, or not held).
    pub produce_from: Option<String>,
    /// Its registered name.
    pub facility_name: Option<String>,
    /// The agency holding the person (at the instant; at the hearing's time for a past one);
    /// `None`: in a custody gap, or not held.
    pub holder: Option<String>,
    /// The hash of the `hearing_scheduled` event.
    pub scheduled_event: Option<Hash>,
}

/// Why a person was not produced at a past hearing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotProducedReason {
    /// The `hearing_held` record says the person was not produced; its reason, when the
    /// caller had the payload.
    Recorded(Option<String>),
    /// The day is over and no `hearing_held` was recorded.
    NoRecord,
}

/// A past hearing at which the person was not produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotProducedLine {
    /// The hearing, as it was to be held.
    pub hearing: HearingLine,
    /// Why.
    pub reason: NotProducedReason,
    /// The hash of the `hearing_held` event, when recorded.
    pub held_event: Option<Hash>,
}

/// The hearings of one court on one day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CourtDay {
    /// The court (`None`: not recorded).
    pub court: Option<String>,
    /// Its registered name, when it is a registered agency.
    pub court_name: Option<String>,
    /// The civil day.
    pub day: Date,
    /// Its hearings, by time then code.
    pub hearings: Vec<HearingLine>,
}

/// The hearing calendar at an instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HearingCalendar {
    /// The instant.
    pub at: Timestamp,
    /// The filter applied.
    pub filter: HearingFilter,
    /// Hearings not yet held, at or after the start of the instant's day (or of the day asked),
    /// by court then day.
    pub upcoming: Vec<CourtDay>,
    /// Hearings of days that are over, at which the person was not produced.
    pub not_produced: Vec<NotProducedLine>,
}

/// Where the person was at `when`: the stay that covers it (its facility and agency).
fn stay_at<'a>(fold: &'a DetaineeFold, when: &Timestamp) -> Option<(&'a str, &'a str)> {
    fold.stays
        .iter()
        .rev()
        .find(|s| s.from <= *when && s.until.as_ref().is_none_or(|u| u > when))
        .map(|s| (s.facility.as_str(), s.agency.as_str()))
}

/// A line for an upcoming hearing (`past` false: the facility and holder at the instant) or a
/// past one (`past` true: the facility and agency where the records placed the person at the
/// hearing's time, the ones that had to produce the person).
fn line(
    p: &Projection,
    fold: &DetaineeFold,
    h: &Hearing,
    at_time: &Timestamp,
    past: bool,
) -> HearingLine {
    let (facility, holder) = if past {
        match stay_at(fold, at_time) {
            Some((f, a)) => (Some(f), Some(a)),
            None => (None, None),
        }
    } else {
        (
            fold.is_open().then(|| fold.current_facility()).flatten(),
            fold.holder(),
        )
    };
    HearingLine {
        chain: fold.chain.clone(),
        code: fold.code.clone(),
        hearing_at: at_time.clone(),
        case_ref: h.case_ref().map(str::to_string),
        produce_from: facility.map(str::to_string),
        facility_name: facility
            .and_then(|f| p.directory.facility(f))
            .map(|f| f.name.clone()),
        holder: holder.map(str::to_string),
        scheduled_event: h.scheduled.as_ref().map(|s| s.event),
    }
}

/// The hearing calendar of a projection at the instant `at`.
pub fn hearings(p: &Projection, at: &Timestamp, filter: &HearingFilter) -> HearingCalendar {
    let today = Date::of(at);
    let mut upcoming: BTreeMap<(Option<String>, Date), Vec<HearingLine>> = BTreeMap::new();
    let mut not_produced = Vec::new();
    for fold in p.detainees.values() {
        for h in &fold.hearings {
            let Some(when) = h.at() else { continue };
            let day = Date::of(when);
            if filter.day.is_some_and(|d| d != day)
                || filter
                    .court
                    .as_deref()
                    .is_some_and(|c| h.court() != Some(c))
            {
                continue;
            }
            let over = day < today;
            match (&h.held, over) {
                (None, false) => {
                    // Upcoming: only for people still deprived of liberty.
                    if fold.is_open() {
                        upcoming
                            .entry((h.court().map(str::to_string), day))
                            .or_default()
                            .push(line(p, fold, h, when, false));
                    }
                }
                (None, true) => not_produced.push(NotProducedLine {
                    hearing: line(p, fold, h, when, true),
                    reason: NotProducedReason::NoRecord,
                    held_event: None,
                }),
                (Some(held), _) if held.produced == Some(false) => {
                    not_produced.push(NotProducedLine {
                        hearing: line(p, fold, h, when, true),
                        reason: NotProducedReason::Recorded(None),
                        held_event: Some(held.event),
                    })
                }
                (Some(_), _) => {}
            }
        }
    }
    let upcoming = upcoming
        .into_iter()
        .map(|((court, day), mut hearings)| {
            hearings.sort_by(|a, b| {
                a.hearing_at
                    .cmp(&b.hearing_at)
                    .then_with(|| a.code.cmp(&b.code))
            });
            CourtDay {
                court_name: court
                    .as_deref()
                    .and_then(|c| p.directory.agencies.get(c))
                    .map(|a| a.name.clone()),
                court,
                day,
                hearings,
            }
        })
        .collect();
    not_produced.sort_by(|a, b| {
        a.hearing
            .hearing_at
            .cmp(&b.hearing.hearing_at)
            .then_with(|| a.hearing.code.cmp(&b.hearing.code))
    });
    HearingCalendar {
        at: at.clone(),
        filter: filter.clone(),
        upcoming,
        not_produced,
    }
}

impl NotProducedReason {
    /// The reason as printed.
    pub fn text(&self, lang: Lang) -> String {
        match self {
            NotProducedReason::Recorded(Some(r)) => r.clone(),
            NotProducedReason::Recorded(None) => t(lang, MessageId::NoReasonGiven).to_string(),
            NotProducedReason::NoRecord => t(lang, MessageId::NoRecordOfHearing).to_string(),
        }
    }

    /// A stable code: `recorded` or `no_record`.
    pub fn code(&self) -> &'static str {
        match self {
            NotProducedReason::Recorded(_) => "recorded",
            NotProducedReason::NoRecord => "no_record",
        }
    }
}

fn line_json(h: &HearingLine) -> Value {
    json!({
        "chain": h.chain,
        "code": h.code,
        "hearing_at": h.hearing_at.as_str(),
        "case_ref": h.case_ref,
        "produce_from": h.produce_from,
        "facility_name": h.facility_name,
        "holder": h.holder,
        "scheduled_event": h.scheduled_event.map(|e| e.to_hex()),
    })
}

impl HearingCalendar {
    /// Keeps only the hearings of the people `agency` holds or has at its facilities
    /// ([`Projection::concerns_agency`]), dropping the days left empty: what a reader narrowed
    /// to its own agency sees ([`crate::access::narrowed_to_own_agency`]). The API and the
    /// `custody hearings` command narrow through it.
    pub fn keep_agency(&mut self, p: &Projection, agency: &str) {
        for day in &mut self.upcoming {
            day.hearings.retain(|h| p.concerns_agency(&h.chain, agency));
        }
        self.upcoming.retain(|d| !d.hearings.is_empty());
        self.not_produced
            .retain(|l| p.concerns_agency(&l.hearing.chain, agency));
    }

    /// Fills in the reasons of `hearing_held` records from their payloads
    /// (`reason_not_produced`), for the records given (any order; others are ignored).
    pub fn fill_reasons<'a>(&mut self, records: impl IntoIterator<Item = &'a Record>) {
        let mut reasons: BTreeMap<Hash, String> = BTreeMap::new();
        for r in records {
            let reason = r
                .payload
                .as_ref()
                .and_then(|p| p.body.get("reason_not_produced"))
                .and_then(Value::as_str);
            if let Some(reason) = reason {
                reasons.insert(r.hash, reason.to_string());
            }
        }
        for line in &mut self.not_produced {
            if let (Some(event), NotProducedReason::Recorded(slot)) =
                (line.held_event, &mut line.reason)
            {
                if let Some(r) = reasons.get(&event) {
                    *slot = Some(r.clone());
                }
            }
        }
    }

    /// The machine form.
    pub fn to_json(&self) -> Value {
        json!({
            "at": self.at.as_str(),
            "filter": {
                "day": self.filter.day.map(|d| d.to_string()),
                "court": self.filter.court,
            },
            "upcoming": self.upcoming.iter().map(|cd| json!({
                "court": cd.court,
                "court_name": cd.court_name,
                "day": cd.day.to_string(),
                "hearings": cd.hearings.iter().map(line_json).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "not_produced": self.not_produced.iter().map(|n| {
                let mut v = line_json(&n.hearing);
                v["reason"] = json!(n.reason.code());
                v["reason_text"] = json!(match &n.reason {
                    NotProducedReason::Recorded(r) => r.clone(),
                    NotProducedReason::NoRecord => None,
                });
                v["held_event"] = json!(n.held_event.map(|e| e.to_hex()));
                v
            }).collect::<Vec<_>>(),
        })
    }

    /// The table form: one row per hearing (`section` is `upcoming` or `not_produced`).
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "section,court,day,hearing_at,code,chain,case_ref,produce_from,holder,reason\r\n",
        );
        let mut row = |section: &str, court: Option<&str>, h: &HearingLine, reason: &str| {
            let fields = [
                section.to_string(),
                csv_field(court.unwrap_or("")),
                Date::of(&h.hearing_at).to_string(),
                h.hearing_at.as_str().to_string(),
                csv_field(&h.code),
                csv_field(&h.chain),
                csv_field(h.case_ref.as_deref().unwrap_or("")),
                csv_field(h.produce_from.as_deref().unwrap_or("")),
                csv_field(h.holder.as_deref().unwrap_or("")),
                csv_field(reason),
            ];
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        };
        for cd in &self.upcoming {
            for h in &cd.hearings {
                row("upcoming", cd.court.as_deref(), h, "");
            }
        }
        for n in &self.not_produced {
            row("not_produced", None, &n.hearing, &n.reason.text(Lang::En));
        }
        out
    }

    /// The calendar as text, in a language.
    pub fn render(&self, lang: Lang) -> String {
        let unknown = t(lang, MessageId::NotRecorded);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} — {} {}",
            t(lang, MessageId::HearingsTitle),
            t(lang, MessageId::AsOf),
            fmt_datetime(lang, &self.at)
        );
        let _ = writeln!(out, "\n{}", t(lang, MessageId::UpcomingHearings));
        if self.upcoming.is_empty() {
            let _ = writeln!(out, "  {}", t(lang, MessageId::NothingToReport));
        }
        let head = vec![
            t(lang, MessageId::HearingTime).to_string(),
            t(lang, MessageId::Code).to_string(),
            t(lang, MessageId::CaseRef).to_string(),
            t(lang, MessageId::ProduceFrom).to_string(),
        ];
        for cd in &self.upcoming {
            let court = match (&cd.court, &cd.court_name) {
                (Some(id), Some(name)) => format!("{name} ({id})"),
                (Some(id), None) => id.clone(),
                (None, _) => unknown.to_string(),
            };
            let _ = writeln!(out, "{court} — {}", fmt_date(lang, cd.day));
            let mut rows = vec![head.clone()];
            for h in &cd.hearings {
                rows.push(vec![
                    hour(lang, &h.hearing_at),
                    h.code.clone(),
                    h.case_ref.clone().unwrap_or_else(|| unknown.to_string()),
                    produce_from(lang, h),
                ]);
            }
            out.push_str(&table(&rows));
        }
        let _ = writeln!(out, "\n{}", t(lang, MessageId::NotProduced));
        if self.not_produced.is_empty() {
            let _ = writeln!(out, "  {}", t(lang, MessageId::NothingToReport));
        } else {
            let mut rows = vec![vec![
                t(lang, MessageId::HearingsTitle).to_string(),
                t(lang, MessageId::Code).to_string(),
                t(lang, MessageId::CaseRef).to_string(),
                t(lang, MessageId::Facility).to_string(),
                t(lang, MessageId::Reason).to_string(),
            ]];
            for n in &self.not_produced {
                let h = &n.hearing;
                rows.push(vec![
                    fmt_datetime(lang, &h.hearing_at),
                    h.code.clone(),
                    h.case_ref.clone().unwrap_or_else(|| unknown.to_string()),
                    produce_from(lang, h),
                    n.reason.text(lang),
                ]);
            }
            out.push_str(&table(&rows));
        }
        out
    }
}

fn hour(lang: Lang, at: &Timestamp) -> String {
    let secs = at.unix_seconds().rem_euclid(86_400);
    let (h, m) = (secs / 3600, (secs % 3600) / 60);
    match lang {
        Lang::Fr => format!("{h} h {m:02}"),
        Lang::En => format!("{h:02}:{m:02}"),
    }
}

fn produce_from(lang: Lang, h: &HearingLine) -> String {
    match (&h.produce_from, &h.facility_name) {
        (Some(id), Some(name)) => format!("{name} ({id})"),
        (Some(id), None) => id.clone(),
        (None, _) => t(lang, MessageId::NotHeldAtFacility).to_string(),
    }
}
