//! `custody packet export | verify | import` (and `receipt`, in [`crate::cmd::receipt`]): a detainee's transfer packet (docs/SPEC.md
//! section 18), the one file that travels with the person.
//!
//! - `export` writes the chain (restricted payloads sealed to the receiving facility's medical
//!   keys, or withheld when there is none, and listed), the authority chain up
//!   to the checkpoint, a checkpoint signed by the ledger key (given, or signed now over a
//!   ledger that verifies) that covers every event, a C2SP tlog-proof per event, and the
//!   evidence blobs up to a size (larger ones as manifest entries); it prints the packet
//!   digest.
//! - `verify` is offline: the packet alone (or with `--trust` and `--ledger-vkey`), the
//!   timeline in French or English, exit status 0 only when everything holds; with
//!   `--medical-key` the sealed payloads addressed to that key are opened and checked.
//! - `import` verifies the packet against the store's own trust anchors and ledger key, refuses
//!   a fork (the store holds another event at a position of the chain) before changing
//!   anything, then appends through the ledger's validated path and stores the blobs; a second
//!   import changes nothing. With `--medical-key` the opened payloads are stored with their
//!   records.

use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::path::Path;

use anyhow::Context;
use custody_core::authority::{AuthorityState, TrustAnchors};
use custody_core::checkpoint::{verify_checkpoint, Checkpoint, NoteSigner, NoteVerifier};
use custody_core::encoding::hex;
use custody_core::humancode::code_for_chain;
use custody_core::ids::AUTHORITY_CHAIN;
use custody_core::kinds::{parse_body, EventKind};
use custody_core::{Hash, Payload, PublicKeyId, Record, Role, Timestamp};
use custody_ledger::AppendError;
use custody_packet::build;
use custody_packet::timeline::{self, Lang};
use custody_packet::verify::{evidence_of, SealedState, Verified};
use custody_packet::{
    verify_packet, EvidenceEntry, Manifest, Options, PacketError, PacketWriter, Section, MAGIC,
};
use custody_store::{AppendOutcome, LedgerScan, LedgerStore, PayloadState};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::append::append_error;
use crate::chainref::ChainArg;
use crate::cli::{self, PacketCommand, PacketExportArgs, PacketImportArgs, PacketVerifyArgs};
use crate::cmd::{checkpoint, prove};
use crate::exit::{refused, refused_reported};
use crate::output::Output;
use crate::{clock, evidence_store, keyfile, store};

/// Runs a packet command.
pub async fn run(out: Output, spec: &str, cmd: &PacketCommand) -> anyhow::Result<()> {
    match cmd {
        PacketCommand::Export(a) => export(out, spec, a).await,
        PacketCommand::Verify(a) => verify(out, a),
        PacketCommand::Import(a) => import(out, spec, a).await,
        PacketCommand::Receipt(a) => crate::cmd::receipt::run(out, spec, a).await,
    }
}

/// The checkpoint note to put in the packet, and the checkpoint it verifies as.
async fn checkpoint_note(
    s: &dyn LedgerStore,
    meta: &custody_ledger::LedgerMeta,
    args: &PacketExportArgs,
) -> anyhow::Result<(String, Checkpoint)> {
    let verifier = NoteVerifier::parse(&meta.ledger_vkey)
        .map_err(|e| anyhow::anyhow!("the ledger's verifier key is unusable: {e}"))?;
    if let Some(path) = &args.checkpoint {
        let note = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read checkpoint {}", path.display()))?;
        let cp = verify_checkpoint(&note, &verifier).map_err(|e| {
            anyhow::anyhow!(
                "{} is not a checkpoint signed by the key of ledger {:?} ({e}): make one with `custody checkpoint --ledger-key KEY`",
                path.display(),
                meta.name
            )
        })?;
        return Ok((note, cp));
    }
    let Some(key_path) = &args.ledger_key else {
        anyhow::bail!("pass --checkpoint FILE (made by `custody checkpoint`) or --ledger-key KEY");
    };
    let key = keyfile::read(key_path)?;
    let signer = NoteSigner::new(&meta.name, key.signing_key().clone())
        .map_err(|e| anyhow::anyhow!("ledger name {:?}: {e}", meta.name))?;
    if signer.verifier_key() != meta.ledger_vkey {
        anyhow::bail!(
            "{} is not the checkpoint key of ledger {:?} (its verifier key is {})",
            key_path.display(),
            meta.name,
            meta.ledger_vkey
        );
    }
    let (size, root) = checkpoint::verified_tree(s, meta.trust.clone()).await?;
    let cp = Checkpoint {
        origin: meta.name.clone(),
        size,
        root,
        extensions: Vec::new(),
    };
    let note = signer
        .sign_checkpoint(&cp)
        .context("cannot sign the checkpoint")?;
    Ok((note, cp))
}

