//! Command-line definitions: every flag of every command, parsed by clap.
//!
//! This module holds raw, syntactically checked values only; the commands in [`crate::cmd`]
//! turn them into keys, stores and records.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand};
use custody_core::kinds::EventKind;
use custody_core::roles::roles_for;
use custody_gateway::ServeConfig;

/// Default SQLite ledger file, in the current directory.
pub const DEFAULT_STORE: &str = "custody.db";

/// A signed, hash-chained record of who holds each detainee, from arrest to release.
///
/// Start with `custody demo`, or `custody keygen` then `custody init` for a real ledger.
#[derive(Debug, Parser)]
#[command(name = "custody", version)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The command line as clap sees it, with the help computed from the code: `custody record
    /// --help` lists every kind it signs and where its schema and example bodies are.
    pub fn command_with_help() -> clap::Command {
        Cli::command().mut_subcommand("record", |c| c.after_help(record_kinds_help()))
    }

    /// Parses the process arguments against [`Cli::command_with_help`] (exits with clap's
    /// message and code on a usage error, and after `--help`).
    pub fn parse_args() -> Cli {
        let matches = Cli::command_with_help().get_matches();
        <Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }
}

/// The kinds `custody record` signs, each with the roles that may sign it and where its body
/// is described (paths in the repository).
pub fn record_kinds_help() -> String {
    let mut text = String::from(
        "Kinds (KIND). The body of each is described by schemas/KIND.schema.json, with example \
         bodies in schemas/examples/KIND/valid-*.json (paths in the repository; docs/SPEC.md \
         section 8 says what each means). Authority kinds (agency_registered, \
         facility_registered, key_enrolled, key_revoked) are written with `custody enroll`.\n",
    );
    for kind in EventKind::ALL.iter().filter(|k| !k.is_authority()) {
        let roles: Vec<&str> = roles_for(*kind).iter().map(|r| r.as_str()).collect();
        text.push_str(&format!(
            "\n  {:<24} schemas/{k}.schema.json, schemas/examples/{k}/valid-*.json\n  {:<24} signed by: {}",
            kind.as_str(),
            "",
            roles.join(", "),
            k = kind.as_str(),
        ));
    }
    text.push_str(
        "\n\nExample (after `custody demo`):\n  custody record arrest --new-chain \
         --key demo-keys/police-gao-opj.key --agency ml-police-gao \
         --body schemas/examples/arrest/valid-menaka-barkhane.json",
    );
    text.push_str(
        "\n\nThe body comes from exactly one of --body FILE, --body-json JSON or --interactive. \
         With --interactive, each field of the kind's schema is asked on the terminal (French \
         labels; --lang en for English) and checked as it is typed; the whole record is then \
         shown in plain words and signed and appended only on yes (o). A no (n) records nothing \
         and exits 0. For example, on a demo chain:\n  custody record family_notified \
         --interactive --chain CODE --key demo-keys/police-gao-opj.key --agency ml-police-gao",
    );
    text
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Where the ledger lives: a SQLite file path, or nats://host:port for NATS JetStream.
    #[arg(long, global = true, env = "CUSTODY_STORE", default_value = DEFAULT_STORE)]
    pub store: String,
    /// Print machine-readable JSON instead of human text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Print nothing but errors (and the essential result).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Replicas of the JetStream streams and buckets created on first use (3 on a 3-node
    /// cluster); existing ones are kept as they are.
    #[arg(long, global = true, env = "CUSTODY_NATS_REPLICAS", default_value_t = 1,
          value_parser = clap::value_parser!(u8).range(1..=5))]
    pub nats_replicas: u8,
    /// The ledger's saved validation state, which lets a command open a large ledger without
    /// replaying every record (checked against the store, set aside when it does not match)
    /// [default: LEDGER.state beside a SQLite ledger; none for NATS].
    #[arg(long, global = true, env = "CUSTODY_STATE_FILE", value_name = "FILE")]
    pub state_file: Option<std::path::PathBuf>,
    /// Replay every record when opening the ledger, and save no state file.
    #[arg(long, global = true, conflicts_with = "state_file")]
    pub no_state_file: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new Ed25519 key file (mode 0600) and print its public key.
    Keygen(KeygenArgs),
    /// Create a new, empty ledger in the store.
    Init(InitArgs),
    /// Register agencies and facilities, enroll and revoke keys (signed with the root key).
    #[command(subcommand)]
    Enroll(EnrollCommand),
    /// Sign one event and append it to a chain (`custody record --help` lists the kinds).
    Record(RecordArgs),
    /// Append already signed records from a JSONL file, in order.
    Submit(SubmitArgs),
    /// Push a post's records to the hub's gateway in batches, and pull its authority chain.
    Sync(SyncArgs),
    /// List the fork alarms the store keeps (exit 1 when there is any).
    Forks(ForksArgs),
    /// Write records as JSONL, in ledger order.
    Export(ExportArgs),
    /// Verify the store's ledger, or a JSONL export, record by record.
    Verify(VerifyArgs),
    /// Print a freshly signed checkpoint over the current ledger.
    Checkpoint(CheckpointArgs),
    /// Print the ledger's checkpoint verifier key.
    LedgerKey,
    /// Print the ledger's trust anchors (trust.json).
    Trust(TrustArgs),
    /// Print an inclusion proof of an event, or a consistency proof between two sizes.
    Prove(ProveArgs),
    /// Run the HTTP append gateway until Ctrl-C or SIGTERM.
    Serve(ServeArgs),
    /// Print a one-time link that signs this browser in to the web desk of a gateway.
    Login(LoginArgs),
    /// Build a deterministic demo ledger and print a summary of it.
    Demo(DemoArgs),
    /// List the people released to an agency and not yet accepted by it, oldest first.
    Inbox(InboxArgs),
    /// Alarms: first hours (arrest recorded late, first appearance late or missing, police
    /// custody past its end), detention orders (expired, expiring, beyond the law), custody
    /// gaps, unofficial places, hearings without the person, access restrictions, forks; read
    /// with an enrolled key (--as), checked and written to the access log.
    Alarms(AlarmsArgs),
    /// The pre-trial backlog by facility and by court: counts, pre-trial shares, ageing,
    /// longest waits, expired orders, occupancy against capacity (French; --lang en); read
    /// with an enrolled key (--as), checked and written to the access log.
    Backlog(BacklogArgs),
    /// The hearing calendar: upcoming hearings by court and day, who to produce from which
    /// facility; after the day, who was not produced and why; read with an enrolled key
    /// (--as), checked and written to the access log.
    Hearings(HearingsArgs),
    /// Where one person is held, or the relatives' view (Disappearance Convention art. 18),
    /// read with an enrolled key (--as), checked and written to the access log.
    Whereabouts(WhereaboutsArgs),
    /// One person's events in order with their verification marks, or the person's own file
    /// (--own-file), read with an enrolled key (--as), checked and written to the access log.
    Timeline(TimelineArgs),
    /// Store evidence blobs by content and record them; read them back, checked.
    #[command(subcommand)]
    Evidence(EvidenceCommand),
    /// Transfer packets: one file with a detainee's whole record, verifiable offline.
    #[command(subcommand)]
    Packet(PacketCommand),
    /// Audit the whole ledger (headers suffice) against a checkpoint, and consistency with
    /// the last checkpoint this auditor verified; incremental from the state it saved then.
    Audit(AuditArgs),
}

