//! The `eddsa-jcs-2022` Data Integrity cryptosuite (W3C VC Data Integrity EdDSA Cryptosuites
//! v1.0, section 3.3): Ed25519 over RFC 8785 canonical JSON.
//!
//! Signing: the proof options (type, cryptosuite, created, verificationMethod, proofPurpose, and
//! the document's `@context` when it has one) form the proof configuration;
//! `hashData = SHA-256(JCS(proofConfig)) || SHA-256(JCS(document))` is signed with Ed25519 and
//! the signature stored as `proofValue` in base58btc multibase.
//!
//! Verifying: the document without `proof`, and the proof without `proofValue`, are hashed the
//! same way. When the proof has an `@context`, the document's `@context` must start with it,
//! and the proof's `@context` is what gets hashed. [`EmbeddedProof::parse`] reads a single proof
//! object and refuses a `proof` array ([`ProofError::ProofSet`]); the members of a proof set or
//! chain are read by [`super::proof_set`].
//!
//! Neither direction clones the document: canonicalization reads it in place, skipping or
//! substituting the properties the algorithm removes or replaces.

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use ed25519_dalek::{SIGNATURE_LENGTH, Signature, Signer, SigningKey, VerifyingKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::error::{BoxError, ProofError};
use super::jcs;

/// The proof `type` of every Data Integrity proof.
pub const PROOF_TYPE: &str = "DataIntegrityProof";
/// The cryptosuite identifier.
pub const CRYPTOSUITE: &str = "eddsa-jcs-2022";
/// The proof purpose of credentials an issuer asserts.
pub const ASSERTION_METHOD: &str = "assertionMethod";

/// What the signer states in a new proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProofOptions<'a> {
    /// The key's URL, e.g. `did:web:example.com#key-1` or a `did:key` verification method.
    pub verification_method: &'a str,
    /// Usually [`ASSERTION_METHOD`].
    pub proof_purpose: &'a str,
    /// Creation time; written with second precision when it has no fraction (`...T23:36:38Z`).
    pub created: Option<DateTime<Utc>>,
}

impl<'a> ProofOptions<'a> {
    /// Options for an `assertionMethod` proof created at `created`.
    pub fn assertion(verification_method: &'a str, created: DateTime<Utc>) -> Self {
        Self {
            verification_method,
            proof_purpose: ASSERTION_METHOD,
            created: Some(created),
        }
    }
}

/// The proof configuration for `document`: the proof object, without `proofValue`.
pub fn proof_configuration(
    document: &Value,
    options: &ProofOptions<'_>,
) -> Result<Map<String, Value>, ProofError> {
    let document = document.as_object().ok_or(ProofError::DocumentNotObject)?;
    if options.verification_method.is_empty() {
        return Err(ProofError::MissingProperty("verificationMethod"));
    }
    if options.proof_purpose.is_empty() {
        return Err(ProofError::MissingProperty("proofPurpose"));
    }
    let mut proof = Map::new();
    proof.insert("type".to_owned(), PROOF_TYPE.into());
    proof.insert("cryptosuite".to_owned(), CRYPTOSUITE.into());
    if let Some(created) = options.created {
        let created = created.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        proof.insert("created".to_owned(), created.into());
    }
    proof.insert(
        "verificationMethod".to_owned(),
        options.verification_method.into(),
    );
    proof.insert("proofPurpose".to_owned(), options.proof_purpose.into());
    if let Some(context) = document.get("@context") {
        proof.insert("@context".to_owned(), context.clone());
    }
    Ok(proof)
}

/// `SHA-256(canonical proof config) || SHA-256(canonical document)`: the bytes that are signed.
pub fn hash_data(canonical_proof_config: &[u8], canonical_document: &[u8]) -> [u8; 64] {
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&Sha256::digest(canonical_proof_config));
    out[32..].copy_from_slice(&Sha256::digest(canonical_document));
    out
}