/// The medical keys the restricted payloads are sealed to.
struct MedicalRecipients {
    /// The facility or agency whose medical staff they are (given, or of the last handover).
    target: Option<String>,
    /// The keys, sorted, no duplicates.
    keys: Vec<PublicKeyId>,
    /// When there is none, why (for the warning).
    why_none: String,
}

/// The keys that at `now` hold role `medical`, are valid (not revoked, not expired) and act for
/// the receiving agency (`--medical-to`, or the `to_facility`/`to_agency` of the chain's last
/// `custody_released`; a facility stands for its agency), and the keys given with
/// `--medical-recipient` (each enrolled, medical and valid, or the export stops).
fn medical_recipients<'a>(
    trust: &TrustAnchors,
    records: impl Iterator<Item = &'a Record>,
    chain: &str,
    args: &PacketExportArgs,
    now: &Timestamp,
) -> anyhow::Result<MedicalRecipients> {
    let mut state = AuthorityState::new(trust.clone());
    let mut last_handover = None;
    for r in records {
        let h = &r.header;
        if h.chain == AUTHORITY_CHAIN {
            if let Some(body) = r
                .payload
                .as_ref()
                .and_then(|p| parse_body(h.kind, &p.body).ok())
            {
                state.apply(&body);
            }
        } else if h.chain == chain && h.kind == EventKind::CustodyReleased {
            last_handover = h
                .facts
                .str("to_facility")
                .or_else(|| h.facts.str("to_agency"))
                .map(str::to_string);
        }
    }
    let usable = |key: &PublicKeyId| {
        state
            .keys
            .get(key)
            .is_some_and(|k| k.roles.contains(&Role::Medical) && k.check_valid_at(now).is_ok())
    };
    let mut keys = Vec::new();
    for id in &args.medical_recipient {
        let key: PublicKeyId = id
            .parse()
            .map_err(|e| anyhow::anyhow!("--medical-recipient {id}: {e}"))?;
        if !usable(&key) {
            anyhow::bail!(
                "--medical-recipient {id}: not a key enrolled with role medical and valid now in the authority chain"
            );
        }
        keys.push(key);
    }
    // Explicit recipients alone replace the default receiver.
    let target = args
        .medical_to
        .clone()
        .or(last_handover.filter(|_| args.medical_recipient.is_empty()));
    let mut why_none = String::new();
    if let Some(t) = &target {
        let agency = match state.facilities.get(t) {
            Some(f) => Some(f.agency.clone()),
            None => state.agencies.contains_key(t).then(|| t.clone()),
        };
        match agency {
            Some(agency) => {
                let before = keys.len();
                keys.extend(
                    state
                        .keys
                        .iter()
                        .filter(|(key, info)| info.agency == agency && usable(key))
                        .map(|(key, _)| *key),
                );
                if keys.len() == before {
                    why_none = format!(
                        "no valid key with role medical is enrolled for {t} (agency {agency}); enrol one (`custody enroll key --roles medical`) or pass --medical-recipient"
                    );
                }
            }
            None => {
                why_none = format!(
                    "{t} is neither a facility nor an agency registered in the authority chain"
                );
            }
        }
    } else if keys.is_empty() {
        why_none = "the chain has no custody_released naming a receiving facility or agency: pass --medical-to or --medical-recipient".into();
    }
    keys.sort();
    keys.dedup();
    Ok(MedicalRecipients {
        target,
        keys,
        why_none,
    })
}

