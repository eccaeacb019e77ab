//! Rate limits of the gateway API: a token bucket per signing key and per client address.
//!
//! A request signed with `Custody-Key` (a read) is counted to its key once its signature has
//! verified, so nobody can spend another reader's allowance by naming that reader's key; a
//! signed request that fails authentication (401) is counted to a bucket of failed signed
//! requests of its client's address instead, and once that is empty the address's signed
//! requests are refused (forged signatures cost nothing to send but a verification to check).
//! Every other request (appends, whose records are signed but checked by the validator
//! later; proofs; the web desk) is counted to its client's address (an IPv6 address by its
//! /64 network, which one client usually holds whole). `/healthz` and `/metrics` are not
//! limited: they are cheap and monitoring needs them most when the gateway is busy.
//!
//! A bucket holds at most [`RateLimit::burst`] tokens and gains [`RateLimit::requests`] every
//! [`RateLimit::per`]; each request takes one. An empty bucket answers 429 `rate_limited` with
//! `Retry-After` (the whole seconds until a token is back); nothing of the request is read or
//! stored. `custody_gateway_rate_limited_total{by="key"|"address"}` counts the refusals.
//!
//! Behind a reverse proxy every request comes from the proxy's address: limit there, or
//! leave the address limit loose; the gateway trusts no `X-Forwarded-For`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use crate::metrics::Metrics;
use crate::GatewayError;

/// Most buckets kept at once; past it, buckets that have filled up again are forgotten, and if
/// none has, new clients share one overflow bucket until some have.
const MAX_BUCKETS: usize = 100_000;

/// The most requests or burst a limit may give (more is no limit at all).
const MAX_REQUESTS: u32 = 1_000_000;

/// A rate limit: `requests` per `per`, with bursts of up to `burst` requests. Written
/// `N/s`, `N/min` or `N/h`, optionally followed by `:BURST` (`20/s:40`, `600/min`); the burst
/// is `N` when not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Tokens added every [`RateLimit::per`].
    pub requests: u32,
    /// The period over which [`RateLimit::requests`] tokens are added.
    pub per: Duration,
    /// Most tokens a bucket holds: the longest run of requests sent at once.
    pub burst: u32,
}

/// A rate limit that cannot be used or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RateLimitError {
    /// The text is not of the form `N/s`, `N/min` or `N/h` with an optional `:BURST`.
    #[error("{0:?} is not a rate limit: write N/s, N/min or N/h, optionally followed by :BURST (e.g. 20/s:40)")]
    Syntax(String),
    /// A number is 0 or over 1,000,000, or the period is not from 1 s to a day.
    #[error("{name} is {given}: it must be from 1 to {MAX_REQUESTS}")]
    OutOfRange {
        /// `requests` or `burst`.
        name: &'static str,
        /// The value given.
        given: u64,
    },
    /// The period is shorter than a second or longer than a day.
    #[error("the period is {0:?}: it must be from 1 s to one day")]
    Period(Duration),
}

impl RateLimit {
    /// Checks that the limit lets requests through: `requests` and `burst` from 1 to
    /// 1,000,000, a period from 1 s to a day.
    pub fn validate(&self) -> Result<(), RateLimitError> {
        for (name, given) in [("requests", self.requests), ("burst", self.burst)] {
            if given == 0 || given > MAX_REQUESTS {
                return Err(RateLimitError::OutOfRange {
                    name,
                    given: u64::from(given),
                });
            }
        }
        if self.per < Duration::from_secs(1) || self.per > Duration::from_secs(86_400) {
            return Err(RateLimitError::Period(self.per));
        }
        Ok(())
    }

    /// Tokens gained per second.
    fn rate(&self) -> f64 {
        f64::from(self.requests) / self.per.as_secs_f64()
    }
}

impl FromStr for RateLimit {
    type Err = RateLimitError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let syntax = || RateLimitError::Syntax(crate::error::cap_echoes(text));
        let (rate, burst) = match text.trim().split_once(':') {
            Some((rate, burst)) => (rate, Some(burst)),
            None => (text.trim(), None),
        };
        let (n, unit) = rate.split_once('/').ok_or_else(syntax)?;
        let number = |s: &str, name: &'static str| -> Result<u32, RateLimitError> {
            let v: u64 = s.trim().parse().map_err(|_| syntax())?;
            u32::try_from(v)
                .ok()
                .filter(|v| (1..=MAX_REQUESTS).contains(v))
                .ok_or(RateLimitError::OutOfRange { name, given: v })
        };
        let requests = number(n, "requests")?;
        let per = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(syntax()),
        };
        let burst = match burst {
            Some(b) => number(b, "burst")?,
            None => requests,
        };
        let limit = RateLimit {
            requests,
            per,
            burst,
        };
        limit.validate()?;
        Ok(limit)
    }
}

