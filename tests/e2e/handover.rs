//! The handover at the gate, end to end with the real binary: the gendarmerie records the
//! arrest, the evidence and `custody_released` to the prison, and exports the packet; the
//! prison's own store (a replica of the ledger) verifies it, imports it and records
//! `custody_accepted` with its discrepancies (an evidence item listed but absent, an injury seen
//! on arrival); the inbox empties; the printable receipt (French, then English) names the code,
//! the packet digest, both agencies and both signers, and a real browser (headless Chromium)
//! prints it on exactly one A4 page, even for a long chain.
//!
//! Chromium is `CUSTODY_CHROMIUM` or /usr/bin/chromium (`apt-get install chromium`); without it
//! these tests fail, saying so. `CUSTODY_RECEIPT_SHOTS=DIR` keeps the pages, their PDFs and
//! screenshots (A4 at 96 dpi) in DIR, to look at them.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use custody_core::kinds::EventKind;
use custody_core::Record;
use serde_json::{json, Value};

/// The gendarmerie's key (judicial police officer) and its public key.
const GENDARME_BADGE: &str = "GEND-0042";

struct Gate {
    /// The gendarmerie's store (the ledger's primary here).
    hq: World,
    keys: Keys,
    gendarme: String,
    gendarme_public: String,
    chain: String,
    code: String,
}

/// The ledger with a gendarmerie key enrolled, and one person arrested by the gendarmerie.
fn gate() -> Gate {
    let hq = World::sqlite();
    let keys = setup_ledger(&hq);
    let (gendarme, gendarme_public) = hq.keygen("gendarme.key");
    hq.ok(&[
        "enroll",
        "key",
        "--root-key",
        &keys.root,
        "--key",
        &gendarme_public,
        "--agency",
        GENDARMERIE,
        "--roles",
        "judicial_police_officer",
        "--holder-name",
        "Adjudant-chef Test",
        "--badge",
        GENDARME_BADGE,
        "--valid-from",
        VALID_FROM,
    ]);
    let mut arrest = arrest_body();
    arrest["arresting_force"] = json!(GENDARMERIE);
    let body = hq.write("arrest.json", &arrest.to_string());
    let v = hq.ok_json(&[
        "record",
        "arrest",
        "--key",
        &gendarme,
        "--agency",
        GENDARMERIE,
        "--new-chain",
        "--body",
        &body,
    ]);
    Gate {
        chain: v["chain"].as_str().expect("chain").to_string(),
        code: v["code"].as_str().expect("code").to_string(),
        hq,
        keys,
        gendarme,
        gendarme_public,
    }
}

impl Gate {
    fn evidence(&self, name: &str, label: &str, bytes: &[u8]) -> String {
        let path = self.hq.path(name);
        std::fs::write(&path, bytes).unwrap();
        let v = self.hq.ok_json(&[
            "evidence",
            "add",
            "--chain",
            &self.code,
            path.to_str().unwrap(),
            "--label",
            label,
            "--provenance",
            "taken at Camp I by the investigating unit",
            "--media-type",
            "image/jpeg",
            "--key",
            &self.gendarme,
            "--agency",
            GENDARMERIE,
        ]);
        v["digest"].as_str().unwrap().to_string()
    }

    /// `custody_released` to the prison; returns the release's hash.
    fn release(&self) -> String {
        let body = self.hq.write(
            "released.json",
            &json!({
                "to_agency": PRISON,
                "to_facility": "ml-mca-bamako-main",
                "place": {"description": "Camp I, main gate", "region": "Bamako District", "locality": "Bamako"},
                "reason": "placement decided by the prosecutor of the judicial pole",
                "legal_status": "arrested",
                "transport": "gendarmerie pick-up, escort of two",
                "items_handed_over": [{"label": "mobile phone", "quantity": 1}],
                "documents_handed_over": [{"title": "procès-verbal d'audition", "reference": "PV-2026-117"}],
                "condition_at_release": {"visible_injuries": {"present": false}, "complaints_of_ill_treatment": {"present": false}}
            })
            .to_string(),
        );
        let v = self.hq.ok_json(&[
            "record",
            "custody_released",
            "--chain",
            &self.code,
            "--key",
            &self.gendarme,
            "--agency",
            GENDARMERIE,
            "--body",
            &body,
        ]);
        v["hash"].as_str().expect("hash").to_string()
    }

