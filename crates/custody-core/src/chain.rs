//! The state of one detainee chain, as far as validation needs it: who holds the person, whether
//! a handover is unanswered (a custody gap), which commitment orders exist, whether the chain is
//! closed by release or death.
//!
//! The state moves by headers alone (kind, agency and the header's public facts), so a record
//! that travels without its payload, or whose payload was lawfully redacted, moves it exactly as
//! the full record does.

use crate::hash::Hash;
use crate::keys::PublicKeyId;
use crate::kinds::bodies::LegalStatus;
use crate::kinds::EventKind;
use crate::rule::Rule;
use crate::time::Timestamp;

/// The last event of a chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChainHead {
    /// Its position in the chain.
    pub seq: u64,
    /// Its hash.
    pub hash: Hash,
}

/// A record that does not extend its chain's current head: the chain moved on since the record
/// was signed, and nothing was stored. The one conflict of every layer: a store's
/// (`custody_store::StoreError::Conflict`), the ledger's (`custody_ledger::AppendError::Conflict`)
/// and the gateway's (HTTP 409, `{"error": {"rule", "message"}, "head"}`). The remedy is always
/// the same: fetch the head, rebuild the record on it (`seq` = head seq + 1, `prev` = head
/// hash) and sign again.
///
/// Its [`Display`](std::fmt::Display) is the message shown to people: the chain, what did not
/// match ([`ChainConflict::reason`]) and what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("chain {chain} has moved on: {}; fetch its head, rebuild the record on it and sign again", self.reason())]
pub struct ChainConflict {
    /// The chain.
    pub chain: String,
    /// Its current head (`None`: the chain has no record).
    pub head: Option<ChainHead>,
    /// What did not match.
    pub cause: ConflictCause,
}

/// What did not match in a [`ChainConflict`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConflictCause {
    /// The record's `seq` is not the chain's next position: it was signed against an older
    /// head (rule `seq`).
    Seq {
        /// The record's `seq`.
        got: u64,
    },
    /// The record's `prev` is not the hash of the chain's head (rule `prev`).
    Prev {
        /// The record's `prev` (`None`: `null`).
        got: Option<Hash>,
    },
    /// Another writer extended the chain between the check and the write (rule `conflict`):
    /// what a store answers when the record does not extend the head it holds.
    Raced,
}

impl ChainConflict {
    /// The conflict a store answers: the record does not extend `head`, the head it holds,
    /// because another writer extended the chain first ([`ConflictCause::Raced`]).
    pub fn raced(chain: impl Into<String>, head: Option<ChainHead>) -> ChainConflict {
        ChainConflict {
            chain: chain.into(),
            head,
            cause: ConflictCause::Raced,
        }
    }

    /// The stable code of the conflict: [`Rule::Seq`], [`Rule::Prev`] or [`Rule::Conflict`].
    pub fn rule(&self) -> Rule {
        match self.cause {
            ConflictCause::Seq { .. } => Rule::Seq,
            ConflictCause::Prev { .. } => Rule::Prev,
            ConflictCause::Raced => Rule::Conflict,
        }
    }

    /// What did not match, with the chain's head, for messages that name the chain and the
    /// remedy themselves (`/header/seq is 3 but the chain expects 5 (its head is seq 4, hash
    /// ...)`).
    pub fn reason(&self) -> String {
        let head = match &self.head {
            Some(h) => format!("its head is seq {}, hash {}", h.seq, h.hash),
            None => "it has no record yet".to_string(),
        };
        match self.cause {
            ConflictCause::Seq { got } => format!(
                "/header/seq is {got} but the chain expects {} ({head})",
                self.head.map_or(0, |h| h.seq + 1)
            ),
            ConflictCause::Prev { got } => format!(
                "/header/prev is {} but the chain expects {} ({head})",
                got.map_or_else(|| "null".to_string(), |p| p.to_hex()),
                self.head
                    .map_or_else(|| "null".to_string(), |h| h.hash.to_hex())
            ),
            ConflictCause::Raced => format!("another writer extended it first ({head})"),
        }
    }
}

/// Where the person stands in custody.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Custody {
    /// An agency holds the person.
    Held {
        /// The holding agency.
        holder: String,
    },
    /// A release is recorded and no acceptance yet: nobody has recorded holding the person.
    Gap {
        /// Hash of the `custody_released` event.
        release: Hash,
        /// The releasing agency.
        from: String,
        /// The named receiving agency (unknown when the payload is withheld).
        to: Option<String>,
        /// When the release happened.
        since: Timestamp,
    },
    /// Released: the chain is closed.
    Released,
    /// Died in custody: the chain is closed.
    Dead,
    /// Escaped: only a new arrest reopens custody.
    Escaped,
}

impl Custody {
    /// A short name for messages and reports.
    pub fn name(&self) -> &'static str {
        match self {
            Custody::Held { .. } => "in custody",
            Custody::Gap { .. } => "in a custody gap",
            Custody::Released => "released",
            Custody::Dead => "deceased",
            Custody::Escaped => "escaped",
        }
    }
}

