//! A census of a verified ledger: who is held where, under which legal status, since when; the
//! pre-trial detainees and the age and validity of their orders; who is in a custody gap; and
//! every stay, past or present, at a place that is not an official place of detention. It is
//! what a clerk of the judicial pole or a monitor asks first.
//!
//! The census reads headers only: the kind, the agency, the instants and the public facts
//! (`docs/SPEC.md` section 8), never a payload, so a monitor's headers-only export gives the
//! same census as the full ledger, and a lawful redaction changes nothing in it. Legal status
//! follows from the chain's legal events alone (police custody, detention order, judgment,
//! release, death, escape), never from a free field of a body.
//!
//! It is fed records that passed validation, in ledger order ([`Census::observe`]), and
//! reports next to the validator's state of the same records ([`Census::report`]);
//! [`census_of`] does both from a list of records. It names people only by the human code of
//! their chain: personal data never reaches a summary.

use std::collections::{BTreeMap, HashMap};

use custody_core::authority::TrustAnchors;
use custody_core::chain::Custody;
use custody_core::humancode::code_for_chain;
use custody_core::ids::AUTHORITY_CHAIN;
use custody_core::validate::{ValidationError, ValidatorConfig};
use custody_core::{EventKind, Hash, Record, Timestamp, Validator};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Legal status, as the chain's legal events establish it.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum LegalStatus {
    /// Deprived of liberty, no legal event yet (no police custody, no order, no judgment).
    #[default]
    Arrested,
    /// In police custody (garde à vue): `police_custody_started`, no order or judgment since.
    PoliceCustody,
    /// In pre-trial detention (presumed innocent): the latest order or judgment is a
    /// `detention_order`.
    PreTrialDetention,
    /// The latest judgment convicted.
    Convicted,
    /// The latest judgment acquitted.
    Acquitted,
    /// The latest judgment dismissed the charges.
    Dismissed,
    /// The latest judgment released the person pending trial.
    ReleasedPendingTrial,
    /// Released (`release`) before any judgment.
    Released,
    /// Died in custody.
    Deceased,
    /// Escaped (until a new arrest).
    Escaped,
}

impl LegalStatus {
    /// The label printed.
    pub fn label(self) -> &'static str {
        match self {
            LegalStatus::Arrested => "arrested, no judicial decision yet",
            LegalStatus::PoliceCustody => "police custody",
            LegalStatus::PreTrialDetention => "pre-trial detention",
            LegalStatus::Convicted => "convicted",
            LegalStatus::Acquitted => "acquitted",
            LegalStatus::Dismissed => "charges dismissed",
            LegalStatus::ReleasedPendingTrial => "released pending trial",
            LegalStatus::Released => "released",
            LegalStatus::Deceased => "deceased",
            LegalStatus::Escaped => "escaped",
        }
    }

    /// A stable code for machines (the JSON form).
    pub fn code(self) -> &'static str {
        match self {
            LegalStatus::Arrested => "arrested",
            LegalStatus::PoliceCustody => "police_custody",
            LegalStatus::PreTrialDetention => "pre_trial_detention",
            LegalStatus::Convicted => "convicted",
            LegalStatus::Acquitted => "acquitted",
            LegalStatus::Dismissed => "dismissed",
            LegalStatus::ReleasedPendingTrial => "released_pending_trial",
            LegalStatus::Released => "released",
            LegalStatus::Deceased => "deceased",
            LegalStatus::Escaped => "escaped",
        }
    }

    /// The status a judgment's `outcome` fact gives.
    pub(crate) fn of_outcome(outcome: &str) -> Option<LegalStatus> {
        match outcome {
            "convicted" => Some(LegalStatus::Convicted),
            "acquitted" => Some(LegalStatus::Acquitted),
            "dismissed" => Some(LegalStatus::Dismissed),
            "released_pending_trial" => Some(LegalStatus::ReleasedPendingTrial),
            _ => None,
        }
    }
}

