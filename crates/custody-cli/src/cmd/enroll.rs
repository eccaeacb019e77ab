//! `custody enroll agency|facility|key|revoke`: authority-chain events signed with a root key.
//!
//! Bodies are built from the typed structs of `custody_core::kinds::bodies`, so a flag maps to
//! exactly one body field; the validator then checks them like any other record.

use custody_core::ids::AUTHORITY_CHAIN;
use custody_core::kinds::bodies::{
    AgencyRegistered, AgencyType, FacilityKind, FacilityRegistered, KeyEnrolled, KeyRevoked, Place,
};
use custody_core::kinds::EventKind;
use custody_core::{Draft, PublicKeyId, Role, SecretKey, Timestamp};
use custody_ledger::Ledger;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;

use crate::append::{sign_and_append, Appended};
use crate::cli::{
    EnrollAgencyArgs, EnrollCommand, EnrollFacilityArgs, EnrollKeyArgs, EnrollRevokeArgs,
    RootKeyArg,
};
use crate::clock;
use crate::output::Output;
use crate::{keyfile, store};

/// Runs one `enroll` subcommand.
pub async fn run(out: Output, spec: &str, cmd: &EnrollCommand) -> anyhow::Result<()> {
    match cmd {
        EnrollCommand::Agency(a) => agency(out, spec, a).await,
        EnrollCommand::Facility(a) => facility(out, spec, a).await,
        EnrollCommand::Key(a) => key(out, spec, a).await,
        EnrollCommand::Revoke(a) => revoke(out, spec, a).await,
    }
}

/// Parses a snake_case enumeration value of a body, listing the accepted values on error.
fn parse_enum<T: DeserializeOwned>(flag: &str, text: &str, accepted: &str) -> anyhow::Result<T> {
    serde_json::from_value(json!(text))
        .map_err(|_| anyhow::anyhow!("--{flag} {text:?} is not one of: {accepted}"))
}

fn to_body<T: Serialize>(body: &T) -> anyhow::Result<serde_json::Value> {
    Ok(serde_json::to_value(body)?)
}

/// Reads the root key and finds the agency it signs for in the ledger's trust anchors.
fn root_of(ledger: &Ledger, root: &RootKeyArg) -> anyhow::Result<(SecretKey, String)> {
    let key = keyfile::read(&root.root_key)?;
    let meta = ledger.meta();
    let agency = meta
        .trust
        .root(&key.public())
        .map(|r| r.agency.clone())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{} ({}) is not a trust anchor of ledger {:?}: pass the --root-key given to `custody init`",
                root.root_key.display(),
                key.public(),
                meta.name
            )
        })?;
    Ok((key, agency))
}

/// Signs an authority event on the current authority head and appends it.
async fn append_authority(
    out: Output,
    spec: &str,
    root: &RootKeyArg,
    kind: EventKind,
    body: serde_json::Value,
    what: String,
) -> anyhow::Result<()> {
    let ledger = store::open_ledger(spec).await?;
    let (key, agency) = root_of(&ledger, root)?;
    let occurred = match &root.occurred_at {
        Some(t) => Some(clock::parse_time("occurred-at", t)?),
        None => None,
    };
    let ledger_name = ledger.meta().name.clone();
    let Appended { record, outcome } = sign_and_append(&ledger, &key, AUTHORITY_CHAIN, |head| {
        let now = clock::now()?;
        Ok(Draft {
            ledger: ledger_name.clone(),
            chain: AUTHORITY_CHAIN.to_string(),
            seq: head.map_or(0, |h| h.seq + 1),
            prev: head.map(|h| h.hash),
            kind,
            occurred_at: occurred.clone().unwrap_or_else(|| now.clone()),
            recorded_at: now,
            agency: agency.clone(),
            body: body.clone(),
        })
    })
    .await?;
    let position = outcome.position();
    tracing::info!(kind = %kind, position, "authority event appended");
    out.json(&json!({
        "kind": kind.as_str(),
        "position": position,
        "hash": record.hash.to_hex(),
        "chain": AUTHORITY_CHAIN,
        "seq": record.header.seq,
    }));
    out.result(format!("{what}: {kind} at position {position}"));
    out.info(format!("  hash {}", record.hash));
    Ok(())
}