    /// `custody packet export` with small blobs only; returns the packet's path.
    fn export(&self, name: &str) -> String {
        let out = self.hq.path(name).display().to_string();
        self.hq.ok(&[
            "packet",
            "export",
            "--chain",
            &self.code,
            "--out",
            &out,
            "--ledger-key",
            &self.keys.ledger,
            "--max-blob-bytes",
            "1000",
        ]);
        out
    }

    /// The prison's own store: a replica of the ledger made from its public files.
    fn prison(&self) -> World {
        common::replica_of(&self.hq)
    }
}

fn sha256_hex(path: &str) -> String {
    custody_core::Hash::of(&std::fs::read(path).unwrap()).to_hex()
}

fn grouped(hex: &str) -> String {
    hex.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text of the element with this id (up to its closing tag).
fn element<'a>(html: &'a str, id: &str) -> &'a str {
    let open = format!("id=\"{id}\">");
    let at = html
        .find(&open)
        .unwrap_or_else(|| panic!("no element {id}:\n{html}"));
    let rest = &html[at + open.len()..];
    &rest[..rest.find("</").unwrap_or(rest.len())]
}

fn accept_body(release: &str, discrepancies: &[String], injury: &str) -> Value {
    json!({
        "release_event": release,
        "facility": "ml-mca-bamako-main",
        "received_by": {"service_number": "MCA-0001", "function": "greffier"},
        "condition_on_arrival": {
            "visible_injuries": {"present": true, "details": injury},
            "complaints_of_ill_treatment": {"present": false}
        },
        "documents_received": [{"title": "procès-verbal d'audition", "reference": "PV-2026-117"}],
        "discrepancies": discrepancies
    })
}

fn registrar_public(keys: &Keys) -> String {
    read_key(&keys.registrar).public().to_string()
}