/// Custody status of a chain, as the validator keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustodyStatus {
    /// An agency holds the person.
    Held,
    /// Released by one agency, not yet accepted by the next: a custody gap.
    Gap,
    /// Released: the chain is closed.
    Released,
    /// Died in custody.
    Deceased,
    /// Escaped.
    Escaped,
}

impl CustodyStatus {
    fn of(c: &Custody) -> Self {
        match c {
            Custody::Held { .. } => CustodyStatus::Held,
            Custody::Gap { .. } => CustodyStatus::Gap,
            Custody::Released => CustodyStatus::Released,
            Custody::Dead => CustodyStatus::Deceased,
            Custody::Escaped => CustodyStatus::Escaped,
        }
    }

    /// The label printed.
    pub fn label(self) -> &'static str {
        match self {
            CustodyStatus::Held => "in custody",
            CustodyStatus::Gap => "in a custody gap",
            CustodyStatus::Released => "released",
            CustodyStatus::Deceased => "deceased",
            CustodyStatus::Escaped => "escaped",
        }
    }

    /// A stable code for machines (the JSON form).
    pub fn code(self) -> &'static str {
        match self {
            CustodyStatus::Held => "held",
            CustodyStatus::Gap => "gap",
            CustodyStatus::Released => "released",
            CustodyStatus::Deceased => "deceased",
            CustodyStatus::Escaped => "escaped",
        }
    }

    /// Whether the person is deprived of liberty (held, or in a gap between two agencies).
    pub fn is_open(self) -> bool {
        matches!(self, CustodyStatus::Held | CustodyStatus::Gap)
    }
}

/// A detention order of a chain, extensions included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    /// Hash of the `detention_order` event.
    pub event: Hash,
    /// Start of detention on this order (fact `start`).
    pub start: Timestamp,
    /// End of validity: the order's `valid_until`, or that of its latest `detention_extended`.
    pub valid_until: Timestamp,
    /// Number of `detention_extended` naming it.
    pub extensions: u32,
}

/// A closed stay at a facility.
#[derive(Clone, Debug)]
struct Stay {
    facility: String,
    from: Timestamp,
    until: Timestamp,
}

/// What the census knows of one detainee chain, from its headers.
#[derive(Clone, Debug, Default)]
struct Person {
    police_custody: bool,
    /// The latest legal decision: a detention order (pre-trial) or a judgment's outcome.
    judicial: Option<LegalStatus>,
    /// Released, deceased or escaped.
    end: Option<LegalStatus>,
    /// Where the person is held now, and since when, when a facility was recorded.
    facility: Option<(String, Timestamp)>,
    /// Stays that ended.
    past_stays: Vec<Stay>,
    /// Every detention order, in chain order.
    orders: Vec<Order>,
}

impl Person {
    fn legal(&self) -> LegalStatus {
        use LegalStatus as L;
        match self.end {
            Some(L::Deceased) => L::Deceased,
            Some(L::Escaped) => L::Escaped,
            Some(_) => match self.judicial {
                Some(
                    j @ (L::Convicted | L::Acquitted | L::Dismissed | L::ReleasedPendingTrial),
                ) => j,
                _ => L::Released,
            },
            None => match self.judicial {
                Some(j) => j,
                None if self.police_custody => L::PoliceCustody,
                None => L::Arrested,
            },
        }
    }

    /// The person is now at `facility` (or at a place not recorded) from `at`.
    fn move_to(&mut self, facility: Option<&str>, at: &Timestamp) {
        if self.facility.as_ref().map(|(f, _)| f.as_str()) == facility && facility.is_some() {
            return;
        }
        self.leave(at);
        self.facility = facility.map(|f| (f.to_string(), at.clone()));
    }

    /// The person leaves the current facility at `at`.
    fn leave(&mut self, at: &Timestamp) {
        if let Some((facility, from)) = self.facility.take() {
            self.past_stays.push(Stay {
                facility,
                from,
                until: at.clone(),
            });
        }
    }

    /// The current order: the latest detention order.
    fn current_order(&self) -> Option<&Order> {
        self.orders.last()
    }
}

