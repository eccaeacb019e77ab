//! The ledger-wide Merkle tree: RFC 6962 / RFC 9162 hashing, inclusion and consistency proofs.
//!
//! Every custody event, whatever its chain, is one leaf of a single append-only tree. The leaf
//! input is the 32 raw bytes of the event hash, so a proof speaks about an event without
//! revealing anything else about it.
//!
//! Design choices:
//! - Hashing is exactly RFC 6962 section 2.1 with SHA-256: a leaf is `SHA-256(0x00 || data)`,
//!   an interior node `SHA-256(0x01 || left || right)`, the empty tree `SHA-256("")`. The
//!   domain-separation prefixes make a leaf impossible to pass off as a node. Any off-the-shelf
//!   RFC 6962 verifier (Go `transparency-dev/merkle`, Certificate Transparency tooling) can
//!   therefore check our proofs, and the known-answer tests use their published vectors.
//! - The functions work on already computed leaf hashes ([`leaf_hash`]) so that callers holding
//!   millions of events keep 32 bytes per leaf rather than the events themselves.
//! - [`Frontier`] is the streaming form: it keeps one hash per set bit of the tree size (at
//!   most 64), so a verifier can recompute the root of a huge ledger in O(log n) memory.
//! - Proof generation ([`inclusion_proof`], [`consistency_proof`]) follows the recursive
//!   definitions PATH and SUBPROOF of RFC 6962 / RFC 9162 section 2.1, unrolled into loops over
//!   index ranges; each proof costs O(n) hashing and O(log n) memory, with no precomputed
//!   node storage.
//! - Verification ([`verify_inclusion`], [`verify_consistency`]) is the bit-walking algorithm of
//!   RFC 9162 sections 2.1.3.2 and 2.1.4.2. The expected proof length is computed from the
//!   sizes first, so a short or padded proof is refused with [`ProofError::WrongProofLength`]
//!   before any hashing, and a mismatch is reported as such rather than as a wrong root.
//! - A consistency proof from the empty tree is empty, and we additionally require the old root
//!   to be the empty-tree root (Go's verifier ignores it): a tree of size 0 has exactly one root.
//! - The JSON forms ([`InclusionProofJson`], [`ConsistencyProofJson`]) carry the event hash in
//!   lowercase hex, as everywhere else in the ledger, and the proof nodes in standard padded
//!   base64, as in C2SP checkpoints and tlog proofs. Both are decoded strictly. Unknown JSON
//!   fields are ignored so that files may carry extra context (e.g. a checkpoint).

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::encoding::{b64std, hex, unb64std, unhex};

/// A SHA-256 output: leaf hashes, node hashes and roots.
pub type Digest = [u8; 32];

/// Root of the empty tree: SHA-256 of the empty string (RFC 6962 section 2.1).
pub const EMPTY_ROOT: Digest = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// Domain-separation prefix of leaf hashes.
const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of interior node hashes.
const NODE_PREFIX: u8 = 0x01;

/// Why a proof could not be produced or was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not smaller than the tree size.
    #[error("leaf index {index} is outside a tree of size {tree_size}")]
    IndexOutOfRange {
        /// The leaf index asked for.
        index: u64,
        /// The tree size it was checked against.
        tree_size: u64,
    },
    /// A tree size exceeds what is available (leaves known, or the newer tree size).
    #[error("tree size {size} is out of range: at most {max} is possible here")]
    SizeOutOfRange {
        /// The offending size.
        size: u64,
        /// The largest acceptable size.
        max: u64,
    },
    /// The proof does not have the number of hashes its sizes imply.
    #[error("proof has {got} hashes, expected {expected} for these sizes")]
    WrongProofLength {
        /// Number of hashes the sizes imply.
        expected: usize,
        /// Number of hashes given.
        got: usize,
    },
    /// The proof leads to another root than the expected (new) root.
    #[error("proof does not lead to the expected root hash")]
    RootMismatch,
    /// A consistency proof does not lead back to the old root.
    #[error("consistency proof does not lead to the expected old root hash")]
    OldRootMismatch,
    /// A proof hash in JSON is not standard padded base64 of 32 bytes.
    #[error("proof hash #{position} is not standard base64 of 32 bytes")]
    BadProofHash {
        /// Zero-based position of the hash in the proof.
        position: usize,
    },
    /// An event hash in JSON is not 64 lowercase hexadecimal characters.
    #[error("event hash is not 64 lowercase hexadecimal characters")]
    BadEventHash,
}