/// Largest evidence blob stored, in bytes, unless `--max-bytes` says otherwise (4 GiB).
pub const DEFAULT_EVIDENCE_MAX_BYTES: u64 = custody_evidence::DEFAULT_MAX_BYTES;

/// `custody evidence`.
#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Store FILE by its SHA-256 and record `evidence_added` on the chain.
    Add(EvidenceAddArgs),
    /// Write the blob of DIGEST to standard output or a file, checking its digest.
    Get(EvidenceGetArgs),
}

/// `custody evidence add`.
#[derive(Debug, Args)]
pub struct EvidenceAddArgs {
    /// The evidence file (streamed: never held in memory).
    pub file: PathBuf,
    /// Chain: its id (d-...) or the detainee's code (XXXX-XXXX-C).
    #[arg(long)]
    pub chain: String,
    /// Key file of the signer.
    #[arg(long, env = "CUSTODY_KEY")]
    pub key: PathBuf,
    /// Acting agency id.
    #[arg(long)]
    pub agency: String,
    /// Label (default: the file name).
    #[arg(long)]
    pub label: Option<String>,
    /// Where it comes from, who made it and how.
    #[arg(long)]
    pub provenance: String,
    /// Media type in lowercase (e.g. image/jpeg).
    #[arg(long, default_value = "application/octet-stream")]
    pub media_type: String,
    /// When it was collected (RFC 3339 UTC); default: now.
    #[arg(long)]
    pub occurred_at: Option<String>,
    /// Largest blob accepted, in bytes.
    #[arg(long, env = "CUSTODY_EVIDENCE_MAX_BYTES", default_value_t = DEFAULT_EVIDENCE_MAX_BYTES)]
    pub max_bytes: u64,
}

/// `custody evidence get`.
#[derive(Debug, Args)]
pub struct EvidenceGetArgs {
    /// SHA-256 of the blob (the record's content_digest).
    pub digest: String,
    /// Write to this file (created only when the whole blob verified; never overwritten).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `custody packet`.
#[derive(Debug, Subcommand)]
pub enum PacketCommand {
    /// Write a detainee's transfer packet (docs/SPEC.md section 18).
    Export(PacketExportArgs),
    /// Verify a packet offline and print the registrar's timeline.
    Verify(PacketVerifyArgs),
    /// Verify a packet and append its records and evidence to the store (idempotent).
    Import(PacketImportArgs),
    /// Verify a packet and write the printable handover receipt (one A4 page of HTML).
    Receipt(PacketReceiptArgs),
}

/// `custody packet export`.
#[derive(Debug, Args)]
pub struct PacketExportArgs {
    /// Chain: its id (d-...) or the detainee's code (XXXX-XXXX-C).
    #[arg(long)]
    pub chain: String,
    /// The packet file to write (never overwritten).
    #[arg(long)]
    pub out: PathBuf,
    /// A checkpoint note made by `custody checkpoint`, covering every event of the chain.
    #[arg(
        long,
        conflicts_with = "ledger_key",
        required_unless_present = "ledger_key"
    )]
    pub checkpoint: Option<PathBuf>,
    /// The ledger's checkpoint key: sign a checkpoint over the current ledger now.
    #[arg(long, env = "CUSTODY_LEDGER_KEY")]
    pub ledger_key: Option<PathBuf>,
    /// Evidence blobs larger than this (bytes) travel as their manifest entry only.
    #[arg(long, env = "CUSTODY_PACKET_MAX_BLOB_BYTES", default_value_t = 64 << 20)]
    pub max_blob_bytes: u64,
    /// Seal the restricted payloads (medical screening, risk assessment) to every valid key
    /// with role `medical` of this facility (its agency's keys) or agency. Default: the
    /// `to_facility` or `to_agency` of the chain's last `custody_released`, unless
    /// --medical-recipient is given. With no such key, they stay withheld (a warning says why).
    #[arg(long, value_name = "FACILITY_OR_AGENCY")]
    pub medical_to: Option<String>,
    /// Also seal them to this key (ed25519:...), enrolled with role `medical` and valid now;
    /// repeatable.
    #[arg(long, value_name = "KEY_ID")]
    pub medical_recipient: Vec<String>,
}

