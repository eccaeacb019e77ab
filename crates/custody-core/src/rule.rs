//! The stable rule codes: one enum, [`Rule`], naming every reason a record or a request is
//! refused, whichever layer refuses it (the validator, the ledger's append path, the verifier,
//! the gateway).
//!
//! Each rule has a stable string code, [`Rule::code`]: what the test vectors
//! (`tests/vectors/v1/invalid/`), the HTTP API's error bodies (`{"error": {"rule": ...}}`) and
//! the verifier's reports carry. A published code never changes; a new rule adds a new code.
//! [`Display`](fmt::Display), [`FromStr`] and serde (a JSON string) all use the code. The
//! variants are grouped by the layer that answers with them, and each group is listed in order:
//!
//! | group | list | codes | answered by |
//! |---|---|---|---|
//! | record rules, in check order | [`Rule::RECORD`] | `format`, `hash`, ..., `facts` | the validator (`docs/SPEC.md` section 10) |
//! | state rules | [`StateRule::ALL`] | `state/<rule>` | the validator, after the record rules |
//! | chain conflict | [`Rule::LEDGER`] | `conflict` | a store, the ledger, the gateway (409) |
//! | verification | [`Rule::VERIFIER`] | `empty`, `store_corrupt` | the verifier |
//! | HTTP request | [`Rule::REQUEST`] | `json`, `body_size`, ... | the gateway (`docs/API.md`) |
//! | read authentication | [`AuthRule::ALL`] | `auth/<check>` | the gateway (401) |
//! | transfer packet | [`PacketRule::ALL`] | `packet/<check>` | `custody packet verify` (`docs/SPEC.md` section 18) |
//!
//! [`Rule::VALIDATION`] is every code the validator answers with (the record rules, then the
//! state rules); [`Rule::ALL`] is every code. The lists are made from the declarations below,
//! so a rule cannot be declared without a code nor left out of its list.

use std::fmt;
use std::str::FromStr;

use crate::encoding::excerpt;

