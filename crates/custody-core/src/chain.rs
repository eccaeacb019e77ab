//! The state of one detainee chain, as far as validation needs it: who holds the person, whether
//! a handover is unanswered (a custody gap), which commitment orders exist, whether the chain is
//! closed by release or death.
//!
//! The state moves by headers alone (kind, agency and the header's public facts), so a record
//! that travels without its payload, or whose payload was lawfully redacted, moves it exactly as
//! the full record does.

use crate::hash::Hash;
use crate::kinds::EventKind;
use crate::time::Timestamp;

/// The last event of a chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChainHead {
    /// Its position in the chain.
    pub seq: u64,
    /// Its hash.
    pub hash: Hash,
}

/// Where the person stands in custody.
#[derive(Clone, Debug, PartialEq, Eq)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderSource {
    /// A `detention_order` (which `detention_extended` may extend).
    DetentionOrder,
    /// A `judgment` with outcome `convicted` and a custodial sentence.
    CustodialJudgment,
}

/// A commitment order known in the chain: a detention order (possibly extended) or a custodial
/// judgment, named by the hash of its event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitmentOrder {
    /// Hash of the `detention_order` or `judgment` event.
    pub event: Hash,
    /// Which kind of order it is.
    pub source: OrderSource,
    /// End of validity, extensions included; `None` for a custodial judgment.
    pub valid_until: Option<Timestamp>,
}

/// Validation state of one detainee chain.
#[derive(Clone, Debug, PartialEq, Eq)]
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
                ),
                Custody::Released | Custody::Dead => matches!(kind, K::Visit),
                Custody::Escaped => matches!(
                    kind,
                    K::Arrest | K::IdentityLinked | K::FamilyNotified | K::Judgment
                ),
            }
    }
}