async fn export(out: Output, spec: &str, args: &PacketExportArgs) -> anyhow::Result<()> {
    let chain_arg = ChainArg::parse("chain", &args.chain)?;
    let s = store::open_store(spec, store::Create::No).await?;
    let meta = store::read_meta(spec, s.as_ref()).await?;
    let shown = store::display(spec);
    let chain = chain_arg.resolve("chain", s.as_ref(), &shown).await?;
    if chain == AUTHORITY_CHAIN {
        anyhow::bail!("--chain: a packet is of a detainee's chain (d-... or its code XXXX-XXXX-C), not of the authority chain");
    }
    let (note, cp) = checkpoint_note(s.as_ref(), &meta, args).await?;
    let current = s.size().await?;
    if cp.size > current {
        anyhow::bail!(
            "the checkpoint has {} records but {shown} holds {current}: it is not a checkpoint of this store's ledger",
            cp.size
        );
    }
    // The tree of stored nodes (the file beside a SQLite ledger, else one in memory): the root
    // and each proof cost O(log n) reads.
    let tree = prove::open_tree(spec, None, s.as_ref(), Some(cp.size)).await?;
    if tree.root(cp.size)? != cp.root {
        anyhow::bail!("the checkpoint's root is not that of the first {} records of {shown}: it is not a checkpoint of this ledger", cp.size);
    }
    let stored_chain = s.chain(&chain).await?;
    if stored_chain.is_empty() {
        anyhow::bail!("chain {chain} has no record in {shown}");
    }
    if let Some(late) = stored_chain.iter().find(|ev| ev.position >= cp.size) {
        anyhow::bail!(
            "the checkpoint of size {} does not cover event seq {} of chain {chain} (position {}): make a newer checkpoint (`custody checkpoint`) or pass --ledger-key",
            cp.size,
            late.record.header.seq,
            late.position
        );
    }

    // The records: the authority chain up to the checkpoint and the whole chain, in ledger order.
    let mut events = Vec::new();
    let mut scan = LedgerScan::new(s.as_ref(), 0).until(cp.size);
    while let Some(batch) = scan.next_batch().await? {
        events.extend(batch.into_iter().filter(|ev| {
            ev.record.header.chain == AUTHORITY_CHAIN || ev.record.header.chain == chain
        }));
    }
    let restricted: HashMap<String, Payload> = events
        .iter()
        .filter(|ev| ev.record.header.chain == chain && ev.record.header.kind.is_restricted())
        .filter_map(|ev| Some((ev.record.hash.to_hex(), ev.record.payload.clone()?)))
        .collect();
    let medical = medical_recipients(
        &meta.trust,
        events.iter().map(|ev| &ev.record),
        &chain,
        args,
        &clock::now()?,
    )?;
    let (records, mut withheld) = build::select(
        &chain,
        events.into_iter().map(|ev| {
            let held = match ev.payload {
                PayloadState::Present => build::Held::Present,
                PayloadState::Redacted => build::Held::Redacted,
                _ => build::Held::Missing,
            };
            (ev.position, ev.record, held)
        }),
    );

    // The restricted payloads, sealed to the receiver's medical keys when there are any.
    let sealed =
        build::seal_restricted(&mut withheld, |event| restricted.get(event), &medical.keys)
            .context("cannot seal the restricted payloads")?;
    if !restricted.is_empty() && medical.keys.is_empty() {
        eprintln!(
            "custody: warning: {} restricted payloads stay withheld (not sealed): {}",
            restricted.len(),
            medical.why_none
        );
    }

    // The evidence.
    let blobs = evidence_store::open(spec, u64::MAX / 2).await?;
    let mut evidence = Vec::new();
    for (_, r) in &records {
        let Some((digest, size)) = evidence_of(r) else {
            continue;
        };
        let held = blobs.size_of(&digest).await?;
        let (included, reason) = match held {
            None => (false, Some("not_in_store")),
            Some(n) if n != size => (false, Some("not_in_store")),
            Some(_) if size > args.max_blob_bytes => (false, Some("too_large")),
            Some(_) => (true, None),
        };
        evidence.push(EvidenceEntry {
            event: r.hash.to_hex(),
            digest: digest.to_hex(),
            size_bytes: size,
            included,
            reason: reason.map(str::to_string),
        });
    }

    let manifest = Manifest {
        format: MAGIC.to_string(),
        ledger: meta.name.clone(),
        chain: chain.clone(),
        code: code_for_chain(&chain),
        exported_at: clock::now()?.to_string(),
        trust: meta.trust.clone(),
        ledger_vkey: meta.ledger_vkey.clone(),
        records: records.len() as u64,
        withheld,
        evidence,
    };
    let file = crate::files::create_new(&args.out)?;
    let written = write_packet(
        file,
        &manifest,
        &records,
        Signed {
            note: &note,
            cp: &cp,
            tree: &tree,
        },
        &sealed,
        blobs.as_ref(),
    )
    .await;
    let digest = match written {
        Ok(d) => d,
        Err(e) => {
            let _ = std::fs::remove_file(&args.out);
            return Err(e.context(format!(
                "the packet was not written ({} removed)",
                args.out.display()
            )));
        }
    };
    let included = manifest.evidence.iter().filter(|e| e.included).count();
    tracing::info!(records = records.len(), "packet written");
    out.json(&json!({
        "file": args.out.display().to_string(),
        "digest": hex(&digest),
        "chain": chain,
        "code": manifest.code,
        "records": records.len(),
        "checkpoint_size": cp.size,
        "withheld": manifest.withheld.len(),
        "sealed": sealed.len(),
        "medical_to": medical.target,
        "medical_recipients": medical.keys.iter().map(|k| k.to_string()).collect::<Vec<_>>(),
        "evidence": manifest.evidence.len(),
        "evidence_included": included,
    }));
    if out.human() {
        println!("wrote transfer packet {}", args.out.display());
        println!("  chain      {chain} ({})", manifest.code);
        println!(
            "  records    {} ({} of the chain), checkpoint of size {}",
            records.len(),
            records
                .iter()
                .filter(|(_, r)| r.header.chain == chain)
                .count(),
            cp.size
        );
        println!(
            "  withheld   {} payloads (listed by kind in the packet)",
            manifest.withheld.len()
        );
        if !sealed.is_empty() {
            println!(
                "  sealed     {} of them, encrypted to {} medical keys{}",
                sealed.len(),
                medical.keys.len(),
                medical
                    .target
                    .as_deref()
                    .map(|t| format!(" of {t}"))
                    .unwrap_or_default()
            );
        }
        println!(
            "  evidence   {} ({} blobs included)",
            manifest.evidence.len(),
            included
        );
        println!("  digest     sha256 {}", hex(&digest));
    } else {
        out.result(hex(&digest));
    }
    Ok(())
}