/// Leaf hash of an event: `SHA-256(0x00 || event_hash)`.
pub fn leaf_hash(event_hash: &Digest) -> Digest {
    let mut input = [LEAF_PREFIX; 33];
    input[1..].copy_from_slice(event_hash);
    Sha256::digest(input).into()
}

/// Interior node hash: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Digest, right: &Digest) -> Digest {
    // One contiguous input: a single `digest` call is markedly faster than three `update`s in
    // unoptimized builds, where proof generation is exercised heavily by the tests.
    let mut input = [NODE_PREFIX; 65];
    input[1..33].copy_from_slice(left);
    input[33..].copy_from_slice(right);
    Sha256::digest(input).into()
}

/// Largest power of two strictly smaller than `n`; `n` must be at least 2.
fn split_point(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// Root over already-computed leaf hashes (MTH of RFC 6962 section 2.1).
pub fn root_of(leaves: &[Digest]) -> Digest {
    match leaves {
        [] => EMPTY_ROOT,
        [only] => *only,
        _ => {
            let (left, right) = leaves.split_at(split_point(leaves.len()));
            node_hash(&root_of(left), &root_of(right))
        }
    }
}

/// Incremental Merkle tree over a stream of leaf hashes (a "compact range" or frontier).
///
/// It keeps the roots of the maximal perfect subtrees covering the leaves pushed so far, one per
/// set bit of the size, largest first: at most 64 hashes whatever the size.
///
/// It serializes as `{"size": N, "nodes": ["<hex>", ...]}` (a saved audit state keeps it); a
/// form whose node count is not the number of set bits of the size is refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "FrontierForm", try_from = "FrontierForm")]
pub struct Frontier {
    size: u64,
    /// Roots of perfect subtrees, left to right (decreasing heights).
    nodes: Vec<Digest>,
}

impl Frontier {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a leaf hash (see [`leaf_hash`]).
    pub fn push(&mut self, leaf: Digest) {
        let mut hash = leaf;
        let mut size = self.size;
        // Each trailing one bit of the old size is a perfect subtree of the same height as the
        // one being carried: merge them, as in binary addition.
        while size & 1 == 1 {
            match self.nodes.pop() {
                Some(left) => hash = node_hash(&left, &hash),
                None => break, // unreachable: one node per set bit of the size
            }
            size >>= 1;
        }
        self.nodes.push(hash);
        self.size += 1;
    }

    /// Number of leaves pushed.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Root of the tree of the leaves pushed so far ([`EMPTY_ROOT`] if none).
    pub fn root(&self) -> Digest {
        let mut iter = self.nodes.iter().rev();
        match iter.next() {
            None => EMPTY_ROOT,
            Some(last) => iter.fold(*last, |acc, left| node_hash(left, &acc)),
        }
    }
}

/// The serialized form of a [`Frontier`]: nodes in lowercase hex.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontierForm {
    size: u64,
    nodes: Vec<String>,
}

impl From<Frontier> for FrontierForm {
    fn from(f: Frontier) -> Self {
        FrontierForm {
            size: f.size,
            nodes: f.nodes.iter().map(|n| hex(n)).collect(),
        }
    }
}

impl TryFrom<FrontierForm> for Frontier {
    type Error = String;