impl std::fmt::Display for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = match self.per.as_secs() {
            1 => "s".to_string(),
            60 => "min".to_string(),
            3600 => "h".to_string(),
            n => format!("{n}s"),
        };
        write!(f, "{}/{unit}:{}", self.requests, self.burst)
    }
}

/// Whose bucket a request is counted to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Subject {
    /// A verified signing key (its `Custody-Key` value).
    Key(String),
    /// A client address (IPv6 by its /64).
    Address(IpAddr),
    /// The signed requests of a client address that failed authentication.
    FailedAuth(IpAddr),
    /// Requests without a known address (a router served without the serve loop).
    Unknown,
    /// New clients while the table is full.
    Overflow,
}

impl Subject {
    fn label(&self) -> &'static str {
        match self {
            Subject::Key(_) => "key",
            _ => "address",
        }
    }
}

fn address_subject(addr: Option<SocketAddr>) -> Subject {
    match addr.map(|a| a.ip()) {
        Some(IpAddr::V4(v4)) => Subject::Address(IpAddr::V4(v4)),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => Subject::Address(IpAddr::V4(v4)),
            None => {
                let mut s = v6.segments();
                s[4..].fill(0);
                Subject::Address(IpAddr::V6(s.into()))
            }
        },
        None => Subject::Unknown,
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets of one gateway.
#[derive(Debug)]
pub(crate) struct Limiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<Subject, Bucket>>,
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Limiter {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The bucket of `subject` refilled to `now` (created full), in a table kept bounded.
    fn with_bucket<T>(
        &self,
        subject: Subject,
        now: Instant,
        f: impl FnOnce(&mut Bucket) -> T,
    ) -> T {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let cap = f64::from(self.limit.burst);
        let rate = self.limit.rate();
        let mut subject = subject;
        if !buckets.contains_key(&subject) && buckets.len() >= MAX_BUCKETS {
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < cap);
            if buckets.len() >= MAX_BUCKETS {
                subject = Subject::Overflow;
            }
        }
        let bucket = buckets.entry(subject).or_insert(Bucket {
            tokens: cap,
            at: now,
        });
        let gained = now.duration_since(bucket.at).as_secs_f64() * rate;
        bucket.tokens = (bucket.tokens + gained).min(cap);
        bucket.at = now;
        f(bucket)
    }

    /// Takes a token from `subject`'s bucket, or says how long until one is back.
    fn take(&self, subject: Subject, now: Instant) -> Result<(), Duration> {
        let rate = self.limit.rate();
        self.with_bucket(subject, now, |b| {
            if b.tokens >= 1.0 {
                b.tokens -= 1.0;
                Ok(())
            } else {
                Err(Duration::from_secs_f64((1.0 - b.tokens) / rate))
            }
        })
    }

    /// How long until `subject`'s bucket has a token (zero when it has one); takes nothing.
    fn wait(&self, subject: Subject, now: Instant) -> Duration {
        let rate = self.limit.rate();
        self.with_bucket(subject, now, |b| {
            if b.tokens >= 1.0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64((1.0 - b.tokens) / rate)
            }
        })
    }
}

/// The rate limit middleware's state: the buckets and the counters.
#[derive(Clone)]
pub(crate) struct RateState {
    pub(crate) limiter: Option<Arc<Limiter>>,
    pub(crate) metrics: Arc<Metrics>,
}