async fn agency(out: Output, spec: &str, a: &EnrollAgencyArgs) -> anyhow::Result<()> {
    let body = AgencyRegistered {
        id: a.id.clone(),
        name: a.name.clone(),
        r#type: parse_enum::<AgencyType>(
            "type",
            &a.agency_type,
            "military, police, gendarmerie, prison, court, prosecutor, monitor, hospital",
        )?,
        country: a.country.clone(),
        acronym: a.acronym.clone(),
        parent: a.parent.clone(),
        supervising_authority: a.supervising_authority.clone(),
    };
    let what = format!("registered agency {}", a.id);
    append_authority(
        out,
        spec,
        &a.root,
        EventKind::AgencyRegistered,
        to_body(&body)?,
        what,
    )
    .await
}

async fn facility(out: Output, spec: &str, a: &EnrollFacilityArgs) -> anyhow::Result<()> {
    let body = FacilityRegistered {
        id: a.id.clone(),
        agency: a.agency.clone(),
        name: a.name.clone(),
        kind: parse_enum::<FacilityKind>(
            "kind",
            &a.kind,
            "prison, gendarmerie_post, police_station, military_base, court_holding_cell, hospital, other",
        )?,
        capacity: a.capacity,
        officially_recognised: a.recognised && !a.not_recognised,
        place: Place {
            description: a.place.clone().unwrap_or_else(|| a.name.clone()),
            region: a.region.clone(),
            locality: a.locality.clone(),
            coordinates: None,
        },
    };
    let what = format!("registered facility {}", a.id);
    append_authority(
        out,
        spec,
        &a.root,
        EventKind::FacilityRegistered,
        to_body(&body)?,
        what,
    )
    .await
}

fn parse_key(flag: &str, text: &str) -> anyhow::Result<PublicKeyId> {
    text.parse()
        .map_err(|e| anyhow::anyhow!("--{flag}: {e}; `custody keygen` prints the public key"))
}

async fn key(out: Output, spec: &str, a: &EnrollKeyArgs) -> anyhow::Result<()> {
    let roles = a
        .roles
        .iter()
        .map(|r| {
            r.trim().parse::<Role>().map_err(|_| {
                let all: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                anyhow::anyhow!("--roles: {r:?} is not a role; roles are {}", all.join(", "))
            })
        })
        .collect::<anyhow::Result<Vec<Role>>>()?;
    let valid_from = match &a.valid_from {
        Some(t) => clock::parse_time("valid-from", t)?,
        None => clock::now()?,
    };
    let valid_until = a
        .valid_until
        .as_deref()
        .map(|t| clock::parse_time("valid-until", t))
        .transpose()?;
    let body = KeyEnrolled {
        key: parse_key("key", &a.key)?,
        agency: a.agency.clone(),
        roles,
        holder_name: a.holder_name.clone(),
        holder_badge: a.badge.clone(),
        valid_from,
        valid_until,
    };
    let what = format!("enrolled key {} for agency {}", a.key, a.agency);
    append_authority(
        out,
        spec,
        &a.root,
        EventKind::KeyEnrolled,
        to_body(&body)?,
        what,
    )
    .await
}

async fn revoke(out: Output, spec: &str, a: &EnrollRevokeArgs) -> anyhow::Result<()> {
    let effective_from: Timestamp = match &a.effective_from {
        Some(t) => clock::parse_time("effective-from", t)?,
        None => clock::now()?,
    };
    let body = KeyRevoked {
        key: parse_key("key", &a.key)?,
        reason: a.reason.clone(),
        effective_from,
    };
    let what = format!("revoked key {}", a.key);
    append_authority(
        out,
        spec,
        &a.root,
        EventKind::KeyRevoked,
        to_body(&body)?,
        what,
    )
    .await
}