    fn try_from(form: FrontierForm) -> Result<Self, String> {
        if form.nodes.len() != form.size.count_ones() as usize {
            return Err(format!(
                "a frontier of size {} holds {} nodes, not {}",
                form.size,
                form.size.count_ones(),
                form.nodes.len()
            ));
        }
        let nodes = form
            .nodes
            .iter()
            .map(|n| {
                unhex::<32>(n)
                    .ok_or_else(|| format!("frontier node {n:?} is not 64 lowercase hex digits"))
            })
            .collect::<Result<Vec<Digest>, String>>()?;
        Ok(Frontier {
            size: form.size,
            nodes,
        })
    }
}

/// Checks `size <= available` and converts it to an index bound.
fn checked_size(size: u64, available: usize) -> Result<usize, ProofError> {
    let max = u64::try_from(available).unwrap_or(u64::MAX);
    if size > max {
        return Err(ProofError::SizeOutOfRange { size, max });
    }
    usize::try_from(size).map_err(|_| ProofError::SizeOutOfRange { size, max })
}

/// Inclusion proof of leaf `index` in the tree of the first `tree_size` leaves
/// (PATH of RFC 9162 section 2.1.3.1), nodes ordered from the leaf up.
pub fn inclusion_proof(
    leaves: &[Digest],
    index: u64,
    tree_size: u64,
) -> Result<Vec<Digest>, ProofError> {
    let n = checked_size(tree_size, leaves.len())?;
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange { index, tree_size });
    }
    let mut m = checked_size(index, n)?;
    let mut tree = &leaves[..n];
    let mut path = Vec::new();
    // PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])      if m < k
    //               = PATH(m - k, D[k:n]) : MTH(D[0:k])  otherwise
    // The deepest sibling comes first, so collect top-down and reverse.
    while tree.len() > 1 {
        let (left, right) = tree.split_at(split_point(tree.len()));
        if m < left.len() {
            path.push(root_of(right));
            tree = left;
        } else {
            path.push(root_of(left));
            m -= left.len();
            tree = right;
        }
    }
    path.reverse();
    Ok(path)
}

