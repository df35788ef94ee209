//! W3C Bitstring Status List v1.0: one bit per credential (1 = revoked or suspended).
//!
//! Index 0 is the left-most bit, i.e. the most significant bit of the first byte. Lists hold at
//! least 131,072 bits (16 KiB) so that a single credential cannot be singled out when the list is
//! fetched (herd privacy); for the same reason indexes are handed out at random
//! ([`pick_random_index`]). `encodedList` is multibase base64url without padding (`u` prefix) of
//! the GZIP-compressed bitstring.

use std::io::{Read, Write};

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE_NO_PAD, URL_SAFE_NO_PAD_INDIFFERENT};
use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use rand::RngExt;

use super::CryptoError;

/// Minimum list length in bits (16 KiB).
pub const MIN_BITS: usize = 131_072;
/// Default bound on a decompressed list when decoding: 16 MiB, i.e. 134 million entries.
pub const DEFAULT_DECODE_LIMIT: usize = 16 * 1024 * 1024;

/// A bitstring status list.
#[derive(Clone, PartialEq, Eq)]
pub struct StatusList {
    bytes: Vec<u8>,
}

impl std::fmt::Debug for StatusList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusList")
            .field("len", &self.len())
            .field("set", &self.count_set())
            .finish()
    }
}

impl Default for StatusList {
    fn default() -> Self {
        Self::new()
    }
}

impl StatusList {
    /// An all-clear list of the minimum length.
    pub fn new() -> Self {
        Self {
            bytes: vec![0; MIN_BITS / 8],
        }
    }

    /// An all-clear list of `bits` bits, rounded up to whole bytes; at least [`MIN_BITS`].
    pub fn with_len(bits: usize) -> Result<Self, CryptoError> {
        if bits < MIN_BITS {
            return Err(CryptoError::StatusListTooShort {
                bits,
                min: MIN_BITS,
            });
        }
        Ok(Self {
            bytes: vec![0; bits.div_ceil(8)],
        })
    }

    /// A list over raw bitstring bytes (e.g. loaded from storage); at least 16 KiB.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, CryptoError> {
        let bits = bytes.len().saturating_mul(8);
        if bits < MIN_BITS {
            return Err(CryptoError::StatusListTooShort {
                bits,
                min: MIN_BITS,
            });
        }
        Ok(Self { bytes })
    }

    /// The raw bitstring.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Length in bits.
    pub fn len(&self) -> usize {
        self.bytes.len() * 8
    }

    /// Always false: a list has at least [`MIN_BITS`] entries.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Number of set bits.
    pub fn count_set(&self) -> usize {
        self.bytes.iter().map(|b| b.count_ones() as usize).sum()
    }

    /// The bit at `index`.
    pub fn get(&self, index: usize) -> Result<bool, CryptoError> {
        let (byte, mask) = self.locate(index)?;
        Ok(self.bytes[byte] & mask != 0)
    }

    /// Sets the bit at `index` to `value`.
    pub fn set(&mut self, index: usize, value: bool) -> Result<(), CryptoError> {
        let (byte, mask) = self.locate(index)?;
        if value {
            self.bytes[byte] |= mask;
        } else {
            self.bytes[byte] &= !mask;
        }
        Ok(())
    }

    /// Clears the bit at `index` (e.g. lifts a suspension).
    pub fn clear(&mut self, index: usize) -> Result<(), CryptoError> {
        self.set(index, false)
    }

    fn locate(&self, index: usize) -> Result<(usize, u8), CryptoError> {
        if index >= self.len() {
            return Err(CryptoError::StatusIndexOutOfRange {
                index,
                len: self.len(),
            });
        }
        Ok((index / 8, 0x80 >> (index % 8)))
    }

    /// The `encodedList` value: `u` + base64url-no-pad(GZIP(bitstring)).
    pub fn encode(&self) -> Result<String, CryptoError> {
        let mut gz = GzEncoder::new(Vec::with_capacity(256), Compression::default());
        gz.write_all(&self.bytes)
            .and_then(|()| gz.finish())
            .map(|compressed| {
                let mut out = String::with_capacity(1 + compressed.len().div_ceil(3) * 4);
                out.push('u');
                URL_SAFE_NO_PAD.encode_string(compressed, &mut out);
                out
            })
            .map_err(|e| CryptoError::StatusListEncoding(e.to_string()))
    }

    /// Decodes an `encodedList`, refusing lists that decompress beyond [`DEFAULT_DECODE_LIMIT`].
    pub fn decode(encoded: &str) -> Result<Self, CryptoError> {
        Self::decode_with_limit(encoded, DEFAULT_DECODE_LIMIT)
    }

    /// Decodes an `encodedList`, refusing lists that decompress beyond `limit` bytes: a few
    /// kilobytes of GZIP can expand to gigabytes.
    pub fn decode_with_limit(encoded: &str, limit: usize) -> Result<Self, CryptoError> {
        let payload = encoded
            .strip_prefix('u')
            .ok_or(CryptoError::MultibasePrefix { expected: 'u' })?;
        let compressed = URL_SAFE_NO_PAD_INDIFFERENT
            .decode(payload)
            .map_err(|e| CryptoError::StatusListEncoding(format!("base64url: {e}")))?;
        let mut bytes = Vec::with_capacity(MIN_BITS / 8);
        // Read one byte past the limit to tell "exactly at the limit" from "over it".
        let read_limit = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
        MultiGzDecoder::new(compressed.as_slice())
            .take(read_limit)
            .read_to_end(&mut bytes)
            .map_err(|e| CryptoError::StatusListEncoding(format!("gzip: {e}")))?;
        if bytes.len() > limit {
            return Err(CryptoError::StatusListTooLarge { limit });
        }
        Self::from_bytes(bytes)
    }
}