/// The 429 answer, with `Retry-After` in whole seconds (at least 1).
fn refused(metrics: &Metrics, subject: &Subject, wait: Duration) -> Response {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    let by = subject.label();
    metrics.count_rate_limited(by);
    tracing::info!(by, retry_after = secs, "request refused by the rate limit");
    let whose = match subject {
        Subject::Key(_) => "this signing key",
        Subject::FailedAuth(_) => "this client address with a signature that did not verify",
        _ => "this client address",
    };
    let mut response = GatewayError::RateLimited(format!(
        "too many requests from {whose}: retry after {secs} s (nothing was read or stored)"
    ))
    .into_response();
    response
        .headers_mut()
        .insert(axum::http::header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

/// Applies the rate limit (see the module documentation) to every route but `/healthz` and
/// `/metrics`.
pub(crate) async fn rate_limit(State(st): State<RateState>, req: Request, next: Next) -> Response {
    let Some(limiter) = st.limiter.clone() else {
        return next.run(req).await;
    };
    let path = req.uri().path();
    if path == "/healthz" || path == "/metrics" {
        return next.run(req).await;
    }
    let address = address_subject(
        req.extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0),
    );
    let key = req
        .headers()
        .get("custody-key")
        .and_then(|v| v.to_str().ok())
        .map(|k| Subject::Key(k.trim().to_owned()));
    let now = Instant::now();
    let Some(key) = key else {
        if let Err(wait) = limiter.take(address.clone(), now) {
            return refused(&st.metrics, &address, wait);
        }
        return next.run(req).await;
    };
    // A signed request: refused if its key's bucket or its address's is empty (an address
    // whose signed requests keep failing), counted once its outcome is known.
    let wait = limiter.wait(key.clone(), now);
    if !wait.is_zero() {
        return refused(&st.metrics, &key, wait);
    }
    let failed = match &address {
        Subject::Address(ip) => Subject::FailedAuth(*ip),
        other => other.clone(),
    };
    let wait = limiter.wait(failed.clone(), now);
    if !wait.is_zero() {
        return refused(&st.metrics, &failed, wait);
    }
    let response = next.run(req).await;
    let charged = if response.status() == StatusCode::UNAUTHORIZED {
        failed
    } else {
        key
    };
    let _ = limiter.take(charged, Instant::now());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_and_are_checked() {
        let l: RateLimit = "20/s:40".parse().expect("valid");
        assert_eq!(
            l,
            RateLimit {
                requests: 20,
                per: Duration::from_secs(1),
                burst: 40
            }
        );
        let l: RateLimit = "600/min".parse().expect("valid");
        assert_eq!(
            (l.requests, l.per, l.burst),
            (600, Duration::from_secs(60), 600)
        );
        assert_eq!(l.to_string(), "600/min:600");
        for bad in [
            "",
            "20",
            "20/fortnight",
            "x/s",
            "0/s",
            "5/s:0",
            "20/s:",
            "2000000/s",
        ] {
            let err = bad.parse::<RateLimit>().expect_err(bad);
            assert!(!err.to_string().is_empty(), "{bad}");
        }
        assert!(matches!(
            "0/s".parse::<RateLimit>(),
            Err(RateLimitError::OutOfRange {
                name: "requests",
                given: 0
            })
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn buckets_refill_at_the_rate_and_cap_at_the_burst() {
        let limiter = Limiter::new("2/s:3".parse().expect("valid"));
        let a = Subject::Address("192.0.2.1".parse().expect("ip"));
        let b = Subject::Key("ed25519:abc".into());
        let now = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.take(a.clone(), now), Ok(()));
        }
        let wait = limiter.take(a.clone(), now).expect_err("empty");
        assert_eq!(wait, Duration::from_millis(500));
        // Another subject has its own bucket.
        assert_eq!(limiter.take(b.clone(), now), Ok(()));
        tokio::time::advance(Duration::from_millis(500)).await;
        assert_eq!(limiter.take(a.clone(), Instant::now()), Ok(()));
        assert!(limiter.take(a.clone(), Instant::now()).is_err());
        // Refilled for a long time: no more than the burst.
        tokio::time::advance(Duration::from_secs(3600)).await;
        let now = Instant::now();
        assert_eq!(limiter.wait(a.clone(), now), Duration::ZERO);
        for _ in 0..3 {
            assert_eq!(limiter.take(a.clone(), now), Ok(()));
        }
        assert!(limiter.take(a, now).is_err());
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let one = address_subject(Some("[2001:db8:1:2:aaaa::1]:5000".parse().expect("addr")));
        let two = address_subject(Some("[2001:db8:1:2:bbbb::9]:6000".parse().expect("addr")));
        let other = address_subject(Some("[2001:db8:1:3::1]:5000".parse().expect("addr")));
        assert_eq!(one, two);
        assert_ne!(one, other);
        let mapped = address_subject(Some("[::ffff:192.0.2.7]:1".parse().expect("addr")));
        assert_eq!(mapped, Subject::Address("192.0.2.7".parse().expect("ip")));
    }
}