/// Census of a ledger, fed record by record in ledger order.
#[derive(Debug, Default)]
pub struct Census {
    people: HashMap<String, Person>,
    latest: Option<Timestamp>,
}

impl Census {
    /// Takes a record that passed validation into account. Reads its header only.
    pub fn observe(&mut self, record: &Record) {
        let h = &record.header;
        match &self.latest {
            Some(t) if t >= &h.recorded_at => {}
            _ => self.latest = Some(h.recorded_at.clone()),
        }
        if h.chain == AUTHORITY_CHAIN {
            return;
        }
        let at = &h.occurred_at;
        let facts = &h.facts;
        let person = self.people.entry(h.chain.clone()).or_default();
        match h.kind {
            // A first arrest, or a new arrest after an escape.
            EventKind::Arrest => {
                person.end = None;
                person.leave(at);
            }
            EventKind::PoliceCustodyStarted => {
                person.police_custody = true;
                person.move_to(facts.str("facility"), at);
            }
            EventKind::CustodyAccepted => person.move_to(facts.str("facility"), at),
            EventKind::Admission => person.move_to(facts.str("facility"), at),
            EventKind::CustodyReleased => person.leave(at),
            EventKind::DetentionOrder => {
                person.judicial = Some(LegalStatus::PreTrialDetention);
                if let (Some(start), Some(valid_until)) =
                    (facts.timestamp("start"), facts.timestamp("valid_until"))
                {
                    person.orders.push(Order {
                        event: record.hash,
                        start,
                        valid_until,
                        extensions: 0,
                    });
                }
            }
            EventKind::DetentionExtended => {
                let target = facts.hash("order_event");
                let until = facts.timestamp("valid_until");
                if let (Some(target), Some(until)) = (target, until) {
                    if let Some(o) = person.orders.iter_mut().find(|o| o.event == target) {
                        o.valid_until = until;
                        o.extensions += 1;
                    }
                }
            }
            EventKind::Judgment => {
                if let Some(s) = facts.str("outcome").and_then(LegalStatus::of_outcome) {
                    person.judicial = Some(s);
                }
            }
            EventKind::Release => {
                person.end = Some(LegalStatus::Released);
                person.leave(at);
            }
            EventKind::DeathInCustody => {
                person.end = Some(LegalStatus::Deceased);
                person.leave(at);
            }
            EventKind::Escape => {
                person.end = Some(LegalStatus::Escaped);
                person.leave(at);
            }
            _ => {}
        }
    }

    /// The report as of the latest record observed, from the census and the validator's state
    /// of the same records.
    pub fn report(&self, v: &Validator) -> Report {
        let as_of = self
            .latest
            .clone()
            .unwrap_or_else(|| Timestamp::from_unix_seconds(0));
        self.report_at(v, as_of)
    }