/// Picks a random index in `0..len` for which `is_taken` is false.
///
/// `is_taken` is the caller's record of allocated indexes (a clear bit does not mean free: every
/// valid credential has one). Tries random indexes first; when the list is nearly full, scans
/// from a random start so it still terminates, and fails with [`CryptoError::StatusListFull`].
pub fn pick_random_index(
    len: usize,
    mut is_taken: impl FnMut(usize) -> bool,
) -> Result<usize, CryptoError> {
    if len == 0 {
        return Err(CryptoError::StatusListFull);
    }
    let mut rng = rand::rng();
    for _ in 0..64 {
        let index = rng.random_range(0..len);
        if !is_taken(index) {
            return Ok(index);
        }
    }
    let start = rng.random_range(0..len);
    (0..len)
        .map(|offset| (start + offset) % len)
        .find(|&index| !is_taken(index))
        .ok_or(CryptoError::StatusListFull)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bit_order_is_msb_first() {
        let mut list = StatusList::new();
        assert_eq!(list.len(), MIN_BITS);
        list.set(0, true).unwrap();
        list.set(9, true).unwrap();
        list.set(MIN_BITS - 1, true).unwrap();
        assert_eq!(list.as_bytes()[0], 0b1000_0000);
        assert_eq!(list.as_bytes()[1], 0b0100_0000);
        assert_eq!(list.as_bytes()[MIN_BITS / 8 - 1], 0b0000_0001);
        assert!(list.get(0).unwrap() && list.get(9).unwrap() && !list.get(1).unwrap());
        assert_eq!(list.count_set(), 3);
        list.clear(9).unwrap();
        assert!(!list.get(9).unwrap());
        assert_eq!(list.count_set(), 2);
    }

    #[test]
    fn out_of_range_and_short_lists_are_rejected() {
        let mut list = StatusList::new();
        assert!(matches!(
            list.get(MIN_BITS),
            Err(CryptoError::StatusIndexOutOfRange {
                index: MIN_BITS,
                len: MIN_BITS
            })
        ));
        assert!(list.set(usize::MAX, true).is_err());
        assert!(matches!(
            StatusList::with_len(1000),
            Err(CryptoError::StatusListTooShort { .. })
        ));
        assert!(StatusList::from_bytes(vec![0; 100]).is_err());
        assert_eq!(
            StatusList::with_len(MIN_BITS + 1).unwrap().len(),
            MIN_BITS + 8
        );
    }

    #[test]
    fn encode_decode_roundtrip() {
        let mut list = StatusList::with_len(2 * MIN_BITS).unwrap();
        for i in [0, 7, 8, 94_567, 200_000, 2 * MIN_BITS - 1] {
            list.set(i, true).unwrap();
        }
        let encoded = list.encode().unwrap();
        assert!(encoded.starts_with('u'));
        assert!(!encoded.contains(['=', '+', '/']));
        // GZIP magic bytes 1f 8b.
        let raw = URL_SAFE_NO_PAD.decode(&encoded[1..]).unwrap();
        assert_eq!(&raw[..2], &[0x1f, 0x8b]);
        assert_eq!(StatusList::decode(&encoded).unwrap(), list);
    }

    #[test]
    fn empty_minimum_list_is_small_once_encoded() {
        let encoded = StatusList::new().encode().unwrap();
        assert!(encoded.len() < 200, "{}", encoded.len());
    }

    #[test]
    fn decode_rejects_bad_input() {
        assert!(matches!(
            StatusList::decode("H4sIAAAA"),
            Err(CryptoError::MultibasePrefix { expected: 'u' })
        ));
        assert!(matches!(
            StatusList::decode("u!!!"),
            Err(CryptoError::StatusListEncoding(_))
        ));
        let not_gzip = format!("u{}", URL_SAFE_NO_PAD.encode(b"plain bytes"));
        assert!(matches!(
            StatusList::decode(&not_gzip),
            Err(CryptoError::StatusListEncoding(_))
        ));
        // A valid GZIP stream of a too-short bitstring.
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(&[0u8; 1024]).unwrap();
        let short = format!("u{}", URL_SAFE_NO_PAD.encode(gz.finish().unwrap()));
        assert!(matches!(
            StatusList::decode(&short),
            Err(CryptoError::StatusListTooShort { .. })
        ));
    }

    #[test]
    fn decode_limit_stops_decompression_bombs() {
        // 64 MiB of zeros compresses to about 64 KiB.
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..64 {
            gz.write_all(&chunk).unwrap();
        }
        let bomb = format!("u{}", URL_SAFE_NO_PAD.encode(gz.finish().unwrap()));
        assert!(matches!(
            StatusList::decode(&bomb),
            Err(CryptoError::StatusListTooLarge {
                limit: DEFAULT_DECODE_LIMIT
            })
        ));
        let exact = StatusList::with_len(MIN_BITS).unwrap().encode().unwrap();
        assert!(StatusList::decode_with_limit(&exact, MIN_BITS / 8).is_ok());
        assert!(StatusList::decode_with_limit(&exact, MIN_BITS / 8 - 1).is_err());
    }

    #[test]
    fn random_index_avoids_taken_ones_and_reports_full() {
        let mut list = StatusList::new();
        for _ in 0..1000 {
            let i = pick_random_index(list.len(), |i| list.get(i).unwrap()).unwrap();
            assert!(!list.get(i).unwrap());
            list.set(i, true).unwrap();
        }
        assert_eq!(list.count_set(), 1000);
        // Only index 5 of 16 is free: found by the scan when random draws miss.
        assert_eq!(pick_random_index(16, |i| i != 5).unwrap(), 5);
        assert!(matches!(
            pick_random_index(16, |_| true),
            Err(CryptoError::StatusListFull)
        ));
        assert!(matches!(
            pick_random_index(0, |_| false),
            Err(CryptoError::StatusListFull)
        ));
    }

    #[test]
    fn random_indexes_spread_over_the_list() {
        let picks: Vec<usize> = (0..64)
            .map(|_| pick_random_index(MIN_BITS, |_| false).unwrap())
            .collect();
        let upper_half = picks.iter().filter(|&&i| i >= MIN_BITS / 2).count();
        // Sequential allocation would put all 64 in the lower half; chance of 0 or 64 by luck
        // is 2^-63.
        assert!(upper_half > 0 && upper_half < 64);
    }
}