/// Creates the proof object for an unsecured `document` (which must not already have a proof).
pub fn create_proof(
    document: &Value,
    options: &ProofOptions<'_>,
    key: &SigningKey,
) -> Result<Map<String, Value>, ProofError> {
    if document.get("proof").is_some() {
        return Err(ProofError::ProofAlreadyPresent);
    }
    let mut proof = proof_configuration(document, options)?;
    let canonical_config = jcs::canonicalize_map(&proof).map_err(canonicalization)?;
    let canonical_document = jcs::canonicalize(document).map_err(canonicalization)?;
    let signature = key.sign(&hash_data(&canonical_config, &canonical_document));
    proof.insert(
        "proofValue".to_owned(),
        encode_proof_value(&signature).into(),
    );
    Ok(proof)
}

/// Signs `document` whose JCS bytes the caller has already (`canonical_document`, e.g. to
/// secure the same credential as a JWS too); returns it with its `proof` added.
pub fn sign_canonical(
    mut document: Value,
    canonical_document: &[u8],
    options: &ProofOptions<'_>,
    key: &SigningKey,
) -> Result<Value, ProofError> {
    if document.get("proof").is_some() {
        return Err(ProofError::ProofAlreadyPresent);
    }
    let mut proof = proof_configuration(&document, options)?;
    let canonical_config = jcs::canonicalize_map(&proof).map_err(canonicalization)?;
    let signature = key.sign(&hash_data(&canonical_config, canonical_document));
    proof.insert(
        "proofValue".to_owned(),
        encode_proof_value(&signature).into(),
    );
    document
        .as_object_mut()
        .ok_or(ProofError::DocumentNotObject)?
        .insert("proof".to_owned(), Value::Object(proof));
    Ok(document)
}

/// The proof object as written (the JCS writer sorts its members).
#[derive(serde::Serialize)]
struct ProofObject<'a> {
    #[serde(rename = "@context", skip_serializing_if = "Option::is_none")]
    context: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<String>,
    cryptosuite: &'static str,
    #[serde(rename = "proofPurpose")]
    proof_purpose: &'a str,
    #[serde(rename = "proofValue", skip_serializing_if = "Option::is_none")]
    proof_value: Option<String>,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "verificationMethod")]
    verification_method: &'a str,
}

/// The `@context` of a document given as its JCS bytes. It is the first member whenever the
/// document has no property sorting before `@` (ours never do), so usually only that member
/// is read; otherwise the document is read through.
fn canonical_context(canonical_document: &[u8]) -> Result<Option<Value>, ProofError> {
    const FIRST: &[u8] = br#"{"@context":"#;
    if let Some(rest) = canonical_document.strip_prefix(FIRST) {
        let mut values = serde_json::Deserializer::from_slice(rest).into_iter::<Value>();
        return match values.next() {
            Some(Ok(context)) => Ok(Some(context)),
            _ => Err(ProofError::Canonicalization(
                "the document's @context is not JSON".to_owned(),
            )),
        };
    }
    #[derive(serde::Deserialize)]
    struct ContextOnly {
        #[serde(rename = "@context")]
        context: Option<Value>,
    }
    serde_json::from_slice::<ContextOnly>(canonical_document)
        .map(|d| d.context)
        .map_err(|_| ProofError::DocumentNotObject)
}

