//! A census of a verified ledger: who is held where, under which legal status, since when,
//! and who is in a custody gap. It is what a clerk of the judicial pole or a monitor asks first.
//!
//! The census is built from records that passed validation, in ledger order, next to the
//! validator's own state (custody status per chain). It names people only by the human code
//! of their chain: personal data never reaches a terminal summary.

use std::collections::{BTreeMap, HashMap};

use custody_core::chain::Custody;
use custody_core::humancode::code_for_chain;
use custody_core::ids::AUTHORITY_CHAIN;
use custody_core::kinds::bodies::{JudgmentOutcome, LegalStatus};
use custody_core::kinds::{parse_body, Body};
use custody_core::{EventKind, Record, Timestamp, Validator};
use serde_json::{json, Value};

/// Legal status as the census reports it: the statuses of the record, plus the outcomes that
/// end a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Legal {
    /// Deprived of liberty, no judicial decision yet.
    Arrested,
    /// In police custody (garde à vue).
    PoliceCustody,
    /// In pre-trial detention on a detention order (presumed innocent).
    PreTrial,
    /// Convicted, judgment not final.
    ConvictedNotFinal,
    /// Convicted by a final judgment.
    Convicted,
    /// Acquitted.
    Acquitted,
    /// Charges dismissed.
    Dismissed,
    /// Released pending trial.
    ReleasedPendingTrial,
    /// Released.
    Released,
}

impl Legal {
    /// The label printed.
    pub fn label(self) -> &'static str {
        match self {
            Legal::Arrested => "arrested, no judicial decision yet",
            Legal::PoliceCustody => "police custody",
            Legal::PreTrial => "pre-trial detention",
            Legal::ConvictedNotFinal => "convicted, judgment not final",
            Legal::Convicted => "convicted",
            Legal::Acquitted => "acquitted",
            Legal::Dismissed => "charges dismissed",
            Legal::ReleasedPendingTrial => "released pending trial",
            Legal::Released => "released",
        }
    }

    fn from_record(status: LegalStatus) -> Legal {
        match status {
            LegalStatus::Arrested => Legal::Arrested,
            LegalStatus::PoliceCustody => Legal::PoliceCustody,
            LegalStatus::PreTrialDetention => Legal::PreTrial,
            LegalStatus::ConvictedNotFinal => Legal::ConvictedNotFinal,
            LegalStatus::ConvictedFinal => Legal::Convicted,
        }
    }
}

/// What the census knows of one detainee chain.
#[derive(Clone, Debug)]
struct Person {
    legal: Legal,
    /// Facility where the person is held, when known.
    facility: Option<String>,
    /// Start of pre-trial detention (the detention order's start).
    pretrial_since: Option<Timestamp>,
    /// End of the current detention order, extensions included.
    order_until: Option<Timestamp>,
}

/// Census of a ledger, fed record by record.
#[derive(Debug, Default)]
pub struct Census {
    people: HashMap<String, Person>,
    as_of: Option<Timestamp>,
}

impl Census {
    /// Takes an accepted record into account.
    pub fn observe(&mut self, record: &Record) {
        let h = &record.header;
        match &self.as_of {
            Some(t) if t >= &h.recorded_at => {}
            _ => self.as_of = Some(h.recorded_at.clone()),
        }
        if h.chain == AUTHORITY_CHAIN {
            return;
        }
        let body = record
            .payload
            .as_ref()
            .and_then(|p| parse_body(h.kind, &p.body).ok());
        let person = self.people.entry(h.chain.clone()).or_insert(Person {
            legal: Legal::Arrested,
            facility: None,
            pretrial_since: None,
            order_until: None,
        });
        match (h.kind, body) {
            (EventKind::Arrest, _) => {
                person.legal = Legal::Arrested;
                person.facility = None;
            }
            (EventKind::PoliceCustodyStarted, Some(Body::PoliceCustodyStarted(b))) => {
                person.legal = Legal::PoliceCustody;
                person.facility = Some(b.facility);
            }
            (EventKind::CustodyReleased, b) => {
                person.facility = None;
                if let Some(Body::CustodyReleased(b)) = b {
                    person.legal = Legal::from_record(b.legal_status);
                }
            }
            (EventKind::CustodyAccepted, b) => {
                person.facility = match b {
                    Some(Body::CustodyAccepted(b)) => b.facility,
                    _ => None,
                };
            }
            (EventKind::Admission, Some(Body::Admission(b))) => {
                person.facility = Some(b.facility);
                person.legal = Legal::from_record(b.legal_status);
            }
            (EventKind::DetentionOrder, Some(Body::DetentionOrder(b))) => {
                if person.legal < Legal::PreTrial {
                    person.legal = Legal::PreTrial;
                }
                person.pretrial_since.get_or_insert(b.start);
                person.order_until = Some(b.valid_until);
            }
            (EventKind::DetentionExtended, Some(Body::DetentionExtended(b))) => {
                person.order_until = Some(b.valid_until);
            }
            (EventKind::Judgment, Some(Body::Judgment(b))) => {
                person.legal = match b.outcome {
                    JudgmentOutcome::Convicted => Legal::Convicted,
                    JudgmentOutcome::Acquitted => Legal::Acquitted,
                    JudgmentOutcome::Dismissed => Legal::Dismissed,
                    JudgmentOutcome::ReleasedPendingTrial => Legal::ReleasedPendingTrial,
                };
                person.order_until = None;
            }
            (EventKind::Release, _) => {
                person.facility = None;
                if matches!(
                    person.legal,
                    Legal::Arrested | Legal::PoliceCustody | Legal::PreTrial
                ) {
                    person.legal = Legal::Released;
                }
            }
            (EventKind::DeathInCustody | EventKind::Escape, _) => person.facility = None,
            _ => {}
        }
    }

