//! Cross-checks `custody_core::merkle` against a naive reference written straight from the
//! recursive definitions of RFC 6962 section 2.1 (MTH, PATH, SUBPROOF), and checks that the
//! verifiers refuse tampered proofs, roots, sizes and indexes.

use custody_core::merkle::{
    consistency_proof, inclusion_proof, leaf_hash, node_hash, root_of, verify_consistency,
    verify_inclusion, Digest, Frontier, ProofError, EMPTY_ROOT,
};
use sha2::{Digest as _, Sha256};
use std::cell::RefCell;
use std::collections::HashMap;

// ---------------------------------------------------------------------------------------------
// Reference implementation, RFC 6962 section 2.1, on leaf *inputs* (the 32-byte event hashes).

fn sha256(parts: &[&[u8]]) -> Digest {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// k: the largest power of two smaller than n (n > 1).
fn ref_k(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// The reference works on a list of leaf inputs D and names sub-lists D[lo:hi] by their bounds,
/// so that MTH values can be memoized (the recursion recomputes them a great many times, and
/// unoptimized SHA-256 is slow); the definitions themselves are transcribed literally.
struct Reference {
    d: Vec<Digest>,
    mth_memo: RefCell<HashMap<(usize, usize), Digest>>,
}

impl Reference {
    fn new(d: Vec<Digest>) -> Self {
        Self {
            d,
            mth_memo: RefCell::new(HashMap::new()),
        }
    }

    /// MTH({}) = SHA-256(); MTH({d0}) = SHA-256(0x00 || d0);
    /// MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])).
    fn mth(&self, lo: usize, hi: usize) -> Digest {
        if let Some(h) = self.mth_memo.borrow().get(&(lo, hi)) {
            return *h;
        }
        let h = match hi - lo {
            0 => sha256(&[]),
            1 => sha256(&[&[0x00], &self.d[lo]]),
            n => {
                let k = ref_k(n);
                sha256(&[&[0x01], &self.mth(lo, lo + k), &self.mth(lo + k, hi)])
            }
        };
        self.mth_memo.borrow_mut().insert((lo, hi), h);
        h
    }

    /// PATH(0, {d0}) = {};
    /// PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) for m < k;
    ///               = PATH(m - k, D[k:n]) : MTH(D[0:k]) for m >= k.
    fn path(&self, m: usize, lo: usize, hi: usize) -> Vec<Digest> {
        let n = hi - lo;
        if n == 1 {
            assert_eq!(m, 0);
            return vec![];
        }
        let k = ref_k(n);
        if m < k {
            let mut p = self.path(m, lo, lo + k);
            p.push(self.mth(lo + k, hi));
            p
        } else {
            let mut p = self.path(m - k, lo + k, hi);
            p.push(self.mth(lo, lo + k));
            p
        }
    }

    /// PROOF(m, D[n]) = SUBPROOF(m, D[n], true), empty for m = 0 or m = n.
    fn proof(&self, m: usize, n: usize) -> Vec<Digest> {
        if m == 0 || m == n {
            return vec![];
        }
        self.subproof(m, 0, n, true)
    }

    /// SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH(D[m])};
    /// m <= k: SUBPROOF(m, D[0:k], b) : MTH(D[k:n]);
    /// m > k:  SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k]).
    fn subproof(&self, m: usize, lo: usize, hi: usize, b: bool) -> Vec<Digest> {
        let n = hi - lo;
        if m == n {
            return if b { vec![] } else { vec![self.mth(lo, hi)] };
        }
        let k = ref_k(n);
        if m <= k {
            let mut p = self.subproof(m, lo, lo + k, b);
            p.push(self.mth(lo + k, hi));
            p
        } else {
            let mut p = self.subproof(m - k, lo + k, hi, false);
            p.push(self.mth(lo, lo + k));
            p
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures.

/// Deterministic event hashes.
fn events(n: usize) -> Vec<Digest> {
    (0..n as u64)
        .map(|i| sha256(&[b"event", &i.to_be_bytes()]))
        .collect()
}

struct Fixture {
    /// Leaf inputs (event hashes) and the reference over them.
    events: Vec<Digest>,
    reference: Reference,
    leaves: Vec<Digest>,
    /// roots[s] = root of the first s leaves, from the reference.
    roots: Vec<Digest>,
}

fn fixture(n: usize) -> Fixture {
    let events = events(n);
    let leaves: Vec<Digest> = events.iter().map(leaf_hash).collect();
    let reference = Reference::new(events.clone());
    let roots = (0..=n).map(|s| reference.mth(0, s)).collect();
    Fixture {
        events,
        reference,
        leaves,
        roots,
    }
}

/// Every index for trees up to 128 leaves; for bigger ones a dense sample: both ends, both
/// sides of every power of two, and one index in 17 (shifting with the size).
fn sample_indexes(size: usize) -> Vec<usize> {
    if size <= 128 {
        return (0..size).collect();
    }
    (0..size)
        .filter(|&i| {
            i < 4
                || i + 4 >= size
                || i % 17 == size % 17
                || (i & (i + 1)) == 0
                || i.is_power_of_two()
        })
        .collect()
}

fn flip(h: &Digest, byte: usize) -> Digest {
    let mut h = *h;
    h[byte % 32] ^= 0x08;
    h
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[test]
fn leaf_hash_matches_reference() {
    for e in events(10) {
        assert_eq!(leaf_hash(&e), Reference::new(vec![e]).mth(0, 1));
        assert_eq!(leaf_hash(&e), sha256(&[&[0], &e]));
    }
    assert_eq!(Reference::new(vec![]).mth(0, 0), EMPTY_ROOT);
}

#[test]
fn roots_and_frontier_match_reference_up_to_300() {
    let f = fixture(300);
    let mut frontier = Frontier::default();
    for size in 0..=300usize {
        assert_eq!(
            root_of(&f.leaves[..size]),
            f.roots[size],
            "root_of size {size}"
        );
        assert_eq!(frontier.size(), size as u64);
        assert_eq!(frontier.root(), f.roots[size], "frontier size {size}");
        if size < 300 {
            frontier.push(f.leaves[size]);
        }
    }
}

#[test]
fn frontier_root_at_larger_sizes() {
    // A few bigger sizes with many set bits, streaming.
    let events = events(4097);
    let leaves: Vec<Digest> = events.iter().map(leaf_hash).collect();
    let mut frontier = Frontier::new();
    for (i, leaf) in leaves.iter().enumerate() {
        frontier.push(*leaf);
        let size = i + 1;
        if [1023, 1024, 1025, 2047, 3001, 4095, 4096, 4097].contains(&size) {
            assert_eq!(frontier.root(), root_of(&leaves[..size]), "size {size}");
        }
    }
    assert_eq!(
        frontier.root(),
        Reference::new(events.clone()).mth(0, events.len())
    );
}

#[test]
fn inclusion_proofs_match_reference_and_verify() {
    let f = fixture(300);
    for size in 1..=300usize {
        let root = &f.roots[size];
        for index in sample_indexes(size) {
            let proof = inclusion_proof(&f.leaves, index as u64, size as u64).unwrap();
            assert_eq!(
                proof,
                f.reference.path(index, 0, size),
                "index {index} size {size}"
            );
            verify_inclusion(&f.leaves[index], index as u64, size as u64, &proof, root)
                .unwrap_or_else(|e| panic!("index {index} size {size}: {e}"));
        }
    }
}

fn assert_inclusion_refused(
    f: &Fixture,
    index: usize,
    size: usize,
    proof: &[Digest],
    root: &Digest,
) {
    let leaf = &f.leaves[index];
    let (i, s) = (index as u64, size as u64);
    let refused = |what: &str, r: Result<(), ProofError>| {
        assert!(r.is_err(), "{what} accepted: index {index} size {size}");
    };
    // Wrong leaf, wrong root.
    refused(
        "event hash instead of leaf",
        verify_inclusion(&f.events[index], i, s, proof, root),
    );
    refused(
        "other leaf",
        verify_inclusion(&flip(leaf, index), i, s, proof, root),
    );
    refused(
        "flipped root",
        verify_inclusion(leaf, i, s, proof, &flip(root, 3)),
    );
    refused(
        "empty root",
        verify_inclusion(leaf, i, s, proof, &EMPTY_ROOT),
    );
    // Wrong indexes and sizes.
    for other in [i.wrapping_sub(1), i + 1, i ^ 2, i ^ 1, s, s + 1] {
        if other != i {
            refused("other index", verify_inclusion(leaf, other, s, proof, root));
        }
    }
    // Sizes whose path has the same shape (e.g. s + 1) legitimately verify: the root commits to
    // its size only through the checkpoint. Doubling and halving never share the shape.
    for other in [s * 2, s / 2] {
        if other != s {
            refused("other size", verify_inclusion(leaf, i, other, proof, root));
        }
    }
    // Garbage around the proof.
    let mut longer = proof.to_vec();
    longer.push(*root);
    refused("trailing root", verify_inclusion(leaf, i, s, &longer, root));
    let mut longer = vec![[0u8; 32]];
    longer.extend_from_slice(proof);
    refused(
        "preceding garbage",
        verify_inclusion(leaf, i, s, &longer, root),
    );
    if let Some((_, shorter)) = proof.split_last() {
        refused("truncated", verify_inclusion(leaf, i, s, shorter, root));
    }
    for k in 0..proof.len() {
        let mut bad = proof.to_vec();
        bad[k] = flip(&bad[k], k);
        refused("flipped node", verify_inclusion(leaf, i, s, &bad, root));
    }
    if proof.len() > 1 {
        let mut swapped = proof.to_vec();
        swapped.swap(0, 1);
        if swapped != proof {
            refused(
                "swapped nodes",
                verify_inclusion(leaf, i, s, &swapped, root),
            );
        }
    }
}

#[test]
fn tampered_inclusion_is_refused() {
    let f = fixture(130);
    for size in 1..=130usize {
        for index in (0..size).step_by(if size > 40 { 5 } else { 1 }) {
            let proof = inclusion_proof(&f.leaves, index as u64, size as u64).unwrap();
            assert_inclusion_refused(&f, index, size, &proof, &f.roots[size]);
        }
    }
    // An index equal to the size, an empty tree.
    let proof = inclusion_proof(&f.leaves, 3, 8).unwrap();
    assert_eq!(
        verify_inclusion(&f.leaves[3], 8, 8, &proof, &f.roots[8]),
        Err(ProofError::IndexOutOfRange {
            index: 8,
            tree_size: 8
        })
    );
    assert!(verify_inclusion(&f.leaves[0], 0, 0, &[], &EMPTY_ROOT).is_err());
}

#[test]
fn wrong_lengths_are_named() {
    let f = fixture(13);
    let proof = inclusion_proof(&f.leaves, 4, 13).unwrap();
    assert_eq!(proof.len(), 4);
    assert_eq!(
        verify_inclusion(&f.leaves[4], 4, 13, &proof[..3], &f.roots[13]),
        Err(ProofError::WrongProofLength {
            expected: 4,
            got: 3
        })
    );
    assert_eq!(
        verify_inclusion(&f.leaves[4], 4, 13, &proof, &f.roots[12]),
        Err(ProofError::RootMismatch)
    );
}

#[test]
fn consistency_proofs_match_reference_for_all_pairs_up_to_64() {
    let f = fixture(64);
    for new in 0..=64usize {
        for old in 0..=new {
            let proof = consistency_proof(&f.leaves, old as u64, new as u64).unwrap();
            assert_eq!(proof, f.reference.proof(old, new), "{old} -> {new}");
            verify_consistency(old as u64, new as u64, &f.roots[old], &f.roots[new], &proof)
                .unwrap_or_else(|e| panic!("{old} -> {new}: {e}"));
        }
    }
}

#[test]
fn consistency_proofs_match_reference_sampled_up_to_300() {
    let f = fixture(300);
    for new in (65..=300usize)
        .step_by(3)
        .chain([127, 128, 129, 255, 256, 257, 300])
    {
        let olds = sample_indexes(new).into_iter().chain([new]);
        for old in olds {
            let proof = consistency_proof(&f.leaves, old as u64, new as u64).unwrap();
            assert_eq!(proof, f.reference.proof(old, new), "{old} -> {new}");
            verify_consistency(old as u64, new as u64, &f.roots[old], &f.roots[new], &proof)
                .unwrap_or_else(|e| panic!("{old} -> {new}: {e}"));
        }
    }
}

fn assert_consistency_refused(f: &Fixture, old: usize, new: usize, proof: &[Digest]) {
    let (r1, r2) = (&f.roots[old], &f.roots[new]);
    let (m, n) = (old as u64, new as u64);
    let refused = |what: &str, r: Result<(), ProofError>| {
        assert!(r.is_err(), "{what} accepted: {old} -> {new}");
    };
    for other in [m - 1, m + 1, m ^ 2, m ^ 1] {
        if other != m && other <= n && other != 0 {
            // A different old size only verifies if it has the same root, which never happens
            // with distinct leaves.
            refused(
                "other old size",
                verify_consistency(other, n, r1, r2, proof),
            );
        }
    }
    // As for inclusion, only sizes that change the shape of the proof are certain to fail.
    for other in [n * 2, n / 2] {
        if other != n {
            refused(
                "other new size",
                verify_consistency(m, other, r1, r2, proof),
            );
        }
    }
    refused(
        "flipped old root",
        verify_consistency(m, n, &flip(r1, 0), r2, proof),
    );
    refused(
        "flipped new root",
        verify_consistency(m, n, r1, &flip(r2, 31), proof),
    );
    refused("swapped roots", verify_consistency(m, n, r2, r1, proof));
    refused("empty proof", verify_consistency(m, n, r1, r2, &[]));
    let mut longer = proof.to_vec();
    longer.push(*r2);
    refused("trailing root", verify_consistency(m, n, r1, r2, &longer));
    let mut longer = vec![*r1];
    longer.extend_from_slice(proof);
    refused("preceding root", verify_consistency(m, n, r1, r2, &longer));
    if let Some((_, shorter)) = proof.split_last() {
        refused("truncated", verify_consistency(m, n, r1, r2, shorter));
    }
    for k in 0..proof.len() {
        let mut bad = proof.to_vec();
        bad[k] = flip(&bad[k], k + 1);
        refused("flipped node", verify_consistency(m, n, r1, r2, &bad));
    }
}

#[test]
fn tampered_consistency_is_refused() {
    let f = fixture(70);
    for new in 2..=70usize {
        for old in 1..new {
            let proof = consistency_proof(&f.leaves, old as u64, new as u64).unwrap();
            assert_consistency_refused(&f, old, new, &proof);
        }
    }
}

#[test]
fn inclusion_and_consistency_compose() {
    // A leaf proven in an old tree, plus a consistency proof, is in the new tree too: checked by
    // proving it directly in the new tree.
    let f = fixture(200);
    for (old, new, index) in [(7usize, 200usize, 3usize), (64, 129, 63), (100, 101, 99)] {
        let p = consistency_proof(&f.leaves, old as u64, new as u64).unwrap();
        verify_consistency(old as u64, new as u64, &f.roots[old], &f.roots[new], &p).unwrap();
        let pi = inclusion_proof(&f.leaves, index as u64, new as u64).unwrap();
        verify_inclusion(
            &f.leaves[index],
            index as u64,
            new as u64,
            &pi,
            &f.roots[new],
        )
        .unwrap();
    }
    assert_eq!(node_hash(&f.leaves[0], &f.leaves[1]), f.roots[2]);
}
