//! The W3C `eddsa-jcs-2022` test vectors (w3c/vc-di-eddsa TestVectors), reproduced byte for byte:
//! every intermediate value of signing, the signed credential, and its verification.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use ed25519_dalek::Signer;
use reetrace_core::crypto::data_integrity::{self, EmbeddedProof, ProofOptions};
use reetrace_core::crypto::{
    ProofError, VerifyingKey, jcs, multikey, parse_did_key, proof_set, public_key_multibase, sign,
    verify,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/vc/eddsa-jcs-2022")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json_fixture(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).unwrap()
}

struct Vectors {
    unsigned: Value,
    signed: Value,
    key: ed25519_dalek::SigningKey,
    verification_method: String,
    created: DateTime<Utc>,
}

fn vectors() -> Vectors {
    let key_pair = json_fixture("keyPair.json");
    let key =
        multikey::parse_secret_key_multibase(key_pair["privateKeyMultibase"].as_str().unwrap())
            .unwrap();
    assert_eq!(
        public_key_multibase(&key.verifying_key()),
        key_pair["publicKeyMultibase"].as_str().unwrap()
    );
    let signed = json_fixture("signedJCS.json");
    let proof_config = json_fixture("proofConfigJCS.json");
    // The unsigned credential is the signed one without its proof.
    let mut unsigned = signed.clone();
    unsigned.as_object_mut().unwrap().remove("proof");
    Vectors {
        unsigned,
        signed,
        verification_method: proof_config["verificationMethod"]
            .as_str()
            .unwrap()
            .to_owned(),
        created: proof_config["created"].as_str().unwrap().parse().unwrap(),
        key,
    }
}

fn options(v: &Vectors) -> ProofOptions<'_> {
    ProofOptions::assertion(&v.verification_method, v.created)
}

#[test]
fn canonical_document_and_its_hash() {
    let v = vectors();
    let canonical = jcs::canonicalize(&v.unsigned).unwrap();
    assert_eq!(
        String::from_utf8(canonical.clone()).unwrap(),
        fixture("canonDocJCS.txt")
    );
    assert_eq!(
        hex::encode(Sha256::digest(&canonical)),
        fixture("docHashJCS.txt")
    );
}

#[test]
fn proof_configuration_and_its_hash() {
    let v = vectors();
    let config = data_integrity::proof_configuration(&v.unsigned, &options(&v)).unwrap();
    assert_eq!(
        Value::Object(config.clone()),
        json_fixture("proofConfigJCS.json")
    );
    let canonical = jcs::canonicalize_map(&config).unwrap();
    assert_eq!(
        String::from_utf8(canonical.clone()).unwrap(),
        fixture("proofCanonJCS.txt")
    );
    assert_eq!(
        hex::encode(Sha256::digest(&canonical)),
        fixture("proofHashJCS.txt")
    );
}

#[test]
fn combined_hash_and_signature() {
    let v = vectors();
    let hash = data_integrity::hash_data(
        fixture("proofCanonJCS.txt").as_bytes(),
        fixture("canonDocJCS.txt").as_bytes(),
    );
    assert_eq!(hex::encode(hash), fixture("combinedHashJCS.txt"));
    // Ed25519 is deterministic, so the signature is reproducible.
    let signature = v.key.sign(&hash).to_bytes();
    assert_eq!(hex::encode(signature), fixture("sigHexJCS.txt"));
    assert_eq!(
        format!("z{}", bs58::encode(signature).into_string()),
        fixture("sigBTC58JCS.txt")
    );
}

#[test]
fn signing_reproduces_the_signed_credential() {
    let v = vectors();
    let proof = data_integrity::create_proof(&v.unsigned, &options(&v), &v.key).unwrap();
    assert_eq!(proof["proofValue"], fixture("sigBTC58JCS.txt").as_str());
    let signed = sign(v.unsigned.clone(), &options(&v), &v.key).unwrap();
    assert_eq!(signed, v.signed);
    // Byte for byte in canonical form as well.
    assert_eq!(
        jcs::canonicalize(&signed).unwrap(),
        jcs::canonicalize(&v.signed).unwrap()
    );
}