/// Language of human-facing reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// Français.
    Fr,
    /// English.
    En,
}

/// `custody packet verify`.
#[derive(Debug, Args)]
pub struct PacketVerifyArgs {
    /// The packet file.
    pub file: PathBuf,
    /// trust.json of the ledger (default: the anchors the packet carries).
    #[arg(long)]
    pub trust: Option<PathBuf>,
    /// The ledger's checkpoint verifier key, or a file holding it (default: the packet's).
    #[arg(long)]
    pub ledger_vkey: Option<String>,
    /// Language of the timeline.
    #[arg(long, value_enum, default_value = "fr")]
    pub lang: Lang,
    /// A medical key file: open the sealed payloads addressed to it and check them against
    /// their signed headers (their content is never printed).
    #[arg(long, value_name = "KEYFILE")]
    pub medical_key: Option<PathBuf>,
}

/// `custody packet receipt`.
#[derive(Debug, Args)]
pub struct PacketReceiptArgs {
    /// The packet file (verified first; no receipt for a packet that does not verify).
    pub file: PathBuf,
    /// The HTML page to write (mode 0600, never overwritten); print it, or turn it into a
    /// PDF with a browser (`chromium --headless --print-to-pdf`).
    #[arg(long)]
    pub out: PathBuf,
    /// trust.json of the ledger (default: the receiving store's anchors, else the packet's).
    #[arg(long)]
    pub trust: Option<PathBuf>,
    /// The ledger's checkpoint verifier key, or a file holding it (default: the receiving
    /// store's, else the packet's).
    #[arg(long)]
    pub ledger_vkey: Option<String>,
    /// Language of the receipt.
    #[arg(long, value_enum, default_value = "fr")]
    pub lang: Lang,
    /// Use the packet alone: do not look in the store for the acceptance of the handover.
    #[arg(long)]
    pub no_store: bool,
}

/// `custody packet import`.
#[derive(Debug, Args)]
pub struct PacketImportArgs {
    /// The packet file.
    pub file: PathBuf,
    /// A medical key file: open the sealed payloads addressed to it, check them, and store them
    /// with their records (without it, those records are stored as headers, as withheld).
    #[arg(long, value_name = "KEYFILE")]
    pub medical_key: Option<PathBuf>,
    /// Largest evidence blob stored, in bytes.
    #[arg(long, env = "CUSTODY_EVIDENCE_MAX_BYTES", default_value_t = DEFAULT_EVIDENCE_MAX_BYTES)]
    pub max_bytes: u64,
}

/// `custody keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// The key file to create (never overwritten).
    #[arg(long)]
    pub out: PathBuf,
}

/// `custody init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Ledger name: the origin line of its checkpoints (taken from --ledger-vkey for a replica).
    #[arg(long, required_unless_present = "ledger_vkey")]
    pub name: Option<String>,
    /// Key file of the trust-anchor (root) key that writes the authority chain.
    #[arg(long, required_unless_present = "trust", conflicts_with = "trust")]
    pub root_key: Option<PathBuf>,
    /// Agency id the root key signs for (e.g. ml-justice).
    #[arg(long, required_unless_present = "trust", conflicts_with = "trust")]
    pub root_agency: Option<String>,
    /// Key file of the key that signs checkpoints.
    #[arg(
        long,
        required_unless_present = "ledger_vkey",
        conflicts_with = "ledger_vkey"
    )]
    pub ledger_key: Option<PathBuf>,
    /// A replica of an existing ledger (an offline post, a monitor): its trust.json
    /// (`custody trust`) instead of the root key...
    #[arg(long, requires = "ledger_vkey")]
    pub trust: Option<PathBuf>,
    /// ...and its checkpoint verifier key (`custody ledger-key`) instead of the ledger key.
    /// Then `custody submit` the ledger's authority chain (`custody export --chain authority`).
    #[arg(long, requires = "trust")]
    pub ledger_vkey: Option<PathBuf>,
}

/// The root key used by `custody enroll`.
#[derive(Debug, Args)]
pub struct RootKeyArg {
    /// Key file of a trust-anchor (root) key.
    #[arg(long, env = "CUSTODY_ROOT_KEY")]
    pub root_key: PathBuf,
    /// When the fact happened (RFC 3339 UTC); default: now.
    #[arg(long)]
    pub occurred_at: Option<String>,
}

/// `custody enroll ...`.
#[derive(Debug, Subcommand)]
pub enum EnrollCommand {
    /// Register an agency (force, police or gendarmerie unit, prison, court, monitor...).
    Agency(EnrollAgencyArgs),
    /// Register a facility (a place of detention) of an agency.
    Facility(EnrollFacilityArgs),
    /// Enroll a signing key for an agency, with roles.
    Key(EnrollKeyArgs),
    /// Revoke an enrolled key from an instant.
    Revoke(EnrollRevokeArgs),
}

