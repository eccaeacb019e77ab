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

use custody_core::Timestamp;
use serde::{Deserialize, Serialize};

use crate::calendar::plus_months;
use crate::i18n::MessageId;

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
        let mut bucket = AgeBucket::Under1Month;
        for b in AgeBucket::ALL {
            if b.from_months() == 0 || plus_months(start, b.from_months()) <= *at {
                bucket = b;
            }
        }
        bucket
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
