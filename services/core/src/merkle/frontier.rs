//! The right frontier ("compact range") of the tree: what an appender needs to know.

use super::{Hash, MerkleError, NodeId, NodeSource, empty_root, fold, node_hash, tiles};

/// The perfect subtrees on the right edge of a tree of `size` leaves — one per set bit of
/// `size`, largest (leftmost) first.
///
/// This is all the state needed to append: a new leaf only ever merges with the smallest
/// subtrees on the edge. The caller loads it from storage with [`Frontier::node_ids`] and
/// [`Frontier::load`] (or keeps it in memory), and stores what [`Frontier::append`] returns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frontier {
    size: u64,
    hashes: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The node ids making up the frontier of a tree of `size` leaves, left to right.
    pub fn node_ids(size: u64) -> Vec<NodeId> {
        tiles(0, size).collect()
    }

    /// A frontier from its hashes, ordered as [`Frontier::node_ids`].
    pub fn from_hashes(size: u64, hashes: Vec<Hash>) -> Result<Self, MerkleError> {
        let expected = size.count_ones() as usize;
        if hashes.len() != expected {
            return Err(MerkleError::FrontierMismatch {
                size,
                expected,
                got: hashes.len(),
            });
        }
        Ok(Self { size, hashes })
    }

    /// The frontier of a tree of `size` leaves, read from a node source.
    pub fn load(size: u64, nodes: &impl NodeSource) -> Result<Self, MerkleError> {
        let hashes = tiles(0, size)
            .map(|id| nodes.node(id).ok_or(MerkleError::MissingNode(id)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { size, hashes })
    }

    /// Number of leaves in the tree.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The frontier hashes, ordered as [`Frontier::node_ids`].
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// The frontier as `(node id, hash)` pairs, left to right.
    pub fn entries(&self) -> impl Iterator<Item = (NodeId, Hash)> + '_ {
        tiles(0, self.size).zip(self.hashes.iter().copied())
    }

    /// Root hash of the tree: the right fold of the frontier (RFC 6962 `MTH(D[0:size])`).
    pub fn root(&self) -> Hash {
        fold(&self.hashes).unwrap_or_else(empty_root)
    }

    /// Appends one leaf (its [`leaf_hash`](super::leaf_hash)) and returns every perfect subtree
    /// completed by it, bottom-up: the leaf node itself, then one node per merge.
    ///
    /// Leaf `n` completes `1 + trailing_ones(n)` nodes, so a log of `n` leaves stores
    /// `2n - popcount(n)` nodes in total: about one interior node per leaf.
    pub fn append(&mut self, leaf_hash: Hash) -> Result<Vec<(NodeId, Hash)>, MerkleError> {
        let index = self.size;
        let size = index.checked_add(1).ok_or(MerkleError::TreeFull)?;
        let mut out = Vec::with_capacity(1 + index.trailing_ones() as usize);
        let mut id = NodeId::leaf(index);
        let mut hash = leaf_hash;
        out.push((id, hash));
        // An odd index means a finished left sibling waits on the frontier.
        while id.index & 1 == 1 {
            let left = self
                .hashes
                .pop()
                .expect("a frontier holds one hash per set bit of its size");
            hash = node_hash(&left, &hash);
            id = NodeId::new(id.level + 1, id.index >> 1);
            out.push((id, hash));
        }
        self.hashes.push(hash);
        self.size = size;
        Ok(out)
    }

    /// Appends several leaves; returns all nodes to store, in append order.
    pub fn extend<I>(&mut self, leaf_hashes: I) -> Result<Vec<(NodeId, Hash)>, MerkleError>
    where
        I: IntoIterator<Item = Hash>,
    {
        let mut out = Vec::new();
        for leaf in leaf_hashes {
            out.extend(self.append(leaf)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashMap;

    use super::super::leaf_hash;
    use super::*;

    #[test]
    fn append_stores_two_nodes_per_leaf_on_average() {
        let mut f = Frontier::new();
        let mut stored = HashMap::new();
        for i in 0..1000u64 {
            let new = f.append(leaf_hash(&i.to_be_bytes())).unwrap();
            assert_eq!(new[0].0, NodeId::leaf(i));
            assert_eq!(new.len(), 1 + i.trailing_ones() as usize);
            for (id, h) in new {
                assert!(stored.insert(id, h).is_none(), "node {id:?} stored twice");
            }
            assert_eq!(f.hashes().len(), (i + 1).count_ones() as usize);
        }
        // Every perfect subtree of the tree, and nothing else: 2n minus the set bits of n.
        assert_eq!(stored.len(), 2 * 1000 - 1000u32.count_ones() as usize);
        // A frontier reloaded from storage continues exactly where the live one is.
        let mut reloaded = Frontier::load(1000, &stored).unwrap();
        assert_eq!(reloaded, f);
        let next = leaf_hash(b"next");
        assert_eq!(reloaded.append(next).unwrap(), f.append(next).unwrap());
    }

    #[test]
    fn from_hashes_checks_the_count() {
        assert!(Frontier::from_hashes(0, vec![]).is_ok());
        assert_eq!(
            Frontier::from_hashes(6, vec![[0; 32]]),
            Err(MerkleError::FrontierMismatch {
                size: 6,
                expected: 2,
                got: 1
            })
        );
        assert_eq!(Frontier::new().root(), empty_root());
    }

    #[test]
    fn a_full_tree_refuses_another_leaf() {
        let mut f = Frontier::from_hashes(u64::MAX, vec![[7; 32]; 64]).unwrap();
        assert_eq!(f.append([0; 32]), Err(MerkleError::TreeFull));
        assert_eq!(f.size(), u64::MAX);
    }
}