/// `custody enroll agency`.
#[derive(Debug, Args)]
pub struct EnrollAgencyArgs {
    /// Agency id (2-64 characters of a-z, 0-9 and -).
    #[arg(long)]
    pub id: String,
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// Agency type (military, police, gendarmerie, prison, court, prosecutor, monitor, hospital).
    #[arg(long = "type")]
    pub agency_type: String,
    /// ISO 3166-1 alpha-2 country code, uppercase (e.g. ML).
    #[arg(long)]
    pub country: String,
    /// Common abbreviation (e.g. MCA).
    #[arg(long)]
    pub acronym: Option<String>,
    /// Id of the agency it belongs to.
    #[arg(long)]
    pub parent: Option<String>,
    /// Authority that supervises it (ICPPED art. 17(3)(d)).
    #[arg(long)]
    pub supervising_authority: Option<String>,
    /// Root key and time.
    #[command(flatten)]
    pub root: RootKeyArg,
}

/// `custody enroll facility`.
#[derive(Debug, Args)]
pub struct EnrollFacilityArgs {
    /// Facility id (2-64 characters of a-z, 0-9 and -).
    #[arg(long)]
    pub id: String,
    /// Agency responsible for the place.
    #[arg(long)]
    pub agency: String,
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// Kind of place: prison, gendarmerie_post, police_station, military_base,
    /// court_holding_cell, hospital or other.
    #[arg(long)]
    pub kind: String,
    /// Official capacity.
    #[arg(long)]
    pub capacity: u32,
    /// The place is an officially recognised place of detention (ICPPED art. 17(1)).
    #[arg(
        long,
        conflicts_with = "not_recognised",
        required_unless_present = "not_recognised"
    )]
    pub recognised: bool,
    /// The place is not an officially recognised place of detention.
    #[arg(long)]
    pub not_recognised: bool,
    /// Administrative region (e.g. "Bamako District").
    #[arg(long)]
    pub region: String,
    /// Where the place is, as a person on the spot would recognise it; default: its name.
    #[arg(long)]
    pub place: Option<String>,
    /// Town, village or cercle.
    #[arg(long)]
    pub locality: Option<String>,
    /// Root key and time.
    #[command(flatten)]
    pub root: RootKeyArg,
}

/// `custody enroll key`.
#[derive(Debug, Args)]
pub struct EnrollKeyArgs {
    /// The public key to enroll (ed25519:...), as printed by `custody keygen`.
    #[arg(long)]
    pub key: String,
    /// Agency the key signs for.
    #[arg(long)]
    pub agency: String,
    /// Roles, comma separated (e.g. arresting_officer,judicial_police_officer).
    #[arg(long, value_delimiter = ',', required = true)]
    pub roles: Vec<String>,
    /// Name of the person holding the key.
    #[arg(long)]
    pub holder_name: String,
    /// Badge or service number of the holder.
    #[arg(long)]
    pub badge: String,
    /// Start of validity (RFC 3339 UTC); default: now.
    #[arg(long)]
    pub valid_from: Option<String>,
    /// End of validity (RFC 3339 UTC, exclusive); default: none.
    #[arg(long)]
    pub valid_until: Option<String>,
    /// Root key and time.
    #[command(flatten)]
    pub root: RootKeyArg,
}

/// `custody enroll revoke`.
#[derive(Debug, Args)]
pub struct EnrollRevokeArgs {
    /// The enrolled public key to revoke (ed25519:...).
    #[arg(long)]
    pub key: String,
    /// Why the key is revoked (e.g. "device lost").
    #[arg(long)]
    pub reason: String,
    /// Revoked from this instant (RFC 3339 UTC); default: now.
    #[arg(long)]
    pub effective_from: Option<String>,
    /// Root key and time.
    #[command(flatten)]
    pub root: RootKeyArg,
}

/// `custody record`.
#[derive(Debug, Args)]
#[command(group(
    clap::ArgGroup::new("source")
        .required(true)
        .args(["body", "body_json", "interactive"])
))]
pub struct RecordArgs {
    /// Event kind (e.g. arrest, custody_released, admission).
    pub kind: String,
    /// Key file of the signer.
    #[arg(long, env = "CUSTODY_KEY")]
    pub key: PathBuf,
    /// Acting agency id.
    #[arg(long)]
    pub agency: String,
    /// Chain to extend: its id (d-...) or the detainee's code (XXXX-XXXX-C, as printed).
    #[arg(
        long,
        conflicts_with = "new_chain",
        required_unless_present = "new_chain"
    )]
    pub chain: Option<String>,
    /// Start a new detainee chain (only for an arrest).
    #[arg(long)]
    pub new_chain: bool,
    /// When the fact happened (RFC 3339 UTC); default: now.
    #[arg(long)]
    pub occurred_at: Option<String>,
    /// File holding the JSON body of the event.
    #[arg(long)]
    pub body: Option<PathBuf>,
    /// The JSON body of the event, inline.
    #[arg(long)]
    pub body_json: Option<String>,
    /// Ask each field of the body on the terminal, show the record, sign only on yes.
    #[arg(long)]
    pub interactive: bool,
    /// Language of the interactive prompts and summary: `fr` (default) or `en`.
    #[arg(long, default_value = "fr", value_parser = ["fr", "en"])]
    pub lang: String,
}

/// `custody submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// JSONL file of signed records, one per line (`-` for standard input).
    pub file: PathBuf,
    /// Most records appended in one store write (1: one write per record). A run of detainee
    /// records that are new and valid goes to the store together, on SQLite in one
    /// transaction; from standard input a batch also ends when no more input is waiting.
    #[arg(long, default_value_t = custody_ledger::MAX_BATCH, value_parser = parse_batch)]
    pub batch: usize,
}