/// The checkpoint a packet is written against: its note, what it verifies as, and the ledger's
/// tree holding it (for the proofs).
struct Signed<'a> {
    note: &'a str,
    cp: &'a Checkpoint,
    tree: &'a custody_tlog::TreeDb,
}

async fn write_packet(
    file: std::fs::File,
    manifest: &Manifest,
    records: &[(u64, Record)],
    Signed { note, cp, tree }: Signed<'_>,
    sealed: &[Vec<u8>],
    blobs: &dyn custody_evidence::BlobStore,
) -> anyhow::Result<[u8; 32]> {
    let mut w = PacketWriter::new(std::io::BufWriter::new(file), manifest)?;
    for (_, r) in records {
        w.record(r)?;
    }
    w.section(Section::Checkpoint, note.as_bytes())?;
    for (position, _) in records {
        let proof = build::proof_with(*position, cp.size, note, |i, n| tree.inclusion_proof(i, n))?;
        w.section(Section::Proof, proof.to_text().as_bytes())?;
    }
    for body in sealed {
        w.section(Section::Sealed, body)?;
    }
    let mut buf = vec![0u8; custody_evidence::CHUNK];
    for e in manifest.evidence.iter().filter(|e| e.included) {
        let digest: Hash = e.digest.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut reader = blobs.get(&digest).await?.ok_or_else(|| {
            anyhow::anyhow!("evidence blob {digest} left the store while the packet was written")
        })?;
        w.begin(Section::Blob, e.size_bytes)?;
        let mut copied = 0u64;
        loop {
            let n = reader.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            copied += n as u64;
            w.write_body(&buf[..n])?;
        }
        if copied != e.size_bytes {
            anyhow::bail!("evidence blob {digest} changed size while the packet was written");
        }
        w.end_body()?;
    }
    let (mut inner, digest) = w.finish()?;
    inner.flush()?;
    inner.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(digest)
}