/// Consistency proof between the trees of the first `old_size` and `new_size` leaves
/// (SUBPROOF of RFC 9162 section 2.1.4.1). Empty when `old_size` is 0 or equals `new_size`.
pub fn consistency_proof(
    leaves: &[Digest],
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Digest>, ProofError> {
    let n = checked_size(new_size, leaves.len())?;
    let mut m = checked_size(old_size, n)?;
    if m == 0 || m == n {
        return Ok(Vec::new());
    }
    let mut tree = &leaves[..n];
    // `complete` is the `b` flag of SUBPROOF: true while the subtree reached is the old tree
    // itself, whose root the verifier already knows.
    let mut complete = true;
    let mut proof = Vec::new();
    loop {
        if m == tree.len() {
            if !complete {
                proof.push(root_of(tree));
            }
            break;
        }
        let (left, right) = tree.split_at(split_point(tree.len()));
        if m <= left.len() {
            proof.push(root_of(right));
            tree = left;
        } else {
            proof.push(root_of(left));
            m -= left.len();
            tree = right;
            complete = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// Sizes of the two parts of an inclusion proof for `index` in a tree of `size` leaves: the
/// hashes below the point where the path leaves the perfect subtrees (`inner`), and the hashes
/// of the right border above it.
fn decompose_inclusion(index: u64, size: u64) -> (usize, usize) {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner as usize, border as usize)
}

/// Verifies that `leaf` (a leaf hash) is at `index` in the tree of `tree_size` leaves whose root
/// is `root` (RFC 9162 section 2.1.3.2).
pub fn verify_inclusion(
    leaf: &Digest,
    index: u64,
    tree_size: u64,
    proof: &[Digest],
    root: &Digest,
) -> Result<(), ProofError> {
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange { index, tree_size });
    }
    let (inner, border) = decompose_inclusion(index, tree_size);
    let expected = inner + border;
    let wrong_length = ProofError::WrongProofLength {
        expected,
        got: proof.len(),
    };
    if proof.len() != expected {
        return Err(wrong_length);
    }
    let mut fnode = index;
    let mut snode = tree_size - 1;
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(wrong_length);
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(wrong_length);
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Verifies that the tree of `new_size` leaves with root `new_root` extends the tree of
/// `old_size` leaves with root `old_root` (RFC 9162 section 2.1.4.2).
///
/// Equal sizes need an empty proof and equal roots; an old size of 0 needs an empty proof and
/// `old_root` equal to [`EMPTY_ROOT`].
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Digest,
    new_root: &Digest,
    proof: &[Digest],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::SizeOutOfRange {
            size: old_size,
            max: new_size,
        });
    }
    if old_size == 0 || old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::WrongProofLength {
                expected: 0,
                got: proof.len(),
            });
        }
        if old_size == 0 && *old_root != EMPTY_ROOT {
            return Err(ProofError::OldRootMismatch);
        }
        if old_size == new_size && old_root != new_root {
            return Err(ProofError::RootMismatch);
        }
        return Ok(());
    }

    // The old tree's last leaf sits in a perfect subtree of 2^shift leaves. If the old tree is
    // that subtree, its root is the known old root; otherwise the proof starts with it.
    let shift = old_size.trailing_zeros();
    let (inner, border) = decompose_inclusion(old_size - 1, new_size);
    let inner = inner.saturating_sub(shift as usize);
    let seeded = old_size == 1 << shift;
    let expected = usize::from(!seeded) + inner + border;
    let wrong_length = ProofError::WrongProofLength {
        expected,
        got: proof.len(),
    };
    if proof.len() != expected {
        return Err(wrong_length);
    }
    let (first, rest) = if seeded {
        (*old_root, proof)
    } else {
        match proof.split_first() {
            Some((first, rest)) => (*first, rest),
            None => return Err(wrong_length),
        }
    };

    let mut fnode = old_size - 1;
    let mut snode = new_size - 1;
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let mut fr = first;
    let mut sr = first;
    for c in rest {
        if snode == 0 {
            return Err(wrong_length);
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(wrong_length);
    }
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if sr != *new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Encodes proof nodes as standard padded base64 strings, the JSON form.
pub fn encode_proof(proof: &[Digest]) -> Vec<String> {
    proof.iter().map(|h| b64std(h)).collect()
}

/// Decodes proof nodes from standard padded base64 strings, refusing anything that is not
/// exactly 32 bytes in canonical encoding.
pub fn decode_proof(hashes: &[String]) -> Result<Vec<Digest>, ProofError> {
    hashes
        .iter()
        .enumerate()
        .map(|(position, s)| {
            unb64std(s)
                .and_then(|bytes| Digest::try_from(bytes.as_slice()).ok())
                .ok_or(ProofError::BadProofHash { position })
        })
        .collect()
}

/// JSON form of an inclusion proof, as in `proofs.json` test vectors and the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProofJson {
    /// The event hash (the leaf input), lowercase hex.
    pub hash: String,
    /// Zero-based leaf index of the event in the ledger-wide tree.
    pub index: u64,
    /// Size of the tree the proof is relative to.
    pub tree_size: u64,
    /// Proof nodes from the leaf up, standard padded base64 of 32 bytes each.
    pub hashes: Vec<String>,
}

impl InclusionProofJson {
    /// Builds the JSON form from an event hash and a proof.
    pub fn new(event_hash: &Digest, index: u64, tree_size: u64, proof: &[Digest]) -> Self {
        Self {
            hash: hex(event_hash),
            index,
            tree_size,
            hashes: encode_proof(proof),
        }
    }

    /// The decoded event hash.
    pub fn event_hash(&self) -> Result<Digest, ProofError> {
        unhex::<32>(&self.hash).ok_or(ProofError::BadEventHash)
    }

    /// The decoded proof nodes.
    pub fn proof(&self) -> Result<Vec<Digest>, ProofError> {
        decode_proof(&self.hashes)
    }