fn parse_batch(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=custody_ledger::MAX_BATCH).contains(&n) => Ok(n),
        _ => Err(format!(
            "expected a number of records from 1 to {}",
            custody_ledger::MAX_BATCH
        )),
    }
}

/// `custody export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Export only this chain: its id (authority, d-...) or the detainee's code (XXXX-XXXX-C).
    #[arg(long)]
    pub chain: Option<String>,
    /// Omit the payload of every detainee record (headers, hashes and signatures still
    /// verify; authority records keep theirs, which verification needs).
    #[arg(long)]
    pub headers_only: bool,
    /// Write to this file instead of standard output (never overwritten).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `custody verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// JSONL export to verify (`-` for standard input); default: the store's ledger.
    pub file: Option<PathBuf>,
    /// Trust anchors (trust.json); default: those of the store's ledger.
    #[arg(long)]
    pub trust: Option<PathBuf>,
    /// A signed checkpoint note to check against the records.
    #[arg(long, requires = "ledger_vkey")]
    pub checkpoint: Option<PathBuf>,
    /// File holding the ledger's checkpoint verifier key (one line).
    #[arg(long, requires = "checkpoint")]
    pub ledger_vkey: Option<PathBuf>,
    /// A trusted witness's cosignature verifier key (`name+keyid+base64`), or a file holding
    /// one; repeat for several. The checkpoint must carry verifying cosignatures of --quorum of
    /// them.
    #[arg(long = "witness", value_name = "VKEY", requires = "checkpoint")]
    pub witnesses: Vec<String>,
    /// How many distinct --witness cosignatures the checkpoint needs (default: every one).
    #[arg(long, value_name = "N", requires = "witnesses")]
    pub quorum: Option<usize>,
}

/// `custody inbox`.
#[derive(Debug, Args)]
pub struct InboxArgs {
    /// The receiving agency (its id, e.g. `ml-mca-bamako`).
    #[arg(long)]
    pub agency: String,
    /// Language of the listing: `fr` (default) or `en`.
    #[arg(long, default_value = "fr", value_parser = ["fr", "en"])]
    pub lang: String,
    /// The instant the hours are counted to (RFC 3339 UTC); default: now.
    #[arg(long)]
    pub at: Option<String>,
}

/// `custody alarms`.
#[derive(Debug, Args)]
pub struct AlarmsArgs {
    /// Language of the listing: `fr` (default) or `en`.
    #[arg(long, default_value = "fr", value_parser = ["fr", "en"])]
    pub lang: String,
    /// The instant the alarms are taken at (RFC 3339 UTC); default: now.
    #[arg(long)]
    pub at: Option<String>,
    /// The directory of the legal rule sets (deploy/policy/README.md).
    #[arg(long, env = "CUSTODY_POLICY_DIR", default_value = "deploy/policy")]
    pub policy_dir: PathBuf,
    /// The directory of the working-day calendars (one file per year); default: the
    /// `calendar` directory of `--policy-dir`.
    #[arg(long, env = "CUSTODY_CALENDAR_DIR")]
    pub calendar_dir: Option<PathBuf>,
    /// The jurisdiction whose rule sets apply.
    #[arg(long, default_value = "ML")]
    pub jurisdiction: String,
    /// The reader's key file (required, as for `custody whereabouts`): an enrolled key whose
    /// roles the read matrix checks (docs/API.md, "Views: who reads what"), the same as
    /// `GET /v1/alarms`: a refused role gets an error and no output; a registrar or a judicial
    /// police officer sees its own agency's people only. Every read, allowed or refused, is
    /// written to the ledger's access log. There is no reading without a key, even of a local
    /// ledger file: its operator reads as an enrolled key like anyone else.
    #[arg(long = "as", value_name = "KEYFILE", env = "CUSTODY_KEY")]
    pub as_key: PathBuf,
}

/// `custody backlog`.
#[derive(Debug, Args)]
pub struct BacklogArgs {
    /// Output: a text table (default), json, or csv (RFC 4180, one row per facility and court).
    #[arg(long, default_value = "table", value_parser = ["table", "json", "csv"])]
    pub format: String,
    /// The instant of the report: a date YYYY-MM-DD (00:00 UTC) or an RFC 3339 UTC instant;
    /// default: now.
    #[arg(long)]
    pub at: Option<String>,
    /// Language of the table: `fr` (default) or `en`.
    #[arg(long, default_value = "fr", value_parser = ["fr", "en"])]
    pub lang: String,
    /// Only the people at this facility (id).
    #[arg(long)]
    pub facility: Option<String>,
    /// Only the people whose current order names this court (id).
    #[arg(long)]
    pub court: Option<String>,
    /// Only this legal status (pre_trial_detention, police_custody, convicted, ...).
    #[arg(long)]
    pub status: Option<String>,
    /// Only the people in pre-trial detention whose order has expired while they are held.
    #[arg(long)]
    pub overdue: bool,
    /// The reader's key file (required, as for `custody whereabouts`): an enrolled key whose
    /// roles the read matrix checks (docs/API.md, "Views: who reads what"), the same as
    /// `GET /v1/backlog`: a refused role gets an error and no output; a registrar or a judicial
    /// police officer sees its own agency's people only. Every read, allowed or refused, is
    /// written to the ledger's access log. There is no reading without a key, even of a local
    /// ledger file: its operator reads as an enrolled key like anyone else.
    #[arg(long = "as", value_name = "KEYFILE", env = "CUSTODY_KEY")]
    pub as_key: PathBuf,
}