pub(crate) fn read_trust(path: &Path) -> anyhow::Result<custody_core::authority::TrustAnchors> {
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value = custody_core::jcs::parse_strict(&text)
        .map_err(|e| anyhow::anyhow!("{} is not acceptable JSON: {e}", path.display()))?;
    serde_json::from_value(value)
        .map_err(|e| anyhow::anyhow!("{} is not a trust.json: {e}", path.display()))
}

pub(crate) fn read_vkey(arg: &str) -> anyhow::Result<String> {
    let path = Path::new(arg);
    if !arg.contains('+') && path.is_file() {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {arg}"))?;
        return Ok(text.trim().to_string());
    }
    Ok(arg.trim().to_string())
}

pub(crate) fn open_packet(path: &Path) -> anyhow::Result<BufReader<std::fs::File>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open packet {}", path.display()))?;
    Ok(BufReader::with_capacity(1 << 16, file))
}

/// The refusal of a packet, in the registrar's language.
pub(crate) fn refusal_text(f: &custody_packet::PacketFailure, lang: Lang) -> String {
    let head = match lang {
        Lang::Fr => "PAQUET REFUSÉ",
        Lang::En => "PACKET REFUSED",
    };
    let mut text = format!("{head} ({}): ", f.rule);
    if let (Some(chain), Some(seq)) = (&f.chain, f.seq) {
        let (ev, pos) = match lang {
            Lang::Fr => ("événement", "position"),
            Lang::En => ("event", "position"),
        };
        text.push_str(&format!("{ev} {chain} seq {seq}"));
        if let Some(p) = f.position {
            text.push_str(&format!(" ({pos} {p})"));
        }
        if let Some(h) = &f.hash {
            text.push_str(&format!(" {h}"));
        }
        text.push_str(": ");
    }
    text.push_str(&f.message);
    text
}

fn verify(out: Output, args: &PacketVerifyArgs) -> anyhow::Result<()> {
    let lang = match args.lang {
        cli::Lang::Fr => Lang::Fr,
        cli::Lang::En => Lang::En,
    };
    let medical_key = args.medical_key.as_deref().map(keyfile::read).transpose()?;
    let options = Options {
        trust: args.trust.as_deref().map(read_trust).transpose()?,
        ledger_vkey: args.ledger_vkey.as_deref().map(read_vkey).transpose()?,
        now: Some(clock::now()?),
        medical_key: medical_key.clone(),
    };
    let name = args.file.display().to_string();
    let v = verified_or_reported(out, &args.file, &options, lang, None)?;
    out.json(&json!({
        "ok": true,
        "file": name,
        "digest": hex(&v.digest),
        "chain": v.manifest.chain,
        "records": v.records.len(),
        "checkpoint_size": v.checkpoint.size,
        "trust_from_packet": v.trust_from_packet,
        "ledger_vkey_from_packet": v.vkey_from_packet,
        "withheld": v.manifest.withheld,
        "sealed": sealed_json(&v),
        "evidence": v.manifest.evidence,
    }));
    if !out.json {
        let (ok, digest) = match lang {
            Lang::Fr => ("PAQUET VÉRIFIÉ", "empreinte du paquet"),
            Lang::En => ("PACKET VERIFIED", "packet digest"),
        };
        println!("{ok}: {name}");
        println!("  {digest} sha256 {}", hex(&v.digest));
        let proved = match lang {
            Lang::Fr => format!("  {} enregistrements : signatures, chaînage, empreintes des contenus, autorité de chaque signataire à la date de signature, inclusion de chaque événement dans le point de contrôle signé de taille {}", v.records.len(), v.checkpoint.size),
            Lang::En => format!("  {} records: signatures, chain links, payload digests, each signer's authority when signing, inclusion of every event in the signed checkpoint of size {}", v.records.len(), v.checkpoint.size),
        };
        println!("{proved}");
        if let Some(line) = sealed_line(&v, medical_key.as_ref(), lang) {
            println!("  {line}");
        }
        if v.trust_from_packet || v.vkey_from_packet {
            println!("  {}", match lang {
                Lang::Fr => "ATTENTION : racines de confiance ou clé du registre prises dans le paquet lui-même ; passez --trust trust.json et --ledger-vkey pour prouver qu'il vient du registre attendu",
                Lang::En => "WARNING: trust anchors or ledger key taken from the packet itself; pass --trust trust.json and --ledger-vkey to prove it comes from the ledger you expect",
            });
        }
        println!();
        print!("{}", timeline::render(&v, lang));
    }
    Ok(())
}