    /// The report as of an instant (ages of detentions and orders, expiry, length of current
    /// stays), from the census and the validator's state of the same records.
    pub fn report_at(&self, v: &Validator, as_of: Timestamp) -> Report {
        let auth = v.authority();
        let mut agencies: Vec<AgencyLine> = auth
            .agencies
            .iter()
            .map(|(id, a)| AgencyLine {
                id: id.clone(),
                agency_type: serde_json::to_value(a.agency_type)
                    .ok()
                    .and_then(|t| t.as_str().map(str::to_string))
                    .unwrap_or_default(),
                name: a.name.clone(),
            })
            .collect();
        agencies.sort_by(|a, b| a.id.cmp(&b.id));

        let nobody = Person::default();
        let mut population: HashMap<&str, u32> = HashMap::new();
        let mut by_custody: BTreeMap<CustodyStatus, u64> = BTreeMap::new();
        let mut by_legal: BTreeMap<LegalStatus, u64> = BTreeMap::new();
        let mut detainees = Vec::new();
        let mut pre_trial = Vec::new();
        let mut gaps = Vec::new();
        let mut unofficial_stays = Vec::new();
        let mut held_place_unknown = 0u64;
        for (chain, state) in v.chains() {
            let person = self.people.get(chain).unwrap_or(&nobody);
            let code = code_for_chain(chain);
            let custody = CustodyStatus::of(&state.custody);
            let legal = person.legal();
            *by_custody.entry(custody).or_default() += 1;
            if custody.is_open() {
                *by_legal.entry(legal).or_default() += 1;
            }
            let facility = person.facility.as_ref().map(|(f, _)| f.clone());
            let holder = match &state.custody {
                Custody::Held { holder } => Some(holder.clone()),
                _ => None,
            };
            if custody == CustodyStatus::Held {
                match &person.facility {
                    Some((f, _)) => *population.entry(f.as_str()).or_default() += 1,
                    None => held_place_unknown += 1,
                }
            }
            if let Custody::Gap {
                from, to, since, ..
            } = &state.custody
            {
                gaps.push(GapLine {
                    chain: chain.clone(),
                    code: code.clone(),
                    since: since.clone(),
                    days: days_between(since, &as_of),
                    from: from.clone(),
                    to: to.clone(),
                });
            }
            if custody.is_open() && legal == LegalStatus::PreTrialDetention {
                let order = person.current_order().cloned();
                let pretrial_since = person.orders.first().map(|o| o.start.clone());
                pre_trial.push(PretrialLine {
                    chain: chain.clone(),
                    code: code.clone(),
                    custody,
                    facility: facility.clone(),
                    held_since: state.since.clone(),
                    days_held: days_between(&state.since, &as_of),
                    days_pretrial: pretrial_since.as_ref().map(|t| days_between(t, &as_of)),
                    pretrial_since,
                    order_expired: order.as_ref().is_some_and(|o| o.valid_until < as_of),
                    order,
                });
            }
            let unofficial = |f: &str| {
                auth.facilities
                    .get(f)
                    .is_some_and(|info| !info.officially_recognised)
            };
            let past = person
                .past_stays
                .iter()
                .map(|s| (&s.facility, &s.from, Some(&s.until)));
            let current = person.facility.iter().map(|(f, t)| (f, t, None));
            for (f, from, until) in past.chain(current) {
                if !unofficial(f) {
                    continue;
                }
                let end = until.unwrap_or(&as_of);
                unofficial_stays.push(StayLine {
                    chain: chain.clone(),
                    code: code.clone(),
                    facility: f.clone(),
                    agency: auth
                        .facilities
                        .get(f)
                        .map(|i| i.agency.clone())
                        .unwrap_or_default(),
                    from: from.clone(),
                    until: until.cloned(),
                    seconds: (end.unix_seconds() - from.unix_seconds()).max(0),
                });
            }
            detainees.push(DetaineeLine {
                chain: chain.clone(),
                code,
                custody,
                holder,
                legal,
                facility,
                since: state.since.clone(),
            });
        }
        let mut facilities: Vec<FacilityLine> = auth
            .facilities
            .iter()
            .map(|(id, f)| FacilityLine {
                id: id.clone(),
                agency: f.agency.clone(),
                name: f.name.clone(),
                capacity: f.capacity,
                population: population.get(id.as_str()).copied().unwrap_or(0),
                officially_recognised: f.officially_recognised,
            })
            .collect();
        facilities.sort_by(|a, b| a.id.cmp(&b.id));
        detainees.sort_by(|a, b| a.code.cmp(&b.code).then(a.chain.cmp(&b.chain)));
        pre_trial.sort_by(|a, b| b.days_held.cmp(&a.days_held).then(a.code.cmp(&b.code)));
        gaps.sort_by(|a, b| a.since.cmp(&b.since).then(a.code.cmp(&b.code)));
        unofficial_stays.sort_by(|a, b| a.from.cmp(&b.from).then(a.code.cmp(&b.code)));
        Report {
            as_of,
            agencies,
            facilities,
            detainees,
            by_custody: by_custody.into_iter().collect(),
            by_legal: by_legal.into_iter().collect(),
            held_place_unknown,
            pre_trial,
            gaps,
            unofficial_stays,
        }
    }
}

