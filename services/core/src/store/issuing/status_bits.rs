//! Bit work on stored status lists, shared by both backends: handing out random indexes and
//! flipping status bits. Pure functions over the stored bitmaps.

use rand::RngExt;

use crate::crypto::status_list::{MIN_BITS, StatusList};
use crate::db::StoreError;

/// Entries per list (the spec's minimum, for herd privacy).
pub const LIST_SIZE: u32 = MIN_BITS as u32;
/// Indexes handed out per list before a new one opens: half, so that random picks stay cheap
/// and a set bit never narrows a credential down to a small group.
pub const LIST_CAPACITY: u32 = LIST_SIZE / 2;

/// An empty bitmap of one list.
pub fn empty_bitmap() -> Vec<u8> {
    vec![0u8; (LIST_SIZE / 8) as usize]
}

fn bitmap(bytes: Vec<u8>) -> Result<StatusList, StoreError> {
    StatusList::from_bytes(bytes)
        .map_err(|e| StoreError::Corrupt(format!("status list bitmap: {e}")))
}

/// Picks up to `want` unused indexes at random from `used` (which has `allocated` set bits,
/// at most [`LIST_CAPACITY`]), marks them used and returns them with the new bitmap.
pub fn take_random(
    used: Vec<u8>,
    allocated: u32,
    want: usize,
) -> Result<(Vec<u8>, Vec<u32>), StoreError> {
    let mut used = bitmap(used)?;
    let room = LIST_CAPACITY.saturating_sub(allocated) as usize;
    let count = want.min(room);
    let mut rng = rand::rng();
    let mut picked = Vec::with_capacity(count);
    while picked.len() < count {
        // At most half the list is ever used, so a random probe hits a free index at least
        // half the time.
        let index = rng.random_range(0..LIST_SIZE);
        if !used
            .get(index as usize)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
        {
            used.set(index as usize, true)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            picked.push(index);
        }
    }
    Ok((used.as_bytes().to_vec(), picked))
}

/// Sets or clears bits of a status bitmap.
pub fn set_bits(bits: Vec<u8>, indexes: &[u32], value: bool) -> Result<Vec<u8>, StoreError> {
    let mut list = bitmap(bits)?;
    for &index in indexes {
        list.set(index as usize, value)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    }
    Ok(list.as_bytes().to_vec())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn picks_are_unique_unused_and_capped() {
        let (used, first) = take_random(empty_bitmap(), 0, 1000).unwrap();
        let mut sorted = first.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 1000);
        let (used, second) = take_random(used, 1000, 1000).unwrap();
        assert!(second.iter().all(|i| !first.contains(i)));
        let list = StatusList::from_bytes(used).unwrap();
        assert_eq!(list.count_set(), 2000);
        let (_, capped) = take_random(empty_bitmap(), LIST_CAPACITY - 5, 100).unwrap();
        assert_eq!(capped.len(), 5);
    }

    #[test]
    fn bits_flip_both_ways() {
        let bits = set_bits(empty_bitmap(), &[0, 7, 131_071], true).unwrap();
        assert_eq!(bits[0], 0b1000_0001);
        assert_eq!(bits[16_383], 0b0000_0001);
        let bits = set_bits(bits, &[7], false).unwrap();
        assert_eq!(bits[0], 0b1000_0000);
    }
}
