#![allow(clippy::unwrap_used)]

use chrono::TimeZone;
use serde_json::json;

use super::*;
use crate::crypto::CryptoError;
use crate::crypto::multikey::{did_key_verification_method, generate_signing_key, parse_did_key};

fn credential() -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "DigitalProductPassport"],
        "issuer": "did:web:magnets.example",
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "urn:uuid:1", "product": {"massKg": 12.5, "nd": 0.29}}
    })
}

struct Fixture {
    key: SigningKey,
    vm: String,
    signed: Value,
}

fn signed() -> Fixture {
    let key = generate_signing_key().unwrap();
    let vm = did_key_verification_method(&key.verifying_key());
    let created = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let signed = sign(credential(), &ProofOptions::assertion(&vm, created), &key).unwrap();
    Fixture { key, vm, signed }
}

fn verify_did_key(doc: &Value) -> Result<VerifiedProof, ProofError> {
    verify(doc, ASSERTION_METHOD, &parse_did_key)
}

fn proof_mut(doc: &mut Value) -> &mut Map<String, Value> {
    doc["proof"].as_object_mut().unwrap()
}

#[test]
fn sign_then_verify_roundtrip() {
    let f = signed();
    let proof = &f.signed["proof"];
    assert_eq!(proof["type"], PROOF_TYPE);
    assert_eq!(proof["cryptosuite"], CRYPTOSUITE);
    assert_eq!(proof["created"], "2026-03-01T12:00:00Z");
    assert_eq!(
        proof["@context"],
        json!(["https://www.w3.org/ns/credentials/v2"])
    );
    assert!(proof["proofValue"].as_str().unwrap().starts_with('z'));
    let verified = verify_did_key(&f.signed).unwrap();
    assert_eq!(verified.verification_method, f.vm);
    assert_eq!(verified.proof_purpose, ASSERTION_METHOD);
    assert_eq!(
        verified.created.unwrap().to_rfc3339(),
        "2026-03-01T12:00:00+00:00"
    );
}

#[test]
fn two_phase_verification_with_a_known_key() {
    let f = signed();
    let parsed = EmbeddedProof::parse(&f.signed).unwrap();
    assert_eq!(parsed.verification_method(), f.vm);
    parsed.verify_with_key(&f.key.verifying_key()).unwrap();
    let other = generate_signing_key().unwrap();
    assert!(matches!(
        parsed.verify_with_key(&other.verifying_key()),
        Err(ProofError::SignatureMismatch)
    ));
}

#[test]
fn documents_without_context_sign_and_verify() {
    let key = generate_signing_key().unwrap();
    let vm = did_key_verification_method(&key.verifying_key());
    let opts = ProofOptions {
        verification_method: &vm,
        proof_purpose: "authentication",
        created: None,
    };
    let signed = sign(json!({"a": 1}), &opts, &key).unwrap();
    assert!(signed["proof"].get("@context").is_none());
    assert!(signed["proof"].get("created").is_none());
    verify(&signed, "authentication", &parse_did_key).unwrap();
}

#[test]
fn any_change_breaks_the_signature() {
    let f = signed();
    let mut doc = f.signed.clone();
    doc["credentialSubject"]["product"]["nd"] = json!(0.30);
    assert!(matches!(
        verify_did_key(&doc),
        Err(ProofError::SignatureMismatch)
    ));

    let mut doc = f.signed.clone();
    proof_mut(&mut doc).insert("created".into(), "2026-03-01T12:00:01Z".into());
    assert!(matches!(
        verify_did_key(&doc),
        Err(ProofError::SignatureMismatch)
    ));

    let mut doc = f.signed.clone();
    doc.as_object_mut()
        .unwrap()
        .insert("extra".into(), json!(true));
    assert!(matches!(
        verify_did_key(&doc),
        Err(ProofError::SignatureMismatch)
    ));
}