/// What a commitment order of the chain is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OrderSource {
    /// A `detention_order` (which `detention_extended` may extend).
    DetentionOrder,
    /// A `judgment` with outcome `convicted` and a custodial sentence.
    CustodialJudgment,
}

/// A commitment order known in the chain: a detention order (possibly extended) or a custodial
/// judgment, named by the hash of its event.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CommitmentOrder {
    /// Hash of the `detention_order` or `judgment` event.
    pub event: Hash,
    /// Which kind of order it is.
    pub source: OrderSource,
    /// End of validity, extensions included; `None` for a custodial judgment.
    pub valid_until: Option<Timestamp>,
}

/// A `counsel_appointed` of the chain: the lawyer's key and when the appointment is in force.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CounselAppointment {
    /// Hash of the `counsel_appointed` event.
    pub event: Hash,
    /// The lawyer's enrolled key (`facts.counsel_key`).
    pub key: PublicKeyId,
    /// In force from (the record's `occurred_at`, included).
    pub from: Timestamp,
    /// In force until (`facts.until`, excluded), if set.
    pub until: Option<Timestamp>,
}

impl CounselAppointment {
    /// Whether the appointment is in force at `at`: from `from` included to `until` excluded.
    pub fn in_force(&self, at: &Timestamp) -> bool {
        &self.from <= at && self.until.as_ref().is_none_or(|u| at < u)
    }
}

/// Validation state of one detainee chain.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChainState {
    /// The last event.
    pub head: ChainHead,
    /// Custody status.
    pub custody: Custody,
    /// Every event of the chain, with its kind (targets of corrections and redactions).
    pub events: Vec<(Hash, EventKind)>,
    /// Commitment orders.
    pub orders: Vec<CommitmentOrder>,
    /// Whether police custody has been started.
    pub police_custody: bool,
    /// Whether the latest `judgment` of the chain is a conviction (`outcome` `convicted`); a
    /// later judgment with another outcome (an acquittal on appeal) ends it.
    pub convicted: bool,
    /// The chain's `counsel_appointed` records, in ledger order.
    pub counsel: Vec<CounselAppointment>,
    /// Hashes of the chain's `complaint_lodged` events (kept whatever
    /// [`crate::Validator::remember_only`] keeps: an answer names its complaint).
    pub complaints: Vec<Hash>,
    /// When the person was first deprived of liberty (`occurred_at` of the arrest).
    pub since: Timestamp,
}

impl ChainState {
    /// The kind of an event of this chain.
    pub fn kind_of(&self, hash: &Hash) -> Option<EventKind> {
        self.events.iter().find(|(h, _)| h == hash).map(|(_, k)| *k)
    }

    /// The commitment order recorded by an event of this chain, if any.
    pub fn order(&self, event: &Hash) -> Option<&CommitmentOrder> {
        self.orders.iter().find(|o| &o.event == event)
    }

    /// Whether counsel holding `key` is appointed on this chain at `at`: a `counsel_appointed`
    /// naming the key is in force then ([`CounselAppointment::in_force`]). The gateway asks it
    /// before showing counsel a payload ([`crate::roles::may_read_payload_on_chain`]).
    pub fn counsel_appointed(&self, key: &PublicKeyId, at: &Timestamp) -> bool {
        self.counsel.iter().any(|a| &a.key == key && a.in_force(at))
    }

    /// The legal status the chain's legal events support, the furthest along: convicted when the
    /// latest judgment convicts (reported as [`LegalStatus::ConvictedNotFinal`]: the ledger
    /// records no finality or appeal, so a conviction supports both convicted statuses), else
    /// pre-trial detention when a `detention_order` is in the chain, else police custody when a
    /// `police_custody_started` is, else arrested.
    pub fn supported_status(&self) -> LegalStatus {
        if self.convicted {
            LegalStatus::ConvictedNotFinal
        } else if self
            .orders
            .iter()
            .any(|o| o.source == OrderSource::DetentionOrder)
        {
            LegalStatus::PreTrialDetention
        } else if self.police_custody {
            LegalStatus::PoliceCustody
        } else {
            LegalStatus::Arrested
        }
    }

    /// Whether the chain's legal events support a record stating `status` (rule
    /// `legal_status`): `arrested` always; `police_custody` after a `police_custody_started`;
    /// `pre_trial_detention` after a `detention_order`; `convicted_not_final` and
    /// `convicted_final` only while the latest judgment is a conviction. A status that says
    /// less than the chain supports (pre-trial detention after a conviction under appeal) is
    /// accepted: it never labels anyone guilty.
    pub fn supports(&self, status: LegalStatus) -> bool {
        match status {
            LegalStatus::Arrested => true,
            LegalStatus::PoliceCustody => self.police_custody,
            LegalStatus::PreTrialDetention => self
                .orders
                .iter()
                .any(|o| o.source == OrderSource::DetentionOrder),
            LegalStatus::ConvictedNotFinal | LegalStatus::ConvictedFinal => self.convicted,
        }
    }

