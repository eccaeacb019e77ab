//! A handful of hand-written Prometheus metrics (text exposition format 0.0.4).
//!
//! Counters live here; the ledger gauges (size, chains, chains in a custody gap) are read from
//! the validation state when `/metrics` is scraped, and the missing payloads from the ledger
//! (checked again against the store at each scrape). No label carries personal data: routes are
//! the matched templates (`/v1/chains/:chain`), never the concrete path.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Counters of one gateway.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    appends: Mutex<BTreeMap<&'static str, u64>>,
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    connections_open: AtomicU64,
    connections_closed: Mutex<BTreeMap<&'static str, u64>>,
    connection_limit_reached: AtomicU64,
    rate_limited: Mutex<BTreeMap<&'static str, u64>>,
}

/// The serve loop's connection events, counted.
impl custody_http::Observer for Metrics {
    fn connection_opened(&self) {
        self.connections_open.fetch_add(1, Ordering::Relaxed);
    }

    fn connection_ended(&self) {
        self.connections_open.fetch_sub(1, Ordering::Relaxed);
    }

    fn connection_timed_out(&self, reason: &'static str) {
        self.count_connection_closed(reason);
    }

    fn connection_limit_reached(&self) {
        self.count_connection_limit_reached();
    }
}

/// Gauges read from the ledger at scrape time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LedgerGauges {
    pub size: u64,
    pub chains: u64,
    pub chains_in_gap: u64,
    pub payloads_missing: u64,
    /// Fork alarms in the store's alarm log (`None`: the store did not answer).
    pub fork_alarms: Option<u64>,
    /// Records folded into the read model (the next ledger position it folds).
    pub projection_position: u64,
    /// Records of the ledger not yet folded into the read model (`None`: the store did not
    /// answer).
    pub projection_lag: Option<u64>,
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    pub(crate) fn count_append(&self, outcome: &'static str) {
        let mut m = self.appends.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry(outcome).or_default() += 1;
    }

    pub(crate) fn count_request(&self, route: &str, status: u16) {
        let mut m = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry((route.to_string(), status)).or_default() += 1;
    }

    /// A connection was closed by a time-out (`header_timeout`, `idle_timeout`).
    pub(crate) fn count_connection_closed(&self, reason: &'static str) {
        let mut m = self
            .connections_closed
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        *m.entry(reason).or_default() += 1;
    }

    /// A request was refused (429) by the rate limit, `by` a signing key's bucket (`key`) or
    /// a client address's (`address`).
    pub(crate) fn count_rate_limited(&self, by: &'static str) {
        let mut m = self.rate_limited.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry(by).or_default() += 1;
    }

    /// The accept loop found every connection slot taken.
    pub(crate) fn count_connection_limit_reached(&self) {
        self.connection_limit_reached
            .fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn render(&self, gauges: LedgerGauges) -> String {
        let mut out = String::new();
        out.push_str("# HELP custody_gateway_appends_total Append requests by outcome.\n");
        out.push_str("# TYPE custody_gateway_appends_total counter\n");
        {
            let m = self.appends.lock().unwrap_or_else(|p| p.into_inner());
            for (outcome, n) in m.iter() {
                let _ = writeln!(
                    out,
                    "custody_gateway_appends_total{{outcome=\"{}\"}} {n}",
                    escape(outcome)
                );
            }
        }
        out.push_str(
            "# HELP custody_gateway_http_requests_total HTTP requests by route and status.\n",
        );
        out.push_str("# TYPE custody_gateway_http_requests_total counter\n");
        {
            let m = self.requests.lock().unwrap_or_else(|p| p.into_inner());
            for ((route, status), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "custody_gateway_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
        }
        out.push_str("# HELP custody_gateway_connections_closed_total Connections closed by a time-out, by reason.\n");
        out.push_str("# TYPE custody_gateway_connections_closed_total counter\n");
        {
            let m = self
                .connections_closed
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            for (reason, n) in m.iter() {
                let _ = writeln!(
                    out,
                    "custody_gateway_connections_closed_total{{reason=\"{}\"}} {n}",
                    escape(reason)
                );
            }
        }
        out.push_str("# HELP custody_gateway_rate_limited_total Requests refused with 429 by the rate limit, by bucket (key: a signing key; address: a client address).\n");
        out.push_str("# TYPE custody_gateway_rate_limited_total counter\n");
        {
            let m = self.rate_limited.lock().unwrap_or_else(|p| p.into_inner());
            for (by, n) in m.iter() {
                let _ = writeln!(
                    out,
                    "custody_gateway_rate_limited_total{{by=\"{}\"}} {n}",
                    escape(by)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP custody_gateway_connection_limit_reached_total Times a new connection had to wait for a free slot.\n\
             # TYPE custody_gateway_connection_limit_reached_total counter\n\
             custody_gateway_connection_limit_reached_total {}",
            self.connection_limit_reached.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP custody_gateway_connections_open Open HTTP connections.\n\
             # TYPE custody_gateway_connections_open gauge\n\
             custody_gateway_connections_open {}",
            self.connections_open.load(Ordering::Relaxed)
        );
        let gauges_list = [
            (
                "custody_ledger_size",
                "Records in the ledger, as this gateway's validation state knows it.",
                gauges.size,
            ),
            ("custody_ledger_chains", "Detainee chains.", gauges.chains),
            (
                "custody_ledger_chains_in_custody_gap",
                "Detainee chains with a custody release not yet accepted by anyone.",
                gauges.chains_in_gap,
            ),
            (
                "custody_ledger_payloads_missing",
                "Stored records whose payload is neither in the store nor lawfully redacted: lost data to complete by sending the records again.",
                gauges.payloads_missing,
            ),
        ];
        let forks = gauges.fork_alarms;
        for (name, help, value) in gauges_list {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP custody_projection_position Records folded into the read model of the views (the next ledger position it folds).\n\
             # TYPE custody_projection_position gauge\n\
             custody_projection_position {}",
            gauges.projection_position
        );
        if let Some(lag) = gauges.projection_lag {
            let _ = writeln!(
                out,
                "# HELP custody_projection_lag_events Records of the ledger not yet folded into the read model of the views (ledger size minus custody_projection_position).\n\
                 # TYPE custody_projection_lag_events gauge\n\
                 custody_projection_lag_events {lag}"
            );
        }
        if let Some(n) = forks {
            let _ = writeln!(
                out,
                "# HELP custody_ledger_fork_alarms Fork alarms kept: two different validly signed records at one place of a chain (tampering, or one chain written at two posts). Anything but 0 must be investigated.\n\
                 # TYPE custody_ledger_fork_alarms gauge\n\
                 custody_ledger_fork_alarms {n}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_gauges() {
        let m = Metrics::default();
        m.count_append("appended");
        m.count_append("appended");
        m.count_request("/v1/events", 201);
        m.count_connection_closed("idle_timeout");
        custody_http::Observer::connection_opened(&m);
        m.count_rate_limited("key");
        let text = m.render(LedgerGauges {
            size: 7,
            chains: 2,
            chains_in_gap: 1,
            payloads_missing: 3,
            fork_alarms: Some(2),
            projection_position: 5,
            projection_lag: Some(2),
        });
        assert!(text.contains("custody_projection_position 5\n"));
        assert!(text.contains("custody_projection_lag_events 2\n"));
        assert!(text.contains("custody_ledger_fork_alarms 2\n"));
        assert!(text.contains("custody_gateway_appends_total{outcome=\"appended\"} 2\n"));
        assert!(text.contains(
            "custody_gateway_http_requests_total{route=\"/v1/events\",status=\"201\"} 1\n"
        ));
        assert!(text.contains("custody_ledger_size 7\n"));
        assert!(text.contains("custody_gateway_connections_open 1\n"));
        assert!(
            text.contains("custody_gateway_connections_closed_total{reason=\"idle_timeout\"} 1\n")
        );
        assert!(text.contains("custody_gateway_rate_limited_total{by=\"key\"} 1\n"));
        custody_http::Observer::connection_ended(&m);
        assert!(m
            .render(LedgerGauges {
                size: 7,
                chains: 2,
                chains_in_gap: 1,
                payloads_missing: 3,
                fork_alarms: None,
                projection_position: 0,
                projection_lag: None,
            })
            .contains("custody_gateway_connections_open 0\n"));
        assert!(text.contains("custody_ledger_chains_in_custody_gap 1\n"));
        assert!(text.contains("custody_ledger_payloads_missing 3\n"));
        assert_eq!(escape("a\"b\\c"), "a\\\"b\\\\c");
    }
}