/// Verifies the packet `file`; a refusal is reported here (one JSON line with `--json`, else
/// the reason in `lang`, then `consequence` when given) and returned as an error already
/// reported (exit 1).
pub(crate) fn verified_or_reported(
    out: Output,
    file: &Path,
    options: &Options,
    lang: Lang,
    consequence: Option<&str>,
) -> anyhow::Result<Verified> {
    let name = file.display().to_string();
    match verify_packet(open_packet(file)?, options) {
        Ok(v) => Ok(v),
        Err(PacketError::Refused(f)) => {
            if out.json {
                println!(
                    "{}",
                    json!({"ok": false, "file": name, "rule": f.rule, "position": f.position, "chain": f.chain, "seq": f.seq, "hash": f.hash, "message": f.message})
                );
            } else {
                let then = consequence.map(|c| format!(" ({c})")).unwrap_or_default();
                eprintln!("custody: {name}: {}{then}", refusal_text(&f, lang));
            }
            Err(refused_reported(format!("{name}: refused ({})", f.rule)))
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!("cannot verify {name}"))),
    }
}

fn sealed_state(state: &SealedState) -> &'static str {
    match state {
        SealedState::NoKey => "not_opened",
        SealedState::NotAddressed => "not_addressed",
        SealedState::Opened(_) => "opened",
    }
}

/// The sealed payloads as JSON: event, kind, recipients and what was done (never the content).
fn sealed_json(v: &custody_packet::Verified) -> serde_json::Value {
    serde_json::Value::Array(
        v.sealed
            .iter()
            .map(|s| {
                json!({"event": s.event, "kind": s.kind, "recipients": s.recipients, "state": sealed_state(&s.state)})
            })
            .collect(),
    )
}

/// What the medical key did with the sealed payloads, one line.
fn sealed_line(
    v: &custody_packet::Verified,
    key: Option<&custody_core::SecretKey>,
    lang: Lang,
) -> Option<String> {
    if v.sealed.is_empty() {
        return None;
    }
    let n = v.sealed.len();
    let opened = v
        .sealed
        .iter()
        .filter(|s| matches!(s.state, SealedState::Opened(_)))
        .count();
    Some(match (key, lang) {
        (None, Lang::Fr) => format!("{n} contenus scellés pour le service médical du destinataire : non ouverts (passez --medical-key)"),
        (None, Lang::En) => format!("{n} payloads sealed to the receiver's medical staff: not opened (pass --medical-key)"),
        (Some(k), Lang::Fr) => format!("clé médicale {} : {opened} contenus scellés ouverts et conformes à leur en-tête signé, {} non adressés à cette clé", k.public(), n - opened),
        (Some(k), Lang::En) => format!("medical key {}: {opened} sealed payloads opened, matching their signed headers; {} not addressed to this key", k.public(), n - opened),
    })
}

/// The store's metadata document listing the payloads that packets imported into it withheld:
/// `{"<event hash>": {"reason": "sealed" | "restricted" | "redacted" | "missing", "packet":
/// "<packet digest>"}}`.
pub const WITHHELD_META: &str = "withheld_by_sender";

