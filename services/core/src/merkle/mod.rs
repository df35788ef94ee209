//! RFC 6962 / RFC 9162 Merkle tree math for the global append-only custody log.
//!
//! The log is stored elsewhere (SQL); this module only needs the hash of every *perfect aligned
//! subtree* — level `k`, index `i` covers leaves `[i * 2^k, (i + 1) * 2^k)`. Such a node never
//! changes once its last leaf is appended, so one table keyed by `(level, index)` serves every
//! historical tree size, and any range hash `MTH(D[a:b])` that a proof needs is a fold of
//! `O(log n)` of those nodes.
//!
//! - [`Frontier`] appends leaves and says which new nodes to store (about two per leaf: the leaf
//!   itself plus, amortised, one interior node).
//! - [`inclusion_proof`], [`consistency_proof`] and [`root_at`] build proofs and historical roots
//!   from a [`NodeSource`]; [`inclusion_plan`] / [`consistency_plan`] split that into "which node
//!   ids" and [`ProofPlan::assemble`], so a caller can fetch all nodes in one query.
//! - [`verify_inclusion`] and [`verify_consistency`] check proofs without trusting the server
//!   (RFC 9162 sections 2.1.3.2 and 2.1.4.2).

mod frontier;
mod proof;
mod verify;

use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256};

pub use frontier::Frontier;
pub use proof::{
    ProofPlan, consistency_plan, consistency_proof, inclusion_plan, inclusion_proof, root_at,
    root_nodes,
};
pub use verify::{VerifyError, verify_consistency, verify_inclusion};

/// A SHA-256 digest: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// Length in bytes of a [`Hash`].
pub const HASH_LEN: usize = 32;

/// Hash of a log entry: `SHA-256(0x00 || data)`.
///
/// The `0x00` prefix keeps leaf hashes and interior node hashes in separate domains, so a leaf
/// can never be passed off as a subtree (RFC 6962 section 2.1, second preimage resistance).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    h.finalize().into()
}

/// Hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Identifies a perfect aligned subtree: `level` 0 is a leaf, and the node covers leaves
/// `[index * 2^level, (index + 1) * 2^level)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves (0 = leaf), at most 63.
    pub level: u8,
    /// Position among the nodes of that level, counted from the left.
    pub index: u64,
}

impl NodeId {
    /// The node at `level` and `index`.
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// The level-0 node holding the hash of leaf `index`.
    pub const fn leaf(index: u64) -> Self {
        Self { level: 0, index }
    }

    /// Index of the first leaf the node covers.
    ///
    /// Saturates for ids that cannot exist in a tree of at most `u64::MAX` leaves.
    pub const fn first_leaf(&self) -> u64 {
        match self.index.checked_mul(1u64 << (self.level & 63)) {
            Some(v) => v,
            None => u64::MAX,
        }
    }

    /// Number of leaves the node covers, `2^level`.
    pub const fn width(&self) -> u64 {
        1u64 << (self.level & 63)
    }
}

/// Where the hashes of perfect subtrees come from (a database table, a cache, a map).
///
/// Only nodes lying entirely inside the tree being proven are ever asked for; a source may
/// return `None` for anything it does not hold, which surfaces as [`MerkleError::MissingNode`].
pub trait NodeSource {
    /// The hash of the perfect subtree `id`, if known.
    fn node(&self, id: NodeId) -> Option<Hash>;
}

impl<S: std::hash::BuildHasher> NodeSource for HashMap<NodeId, Hash, S> {
    fn node(&self, id: NodeId) -> Option<Hash> {
        self.get(&id).copied()
    }
}

impl NodeSource for BTreeMap<NodeId, Hash> {
    fn node(&self, id: NodeId) -> Option<Hash> {
        self.get(&id).copied()
    }
}

