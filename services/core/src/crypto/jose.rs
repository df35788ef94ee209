//! The JOSE form of a credential (W3C VC-JOSE-COSE): a compact JWS whose payload is the
//! credential without an embedded proof, `alg` `EdDSA` (Ed25519), `typ` `vc+jwt`, `cty` `vc`,
//! and `kid` the verification method that signed it.
//!
//! The payload bytes are the credential's RFC 8785 (JCS) form, the same bytes the Data Integrity
//! proof is computed over, and Ed25519 is deterministic: so a token can be kept *detached*
//! (RFC 7515 appendix F: header and signature, `<header>..<signature>`) beside the credential and
//! rebuilt byte for byte when it is asked for, instead of storing the credential twice.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde_json::{Map, Value};

use super::jcs;

/// The media type of a VC secured as a JWS.
pub const MEDIA_TYPE: &str = "application/vc+jwt";
/// The `typ` header of such a JWS.
pub const TYP: &str = "vc+jwt";
/// The `cty` header: the payload is a VC.
pub const CTY: &str = "vc";
/// The one algorithm: Ed25519 (RFC 8037).
pub const ALG: &str = "EdDSA";
/// The prefix of an `EnvelopedVerifiableCredential`'s `id` (VC Data Model 2.0).
pub const DATA_URL_PREFIX: &str = "data:application/vc+jwt,";

/// Why a JWS is not one we accept, or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoseError {
    #[error("a compact JWS has three base64url parts separated by dots")]
    NotCompact,
    #[error("the JWS {0} is not base64url")]
    Base64(&'static str),
    #[error("the JWS {0} is not a JSON object")]
    NotJson(&'static str),
    #[error("the JWS protected header has alg {0:?}; only EdDSA (Ed25519) is accepted")]
    Algorithm(String),
    #[error("the JWS protected header has typ {0:?}, not vc+jwt")]
    Type(String),
    #[error("the JWS protected header names no kid (the verification method)")]
    NoKid,
    #[error("the JWS protected header has crit {0}, which is not understood")]
    Critical(String),
    #[error("the JWS signature is not 64 bytes")]
    SignatureLength,
    #[error("the JWS signature does not verify with the key of {0}")]
    Signature(String),
    #[error("the credential could not be canonicalized: {0}")]
    Canonicalization(String),
}

/// The protected header we write, in JCS order (so it is the same bytes every time).
fn header(kid: &str) -> Result<Vec<u8>, JoseError> {
    let mut map = Map::new();
    map.insert("alg".into(), ALG.into());
    map.insert("cty".into(), CTY.into());
    map.insert("kid".into(), kid.into());
    map.insert("typ".into(), TYP.into());
    jcs::canonicalize_map(&map).map_err(|e| JoseError::Canonicalization(e.to_string()))
}

/// Signs `canonical_payload` (the JCS bytes of the credential without proof) under `kid`;
/// returns the detached form `<b64url header>..<b64url signature>`.
pub fn sign_detached(
    canonical_payload: &[u8],
    kid: &str,
    key: &SigningKey,
) -> Result<String, JoseError> {
    let header = B64URL.encode(header(kid)?);
    let payload = B64URL.encode(canonical_payload);
    let mut input = String::with_capacity(header.len() + 1 + payload.len());
    input.push_str(&header);
    input.push('.');
    input.push_str(&payload);
    let signature = key.sign(input.as_bytes());
    Ok(format!("{header}..{}", B64URL.encode(signature.to_bytes())))
}

/// Signs `credential` (without proof) under `kid`: the compact JWS.
pub fn sign(credential: &Value, kid: &str, key: &SigningKey) -> Result<String, JoseError> {
    let payload =
        jcs::canonicalize(credential).map_err(|e| JoseError::Canonicalization(e.to_string()))?;
    let detached = sign_detached(&payload, kid, key)?;
    attach(&detached, &payload)
}

/// The compact JWS of a detached one and the payload it was made over.
pub fn attach(detached: &str, canonical_payload: &[u8]) -> Result<String, JoseError> {
    let (header, signature) = detached.split_once("..").ok_or(JoseError::NotCompact)?;
    if header.contains('.') || signature.contains('.') {
        return Err(JoseError::NotCompact);
    }
    Ok(format!(
        "{header}.{}.{signature}",
        B64URL.encode(canonical_payload)
    ))
}

/// A compact JWS whose header we accept, decoded, not yet verified.
#[derive(Debug, Clone)]
pub struct Jws {
    /// The verification method (`kid`).
    pub kid: String,
    /// The payload: the credential.
    pub payload: Value,
    signing_input: String,
    signature: Signature,
}

impl Jws {
    /// Parses a compact JWS: three base64url parts, a protected header with `alg` `EdDSA`, a
    /// `kid`, `typ` `vc+jwt` when present and no `crit`, and a JSON object as payload.
    pub fn parse(compact: &str) -> Result<Jws, JoseError> {
        let compact = compact.trim();
        let mut parts = compact.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JoseError::NotCompact);
        };
        let header_json = decode_object(header, "protected header")?;
        match header_json.get("alg").and_then(Value::as_str) {
            Some(ALG) => {}
            other => return Err(JoseError::Algorithm(other.unwrap_or_default().to_owned())),
        }
        if let Some(typ) = header_json.get("typ")
            && typ.as_str() != Some(TYP)
        {
            return Err(JoseError::Type(typ.to_string()));
        }
        if let Some(crit) = header_json.get("crit") {
            return Err(JoseError::Critical(crit.to_string()));
        }
        let kid = header_json
            .get("kid")
            .and_then(Value::as_str)
            .filter(|kid| !kid.is_empty())
            .ok_or(JoseError::NoKid)?
            .to_owned();
        let payload_json = decode_object(payload, "payload")?;
        let signature_bytes = B64URL
            .decode(signature)
            .map_err(|_| JoseError::Base64("signature"))?;
        let signature =
            Signature::from_slice(&signature_bytes).map_err(|_| JoseError::SignatureLength)?;
        Ok(Jws {
            kid,
            payload: Value::Object(payload_json),
            signing_input: format!("{header}.{payload}"),
            signature,
        })
    }

    /// Checks the signature with `key` (the key of [`Jws::kid`]).
    pub fn verify_with_key(&self, key: &VerifyingKey) -> Result<(), JoseError> {
        key.verify_strict(self.signing_input.as_bytes(), &self.signature)
            .map_err(|_| JoseError::Signature(self.kid.clone()))
    }
}

