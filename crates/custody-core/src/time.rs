//! Timestamps: RFC 3339 in UTC with a literal `Z`, kept exactly as written.
//!
//! Accepted form: `YYYY-MM-DDTHH:MM:SS` then an optional `.` and 1 to 9 digits, then `Z`
//! (uppercase `T` and `Z`; years 0001-9999; no leap second). The original text is what is
//! hashed; the parsed instant is what is compared.

use std::cmp::Ordering;
use std::fmt;

/// A validated UTC timestamp with its original spelling.
#[derive(Clone, Debug, Eq)]
pub struct Timestamp {
    text: String,
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    nanos: i128,
}

/// Why a timestamp was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("timestamp {0:?} is not RFC 3339 UTC of the form YYYY-MM-DDTHH:MM:SS[.fraction]Z")]
pub struct TimestampError(pub String);

impl Timestamp {
    /// Parses and validates a timestamp.
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        let err = || TimestampError(text.to_string());
        let b = text.as_bytes();
        if b.len() < 20 || *b.last().ok_or_else(err)? != b'Z' {
            return Err(err());
        }
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let s = b.get(r)?;
            if !s.iter().all(u8::is_ascii_digit) {
                return None;
            }
            std::str::from_utf8(s).ok()?.parse().ok()
        };
        if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
            return Err(err());
        }
        let (year, month, day) = (num(0..4), num(5..7), num(8..10));
        let (hour, min, sec) = (num(11..13), num(14..16), num(17..19));
        let (Some(year), Some(month), Some(day), Some(hour), Some(min), Some(sec)) =
            (year, month, day, hour, min, sec)
        else {
            return Err(err());
        };
        let mut frac_nanos: i64 = 0;
        let rest = &b[19..b.len() - 1];
        if !rest.is_empty() {
            if rest[0] != b'.' || rest.len() < 2 || rest.len() > 10 {
                return Err(err());
            }
            let digits = &rest[1..];
            if !digits.iter().all(u8::is_ascii_digit) {
                return Err(err());
            }
            for i in 0..9 {
                frac_nanos = frac_nanos * 10 + digits.get(i).map_or(0, |d| i64::from(d - b'0'));
            }
        }
        if year < 1
            || !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || min > 59
            || sec > 59
        {
            return Err(err());
        }
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + hour * 3600 + min * 60 + sec;
        Ok(Timestamp {
            text: text.to_string(),
            nanos: i128::from(secs) * 1_000_000_000 + i128::from(frac_nanos),
        })
    }

    /// Builds the timestamp for a number of whole seconds since the Unix epoch, written without
    /// a fraction.
    pub fn from_unix_seconds(secs: i64) -> Self {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let text = format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            rem / 3600,
            (rem % 3600) / 60,
            rem % 60
        );
        Timestamp {
            text,
            nanos: i128::from(secs) * 1_000_000_000,
        }
    }

    /// The timestamp as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Nanoseconds since the Unix epoch.
    pub fn unix_nanos(&self) -> i128 {
        self.nanos
    }

    /// Whole seconds since the Unix epoch (rounded down).
    pub fn unix_seconds(&self) -> i64 {
        // Years 1-9999 keep this well inside i64.
        self.nanos.div_euclid(1_000_000_000) as i64
    }

    /// This instant moved by a number of seconds (written without a fraction).
    pub fn plus_seconds(&self, secs: i64) -> Self {
        Self::from_unix_seconds(self.unix_seconds() + secs)
    }
}

impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s).map_err(serde::de::Error::custom)
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders() {
        let a = Timestamp::parse("2019-12-31T23:59:59Z").unwrap();
        let b = Timestamp::parse("2020-01-01T00:00:00.5Z").unwrap();
        assert!(a < b);
        assert_eq!(a.unix_seconds(), 1_577_836_799);
        assert_eq!(b.unix_nanos() - a.unix_nanos(), 1_500_000_000);
    }

    #[test]
    fn refuses_other_spellings() {
        for bad in [
            "2020-01-01T00:00:00",
            "2020-01-01T00:00:00+00:00",
            "2020-01-01t00:00:00Z",
            "2020-01-01 00:00:00Z",
            "2020-02-30T00:00:00Z",
            "2019-02-29T00:00:00Z",
            "2020-01-01T24:00:00Z",
            "2020-01-01T00:00:60Z",
            "2020-01-01T00:00:00.Z",
            "2020-01-01T00:00:00.1234567890Z",
            "0000-01-01T00:00:00Z",
            "+020-01-01T00:00:00Z",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad} accepted");
        }
        assert!(Timestamp::parse("2020-02-29T00:00:00Z").is_ok());
    }

    #[test]
    fn unix_round_trip() {
        for secs in [0i64, 1_577_836_799, 951_782_400, -86_400, 4_102_444_800] {
            let t = Timestamp::from_unix_seconds(secs);
            let again = Timestamp::parse(t.as_str()).unwrap();
            assert_eq!(again.unix_seconds(), secs, "{}", t.as_str());
        }
    }
}
