//! `custody-bench proofs`: inclusion and consistency proof latency from the tree file
//! ([`custody_tlog::TreeDb`]) at 1,000,000 leaves, beside the O(n) functions of
//! `custody_core::merkle` (which rehash every leaf per proof) on the same leaves in the same
//! run, and the tree file's build rate.
//!
//! The leaves are synthetic: event hashes `SHA-256(u64be(i))`, inserted with
//! [`TreeDb::append_event_hashes`] in batches (one transaction each), not signed events read
//! from a store: the proof path reads the same nodes either way. Every sampled proof of the
//! baseline is checked equal to the tree file's and verified against the root.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use custody_core::merkle::{
    consistency_proof, inclusion_proof, leaf_hash, verify_consistency, verify_inclusion, Digest,
};
use custody_tlog::TreeDb;
use sha2::{Digest as _, Sha256};

/// What to measure.
#[derive(Clone, Debug)]
pub struct ProofSettings {
    /// Leaves of the tree.
    pub leaves: u64,
    /// Proofs of each kind timed from the tree file.
    pub queries: usize,
    /// Proofs of each kind timed with the O(n) core functions.
    pub baseline: usize,
    /// Leaves per transaction while building.
    pub batch: usize,
    /// Where the tree file is written.
    pub cache: PathBuf,
}

/// A small deterministic generator (xorshift64*), so runs pick the same positions.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

fn event_hash(i: u64) -> Digest {
    Sha256::digest(i.to_be_bytes()).into()
}

/// Median and 99th percentile, in microseconds.
fn percentiles(mut micros: Vec<f64>) -> (f64, f64) {
    micros.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let i = ((micros.len() as f64 - 1.0) * q).round() as usize;
        micros.get(i).copied().unwrap_or(f64::NAN)
    };
    (at(0.5), at(0.99))
}

/// Builds the tree, times the proofs, prints the figures.
pub fn run(s: &ProofSettings) -> anyhow::Result<()> {
    if s.leaves < 2 {
        bail!("--leaves must be at least 2");
    }
    std::fs::create_dir_all(&s.cache)
        .with_context(|| format!("cannot create {}", s.cache.display()))?;
    let path = s.cache.join(format!("proofs-{}.tree.sqlite", s.leaves));
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
    println!(
        "proofs: {} synthetic leaves (event hashes SHA-256(u64be(i)), inserted with TreeDb::append_event_hashes, {} per transaction; not signed events)",
        s.leaves, s.batch
    );

    let db = TreeDb::open(&path)?;
    let mut leaves: Vec<Digest> = Vec::with_capacity(usize::try_from(s.leaves)?);
    let start = Instant::now();
    let mut next = 0u64;
    while next < s.leaves {
        let end = (next + s.batch as u64).min(s.leaves);
        let hashes: Vec<Digest> = (next..end).map(event_hash).collect();
        db.append_event_hashes(&hashes)?;
        leaves.extend(hashes.iter().map(leaf_hash));
        next = end;
    }
    let build = start.elapsed().as_secs_f64();
    let bytes: u64 = ["", "-wal"]
        .iter()
        .filter_map(|suffix| {
            let mut p = path.clone().into_os_string();
            p.push(suffix);
            std::fs::metadata(PathBuf::from(p)).ok().map(|m| m.len())
        })
        .sum();
    println!(
        "  build: {:.2} s, {:.0} leaves/s; file {:.1} MiB ({:.1} bytes per leaf)",
        build,
        s.leaves as f64 / build,
        bytes as f64 / (1024.0 * 1024.0),
        bytes as f64 / s.leaves as f64
    );

    let n = s.leaves;
    let root = db.root(n)?;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);

    // Tree file: inclusion at the full size, consistency from a random older size.
    let mut incl = Vec::with_capacity(s.queries);
    let mut cons = Vec::with_capacity(s.queries);
    for _ in 0..s.queries {
        let index = rng.below(n);
        let t = Instant::now();
        let proof = db.inclusion_proof(index, n)?;
        incl.push(t.elapsed().as_secs_f64() * 1e6);
        verify_inclusion(&leaves[index as usize], index, n, &proof, &root)
            .context("a tree-file inclusion proof does not verify")?;
        let old = 1 + rng.below(n - 1);
        let t = Instant::now();
        let proof = db.consistency_proof(old, n)?;
        cons.push(t.elapsed().as_secs_f64() * 1e6);
        let old_root = db.root(old)?;
        verify_consistency(old, n, &old_root, &root, &proof)
            .context("a tree-file consistency proof does not verify")?;
    }
    // Proofs at older sizes (any stored size is served, not only the latest).
    let mut older = Vec::with_capacity(s.queries);
    for _ in 0..s.queries {
        let size = 1 + rng.below(n);
        let index = rng.below(size);
        let t = Instant::now();
        db.inclusion_proof(index, size)?;
        older.push(t.elapsed().as_secs_f64() * 1e6);
    }

    // Baseline: the core's O(n) functions on the same leaves, a few times.
    let mut base_incl = Vec::with_capacity(s.baseline);
    let mut base_cons = Vec::with_capacity(s.baseline);
    for _ in 0..s.baseline {
        let index = rng.below(n);
        let t = Instant::now();
        let proof = inclusion_proof(&leaves, index, n)?;
        base_incl.push(t.elapsed().as_secs_f64() * 1e6);
        if proof != db.inclusion_proof(index, n)? {
            bail!("the tree file's inclusion proof of {index} differs from the core's");
        }
        let old = 1 + rng.below(n - 1);
        let t = Instant::now();
        let proof = consistency_proof(&leaves, old, n)?;
        base_cons.push(t.elapsed().as_secs_f64() * 1e6);
        if proof != db.consistency_proof(old, n)? {
            bail!("the tree file's consistency proof from {old} differs from the core's");
        }
    }

    let (im, ip) = percentiles(incl);
    let (cm, cp) = percentiles(cons);
    let (om, op) = percentiles(older);
    let (bim, bip) = percentiles(base_incl);
    let (bcm, bcp) = percentiles(base_cons);
    println!(
        "  {:<44} {:>12} {:>12} {:>8}",
        "proof", "median µs", "p99 µs", "samples"
    );
    let row = |name: &str, m: f64, p: f64, k: usize| {
        println!("  {name:<44} {m:>12.1} {p:>12.1} {k:>8}");
    };
    row("inclusion, tree file, size n", im, ip, s.queries);
    row("inclusion, tree file, random older size", om, op, s.queries);
    row("consistency, tree file, random old -> n", cm, cp, s.queries);
    row("inclusion, core O(n) (baseline)", bim, bip, s.baseline);
    row("consistency, core O(n) (baseline)", bcm, bcp, s.baseline);
    println!(
        "  speed-up at the median: inclusion {:.0}x, consistency {:.0}x; aim: proofs < 1000 µs: {}",
        bim / im,
        bcm / cm,
        if ip < 1000.0 && cp < 1000.0 && op < 1000.0 {
            "met (p99)"
        } else if im < 1000.0 && cm < 1000.0 {
            "met at the median, not at p99"
        } else {
            "NOT met"
        }
    );
    Ok(())
}
