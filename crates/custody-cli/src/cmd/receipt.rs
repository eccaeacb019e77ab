//! `custody packet receipt FILE --out receipt.html`: the printable handover receipt
//! ([`custody_packet::receipt`]), one A4 page that both sides sign at the gate.
//!
//! The packet is verified first, exactly as `custody packet verify` does (a packet that does
//! not verify gets no receipt, exit 1); against `--trust`/`--ledger-vkey` when given, else
//! against the receiving store's own anchors and key, else (no store) against the packet's own,
//! which the page then says. When the store holds the `custody_accepted` that answers the
//! packet's handover, the receipt shows it: the receiving signer, the time, the condition on
//! arrival and the discrepancies; otherwise it leaves lines to fill in by hand.

use std::io::Write;
use std::path::Path;

use custody_core::encoding::hex;
use custody_core::ids::AUTHORITY_CHAIN;
use custody_core::kinds::EventKind;
use custody_packet::receipt::{self, Acceptance, Receipt};
use custody_packet::timeline::Lang;
use custody_packet::Options;
use serde_json::json;

use crate::cli::{self, PacketReceiptArgs};
use crate::cmd::packet::{read_trust, read_vkey, verified_or_reported};
use crate::output::Output;
use crate::{clock, labels, store};

/// Verifies the packet and writes its receipt.
pub async fn run(out: Output, spec: &str, args: &PacketReceiptArgs) -> anyhow::Result<()> {
    let (lang, labels_lang) = match args.lang {
        cli::Lang::Fr => (Lang::Fr, labels::Lang::Fr),
        cli::Lang::En => (Lang::En, labels::Lang::En),
    };
    let shown = store::display(spec);
    // The receiving store, unless told not to look or there is none.
    let s = if args.no_store || (!store::is_nats(spec) && !Path::new(spec).exists()) {
        None
    } else {
        Some(store::open_store(spec, store::Create::No).await?)
    };
    let meta = match &s {
        Some(s) => Some(store::read_meta(spec, s.as_ref()).await?),
        None => None,
    };
    let (trust, from_store_trust) = match (&args.trust, &meta) {
        (Some(path), _) => (Some(read_trust(path)?), false),
        (None, Some(m)) => (Some(m.trust.clone()), true),
        (None, None) => (None, false),
    };
    let (vkey, from_store_vkey) = match (&args.ledger_vkey, &meta) {
        (Some(arg), _) => (Some(read_vkey(arg)?), false),
        (None, Some(m)) => (Some(m.ledger_vkey.clone()), true),
        (None, None) => (None, false),
    };
    let options = Options {
        trust,
        ledger_vkey: vkey,
        now: Some(clock::now()?),
        medical_key: None,
    };
    let name = args.file.display().to_string();
    let v = verified_or_reported(
        out,
        &args.file,
        &options,
        lang,
        Some(match lang {
            Lang::Fr => "aucun reçu n'est écrit",
            Lang::En => "no receipt is written",
        }),
    )?;
    let Some(release) = receipt::handover(&v) else {
        anyhow::bail!(
            "{name}: chain {} ({}) records no handover (custody_released): there is nothing to acknowledge; record `custody_released` first, then export the packet again",
            v.manifest.chain,
            v.manifest.code
        );
    };
    let release_hash = release.hash.to_hex();

    // The acceptance, from the receiving store.
    let mut acceptance = None;
    if let Some(s) = &s {
        let chain = s.chain(&v.manifest.chain).await?;
        if let Some(ev) = chain.into_iter().find(|ev| {
            ev.record.header.kind == EventKind::CustodyAccepted
                && ev.record.header.facts.str("release_event") == Some(release_hash.as_str())
        }) {
            let authority = s.chain(AUTHORITY_CHAIN).await?;
            let signer = receipt::key_holder(
                authority.iter().map(|a| &a.record),
                &ev.record.header.signer,
            );
            acceptance = Some(Acceptance {
                record: ev.record,
                signer,
            });
        }
    }
    let in_packet = receipt::acceptance_in_packet(&v, release).is_some();
    let accepted = in_packet || acceptance.is_some();

    let verified_with = match (
        args.trust.is_some() || args.ledger_vkey.is_some(),
        from_store_trust && from_store_vkey,
    ) {
        (true, _) => match lang {
            Lang::Fr => "avec les racines de confiance et la clé du registre données (--trust, --ledger-vkey) ;".to_string(),
            Lang::En => "with the ledger's trust anchors and key as given (--trust, --ledger-vkey);".to_string(),
        },
        (false, true) => match lang {
            Lang::Fr => format!("avec les racines de confiance et la clé du registre de réception ({shown}) ;"),
            Lang::En => format!("with the receiving store's trust anchors and ledger key ({shown});"),
        },
        (false, false) => match lang {
            Lang::Fr => "avec les racines de confiance et la clé portées par le paquet ;".to_string(),
            Lang::En => "with the trust anchors and key the packet carries;".to_string(),
        },
    };
    let value_label = move |raw: &str| labels::value(labels_lang, raw);
    let page = receipt::render_html(&Receipt {
        packet: &v,
        acceptance,
        lang,
        printed_at: clock::now()?.to_string(),
        verified_with,
        value_label: &value_label,
    })?;
    let mut file = crate::files::create_new(&args.out)?;
    file.write_all(page.as_bytes())?;
    file.sync_all()?;

    out.json(&json!({
        "ok": true,
        "file": name,
        "out": args.out.display().to_string(),
        "digest": hex(&v.digest),
        "chain": v.manifest.chain,
        "code": v.manifest.code,
        "release_event": release_hash,
        "accepted": accepted,
        "store": s.as_ref().map(|_| shown.clone()),
    }));
    if out.human() {
        let (wrote, acc) = match (lang, accepted) {
            (Lang::Fr, true) => ("reçu de remise écrit", "prise en charge incluse"),
            (Lang::Fr, false) => (
                "reçu de remise écrit",
                "prise en charge non encore enregistrée : lignes à remplir à la main",
            ),
            (Lang::En, true) => ("handover receipt written", "acceptance included"),
            (Lang::En, false) => (
                "handover receipt written",
                "acceptance not yet recorded: lines to fill in by hand",
            ),
        };
        println!("{wrote}: {}", args.out.display());
        println!("  {} ({})", v.manifest.code, v.manifest.chain);
        println!("  sha256 {}", hex(&v.digest));
        println!("  {acc}");
        if s.is_none() && !args.no_store {
            println!(
                "  {}",
                match lang {
                    Lang::Fr => format!("aucun registre dans {shown} : reçu fait du paquet seul (passez --store pour le registre de réception)"),
                    Lang::En => format!("no ledger in {shown}: receipt made from the packet alone (pass --store for the receiving store)"),
                }
            );
        }
    } else {
        out.result(args.out.display().to_string());
    }
    Ok(())
}