    /// Kinds allowed in the current custody status, ignoring body-level rules.
    pub fn kind_allowed(&self, kind: EventKind) -> bool {
        use EventKind as K;
        let always = matches!(kind, K::Correction | K::EvidenceAdded | K::Redaction);
        always
            || match &self.custody {
                Custody::Held { .. } => kind != K::Arrest,
                Custody::Gap { .. } => matches!(
                    kind,
                    K::CustodyAccepted
                        | K::IdentityLinked
                        | K::AccessRestricted
                        | K::Charged
                        | K::DetentionOrder
                        | K::DetentionExtended
                        | K::HearingScheduled
                        | K::FamilyNotified
                        | K::DeathInCustody
                        | K::Escape
                        | K::ComplaintLodged
                        | K::ComplaintAnswered
                        | K::CounselAppointed
                ),
                Custody::Released | Custody::Dead => {
                    matches!(kind, K::Visit | K::ComplaintLodged | K::ComplaintAnswered)
                }
                Custody::Escaped => matches!(
                    kind,
                    K::Arrest
                        | K::IdentityLinked
                        | K::FamilyNotified
                        | K::Judgment
                        | K::ComplaintAnswered
                ),
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrested() -> ChainState {
        ChainState {
            head: ChainHead {
                seq: 0,
                hash: Hash::of(b"arrest"),
            },
            custody: Custody::Held {
                holder: "ml-gendarmerie-camp1".into(),
            },
            events: Vec::new(),
            orders: Vec::new(),
            police_custody: false,
            convicted: false,
            counsel: Vec::new(),
            complaints: Vec::new(),
            since: Timestamp::from_unix_seconds(0),
        }
    }

    #[test]
    fn legal_status_follows_the_legal_events_of_the_chain() {
        use LegalStatus as L;
        let mut c = arrested();
        let allowed = |c: &ChainState| -> Vec<L> {
            L::ALL.iter().copied().filter(|s| c.supports(*s)).collect()
        };
        assert_eq!(allowed(&c), [L::Arrested]);
        assert_eq!(c.supported_status(), L::Arrested);
        c.police_custody = true;
        assert_eq!(allowed(&c), [L::Arrested, L::PoliceCustody]);
        assert_eq!(c.supported_status(), L::PoliceCustody);
        // A custodial judgment alone is a commitment order, not a detention order.
        c.orders.push(CommitmentOrder {
            event: Hash::of(b"judgment"),
            source: OrderSource::CustodialJudgment,
            valid_until: None,
        });
        assert!(!c.supports(L::PreTrialDetention));
        c.orders.push(CommitmentOrder {
            event: Hash::of(b"order"),
            source: OrderSource::DetentionOrder,
            valid_until: Some(Timestamp::from_unix_seconds(86_400)),
        });
        assert_eq!(
            allowed(&c),
            [L::Arrested, L::PoliceCustody, L::PreTrialDetention]
        );
        assert_eq!(c.supported_status(), L::PreTrialDetention);
        c.convicted = true;
        assert_eq!(allowed(&c), L::ALL);
        assert_eq!(c.supported_status(), L::ConvictedNotFinal);
    }

    #[test]
    fn counsel_is_appointed_from_occurred_at_until_its_end() {
        let key = crate::keys::SecretKey::from_seed([7; 32]).public();
        let other = crate::keys::SecretKey::from_seed([8; 32]).public();
        let mut c = arrested();
        let t = Timestamp::from_unix_seconds;
        assert!(!c.counsel_appointed(&key, &t(100)));
        c.counsel.push(CounselAppointment {
            event: Hash::of(b"appointed"),
            key,
            from: t(100),
            until: Some(t(200)),
        });
        assert!(!c.counsel_appointed(&key, &t(99)));
        assert!(c.counsel_appointed(&key, &t(100)));
        assert!(c.counsel_appointed(&key, &t(199)));
        assert!(!c.counsel_appointed(&key, &t(200)));
        assert!(!c.counsel_appointed(&other, &t(150)));
        c.counsel[0].until = None;
        assert!(c.counsel_appointed(&key, &t(10_000)));
    }

    #[test]
    fn a_conflict_names_its_rule_what_did_not_match_and_the_head() {
        let hash = Hash::of(b"head");
        let head = Some(ChainHead { seq: 4, hash });
        let seq = ChainConflict {
            chain: "d-x".into(),
            head,
            cause: ConflictCause::Seq { got: 3 },
        };
        assert_eq!(seq.rule(), Rule::Seq);
        assert_eq!(
            seq.to_string(),
            format!(
                "chain d-x has moved on: /header/seq is 3 but the chain expects 5 (its head is \
                 seq 4, hash {hash}); fetch its head, rebuild the record on it and sign again"
            )
        );
        let prev = ChainConflict {
            chain: "d-x".into(),
            head: None,
            cause: ConflictCause::Prev { got: Some(hash) },
        };
        assert_eq!(prev.rule(), Rule::Prev);
        assert_eq!(
            prev.reason(),
            format!("/header/prev is {hash} but the chain expects null (it has no record yet)")
        );
        let raced = ChainConflict::raced("d-x", head);
        assert_eq!(raced.rule(), Rule::Conflict);
        assert_eq!(
            raced.reason(),
            format!("another writer extended it first (its head is seq 4, hash {hash})")
        );
    }
}
