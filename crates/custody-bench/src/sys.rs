//! What the harness reads from the machine: memory high-water marks, load, the clock.

use std::fs;
use std::time::{SystemTime, UNIX_EPOCH};

use custody_core::Timestamp;

/// A `kB` field of a `/proc/<pid>/status` file (`VmHWM`, `VmRSS`), in KiB.
pub fn status_kib(pid: &str, field: &str) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// CPU time (user + system) a process has used so far, in seconds: `pid` is a number or
/// `self`. Reads `/proc/<pid>/stat` (fields 14 and 15, in clock ticks of 1/100 s).
pub fn cpu_seconds(pid: &str) -> Option<f64> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / CLOCK_TICKS_PER_SECOND)
}

/// CPU time (user + system) of this process's children that have ended and been waited for,
/// in seconds (`/proc/self/stat` fields 16 and 17).
pub fn children_cpu_seconds() -> Option<f64> {
    let text = fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let cutime: u64 = fields.nth(13)?.parse().ok()?;
    let cstime: u64 = fields.next()?.parse().ok()?;
    Some((cutime + cstime) as f64 / CLOCK_TICKS_PER_SECOND)
}

/// `sysconf(_SC_CLK_TCK)`, 100 on every Linux architecture this runs on.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// The 1-minute load average (other builds share the machine).
pub fn load_average() -> Option<f64> {
    fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Number of CPUs this process may run on.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The system clock as a record timestamp (whole seconds), for the future-time rule.
pub fn now() -> Timestamp {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    Timestamp::from_unix_seconds(secs)
}

/// A number rounded to an integer, with thousands separators, e.g. `12,345`.
pub fn thousands(v: f64) -> String {
    let n = v.round().max(0.0) as u64;
    let digits = n.to_string();
    let lead = digits.len() % 3;
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && i % 3 == lead {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// KiB as MiB with one decimal.
pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1000.0), "1,000");
        assert_eq!(thousands(123456.0), "123,456");
        assert_eq!(thousands(1234567.0), "1,234,567");
    }

    #[test]
    fn own_cpu_time_grows_with_work() {
        let before = cpu_seconds("self").expect("own /proc stat");
        let mut x = 0u64;
        let start = std::time::Instant::now();
        let mut after = before;
        // Busy until the clock-tick counter moves (bounded, however loaded the machine is).
        while after <= before && start.elapsed() < std::time::Duration::from_secs(30) {
            for _ in 0..1_000_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
            after = cpu_seconds("self").expect("own /proc stat");
        }
        assert!(after > before, "{before} -> {after}");
    }

    #[test]
    fn own_status_has_a_high_water_mark() {
        assert!(status_kib("self", "VmHWM").is_some_and(|k| k > 0));
    }
}