    /// Decodes and verifies the proof against the root of a tree of `tree_size` leaves.
    pub fn verify(&self, root: &Digest) -> Result<(), ProofError> {
        let leaf = leaf_hash(&self.event_hash()?);
        verify_inclusion(&leaf, self.index, self.tree_size, &self.proof()?, root)
    }
}

/// JSON form of a consistency proof, as in `proofs.json` test vectors and the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProofJson {
    /// Size of the older tree.
    pub old_size: u64,
    /// Size of the newer tree.
    pub new_size: u64,
    /// Proof nodes, standard padded base64 of 32 bytes each.
    pub hashes: Vec<String>,
}

impl ConsistencyProofJson {
    /// Builds the JSON form from sizes and a proof.
    pub fn new(old_size: u64, new_size: u64, proof: &[Digest]) -> Self {
        Self {
            old_size,
            new_size,
            hashes: encode_proof(proof),
        }
    }

    /// The decoded proof nodes.
    pub fn proof(&self) -> Result<Vec<Digest>, ProofError> {
        decode_proof(&self.hashes)
    }

    /// Decodes and verifies the proof between the two roots.
    pub fn verify(&self, old_root: &Digest, new_root: &Digest) -> Result<(), ProofError> {
        verify_consistency(
            self.old_size,
            self.new_size,
            old_root,
            new_root,
            &self.proof()?,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Digest {
        unhex::<32>(s).unwrap()
    }

    // Known answers from github.com/transparency-dev/merkle (testonly/constants.go and
    // proof/verify_test.go): the leaf hashes of the inputs "", 00, 10, 2021, 3031, 40414243,
    // 5051525354555657 and 606162636465666768696a6b6c6d6e6f, the roots of every prefix, and
    // proofs. Our leaf input is always 32 bytes, so we start from their leaf hashes; the leaf
    // hashing itself is checked against their first vector separately.
    const KAT_LEAVES: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ];
    const KAT_ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn kat_leaves() -> Vec<Digest> {
        KAT_LEAVES.iter().map(|s| d(s)).collect()
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(EMPTY_ROOT, <[u8; 32]>::from(Sha256::digest(b"")));
        assert_eq!(
            hex(&EMPTY_ROOT),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(root_of(&[]), EMPTY_ROOT);
        assert_eq!(Frontier::new().root(), EMPTY_ROOT);
    }

    #[test]
    fn hashing_uses_rfc6962_prefixes() {
        // Leaf hash of the empty input, as in the known-answer vectors.
        assert_eq!(<[u8; 32]>::from(Sha256::digest([0u8])), d(KAT_LEAVES[0]));
        let e = [0x42u8; 32];
        let mut pre = vec![0u8];
        pre.extend_from_slice(&e);
        assert_eq!(leaf_hash(&e), <[u8; 32]>::from(Sha256::digest(&pre)));
        let leaves = kat_leaves();
        assert_eq!(
            node_hash(&leaves[0], &leaves[1]),
            d("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")
        );
    }

    #[test]
    fn known_roots() {
        let leaves = kat_leaves();
        let mut f = Frontier::new();
        for (size, want) in KAT_ROOTS.iter().enumerate() {
            assert_eq!(hex(&root_of(&leaves[..size])), *want, "size {size}");
            assert_eq!(hex(&f.root()), *want, "frontier size {size}");
            assert_eq!(f.size(), size as u64);
            if size < leaves.len() {
                f.push(leaves[size]);
            }
        }
    }

    #[test]
    fn known_inclusion_proofs() {
        let leaves = kat_leaves();
        // (zero-based index, tree size, proof)
        let vectors: [(u64, u64, &[&str]); 5] = [
            (0, 1, &[]),
            (
                0,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                3,
                &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
            ),
            (
                1,
                5,
                &[
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (index, size, want) in vectors {
            let want: Vec<Digest> = want.iter().map(|s| d(s)).collect();
            let got = inclusion_proof(&leaves, index, size).unwrap();
            assert_eq!(got, want, "index {index} size {size}");
            let root = d(KAT_ROOTS[size as usize]);
            verify_inclusion(&leaves[index as usize], index, size, &want, &root).unwrap();
        }
    }

    #[test]
    fn known_consistency_proofs() {
        let leaves = kat_leaves();
        let vectors: [(u64, u64, &[&str]); 5] = [
            (1, 1, &[]),
            (
                1,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
            (
                6,
                7,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
        ];
        for (old, new, want) in vectors {
            let want: Vec<Digest> = want.iter().map(|s| d(s)).collect();
            assert_eq!(
                consistency_proof(&leaves, old, new).unwrap(),
                want,
                "{old} -> {new}"
            );
            let (r1, r2) = (d(KAT_ROOTS[old as usize]), d(KAT_ROOTS[new as usize]));
            verify_consistency(old, new, &r1, &r2, &want).unwrap();
        }
    }

    #[test]
    fn generation_refuses_bad_ranges() {
        let leaves = kat_leaves();
        assert_eq!(
            inclusion_proof(&leaves, 0, 9),
            Err(ProofError::SizeOutOfRange { size: 9, max: 8 })
        );
        assert_eq!(
            inclusion_proof(&leaves, 8, 8),
            Err(ProofError::IndexOutOfRange {
                index: 8,
                tree_size: 8
            })
        );
        assert_eq!(
            inclusion_proof(&leaves, 0, 0),
            Err(ProofError::IndexOutOfRange {
                index: 0,
                tree_size: 0
            })
        );
        assert_eq!(
            consistency_proof(&leaves, 5, 4),
            Err(ProofError::SizeOutOfRange { size: 5, max: 4 })
        );
        assert_eq!(
            consistency_proof(&leaves, 1, 9),
            Err(ProofError::SizeOutOfRange { size: 9, max: 8 })
        );
        assert_eq!(consistency_proof(&leaves, 0, 8), Ok(vec![]));
        assert_eq!(consistency_proof(&leaves, 8, 8), Ok(vec![]));
    }

    #[test]
    fn trivial_consistency_cases() {
        let leaves = kat_leaves();
        let r1 = root_of(&leaves[..1]);
        let r8 = root_of(&leaves);
        verify_consistency(0, 0, &EMPTY_ROOT, &EMPTY_ROOT, &[]).unwrap();
        verify_consistency(0, 8, &EMPTY_ROOT, &r8, &[]).unwrap();
        verify_consistency(8, 8, &r8, &r8, &[]).unwrap();
        assert_eq!(
            verify_consistency(0, 8, &r1, &r8, &[]),
            Err(ProofError::OldRootMismatch)
        );
        assert_eq!(
            verify_consistency(0, 0, &EMPTY_ROOT, &r1, &[]),
            Err(ProofError::RootMismatch)
        );
        assert_eq!(
            verify_consistency(8, 8, &r1, &r8, &[]),
            Err(ProofError::RootMismatch)
        );
        assert_eq!(
            verify_consistency(8, 8, &r8, &r8, &[r8]),
            Err(ProofError::WrongProofLength {
                expected: 0,
                got: 1
            })
        );
        assert_eq!(
            verify_consistency(0, 8, &EMPTY_ROOT, &r8, &[EMPTY_ROOT]),
            Err(ProofError::WrongProofLength {
                expected: 0,
                got: 1
            })
        );
        assert_eq!(
            verify_consistency(2, 1, &r1, &r1, &[]),
            Err(ProofError::SizeOutOfRange { size: 2, max: 1 })
        );
        assert_eq!(
            verify_consistency(1, 2, &r1, &r8, &[]),
            Err(ProofError::WrongProofLength {
                expected: 1,
                got: 0
            })
        );
    }

    #[test]
    fn single_leaf_inclusion() {
        let leaf = leaf_hash(&[7u8; 32]);
        verify_inclusion(&leaf, 0, 1, &[], &leaf).unwrap();
        assert_eq!(
            verify_inclusion(&leaf, 0, 1, &[], &EMPTY_ROOT),
            Err(ProofError::RootMismatch)
        );
        assert_eq!(
            verify_inclusion(&leaf, 1, 1, &[], &leaf),
            Err(ProofError::IndexOutOfRange {
                index: 1,
                tree_size: 1
            })
        );
        assert_eq!(
            verify_inclusion(&leaf, 0, 0, &[], &EMPTY_ROOT),
            Err(ProofError::IndexOutOfRange {
                index: 0,
                tree_size: 0
            })
        );
    }

    #[test]
    fn huge_sizes_do_not_overflow() {
        // Length computation at the top of the u64 range must not panic.
        let leaf = [1u8; 32];
        let r = verify_inclusion(&leaf, u64::MAX - 1, u64::MAX, &[], &leaf);
        assert!(matches!(r, Err(ProofError::WrongProofLength { .. })));
        let r = verify_inclusion(&leaf, 0, u64::MAX, &[], &leaf);
        assert!(matches!(r, Err(ProofError::WrongProofLength { .. })));
        let r = verify_consistency(u64::MAX - 1, u64::MAX, &leaf, &leaf, &[]);
        assert!(matches!(r, Err(ProofError::WrongProofLength { .. })));
        let r = verify_consistency(1 << 63, u64::MAX, &leaf, &leaf, &[]);
        assert!(matches!(r, Err(ProofError::WrongProofLength { .. })));
    }

    #[test]
    fn json_forms_round_trip() {
        let events: Vec<Digest> = (0u8..11).map(|i| [i; 32]).collect();
        let leaves: Vec<Digest> = events.iter().map(leaf_hash).collect();
        let root = root_of(&leaves);
        let proof = inclusion_proof(&leaves, 6, 11).unwrap();
        let j = InclusionProofJson::new(&events[6], 6, 11, &proof);
        let text = serde_json::to_string(&j).unwrap();
        assert!(text.starts_with(
            r#"{"hash":"0606060606060606060606060606060606060606060606060606060606060606","index":6,"tree_size":11,"hashes":[""#
        ));
        let back: InclusionProofJson = serde_json::from_str(&text).unwrap();
        assert_eq!(back, j);
        assert_eq!(back.proof().unwrap(), proof);
        back.verify(&root).unwrap();
        assert_eq!(back.verify(&leaves[0]), Err(ProofError::RootMismatch));

        let old_root = root_of(&leaves[..3]);
        let cproof = consistency_proof(&leaves, 3, 11).unwrap();
        let c = ConsistencyProofJson::new(3, 11, &cproof);
        let back: ConsistencyProofJson =
            serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        back.verify(&old_root, &root).unwrap();
        assert_eq!(back.verify(&root, &root), Err(ProofError::OldRootMismatch));
    }

    #[test]
    fn json_decoding_is_strict() {
        let mut j = InclusionProofJson::new(&[0xab; 32], 0, 2, &[[1u8; 32]]);
        j.hash = j.hash.to_uppercase();
        assert_eq!(j.event_hash(), Err(ProofError::BadEventHash));
        j.hash = "ab".into();
        assert_eq!(j.event_hash(), Err(ProofError::BadEventHash));

        let good = b64std(&[1u8; 32]);
        let bad = [
            b64std(&[1u8; 31]),
            b64std(&[1u8; 33]),
            good.trim_end_matches('=').to_owned(),
            crate::encoding::b64url(&[0xfb; 32]),
            format!(" {good}"),
        ];
        for b in bad {
            assert_eq!(
                decode_proof(&[good.clone(), b.clone()]),
                Err(ProofError::BadProofHash { position: 1 }),
                "{b:?}"
            );
        }
    }

    #[test]
    fn error_messages_are_fact_first() {
        assert_eq!(
            ProofError::WrongProofLength {
                expected: 3,
                got: 2
            }
            .to_string(),
            "proof has 2 hashes, expected 3 for these sizes"
        );
        assert_eq!(
            ProofError::IndexOutOfRange {
                index: 9,
                tree_size: 4
            }
            .to_string(),
            "leaf index 9 is outside a tree of size 4"
        );
    }
}
