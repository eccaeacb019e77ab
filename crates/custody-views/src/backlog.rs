//! The pre-trial backlog: by facility and by court, how many people are held, how many of
//! them are in pre-trial detention (presumed innocent) and for how long, whose order has
//! expired while they are still held, the longest waits, and the occupancy of each facility
//! against its capacity.
//!
//! # Ageing buckets
//!
//! The age of a pre-trial detention is counted in calendar months from its start (the `start`
//! fact of the person's first detention order), with [`crate::calendar::plus_months`]: 31
//! January plus one month is the last day of February, at the same time of day. Each bucket's
//! lower bound is inclusive and its upper bound exclusive: a detention that began on 15 January
//! 2026 at 10:00 is "under 1 month" until 15 February 2026 at 09:59:59 and "1-6 months" from
//! 15 February 2026 at 10:00 exactly; it is "over 3 years" from 15 January 2029 at 10:00.
//!
//! | bucket          | age `a` in calendar months |
//! |-----------------|----------------------------|
//! | under 1 month   | a < 1                      |
//! | 1-6 months      | 1 ≤ a < 6                  |
//! | 6-12 months     | 6 ≤ a < 12                 |
//! | 1-2 years       | 12 ≤ a < 24                |
//! | 2-3 years       | 24 ≤ a < 36                |
//! | over 3 years    | a ≥ 36                     |

use std::collections::BTreeMap;
use std::fmt::Write as _;

use custody_core::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::calendar::{plus_months_unix, Date};
use crate::census::LegalStatus;
use crate::detainee::{DetaineeFold, Projection};
use crate::i18n::{
    fmt_date_short, fmt_datetime, fmt_days, fmt_int, fmt_percent, fmt_share, legal_status_label, t,
    Lang, MessageId,
};

/// An ageing bucket of pre-trial detention (see the module's boundary rule).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgeBucket {
    /// Under one month.
    Under1Month,
    /// One month to under six months.
    Months1To6,
    /// Six months to under twelve months.
    Months6To12,
    /// One year to under two years.
    Years1To2,
    /// Two years to under three years.
    Years2To3,
    /// Three years or more.
    Over3Years,
}

impl AgeBucket {
    /// Every bucket, youngest first.
    pub const ALL: [AgeBucket; 6] = [
        AgeBucket::Under1Month,
        AgeBucket::Months1To6,
        AgeBucket::Months6To12,
        AgeBucket::Years1To2,
        AgeBucket::Years2To3,
        AgeBucket::Over3Years,
    ];

    /// The lower bound of the bucket, in calendar months.
    pub const fn from_months(self) -> u32 {
        match self {
            AgeBucket::Under1Month => 0,
            AgeBucket::Months1To6 => 1,
            AgeBucket::Months6To12 => 6,
            AgeBucket::Years1To2 => 12,
            AgeBucket::Years2To3 => 24,
            AgeBucket::Over3Years => 36,
        }
    }

    /// A stable code (JSON, CSV): `under_1_month`, `1_6_months`, ...
    pub const fn code(self) -> &'static str {
        match self {
            AgeBucket::Under1Month => "under_1_month",
            AgeBucket::Months1To6 => "1_6_months",
            AgeBucket::Months6To12 => "6_12_months",
            AgeBucket::Years1To2 => "1_2_years",
            AgeBucket::Years2To3 => "2_3_years",
            AgeBucket::Over3Years => "over_3_years",
        }
    }

    /// The message of its label.
    pub const fn message(self) -> MessageId {
        match self {
            AgeBucket::Under1Month => MessageId::BucketUnder1Month,
            AgeBucket::Months1To6 => MessageId::Bucket1To6Months,
            AgeBucket::Months6To12 => MessageId::Bucket6To12Months,
            AgeBucket::Years1To2 => MessageId::Bucket1To2Years,
            AgeBucket::Years2To3 => MessageId::Bucket2To3Years,
            AgeBucket::Over3Years => MessageId::BucketOver3Years,
        }
    }

    /// The bucket of a detention that started at `start`, at the instant `at` (a start after
    /// `at` counts as under one month).
    pub fn of(start: &Timestamp, at: &Timestamp) -> AgeBucket {
        // The whole calendar months from `start` to `at`: the month difference of their dates,
        // or one less when `start` plus that many months is still after `at` (adding one more
        // month lands past `at`'s month, one less lands before it).
        let at_s = at.unix_seconds();
        let (s, a) = (Date::of(start), Date::of(at));
        let diff = (i64::from(a.year()) * 12 + i64::from(a.month()))
            - (i64::from(s.year()) * 12 + i64::from(s.month()));
        let mut months = diff.max(0);
        if months > 0 && plus_months_unix(start, months as u32) > at_s {
            months -= 1;
        }
        AgeBucket::ALL
            .into_iter()
            .rev()
            .find(|b| months >= i64::from(b.from_months()))
            .unwrap_or(AgeBucket::Under1Month)
    }
}

