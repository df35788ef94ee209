//! Base58btc encoding (the Bitcoin alphabet) of proof values, five digits per division.
//!
//! `bs58` divides the whole number by 58 once per output digit; a 64-byte signature takes 88
//! passes over 64 bytes, and every issued credential encodes two or three. Dividing by 58^5
//! (which keeps every step in `u64`) takes 18 passes over 16 words. Decoding stays with `bs58`.

const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
/// 58^5: a remainder times 2^32 plus a word stays below 2^63.
const BIG: u64 = 58 * 58 * 58 * 58 * 58;

/// Appends the base58btc digits of `bytes` to `out`, as `bs58::encode` writes them: one `1`
/// for each leading zero byte, then the number without leading zero digits.
pub fn encode_onto(bytes: &[u8], out: &mut String) {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    let rest = &bytes[zeros..];
    let head = rest.len() % 4;
    let mut words: Vec<u32> = Vec::with_capacity(rest.len() / 4 + 1);
    if head > 0 {
        words.push(rest[..head].iter().fold(0, |w, b| (w << 8) | u32::from(*b)));
    }
    words.extend(
        rest[head..]
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])),
    );
    // Base-58^5 limbs, least significant first.
    let mut limbs: Vec<u64> = Vec::with_capacity(rest.len() / 3 + 1);
    let mut start = 0;
    while start < words.len() {
        let mut rem = 0u64;
        for word in &mut words[start..] {
            let current = (rem << 32) | u64::from(*word);
            // The quotient is below 2^32 because `rem` is below BIG.
            *word = u32::try_from(current / BIG).unwrap_or(u32::MAX);
            rem = current % BIG;
        }
        limbs.push(rem);
        while start < words.len() && words[start] == 0 {
            start += 1;
        }
    }
    let mut digits: Vec<u8> = Vec::with_capacity(limbs.len() * 5);
    for mut limb in limbs {
        for _ in 0..5 {
            digits.push(ALPHABET[(limb % 58) as usize]);
            limb /= 58;
        }
    }
    while digits.last() == Some(&b'1') {
        digits.pop();
    }
    out.reserve(zeros + digits.len());
    out.extend(std::iter::repeat_n('1', zeros));
    out.extend(digits.iter().rev().map(|&d| char::from(d)));
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ours(bytes: &[u8]) -> String {
        let mut out = String::new();
        encode_onto(bytes, &mut out);
        out
    }

    #[test]
    fn matches_bs58_on_edges_and_random_inputs() {
        let mut cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![0],
            vec![0, 0, 0],
            vec![0, 0, 1],
            vec![57],
            vec![58],
            vec![255; 64],
            vec![0; 64],
            [vec![0, 0], vec![255; 62]].concat(),
            (0..=255).collect(),
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for len in 1..80 {
            let bytes = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 24) as u8
                })
                .collect::<Vec<u8>>();
            cases.push(bytes);
        }
        for bytes in &cases {
            assert_eq!(ours(bytes), bs58::encode(bytes).into_string(), "{bytes:?}");
        }
        // RFC-style vector: "Hello World!" in base58btc.
        assert_eq!(ours(b"Hello World!"), "2NEpo7TZRRrLZSi2U");
    }
}