#[test]
fn the_gate_verifies_imports_accepts_with_discrepancies_and_prints_the_receipt() {
    chromium(); // fails first, with what to install, when the browser is missing
    let g = gate();
    g.evidence("note.jpg", "photo of the seized notebook", &[7u8; 300]);
    g.evidence("radio.jpg", "photo of the seized radio", &[9u8; 5000]);
    let release = g.release();
    let waiting = g.hq.ok_json(&["inbox", "--agency", PRISON]);
    assert_eq!(
        waiting["waiting"][0]["chain"],
        g.chain.as_str(),
        "{waiting}"
    );
    let packet = g.export("transfer.packet");
    let digest = sha256_hex(&packet);

    // At the prison: verify (the ledger's public files), read the timeline, import.
    let prison = g.prison();
    let trust = g.hq.path("trust.json").display().to_string();
    let vkey = g.hq.path("ledger.vkey").display().to_string();
    let fr = prison.ok(&[
        "packet",
        "verify",
        &packet,
        "--trust",
        &trust,
        "--ledger-vkey",
        &vkey,
    ]);
    assert!(fr.contains("PAQUET VÉRIFIÉ"), "{fr}");
    assert!(fr.contains(&digest), "{fr}");
    assert!(fr.contains("Garde successive"), "{fr}");
    assert!(fr.contains(&format!("remis à {PRISON}")), "{fr}");
    assert!(fr.contains("trop") || fr.contains("non jointe"), "{fr}");
    let v = prison.ok_json(&["packet", "import", &packet]);
    assert_eq!(v["digest"], digest.as_str(), "{v}");
    let waiting = prison.ok_json(&["inbox", "--agency", PRISON]);
    assert_eq!(
        waiting["waiting"][0]["chain"],
        g.chain.as_str(),
        "{waiting}"
    );

    // The registrar records the acceptance with what differs from what was announced.
    let manifest = prison.ok_json(&["packet", "verify", &packet]);
    let absent: Vec<&Value> = manifest["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["included"] == false)
        .collect();
    assert_eq!(absent.len(), 1, "one evidence item stays out: {manifest}");
    assert_eq!(absent[0]["reason"], "too_large");
    let missing = format!(
        "pièce annoncée mais absente : photo of the seized radio (sha256 {})",
        &absent[0]["digest"].as_str().unwrap()[..16]
    );
    let injury = "hématome de 4 cm à l'avant-bras gauche, vu à l'arrivée <non déclaré>";
    let body = prison.write(
        "accepted.json",
        &accept_body(&release, std::slice::from_ref(&missing), injury).to_string(),
    );
    let accepted = prison.ok_json(&[
        "record",
        "custody_accepted",
        "--chain",
        &g.code,
        "--key",
        &g.keys.registrar,
        "--agency",
        PRISON,
        "--body",
        &body,
    ]);
    let acceptance_hash = accepted["hash"].as_str().unwrap().to_string();

    // Stored, and the prison's ledger verifies; nobody waits at the gate any more.
    let stored: Vec<Record> = prison.export();
    let acc = stored
        .iter()
        .find(|r| r.header.kind == EventKind::CustodyAccepted)
        .expect("the acceptance is stored");
    assert_eq!(acc.hash.to_hex(), acceptance_hash);
    assert_eq!(
        acc.header.facts.str("release_event"),
        Some(release.as_str())
    );
    let verified = prison.ok_json(&["verify"]);
    assert_eq!(verified["ok"], true, "{verified}");
    let waiting = prison.ok_json(&["inbox", "--agency", PRISON]);
    assert_eq!(waiting["waiting"], json!([]), "{waiting}");
    let text = prison.ok(&["inbox", "--agency", PRISON]);
    assert!(!text.contains(&g.code), "{text}");

    // The receipt, in French (default), with the acceptance from the prison's store.
    let out_fr = prison.path("receipt-fr.html").display().to_string();
    let v = prison.ok_json(&["packet", "receipt", &packet, "--out", &out_fr]);
    assert_eq!(v["accepted"], true, "{v}");
    assert_eq!(v["digest"], digest.as_str(), "{v}");
    let fr = std::fs::read_to_string(&out_fr).unwrap();
    assert!(fr.starts_with("<!DOCTYPE html>"), "{fr}");
    assert!(fr.contains("<html lang=\"fr\">"));
    assert!(fr.contains("@page { size: A4;"));
    assert!(!fr.contains("http://") && !fr.contains("https://") && !fr.contains("src="));
    assert_eq!(element(&fr, "code"), g.code);
    assert_eq!(element(&fr, "digest-short"), grouped(&digest[..16]));
    assert_eq!(
        element(&fr, "digest"),
        format!(
            "sha256 {}<br>{}",
            grouped(&digest[..32]),
            grouped(&digest[32..])
        )
    );
    assert!(element(&fr, "from-agency").contains(GENDARMERIE), "{fr}");
    assert!(
        element(&fr, "from-agency").contains("Gendarmerie Camp I"),
        "{fr}"
    );
    assert!(element(&fr, "to-agency").contains(PRISON), "{fr}");
    assert!(
        element(&fr, "to-agency").contains("Maison Centrale d&#39;Arrêt de Bamako"),
        "{fr}"
    );
    assert_eq!(element(&fr, "release-signer"), g.gendarme_public);
    assert_eq!(element(&fr, "accept-signer"), registrar_public(&g.keys));
    assert!(fr.contains(GENDARME_BADGE), "{fr}");
    assert!(fr.contains("officier de police judiciaire"), "{fr}");
    assert!(fr.contains("greffier de l&#39;établissement"), "{fr}");
    assert!(fr.contains(&release[..16]) && fr.contains(&acceptance_hash[..16]));
    // The discrepancy and the injury, escaped.
    let discrepancies = element(&fr, "discrepancies");
    assert!(
        fr.contains(&format!("<li>{}</li>", missing.replace('\'', "&#39;"))),
        "{discrepancies}\n{fr}"
    );
    let arrival = element(&fr, "arrival-visible_injuries");
    assert!(arrival.contains("OUI"), "{fr}");
    assert!(
        fr.contains("vu à l&#39;arrivée &lt;non déclaré&gt;"),
        "the injury, escaped: {fr}"
    );
    assert!(!fr.contains("<non déclaré>"));
    // The evidence, present and absent.
    assert!(fr.contains("photo of the seized notebook"), "{fr}");
    assert!(fr.contains("présente, empreinte vérifiée"), "{fr}");
    assert!(fr.contains("ABSENTE</span> (trop volumineuse)"), "{fr}");
    assert!(
        fr.contains("Agence qui remet") && fr.contains("Cachet"),
        "{fr}"
    );
    assert!(fr.contains("avec les racines de confiance et la clé du registre de réception"));
    // No personal data of the detainee.
    assert!(!fr.contains("blue boubou"), "{fr}");
    assert!(!fr.contains("checkpoint at the north exit"), "{fr}");
    assert!(
        !fr.contains("mobile phone"),
        "no inventory of belongings: {fr}"
    );

    // In English on request.
    let out_en = prison.path("receipt-en.html").display().to_string();
    prison.ok(&[
        "packet", "receipt", &packet, "--out", &out_en, "--lang", "en",
    ]);
    let en = std::fs::read_to_string(&out_en).unwrap();
    assert!(en.contains("<html lang=\"en\">"));
    assert!(en.contains("Receipt for the handover"), "{en}");
    assert!(en.contains("Releasing agency") && en.contains("Receiving agency"));
    assert!(en.contains("ABSENT</span> (too large)"), "{en}");
    assert!(en.contains("Stamp"));
    assert!(!en.contains("Agence qui remet"), "{en}");
    assert_eq!(element(&en, "code"), g.code);
    assert_eq!(element(&en, "digest-short"), grouped(&digest[..16]));
    assert_eq!(element(&en, "accept-signer"), registrar_public(&g.keys));
    assert!(en.contains("judicial police officer"), "{en}");

    // Never overwritten; created 0600.
    let r = prison.fails(2, &["packet", "receipt", &packet, "--out", &out_fr]);
    assert!(r.stderr.contains("exists"), "{}", r.stderr);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out_fr).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The sender's side has no acceptance: lines to fill in by hand.
    let sender = g.hq.path("receipt-sender.html").display().to_string();
    let v =
        g.hq.ok_json(&["packet", "receipt", &packet, "--out", &sender]);
    assert_eq!(v["accepted"], false, "{v}");
    let s = std::fs::read_to_string(&sender).unwrap();
    assert!(s.contains("Prise en charge non encore enregistrée"), "{s}");
    assert!(!s.contains("accept-signer"));

    // From the packet alone: no acceptance, and the page says whose anchors were used.
    let alone = prison.path("receipt-alone.html").display().to_string();
    let v = prison.ok_json(&["packet", "receipt", &packet, "--out", &alone, "--no-store"]);
    assert_eq!(v["accepted"], false, "{v}");
    assert_eq!(v["store"], Value::Null, "{v}");
    let a = std::fs::read_to_string(&alone).unwrap();
    assert!(a.contains("ATTENTION : racines de confiance"), "{a}");
    let given = prison.path("receipt-given.html").display().to_string();
    prison.ok(&[
        "packet",
        "receipt",
        &packet,
        "--out",
        &given,
        "--no-store",
        "--trust",
        &trust,
        "--ledger-vkey",
        &vkey,
    ]);
    let a = std::fs::read_to_string(&given).unwrap();
    assert!(!a.contains("ATTENTION"), "{a}");
    assert!(a.contains("(--trust, --ledger-vkey)"), "{a}");

    // A changed packet gets no receipt.
    let mut bytes = std::fs::read(&packet).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    let bad = prison.write("changed.packet", "");
    std::fs::write(&bad, &bytes).unwrap();
    let out_bad = prison.path("receipt-bad.html");
    let r = prison.fails(
        1,
        &[
            "packet",
            "receipt",
            &bad,
            "--out",
            out_bad.to_str().unwrap(),
        ],
    );
    assert!(r.stderr.contains("PAQUET REFUSÉ"), "{}", r.stderr);
    assert!(r.stderr.contains("aucun reçu"), "{}", r.stderr);
    assert!(!out_bad.exists());

    // Rendered by a real browser: one A4 page, in both languages.
    for (html, name) in [(&out_fr, "fr"), (&out_en, "en")] {
        let pdf = prison.path(&format!("receipt-{name}.pdf"));
        print_to_pdf(Path::new(html), &pdf);
        let png = prison.path(&format!("receipt-{name}.png"));
        screenshot(Path::new(html), &png);
        keep_for_review(&png, &format!("receipt-{name}.png"));
        assert_eq!(pdf_pages(&pdf), 1, "the {name} receipt prints on one page");
    }
}

