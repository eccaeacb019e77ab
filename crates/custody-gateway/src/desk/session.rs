//! Sign-in codes and browser sessions of the web desk, kept in memory.
//!
//! A *sign-in code* is issued to a key that signed `POST /v1/desk/sign-in`: 256 random bits,
//! usable once, for [`CODE_LIFETIME_SECS`]. Opening the link with the code in a browser trades
//! it for a *session*: another 256 random bits, sent back only as the `custody_session` cookie,
//! bound to the key and to the agency and roles it held at that moment. A session ends after
//! [`DeskConfig::session_idle`] without a request, after [`DeskConfig::session_max`] in all,
//! at sign-out, or when its key is no longer valid (checked by the caller at every request).
//!
//! Codes and tokens are kept only as their SHA-256, so the tables hold nothing a browser could
//! present. Everything is in memory: a restart of the gateway signs everyone out.
//!
//! Time is passed in (whole seconds of the server clock), so the expiry rules are tested
//! without waiting.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use custody_core::encoding::b64url;
use custody_core::{Hash, PublicKeyId, Role};

use super::DeskConfig;

/// How long a sign-in code may be used, in seconds.
pub const CODE_LIFETIME_SECS: i64 = 120;

/// Most sign-in codes waiting at once (older ones are dropped first beyond it), so a key that
/// asks for codes in a loop cannot fill the memory.
const MAX_PENDING_CODES: usize = 10_000;

/// Most sessions open at once (the oldest is ended beyond it).
const MAX_SESSIONS: usize = 10_000;

/// Who a session (or a pending code) is for: the key and what it was enrolled as at sign-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    /// The key that signed the sign-in request.
    pub key: PublicKeyId,
    /// Its agency.
    pub agency: String,
    /// Its roles (none for a trust root).
    pub roles: Vec<Role>,
}

/// An open session, as a page sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Who signed in.
    pub holder: Holder,
    /// When the session started (unix seconds).
    pub started: i64,
    /// The last request of the session (unix seconds).
    pub last_seen: i64,
}

/// Why a cookie opens no session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Closed {
    /// No such session: never opened, signed out, or the gateway restarted.
    Unknown,
    /// Idle for longer than allowed.
    Idle,
    /// Older than the absolute limit.
    Expired,
}

#[derive(Debug)]
struct Pending {
    holder: Holder,
    expires: i64,
}

#[derive(Debug, Default)]
struct Tables {
    codes: HashMap<Hash, Pending>,
    sessions: HashMap<Hash, Session>,
}

/// The sign-in codes and sessions of one gateway.
#[derive(Debug)]
pub struct Sessions {
    idle_secs: i64,
    max_secs: i64,
    tables: Mutex<Tables>,
}

/// 256 random bits as unpadded base64url (43 characters).
fn random_secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)?;
    Ok(b64url(&bytes))
}

fn digest(secret: &str) -> Hash {
    Hash::of(secret.as_bytes())
}

