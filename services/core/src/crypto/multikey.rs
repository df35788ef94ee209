//! Ed25519 keys as Multikey and `did:key`.
//!
//! - `publicKeyMultibase` = `z` + base58btc(`0xed 0x01` || 32-byte public key), the multicodec
//!   `ed25519-pub`; always starts with `z6Mk`.
//! - `secretKeyMultibase` = `z` + base58btc(`0x80 0x26` || 32-byte seed), the multicodec
//!   `ed25519-priv` (0x1300 as an unsigned varint).
//! - `did:key:<publicKeyMultibase>`, with the verification method
//!   `did:key:<publicKeyMultibase>#<publicKeyMultibase>`.
//! - `publicKeyJwk` = `{"kty": "OKP", "crv": "Ed25519", "x": base64url(key)}` (RFC 8037), as
//!   `JsonWebKey` verification methods of other issuers' DID documents hold it (read only).

use ed25519_dalek::{SECRET_KEY_LENGTH, SigningKey, VerifyingKey};
use rand::TryRng;
use rand::rngs::SysRng;
use zeroize::Zeroizing;

use super::{CryptoError, SecretString};

/// Multicodec header of an Ed25519 public key (`ed25519-pub`, 0xed).
pub const ED25519_PUB_HEADER: [u8; 2] = [0xed, 0x01];
/// Multicodec header of an Ed25519 secret key (`ed25519-priv`, 0x1300).
pub const ED25519_PRIV_HEADER: [u8; 2] = [0x80, 0x26];

const DID_KEY_PREFIX: &str = "did:key:";
const KEY_LEN: usize = 32;
const ENCODED_LEN: usize = 2 + KEY_LEN;

/// A fresh Ed25519 signing key from the operating system's random number generator.
pub fn generate_signing_key() -> Result<SigningKey, CryptoError> {
    let mut seed = Zeroizing::new([0u8; SECRET_KEY_LENGTH]);
    SysRng
        .try_fill_bytes(seed.as_mut())
        .map_err(|e| CryptoError::Rng(e.to_string()))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// `publicKeyMultibase` of an Ed25519 public key (`z6Mk...`).
pub fn public_key_multibase(key: &VerifyingKey) -> String {
    encode_multibase(ED25519_PUB_HEADER, key.as_bytes())
}

/// Parses a `publicKeyMultibase`, rejecting other key types, bad lengths and weak keys.
pub fn parse_public_key_multibase(multibase: &str) -> Result<VerifyingKey, CryptoError> {
    let raw = decode_multibase(multibase, ED25519_PUB_HEADER, "ed25519-pub (0xed01)")?;
    let key = VerifyingKey::from_bytes(&raw)
        .map_err(|_| CryptoError::InvalidPublicKey("not a point on the curve"))?;
    if key.is_weak() {
        return Err(CryptoError::InvalidPublicKey("small-order point"));
    }
    Ok(key)
}

/// Parses an Ed25519 public key given as a JWK (RFC 8037: `kty` `OKP`, `crv` `Ed25519`, `x` the
/// key in unpadded base64url). A JWK that carries private key material (`d`) is refused: a DID
/// document that publishes one is broken, and its keys are not to be trusted.
pub fn parse_public_key_jwk(
    jwk: &serde_json::Map<String, serde_json::Value>,
) -> Result<VerifyingKey, CryptoError> {
    use base64::Engine;
    let field = |name: &str| jwk.get(name).and_then(serde_json::Value::as_str);
    if field("kty") != Some("OKP") {
        return Err(CryptoError::InvalidPublicKey("JWK kty is not OKP"));
    }
    if field("crv") != Some("Ed25519") {
        return Err(CryptoError::InvalidPublicKey("JWK crv is not Ed25519"));
    }
    if jwk.contains_key("d") {
        return Err(CryptoError::InvalidPublicKey(
            "JWK carries a private key (d)",
        ));
    }
    let raw: [u8; KEY_LEN] = field("x")
        .and_then(|x| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(x)
                .ok()
        })
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(CryptoError::InvalidPublicKey(
            "JWK x is not 32 bytes of unpadded base64url",
        ))?;
    let key = VerifyingKey::from_bytes(&raw)
        .map_err(|_| CryptoError::InvalidPublicKey("not a point on the curve"))?;
    if key.is_weak() {
        return Err(CryptoError::InvalidPublicKey("small-order point"));
    }
    Ok(key)
}

/// `secretKeyMultibase` of an Ed25519 signing key, kept in a redacting wrapper.
pub fn secret_key_multibase(key: &SigningKey) -> SecretString {
    SecretString::new(encode_multibase(ED25519_PRIV_HEADER, key.as_bytes()))
}

