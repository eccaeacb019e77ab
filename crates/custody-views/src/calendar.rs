//! Civil dates and a working-day calendar loaded from `deploy/policy/calendar/` (one file per
//! year: the weekend days and the public holidays, some of them estimated because they depend on
//! the sighting of the moon).
//!
//! Mali keeps UTC all year (no daylight saving time), so the civil date of an instant is its UTC
//! date. Every computation here is pure: the calendar is data, loaded once.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use custody_core::Timestamp;
use serde::Deserialize;

/// A day of the week.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    /// Monday.
    Monday,
    /// Tuesday.
    Tuesday,
    /// Wednesday.
    Wednesday,
    /// Thursday.
    Thursday,
    /// Friday.
    Friday,
    /// Saturday.
    Saturday,
    /// Sunday.
    Sunday,
}

/// A civil date of the proleptic Gregorian calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

impl Date {
    /// A date, if it exists (years 1-9999).
    pub fn new(year: i32, month: u8, day: u8) -> Option<Date> {
        let ok = (1..=9999).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month);
        ok.then_some(Date { year, month, day })
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Option<Date> {
        let b = text.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<i32> {
            let s = text.get(r)?;
            s.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| s.parse().ok())?
        };
        let month = u8::try_from(num(5..7)?).ok()?;
        let day = u8::try_from(num(8..10)?).ok()?;
        Date::new(num(0..4)?, month, day)
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// The month (1-12).
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day of the month.
    pub fn day(self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01 (H. Hinnant's `days_from_civil`).
    pub fn days_since_epoch(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let mp = if m > 2 { m - 3 } else { m + 9 };
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date that many days after 1970-01-01 (H. Hinnant's `civil_from_days`).
    pub fn from_days_since_epoch(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    /// The civil (UTC) date of an instant.
    pub fn of(at: &Timestamp) -> Date {
        Date::from_days_since_epoch(at.unix_seconds().div_euclid(86_400))
    }

    /// Midnight UTC at the start of this date.
    pub fn start(self) -> Timestamp {
        Timestamp::from_unix_seconds(self.days_since_epoch() * 86_400)
    }

    /// The date `n` days later (earlier if negative).
    pub fn plus_days(self, n: i64) -> Date {
        Date::from_days_since_epoch(self.days_since_epoch() + n)
    }

    /// The day of the week.
    pub fn weekday(self) -> Weekday {
        // 1970-01-01 was a Thursday.
        match self.days_since_epoch().rem_euclid(7) {
            0 => Weekday::Thursday,
            1 => Weekday::Friday,
            2 => Weekday::Saturday,
            3 => Weekday::Sunday,
            4 => Weekday::Monday,
            5 => Weekday::Tuesday,
            _ => Weekday::Wednesday,
        }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// An instant moved by a number of calendar months, at the same time of day: the same day of
/// the month, or the last day of the target month when it is shorter (31 January plus one month
/// is 28 or 29 February).
pub fn plus_months(at: &Timestamp, months: u32) -> Timestamp {
    Timestamp::from_unix_seconds(plus_months_unix(at, months))
}

/// [`plus_months`] as Unix seconds, without building a timestamp (the backlog takes it for
/// every detainee of every query).
pub fn plus_months_unix(at: &Timestamp, months: u32) -> i64 {
    let date = Date::of(at);
    let secs_of_day = at.unix_seconds().rem_euclid(86_400);
    let index = i64::from(date.year) * 12 + i64::from(date.month) - 1 + i64::from(months);
    let year = index.div_euclid(12) as i32;
    let month = (index.rem_euclid(12) + 1) as u8;
    let day = date.day.min(days_in_month(year, month));
    let target = Date { year, month, day };
    target.days_since_epoch() * 86_400 + secs_of_day
}

/// Why a calendar could not be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// A file could not be read.
    #[error("{file}: {source}")]
    Read {
        /// The file.
        file: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file is not a valid calendar (an unknown key, a missing one, a bad value).
    #[error("{file}: {message}")]
    Parse {
        /// The file.
        file: PathBuf,
        /// What is wrong, naming the key.
        message: String,
    },
    /// Two files describe the same year.
    #[error("{file}: year {year} is already described by another calendar file")]
    DuplicateYear {
        /// The second file.
        file: PathBuf,
        /// The year.
        year: i32,
    },
    /// A computation reached a year no calendar file describes: its holidays are unknown, so no
    /// working day can be counted there.
    #[error("no calendar file for year {0}: add deploy/policy/calendar/ml-{0}.toml")]
    YearNotCovered(i32),
    /// The calendar is of another jurisdiction than the rule set it is used with.
    #[error("the calendar is of jurisdiction {calendar:?}, the rule set of {policy:?}")]
    OtherJurisdiction {
        /// The calendar's jurisdiction.
        calendar: String,
        /// The rule set's.
        policy: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    jurisdiction: String,
    year: i32,
    weekend: Vec<Weekday>,
    #[serde(default)]
    holiday: Vec<HolidayFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HolidayFile {
    date: toml::value::Datetime,
    name: String,
    #[serde(default)]
    estimated: bool,
}

/// A public holiday.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holiday {
    /// Its date.
    pub date: Date,
    /// Its name, as the file writes it.
    pub name: String,
    /// Whether the date is an estimate (a holiday fixed by the sighting of the moon): every
    /// count that crosses it says so.
    pub estimated: bool,
}

#[derive(Clone, Debug)]
struct Year {
    weekend: BTreeSet<Weekday>,
    holidays: BTreeMap<Date, Holiday>,
}

/// Working days and public holidays, one year per file.
#[derive(Clone, Debug, Default)]
pub struct Calendar {
    jurisdiction: String,
    years: BTreeMap<i32, Year>,
}

/// Reads a TOML date that must be a plain date (no time, no offset).
pub(crate) fn toml_date(value: &toml::value::Datetime, key: &str) -> Result<Date, String> {
    match (value.date, value.time, value.offset) {
        (Some(d), None, None) => Date::new(i32::from(d.year), d.month, d.day)
            .ok_or_else(|| format!("{key}: {value} is not a date")),
        _ => Err(format!(
            "{key}: {value} must be a plain date (YYYY-MM-DD), without time or offset"
        )),
    }
}

impl Calendar {
    /// Loads every `*.toml` file of a directory, one year each.
    pub fn load_dir(dir: &Path) -> Result<Calendar, CalendarError> {
        let read_err = |source| CalendarError::Read {
            file: dir.to_path_buf(),
            source,
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(read_err)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        let mut calendar = Calendar::default();
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(|source| CalendarError::Read {
                file: file.clone(),
                source,
            })?;
            calendar.add_year(&file, &text)?;
        }
        Ok(calendar)
    }

    /// Adds one year from the text of its file (`file` names it in errors).
    pub fn add_year(&mut self, file: &Path, text: &str) -> Result<(), CalendarError> {
        let parse = |message: String| CalendarError::Parse {
            file: file.to_path_buf(),
            message,
        };
        let y: YearFile = toml::from_str(text).map_err(|e| parse(e.to_string()))?;
        if Date::new(y.year, 1, 1).is_none() {
            return Err(parse(format!("year: {} is not a year", y.year)));
        }
        if self.jurisdiction.is_empty() {
            self.jurisdiction = y.jurisdiction.clone();
        } else if self.jurisdiction != y.jurisdiction {
            return Err(parse(format!(
                "jurisdiction: {:?} differs from {:?} of the other calendar files",
                y.jurisdiction, self.jurisdiction
            )));
        }
        if self.years.contains_key(&y.year) {
            return Err(CalendarError::DuplicateYear {
                file: file.to_path_buf(),
                year: y.year,
            });
        }
        let mut holidays = BTreeMap::new();
        for h in y.holiday {
            let date = toml_date(&h.date, "holiday.date").map_err(parse)?;
            if date.year != y.year {
                return Err(parse(format!(
                    "holiday.date: {date} ({}) is not in year {}",
                    h.name, y.year
                )));
            }
            if holidays.contains_key(&date) {
                return Err(parse(format!("holiday.date: {date} is listed twice")));
            }
            holidays.insert(
                date,
                Holiday {
                    date,
                    name: h.name,
                    estimated: h.estimated,
                },
            );
        }
        let year = Year {
            weekend: y.weekend.into_iter().collect(),
            holidays,
        };
        self.years.insert(y.year, year);
        Ok(())
    }

    /// The jurisdiction the calendar files name.
    pub fn jurisdiction(&self) -> &str {
        &self.jurisdiction
    }

    /// The years described.
    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.keys().copied()
    }

    fn year(&self, date: Date) -> Result<&Year, CalendarError> {
        self.years
            .get(&date.year)
            .ok_or(CalendarError::YearNotCovered(date.year))
    }

    /// The public holiday on a date, if any.
    pub fn holiday(&self, date: Date) -> Result<Option<&Holiday>, CalendarError> {
        Ok(self.year(date)?.holidays.get(&date))
    }

    /// Whether a date is a working day: neither a weekend day nor a public holiday.
    pub fn is_working_day(&self, date: Date) -> Result<bool, CalendarError> {
        let year = self.year(date)?;
        Ok(!year.weekend.contains(&date.weekday()) && !year.holidays.contains_key(&date))
    }

    /// The `n`-th working day after `date` (before it when `n` is negative); `date` itself when
    /// `n` is 0. `date` itself is never counted: one working day after a Friday is the next
    /// Monday, one working day before a Monday the previous Friday (without holidays).
    pub fn add_working_days(&self, date: Date, n: i64) -> Result<Date, CalendarError> {
        Ok(self.walk_working_days(date, n)?.0)
    }

    /// As [`Calendar::add_working_days`], with the estimated holidays skipped on the way (a
    /// result that depends on the sighting of the moon).
    pub fn walk_working_days(
        &self,
        date: Date,
        n: i64,
    ) -> Result<(Date, Vec<Holiday>), CalendarError> {
        let step = n.signum();
        let mut left = n.abs();
        let mut day = date;
        let mut estimated = Vec::new();
        while left > 0 {
            day = day.plus_days(step);
            if self.is_working_day(day)? {
                left -= 1;
            } else if let Some(h) = self.holiday(day)? {
                if h.estimated {
                    estimated.push(h.clone());
                }
            }
        }
        Ok((day, estimated))
    }

    /// The number of working days `d` with `from <= d < to` (0 when `to <= from`).
    pub fn working_days_between(&self, from: Date, to: Date) -> Result<u32, CalendarError> {
        let mut count = 0;
        let mut day = from;
        while day < to {
            if self.is_working_day(day)? {
                count += 1;
            }
            day = day.plus_days(1);
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_weekdays() {
        assert_eq!(Date::new(1970, 1, 1).map(Date::days_since_epoch), Some(0));
        // 30 years of 365 days and 7 leap days (1972 ... 1996), then January and February 2000
        // (31 + 29): 10957 + 60 = 11017.
        assert_eq!(
            Date::new(2000, 3, 1).map(Date::days_since_epoch),
            Some(11_017)
        );
        assert_eq!(
            Date::parse("2026-03-26").map(Date::weekday),
            Some(Weekday::Thursday)
        );
        assert_eq!(
            Date::parse("2026-03-28").map(Date::weekday),
            Some(Weekday::Saturday)
        );
        assert_eq!(Date::parse("2026-02-29"), None);
        assert_eq!(
            Date::parse("2024-02-29").map(|d| d.to_string()).as_deref(),
            Some("2024-02-29")
        );
        assert_eq!(Date::parse("2026-3-26"), None);
        assert_eq!(Date::parse("2026-13-01"), None);
        for days in -700_000..1_000_000 {
            let d = Date::from_days_since_epoch(days);
            assert_eq!(d.days_since_epoch(), days);
            assert_eq!(Date::new(d.year(), d.month(), d.day()), Some(d));
        }
    }

    #[test]
    fn months() {
        let t = |s: &str| Timestamp::parse(s).unwrap();
        // 29 February + 12 months: 28 February of the next year.
        assert_eq!(
            plus_months(&t("2024-02-29T07:30:00Z"), 12),
            t("2025-02-28T07:30:00Z")
        );
        assert_eq!(
            plus_months(&t("2025-11-30T00:00:00Z"), 3),
            t("2026-02-28T00:00:00Z")
        );
        assert_eq!(
            plus_months(&t("2025-12-15T23:59:59Z"), 1),
            t("2026-01-15T23:59:59Z")
        );
        assert_eq!(
            plus_months(&t("2025-12-15T23:59:59Z"), 0),
            t("2025-12-15T23:59:59Z")
        );
    }
}