impl Sessions {
    /// Empty tables with the expiry limits of `config`.
    pub fn new(config: &DeskConfig) -> Sessions {
        Sessions {
            idle_secs: i64::try_from(config.session_idle.as_secs()).unwrap_or(i64::MAX),
            max_secs: i64::try_from(config.session_max.as_secs()).unwrap_or(i64::MAX),
            tables: Mutex::new(Tables::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new sign-in code for `holder`, valid [`CODE_LIFETIME_SECS`] from `now`.
    pub fn issue_code(&self, holder: Holder, now: i64) -> Result<String, getrandom::Error> {
        let code = random_secret()?;
        let mut t = self.lock();
        t.codes.retain(|_, p| p.expires > now);
        if t.codes.len() >= MAX_PENDING_CODES {
            if let Some(oldest) = t
                .codes
                .iter()
                .min_by_key(|(_, p)| p.expires)
                .map(|(k, _)| *k)
            {
                t.codes.remove(&oldest);
            }
        }
        t.codes.insert(
            digest(&code),
            Pending {
                holder,
                expires: now + CODE_LIFETIME_SECS,
            },
        );
        Ok(code)
    }

    /// Trades a sign-in code for a new session token; `None` when the code is unknown, used
    /// already or expired. The code is spent either way.
    pub fn redeem(
        &self,
        code: &str,
        now: i64,
    ) -> Result<Option<(String, Holder)>, getrandom::Error> {
        let token = random_secret()?;
        let mut t = self.lock();
        let Some(pending) = t.codes.remove(&digest(code)) else {
            return Ok(None);
        };
        if pending.expires <= now {
            return Ok(None);
        }
        let (idle, max) = (self.idle_secs, self.max_secs);
        t.sessions
            .retain(|_, s| now - s.last_seen < idle && now - s.started < max);
        if t.sessions.len() >= MAX_SESSIONS {
            if let Some(oldest) = t
                .sessions
                .iter()
                .min_by_key(|(_, s)| s.started)
                .map(|(k, _)| *k)
            {
                t.sessions.remove(&oldest);
            }
        }
        t.sessions.insert(
            digest(&token),
            Session {
                holder: pending.holder.clone(),
                started: now,
                last_seen: now,
            },
        );
        Ok(Some((token, pending.holder)))
    }

    /// The session of `token` at `now`, its idle clock restarted; a session past a limit is
    /// ended and says which.
    pub fn touch(&self, token: &str, now: i64) -> Result<Session, Closed> {
        let key = digest(token);
        let mut t = self.lock();
        let Some(s) = t.sessions.get_mut(&key) else {
            return Err(Closed::Unknown);
        };
        let closed = if now - s.started >= self.max_secs {
            Some(Closed::Expired)
        } else if now - s.last_seen >= self.idle_secs {
            Some(Closed::Idle)
        } else {
            None
        };
        if let Some(why) = closed {
            t.sessions.remove(&key);
            return Err(why);
        }
        s.last_seen = now;
        Ok(s.clone())
    }

    /// Ends the session of `token` (sign-out, or its key is no longer valid); true if it was open.
    pub fn end(&self, token: &str) -> bool {
        self.lock().sessions.remove(&digest(token)).is_some()
    }

    /// How many sessions are open (including those past a limit not yet asked for).
    pub fn open_count(&self) -> usize {
        self.lock().sessions.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn holder() -> Holder {
        Holder {
            key: custody_core::SecretKey::from_seed([7; 32]).public(),
            agency: "ml-pole-judiciaire".to_string(),
            roles: vec![Role::CourtClerk],
        }
    }

    fn sessions() -> Sessions {
        Sessions::new(&DeskConfig {
            session_idle: Duration::from_secs(1800),
            session_max: Duration::from_secs(8 * 3600),
        })
    }

    #[test]
    fn a_code_is_single_use_and_short_lived() {
        let s = sessions();
        let code = s.issue_code(holder(), 1000).unwrap();
        assert_eq!(code.len(), 43, "256 bits in base64url");
        let (token, h) = s.redeem(&code, 1010).unwrap().expect("fresh code");
        assert_eq!(h, holder());
        assert_ne!(token, code);
        assert_eq!(s.redeem(&code, 1011).unwrap(), None, "used once");
        let late = s.issue_code(holder(), 2000).unwrap();
        assert_eq!(s.redeem(&late, 2000 + CODE_LIFETIME_SECS).unwrap(), None);
        let ok = s.issue_code(holder(), 3000).unwrap();
        assert!(s
            .redeem(&ok, 3000 + CODE_LIFETIME_SECS - 1)
            .unwrap()
            .is_some());
        assert_eq!(s.redeem("not-a-code", 3000).unwrap(), None);
    }

    #[test]
    fn sessions_end_idle_absolute_and_at_sign_out() {
        let s = sessions();
        let code = s.issue_code(holder(), 0).unwrap();
        let (token, _) = s.redeem(&code, 0).unwrap().unwrap();
        // Requests every 29 minutes keep it open up to the absolute limit of 8 h.
        let mut now = 0;
        while now + 1740 < 8 * 3600 {
            now += 1740;
            assert!(s.touch(&token, now).is_ok(), "at {now}");
        }
        assert_eq!(s.touch(&token, 8 * 3600), Err(Closed::Expired));
        assert_eq!(s.touch(&token, 8 * 3600), Err(Closed::Unknown), "ended");

        let code = s.issue_code(holder(), 0).unwrap();
        let (idle, _) = s.redeem(&code, 0).unwrap().unwrap();
        assert!(s.touch(&idle, 1799).is_ok());
        assert_eq!(s.touch(&idle, 1799 + 1800), Err(Closed::Idle));

        let code = s.issue_code(holder(), 0).unwrap();
        let (out, _) = s.redeem(&code, 0).unwrap().unwrap();
        assert!(s.end(&out));
        assert_eq!(s.touch(&out, 1), Err(Closed::Unknown));
        assert!(!s.end(&out));
    }

    #[test]
    fn tables_hold_digests_not_secrets() {
        let s = sessions();
        let code = s.issue_code(holder(), 0).unwrap();
        let (token, _) = s.redeem(&code, 0).unwrap().unwrap();
        let dump = format!("{:?}", s.lock());
        assert!(!dump.contains(&code) && !dump.contains(&token));
    }
}