#[test]
fn rejects_bad_proof_shapes() {
    let f = signed();
    let mut doc = f.signed.clone();
    let proof = doc["proof"].clone();
    doc["proof"] = json!([proof.clone(), proof]);
    assert!(matches!(verify_did_key(&doc), Err(ProofError::ProofSet)));
    doc["proof"] = json!("z123");
    assert!(matches!(
        verify_did_key(&doc),
        Err(ProofError::ProofNotObject)
    ));
    doc.as_object_mut().unwrap().remove("proof");
    assert!(matches!(
        verify_did_key(&doc),
        Err(ProofError::MissingProof)
    ));
    assert!(matches!(
        verify_did_key(&json!([1])),
        Err(ProofError::DocumentNotObject)
    ));

    for (name, value) in [("type", json!(1)), ("verificationMethod", json!(null))] {
        let mut doc = f.signed.clone();
        proof_mut(&mut doc).insert(name.into(), value);
        assert!(matches!(verify_did_key(&doc), Err(ProofError::PropertyNotString(n)) if n == name));
    }
    let mut doc = f.signed.clone();
    proof_mut(&mut doc).remove("proofValue");
    assert!(matches!(
        verify_did_key(&doc),
        Err(ProofError::MissingProperty("proofValue"))
    ));
}

#[test]
fn rejects_other_types_suites_and_purposes() {
    let f = signed();
    let mut doc = f.signed.clone();
    proof_mut(&mut doc).insert("type".into(), "Ed25519Signature2020".into());
    assert!(matches!(
        verify_did_key(&doc),
        Err(ProofError::UnsupportedProofType(_))
    ));

    let mut doc = f.signed.clone();
    proof_mut(&mut doc).insert("cryptosuite".into(), "eddsa-rdfc-2022".into());
    assert!(matches!(
        verify_did_key(&doc),
        Err(ProofError::UnsupportedCryptosuite(_))
    ));

    let err = verify(&f.signed, "authentication", &parse_did_key).unwrap_err();
    assert!(matches!(err, ProofError::ProofPurposeMismatch { .. }));
    assert_eq!(err.code(), "proof_purpose_mismatch");
}

#[test]
fn rejects_invalid_created() {
    let f = signed();
    for bad in [
        "2026-03-01",
        "2026-03-01T12:00:00",
        "2026-02-30T12:00:00Z",
        "yesterday",
    ] {
        let mut doc = f.signed.clone();
        proof_mut(&mut doc).insert("created".into(), bad.into());
        assert!(
            matches!(verify_did_key(&doc), Err(ProofError::InvalidCreated(_))),
            "{bad} accepted"
        );
    }
}

#[test]
fn context_rule() {
    let f = signed();
    // The document's @context must start with the proof's @context...
    let mut doc = f.signed.clone();
    doc["@context"] = json!(["https://www.w3.org/2018/credentials/v1"]);
    assert!(matches!(
        verify_did_key(&doc),
        Err(ProofError::ContextMismatch)
    ));
    let mut doc = f.signed.clone();
    doc.as_object_mut().unwrap().remove("@context");
    assert!(matches!(
        verify_did_key(&doc),
        Err(ProofError::ContextMismatch)
    ));
    // ...and only the proof's @context is hashed, so contexts appended after signing are
    // tolerated, as the cryptosuite specifies.
    let mut doc = f.signed.clone();
    doc["@context"]
        .as_array_mut()
        .unwrap()
        .push("https://ree.example/context/v1".into());
    verify_did_key(&doc).unwrap();
}

#[test]
fn rejects_bad_proof_values() {
    let f = signed();
    let value = f.signed["proof"]["proofValue"].as_str().unwrap().to_owned();
    for bad in [
        value[1..].to_owned(),
        format!("u{}", &value[1..]),
        "z0OIl".to_owned(),
        "z2Hn".to_owned(),
    ] {
        let mut doc = f.signed.clone();
        proof_mut(&mut doc).insert("proofValue".into(), bad.clone().into());
        assert!(
            matches!(verify_did_key(&doc), Err(ProofError::InvalidProofValue(_))),
            "{bad} accepted"
        );
    }
}

#[test]
fn unknown_key_is_reported_with_its_method() {
    let f = signed();
    let err = verify(&f.signed, ASSERTION_METHOD, &|_: &str| {
        Err::<VerifyingKey, _>("no such key in the key store")
    })
    .unwrap_err();
    match err {
        ProofError::KeyResolution {
            verification_method,
            source,
        } => {
            assert_eq!(verification_method, f.vm);
            assert_eq!(source.to_string(), "no such key in the key store");
        }
        other => panic!("unexpected {other:?}"),
    }
    // A did:web method is not something the did:key resolver knows.
    let mut doc = f.signed.clone();
    proof_mut(&mut doc).insert("verificationMethod".into(), "did:web:x.example#k1".into());
    let err = verify_did_key(&doc).unwrap_err();
    assert!(matches!(err, ProofError::KeyResolution { .. }));
    assert!(std::error::Error::source(&err).unwrap().is::<CryptoError>());
}