/// Adds `events` (hash, reason) to [`WITHHELD_META`] (an entry already there is kept).
async fn note_withheld(
    s: &dyn LedgerStore,
    events: &[(String, String)],
    packet: &str,
) -> anyhow::Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let mut doc = match s.meta(WITHHELD_META).await? {
        Some(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    let before = doc.len();
    for (event, reason) in events {
        doc.entry(event.clone())
            .or_insert_with(|| json!({"reason": reason, "packet": packet}));
    }
    if doc.len() != before {
        s.set_meta(WITHHELD_META, &serde_json::Value::Object(doc))
            .await
            .context("cannot keep the list of payloads the packet withheld")?;
    }
    Ok(())
}

/// The payloads packets imported into the store withheld: event hash to (reason, packet digest).
pub async fn withheld_by_sender(
    s: &dyn LedgerStore,
) -> anyhow::Result<HashMap<String, (String, String)>> {
    let Some(serde_json::Value::Object(doc)) = s.meta(WITHHELD_META).await? else {
        return Ok(HashMap::new());
    };
    Ok(doc
        .into_iter()
        .map(|(event, v)| {
            let field = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("?").to_string();
            (event, (field("reason"), field("packet")))
        })
        .collect())
}

/// The one place a fork found by an import is handled: the packet's version is kept whole in
/// the store's fork alarm log (`Ledger::record_fork` checks it is validly signed first), the
/// ledger is left as it is, and the import is refused: nothing of the packet is appended.
async fn on_fork(
    ledger: &custody_ledger::Ledger,
    packet_name: &str,
    stored: &Hash,
    other: &custody_core::Record,
) -> anyhow::Error {
    let (chain, seq) = (&other.header.chain, other.header.seq);
    tracing::warn!(%chain, seq, %stored, packet = %other.hash, "fork found by a packet import");
    let kept = match clock::now() {
        Ok(now) => match ledger
            .record_fork(other, &format!("packet import {packet_name}"), &now)
            .await
        {
            Ok(custody_ledger::ForkOutcome::Recorded { .. }) => "kept as a new fork alarm",
            Ok(custody_ledger::ForkOutcome::AlreadyRecorded { .. }) => {
                "already kept by an earlier fork alarm"
            }
            Ok(_) => "not kept (the same record after all)",
            Err(e) => {
                return refused(format!(
                    "fork: chain {chain} seq {seq} is event {stored} in this store but event {} in the packet, whose version is refused ({e}); nothing was imported",
                    other.hash
                ))
            }
        },
        Err(e) => return e,
    };
    refused(format!(
        "fork: chain {chain} seq {seq} is event {stored} in this store but event {} in the packet ({kept}: `custody forks` lists it); nothing was imported: two different records claim the same place in the chain",
        other.hash
    ))
}

async fn import(out: Output, spec: &str, args: &PacketImportArgs) -> anyhow::Result<()> {
    let ledger = store::open_ledger(spec).await?;
    let meta = ledger.meta().clone();
    let options = Options {
        trust: Some(meta.trust.clone()),
        ledger_vkey: Some(meta.ledger_vkey.clone()),
        now: Some(clock::now()?),
        medical_key: args.medical_key.as_deref().map(keyfile::read).transpose()?,
    };
    let name = args.file.display().to_string();
    let v = match verify_packet(open_packet(&args.file)?, &options) {
        Ok(v) => v,
        Err(PacketError::Refused(f)) => {
            return Err(refused(format!(
                "{name} does not verify against this ledger's trust anchors and key, nothing was imported: {}",
                refusal_text(&f, Lang::En)
            )))
        }
        Err(e) => return Err(anyhow::Error::new(e).context(format!("cannot read {name}"))),
    };
    // The sealed payloads opened with the medical key travel on with their records.
    let opened: HashMap<String, Payload> = v
        .sealed
        .iter()
        .filter_map(|s| match &s.state {
            SealedState::Opened(p) => Some((s.event.clone(), p.clone())),
            _ => None,
        })
        .collect();
    let records: Vec<Record> = v
        .records
        .iter()
        .map(|(_, r)| match opened.get(&r.hash.to_hex()) {
            Some(p) => Record {
                payload: Some(p.clone()),
                ..r.clone()
            },
            None => r.clone(),
        })
        .collect();
    let s = ledger.store().clone();
    // Forks first: nothing is appended when any position is held by another event.
    for chain in [AUTHORITY_CHAIN, v.manifest.chain.as_str()] {
        let stored = s.chain(chain).await?;
        for (_, r) in v.records.iter().filter(|(_, r)| r.header.chain == chain) {
            if let Some(ev) = stored
                .iter()
                .find(|ev| ev.record.header.seq == r.header.seq)
            {
                if ev.record.hash != r.hash {
                    return Err(on_fork(&ledger, &name, &ev.record.hash, r).await);
                }
            }
        }
    }
    // A primary requires the payload of every new detainee record: refuse before appending
    // anything rather than stop half-way at the first withheld one.
    if meta.role == custody_ledger::LedgerRole::Primary {
        for r in records
            .iter()
            .filter(|r| r.payload.is_none() && r.header.chain != AUTHORITY_CHAIN)
        {
            if s.event(&r.hash).await?.is_none() {
                return Err(refused(format!(
                    "{name} withholds the payload of {} seq {} ({}), and this store is a primary ledger, which requires the payload of every new record: nothing was imported; import into a replica (`custody init --trust`)",
                    r.header.chain, r.header.seq, r.header.kind
                )));
            }
        }
    }
    let blobs = evidence_store::open(spec, args.max_bytes).await?;
    for b in &v.blobs {
        if b.size > args.max_bytes {
            return Err(refused(format!("evidence blob {} has {} bytes, more than the limit of {} (--max-bytes): nothing was imported", b.digest, b.size, args.max_bytes)));
        }
    }
    let (mut appended, mut already) = (0u64, 0u64);
    for r in &records {
        let now = clock::now()?;
        match ledger.append(r, &now).await {
            Ok(AppendOutcome::Appended { .. }) => appended += 1,
            Ok(AppendOutcome::Duplicate { .. }) => already += 1,
            Err(e @ AppendError::Invalid(_)) => {
                return Err(append_error(e).context(format!(
                    "{name}: record {} seq {} ({}) refused by this ledger after {appended} were appended",
                    r.header.chain, r.header.seq, r.hash
                )))
            }
            Err(e) => return Err(append_error(e)),
        }
    }
    // What the sender withheld, kept so that this store's `custody verify` tells a payload
    // never received from one it lost.
    let mut received_without: Vec<(String, String)> = Vec::new();
    for w in v
        .manifest
        .withheld
        .iter()
        .filter(|w| !opened.contains_key(&w.event))
    {
        let hash: Hash = w.event.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
        let stored = s.event(&hash).await?;
        if stored.is_some_and(|ev| ev.payload == PayloadState::Missing) {
            received_without.push((w.event.clone(), w.reason.clone()));
        }
    }
    note_withheld(s.as_ref(), &received_without, &hex(&v.digest)).await?;
    let (mut stored, mut held) = (0u64, 0u64);
    for b in &v.blobs {
        let mut file = tokio::fs::File::open(&args.file)
            .await
            .with_context(|| format!("cannot open {name}"))?;
        file.seek(std::io::SeekFrom::Start(b.offset)).await?;
        let mut section = file.take(b.size);
        let id = custody_evidence::BlobId {
            digest: b.digest,
            size: b.size,
        };
        match blobs.put(id, &mut section).await? {
            custody_evidence::PutOutcome::Stored => stored += 1,
            custody_evidence::PutOutcome::AlreadyStored => held += 1,
        }
    }
    out.json(&json!({
        "ok": true,
        "digest": hex(&v.digest),
        "chain": v.manifest.chain,
        "appended": appended,
        "already_stored": already,
        "blobs_stored": stored,
        "blobs_already_stored": held,
        "sealed_opened": opened.len(),
        "sealed_not_opened": v.sealed.len() - opened.len(),
    }));
    out.result(format!(
        "{name}: {appended} records appended, {already} already stored; {stored} evidence blobs stored, {held} already stored; {} sealed payloads opened and stored, {} not opened (stored as headers)",
        opened.len(),
        v.sealed.len() - opened.len()
    ));
    Ok(())
}
