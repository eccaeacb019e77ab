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

/// How a child process ended, with what it wrote on standard error.
pub struct Ended {
    code: Option<i32>,
    /// Its standard error, as text.
    pub stderr: String,
}

impl Ended {
    /// Exit status 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// Waits for `child` (its standard error piped) and returns how it ended and its peak resident
/// memory in KiB (`ru_maxrss` of `wait4`: the kernel's own high-water mark of that process,
/// read when it ends, so nothing is missed between two samples).
#[allow(unsafe_code)]
pub fn wait_with_peak(mut child: std::process::Child) -> anyhow::Result<(Ended, u64)> {
    use std::io::Read;
    let mut stderr = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.read_to_string(&mut text);
        }
        text
    });
    let pid = libc::pid_t::try_from(child.id())?;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of that plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet waited for (std's Child never reaps on its own);
    // both pointers are to live locals of the right types.
    let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if got != pid {
        anyhow::bail!("wait4({pid}) failed: {}", std::io::Error::last_os_error());
    }
    let code = if libc::WIFEXITED(status) {
        Some(libc::WEXITSTATUS(status))
    } else {
        None
    };
    let stderr = reader.join().unwrap_or_default();
    Ok((
        Ended { code, stderr },
        u64::try_from(usage.ru_maxrss).unwrap_or(0),
    ))
}

/// The `custody` binary beside this harness (`cargo build --release -p custody-cli -p
/// custody-bench` puts both in `target/release/`).
pub fn custody_binary() -> anyhow::Result<std::path::PathBuf> {
    use anyhow::Context;
    let exe = std::env::current_exe().context("cannot find this harness's own path")?;
    let custody = exe.with_file_name("custody");
    if !custody.is_file() {
        anyhow::bail!(
            "{} is missing: build it beside the harness (cargo build --release -p custody-cli -p custody-bench)",
            custody.display()
        );
    }
    Ok(custody)
}

/// One child process's wall time and peak memory.
#[derive(Clone, Copy, Debug)]
pub struct Timed {
    /// Wall-clock seconds from spawn to exit.
    pub secs: f64,
    /// Its peak resident memory, KiB.
    pub peak_kib: u64,
}

/// Runs `custody --store STORE --quiet ARGS`; fails with its standard error when it fails.
pub fn run_custody(
    custody: &std::path::Path,
    store: impl AsRef<std::ffi::OsStr>,
    args: &[&str],
) -> anyhow::Result<Timed> {
    let start = std::time::Instant::now();
    let child = std::process::Command::new(custody)
        .arg("--store")
        .arg(store)
        .arg("--quiet")
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot run {}: {e}", custody.display()))?;
    let pid = child.id();
    let (status, peak_kib) = wait_with_peak(child)?;
    let secs = start.elapsed().as_secs_f64();
    if !status.success() {
        anyhow::bail!("custody {args:?} (pid {pid}) failed: {}", status.stderr);
    }
    Ok(Timed { secs, peak_kib })
}

/// Writes a key file (`custody keygen`'s format), mode 0600.
pub fn write_key_file(path: &std::path::Path, key: &custody_core::SecretKey) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let doc = serde_json::json!({
        "type": "custody-ledger/ed25519-secret-key",
        "public": key.public().to_string(),
        "seed": custody_core::encoding::b64url(&key.seed()),
    });
    std::fs::write(path, serde_json::to_string_pretty(&doc)?)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
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
