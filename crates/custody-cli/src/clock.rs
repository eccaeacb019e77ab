//! The few impure inputs of signing: the clock, salts and new chain ids.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use custody_core::ids::detainee_chain_id;
use custody_core::record::MIN_SALT_BYTES;
use custody_core::Timestamp;

/// Milliseconds since the Unix epoch.
fn now_millis() -> anyhow::Result<u128> {
    Ok(SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the system clock is before 1970: set the clock")?
        .as_millis())
}

/// Now, in whole seconds (the form written into `recorded_at`).
pub fn now() -> anyhow::Result<Timestamp> {
    let secs = i64::try_from(now_millis()? / 1000).context("the system clock is out of range")?;
    Ok(Timestamp::from_unix_seconds(secs))
}

/// Seconds in a day.
const DAY: i64 = 86_400;

/// Today, 00:00:00 UTC.
pub fn today() -> anyhow::Result<Timestamp> {
    let now = now()?.unix_seconds();
    Ok(Timestamp::from_unix_seconds(now - now.rem_euclid(DAY)))
}

/// Parses a `--flag` day `YYYY-MM-DD` (UTC) into its midnight, naming the flag on error.
pub fn parse_day(flag: &str, text: &str) -> anyhow::Result<Timestamp> {
    let well_formed = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    let day = well_formed
        .then(|| Timestamp::parse(&format!("{text}T00:00:00Z")).ok())
        .flatten();
    day.ok_or_else(|| {
        anyhow::anyhow!(
            "--{flag} {text:?} n'est pas une date AAAA-MM-JJ valide, par exemple 2026-03-15"
        )
    })
}

/// Fills a buffer from the operating system's random generator.
pub fn random_bytes(buf: &mut [u8]) -> anyhow::Result<()> {
    getrandom::getrandom(buf)
        .map_err(|e| anyhow::anyhow!("the system random generator failed: {e}"))
}

/// A fresh payload salt of [`MIN_SALT_BYTES`] random bytes.
pub fn salt() -> anyhow::Result<[u8; MIN_SALT_BYTES]> {
    let mut salt = [0u8; MIN_SALT_BYTES];
    random_bytes(&mut salt)?;
    Ok(salt)
}

/// A new detainee chain id `d-<ulid>`: 48 bits of the current time in milliseconds, then 80
/// random bits, so that posts without network create ids without coordination.
pub fn new_chain_id() -> anyhow::Result<String> {
    let millis = now_millis()? & ((1u128 << 48) - 1);
    let mut random = [0u8; 10];
    random_bytes(&mut random)?;
    let mut low = [0u8; 16];
    low[6..].copy_from_slice(&random);
    Ok(detainee_chain_id((millis << 80) | u128::from_be_bytes(low)))
}

/// Parses a `--flag` timestamp, naming the flag on error.
pub fn parse_time(flag: &str, text: &str) -> anyhow::Result<Timestamp> {
    Timestamp::parse(text).map_err(|e| anyhow::anyhow!("--{flag}: {e}, e.g. 2024-05-01T08:30:00Z"))
}

/// A span of seconds in words, its sign dropped: `5 h 03 min`, `12 min`, `40 s`.
pub fn span(secs: i64) -> String {
    let secs = secs.unsigned_abs();
    let (h, m) = (secs / 3600, (secs % 3600) / 60);
    match (h, m) {
        (0, 0) => format!("{secs} s"),
        (0, m) => format!("{m} min"),
        (h, m) => format!("{h} h {m:02} min"),
    }
}

/// What to do about a record refused here because of a clock, when the refusal may be one:
/// a key "not yet valid" at a record's `recorded_at` (this machine's clock behind the key's
/// enrolment), a record "in the future" (the clock of the machine that signed it ahead).
/// `None` for any other refusal.
pub fn refusal_hint(e: &custody_core::ValidationError) -> Option<String> {
    use custody_core::ValidationError as V;
    let now = now().ok()?;
    match e {
        V::KeyNotYetValid { at, from, .. } => Some(format!(
            "the key becomes valid {} after this record's recorded_at; this machine's clock reads {now}: if the key was enrolled before now, the clock that signed the record is behind (likely this machine's): set it (NTP, or `date -s` from a trusted clock) and record again",
            span(from.unix_seconds() - at.unix_seconds())
        )),
        V::InFuture { recorded, now, .. } => Some(format!(
            "the record is {} ahead of this clock ({now}): the clock of the machine that signed it was ahead: set that machine's clock (NTP, or `date -s` from a trusted clock); a record already signed is accepted once this clock passes its recorded_at",
            span(recorded.unix_seconds() - now.unix_seconds())
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_as_hours_and_minutes() {
        assert_eq!(span(5 * 3600), "5 h 00 min");
        assert_eq!(span(-(5 * 3600 + 3 * 60 + 10)), "5 h 03 min");
        assert_eq!(span(12 * 60 + 5), "12 min");
        assert_eq!(span(40), "40 s");
    }

    #[test]
    fn days_parse_to_midnight_and_bad_days_are_named() {
        assert_eq!(
            parse_day("as-of", "2026-03-15").unwrap().as_str(),
            "2026-03-15T00:00:00Z"
        );
        for bad in [
            "2026-02-30",
            "2026-3-15",
            "15/03/2026",
            "2026-03-15T00:00:00Z",
            "",
        ] {
            let err = parse_day("as-of", bad).unwrap_err().to_string();
            assert!(
                err.contains("--as-of") && err.contains("AAAA-MM-JJ"),
                "{bad}: {err}"
            );
        }
        let today = today().unwrap();
        assert!(today.as_str().ends_with("T00:00:00Z"), "{today:?}");
        assert!(today <= now().unwrap());
    }

    #[test]
    fn chain_ids_are_valid_and_distinct() {
        let a = new_chain_id().unwrap();
        let b = new_chain_id().unwrap();
        assert!(custody_core::ids::is_detainee_chain_id(&a), "{a}");
        assert_ne!(a, b);
    }
}