/// A record refused while building a census with [`census_of`]: the records are not a valid
/// ledger, and no census is given for them.
#[derive(Debug, thiserror::Error)]
#[error("record {position} ({kind} on chain {chain}) does not verify: {source}")]
pub struct CensusError {
    /// Ledger position (0-based) of the refused record.
    pub position: u64,
    /// Its kind.
    pub kind: EventKind,
    /// Its chain.
    pub chain: String,
    /// The rule it breaks.
    #[source]
    pub source: Box<ValidationError>,
}

/// The census of records in ledger order, with or without their detainee payloads (a
/// monitor's headers-only export), as of the latest record. Every record is verified first
/// (signature, authority, chain and state rules, as a replay of an accepted ledger: no
/// future-time rule, detainee payloads optional); the first refused record is the error.
pub fn census_of<'a>(
    trust: TrustAnchors,
    records: impl IntoIterator<Item = &'a Record>,
) -> Result<Report, CensusError> {
    let mut v = Validator::new(trust, ValidatorConfig::default());
    let mut census = Census::default();
    for (position, r) in records.into_iter().enumerate() {
        v.replay(r).map_err(|source| CensusError {
            position: position as u64,
            kind: r.header.kind,
            chain: r.header.chain.clone(),
            source: Box::new(source),
        })?;
        census.observe(r);
    }
    Ok(census.report(&v))
}

fn days_between(from: &Timestamp, to: &Timestamp) -> i64 {
    (to.unix_seconds() - from.unix_seconds()).max(0) / 86_400
}

/// A registered agency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgencyLine {
    /// Agency id.
    pub id: String,
    /// Its type (`military`, `prison`...).
    pub agency_type: String,
    /// Its name.
    pub name: String,
}

/// A facility with its population.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FacilityLine {
    /// Facility id.
    pub id: String,
    /// The agency responsible for it.
    pub agency: String,
    /// Its name.
    pub name: String,
    /// Official capacity.
    pub capacity: u32,
    /// People held there now.
    pub population: u32,
    /// Whether it is an officially recognised place of detention (ICPPED art. 17(1)).
    pub officially_recognised: bool,
}

impl FacilityLine {
    /// Occupancy in percent of capacity (rounded down); `None` for a capacity of 0.
    pub fn occupancy_percent(&self) -> Option<u64> {
        (self.capacity > 0).then(|| u64::from(self.population) * 100 / u64::from(self.capacity))
    }
}

/// One detainee chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetaineeLine {
    /// Chain id.
    pub chain: String,
    /// Human code of the chain.
    pub code: String,
    /// Custody status.
    pub custody: CustodyStatus,
    /// The holding agency, when held.
    pub holder: Option<String>,
    /// Legal status, from the chain's legal events.
    pub legal: LegalStatus,
    /// Where the person is held now, when a facility was recorded.
    pub facility: Option<String>,
    /// When the person was deprived of liberty (the arrest).
    pub since: Timestamp,
}

/// A pre-trial detainee, held or in a custody gap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PretrialLine {
    /// Chain id.
    pub chain: String,
    /// Human code of the chain.
    pub code: String,
    /// Held, or in a custody gap.
    pub custody: CustodyStatus,
    /// Where the person is held, when recorded (never during a gap).
    pub facility: Option<String>,
    /// When the person was deprived of liberty (the arrest).
    pub held_since: Timestamp,
    /// Whole days since then.
    pub days_held: i64,
    /// Start of pre-trial detention: the start of the chain's first detention order.
    pub pretrial_since: Option<Timestamp>,
    /// Whole days since then.
    pub days_pretrial: Option<i64>,
    /// The current order (the latest detention order), extensions included.
    pub order: Option<Order>,
    /// Whether the current order ended before the census instant.
    pub order_expired: bool,
}

/// A person in a custody gap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GapLine {
    /// Chain id.
    pub chain: String,
    /// Human code of the chain.
    pub code: String,
    /// When the release happened.
    pub since: Timestamp,
    /// Whole days since then.
    pub days: i64,
    /// The releasing agency.
    pub from: String,
    /// The agency named to receive the person.
    pub to: Option<String>,
}