/// `custody hearings`.
#[derive(Debug, Args)]
pub struct HearingsArgs {
    /// Only this day (YYYY-MM-DD); default: every day from today, and the days past whose
    /// person was not produced.
    #[arg(long)]
    pub day: Option<String>,
    /// Only this court (id).
    #[arg(long)]
    pub court: Option<String>,
    /// The instant of the calendar (date or RFC 3339 UTC instant); default: now.
    #[arg(long)]
    pub at: Option<String>,
    /// Output: a text table (default), json, or csv.
    #[arg(long, default_value = "table", value_parser = ["table", "json", "csv"])]
    pub format: String,
    /// Language: `fr` (default) or `en`.
    #[arg(long, default_value = "fr", value_parser = ["fr", "en"])]
    pub lang: String,
    /// The reader's key file (required, as for `custody whereabouts`): an enrolled key whose
    /// roles the read matrix checks (docs/API.md, "Views: who reads what"), the same as
    /// `GET /v1/hearings`: a refused role gets an error and no output; a registrar or a judicial
    /// police officer sees its own agency's people only. Every read, allowed or refused, is
    /// written to the ledger's access log. There is no reading without a key, even of a local
    /// ledger file: its operator reads as an enrolled key like anyone else.
    #[arg(long = "as", value_name = "KEYFILE", env = "CUSTODY_KEY")]
    pub as_key: PathBuf,
}

/// `custody whereabouts`.
#[derive(Debug, Args)]
pub struct WhereaboutsArgs {
    /// The person: a chain id (d-...) or the human code of the chain (XXXX-XXXX-C).
    pub chain: String,
    /// The reader's key file (an enrolled key; its roles decide, and the read is logged).
    #[arg(long = "as", value_name = "KEYFILE", env = "CUSTODY_KEY")]
    pub as_key: PathBuf,
    /// The relatives' and counsel's view: art. 18 fields only, under any art. 20 restriction.
    #[arg(long)]
    pub relatives: bool,
    /// The instant of the view (date or RFC 3339 UTC instant); default: now.
    #[arg(long)]
    pub at: Option<String>,
    /// Language: `fr` (default) or `en`.
    #[arg(long, default_value = "fr", value_parser = ["fr", "en"])]
    pub lang: String,
}

/// `custody timeline`.
#[derive(Debug, Args)]
pub struct TimelineArgs {
    /// The person: a chain id (d-...) or the human code of the chain (XXXX-XXXX-C).
    pub chain: String,
    /// The reader's key file (an enrolled key; its roles decide, and the read is logged).
    #[arg(long = "as", value_name = "KEYFILE", env = "CUSTODY_KEY")]
    pub as_key: PathBuf,
    /// Headers only (kinds, instants, agencies, facts, marks): what a monitor may read.
    #[arg(long, conflicts_with = "own_file")]
    pub headers_only: bool,
    /// The person's own file (Nelson Mandela Rule 8): every record with its payload but the
    /// notes for medical staff.
    #[arg(long)]
    pub own_file: bool,
    /// Language: `fr` (default) or `en`.
    #[arg(long, default_value = "fr", value_parser = ["fr", "en"])]
    pub lang: String,
}

/// `custody checkpoint`.
#[derive(Debug, Args)]
pub struct CheckpointArgs {
    /// Key file of the ledger's checkpoint key.
    #[arg(long, env = "CUSTODY_LEDGER_KEY")]
    pub ledger_key: PathBuf,
    /// Write the note to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also publish it: one tick of the checkpointer (custody-checkpointer): when the ledger
    /// grew since the latest stored checkpoint, keep the new one in the store's checkpoint
    /// history (served as `GET /v1/checkpoint`, pulled by field posts when they sync) and send
    /// it to each --witness; refused when it is not consistent with the latest stored one.
    #[arg(long)]
    pub publish: bool,
    /// With --publish: a witness to send the checkpoint to, as VKEY=URL (its cosignature
    /// verifier key, '=', its base URL); repeat for several.
    #[arg(long = "witness", value_name = "VKEY=URL", requires = "publish")]
    pub witnesses: Vec<String>,
}

/// `custody trust`.
#[derive(Debug, Args)]
pub struct TrustArgs {
    /// Write trust.json to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `custody prove`.
#[derive(Debug, Args)]
pub struct ProveArgs {
    /// Inclusion proof of the event with this hash.
    #[arg(long, conflicts_with_all = ["from", "to"], required_unless_present = "from")]
    pub event: Option<String>,
    /// Consistency proof from this (older) tree size.
    #[arg(long)]
    pub from: Option<u64>,
    /// Consistency proof to this (newer) tree size; default: the current ledger size.
    #[arg(long, requires = "from")]
    pub to: Option<u64>,
    /// Tree size of an inclusion proof; default: the current ledger size.
    #[arg(long, requires = "event")]
    pub tree_size: Option<u64>,
    /// The ledger's tree file (derived from the ledger, caught up first, rebuilt when deleted)
    /// [default for a SQLite ledger: LEDGER.tree.sqlite beside it; for a JetStream ledger: a
    /// tree built in memory for this call].
    #[arg(long, value_name = "FILE")]
    pub tree: Option<PathBuf>,
}

/// `custody login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The gateway (`custody serve`): http://host:port or https://host/.
    #[arg(long)]
    pub url: String,
    /// Your enrolled key file: the sign-in request is signed with it.
    #[arg(long, env = "CUSTODY_KEY")]
    pub key: PathBuf,
}