/// Counts per ageing bucket, youngest first ([`AgeBucket::ALL`] order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ageing(pub [u64; 6]);

impl Ageing {
    /// Counts one detention in its bucket.
    pub fn add(&mut self, bucket: AgeBucket) {
        self.0[bucket as usize] += 1;
    }

    /// The count of a bucket.
    pub fn get(&self, bucket: AgeBucket) -> u64 {
        self.0[bucket as usize]
    }

    /// The sum of every bucket.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

/// Whole days from `from` to `to` (0 when `to` is before `from`).
pub fn days_between(from: &Timestamp, to: &Timestamp) -> i64 {
    (to.unix_seconds() - from.unix_seconds()).max(0) / 86_400
}

/// A share in percent (`part * 100 / whole`), `None` for an empty whole.
pub fn percent(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

/// The number of longest waits a backlog lists.
pub const LONGEST_WAITS: usize = 20;

/// Every legal status, in the order of the reports.
pub const STATUSES: [LegalStatus; 10] = [
    LegalStatus::Arrested,
    LegalStatus::PoliceCustody,
    LegalStatus::PreTrialDetention,
    LegalStatus::Convicted,
    LegalStatus::Acquitted,
    LegalStatus::Dismissed,
    LegalStatus::ReleasedPendingTrial,
    LegalStatus::Released,
    LegalStatus::Deceased,
    LegalStatus::Escaped,
];

/// The legal status of a code (`pre_trial_detention`...), as `--status` and the API take it.
pub fn status_of_code(code: &str) -> Option<LegalStatus> {
    STATUSES.into_iter().find(|s| s.code() == code)
}

/// An unknown `--status` (or `status=`) value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown legal status {0:?}: expected one of arrested, police_custody, pre_trial_detention, convicted, acquitted, dismissed, released_pending_trial, released, deceased, escaped")]
pub struct UnknownStatus(pub String);

/// Parses a legal status code, or says which codes exist.
pub fn parse_status(code: &str) -> Result<LegalStatus, UnknownStatus> {
    status_of_code(code.trim()).ok_or_else(|| UnknownStatus(code.to_string()))
}

/// Which people a backlog counts (every filter set must hold).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BacklogFilter {
    /// Only people at this facility (id) now.
    pub facility: Option<String>,
    /// Only people whose current detention order names this court (id).
    pub court: Option<String>,
    /// Only people of this legal status.
    pub status: Option<LegalStatus>,
    /// Only people in pre-trial detention whose order has expired while they are held.
    pub overdue_only: bool,
    /// Only people held by this agency or at one of its facilities, and only its facilities'
    /// occupancy: the narrowing of a registrar's or a judicial police officer's backlog to
    /// their own people ([`crate::access::narrowed_to_own_agency`]).
    pub agency: Option<String>,
}

impl BacklogFilter {
    /// Whether no filter is set.
    pub fn is_empty(&self) -> bool {
        *self == BacklogFilter::default()
    }