/// Parses a `secretKeyMultibase` (`ed25519-priv` + 32-byte seed).
pub fn parse_secret_key_multibase(multibase: &str) -> Result<SigningKey, CryptoError> {
    let seed = Zeroizing::new(decode_multibase(
        multibase,
        ED25519_PRIV_HEADER,
        "ed25519-priv (0x8026)",
    )?);
    Ok(SigningKey::from_bytes(&seed))
}

/// The `did:key` identifier of an Ed25519 public key.
pub fn did_key(key: &VerifyingKey) -> String {
    let mb = public_key_multibase(key);
    let mut did = String::with_capacity(DID_KEY_PREFIX.len() + mb.len());
    did.push_str(DID_KEY_PREFIX);
    did.push_str(&mb);
    did
}

/// The verification method id of a `did:key`: `did:key:z6Mk...#z6Mk...`.
pub fn did_key_verification_method(key: &VerifyingKey) -> String {
    let mb = public_key_multibase(key);
    format!("{DID_KEY_PREFIX}{mb}#{mb}")
}

/// Parses `did:key:z6Mk...` or `did:key:z6Mk...#z6Mk...` back to the Ed25519 public key.
///
/// The fragment, when present, must repeat the key's multibase value, as `did:key` documents
/// name their only verification method that way.
pub fn parse_did_key(did_url: &str) -> Result<VerifyingKey, CryptoError> {
    let rest = did_url
        .strip_prefix(DID_KEY_PREFIX)
        .ok_or_else(|| CryptoError::NotDidKey(did_url.to_owned()))?;
    let (multibase, fragment) = match rest.split_once('#') {
        Some((mb, fragment)) => (mb, Some(fragment)),
        None => (rest, None),
    };
    if fragment.is_some_and(|f| f != multibase) {
        return Err(CryptoError::DidKeyFragment(did_url.to_owned()));
    }
    parse_public_key_multibase(multibase)
}

fn encode_multibase(header: [u8; 2], key: &[u8; KEY_LEN]) -> String {
    let mut bytes = Zeroizing::new([0u8; ENCODED_LEN]);
    bytes[..2].copy_from_slice(&header);
    bytes[2..].copy_from_slice(key);
    // Room for the prefix and the encoder's worst case, so the secret is never reallocated.
    let mut out = String::with_capacity(64);
    out.push('z');
    bs58::encode(bytes.as_ref())
        .onto(&mut out)
        .expect("base58 encoding into a String cannot run out of space");
    out
}