/// `custody serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Most connections open at once; more wait in the listen queue until one closes. Keep it
    /// well under the open-file limit (ulimit -n, LimitNOFILE=).
    #[arg(
        long,
        value_name = "N",
        default_value_t = ServeConfig::default().max_connections as u64,
        value_parser = clap::value_parser!(u64).range(1..=1_000_000)
    )]
    pub max_connections: u64,
    /// Seconds for a request's line and headers to arrive (from the connection's start or the
    /// request's first byte); over it the connection is closed.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = ServeConfig::default().header_read_timeout.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub header_read_timeout: u64,
    /// Seconds for a request's body to arrive after its headers; over it the answer is 408.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = ServeConfig::default().request_timeout.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub request_timeout: u64,
    /// Seconds a connection may stay open between requests without sending anything.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = ServeConfig::default().idle_timeout.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub idle_timeout: u64,
    /// Most records in one batch append (application/x-ndjson); over it the answer is 413.
    #[arg(
        long,
        default_value_t = ServeConfig::default().batch_max_records as u64,
        value_parser = clap::value_parser!(u64).range(1..=1_000_000)
    )]
    pub batch_max_records: u64,
    /// Requests allowed per signing key (reads, once their signature verified) and per
    /// client address (appends and other unsigned requests), as N/s, N/min or N/h with an
    /// optional :BURST (e.g. 20/s:40); over it the answer is 429 with Retry-After
    /// [default: no limit].
    #[arg(long, env = "CUSTODY_RATE_LIMIT", value_name = "N/UNIT[:BURST]")]
    pub rate_limit: Option<custody_gateway::RateLimit>,
    /// Most bytes of one batch append's body; over it the answer is 413.
    #[arg(
        long,
        default_value_t = ServeConfig::default().batch_max_bytes as u64,
        value_parser = clap::value_parser!(u64).range(1..=(1 << 30))
    )]
    pub batch_max_bytes: u64,
    /// Minutes a web desk session may stay without a request before it ends.
    #[arg(
        long,
        value_name = "MINUTES",
        default_value_t = ServeConfig::default().desk.session_idle.as_secs() / 60,
        value_parser = clap::value_parser!(u64).range(1..=1440)
    )]
    pub session_idle: u64,
    /// Hours after sign-in when a web desk session ends, whatever its activity.
    #[arg(
        long,
        value_name = "HOURS",
        default_value_t = ServeConfig::default().desk.session_max.as_secs() / 3600,
        value_parser = clap::value_parser!(u64).range(1..=24)
    )]
    pub session_max: u64,
    /// The views file: the read model of the view endpoints, persisted and caught up from its
    /// cursor at start [default for a SQLite ledger: LEDGER.views.sqlite beside it; for a
    /// JetStream ledger: none, the read model is rebuilt in memory at each start].
    #[arg(long, value_name = "FILE")]
    pub views: Option<PathBuf>,
    /// The Merkle tree file of the proof endpoints (derived from the ledger, caught up at start
    /// and before each proof, rebuilt when deleted) [default for a SQLite ledger:
    /// LEDGER.tree.sqlite beside it; for a JetStream ledger: a tree built in memory at start].
    #[arg(long, value_name = "FILE")]
    pub tree: Option<PathBuf>,
    /// The directory of the legal rule sets and calendar of the alarms and deadlines
    /// (deploy/policy/README.md) [default: deploy/policy, served without alarms if it does not
    /// exist].
    #[arg(long, env = "CUSTODY_POLICY_DIR", value_name = "DIR")]
    pub policy_dir: Option<PathBuf>,
    /// The jurisdiction whose rule sets apply.
    #[arg(long, default_value = "ML")]
    pub jurisdiction: String,
    /// Key file of the ledger's checkpoint key: with it, the gateway runs the checkpointer in
    /// the background (a signed checkpoint every --checkpoint-every when the ledger grew,
    /// kept in the store's history and sent to each --witness).
    #[arg(long, env = "CUSTODY_LEDGER_KEY")]
    pub ledger_key: Option<PathBuf>,
    /// Seconds between two ticks of the checkpointer (with --ledger-key).
    #[arg(
        long,
        env = "CUSTODY_CHECKPOINT_EVERY",
        value_name = "SECS",
        default_value_t = custody_checkpointer::DEFAULT_INTERVAL.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub checkpoint_every: u64,
    /// A witness the checkpointer sends its checkpoints to, as VKEY=URL; repeat for several.
    #[arg(long = "witness", value_name = "VKEY=URL", requires = "ledger_key")]
    pub witnesses: Vec<String>,
}

impl ServeArgs {
    /// The gateway's connection limit and time-outs from these flags.
    pub fn serve_config(&self) -> ServeConfig {
        ServeConfig {
            max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
            header_read_timeout: Duration::from_secs(self.header_read_timeout),
            request_timeout: Duration::from_secs(self.request_timeout),
            idle_timeout: Duration::from_secs(self.idle_timeout),
            batch_max_records: usize::try_from(self.batch_max_records).unwrap_or(usize::MAX),
            batch_max_bytes: usize::try_from(self.batch_max_bytes).unwrap_or(usize::MAX),
            desk: custody_gateway::desk::DeskConfig {
                session_idle: Duration::from_secs(self.session_idle * 60),
                session_max: Duration::from_secs(self.session_max * 3600),
            },
            rate_limit: self.rate_limit,
        }
    }
}