/// Secures a document given only as its JCS bytes: returns the secured document's text, the
/// canonical bytes with `proof` added as their last member.
///
/// Issuing builds typed documents and canonicalizes them without a `Value` tree; this signs
/// them as [`sign`] signs a `Value` (the same proof configuration, so the same bytes are
/// signed, and Ed25519 gives the same signature).
pub fn secure_canonical(
    canonical_document: &[u8],
    options: &ProofOptions<'_>,
    key: &SigningKey,
) -> Result<Vec<u8>, ProofError> {
    let body = match canonical_document {
        [b'{', body @ .., b'}'] => body,
        _ => return Err(ProofError::DocumentNotObject),
    };
    if options.verification_method.is_empty() {
        return Err(ProofError::MissingProperty("verificationMethod"));
    }
    if options.proof_purpose.is_empty() {
        return Err(ProofError::MissingProperty("proofPurpose"));
    }
    let context = canonical_context(canonical_document)?;
    let mut proof = ProofObject {
        context: context.as_ref(),
        created: options
            .created
            .map(|c| c.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        cryptosuite: CRYPTOSUITE,
        proof_purpose: options.proof_purpose,
        proof_value: None,
        kind: PROOF_TYPE,
        verification_method: options.verification_method,
    };
    let config = jcs::canonicalize_serialize(&proof).map_err(canonicalization)?;
    let signature = key.sign(&hash_data(&config, canonical_document));
    proof.proof_value = Some(encode_proof_value(&signature));
    let proof = jcs::canonicalize_serialize(&proof).map_err(canonicalization)?;
    let mut out = Vec::with_capacity(canonical_document.len() + proof.len() + 10);
    out.push(b'{');
    out.extend_from_slice(body);
    if !body.is_empty() {
        out.push(b',');
    }
    out.extend_from_slice(br#""proof":"#);
    out.extend_from_slice(&proof);
    out.push(b'}');
    Ok(out)
}

/// Signs `document`, returning it with its `proof` added (the document is moved, not copied).
pub fn sign(
    mut document: Value,
    options: &ProofOptions<'_>,
    key: &SigningKey,
) -> Result<Value, ProofError> {
    let proof = create_proof(&document, options, key)?;
    document
        .as_object_mut()
        .ok_or(ProofError::DocumentNotObject)?
        .insert("proof".to_owned(), Value::Object(proof));
    Ok(document)
}

/// Finds the public key of a verification method (`did:key`, a `did:web` key, a key store).
///
/// Implemented for closures `Fn(&str) -> Result<VerifyingKey, E>`, so
/// [`super::multikey::parse_did_key`] is itself a resolver for `did:key`.
pub trait KeyResolver {
    /// The Ed25519 key named by `verification_method`, or why there is none.
    fn resolve(&self, verification_method: &str) -> Result<VerifyingKey, BoxError>;
}

impl<F, E> KeyResolver for F
where
    F: Fn(&str) -> Result<VerifyingKey, E>,
    E: Into<BoxError>,
{
    fn resolve(&self, verification_method: &str) -> Result<VerifyingKey, BoxError> {
        self(verification_method).map_err(Into::into)
    }
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    /// The verification method whose key signed the document.
    pub verification_method: String,
    /// The proof purpose, as checked against the expected one.
    pub proof_purpose: String,
    /// The proof's creation time, if stated.
    pub created: Option<DateTime<FixedOffset>>,
}

/// Verifies the single `eddsa-jcs-2022` proof of `secured`: shape, type, cryptosuite, `created`,
/// the `@context` rule, the expected proof purpose, then the signature under the key `resolver`
/// returns for the proof's verification method.
pub fn verify<R: KeyResolver + ?Sized>(
    secured: &Value,
    expected_purpose: &str,
    resolver: &R,
) -> Result<VerifiedProof, ProofError> {
    let proof = EmbeddedProof::parse(secured)?;
    proof.check_purpose(expected_purpose)?;
    let key = resolver
        .resolve(proof.verification_method)
        .map_err(|source| ProofError::KeyResolution {
            verification_method: proof.verification_method.to_owned(),
            source,
        })?;
    proof.verify_with_key(&key)?;
    Ok(VerifiedProof {
        verification_method: proof.verification_method.to_owned(),
        proof_purpose: proof.proof_purpose.to_owned(),
        created: proof.created,
    })
}

/// A secured document whose proof is well formed, ready for the signature check.
///
/// Split from [`verify`] for callers whose key lookup is asynchronous: parse, read
/// [`EmbeddedProof::verification_method`], resolve the key, then [`EmbeddedProof::verify_with_key`].
#[derive(Debug, Clone)]
pub struct EmbeddedProof<'a> {
    document: &'a Map<String, Value>,
    proof: &'a Map<String, Value>,
    /// For a link of a proof chain: the proofs it names in `previousProof`, which it signed as
    /// the document's `proof`.
    previous: Option<Value>,
    verification_method: &'a str,
    proof_purpose: &'a str,
    created: Option<DateTime<FixedOffset>>,
    signature: Signature,
}

impl<'a> EmbeddedProof<'a> {
    /// Checks the proof's shape, type, cryptosuite, `created`, `proofValue` and `@context`.
    pub fn parse(secured: &'a Value) -> Result<Self, ProofError> {
        let document = secured.as_object().ok_or(ProofError::DocumentNotObject)?;
        let proof = match document.get("proof") {
            None => return Err(ProofError::MissingProof),
            Some(Value::Object(proof)) => proof,
            Some(Value::Array(_)) => return Err(ProofError::ProofSet),
            Some(_) => return Err(ProofError::ProofNotObject),
        };
        Self::member(document, proof, None)
    }

    /// Checks one proof of `document` as [`EmbeddedProof::parse`] does; `previous`, for a link
    /// of a proof chain, is the list of proofs it signed as the document's `proof`.
    pub(crate) fn member(
        document: &'a Map<String, Value>,
        proof: &'a Map<String, Value>,
        previous: Option<Value>,
    ) -> Result<Self, ProofError> {
        let proof_type = required_str(proof, "type")?;
        if proof_type != PROOF_TYPE {
            return Err(ProofError::UnsupportedProofType(proof_type.to_owned()));
        }
        let cryptosuite = required_str(proof, "cryptosuite")?;
        if cryptosuite != CRYPTOSUITE {
            return Err(ProofError::UnsupportedCryptosuite(cryptosuite.to_owned()));
        }
        let verification_method = required_str(proof, "verificationMethod")?;
        let proof_purpose = required_str(proof, "proofPurpose")?;
        let created = match proof.get("created") {
            None => None,
            Some(Value::String(s)) => Some(
                parse_date_time_stamp(s).ok_or_else(|| ProofError::InvalidCreated(s.clone()))?,
            ),
            Some(_) => return Err(ProofError::PropertyNotString("created")),
        };
        let signature = decode_proof_value(required_str(proof, "proofValue")?)?;
        if let Some(proof_context) = proof.get("@context") {
            let document_context = document
                .get("@context")
                .ok_or(ProofError::ContextMismatch)?;
            if !starts_with(as_list(document_context), as_list(proof_context)) {
                return Err(ProofError::ContextMismatch);
            }
        }
        Ok(Self {
            document,
            proof,
            previous,
            verification_method,
            proof_purpose,
            created,
            signature,
        })
    }

    /// The proof's `verificationMethod`.
    pub fn verification_method(&self) -> &'a str {
        self.verification_method
    }

    /// The proof's `proofPurpose`.
    pub fn proof_purpose(&self) -> &'a str {
        self.proof_purpose
    }

    /// The proof's `created`, if any.
    pub fn created(&self) -> Option<DateTime<FixedOffset>> {
        self.created
    }

    /// The proof object as found in the document.
    pub fn proof(&self) -> &'a Map<String, Value> {
        self.proof
    }

    /// The proof's `id`, if it has one (a proof chain names its links by it).
    pub fn id(&self) -> Option<&'a str> {
        self.proof.get("id").and_then(Value::as_str)
    }

    /// Fails unless the proof purpose is `expected`.
    pub fn check_purpose(&self, expected: &str) -> Result<(), ProofError> {
        if self.proof_purpose == expected {
            Ok(())
        } else {
            Err(ProofError::ProofPurposeMismatch {
                expected: expected.to_owned(),
                found: self.proof_purpose.to_owned(),
            })
        }
    }

    /// The canonical proof configuration and the canonical unsecured document, as hashed.
    pub fn canonical_forms(&self) -> Result<(Vec<u8>, Vec<u8>), ProofError> {
        let config_entries = self
            .proof
            .iter()
            .filter(|(k, _)| *k != "proofValue")
            .map(|(k, v)| (k.as_str(), v))
            .collect();
        let mut config = Vec::with_capacity(512);
        jcs::write_entries(config_entries, &mut config).map_err(canonicalization)?;

        let proof_context = self.proof.get("@context");
        let mut document_entries: Vec<(&str, &Value)> = self
            .document
            .iter()
            .filter(|(k, _)| *k != "proof")
            .map(|(k, v)| match (k.as_str(), proof_context) {
                ("@context", Some(context)) => (k.as_str(), context),
                _ => (k.as_str(), v),
            })
            .collect();
        if let Some(previous) = &self.previous {
            document_entries.push(("proof", previous));
        }
        let mut document = Vec::with_capacity(2048);
        jcs::write_entries(document_entries, &mut document).map_err(canonicalization)?;
        Ok((config, document))
    }

    /// The signed bytes: `SHA-256(proof config) || SHA-256(document)`.
    pub fn hash_data(&self) -> Result<[u8; 64], ProofError> {
        let (config, document) = self.canonical_forms()?;
        Ok(hash_data(&config, &document))
    }

    /// Checks the signature under `key` (strict Ed25519: no weak keys, no malleable signatures).
    pub fn verify_with_key(&self, key: &VerifyingKey) -> Result<(), ProofError> {
        let hash = self.hash_data()?;
        key.verify_strict(&hash, &self.signature)
            .map_err(|_| ProofError::SignatureMismatch)
    }
}

