//! Proof verification for clients that trust nothing but a signed root (RFC 9162 sections
//! 2.1.3.2 and 2.1.4.2).
//!
//! Inputs are byte slices because they arrive from the wire (base64 in JSON) and their length is
//! part of what must be checked: anything that is not a 32-byte hash is rejected, never padded or
//! truncated.

use super::{Hash, node_hash};

/// Why a proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The leaf index is not below the tree size (this includes every index in an empty tree).
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// Claimed leaf index.
        index: u64,
        /// Claimed tree size.
        size: u64,
    },
    /// Consistency needs `0 < first <= second`.
    #[error("no consistency proof from size {first} to size {second}")]
    InvalidSizes {
        /// Claimed older size.
        first: u64,
        /// Claimed newer size.
        second: u64,
    },
    /// A hash input does not have 32 bytes.
    #[error("{what} has {len} bytes, expected 32")]
    MalformedHash {
        /// Which input.
        what: &'static str,
        /// Its length.
        len: usize,
    },
    /// The proof has more elements than the tree shape allows.
    #[error("proof has too many elements")]
    ProofTooLong,
    /// The proof has fewer elements than the tree shape needs.
    #[error("proof has too few elements")]
    ProofTooShort,
    /// The recomputed root (for consistency: of the older tree) differs from the given one.
    #[error("recomputed root does not match the expected root")]
    RootMismatch,
    /// Consistency only: the recomputed root of the newer tree differs from the given one.
    #[error("recomputed root of the newer tree does not match")]
    SecondRootMismatch,
}

fn as_hash(bytes: &[u8], what: &'static str) -> Result<Hash, VerifyError> {
    bytes.try_into().map_err(|_| VerifyError::MalformedHash {
        what,
        len: bytes.len(),
    })
}

fn as_hashes<P: AsRef<[u8]>>(proof: &[P]) -> Result<Vec<Hash>, VerifyError> {
    proof
        .iter()
        .map(|p| as_hash(p.as_ref(), "proof element"))
        .collect()
}

/// Shifts both counters right while `fn_` is even and non-zero: skips the levels where the
/// node is a lone right-edge child that is promoted without hashing.
fn skip_promoted(fn_: &mut u64, sn: &mut u64) {
    while *fn_ & 1 == 0 && *fn_ != 0 {
        *fn_ >>= 1;
        *sn >>= 1;
    }
}

/// Checks that `leaf_hash` is leaf `index` of the tree of `size` leaves whose root is `root`.
///
/// Follows RFC 9162 section 2.1.3.2; fails on an out-of-range index, any input that is not a
/// 32-byte hash, a proof of the wrong length and a root mismatch.
pub fn verify_inclusion<P: AsRef<[u8]>>(
    leaf_hash: &[u8],
    index: u64,
    size: u64,
    proof: &[P],
    root: &[u8],
) -> Result<(), VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    let leaf = as_hash(leaf_hash, "leaf hash")?;
    let root = as_hash(root, "root")?;
    let proof = as_hashes(proof)?;

    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = leaf;
    for p in &proof {
        if sn == 0 {
            return Err(VerifyError::ProofTooLong);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            skip_promoted(&mut fn_, &mut sn);
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(VerifyError::ProofTooShort);
    }
    if r != root {
        return Err(VerifyError::RootMismatch);
    }
    Ok(())
}

/// Checks that the tree of `first` leaves with root `first_root` is a prefix of the tree of
/// `second` leaves with root `second_root`.
///
/// Follows RFC 9162 section 2.1.4.2 for `0 < first < second`. `first == second` is accepted only
/// with an empty proof and byte-identical roots (a tree is consistent with itself and nothing
/// more can be checked); `first == 0` is refused, since a proof from the empty tree proves
/// nothing; `first > second` is refused.
pub fn verify_consistency<P: AsRef<[u8]>>(
    first: u64,
    second: u64,
    proof: &[P],
    first_root: &[u8],
    second_root: &[u8],
) -> Result<(), VerifyError> {
    if first == 0 || first > second {
        return Err(VerifyError::InvalidSizes { first, second });
    }
    if first == second {
        if !proof.is_empty() {
            return Err(VerifyError::ProofTooLong);
        }
        if first_root != second_root {
            return Err(VerifyError::RootMismatch);
        }
        return Ok(());
    }
    if proof.is_empty() {
        return Err(VerifyError::ProofTooShort);
    }
    let first_root = as_hash(first_root, "first root")?;
    let second_root = as_hash(second_root, "second root")?;
    let mut path = as_hashes(proof)?;
    // When the old tree is a perfect subtree its root is not sent: the verifier has it.
    if first.is_power_of_two() {
        path.insert(0, first_root);
    }

    let (mut fn_, mut sn) = (first - 1, second - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if sn == 0 {
            return Err(VerifyError::ProofTooLong);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            skip_promoted(&mut fn_, &mut sn);
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(VerifyError::ProofTooShort);
    }
    if fr != first_root {
        return Err(VerifyError::RootMismatch);
    }
    if sr != second_root {
        return Err(VerifyError::SecondRootMismatch);
    }
    Ok(())
}