#[test]
fn a_long_chain_with_long_discrepancies_still_prints_on_one_page() {
    chromium();
    let g = gate();
    let key = read_key(&g.gendarme);
    // Forty evidence records whose blobs the sender never had, signed at the camp.
    let mut records = Vec::new();
    let mut head =
        g.hq.export()
            .into_iter()
            .rfind(|r| r.header.chain == g.chain)
            .unwrap();
    for i in 0..40u32 {
        let digest = custody_core::Hash::of(&i.to_be_bytes()).to_hex();
        let next = signed_next(
            &key,
            &head,
            EventKind::EvidenceAdded,
            GENDARMERIE,
            json!({"content_digest": digest, "size_bytes": 1000 + i, "media_type": "image/jpeg",
                   "label": format!("photo {i} of the seized documents, {}", "long label ".repeat(15).trim()),
                   "provenance": "camp"}),
        );
        records.push(next.clone());
        head = next;
    }
    let file = g.hq.path("evidence.jsonl");
    write_jsonl(&file, &records);
    g.hq.ok(&["submit", file.to_str().unwrap()]);
    let release = g.release();
    let packet = g.export("long.packet");
    let prison = g.prison();
    prison.ok(&["packet", "import", &packet]);
    let long = "é<&>'\" ".repeat(570);
    let discrepancies: Vec<String> = (0..9).map(|i| format!("{i} {long}")).collect();
    let body = prison.write(
        "accepted.json",
        &accept_body(&release, &discrepancies, &long).to_string(),
    );
    prison.ok(&[
        "record",
        "custody_accepted",
        "--chain",
        &g.code,
        "--key",
        &g.keys.registrar,
        "--agency",
        PRISON,
        "--body",
        &body,
    ]);
    for lang in ["fr", "en"] {
        let out = prison.path(&format!("long-{lang}.html"));
        prison.ok(&[
            "packet",
            "receipt",
            &packet,
            "--out",
            out.to_str().unwrap(),
            "--lang",
            lang,
        ]);
        let html = std::fs::read_to_string(&out).unwrap();
        assert!(
            html.contains("… 5 "),
            "the discrepancies beyond four are counted: {lang}"
        );
        assert!(
            html.contains("… 35 "),
            "the evidence beyond five is counted: {lang}"
        );
        assert!(!html.contains("<&>"), "escaped");
        let pdf = prison.path(&format!("long-{lang}.pdf"));
        print_to_pdf(&out, &pdf);
        let png = prison.path(&format!("long-{lang}.png"));
        screenshot(&out, &png);
        keep_for_review(&png, &format!("long-{lang}.png"));
        assert_eq!(
            pdf_pages(&pdf),
            1,
            "a long chain still prints on one page ({lang})"
        );
    }
}