    fn keeps(&self, person: &Person<'_>) -> bool {
        self.facility
            .as_deref()
            .is_none_or(|f| person.facility == Some(f))
            && self
                .court
                .as_deref()
                .is_none_or(|c| person.court == Some(c))
            && self.status.is_none_or(|s| person.status == s)
            && (!self.overdue_only || person.overdue)
    }
}

/// Counts of one group of people (a facility, a court, or everybody).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupLine {
    /// The facility or court id; `None`: not recorded (a person in a custody gap, at a place
    /// not recorded, or with no court on the order).
    pub id: Option<String>,
    /// Its registered name, when known.
    pub name: Option<String>,
    /// People deprived of liberty (held, or in a custody gap).
    pub held: u64,
    /// Of them, in pre-trial detention (presumed innocent).
    pub pre_trial: u64,
    /// Of the pre-trial detainees, those whose order has expired while they are held.
    pub overdue: u64,
    /// Ageing of the pre-trial detentions.
    pub ageing: Ageing,
    /// People by legal status (codes of [`LegalStatus::code`]).
    pub by_status: BTreeMap<LegalStatus, u64>,
}

impl GroupLine {
    /// The pre-trial share among the held, in percent (`None` when nobody is held).
    pub fn pre_trial_percent(&self) -> Option<f64> {
        percent(self.pre_trial, self.held)
    }

    fn add(&mut self, person: &Person<'_>) {
        self.held += 1;
        *self.by_status.entry(person.status).or_default() += 1;
        if let Some(bucket) = person.bucket {
            self.pre_trial += 1;
            self.ageing.add(bucket);
        }
        if person.overdue {
            self.overdue += 1;
        }
    }
}

/// The occupancy of one facility against its capacity. Occupancy counts everybody the
/// records place there, whatever the filters of status, court or expiry.
#[derive(Clone, Debug, PartialEq)]
pub struct OccupancyLine {
    /// The facility id.
    pub facility: String,
    /// Its registered name; `None`: the place is not registered.
    pub name: Option<String>,
    /// The agency responsible for it.
    pub agency: Option<String>,
    /// Official capacity (0: not set or not registered).
    pub capacity: u32,
    /// People held there now.
    pub population: u64,
    /// Whether it is a registered, officially recognised place of detention.
    pub officially_recognised: bool,
}

impl OccupancyLine {
    /// Population against capacity, in percent (`None` when no capacity is set).
    pub fn occupancy_percent(&self) -> Option<f64> {
        percent(self.population, u64::from(self.capacity))
    }
}

/// One of the longest pre-trial waits.
#[derive(Clone, Debug, PartialEq)]
pub struct WaitLine {
    /// The chain id.
    pub chain: String,
    /// Its human code (the only name a report gives).
    pub code: String,
    /// Where the person is now, when recorded.
    pub facility: Option<String>,
    /// The court of the current order, when recorded.
    pub court: Option<String>,
    /// Start of pre-trial detention.
    pub since: Timestamp,
    /// Whole days since then.
    pub days: i64,
    /// Its ageing bucket.
    pub bucket: AgeBucket,
    /// End of validity of the current order, extensions included.
    pub valid_until: Option<Timestamp>,
    /// The order has expired while the person is held.
    pub overdue: bool,
}

/// The pre-trial backlog at an instant.
#[derive(Clone, Debug, PartialEq)]
pub struct Backlog {
    /// The instant of the report (ages and expiry are taken at it).
    pub at: Timestamp,
    /// The filter applied.
    pub filter: BacklogFilter,
    /// The ledger position the projection had reached.
    pub position: Option<u64>,
    /// Everybody counted.
    pub total: GroupLine,
    /// By current facility (id order; the line of people at no recorded place last).
    pub by_facility: Vec<GroupLine>,
    /// By the court of the current order (id order; people with no court recorded last).
    pub by_court: Vec<GroupLine>,
    /// The longest pre-trial waits, longest first (at most [`LONGEST_WAITS`]).
    pub longest_waits: Vec<WaitLine>,
    /// Occupancy of every facility (registered or where someone is held), id order.
    pub occupancy: Vec<OccupancyLine>,
}

/// What the backlog reads of one person.
struct Person<'a> {
    fold: &'a DetaineeFold,
    facility: Option<&'a str>,
    court: Option<&'a str>,
    status: LegalStatus,
    /// The ageing bucket, for a pre-trial detainee whose start is known.
    bucket: Option<AgeBucket>,
    overdue: bool,
}

