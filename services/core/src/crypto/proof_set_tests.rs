#![allow(clippy::unwrap_used)]

use chrono::{TimeZone, Utc};
use serde_json::json;

use super::*;
use crate::crypto::data_integrity::{ASSERTION_METHOD, sign};
use crate::crypto::multikey::{did_key_verification_method, generate_signing_key, parse_did_key};

fn credential() -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": "did:web:magnets.example",
        "credentialSubject": {"id": "urn:uuid:1", "massKg": 12.5}
    })
}

struct Signer {
    key: SigningKey,
    vm: String,
}

fn signer() -> Signer {
    let key = generate_signing_key().unwrap();
    let vm = did_key_verification_method(&key.verifying_key());
    Signer { key, vm }
}

fn options(s: &Signer) -> ProofOptions<'_> {
    ProofOptions::assertion(&s.vm, Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap())
}

/// Each member's outcome: `Ok(verification method)` or the error's code.
fn outcomes(secured: &Value) -> Vec<Result<String, &'static str>> {
    members(secured)
        .unwrap()
        .into_iter()
        .map(|m| {
            let proof = m.proof.map_err(|e| e.code())?;
            proof
                .check_purpose(ASSERTION_METHOD)
                .map_err(|e| e.code())?;
            let key = parse_did_key(proof.verification_method()).unwrap();
            proof.verify_with_key(&key).map_err(|e| e.code())?;
            Ok(proof.verification_method().to_owned())
        })
        .collect()
}

#[test]
fn a_lone_proof_is_a_set_of_one_and_a_countersignature_a_second_member() {
    let (issuer, witness) = (signer(), signer());
    let signed = sign(credential(), &options(&issuer), &issuer.key).unwrap();
    assert_eq!(outcomes(&signed), [Ok(issuer.vm.clone())]);
    let countersigned = add_proof(
        signed.clone(),
        &options(&witness),
        &SetOptions::default(),
        &witness.key,
    )
    .unwrap();
    assert_eq!(countersigned["proof"][0], signed["proof"]);
    assert!(countersigned["proof"][1].get("previousProof").is_none());
    assert_eq!(
        outcomes(&countersigned),
        [Ok(issuer.vm.clone()), Ok(witness.vm.clone())]
    );
    // A set has no order: both members sign the document alone.
    let mut swapped = countersigned.clone();
    swapped["proof"].as_array_mut().unwrap().reverse();
    assert_eq!(outcomes(&swapped), [Ok(witness.vm), Ok(issuer.vm)]);
}

#[test]
fn a_forged_member_fails_alone() {
    let (issuer, witness) = (signer(), signer());
    let signed = sign(credential(), &options(&issuer), &issuer.key).unwrap();
    let mut set = add_proof(
        signed,
        &options(&witness),
        &SetOptions::default(),
        &witness.key,
    )
    .unwrap();
    // The witness's proof moved to a key that did not make it.
    let forger = signer();
    set["proof"][1]["verificationMethod"] = forger.vm.into();
    let got = outcomes(&set);
    assert_eq!(got[0], Ok(issuer.vm));
    assert_eq!(got[1], Err("signature_mismatch"));
}

#[test]
fn a_chain_link_signs_the_proofs_it_names() {
    let (issuer, notary) = (signer(), signer());
    // The notary signs first; the issuer adds a proof with an id, which the notary chains to.
    let first = add_proof(
        sign(credential(), &options(&notary), &notary.key).unwrap(),
        &options(&issuer),
        &SetOptions {
            id: Some("urn:uuid:first"),
            previous_proof: &[],
        },
        &issuer.key,
    )
    .unwrap();
    let chained = add_proof(
        first,
        &options(&notary),
        &SetOptions {
            id: None,
            previous_proof: &["urn:uuid:first"],
        },
        &notary.key,
    )
    .unwrap();
    assert_eq!(chained["proof"][2]["previousProof"], "urn:uuid:first");
    assert_eq!(
        outcomes(&chained),
        [
            Ok(notary.vm.clone()),
            Ok(issuer.vm.clone()),
            Ok(notary.vm.clone())
        ]
    );

    // The link vouches for the proof it names: changing that proof breaks both.
    let mut tampered = chained.clone();
    tampered["proof"][1]["created"] = "2026-03-02T12:00:00Z".into();
    let got = outcomes(&tampered);
    assert_eq!(got[1], Err("signature_mismatch"));
    assert_eq!(got[2], Err("signature_mismatch"));
    // ...but not the member it does not name.
    assert_eq!(got[0], Ok(notary.vm.clone()));

    // A link whose previous proof was taken out names nothing.
    let mut cut = chained.clone();
    cut["proof"].as_array_mut().unwrap().remove(1);
    assert_eq!(outcomes(&cut)[1], Err("unknown_previous_proof"));
}

#[test]
fn malformed_sets_and_links_are_named() {
    assert!(matches!(
        members(&json!({"proof": []})),
        Err(ProofError::EmptyProofSet)
    ));
    assert!(matches!(
        members(&json!({"a": 1})),
        Err(ProofError::MissingProof)
    ));
    let many = vec![json!({}); MAX_PROOFS + 1];
    assert!(matches!(
        members(&json!({ "proof": many })),
        Err(ProofError::TooManyProofs(33))
    ));
    assert_eq!(
        members(&json!({ "proof": vec![json!({}); MAX_PROOFS] }))
            .unwrap()
            .len(),
        MAX_PROOFS
    );
    assert!(matches!(
        members(&json!({"proof": "z1"})),
        Err(ProofError::ProofNotObject)
    ));
    let key = signer();
    assert!(matches!(
        add_proof(
            json!(null),
            &options(&key),
            &SetOptions::default(),
            &key.key
        ),
        Err(ProofError::DocumentNotObject)
    ));
    assert!(matches!(
        add_proof(
            credential(),
            &options(&key),
            &SetOptions::default(),
            &key.key
        ),
        Err(ProofError::MissingProof)
    ));
    let proof = |extra: Value| {
        let mut p = json!({"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022",
            "verificationMethod": "did:key:z6Mk#z6Mk", "proofPurpose": "assertionMethod",
            "proofValue": "z1"});
        p.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        p
    };
    let doc = json!({"proof": [
        proof(json!({"id": "urn:a"})),
        proof(json!({"id": "urn:a"})),
        proof(json!({"previousProof": "urn:a"})),
        proof(json!({"id": "urn:b", "previousProof": ["urn:b"]})),
        proof(json!({"previousProof": []})),
        proof(json!({"previousProof": 3})),
        "not a proof",
    ]});
    let codes: Vec<_> = members(&doc)
        .unwrap()
        .into_iter()
        .skip(2)
        .map(|m| m.proof.unwrap_err().code())
        .collect();
    assert_eq!(
        codes,
        [
            "ambiguous_previous_proof",
            "self_referencing_proof",
            "invalid_previous_proof",
            "invalid_previous_proof",
            "proof_not_object",
        ]
    );
}