fn decode_multibase(
    multibase: &str,
    header: [u8; 2],
    expected: &'static str,
) -> Result<[u8; KEY_LEN], CryptoError> {
    let payload = multibase
        .strip_prefix('z')
        .ok_or(CryptoError::MultibasePrefix { expected: 'z' })?;
    // Decode into a Vec first so an over-long value reports its length rather than a buffer error.
    let bytes = Zeroizing::new(
        bs58::decode(payload)
            .into_vec()
            .map_err(|e| CryptoError::Base58(e.to_string()))?,
    );
    if bytes.len() < 2 || bytes[..2] != header {
        return Err(CryptoError::Multicodec {
            expected,
            found: hex::encode(&bytes[..bytes.len().min(2)]),
        });
    }
    let key: [u8; KEY_LEN] = bytes[2..].try_into().map_err(|_| CryptoError::KeyLength {
        expected: KEY_LEN,
        found: bytes.len() - 2,
    })?;
    Ok(key)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // From the W3C vc-di-eddsa test vectors (TestVectors/keyPair.json).
    const VECTOR_PUBLIC: &str = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2";
    const VECTOR_SECRET: &str = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq";

    #[test]
    fn vector_key_pair_matches() {
        let signing = parse_secret_key_multibase(VECTOR_SECRET).unwrap();
        assert_eq!(
            public_key_multibase(&signing.verifying_key()),
            VECTOR_PUBLIC
        );
        assert_eq!(secret_key_multibase(&signing).expose(), VECTOR_SECRET);
        assert_eq!(
            parse_public_key_multibase(VECTOR_PUBLIC).unwrap(),
            signing.verifying_key()
        );
    }

    #[test]
    fn generated_keys_roundtrip() {
        let a = generate_signing_key().unwrap();
        let b = generate_signing_key().unwrap();
        assert_ne!(a.to_bytes(), b.to_bytes());
        let mb = public_key_multibase(&a.verifying_key());
        assert!(mb.starts_with("z6Mk"), "{mb}");
        assert_eq!(parse_public_key_multibase(&mb).unwrap(), a.verifying_key());
        let secret = secret_key_multibase(&a);
        assert_eq!(
            parse_secret_key_multibase(secret.expose())
                .unwrap()
                .to_bytes(),
            a.to_bytes()
        );
    }

    #[test]
    fn did_key_roundtrip_with_and_without_fragment() {
        let key = parse_public_key_multibase(VECTOR_PUBLIC).unwrap();
        assert_eq!(did_key(&key), format!("did:key:{VECTOR_PUBLIC}"));
        let vm = did_key_verification_method(&key);
        assert_eq!(vm, format!("did:key:{VECTOR_PUBLIC}#{VECTOR_PUBLIC}"));
        assert_eq!(parse_did_key(&vm).unwrap(), key);
        assert_eq!(parse_did_key(&did_key(&key)).unwrap(), key);
    }

    #[test]
    fn rejects_wrong_prefixes_and_lengths() {
        assert!(matches!(
            parse_public_key_multibase(&VECTOR_PUBLIC[1..]),
            Err(CryptoError::MultibasePrefix { expected: 'z' })
        ));
        assert!(matches!(
            parse_public_key_multibase("z0OIl"),
            Err(CryptoError::Base58(_))
        ));
        // A secret key is not a public key, and vice versa.
        assert!(matches!(
            parse_public_key_multibase(VECTOR_SECRET),
            Err(CryptoError::Multicodec { found, .. }) if found == "8026"
        ));
        assert!(matches!(
            parse_secret_key_multibase(VECTOR_PUBLIC),
            Err(CryptoError::Multicodec { found, .. }) if found == "ed01"
        ));
        // Right header, 31 and 33 key bytes.
        for len in [31usize, 33] {
            let mut bytes = ED25519_PUB_HEADER.to_vec();
            bytes.extend(std::iter::repeat_n(7u8, len));
            let mb = format!("z{}", bs58::encode(bytes).into_string());
            assert!(matches!(
                parse_public_key_multibase(&mb),
                Err(CryptoError::KeyLength { expected: 32, found }) if found == len
            ));
        }
        assert!(matches!(
            parse_public_key_multibase("z"),
            Err(CryptoError::Multicodec { .. })
        ));
    }

    #[test]
    fn rejects_weak_public_keys() {
        // The identity point (y = 1) has small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let mb = encode_multibase(ED25519_PUB_HEADER, &identity);
        assert!(matches!(
            parse_public_key_multibase(&mb),
            Err(CryptoError::InvalidPublicKey(_))
        ));
    }

    #[test]
    fn json_web_keys_parse_and_bad_ones_are_refused() {
        use base64::Engine;
        let encode = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let key = parse_public_key_multibase(VECTOR_PUBLIC).unwrap();
        let jwk = |value: serde_json::Value| value.as_object().unwrap().clone();
        let good =
            jwk(serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": encode(key.as_bytes())}));
        assert_eq!(parse_public_key_jwk(&good).unwrap(), key);
        let mut identity = [0u8; 32];
        identity[0] = 1;
        for (bad, why) in [
            (
                serde_json::json!({"kty": "EC", "crv": "Ed25519", "x": encode(key.as_bytes())}),
                "kty",
            ),
            (
                serde_json::json!({"kty": "OKP", "crv": "X25519", "x": encode(key.as_bytes())}),
                "crv",
            ),
            (
                serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": encode(key.as_bytes()), "d": encode(&[7; 32])}),
                "private",
            ),
            (
                serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": encode(&key.as_bytes()[..31])}),
                "32 bytes",
            ),
            (
                serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": format!("{}=", encode(key.as_bytes()))}),
                "32 bytes",
            ),
            (
                serde_json::json!({"kty": "OKP", "crv": "Ed25519"}),
                "32 bytes",
            ),
            (
                serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": encode(&identity)}),
                "small-order",
            ),
        ] {
            match parse_public_key_jwk(&jwk(bad.clone())) {
                Err(CryptoError::InvalidPublicKey(message)) => {
                    assert!(message.contains(why), "{bad}: {message}");
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn rejects_bad_did_keys() {
        assert!(matches!(
            parse_did_key(&format!("did:web:{VECTOR_PUBLIC}")),
            Err(CryptoError::NotDidKey(_))
        ));
        assert!(matches!(
            parse_did_key(&format!("did:key:{VECTOR_PUBLIC}#key-1")),
            Err(CryptoError::DidKeyFragment(_))
        ));
        assert!(matches!(
            parse_did_key(&format!("did:key:{VECTOR_SECRET}")),
            Err(CryptoError::Multicodec { .. })
        ));
    }
}
