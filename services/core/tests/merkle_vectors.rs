//! The custody log's Merkle math and checkpoints against published vectors
//! (`tests/fixtures/merkle/`, sources in `tests/fixtures/README.md`) and against a direct
//! transcription of the RFC 9162 definitions.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::SigningKey;
use reetrace_core::checkpoint::{self, Checkpoint, VerifierKey};
use reetrace_core::merkle::{
    Frontier, Hash, NodeId, NodeSource, consistency_plan, consistency_proof, empty_root,
    inclusion_plan, inclusion_proof, leaf_hash, node_hash, root_at, verify_consistency,
    verify_inclusion,
};
use serde::Deserialize;

fn fixtures(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/merkle")
        .join(sub)
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    out.sort();
}

fn load<T: for<'de> Deserialize<'de>>(sub: &str) -> Vec<(PathBuf, T)> {
    let mut files = Vec::new();
    json_files(&fixtures(sub), &mut files);
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{p:?}: {e}"));
            (p, v)
        })
        .collect()
}

fn b64(s: &str) -> Vec<u8> {
    STANDARD.decode(s).unwrap()
}

fn hash(s: &str) -> Hash {
    b64(s).try_into().unwrap()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct InclusionVector {
    leaf_idx: u64,
    tree_size: u64,
    root: String,
    leaf_hash: String,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

impl InclusionVector {
    fn proof(&self) -> Vec<Vec<u8>> {
        self.proof.iter().flatten().map(|p| b64(p)).collect()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyVector {
    size1: u64,
    size2: u64,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
    desc: String,
    #[serde(rename = "wantErr")]
    want_err: bool,
}

impl ConsistencyVector {
    fn proof(&self) -> Vec<Vec<u8>> {
        self.proof.iter().flatten().map(|p| b64(p)).collect()
    }
}

#[test]
fn inclusion_vectors_verify_or_fail_as_published() {
    let vectors = load::<InclusionVector>("inclusion");
    assert_eq!(vectors.len(), 98, "inclusion fixtures missing");
    let mut happy = 0;
    for (path, v) in &vectors {
        let got = verify_inclusion(
            &b64(&v.leaf_hash),
            v.leaf_idx,
            v.tree_size,
            &v.proof(),
            &b64(&v.root),
        );
        assert_eq!(got.is_err(), v.want_err, "{path:?} ({}): {got:?}", v.desc);
        happy += usize::from(!v.want_err);
    }
    assert_eq!(happy, 6);
}

#[test]
fn consistency_vectors_verify_or_fail_as_published() {
    let vectors = load::<ConsistencyVector>("consistency");
    assert_eq!(vectors.len(), 98, "consistency fixtures missing");
    let mut happy = 0;
    for (path, v) in &vectors {
        let got = verify_consistency(v.size1, v.size2, &v.proof(), &b64(&v.root1), &b64(&v.root2));
        assert_eq!(got.is_err(), v.want_err, "{path:?} ({}): {got:?}", v.desc);
        happy += usize::from(!v.want_err);
    }
    assert_eq!(happy, 6);
}

/// Leaf inputs of the RFC 6962 reference tree (certificate-transparency's merkle_tree_test and
/// transparency-dev/merkle's testonly package), from which the happy-path vectors were made.
const REFERENCE_LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// Appends leaves through a [`Frontier`], storing every node it hands out, as the log does.
fn build(leaf_hashes: impl IntoIterator<Item = Hash>) -> (HashMap<NodeId, Hash>, Vec<Hash>) {
    let mut frontier = Frontier::new();
    let mut nodes = HashMap::new();
    let mut roots = vec![frontier.root()];
    for leaf in leaf_hashes {
        nodes.extend(frontier.append(leaf).unwrap());
        roots.push(frontier.root());
    }
    (nodes, roots)
}

fn reference_tree() -> (HashMap<NodeId, Hash>, Vec<Hash>) {
    build(
        REFERENCE_LEAVES
            .iter()
            .map(|h| leaf_hash(&hex::decode(h).unwrap())),
    )
}

#[test]
fn generated_proofs_equal_the_published_happy_paths() {
    let (nodes, roots) = reference_tree();
    let mut checked = 0;
    for (path, v) in load::<InclusionVector>("inclusion") {
        if v.want_err || v.desc != "happy path" {
            continue;
        }
        let root = hash(&v.root);
        assert_eq!(root_at(v.tree_size, &nodes).unwrap(), root, "{path:?}");
        assert_eq!(roots[v.tree_size as usize], root, "{path:?}");
        assert_eq!(nodes[&NodeId::leaf(v.leaf_idx)], hash(&v.leaf_hash));
        let proof = inclusion_proof(v.leaf_idx, v.tree_size, &nodes).unwrap();
        let want: Vec<Hash> = v
            .proof()
            .into_iter()
            .map(|p| p.try_into().unwrap())
            .collect();
        assert_eq!(proof, want, "{path:?}");
        checked += 1;
    }
    for (path, v) in load::<ConsistencyVector>("consistency") {
        if v.want_err || v.desc != "happy path" {
            continue;
        }
        assert_eq!(
            root_at(v.size1, &nodes).unwrap(),
            hash(&v.root1),
            "{path:?}"
        );
        assert_eq!(
            root_at(v.size2, &nodes).unwrap(),
            hash(&v.root2),
            "{path:?}"
        );
        let proof = consistency_proof(v.size1, v.size2, &nodes).unwrap();
        let want: Vec<Hash> = v
            .proof()
            .into_iter()
            .map(|p| p.try_into().unwrap())
            .collect();
        assert_eq!(proof, want, "{path:?}");
        checked += 1;
    }
    assert_eq!(checked, 10);
}

/// RFC 9162 section 2.1 written out literally over a list of leaf hashes, as an oracle.
struct Oracle {
    leaves: Vec<Hash>,
    memo: std::cell::RefCell<HashMap<(usize, usize), Hash>>,
}

impl Oracle {
    fn k(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    fn mth(&self, lo: usize, hi: usize) -> Hash {
        if let Some(h) = self.memo.borrow().get(&(lo, hi)) {
            return *h;
        }
        let h = match hi - lo {
            0 => empty_root(),
            1 => self.leaves[lo],
            n => {
                let k = Self::k(n);
                node_hash(&self.mth(lo, lo + k), &self.mth(lo + k, hi))
            }
        };
        self.memo.borrow_mut().insert((lo, hi), h);
        h
    }

    /// PATH(m, D[lo:hi]).
    fn path(&self, m: usize, lo: usize, hi: usize) -> Vec<Hash> {
        let n = hi - lo;
        if n == 1 {
            return vec![];
        }
        let k = Self::k(n);
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

    /// SUBPROOF(m, D[lo:hi], b).
    fn subproof(&self, m: usize, lo: usize, hi: usize, b: bool) -> Vec<Hash> {
        let n = hi - lo;
        if m == n {
            return if b { vec![] } else { vec![self.mth(lo, hi)] };
        }
        let k = Self::k(n);
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

fn test_leaves(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

#[test]
fn every_inclusion_proof_up_to_130_leaves_matches_the_rfc_and_verifies() {
    let leaves = test_leaves(130);
    let (nodes, roots) = build(leaves.iter().copied());
    let oracle = Oracle {
        leaves: leaves.clone(),
        memo: Default::default(),
    };
    for n in 1..=130u64 {
        let root = root_at(n, &nodes).unwrap();
        assert_eq!(root, oracle.mth(0, n as usize), "root of {n}");
        assert_eq!(root, roots[n as usize]);
        let wrong_root = roots[n as usize - 1];
        for i in 0..n {
            let proof = inclusion_proof(i, n, &nodes).unwrap();
            assert_eq!(
                proof,
                oracle.path(i as usize, 0, n as usize),
                "PATH({i}, {n})"
            );
            let leaf = leaves[i as usize];
            assert_eq!(verify_inclusion(&leaf, i, n, &proof, &root), Ok(()));
            // The same proof proves nothing else.
            assert!(verify_inclusion(&leaf, i, n, &proof, &wrong_root).is_err());
            if n > 1 {
                assert!(verify_inclusion(&leaf, (i + 1) % n, n, &proof, &root).is_err());
                assert!(verify_inclusion(&leaf, i, n, &proof[1..], &root).is_err());
            }
            let mut longer = proof.clone();
            longer.push(leaf);
            assert!(verify_inclusion(&leaf, i, n, &longer, &root).is_err());
        }
    }
    assert!(inclusion_proof(130, 130, &nodes).is_err());
}

#[test]
fn every_consistency_proof_up_to_70_leaves_matches_the_rfc_and_verifies() {
    let leaves = test_leaves(70);
    let (nodes, roots) = build(leaves.iter().copied());
    let oracle = Oracle {
        leaves,
        memo: Default::default(),
    };
    for n in 1..=70u64 {
        let root2 = root_at(n, &nodes).unwrap();
        for m in 1..=n {
            let root1 = root_at(m, &nodes).unwrap();
            assert_eq!(root1, roots[m as usize]);
            let proof = consistency_proof(m, n, &nodes).unwrap();
            assert_eq!(
                proof,
                oracle.subproof(m as usize, 0, n as usize, true),
                "PROOF({m}, {n})"
            );
            assert_eq!(verify_consistency(m, n, &proof, &root1, &root2), Ok(()));
            if m < n {
                assert!(verify_consistency(m, n, &proof, &root2, &root1).is_err());
                assert!(verify_consistency(m, n, &proof[1..], &root1, &root2).is_err());
                let mut flipped = proof.clone();
                flipped[proof.len() - 1][0] ^= 1;
                assert!(verify_consistency(m, n, &flipped, &root1, &root2).is_err());
                let other = roots[m as usize - 1];
                assert!(verify_consistency(m, n, &proof, &other, &root2).is_err());
            }
        }
    }
    assert!(consistency_proof(0, 5, &nodes).is_err());
    assert!(consistency_proof(6, 5, &nodes).is_err());
}

#[test]
fn batch_plans_list_exactly_the_nodes_they_read() {
    let (nodes, _) = build(test_leaves(100));
    let only = |ids: Vec<NodeId>| -> BTreeMap<NodeId, Hash> {
        ids.into_iter().map(|id| (id, nodes[&id])).collect()
    };
    for (i, n) in [(0, 1), (5, 100), (99, 100), (63, 64), (64, 65), (37, 77)] {
        let plan = inclusion_plan(i, n).unwrap();
        let fetched = only(plan.node_ids());
        assert_eq!(plan.assemble(&fetched), inclusion_proof(i, n, &nodes));
    }
    for (m, n) in [(1, 100), (37, 77), (64, 100), (99, 100), (100, 100)] {
        let plan = consistency_plan(m, n).unwrap();
        let fetched = only(plan.node_ids());
        assert_eq!(plan.assemble(&fetched), consistency_proof(m, n, &nodes));
    }
    // Reading a node that is not there is an error, not a wrong proof.
    let mut partial = only(inclusion_plan(5, 100).unwrap().node_ids());
    let first = *partial.keys().next().unwrap();
    partial.remove(&first);
    assert!(inclusion_proof(5, 100, &partial).is_err());
}

/// A tree of 2^64 - 1 identical leaves: every perfect subtree of a level has the same hash, so
/// the whole node store fits in 64 hashes. Right-edge ranges still differ, which exercises the
/// size arithmetic of huge trees.
struct Uniform([Hash; 64]);

impl Uniform {
    fn new() -> Self {
        let mut levels = [leaf_hash(b"same"); 64];
        for l in 1..64 {
            levels[l] = node_hash(&levels[l - 1], &levels[l - 1]);
        }
        Self(levels)
    }
}

impl NodeSource for Uniform {
    fn node(&self, id: NodeId) -> Option<Hash> {
        self.0.get(usize::from(id.level)).copied()
    }
}

#[test]
fn proofs_in_huge_trees_verify() {
    let nodes = Uniform::new();
    let leaf = leaf_hash(b"same");
    let sizes = [
        1u64 << 40,
        (1 << 40) + 3,
        6_000_000_007,
        (1 << 63) + (1 << 62) + 5,
        u64::MAX,
    ];
    for n in sizes {
        let root = root_at(n, &nodes).unwrap();
        for i in [0, 1, n / 2, n - 2, n - 1] {
            let proof = inclusion_proof(i, n, &nodes).unwrap();
            assert!(proof.len() <= 64);
            assert_eq!(
                verify_inclusion(&leaf, i, n, &proof, &root),
                Ok(()),
                "{i}/{n}"
            );
        }
        for m in [1, 2, n / 3, n - 1, n] {
            let proof = consistency_proof(m, n, &nodes).unwrap();
            let root1 = root_at(m, &nodes).unwrap();
            assert_eq!(
                verify_consistency(m, n, &proof, &root1, &root),
                Ok(()),
                "{m}->{n}"
            );
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NoteVector {
    signer_key: String,
    verifier_key: String,
    text: String,
    note: String,
}

/// Reads a Go sumdb/note private key, `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>`.
fn go_signer(skey: &str) -> (String, SigningKey) {
    let rest = skey.strip_prefix("PRIVATE+KEY+").unwrap();
    let (name, rest) = rest.split_once('+').unwrap();
    let (_, b64) = rest.split_once('+').unwrap();
    let raw = STANDARD.decode(b64).unwrap();
    assert_eq!(raw[0], 0x01);
    (
        name.into(),
        SigningKey::from_bytes(&raw[1..].try_into().unwrap()),
    )
}

#[test]
fn signed_notes_interoperate_with_go_sumdb_note() {
    let path = fixtures("note/sumdb-note-example.json");
    let v: NoteVector = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let (name, key) = go_signer(&v.signer_key);
    // Ed25519 is deterministic, so our note must be Go's byte for byte.
    assert_eq!(checkpoint::sign_note(&v.text, &name, &key).unwrap(), v.note);
    assert_eq!(
        checkpoint::verifier_key(&name, &key.verifying_key()).unwrap(),
        v.verifier_key
    );
    let verifier = VerifierKey::parse(&v.verifier_key).unwrap();
    assert_eq!(checkpoint::open_note(&v.note, &verifier).unwrap(), v.text);
    let forged = v.note.replace("cryptography", "cryptographY");
    assert!(checkpoint::open_note(&forged, &verifier).is_err());
    // Not a checkpoint body, so the checkpoint layer refuses it after the signature checks out.
    assert!(checkpoint::open(&v.note, &v.verifier_key).is_err());
}

#[test]
fn a_client_checks_a_leaf_against_a_signed_checkpoint() {
    let leaves = test_leaves(1000);
    let (nodes, _) = build(leaves.iter().copied());
    let key = SigningKey::from_bytes(&[42; 32]);
    let origin = "reetrace.example/custody";
    let vkey = checkpoint::verifier_key(origin, &key.verifying_key()).unwrap();
    let old = checkpoint::sign(
        &Checkpoint::new(origin, 600, root_at(600, &nodes).unwrap()),
        origin,
        &key,
    )
    .unwrap();
    let new = checkpoint::sign(
        &Checkpoint::new(origin, 1000, root_at(1000, &nodes).unwrap()),
        origin,
        &key,
    )
    .unwrap();

    // Client side: only the notes, the verifier key and the proofs.
    let old = checkpoint::open(&old, &vkey).unwrap();
    let new = checkpoint::open(&new, &vkey).unwrap();
    let proof = inclusion_proof(777, new.size, &nodes).unwrap();
    assert_eq!(
        verify_inclusion(&leaves[777], 777, new.size, &proof, &new.root),
        Ok(())
    );
    let proof = consistency_proof(old.size, new.size, &nodes).unwrap();
    assert_eq!(
        verify_consistency(old.size, new.size, &proof, &old.root, &new.root),
        Ok(())
    );
}