/// Why a proof, root or frontier could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError {
    /// The leaf is not in the tree.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// Requested leaf.
        index: u64,
        /// Tree size.
        size: u64,
    },
    /// A consistency proof needs `0 < first <= second`.
    #[error("no consistency proof from size {first} to size {second}")]
    InvalidSizes {
        /// Size of the older tree.
        first: u64,
        /// Size of the newer tree.
        second: u64,
    },
    /// The node source did not hold a node the computation needs.
    #[error("node (level {}, index {}) is missing from the node source", .0.level, .0.index)]
    MissingNode(NodeId),
    /// A frontier was built from the wrong number of hashes for its size.
    #[error("a frontier of size {size} has {expected} nodes, got {got}")]
    FrontierMismatch {
        /// Tree size.
        size: u64,
        /// Number of perfect subtrees on the right edge (set bits of `size`).
        expected: usize,
        /// Number of hashes given.
        got: usize,
    },
    /// The tree already holds `u64::MAX` leaves.
    #[error("the tree is full")]
    TreeFull,
}

/// Largest power of two strictly below `n` (the RFC 6962 split point `k`); `n` must be >= 2.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The perfect aligned subtrees that tile `[start, end)`, left to right, each as large as
/// alignment allows.
///
/// When `start` is a multiple of a power of two at least `end - start` — true of every range in
/// an RFC 6962 proof — the sizes strictly decrease, and `MTH(D[start:end])` is the right fold
/// `t0 ∘ (t1 ∘ (… ∘ tk))` of these tiles (see [`fold`]).
fn tiles(mut start: u64, end: u64) -> impl Iterator<Item = NodeId> {
    std::iter::from_fn(move || {
        if start >= end {
            return None;
        }
        let fits = 63 - (end - start).leading_zeros();
        let level = start.trailing_zeros().min(fits);
        let id = NodeId::new(level as u8, start >> level);
        start += 1u64 << level;
        Some(id)
    })
}

/// `MTH(D[start:end])` from the tiles of the range; the range must be non-empty and aligned as
/// described on [`tiles`].
fn range_hash(start: u64, end: u64, nodes: &impl NodeSource) -> Result<Hash, MerkleError> {
    let hashes = tiles(start, end)
        .map(|id| nodes.node(id).ok_or(MerkleError::MissingNode(id)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(fold(&hashes).unwrap_or_else(empty_root))
}

/// Right fold of decreasing perfect subtrees into the hash of their union; `None` when empty.
fn fold(hashes: &[Hash]) -> Option<Hash> {
    let (last, rest) = hashes.split_last()?;
    Some(rest.iter().rev().fold(*last, |acc, h| node_hash(h, &acc)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn leaf_and_node_hashes_are_domain_separated() {
        let l = leaf_hash(b"");
        let mut both = Vec::from([0x01]);
        both.extend_from_slice(&l);
        both.extend_from_slice(&l);
        assert_eq!(node_hash(&l, &l), <[u8; 32]>::from(Sha256::digest(&both)));
        assert_eq!(l, <[u8; 32]>::from(Sha256::digest([0x00])));
        assert_ne!(leaf_hash(&both[1..]), node_hash(&l, &l));
    }

    #[test]
    fn split_point_is_largest_power_of_two_below() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(u64::MAX), 1 << 63);
    }

    #[test]
    fn tiles_cover_the_range_with_aligned_perfect_subtrees() {
        let got: Vec<_> = tiles(0, 13).collect();
        assert_eq!(
            got,
            [NodeId::new(3, 0), NodeId::new(2, 2), NodeId::new(0, 12)]
        );
        let got: Vec<_> = tiles(8, 11).collect();
        assert_eq!(got, [NodeId::new(1, 4), NodeId::new(0, 10)]);
        assert_eq!(tiles(0, u64::MAX).count(), 64);
        assert_eq!(tiles(5, 5).count(), 0);
        for (start, end) in [(0u64, 1u64), (0, 100), (64, 100), (96, 97)] {
            let mut next = start;
            for id in tiles(start, end) {
                assert_eq!(id.first_leaf(), next);
                assert_eq!(id.first_leaf() % id.width(), 0);
                next += id.width();
            }
            assert_eq!(next, end);
        }
    }
}