#[test]
fn verifying_the_signed_vector() {
    let v = vectors();
    let parsed = EmbeddedProof::parse(&v.signed).unwrap();
    let (config, document) = parsed.canonical_forms().unwrap();
    assert_eq!(
        String::from_utf8(config).unwrap(),
        fixture("proofCanonJCS.txt")
    );
    assert_eq!(
        String::from_utf8(document).unwrap(),
        fixture("canonDocJCS.txt")
    );
    assert_eq!(
        hex::encode(parsed.hash_data().unwrap()),
        fixture("combinedHashJCS.txt")
    );

    let verified = verify(&v.signed, data_integrity::ASSERTION_METHOD, &parse_did_key).unwrap();
    assert_eq!(verified.verification_method, v.verification_method);
    assert_eq!(verified.created.unwrap(), v.created);
}

#[test]
fn any_byte_changed_in_the_subject_fails() {
    let text = fixture("signedJCS.json");
    let subject = text.find("\"credentialSubject\"").unwrap();
    let end = subject + text[subject..].find('}').unwrap();
    // Flip one character at a time inside the subject's string values (keys too: a renamed
    // property is a different credential).
    let mut checked = 0;
    for (i, c) in text[subject..end].char_indices() {
        if !c.is_ascii_alphanumeric() {
            continue;
        }
        let at = subject + i;
        let replacement = if c == 'x' { "y" } else { "x" };
        let tampered = format!("{}{}{}", &text[..at], replacement, &text[at + 1..]);
        let doc: Value = serde_json::from_str(&tampered).unwrap();
        let err = verify(&doc, data_integrity::ASSERTION_METHOD, &parse_did_key).unwrap_err();
        assert!(
            matches!(err, ProofError::SignatureMismatch),
            "offset {at}: {err}"
        );
        checked += 1;
    }
    assert!(checked > 40, "only {checked} variants checked");
}

#[test]
fn another_key_does_not_verify_the_vector() {
    let v = vectors();
    let other: VerifyingKey = multikey::generate_signing_key().unwrap().verifying_key();
    let err = verify(&v.signed, data_integrity::ASSERTION_METHOD, &|_: &str| {
        Ok::<_, reetrace_core::crypto::CryptoError>(other)
    })
    .unwrap_err();
    assert!(matches!(err, ProofError::SignatureMismatch));
}

/// Data Integrity "Verify Proof Sets and Chains": a member without `previousProof` hashes the
/// document without `proof`, so the W3C vector's proof, countersigned by a second key, still
/// hashes to the vector's bytes and verifies, and so does the countersignature.
#[test]
fn the_vector_countersigned_is_a_proof_set_of_two_valid_proofs() {
    let v = vectors();
    let witness = multikey::generate_signing_key().unwrap();
    let witness_vm = multikey::did_key_verification_method(&witness.verifying_key());
    let countersigned = proof_set::add_proof(
        v.signed.clone(),
        &ProofOptions::assertion(&witness_vm, v.created),
        &proof_set::SetOptions::default(),
        &witness,
    )
    .unwrap();
    let members = proof_set::members(&countersigned).unwrap();
    assert_eq!(members.len(), 2);
    let first = members[0].proof.as_ref().unwrap();
    assert_eq!(
        hex::encode(first.hash_data().unwrap()),
        fixture("combinedHashJCS.txt")
    );
    for (member, vm) in members.iter().zip([&v.verification_method, &witness_vm]) {
        let proof = member.proof.as_ref().unwrap();
        assert_eq!(proof.verification_method(), vm);
        let key = parse_did_key(vm).unwrap();
        proof.verify_with_key(&key).unwrap();
    }
}