/// A stay, past or present, at a place that is not an official place of detention.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StayLine {
    /// Chain id.
    pub chain: String,
    /// Human code of the chain.
    pub code: String,
    /// The facility.
    pub facility: String,
    /// The agency responsible for it.
    pub agency: String,
    /// Arrival (the event that put the person there).
    pub from: Timestamp,
    /// Departure (release, handover, death, escape); `None`: the person is still there.
    pub until: Option<Timestamp>,
    /// Length in seconds (up to the census instant for a current stay).
    pub seconds: i64,
}

impl StayLine {
    /// Length as "12 days", "3 days 4 h" or "5 h".
    pub fn length(&self) -> String {
        let (days, hours) = (self.seconds / 86_400, self.seconds % 86_400 / 3_600);
        match (days, hours) {
            (0, h) => format!("{h} h"),
            (d, 0) => format!("{d} days"),
            (d, h) => format!("{d} days {h} h"),
        }
    }
}

/// What the census found.
#[derive(Clone, Debug)]
pub struct Report {
    /// The census instant.
    pub as_of: Timestamp,
    /// Registered agencies, by id.
    pub agencies: Vec<AgencyLine>,
    /// Registered facilities with their population, by id.
    pub facilities: Vec<FacilityLine>,
    /// Every detainee chain, by human code.
    pub detainees: Vec<DetaineeLine>,
    /// Number of chains per custody status.
    pub by_custody: Vec<(CustodyStatus, u64)>,
    /// Number of people held or in a gap, per legal status.
    pub by_legal: Vec<(LegalStatus, u64)>,
    /// People held where no facility was recorded.
    pub held_place_unknown: u64,
    /// Pre-trial detainees, held or in a gap, longest held first.
    pub pre_trial: Vec<PretrialLine>,
    /// People in a custody gap, oldest first.
    pub gaps: Vec<GapLine>,
    /// Every stay at a place that is not an official place of detention, earliest first.
    pub unofficial_stays: Vec<StayLine>,
}

/// Longest list printed in human output (the JSON holds every line).
const MAX_LINES: usize = 15;