fn decode_object(part: &str, what: &'static str) -> Result<Map<String, Value>, JoseError> {
    let bytes = B64URL.decode(part).map_err(|_| JoseError::Base64(what))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(JoseError::NotJson(what)),
    }
}

/// The compact JWS inside an `EnvelopedVerifiableCredential` (its `id` is
/// `data:application/vc+jwt,<jws>`): `None` when `value` is not one, `Some(Err)` when it says
/// it is but carries no such `id`.
pub fn enveloped(value: &Value) -> Option<Result<&str, String>> {
    let types = value.get("type")?;
    let is_enveloped = match types {
        Value::String(t) => t == "EnvelopedVerifiableCredential",
        Value::Array(list) => list
            .iter()
            .any(|t| t.as_str() == Some("EnvelopedVerifiableCredential")),
        _ => false,
    };
    if !is_enveloped {
        return None;
    }
    Some(
        value
            .get("id")
            .and_then(Value::as_str)
            .and_then(|id| id.strip_prefix(DATA_URL_PREFIX))
            .ok_or_else(|| {
                format!("an EnvelopedVerifiableCredential's id must be a {DATA_URL_PREFIX}<compact JWS> URL")
            }),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7u8; 32])
    }

    fn credential() -> Value {
        json!({"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"],
               "issuer": {"id": "did:web:p.example", "name": "P"}, "credentialSubject": {"id": "urn:x", "ü": 1.5}})
    }

    #[test]
    fn a_detached_token_rebuilds_to_the_signed_one() {
        let kid = "did:web:p.example#key-1";
        let compact = sign(&credential(), kid, &key()).unwrap();
        let payload = jcs::canonicalize(&credential()).unwrap();
        let detached = sign_detached(&payload, kid, &key()).unwrap();
        assert_eq!(attach(&detached, &payload).unwrap(), compact);
        let jws = Jws::parse(&compact).unwrap();
        assert_eq!(jws.kid, kid);
        assert_eq!(jws.payload, credential());
        jws.verify_with_key(&key().verifying_key()).unwrap();
        // The header is the JCS form of what VC-JOSE-COSE asks for.
        let header = B64URL.decode(compact.split('.').next().unwrap()).unwrap();
        assert_eq!(
            String::from_utf8(header).unwrap(),
            r#"{"alg":"EdDSA","cty":"vc","kid":"did:web:p.example#key-1","typ":"vc+jwt"}"#
        );
    }

    #[test]
    fn a_changed_payload_or_another_key_fails() {
        let compact = sign(&credential(), "did:web:p.example#k", &key()).unwrap();
        let mut parts: Vec<String> = compact.split('.').map(str::to_owned).collect();
        let mut changed = credential();
        changed["credentialSubject"]["id"] = json!("urn:y");
        parts[1] = B64URL.encode(jcs::canonicalize(&changed).unwrap());
        let tampered = Jws::parse(&parts.join(".")).unwrap();
        assert!(tampered.verify_with_key(&key().verifying_key()).is_err());
        let other = SigningKey::from_bytes(&[8u8; 32]);
        let jws = Jws::parse(&compact).unwrap();
        assert!(matches!(
            jws.verify_with_key(&other.verifying_key()),
            Err(JoseError::Signature(_))
        ));
    }

    #[test]
    fn headers_we_do_not_accept_are_refused() {
        let encode = |header: Value| {
            format!(
                "{}.{}.{}",
                B64URL.encode(header.to_string()),
                B64URL.encode(credential().to_string()),
                B64URL.encode([0u8; 64])
            )
        };
        assert!(matches!(
            Jws::parse(&encode(json!({"alg": "none", "kid": "k"}))),
            Err(JoseError::Algorithm(_))
        ));
        assert!(matches!(
            Jws::parse(&encode(json!({"alg": "HS256", "kid": "k"}))),
            Err(JoseError::Algorithm(_))
        ));
        assert!(matches!(
            Jws::parse(&encode(json!({"alg": "EdDSA"}))),
            Err(JoseError::NoKid)
        ));
        assert!(matches!(
            Jws::parse(&encode(json!({"alg": "EdDSA", "kid": "k", "typ": "JWT"}))),
            Err(JoseError::Type(_))
        ));
        assert!(matches!(
            Jws::parse(&encode(
                json!({"alg": "EdDSA", "kid": "k", "crit": ["b64"]})
            )),
            Err(JoseError::Critical(_))
        ));
        assert!(matches!(Jws::parse("a.b"), Err(JoseError::NotCompact)));
        assert!(Jws::parse(&encode(json!({"alg": "EdDSA", "kid": "k"}))).is_ok());
    }

    #[test]
    fn envelopes_name_their_token() {
        let token = sign(&credential(), "did:web:p.example#k", &key()).unwrap();
        let envelope = json!({"@context": "https://www.w3.org/ns/credentials/v2",
            "type": "EnvelopedVerifiableCredential", "id": format!("{DATA_URL_PREFIX}{token}")});
        assert_eq!(enveloped(&envelope).unwrap().unwrap(), token);
        assert!(enveloped(&credential()).is_none());
        let wrong = json!({"type": ["EnvelopedVerifiableCredential"], "id": "data:text/plain,x"});
        assert!(enveloped(&wrong).unwrap().is_err());
    }
}
