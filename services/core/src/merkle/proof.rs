//! Inclusion and consistency proofs (RFC 9162 sections 2.1.3.1 and 2.1.4.1) and historical roots,
//! computed from stored perfect subtrees.

use std::ops::Range;

use super::{Hash, MerkleError, NodeId, NodeSource, empty_root, range_hash, split_point, tiles};

/// The range hashes a proof is made of, in proof order, before any node is read.
///
/// Every range `[a, b)` is one of the subtrees of the RFC 6962 recursion, so its hash is a fold
/// of at most 64 stored nodes. [`ProofPlan::node_ids`] lists all of them, to fetch in one query;
/// [`ProofPlan::assemble`] then computes the proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofPlan {
    ranges: Vec<Range<u64>>,
}

impl ProofPlan {
    /// The leaf ranges `[a, b)` whose hashes `MTH(D[a:b])` form the proof, in proof order.
    pub fn ranges(&self) -> &[Range<u64>] {
        &self.ranges
    }

    /// Every stored node the proof needs, sorted and without duplicates.
    pub fn node_ids(&self) -> Vec<NodeId> {
        let mut ids: Vec<NodeId> = self
            .ranges
            .iter()
            .flat_map(|r| tiles(r.start, r.end))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Computes the proof from the nodes (for example those fetched for
    /// [`ProofPlan::node_ids`]).
    pub fn assemble(&self, nodes: &impl NodeSource) -> Result<Vec<Hash>, MerkleError> {
        self.ranges
            .iter()
            .map(|r| range_hash(r.start, r.end, nodes))
            .collect()
    }
}

/// Plans the inclusion proof `PATH(index, D[0:size])`: the sibling subtrees from the leaf up to
/// the root.
pub fn inclusion_plan(index: u64, size: u64) -> Result<ProofPlan, MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    // Walk the RFC recursion top-down; the proof lists the siblings bottom-up.
    let mut ranges = Vec::new();
    let (mut lo, mut hi) = (0, size);
    while hi - lo > 1 {
        let mid = lo + split_point(hi - lo);
        if index < mid {
            ranges.push(mid..hi);
            hi = mid;
        } else {
            ranges.push(lo..mid);
            lo = mid;
        }
    }
    ranges.reverse();
    Ok(ProofPlan { ranges })
}

/// Plans the consistency proof `PROOF(first, D[0:second])`.
///
/// `first == second` gives the empty proof; `first == 0` is refused, since every tree extends
/// the empty one and there is nothing to prove.
pub fn consistency_plan(first: u64, second: u64) -> Result<ProofPlan, MerkleError> {
    if first == 0 || first > second {
        return Err(MerkleError::InvalidSizes { first, second });
    }
    // SUBPROOF(first, D[lo:hi], whole) walked top-down; `whole` stays true while the old tree is
    // a left prefix of the current range, in which case its root is known to the verifier.
    let mut ranges = Vec::new();
    let (mut lo, mut hi) = (0, second);
    let mut whole = true;
    while first != hi {
        let mid = lo + split_point(hi - lo);
        if first <= mid {
            ranges.push(mid..hi);
            hi = mid;
        } else {
            ranges.push(lo..mid);
            lo = mid;
            whole = false;
        }
    }
    if !whole {
        ranges.push(lo..hi);
    }
    ranges.reverse();
    Ok(ProofPlan { ranges })
}

/// Inclusion proof for leaf `index` in the tree of `size` leaves, in RFC 9162 order.
pub fn inclusion_proof(
    index: u64,
    size: u64,
    nodes: &impl NodeSource,
) -> Result<Vec<Hash>, MerkleError> {
    inclusion_plan(index, size)?.assemble(nodes)
}

/// Consistency proof between the trees of `first` and `second` leaves, in RFC 9162 order.
pub fn consistency_proof(
    first: u64,
    second: u64,
    nodes: &impl NodeSource,
) -> Result<Vec<Hash>, MerkleError> {
    consistency_plan(first, second)?.assemble(nodes)
}

/// The nodes [`root_at`] reads for a tree of `size` leaves (its frontier).
pub fn root_nodes(size: u64) -> Vec<NodeId> {
    tiles(0, size).collect()
}

/// Root hash of the tree when it had `size` leaves; the empty root for `size == 0`.
pub fn root_at(size: u64, nodes: &impl NodeSource) -> Result<Hash, MerkleError> {
    if size == 0 {
        return Ok(empty_root());
    }
    range_hash(0, size, nodes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn inclusion_plan_follows_the_rfc_recursion() {
        // RFC 9162 2.1.5 example tree of 7 leaves: PATH(3, D[7]) = [c, g, l].
        assert_eq!(inclusion_plan(3, 7).unwrap().ranges(), [2..3, 0..2, 4..7]);
        assert_eq!(inclusion_plan(6, 7).unwrap().ranges(), [4..6, 0..4]);
        assert_eq!(inclusion_plan(0, 1).unwrap().ranges(), []);
        assert_eq!(
            inclusion_plan(7, 7),
            Err(MerkleError::IndexOutOfRange { index: 7, size: 7 })
        );
    }

    #[test]
    fn consistency_plan_follows_the_rfc_examples() {
        // RFC 9162 2.1.5: PROOF(3, D[7]) = [c, d, g, l]; PROOF(4, D[7]) = [l];
        // PROOF(6, D[7]) = [i, j, k] with i = [4,6), j = [6,7), k = [0,4).
        assert_eq!(
            consistency_plan(3, 7).unwrap().ranges(),
            [2..3, 3..4, 0..2, 4..7]
        );
        assert_eq!(consistency_plan(4, 7).unwrap().ranges(), vec![4..7]);
        assert_eq!(consistency_plan(6, 7).unwrap().ranges(), [4..6, 6..7, 0..4]);
        assert_eq!(consistency_plan(5, 5).unwrap().ranges(), []);
        assert!(consistency_plan(0, 5).is_err());
        assert!(consistency_plan(6, 5).is_err());
    }

    #[test]
    fn plans_for_huge_trees_stay_logarithmic() {
        let size = (1u64 << 62) + 12_345_678_901;
        let plan = inclusion_plan(size - 1, size).unwrap();
        assert!(plan.ranges().len() <= 63);
        assert!(plan.node_ids().len() <= 2 * 64);
        let plan = consistency_plan(size / 3, size).unwrap();
        assert!(plan.node_ids().len() <= 3 * 64);
        assert_eq!(root_nodes(u64::MAX).len(), 64);
    }
}