impl<'a> Person<'a> {
    fn of(fold: &'a DetaineeFold, at: &Timestamp) -> Person<'a> {
        let status = fold.legal;
        let order = fold.current_order();
        let pre_trial = status == LegalStatus::PreTrialDetention;
        Person {
            fold,
            facility: fold.current_facility(),
            court: order.and_then(|o| o.court.as_deref()),
            status,
            bucket: None,
            overdue: pre_trial && order.is_some_and(|o| o.valid_until < *at),
        }
    }

    /// Computes the ageing bucket (only for a person the filter keeps: it is the costly part).
    fn with_bucket(mut self, at: &Timestamp) -> Person<'a> {
        if self.status == LegalStatus::PreTrialDetention {
            self.bucket = self.fold.pre_trial_since().map(|s| AgeBucket::of(s, at));
        }
        self
    }
}

/// Adds a person to the group of `key` (sorted with `None` last).
fn group<'m, 'k>(
    groups: &'m mut BTreeMap<(bool, Option<&'k str>), GroupLine>,
    key: Option<&'k str>,
) -> &'m mut GroupLine {
    groups
        .entry((key.is_none(), key))
        .or_insert_with(|| GroupLine {
            id: key.map(str::to_string),
            ..GroupLine::default()
        })
}

/// The pre-trial backlog of a projection at the instant `at`, over the people the filter
/// keeps: by facility and by court, counts, pre-trial shares, ageing buckets, the longest waits,
/// and the occupancy of each facility against its capacity. The projection holds the records
/// folded so far; `at` sets the ages and the expiry of orders (an instant before the latest
/// record does not unfold the records after it).
pub fn backlog(p: &Projection, at: &Timestamp, filter: &BacklogFilter) -> Backlog {
    let mut total = GroupLine::default();
    let mut facilities: BTreeMap<(bool, Option<&str>), GroupLine> = BTreeMap::new();
    let mut courts: BTreeMap<(bool, Option<&str>), GroupLine> = BTreeMap::new();
    let mut population: BTreeMap<&str, u64> = BTreeMap::new();
    let mut waits = Vec::new();
    for fold in p.detainees.values().filter(|f| f.is_open()) {
        let person = Person::of(fold, at);
        if let (Some(f), true) = (person.facility, fold.holder().is_some()) {
            *population.entry(f).or_default() += 1;
        }
        if !filter.keeps(&person)
            || filter
                .agency
                .as_deref()
                .is_some_and(|a| !p.concerns_agency(&fold.chain, a))
        {
            continue;
        }
        let person = person.with_bucket(at);
        total.add(&person);
        group(&mut facilities, person.facility).add(&person);
        group(&mut courts, person.court).add(&person);
        if let (Some(bucket), Some(since)) = (person.bucket, person.fold.pre_trial_since()) {
            waits.push((days_between(since, at), since, bucket, person));
        }
    }
    // Longest first; only the lines listed are copied out of the projection.
    let longest = |a: &(i64, &Timestamp, AgeBucket, Person),
                   b: &(i64, &Timestamp, AgeBucket, Person)| {
        b.0.cmp(&a.0)
            .then_with(|| a.1.cmp(b.1))
            .then_with(|| a.3.fold.code.cmp(&b.3.fold.code))
    };
    if waits.len() > LONGEST_WAITS {
        waits.select_nth_unstable_by(LONGEST_WAITS, longest);
        waits.truncate(LONGEST_WAITS);
    }
    waits.sort_by(longest);
    let waits: Vec<WaitLine> = waits
        .into_iter()
        .map(|(days, since, bucket, person)| WaitLine {
            chain: person.fold.chain.clone(),
            code: person.fold.code.clone(),
            facility: person.facility.map(str::to_string),
            court: person.court.map(str::to_string),
            since: since.clone(),
            days,
            bucket,
            valid_until: person.fold.current_order().map(|o| o.valid_until.clone()),
            overdue: person.overdue,
        })
        .collect();

    let dir = &p.directory;
    let mut by_facility: Vec<GroupLine> = facilities.into_values().collect();
    for line in &mut by_facility {
        line.name = line
            .id
            .as_deref()
            .and_then(|f| dir.facility(f))
            .map(|f| f.name.clone());
    }
    let mut by_court: Vec<GroupLine> = courts.into_values().collect();
    for line in &mut by_court {
        line.name = line
            .id
            .as_deref()
            .and_then(|c| dir.agencies.get(c))
            .map(|a| a.name.clone());
    }

    let mut ids: Vec<&str> = dir.facilities.keys().map(String::as_str).collect();
    ids.extend(population.keys().copied());
    ids.sort_unstable();
    ids.dedup();
    let occupancy = ids
        .into_iter()
        .filter(|id| filter.facility.as_deref().is_none_or(|f| f == *id))
        .filter(|id| {
            filter
                .agency
                .as_deref()
                .is_none_or(|a| dir.facility(id).is_some_and(|e| e.agency == a))
        })
        .map(|id| {
            let entry = dir.facility(id);
            OccupancyLine {
                facility: id.to_string(),
                name: entry.map(|e| e.name.clone()),
                agency: entry.map(|e| e.agency.clone()),
                capacity: entry.map_or(0, |e| e.capacity),
                population: population.get(id).copied().unwrap_or(0),
                officially_recognised: entry.is_some_and(|e| e.officially_recognised),
            }
        })
        .collect();

    Backlog {
        at: at.clone(),
        filter: filter.clone(),
        position: p.position,
        total,
        by_facility,
        by_court,
        longest_waits: waits,
        occupancy,
    }
}