/// Headless Chromium: `CUSTODY_CHROMIUM`, else /usr/bin/chromium. Its absence fails the test.
fn chromium() -> String {
    let path = std::env::var("CUSTODY_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&path).is_file(),
        "headless Chromium is needed to check that the receipt prints on one A4 page, and {path} \
         does not exist: install it (`apt-get install -y chromium`, as scripts/test.sh does) or \
         set CUSTODY_CHROMIUM to a Chromium binary"
    );
    path
}

/// Runs Chromium headless on `html` with `args`, killed after 60 s.
fn run_chromium(html: &Path, args: &[String]) {
    let profile = tempfile::tempdir().expect("profile dir");
    let url = format!("file://{}", html.canonicalize().unwrap().display());
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--no-pdf-header-footer",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().expect("wait chromium") {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut err);
            }
            assert!(
                status.success(),
                "chromium {args:?} failed ({status}):\n{err}"
            );
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium {args:?} did not finish within 60 s: killed");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn print_to_pdf(html: &Path, pdf: &Path) {
    run_chromium(html, &[format!("--print-to-pdf={}", pdf.display())]);
    assert!(pdf.is_file(), "chromium wrote no PDF");
}

fn screenshot(html: &Path, png: &Path) {
    run_chromium(
        html,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=794,1123".to_string(),
        ],
    );
    let bytes = std::fs::read(png).expect("chromium wrote no screenshot");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
}

/// The number of page objects of a PDF: `/Type /Page` not followed by `s` (Chromium writes the
/// page dictionaries uncompressed).
fn pdf_pages(pdf: &Path) -> usize {
    let bytes = std::fs::read(pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"), "a PDF");
    let mut n = 0;
    let mut i = 0;
    while let Some(at) = find(&bytes[i..], b"/Type") {
        let mut j = i + at + 5;
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        if bytes[j..].starts_with(b"/Page")
            && !bytes.get(j + 5).is_some_and(|b| b.is_ascii_alphanumeric())
        {
            n += 1;
        }
        i = j;
    }
    assert!(n > 0, "no page object found in the PDF");
    n
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Copies a screenshot to `CUSTODY_RECEIPT_SHOTS` (a directory), when set, to look at it.
fn keep_for_review(png: &Path, name: &str) {
    if let Ok(dir) = std::env::var("CUSTODY_RECEIPT_SHOTS") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(png, Path::new(&dir).join(name)).unwrap();
        for ext in ["html", "pdf"] {
            let other = png.with_extension(ext);
            if other.exists() {
                let _ = std::fs::copy(&other, Path::new(&dir).join(name).with_extension(ext));
            }
        }
    }
}