    /// The report, from the census and the validator's state of the same records.
    pub fn report(&self, v: &Validator) -> Report {
        let as_of = self
            .as_of
            .clone()
            .unwrap_or_else(|| Timestamp::from_unix_seconds(0));
        let auth = v.authority();
        let mut agencies: Vec<(String, String, String)> = auth
            .agencies
            .iter()
            .map(|(id, a)| {
                let ty = serde_json::to_value(a.agency_type)
                    .ok()
                    .and_then(|t| t.as_str().map(str::to_string))
                    .unwrap_or_default();
                (id.clone(), ty, a.name.clone())
            })
            .collect();
        agencies.sort();

        let mut population: HashMap<&str, u32> = HashMap::new();
        let mut by_custody: BTreeMap<&'static str, u64> = BTreeMap::new();
        let mut by_legal: BTreeMap<Legal, u64> = BTreeMap::new();
        let mut pretrial = Vec::new();
        let mut gaps = Vec::new();
        let mut held_unknown_place = 0u64;
        for (chain, state) in v.chains() {
            *by_custody.entry(state.custody.name()).or_default() += 1;
            let person = self.people.get(chain);
            let legal = person.map_or(Legal::Arrested, |p| p.legal);
            let open = matches!(state.custody, Custody::Held { .. } | Custody::Gap { .. });
            if open {
                *by_legal.entry(legal).or_default() += 1;
            }
            if let Custody::Held { .. } = state.custody {
                match person.and_then(|p| p.facility.as_deref()) {
                    Some(f) => *population.entry(f).or_default() += 1,
                    None => held_unknown_place += 1,
                }
            }
            if let Custody::Gap {
                from, to, since, ..
            } = &state.custody
            {
                gaps.push(GapLine {
                    code: code_for_chain(chain),
                    since: since.clone(),
                    days: days_between(since, &as_of),
                    from: from.clone(),
                    to: to.clone(),
                });
            }
            if open && legal == Legal::PreTrial {
                let p = person.cloned();
                pretrial.push(PretrialLine {
                    code: code_for_chain(chain),
                    facility: p.as_ref().and_then(|p| p.facility.clone()),
                    days_held: days_between(&state.since, &as_of),
                    days_pretrial: p
                        .as_ref()
                        .and_then(|p| p.pretrial_since.as_ref())
                        .map(|t| days_between(t, &as_of)),
                    order_until: p.and_then(|p| p.order_until),
                });
            }
        }
        let mut facilities: Vec<FacilityLine> = auth
            .facilities
            .iter()
            .map(|(id, f)| FacilityLine {
                id: id.clone(),
                agency: f.agency.clone(),
                capacity: f.capacity,
                population: population.get(id.as_str()).copied().unwrap_or(0),
                recognised: f.officially_recognised,
            })
            .collect();
        facilities.sort_by(|a, b| a.id.cmp(&b.id));
        pretrial.sort_by(|a, b| b.days_held.cmp(&a.days_held).then(a.code.cmp(&b.code)));
        gaps.sort_by(|a, b| a.since.cmp(&b.since).then(a.code.cmp(&b.code)));
        Report {
            as_of,
            agencies,
            facilities,
            detainees: v.chains().count() as u64,
            by_custody: by_custody
                .into_iter()
                .map(|(k, n)| (k.to_string(), n))
                .collect(),
            by_legal: by_legal
                .into_iter()
                .map(|(k, n)| (k.label().to_string(), n))
                .collect(),
            held_unknown_place,
            pretrial,
            gaps,
        }
    }
}

fn days_between(from: &Timestamp, to: &Timestamp) -> i64 {
    (to.unix_seconds() - from.unix_seconds()).max(0) / 86_400
}

/// A facility with its population.
#[derive(Clone, Debug)]
pub struct FacilityLine {
    id: String,
    agency: String,
    capacity: u32,
    population: u32,
    recognised: bool,
}

/// A pre-trial detainee.
#[derive(Clone, Debug)]
pub struct PretrialLine {
    code: String,
    facility: Option<String>,
    days_held: i64,
    days_pretrial: Option<i64>,
    order_until: Option<Timestamp>,
}