#[test]
fn refuses_to_sign_twice_or_non_objects() {
    let f = signed();
    let opts = ProofOptions::assertion(&f.vm, Utc::now());
    assert!(matches!(
        sign(f.signed, &opts, &f.key),
        Err(ProofError::ProofAlreadyPresent)
    ));
    assert!(matches!(
        sign(json!("x"), &opts, &f.key),
        Err(ProofError::DocumentNotObject)
    ));
    let empty = ProofOptions {
        verification_method: "",
        ..opts
    };
    assert!(matches!(
        sign(credential(), &empty, &f.key),
        Err(ProofError::MissingProperty("verificationMethod"))
    ));
}

#[test]
fn created_keeps_fractions_only_when_present() {
    let key = generate_signing_key().unwrap();
    let created =
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap() + chrono::Duration::milliseconds(250);
    let proof = create_proof(
        &credential(),
        &ProofOptions::assertion("did:x:y#k", created),
        &key,
    )
    .unwrap();
    assert_eq!(proof["created"], "2026-03-01T12:00:00.250Z");
}

#[test]
fn date_time_stamp_grammar() {
    for good in [
        "2023-02-24T23:36:38Z",
        "2023-02-24T23:36:38.5Z",
        "2023-02-24T23:36:38.123456789+02:00",
        "2024-02-29T00:00:00-14:00",
    ] {
        assert!(parse_date_time_stamp(good).is_some(), "{good} rejected");
    }
    for bad in [
        "2023-02-24t23:36:38Z",
        "2023-02-24 23:36:38Z",
        "2023-02-24T23:36:38z",
        "2023-02-24T23:36:38",
        "2023-02-24T23:36:60Z",
        "2023-02-24T24:00:00Z",
        "2023-02-24T23:36:38.Z",
        "2023-02-24T23:36:38+14:30",
        "2023-02-24T23:36:38+0200",
        "2023-02-29T00:00:00Z",
        "23-02-24T23:36:38Z",
        "",
    ] {
        assert!(parse_date_time_stamp(bad).is_none(), "{bad} accepted");
    }
}

#[test]
fn signing_with_the_canonical_bytes_given_is_signing() {
    let key = SigningKey::from_bytes(&[5u8; 32]);
    let document = serde_json::json!({"@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"], "issuer": "did:key:z6Mk", "credentialSubject": {"id": "urn:x"}});
    let created = chrono::DateTime::parse_from_rfc3339("2026-04-15T10:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let options = ProofOptions::assertion("did:key:z6Mk#z6Mk", created);
    let canonical = crate::crypto::jcs::canonicalize(&document).unwrap();
    let given = sign_canonical(document.clone(), &canonical, &options, &key).unwrap();
    assert_eq!(given, sign(document, &options, &key).unwrap());
}

#[test]
fn securing_canonical_bytes_is_signing_the_value() {
    let f = signed();
    let created = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let options = ProofOptions::assertion(&f.vm, created);
    let canonical = jcs::canonicalize(&credential()).unwrap();
    let text = secure_canonical(&canonical, &options, &f.key).unwrap();
    let secured: Value = serde_json::from_slice(&text).unwrap();
    // Ed25519 is deterministic: the same configuration over the same bytes is the same proof.
    assert_eq!(secured, f.signed);
    verify_did_key(&secured).unwrap();
    assert!(text.ends_with(b"}}"), "the proof is the last member");
    assert!(matches!(
        secure_canonical(b"[1]", &options, &f.key),
        Err(ProofError::DocumentNotObject)
    ));
    let empty = secure_canonical(b"{}", &options, &f.key).unwrap();
    let empty: Value = serde_json::from_slice(&empty).unwrap();
    verify_did_key(&empty).unwrap();
    // A property that sorts before @context: the context is still found and copied.
    let mut early = credential();
    early["!first"] = json!(1);
    let text = secure_canonical(&jcs::canonicalize(&early).unwrap(), &options, &f.key).unwrap();
    let early: Value = serde_json::from_slice(&text).unwrap();
    assert_eq!(early["proof"]["@context"], early["@context"]);
    verify_did_key(&early).unwrap();
}