/// Declares an enum of codes within one group (`state/...`, `auth/...`): its variants, their
/// codes, and the list of them in declaration order.
macro_rules! code_group {
    (
        $(#[$meta:meta])*
        pub enum $name:ident (prefix $prefix:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every variant, in the order of its documentation (`docs/SPEC.md` section 10 for
            /// the state rules, `docs/API.md` for the authentication checks).
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The code within the group, without its prefix (`custody_gap`, not
            /// `state/custody_gap`: that is [`Rule::code`]).
            pub fn code(self) -> &'static str {
                match self {
                    $($name::$variant => $code,)+
                }
            }

            /// The full code, prefix included.
            fn full_code(self) -> &'static str {
                match self {
                    $($name::$variant => concat!($prefix, $code),)+
                }
            }

            /// The variant of a code within the group (without its prefix).
            fn from_code(code: &str) -> Option<$name> {
                match code {
                    $($code => Some($name::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

code_group! {
    /// The state rules of the validator (`docs/SPEC.md` section 10, item 9): the chain and
    /// authority rules checked after the record rules. Their full code is `state/<code>`
    /// ([`Rule::State`]).
    pub enum StateRule (prefix "state/") {
        /// An agency, facility or key registered twice.
        Duplicate = "duplicate",
        /// An agency id that is not registered.
        UnknownAgency = "unknown_agency",
        /// `valid_until` not after `valid_from`.
        BadValidity = "bad_validity",
        /// An enrolled key that is not usable (not canonical, not on the curve, or weak).
        UnusableKey = "unusable_key",
        /// A revocation of a key that is not enrolled or already revoked.
        KeyNotEnrolled = "key_not_enrolled",
        /// A detainee chain must start with `arrest`.
        FirstEventArrest = "first_event_arrest",
        /// The kind is not allowed in the chain's custody status (closed, gap...).
        StatusForbids = "status_forbids",
        /// The person is in a custody gap and this kind needs someone holding them.
        CustodyGap = "custody_gap",
        /// Only the holding agency may record this kind.
        NotHolder = "not_holder",
        /// `custody_accepted` without a pending release.
        NoPendingRelease = "no_pending_release",
        /// `custody_accepted` from an agency other than the one named.
        WrongReceiver = "wrong_receiver",
        /// `custody_accepted` answers another release event.
        ReleaseMismatch = "release_mismatch",
        /// A handover to the releasing agency itself.
        SelfHandover = "self_handover",
        /// A facility id that is not registered.
        UnknownFacility = "unknown_facility",
        /// A facility of another agency.
        FacilityOfOtherAgency = "facility_of_other_agency",
        /// A police custody extension without police custody.
        NoPoliceCustody = "no_police_custody",
        /// An agency of a type that cannot record this kind.
        AgencyType = "agency_type",
        /// An extension of an order that does not exist.
        UnknownOrder = "unknown_order",
        /// Admission to a place that is not an officially recognised place of detention.
        FacilityNotRecognised = "facility_not_recognised",
        /// Admission without a valid commitment order.
        NoCommitmentOrder = "no_commitment_order",
        /// Admission on an expired commitment order.
        CommitmentOrderExpired = "commitment_order_expired",
        /// A reference to an event that is not in this chain.
        UnknownEvent = "unknown_event",
        /// A correction by a role that could not write the corrected kind.
        CorrectionRole = "correction_role",
        /// A correction of a field the corrected kind does not have, or of a fact.
        CorrectionFields = "correction_fields",
        /// A link of a chain to itself.
        SelfLink = "self_link",
        /// A record states a legal status that the chain's legal events do not support (a
        /// person called convicted without a convicting judgment).
        LegalStatus = "legal_status",
        /// A `counsel_appointed` whose `counsel_key` is not an enrolled key with role
        /// `counsel`.
        CounselKey = "counsel_key",
        /// Times inside a body out of order (an order that ends before it starts...).
        TimeOrder = "time_order",
    }
}

code_group! {
    /// The checks of a signed read request (`docs/API.md`, "Authenticating reads"): the
    /// gateway answers 401. Their full code is `auth/<code>` ([`Rule::Auth`]).
    pub enum AuthRule (prefix "auth/") {
        /// A signature header is absent.
        MissingHeader = "missing_header",
        /// A signature header is not of the expected form.
        MalformedHeader = "malformed_header",
        /// `Custody-Date` is too far from the server clock.
        Date = "date",
        /// The request signature does not verify.
        Signature = "signature",
        /// The key is neither enrolled nor a trust root.
        UnknownKey = "unknown_key",
        /// The enrolled key's validity has not started.
        KeyNotYetValid = "key_not_yet_valid",
        /// The enrolled key's validity has ended.
        KeyExpired = "key_expired",
        /// The enrolled key is revoked.
        KeyRevoked = "key_revoked",
    }
}

code_group! {
    /// The checks of a transfer packet beyond its records' own rules (`docs/SPEC.md` section
    /// 18): `custody packet verify` refuses with them. Their full code is `packet/<code>`
    /// ([`Rule::Packet`]).
    pub enum PacketRule (prefix "packet/") {
        /// The file is not a well formed packet container.
        Format = "format",
        /// The manifest is malformed or disagrees with the signed records.
        Manifest = "manifest",
        /// The checkpoint does not verify with the ledger key, or does not cover the records.
        Checkpoint = "checkpoint",
        /// An event's inclusion proof does not verify against the checkpoint.
        Proof = "proof",
        /// A record of another chain than the packet's.
        Chain = "chain",
        /// An evidence blob that is not the one its record names.
        Evidence = "evidence",
        /// A sealed (encrypted) payload addressed to the verifier's medical key that does not
        /// decrypt with it, or whose plaintext is not the payload its header names.
        Sealed = "sealed",
    }
}

/// Declares [`Rule`]: its groups of plain variants (each with its code and a list of the
/// group), then the state and authentication rules.
macro_rules! rules {
    (
        $(#[$meta:meta])*
        pub enum Rule {
            $(
                $(#[$gmeta:meta])*
                $group:ident {
                    $( $(#[$vmeta:meta])* $variant:ident = $code:literal, )+
                }
            )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Rule {
            $( $( $(#[$vmeta])* $variant, )+ )+
            /// A state rule of the validator (`state/<rule>`), checked after the record rules.
            State(StateRule),
            /// A failed check of a signed read request (`auth/<check>`): the gateway answers
            /// 401.
            Auth(AuthRule),
            /// A failed check of a transfer packet (`packet/<check>`).
            Packet(PacketRule),
        }

        impl Rule {
            $(
                $(#[$gmeta])*
                pub const $group: &'static [Rule] = &[$(Rule::$variant),+];
            )+

            /// The stable code (`signature`, `state/custody_gap`, `auth/date`, `conflict`...).
            pub fn code(self) -> &'static str {
                match self {
                    $( $( Rule::$variant => $code, )+ )+
                    Rule::State(rule) => rule.full_code(),
                    Rule::Auth(rule) => rule.full_code(),
                    Rule::Packet(rule) => rule.full_code(),
                }
            }

            /// The plain variant of a code (not `state/...` nor `auth/...`).
            fn from_plain_code(code: &str) -> Option<Rule> {
                match code {
                    $( $( $code => Some(Rule::$variant), )+ )+
                    _ => None,
                }
            }
        }
    };
}

rules! {
    /// Every stable rule code of custody-ledger, grouped by the layer that answers with it (see
    /// the [module documentation](self)).
    pub enum Rule {
        /// The record rules of the validator, in the order they are checked (`docs/SPEC.md`
        /// section 10); the state rules ([`Rule::State`]) come after them.
        RECORD {
            /// The record is not well formed (JSON, members, types, spellings).
            Format = "format",
            /// `hash` is not the SHA-256 of the canonical header.
            Hash = "hash",
            /// The signer's key is unusable (not canonical, not on the curve, or weak).
            SignerKey = "signer_key",
            /// The signature does not verify.
            Signature = "signature",
            /// The record was signed for another ledger.
            Ledger = "ledger",
            /// The kind does not belong on this chain.
            ChainKind = "chain_kind",
            /// `seq` does not extend the chain's head: the record was signed against an older
            /// head (answered as a chain conflict by the ledger and the gateway).
            Seq = "seq",
            /// `prev` is not the head's hash (answered as a chain conflict by the ledger and the
            /// gateway).
            Prev = "prev",
            /// An authority event not signed by a trust anchor.
            NotTrustRoot = "not_trust_root",
            /// The signer is not enrolled.
            UnknownKey = "unknown_key",
            /// The key is enrolled for another agency (or the anchor is another agency's).
            AgencyMismatch = "agency_mismatch",
            /// `recorded_at` is before the key's validity.
            KeyNotYetValid = "key_not_yet_valid",
            /// `recorded_at` is after the key's validity.
            KeyExpired = "key_expired",
            /// The key is revoked at `recorded_at`.
            KeyRevoked = "key_revoked",
            /// The key holds no role allowed to write this kind.
            Role = "role",
            /// `occurred_at` is after `recorded_at`.
            OccurredAfterRecorded = "occurred_after_recorded",
            /// `recorded_at` is in the future of the validator's clock.
            Future = "future",
            /// The payload is required but absent.
            PayloadMissing = "payload_missing",
            /// The canonical payload is too large.
            PayloadSize = "payload_size",
            /// The payload does not match `payload_digest`.
            PayloadDigest = "payload_digest",
            /// The body does not match its kind's schema.
            Schema = "schema",
            /// `header.facts` is not the projection of the body onto the kind's fact fields.
            Facts = "facts",
        }
        /// The code of the append path besides [`Rule::Seq`] and [`Rule::Prev`]: see
        /// [`crate::chain::ChainConflict`].
        LEDGER {
            /// Another writer extended the chain between the check and the write: nothing was
            /// stored; fetch the head, rebuild and sign again.
            Conflict = "conflict",
        }
        /// The codes of the verifier that name no record's rule.
        VERIFIER {
            /// The input holds no record at all, so nothing was verified.
            Empty = "empty",
            /// A store's data is inconsistent (an index that disagrees with its records, a hole
            /// in positions).
            StoreCorrupt = "store_corrupt",
        }
        /// The codes of the gateway for a request refused or failed before (or besides) any
        /// record rule (`docs/API.md`, "Errors").
        REQUEST {
            /// The body is not acceptable JSON (400).
            Json = "json",
            /// A malformed id in the path, an unreadable body (400).
            BadRequest = "bad_request",
            /// The reader's roles do not allow this view (403): the role-by-view matrix of
            /// `custody_views::access`.
            Forbidden = "forbidden",
            /// No such chain, event or route (404).
            NotFound = "not_found",
            /// The route exists but not for this method (405).
            MethodNotAllowed = "method_not_allowed",
            /// The body did not arrive within the request time-out (408).
            RequestTimeout = "request_timeout",
            /// The body is over the size limit (413).
            BodySize = "body_size",
            /// A batch of records has more lines or bytes than the gateway takes (413).
            BatchSize = "batch_size",
            /// The body is not declared as JSON in UTF-8 (415).
            MediaType = "media_type",
            /// Too many requests from one signing key or client address (429, `Retry-After`).
            RateLimited = "rate_limited",
            /// The store is unreachable or overloaded; retrying is safe (503).
            Unavailable = "unavailable",
            /// A store failure or inconsistency that an operator must look at (500).
            Internal = "internal",
        }
    }
}

/// Number of rules in [`Rule::VALIDATION`].
const VALIDATION_LEN: usize = Rule::RECORD.len() + StateRule::ALL.len();

/// Number of rules in [`Rule::ALL`].
const ALL_LEN: usize = VALIDATION_LEN
    + Rule::LEDGER.len()
    + Rule::VERIFIER.len()
    + Rule::REQUEST.len()
    + AuthRule::ALL.len()
    + PacketRule::ALL.len();

impl Rule {
    /// Every rule the validator answers with, in the order of checking: [`Rule::RECORD`], then
    /// each [`StateRule`] (every one has a vector in `tests/vectors/v1/invalid/`).
    pub const VALIDATION: &'static [Rule] = &validation_rules();

    /// Every rule: [`Rule::VALIDATION`], [`Rule::LEDGER`], [`Rule::VERIFIER`],
    /// [`Rule::REQUEST`], then each [`AuthRule`] and each [`PacketRule`].
    pub const ALL: &'static [Rule] = &all_rules();

    /// Whether the validator answers with this rule (it is in [`Rule::VALIDATION`]).
    pub fn is_validation(self) -> bool {
        matches!(self, Rule::State(_)) || Rule::RECORD.contains(&self)
    }
}

const fn validation_rules() -> [Rule; VALIDATION_LEN] {
    let mut out = [Rule::Format; VALIDATION_LEN];
    let mut n = 0;
    while n < Rule::RECORD.len() {
        out[n] = Rule::RECORD[n];
        n += 1;
    }
    let mut i = 0;
    while i < StateRule::ALL.len() {
        out[n + i] = Rule::State(StateRule::ALL[i]);
        i += 1;
    }
    out
}

const fn all_rules() -> [Rule; ALL_LEN] {
    let mut out = [Rule::Format; ALL_LEN];
    let groups: [&[Rule]; 4] = [
        Rule::VALIDATION,
        Rule::LEDGER,
        Rule::VERIFIER,
        Rule::REQUEST,
    ];
    let mut n = 0;
    let mut g = 0;
    while g < groups.len() {
        let mut i = 0;
        while i < groups[g].len() {
            out[n] = groups[g][i];
            n += 1;
            i += 1;
        }
        g += 1;
    }
    let mut i = 0;
    while i < AuthRule::ALL.len() {
        out[n] = Rule::Auth(AuthRule::ALL[i]);
        n += 1;
        i += 1;
    }
    let mut i = 0;
    while i < PacketRule::ALL.len() {
        out[n] = Rule::Packet(PacketRule::ALL[i]);
        n += 1;
        i += 1;
    }
    out
}

impl From<StateRule> for Rule {
    fn from(rule: StateRule) -> Rule {
        Rule::State(rule)
    }
}

impl From<AuthRule> for Rule {
    fn from(rule: AuthRule) -> Rule {
        Rule::Auth(rule)
    }
}

impl From<PacketRule> for Rule {
    fn from(rule: PacketRule) -> Rule {
        Rule::Packet(rule)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A code that names no [`Rule`] of this version (from a newer peer, or a typo).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{code:?} is not a rule code of this version (docs/SPEC.md section 10, docs/API.md \"Errors\")"
)]
pub struct UnknownRule {
    /// The code read (cut to 64 characters).
    pub code: String,
}

impl FromStr for Rule {
    type Err = UnknownRule;

    fn from_str(code: &str) -> Result<Rule, UnknownRule> {
        let rule = if let Some(rest) = code.strip_prefix("state/") {
            StateRule::from_code(rest).map(Rule::State)
        } else if let Some(rest) = code.strip_prefix("auth/") {
            AuthRule::from_code(rest).map(Rule::Auth)
        } else if let Some(rest) = code.strip_prefix("packet/") {
            PacketRule::from_code(rest).map(Rule::Packet)
        } else {
            Rule::from_plain_code(code)
        };
        rule.ok_or_else(|| UnknownRule {
            code: excerpt(code),
        })
    }
}

impl serde::Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for Rule {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Rule, D::Error> {
        let code = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        code.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_code_round_trips_and_codes_are_unique() {
        let mut codes = HashSet::new();
        for rule in Rule::ALL {
            let code = rule.code();
            assert!(codes.insert(code), "code {code} twice");
            assert_eq!(code.parse::<Rule>(), Ok(*rule), "{code}");
            assert_eq!(rule.to_string(), code);
            let json = serde_json::to_string(rule).unwrap();
            assert_eq!(json, format!("\"{code}\""));
            assert_eq!(serde_json::from_str::<Rule>(&json).unwrap(), *rule);
        }
        let distinct: HashSet<Rule> = Rule::ALL.iter().copied().collect();
        assert_eq!(distinct.len(), Rule::ALL.len(), "a rule listed twice");
        assert_eq!(
            Rule::ALL.len(),
            Rule::RECORD.len()
                + StateRule::ALL.len()
                + Rule::LEDGER.len()
                + Rule::VERIFIER.len()
                + Rule::REQUEST.len()
                + AuthRule::ALL.len()
                + PacketRule::ALL.len()
        );
    }

    #[test]
    fn lists_are_in_order_and_codes_are_those_published() {
        // The first and last record rules, and the published spellings of the other groups.
        assert_eq!(Rule::VALIDATION.first(), Some(&Rule::Format));
        assert_eq!(Rule::VALIDATION[Rule::RECORD.len() - 1], Rule::Facts);
        assert_eq!(
            Rule::VALIDATION[Rule::RECORD.len()],
            Rule::State(StateRule::ALL[0])
        );
        assert_eq!(
            Rule::State(StateRule::CustodyGap).code(),
            "state/custody_gap"
        );
        assert_eq!(StateRule::CustodyGap.code(), "custody_gap");
        assert_eq!(Rule::Auth(AuthRule::Date).code(), "auth/date");
        assert_eq!(Rule::Packet(PacketRule::Proof).code(), "packet/proof");
        assert_eq!(Rule::Conflict.code(), "conflict");
        assert_eq!(Rule::Empty.code(), "empty");
        assert_eq!(Rule::StoreCorrupt.code(), "store_corrupt");
        assert!(Rule::VALIDATION.iter().all(|r| r.is_validation()));
        assert!(!Rule::Conflict.is_validation() && !Rule::Auth(AuthRule::Date).is_validation());
    }

    #[test]
    fn unknown_codes_are_a_typed_error() {
        for code in [
            "",
            "state/",
            "state/nope",
            "auth/",
            "auth/format",
            "STATE/custody_gap",
            "custody_gap",
            "nope",
        ] {
            assert_eq!(
                code.parse::<Rule>(),
                Err(UnknownRule {
                    code: code.to_string()
                }),
                "{code}"
            );
        }
        let long = "x".repeat(1000);
        let err = long.parse::<Rule>().unwrap_err();
        assert!(err.code.len() < 100, "{}", err.code);
        assert!(serde_json::from_str::<Rule>("\"nope\"").is_err());
        assert!(serde_json::from_str::<Rule>("3").is_err());
    }
}