/// A person in a custody gap.
#[derive(Clone, Debug)]
pub struct GapLine {
    code: String,
    since: Timestamp,
    days: i64,
    from: String,
    to: Option<String>,
}

/// What the census found.
#[derive(Clone, Debug)]
pub struct Report {
    as_of: Timestamp,
    agencies: Vec<(String, String, String)>,
    facilities: Vec<FacilityLine>,
    detainees: u64,
    by_custody: Vec<(String, u64)>,
    by_legal: Vec<(String, u64)>,
    held_unknown_place: u64,
    pretrial: Vec<PretrialLine>,
    gaps: Vec<GapLine>,
}

/// Longest list printed in human output (the JSON holds every line).
const MAX_LINES: usize = 15;

impl Report {
    /// The report as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "as_of": self.as_of.as_str(),
            "agencies": self.agencies.iter().map(|(id, ty, name)| json!({"id": id, "type": ty, "name": name})).collect::<Vec<_>>(),
            "facilities": self.facilities.iter().map(|f| json!({
                "id": f.id, "agency": f.agency, "capacity": f.capacity,
                "population": f.population, "officially_recognised": f.recognised,
            })).collect::<Vec<_>>(),
            "detainees": self.detainees,
            "by_custody_status": self.by_custody.iter().map(|(k, n)| json!({"status": k, "count": n})).collect::<Vec<_>>(),
            "by_legal_status": self.by_legal.iter().map(|(k, n)| json!({"status": k, "count": n})).collect::<Vec<_>>(),
            "held_place_unknown": self.held_unknown_place,
            "pre_trial": self.pretrial.iter().map(|p| json!({
                "code": p.code, "facility": p.facility, "days_held": p.days_held,
                "days_pre_trial": p.days_pretrial,
                "order_valid_until": p.order_until.as_ref().map(Timestamp::as_str),
            })).collect::<Vec<_>>(),
            "custody_gaps": self.gaps.iter().map(|g| json!({
                "code": g.code, "since": g.since.as_str(), "days": g.days,
                "from_agency": g.from, "to_agency": g.to,
            })).collect::<Vec<_>>(),
        })
    }

    /// The report as text lines.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        out.push(format!("as of {} (the latest record)", self.as_of));
        out.push(String::new());
        out.push(format!("agencies ({})", self.agencies.len()));
        for (id, ty, name) in &self.agencies {
            out.push(format!("  {id:<28} {ty:<12} {name}"));
        }
        out.push(String::new());
        out.push(format!(
            "facilities ({}): population / capacity",
            self.facilities.len()
        ));
        for f in &self.facilities {
            let load = if f.capacity > 0 {
                format!(
                    "{:>4} / {:<5} {:>4} %",
                    f.population,
                    f.capacity,
                    u64::from(f.population) * 100 / u64::from(f.capacity)
                )
            } else {
                format!("{:>4} / -", f.population)
            };
            let flag = if f.recognised {
                ""
            } else {
                "  NOT AN OFFICIAL PLACE OF DETENTION"
            };
            out.push(format!("  {:<28} {load}  ({}){flag}", f.id, f.agency));
        }
        if self.held_unknown_place > 0 {
            out.push(format!(
                "  held, facility not recorded: {}",
                self.held_unknown_place
            ));
        }
        out.push(String::new());
        out.push(format!("detainees ({})", self.detainees));
        out.push("  by custody status:".into());
        for (k, n) in &self.by_custody {
            out.push(format!("    {n:>5}  {k}"));
        }
        out.push("  held or in a gap, by legal status:".into());
        for (k, n) in &self.by_legal {
            out.push(format!("    {n:>5}  {k}"));
        }
        out.push(String::new());
        out.push(format!(
            "pre-trial detention ({}), longest held first",
            self.pretrial.len()
        ));
        for p in self.pretrial.iter().take(MAX_LINES) {
            let order = match &p.order_until {
                Some(t) if t < &self.as_of => format!("order EXPIRED {t}"),
                Some(t) => format!("order valid until {t}"),
                None => "no order recorded".into(),
            };
            let pretrial = p
                .days_pretrial
                .map_or(String::new(), |d| format!(", {d} days on order"));
            out.push(format!(
                "  {}  held {} days{pretrial}  at {}  {order}",
                p.code,
                p.days_held,
                p.facility.as_deref().unwrap_or("?"),
            ));
        }
        if self.pretrial.len() > MAX_LINES {
            out.push(format!(
                "  ... and {} more (--json lists all)",
                self.pretrial.len() - MAX_LINES
            ));
        }
        out.push(String::new());
        if self.gaps.is_empty() {
            out.push("custody gaps: none".into());
        } else {
            out.push(format!(
                "CUSTODY GAPS ({}): released, and no agency has recorded accepting the person",
                self.gaps.len()
            ));
            for g in &self.gaps {
                out.push(format!(
                    "  !! {}  since {} ({} days)  released by {} to {}",
                    g.code,
                    g.since,
                    g.days,
                    g.from,
                    g.to.as_deref().unwrap_or("an agency not recorded")
                ));
            }
        }
        out
    }
}