fn canonicalization(e: super::CryptoError) -> ProofError {
    ProofError::Canonicalization(e.to_string())
}

fn required_str<'a>(
    proof: &'a Map<String, Value>,
    name: &'static str,
) -> Result<&'a str, ProofError> {
    match proof.get(name) {
        None => Err(ProofError::MissingProperty(name)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(ProofError::PropertyNotString(name)),
    }
}

pub(crate) fn encode_proof_value(signature: &Signature) -> String {
    let mut out = String::with_capacity(96);
    out.push('z');
    super::base58::encode_onto(&signature.to_bytes(), &mut out);
    out
}

fn decode_proof_value(proof_value: &str) -> Result<Signature, ProofError> {
    let payload = proof_value.strip_prefix('z').ok_or_else(|| {
        ProofError::InvalidProofValue("must be base58btc multibase (prefix 'z')".to_owned())
    })?;
    let bytes = bs58::decode(payload)
        .into_vec()
        .map_err(|e| ProofError::InvalidProofValue(e.to_string()))?;
    let bytes: [u8; SIGNATURE_LENGTH] = bytes.as_slice().try_into().map_err(|_| {
        ProofError::InvalidProofValue(format!(
            "an Ed25519 signature has {SIGNATURE_LENGTH} bytes, found {}",
            bytes.len()
        ))
    })?;
    Ok(Signature::from_bytes(&bytes))
}