impl Report {
    /// The number of chains with a custody status (0 when none).
    pub fn custody_count(&self, status: CustodyStatus) -> u64 {
        self.by_custody
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n)
    }

    /// The number of people held or in a gap with a legal status (0 when none).
    pub fn legal_count(&self, status: LegalStatus) -> u64 {
        self.by_legal
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n)
    }

    /// The line of a facility.
    pub fn facility(&self, id: &str) -> Option<&FacilityLine> {
        self.facilities.iter().find(|f| f.id == id)
    }

    /// The report as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "as_of": self.as_of.as_str(),
            "agencies": self.agencies.iter().map(|a| json!({"id": a.id, "type": a.agency_type, "name": a.name})).collect::<Vec<_>>(),
            "facilities": self.facilities.iter().map(|f| json!({
                "id": f.id, "agency": f.agency, "capacity": f.capacity,
                "population": f.population, "officially_recognised": f.officially_recognised,
            })).collect::<Vec<_>>(),
            "detainees": self.detainees.len(),
            "by_custody_status": self.by_custody.iter().map(|(k, n)| json!({"status": k.code(), "label": k.label(), "count": n})).collect::<Vec<_>>(),
            "by_legal_status": self.by_legal.iter().map(|(k, n)| json!({"status": k.code(), "label": k.label(), "count": n})).collect::<Vec<_>>(),
            "held_place_unknown": self.held_place_unknown,
            "pre_trial": self.pre_trial.iter().map(|p| json!({
                "code": p.code, "custody_status": p.custody.code(), "facility": p.facility,
                "days_held": p.days_held, "days_pre_trial": p.days_pretrial,
                "order_event": p.order.as_ref().map(|o| o.event.to_hex()),
                "order_valid_until": p.order.as_ref().map(|o| o.valid_until.as_str()),
                "order_expired": p.order_expired,
            })).collect::<Vec<_>>(),
            "custody_gaps": self.gaps.iter().map(|g| json!({
                "code": g.code, "since": g.since.as_str(), "days": g.days,
                "from_agency": g.from, "to_agency": g.to,
            })).collect::<Vec<_>>(),
            "unofficial_stays": self.unofficial_stays.iter().map(|s| json!({
                "code": s.code, "facility": s.facility, "agency": s.agency,
                "from": s.from.as_str(), "until": s.until.as_ref().map(Timestamp::as_str),
                "seconds": s.seconds,
            })).collect::<Vec<_>>(),
        })
    }

    /// The report as text lines.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        out.push(format!("as of {}", self.as_of));
        out.push(String::new());
        out.push(format!("agencies ({})", self.agencies.len()));
        for a in &self.agencies {
            out.push(format!("  {:<28} {:<12} {}", a.id, a.agency_type, a.name));
        }
        out.push(String::new());
        out.push(format!(
            "facilities ({}): population / capacity",
            self.facilities.len()
        ));
        for f in &self.facilities {
            let load = match f.occupancy_percent() {
                Some(p) => format!("{:>4} / {:<5} {p:>4} %", f.population, f.capacity),
                None => format!("{:>4} / -", f.population),
            };
            let flag = if f.officially_recognised {
                ""
            } else {
                "  NOT AN OFFICIAL PLACE OF DETENTION"
            };
            out.push(format!("  {:<28} {load}  ({}){flag}", f.id, f.agency));
        }
        if self.held_place_unknown > 0 {
            out.push(format!(
                "  held, facility not recorded: {}",
                self.held_place_unknown
            ));
        }
        out.push(String::new());
        out.push(format!("detainees ({})", self.detainees.len()));
        out.push("  by custody status:".into());
        for (k, n) in &self.by_custody {
            out.push(format!("    {n:>5}  {}", k.label()));
        }
        out.push("  held or in a gap, by legal status:".into());
        for (k, n) in &self.by_legal {
            out.push(format!("    {n:>5}  {}", k.label()));
        }
        out.push(String::new());
        out.push(format!(
            "pre-trial detention ({}), longest held first",
            self.pre_trial.len()
        ));
        for p in self.pre_trial.iter().take(MAX_LINES) {
            let order = match &p.order {
                Some(o) if p.order_expired => format!("order EXPIRED {}", o.valid_until),
                Some(o) => format!("order valid until {}", o.valid_until),
                None => "no order recorded".into(),
            };
            let pretrial = p
                .days_pretrial
                .map_or(String::new(), |d| format!(", {d} days on order"));
            let place = match (&p.custody, &p.facility) {
                (CustodyStatus::Gap, _) => "IN A CUSTODY GAP".to_string(),
                (_, Some(f)) => format!("at {f}"),
                (_, None) => "at ?".to_string(),
            };
            out.push(format!(
                "  {}  held {} days{pretrial}  {place}  {order}",
                p.code, p.days_held,
            ));
        }
        if self.pre_trial.len() > MAX_LINES {
            out.push(format!(
                "  ... and {} more (--json lists all)",
                self.pre_trial.len() - MAX_LINES
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
        out.push(String::new());
        if self.unofficial_stays.is_empty() {
            out.push("stays at places that are not official places of detention: none".into());
        } else {
            out.push(format!(
                "STAYS AT A PLACE THAT IS NOT AN OFFICIAL PLACE OF DETENTION ({} stay{}), past and present",
                self.unofficial_stays.len(),
                if self.unofficial_stays.len() == 1 { "" } else { "s" }
            ));
            for s in &self.unofficial_stays {
                let until = match &s.until {
                    Some(t) => format!("to {t}"),
                    None => "and still there".to_string(),
                };
                out.push(format!(
                    "  !! {}  at {} ({})  from {} {until}  ({})",
                    s.code,
                    s.facility,
                    s.agency,
                    s.from,
                    s.length()
                ));
            }
        }
        out
    }
}