/// `custody sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The post's ledger (a SQLite file, or any --store value); default: --store.
    #[arg(long)]
    pub from: Option<String>,
    /// The hub: its gateway (http://host:port or https://host/), or, for an operator inside
    /// the hub, its JetStream ledger (nats://[user:password@]host:port).
    #[arg(long)]
    pub to: String,
    /// Key file of an enrolled key of the post (e.g. the officer's): it signs the sync's reads
    /// at the hub's gateway (its authority chain, a chain that forked). Appends need no
    /// signature; not needed with --to nats://.
    #[arg(long, env = "CUSTODY_KEY")]
    pub key: Option<PathBuf>,
    /// Records per batch (at most the hub's --batch-max-records).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub batch: u64,
    /// Batches in flight at once, each for its own chains (1: one batch after another, for the
    /// slowest links).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub lanes: u64,
    /// Seconds one request to the hub's gateway may take, answer included; over it the sync
    /// stops with an error (what was sent is resent by the next run). A hub that never answers
    /// cannot hold the sync.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 120,
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub timeout: u64,
}

/// `custody forks`.
#[derive(Debug, Args)]
pub struct ForksArgs {}

/// `custody demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Seed of the deterministic demo world.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Number of detainees.
    #[arg(long, default_value_t = 50)]
    pub detainees: usize,
    /// The day the demo world ends on (YYYY-MM-DD, UTC; default: today): every date of the
    /// world moves with it, and its keys are valid then.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// Where to write the demo's key files; default: demo-keys/ beside the SQLite file (in the
    /// current directory for a NATS store).
    #[arg(long, value_name = "DIR")]
    pub keys_dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `custody record --help` names every kind it signs, with the paths of its schema and
    /// examples, and those paths exist.
    #[test]
    fn record_help_lists_every_kind_with_its_schema_and_examples() {
        let mut cmd = Cli::command_with_help();
        let record = cmd.find_subcommand_mut("record").expect("record");
        let help = record.render_long_help().to_string();
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for kind in EventKind::ALL {
            let k = kind.as_str();
            if kind.is_authority() {
                assert!(!help.contains(&format!("schemas/{k}.schema.json")), "{k}");
                continue;
            }
            let schema = format!("schemas/{k}.schema.json");
            assert!(help.contains(&schema), "{k} missing from:\n{help}");
            assert!(
                help.contains(&format!("schemas/examples/{k}/valid-*.json")),
                "{k}"
            );
            assert!(repo.join(&schema).is_file(), "{schema} does not exist");
            let examples = std::fs::read_dir(repo.join("schemas/examples").join(k))
                .expect("examples dir")
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("valid-"))
                .count();
            assert!(examples > 0, "no valid example for {k}");
        }
        // The example in the help names a file that exists.
        assert!(repo
            .join("schemas/examples/arrest/valid-menaka-barkhane.json")
            .is_file());
    }

    /// The shipped unit starts `custody serve` with flags it accepts, and raises the open-file
    /// limit well over its connection limit (each connection is a descriptor).
    #[test]
    fn systemd_unit_serves_with_valid_flags_and_enough_open_files() {
        let unit = include_str!("../../../deploy/systemd/custody-gateway.service");
        let exec = unit
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .expect("ExecStart");
        let args = std::iter::once("custody").chain(exec.split_whitespace().skip(1));
        let cli = Cli::try_parse_from(args).expect("the unit's flags parse");
        let Command::Serve(serve) = cli.command else {
            panic!("the unit runs {exec:?}, not custody serve");
        };
        let nofile: u64 = unit
            .lines()
            .find_map(|l| l.strip_prefix("LimitNOFILE="))
            .expect("LimitNOFILE")
            .trim()
            .parse()
            .expect("a number");
        assert!(
            nofile >= 2 * serve.max_connections + 256,
            "LimitNOFILE={nofile} is too close to --max-connections {}",
            serve.max_connections
        );
        let config = serve.serve_config();
        assert_eq!(config, custody_gateway::ServeConfig::default());
    }
}

/// `custody audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// JSONL export to audit (a headers-only export suffices); default: the store's ledger.
    pub file: Option<PathBuf>,
    /// Trust anchors (trust.json); default: those of the store's ledger.
    #[arg(long)]
    pub trust: Option<PathBuf>,
    /// File holding the ledger's checkpoint verifier key (one line); default: the store's.
    #[arg(long)]
    pub ledger_vkey: Option<PathBuf>,
    /// The signed checkpoint note to audit against; default: the one the gateway serves
    /// (--gateway), else the one published in the store.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// The ledger's gateway (http://host:port): its latest checkpoint (`GET /v1/checkpoint`)
    /// and consistency proofs.
    #[arg(long)]
    pub gateway: Option<String>,
    /// Where this auditor keeps the last checkpoint it verified and its saved state (default:
    /// $XDG_STATE_HOME/custody-audit, else ~/.local/state/custody-audit; one sub-directory
    /// per ledger).
    #[arg(long, env = "CUSTODY_AUDIT_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Verify every record from the start, even when a saved state could be resumed.
    #[arg(long)]
    pub full: bool,
    /// A witness whose cosignature the checkpoint may carry: its verifier key
    /// (`name+keyid+base64`), or a file holding it; repeat for each witness.
    #[arg(long)]
    pub witness: Vec<String>,
    /// How many distinct witnesses must have cosigned the checkpoint (default: every
    /// --witness given).
    #[arg(long)]
    pub quorum: Option<usize>,
    /// The authority chain with its payloads (`custody export --chain authority`), for a NATS
    /// store read by a monitor's user, which reads headers only (docs/OPERATIONS.md).
    #[arg(long)]
    pub authority: Option<PathBuf>,
}