fn opt_round(x: Option<f64>) -> Value {
    x.map_or(Value::Null, |v| json!((v * 10.0).round() / 10.0))
}

fn group_json(g: &GroupLine) -> Value {
    json!({
        "id": g.id,
        "name": g.name,
        "held": g.held,
        "pre_trial": g.pre_trial,
        "pre_trial_percent": opt_round(g.pre_trial_percent()),
        "overdue": g.overdue,
        "ageing": AgeBucket::ALL.iter().map(|b| (b.code().to_string(), json!(g.ageing.get(*b)))).collect::<serde_json::Map<_, _>>(),
        "by_status": g.by_status.iter().map(|(s, n)| (s.code().to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
    })
}

/// The CSV header of [`Backlog::to_csv`].
pub const CSV_HEADER: &str = "group,id,name,held,pre_trial,pre_trial_percent,overdue,under_1_month,1_6_months,6_12_months,1_2_years,2_3_years,over_3_years,capacity,population,occupancy_percent";

/// One CSV field, quoted as RFC 4180 says when it holds a comma, a quote or a line break.
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// A percentage with one decimal, rounded half away from zero as the text and JSON forms are.
fn csv_pct(x: Option<f64>) -> String {
    x.map_or(String::new(), |v| {
        format!("{:.1}", (v * 10.0).round() / 10.0)
    })
}

impl Backlog {
    /// The machine form: every figure, ids and codes, instants as RFC 3339, shares in percent
    /// rounded to one decimal (`null` for an empty group).
    pub fn to_json(&self) -> Value {
        json!({
            "at": self.at.as_str(),
            "position": self.position,
            "filter": {
                "facility": self.filter.facility,
                "court": self.filter.court,
                "status": self.filter.status.map(LegalStatus::code),
                "overdue_only": self.filter.overdue_only,
            },
            "total": group_json(&self.total),
            "by_facility": self.by_facility.iter().map(group_json).collect::<Vec<_>>(),
            "by_court": self.by_court.iter().map(group_json).collect::<Vec<_>>(),
            "longest_waits": self.longest_waits.iter().map(|w| json!({
                "chain": w.chain,
                "code": w.code,
                "facility": w.facility,
                "court": w.court,
                "since": w.since.as_str(),
                "days": w.days,
                "bucket": w.bucket.code(),
                "valid_until": w.valid_until.as_ref().map(Timestamp::as_str),
                "overdue": w.overdue,
            })).collect::<Vec<_>>(),
            "occupancy": self.occupancy.iter().map(|o| json!({
                "facility": o.facility,
                "name": o.name,
                "agency": o.agency,
                "capacity": o.capacity,
                "population": o.population,
                "occupancy_percent": opt_round(o.occupancy_percent()),
                "officially_recognised": o.officially_recognised,
            })).collect::<Vec<_>>(),
        })
    }

    /// The table form ([`CSV_HEADER`], RFC 4180, CRLF line ends): one `total` row, one
    /// `facility` row per facility (with its capacity, population and occupancy), one `court`
    /// row per court. Plain numbers, a dot for decimals, an empty field for a value unknown.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(CSV_HEADER);
        out.push_str("\r\n");
        let mut row = |group: &str, g: &GroupLine, occ: Option<&OccupancyLine>| {
            let mut fields = vec![
                group.to_string(),
                csv_field(g.id.as_deref().unwrap_or("")),
                csv_field(g.name.as_deref().unwrap_or("")),
                g.held.to_string(),
                g.pre_trial.to_string(),
                csv_pct(g.pre_trial_percent()),
                g.overdue.to_string(),
            ];
            fields.extend(AgeBucket::ALL.iter().map(|b| g.ageing.get(*b).to_string()));
            match occ {
                Some(o) => {
                    fields.push(o.capacity.to_string());
                    fields.push(o.population.to_string());
                    fields.push(csv_pct(o.occupancy_percent()));
                }
                None => fields.extend([String::new(), String::new(), String::new()]),
            }
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        };
        row("total", &self.total, None);
        for g in &self.by_facility {
            let occ =
                g.id.as_deref()
                    .and_then(|id| self.occupancy.iter().find(|o| o.facility == id));
            row("facility", g, occ);
        }
        for g in &self.by_court {
            row("court", g, None);
        }
        out
    }

    /// The longest waits as CSV (`code,chain,facility,court,since,days,bucket,valid_until,overdue`).
    pub fn waits_csv(&self) -> String {
        let mut out =
            String::from("code,chain,facility,court,since,days,bucket,valid_until,overdue\r\n");
        for w in &self.longest_waits {
            let fields = [
                csv_field(&w.code),
                csv_field(&w.chain),
                csv_field(w.facility.as_deref().unwrap_or("")),
                csv_field(w.court.as_deref().unwrap_or("")),
                w.since.as_str().to_string(),
                w.days.to_string(),
                w.bucket.code().to_string(),
                w.valid_until
                    .as_ref()
                    .map_or(String::new(), |t| t.as_str().to_string()),
                w.overdue.to_string(),
            ];
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        }
        out
    }

    /// The report as text tables, in a language (French numbers and dates in French).
    pub fn render(&self, lang: Lang) -> String {
        let colon = if lang == Lang::Fr { " :" } else { ":" };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} — {} {}",
            t(lang, MessageId::BacklogTitle),
            t(lang, MessageId::AsOf),
            fmt_datetime(lang, &self.at)
        );
        if !self.filter.is_empty() {
            let mut parts = Vec::new();
            if let Some(f) = &self.filter.facility {
                parts.push(format!("{} {f}", t(lang, MessageId::Facility)));
            }
            if let Some(c) = &self.filter.court {
                parts.push(format!("{} {c}", t(lang, MessageId::Court)));
            }
            if let Some(s) = self.filter.status {
                parts.push(legal_status_label(lang, s).to_string());
            }
            if self.filter.overdue_only {
                parts.push(t(lang, MessageId::OverdueOnly).to_string());
            }
            let _ = writeln!(
                out,
                "{}{colon} {}",
                t(lang, MessageId::Filters),
                parts.join(", ")
            );
        }
        out.push('\n');
        let unknown = t(lang, MessageId::NotRecorded);
        let label = |g: &GroupLine| match (&g.id, &g.name) {
            (Some(id), Some(name)) => format!("{name} ({id})"),
            (Some(id), None) => id.clone(),
            (None, _) => unknown.to_string(),
        };
        let mut head = vec![
            String::new(),
            t(lang, MessageId::Held).to_string(),
            t(lang, MessageId::PreTrial).to_string(),
            t(lang, MessageId::PreTrialShare).to_string(),
            t(lang, MessageId::Overdue).to_string(),
        ];
        head.extend(
            AgeBucket::ALL
                .iter()
                .map(|b| t(lang, b.message()).to_string()),
        );
        let line = |name: String, g: &GroupLine| {
            let mut cells = vec![
                name,
                fmt_int(lang, g.held as i64),
                fmt_int(lang, g.pre_trial as i64),
                fmt_share(lang, g.pre_trial, g.held),
                fmt_int(lang, g.overdue as i64),
            ];
            cells.extend(
                AgeBucket::ALL
                    .iter()
                    .map(|b| fmt_int(lang, g.ageing.get(*b) as i64)),
            );
            cells
        };
        for (section, groups, first) in [
            (
                MessageId::ByFacility,
                &self.by_facility,
                MessageId::Facility,
            ),
            (MessageId::ByCourt, &self.by_court, MessageId::Court),
        ] {
            let _ = writeln!(out, "{}", t(lang, section));
            let mut rows = vec![head.clone()];
            rows[0][0] = t(lang, first).to_string();
            rows.extend(groups.iter().map(|g| line(label(g), g)));
            rows.push(line(t(lang, MessageId::Total).to_string(), &self.total));
            out.push_str(&table(&rows));
            out.push('\n');
        }

        let _ = writeln!(out, "{}", t(lang, MessageId::OccupancyTitle));
        let mut rows = vec![vec![
            t(lang, MessageId::Facility).to_string(),
            t(lang, MessageId::Held).to_string(),
            t(lang, MessageId::Capacity).to_string(),
            t(lang, MessageId::Occupancy).to_string(),
        ]];
        for o in &self.occupancy {
            let name = match &o.name {
                Some(n) => format!("{n} ({})", o.facility),
                None => o.facility.clone(),
            };
            let (cap, pct) = match o.occupancy_percent() {
                Some(p) => (fmt_int(lang, i64::from(o.capacity)), fmt_percent(lang, p)),
                None => (
                    t(lang, MessageId::CapacityUnknown).to_string(),
                    "–".to_string(),
                ),
            };
            rows.push(vec![name, fmt_int(lang, o.population as i64), cap, pct]);
        }
        out.push_str(&table(&rows));
        out.push('\n');

        let _ = writeln!(out, "{}", t(lang, MessageId::LongestWaits));
        if self.longest_waits.is_empty() {
            let _ = writeln!(out, "  {}", t(lang, MessageId::NothingToReport));
        } else {
            let mut rows = vec![vec![
                t(lang, MessageId::Code).to_string(),
                t(lang, MessageId::Facility).to_string(),
                t(lang, MessageId::Court).to_string(),
                t(lang, MessageId::PreTrialSince).to_string(),
                t(lang, MessageId::Duration).to_string(),
                t(lang, MessageId::OrderValidUntil).to_string(),
            ]];
            for w in &self.longest_waits {
                let until = match &w.valid_until {
                    Some(u) if w.overdue => format!(
                        "{} ({})",
                        fmt_date_short(lang, Date::of(u)),
                        t(lang, MessageId::Overdue).to_lowercase()
                    ),
                    Some(u) => fmt_date_short(lang, Date::of(u)),
                    None => unknown.to_string(),
                };
                rows.push(vec![
                    w.code.clone(),
                    w.facility.clone().unwrap_or_else(|| unknown.to_string()),
                    w.court.clone().unwrap_or_else(|| unknown.to_string()),
                    fmt_date_short(lang, Date::of(&w.since)),
                    fmt_days(lang, w.days),
                    until,
                ]);
            }
            out.push_str(&table(&rows));
        }
        out
    }
}

/// Text table: the first column left-aligned, the others right-aligned, widths in characters.
pub fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; cols];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        out.push(' ');
        for (i, cell) in row.iter().enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            out.push_str("  ");
            if i == 0 {
                out.push_str(cell);
                out.push_str(&" ".repeat(pad));
            } else {
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            }
        }
        let trimmed = out.trim_end_matches(' ').len();
        out.truncate(trimmed);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::fmt_percent;

    #[test]
    fn csv_text_and_json_round_a_share_the_same_way() {
        // 21 of 400 is 5.25 %: half away from zero everywhere (5.3), not half to even (5.2).
        let p = percent(21, 400);
        assert_eq!(csv_pct(p), "5.3");
        assert_eq!(opt_round(p), json!(5.3));
        assert_eq!(fmt_percent(Lang::En, 5.25), "5.3%");
        assert_eq!(csv_pct(None), "");
    }
}