/// A JSON-LD `@context` is a single value or an array of them.
fn as_list(value: &Value) -> &[Value] {
    match value {
        Value::Array(items) => items,
        other => std::slice::from_ref(other),
    }
}

fn starts_with(list: &[Value], prefix: &[Value]) -> bool {
    list.len() >= prefix.len() && list.iter().zip(prefix).all(|(a, b)| a == b)
}

/// Parses an XML Schema 1.1 `dateTimeStamp` (the type Data Integrity requires for `created`):
/// `YYYY-MM-DDThh:mm:ss(.s+)?(Z|(+|-)hh:mm)`. Stricter than RFC 3339 parsers: upper-case `T`
/// and `Z`, no space separator, no leap second, offsets within +-14:00.
pub fn parse_date_time_stamp(s: &str) -> Option<DateTime<FixedOffset>> {
    let b = s.as_bytes();
    let digits = |from: usize, to: usize| {
        b.get(from..to)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let shape = digits(0, 4)
        && at(4, b'-')
        && digits(5, 7)
        && at(7, b'-')
        && digits(8, 10)
        && at(10, b'T')
        && digits(11, 13)
        && at(13, b':')
        && digits(14, 16)
        && at(16, b':')
        && digits(17, 19);
    if !shape || &b[17..19] >= b"60".as_slice() {
        return None;
    }
    let mut i = 19;
    if at(i, b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    match &b[i..] {
        b"Z" => {}
        [b'+' | b'-', h1, h2, b':', m1, m2]
            if [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit()) =>
        {
            let hours = (h1 - b'0') * 10 + (h2 - b'0');
            let minutes = (m1 - b'0') * 10 + (m2 - b'0');
            if minutes > 59 || hours > 14 || (hours == 14 && minutes > 0) {
                return None;
            }
        }
        _ => return None,
    }
    // The shape is right; chrono checks the calendar (month lengths, leap years, hour < 24).
    DateTime::parse_from_rfc3339(s).ok()
}

#[cfg(test)]
#[path = "data_integrity_tests.rs"]
mod tests;
