//! The verification logic over in-memory sources: keys and lists made here, signed for real.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{Duration, Utc};
use reetrace_core::crypto::{
    ProofOptions, SigningKey, data_integrity, did_key, did_key_verification_method,
    generate_signing_key, proof_set, public_key_multibase,
};
use serde_json::{Value, json};

use super::*;

const WEB: &str = "did:web:passports.example:orgs:0196a6f2-0000-7000-8000-000000000001";
const LIST_URL: &str = "https://passports.example/status-lists/L1";

#[derive(Default)]
struct Sources {
    dids: HashMap<String, DidKeys>,
    lists: Mutex<HashMap<String, Value>>,
    offline: bool,
    resolved: AtomicUsize,
    fetched: AtomicUsize,
}

#[async_trait]
impl DidResolver for Sources {
    async fn resolve(&self, did: &str) -> Result<DidKeys, String> {
        self.resolved.fetch_add(1, Ordering::SeqCst);
        self.dids
            .get(did)
            .cloned()
            .ok_or_else(|| format!("unknown {did}"))
    }
}

#[async_trait]
impl StatusListSource for Sources {
    async fn status_list(&self, url: &str) -> Result<Option<Value>, String> {
        if self.offline {
            return Ok(None);
        }
        self.fetched.fetch_add(1, Ordering::SeqCst);
        let lists = self.lists.lock().unwrap();
        lists
            .get(url)
            .cloned()
            .map(Some)
            .ok_or_else(|| format!("no list {url}"))
    }
}

async fn check(sources: &Sources, cache: &VerifyCache, credential: &Value) -> VerificationResult {
    CredentialVerifier {
        resolver: sources,
        status: sources,
        cache,
    }
    .verify(credential, Utc::now())
    .await
}

fn method(key: &SigningKey) -> String {
    format!("{WEB}#{}", public_key_multibase(&key.verifying_key()))
}

fn web_sources(key: &SigningKey) -> Sources {
    let mut sources = Sources::default();
    sources.dids.insert(
        WEB.into(),
        DidKeys::new(WEB, vec![(method(key), key.verifying_key())]),
    );
    sources
}

fn sign(document: Value, method: &str, key: &SigningKey) -> Value {
    data_integrity::sign(document, &ProofOptions::assertion(method, Utc::now()), key).unwrap()
}

fn credential(issuer: &str, status: Option<Value>) -> Value {
    let mut c = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "DigitalProductPassport"],
        "issuer": issuer,
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "urn:x", "ree_content": {"total_mass_g": 510}},
    });
    if let Some(status) = status {
        c["credentialStatus"] = status;
    }
    c
}

fn entry(purpose: &str, index: usize) -> Value {
    let mut e = json!({
        "id": format!("{LIST_URL}#{index}"),
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": index.to_string(),
        "statusListCredential": LIST_URL,
    });
    if purpose == "message" {
        e["statusSize"] = json!(1);
        e["statusMessage"] = json!([
            {"status": "0x0", "message": "current"},
            {"status": "0x1", "message": "superseded"},
        ]);
    }
    e
}

fn list(purpose: &str, set: &[usize], issuer: &str, key: &SigningKey, method: &str) -> Value {
    let mut bits = StatusList::new();
    for &i in set {
        bits.set(i, true).unwrap();
    }
    sign(
        json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": LIST_URL,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": issuer,
            "validFrom": "2026-01-01T00:00:00Z",
            "credentialSubject": {"id": format!("{LIST_URL}#list"), "type": "BitstringStatusList",
                "statusPurpose": purpose, "encodedList": bits.encode().unwrap()},
        }),
        method,
        key,
    )
}

fn messages(findings: &[Finding]) -> Vec<(&str, &str)> {
    findings
        .iter()
        .map(|f| (f.check.as_str(), f.message.as_str()))
        .collect()
}

#[tokio::test]
async fn a_did_key_credential_verifies_and_any_change_breaks_it() {
    let key = generate_signing_key().unwrap();
    let did = did_key(&key.verifying_key());
    let signed = sign(
        credential(&did, None),
        &did_key_verification_method(&key.verifying_key()),
        &key,
    );
    let (sources, cache) = (Sources::default(), VerifyCache::default());
    let result = check(&sources, &cache, &signed).await;
    assert!(result.verified, "{result:?}");
    assert_eq!(result.checks, ["proof", "issuer", "validity"]);
    assert!(result.warnings.is_empty());
    assert_eq!(
        sources.resolved.load(Ordering::SeqCst),
        0,
        "did:key needs no resolver"
    );

    let mut tampered = signed.clone();
    tampered["credentialSubject"]["ree_content"]["total_mass_g"] = json!(511);
    let result = check(&sources, &cache, &tampered).await;
    assert!(!result.verified);
    assert_eq!(
        messages(&result.errors),
        [("proof", "signature does not match")]
    );
}

#[tokio::test]
async fn the_official_vector_signature_holds_but_its_issuer_is_not_the_key() {
    let vector: Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/vc/eddsa-jcs-2022/signedJCS.json"
    )))
    .unwrap();
    let result = check(&Sources::default(), &VerifyCache::default(), &vector).await;
    // The W3C vector signs with a did:key but names an https issuer: the signature is good,
    // the binding of key to issuer is not there.
    assert!(result.checks.contains(&"proof".to_owned()), "{result:?}");
    assert!(!result.verified);
    assert_eq!(result.errors.len(), 1);
    assert_eq!(result.errors[0].check, "issuer");
    assert!(
        result.errors[0]
            .message
            .contains("not by the issuer https://vc.example/issuers/5678")
    );
}

#[tokio::test]
async fn did_web_keys_must_be_assertion_methods_of_the_issuer() {
    let key = generate_signing_key().unwrap();
    let sources = web_sources(&key);
    let cache = VerifyCache::default();
    let signed = sign(credential(WEB, None), &method(&key), &key);
    assert!(check(&sources, &cache, &signed).await.verified);
    assert!(check(&sources, &cache, &signed).await.verified);
    assert_eq!(
        sources.resolved.load(Ordering::SeqCst),
        1,
        "the DID's keys are cached"
    );

    // Another key signs, claiming the same issuer: its method is not in the document.
    let other = generate_signing_key().unwrap();
    let forged = sign(credential(WEB, None), &method(&other), &other);
    let result = check(&sources, &cache, &forged).await;
    assert!(!result.verified);
    assert_eq!(result.errors[1].check, "issuer");
    assert!(
        result.errors[1]
            .message
            .contains("is not an assertion method")
    );

    // A valid did:key signature does not make a did:web issuer.
    let by_key = sign(
        credential(WEB, None),
        &did_key_verification_method(&other.verifying_key()),
        &other,
    );
    let result = check(&sources, &cache, &by_key).await;
    assert_eq!(result.checks, ["proof", "validity"]);
    assert_eq!(result.errors[0].check, "issuer");
    assert!(result.errors[0].message.contains("not by the issuer"));

    let unknown = "did:web:elsewhere.example";
    let result = check(
        &sources,
        &cache,
        &sign(credential(unknown, None), &format!("{unknown}#k"), &key),
    )
    .await;
    assert_eq!(
        messages(&result.errors),
        [
            (
                "proof",
                "the signature could not be checked without the issuer's key"
            ),
            ("issuer", "unknown did:web:elsewhere.example"),
        ]
    );
}

#[tokio::test]
async fn status_bits_revoke_suspend_or_warn() {
    let key = generate_signing_key().unwrap();
    let sources = web_sources(&key);
    let cache = VerifyCache::default();
    let m = method(&key);
    let cases = [
        ("revocation", Err("revoked")),
        ("suspension", Err("suspended")),
        ("message", Ok("superseded by a newer version")),
    ];
    for (purpose, expected) in cases {
        cache.forget_status_lists();
        sources
            .lists
            .lock()
            .unwrap()
            .insert(LIST_URL.into(), list(purpose, &[7], WEB, &key, &m));
        let set = sign(credential(WEB, Some(json!([entry(purpose, 7)]))), &m, &key);
        let clear = sign(credential(WEB, Some(entry(purpose, 8))), &m, &key);
        let result = check(&sources, &cache, &clear).await;
        assert!(result.verified, "{purpose}: {result:?}");
        assert_eq!(result.checks.last().unwrap(), "status");
        assert!(result.warnings.is_empty());
        let result = check(&sources, &cache, &set).await;
        match expected {
            Err(message) => {
                assert!(!result.verified);
                assert_eq!(messages(&result.errors), [("status", message)]);
            }
            Ok(message) => {
                assert!(result.verified, "{result:?}");
                assert_eq!(messages(&result.warnings), [("status", message)]);
            }
        }
    }
    assert_eq!(
        sources.fetched.load(Ordering::SeqCst),
        3,
        "one fetch per list until it is forgotten"
    );
}

#[tokio::test]
async fn a_status_list_must_be_the_issuers_own_and_of_the_right_purpose() {
    let key = generate_signing_key().unwrap();
    let sources = web_sources(&key);
    let m = method(&key);
    let signed = sign(credential(WEB, Some(entry("revocation", 3))), &m, &key);

    sources
        .lists
        .lock()
        .unwrap()
        .insert(LIST_URL.into(), list("suspension", &[], WEB, &key, &m));
    let result = check(&sources, &VerifyCache::default(), &signed).await;
    assert!(
        result.errors[0]
            .message
            .contains("is not a revocation list")
    );

    // A list someone else signed (with a did:key) cannot clear the issuer's credential.
    let mallory = generate_signing_key().unwrap();
    let mallory_did = did_key(&mallory.verifying_key());
    let mallory_method = did_key_verification_method(&mallory.verifying_key());
    sources.lists.lock().unwrap().insert(
        LIST_URL.into(),
        list("revocation", &[], &mallory_did, &mallory, &mallory_method),
    );
    let result = check(&sources, &VerifyCache::default(), &signed).await;
    assert!(!result.verified);
    assert!(
        result.errors[0]
            .message
            .contains("not by the credential's issuer")
    );

    // A tampered list does not verify.
    let mut tampered = list("revocation", &[3], WEB, &key, &m);
    tampered["credentialSubject"]["encodedList"] = json!(StatusList::new().encode().unwrap());
    sources
        .lists
        .lock()
        .unwrap()
        .insert(LIST_URL.into(), tampered);
    let result = check(&sources, &VerifyCache::default(), &signed).await;
    assert!(!result.verified);
    assert!(
        result.errors[0]
            .message
            .contains("does not verify: signature does not match")
    );
}

#[tokio::test]
async fn offline_status_is_a_warning_not_a_silence() {
    let key = generate_signing_key().unwrap();
    let mut sources = web_sources(&key);
    sources.offline = true;
    let m = method(&key);
    let signed = sign(
        credential(
            WEB,
            Some(json!([entry("revocation", 1), entry("message", 1)])),
        ),
        &m,
        &key,
    );
    let result = check(&sources, &VerifyCache::default(), &signed).await;
    assert!(result.verified);
    assert!(!result.checks.contains(&"status".to_owned()));
    assert_eq!(result.warnings.len(), 2);
    assert!(
        result.warnings[0]
            .message
            .starts_with("revocation status not checked")
    );
}

#[tokio::test]
async fn the_validity_period_is_checked() {
    let key = generate_signing_key().unwrap();
    let did = did_key(&key.verifying_key());
    let vm = did_key_verification_method(&key.verifying_key());
    let stamp = |d: chrono::DateTime<Utc>| d.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut future = credential(&did, None);
    future["validFrom"] = json!(stamp(Utc::now() + Duration::hours(1)));
    let mut expired = credential(&did, None);
    expired["validUntil"] = json!(stamp(Utc::now() - Duration::hours(1)));
    let mut garbled = credential(&did, None);
    garbled["validFrom"] = json!("next tuesday");
    let (sources, cache) = (Sources::default(), VerifyCache::default());
    for (document, expected) in [
        (future, "not valid before"),
        (expired, "expired at"),
        (garbled, "is not an XML Schema dateTimeStamp"),
    ] {
        let result = check(&sources, &cache, &sign(document, &vm, &key)).await;
        assert!(!result.verified);
        assert_eq!(result.errors[0].check, "validity");
        assert!(result.errors[0].message.contains(expected), "{result:?}");
    }
}

#[tokio::test]
async fn garbage_is_reported_never_panicked() {
    let key = generate_signing_key().unwrap();
    let vm = did_key_verification_method(&key.verifying_key());
    let signed = sign(credential(&did_key(&key.verifying_key()), None), &vm, &key);
    let mut proof_set = signed.clone();
    proof_set["proof"] = json!([]);
    let mut other_purpose = signed.clone();
    other_purpose["proof"]["proofPurpose"] = json!("authentication");
    let mut bad_value = signed.clone();
    bad_value["proof"]["proofValue"] = json!("not base58");
    let (sources, cache) = (Sources::default(), VerifyCache::default());
    for (document, expected) in [
        (json!("a string"), "not a JSON object"),
        (json!([1, 2]), "not a JSON object"),
        (json!({"issuer": "did:x"}), "has no proof"),
        (proof_set, "`proof` is an empty list"),
        (other_purpose, "proof purpose is `authentication`"),
        (bad_value, "invalid proofValue"),
    ] {
        let result = check(&sources, &cache, &document).await;
        assert!(!result.verified);
        assert_eq!(result.errors[0].check, "proof");
        assert!(result.errors[0].message.contains(expected), "{result:?}");
    }
}

#[test]
fn did_documents_yield_only_their_asserting_ed25519_keys() {
    let key = generate_signing_key().unwrap();
    let old = generate_signing_key().unwrap();
    let mb = public_key_multibase(&key.verifying_key());
    let old_mb = public_key_multibase(&old.verifying_key());
    let did = "did:web:issuer.example";
    let document = json!({
        "id": did,
        "verificationMethod": [
            {"id": format!("#{mb}"), "type": "Multikey", "controller": did, "publicKeyMultibase": mb},
            {"id": format!("{did}#{old_mb}"), "type": "Multikey", "controller": did, "publicKeyMultibase": old_mb},
            {"id": format!("{did}#x"), "type": "Multikey", "controller": "did:web:other.example", "publicKeyMultibase": mb},
        ],
        "assertionMethod": [format!("#{mb}"), format!("{did}#x")],
    });
    let keys = DidKeys::from_document(did, &document).unwrap();
    assert_eq!(keys.get(&format!("{did}#{mb}")), Some(key.verifying_key()));
    assert_eq!(
        keys.get(&format!("{did}#{old_mb}")),
        None,
        "listed, not asserting"
    );
    assert_eq!(
        keys.get(&format!("{did}#x")),
        None,
        "controlled by another DID"
    );
    assert!(DidKeys::from_document("did:web:other.example", &document).is_err());
    assert!(DidKeys::from_document(did, &json!([])).is_err());
}

#[test]
fn did_documents_may_state_keys_as_json_web_keys() {
    use base64::Engine;
    let key = generate_signing_key().unwrap();
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes());
    let did = "did:web:issuer.example";
    let document = json!({
        "id": did,
        "verificationMethod": [
            {"id": "#jwk", "type": "JsonWebKey", "controller": did,
             "publicKeyJwk": {"kty": "OKP", "crv": "Ed25519", "x": x}},
            {"id": "#p256", "type": "JsonWebKey", "controller": did,
             "publicKeyJwk": {"kty": "EC", "crv": "P-256", "x": x, "y": x}},
            {"id": "#leaky", "type": "JsonWebKey2020", "controller": did,
             "publicKeyJwk": {"kty": "OKP", "crv": "Ed25519", "x": x, "d": x}},
        ],
        "assertionMethod": ["#jwk", "#p256", "#leaky", {"id": format!("{did}#embedded"),
            "type": "JsonWebKey2020", "controller": did,
            "publicKeyJwk": {"kty": "OKP", "crv": "Ed25519", "x": x}}],
    });
    let keys = DidKeys::from_document(did, &document).unwrap();
    assert_eq!(keys.get(&format!("{did}#jwk")), Some(key.verifying_key()));
    assert_eq!(
        keys.get(&format!("{did}#embedded")),
        Some(key.verifying_key())
    );
    assert_eq!(keys.get(&format!("{did}#p256")), None, "not an Ed25519 key");
    assert_eq!(
        keys.get(&format!("{did}#leaky")),
        None,
        "publishes its private key"
    );
}

#[test]
fn wide_status_entries_read_most_significant_bit_first() {
    let mut bits = StatusList::new();
    bits.set(6, true).unwrap(); // entry 3 of size 2 covers bits 6 and 7
    assert_eq!(read_entry(&bits, 3, 2), Some(0b10));
    assert_eq!(read_entry(&bits, 6, 1), Some(1));
    assert_eq!(read_entry(&bits, 131_072, 1), None);
    assert_eq!(read_entry(&bits, u64::MAX, 2), None);
}

/// Adds a did:key proof by `key` to `secured` (a set member, or a chain link naming `previous`).
fn countersign(secured: Value, key: &SigningKey, id: Option<&str>, previous: &[&str]) -> Value {
    let vm = did_key_verification_method(&key.verifying_key());
    proof_set::add_proof(
        secured,
        &ProofOptions::assertion(&vm, Utc::now()),
        &proof_set::SetOptions {
            id,
            previous_proof: previous,
        },
        key,
    )
    .unwrap()
}

#[tokio::test]
async fn a_countersigned_credential_verifies_with_both_proofs_listed() {
    let (issuer, witness) = (
        generate_signing_key().unwrap(),
        generate_signing_key().unwrap(),
    );
    let sources = web_sources(&issuer);
    let signed = sign(credential(WEB, None), &method(&issuer), &issuer);
    let single = check(&sources, &VerifyCache::default(), &signed).await;
    assert!(single.verified, "{single:?}");
    assert_eq!(single.proofs.len(), 1);
    assert!(single.proofs[0].issuer && single.proofs[0].valid);

    let set = countersign(signed, &witness, None, &[]);
    let result = check(&sources, &VerifyCache::default(), &set).await;
    assert!(result.verified, "{result:?}");
    assert_eq!(result.checks, ["proof", "issuer", "validity"]);
    let witness_vm = did_key_verification_method(&witness.verifying_key());
    let listed: Vec<_> = result
        .proofs
        .iter()
        .map(|p| (p.verification_method.clone().unwrap(), p.issuer, p.valid))
        .collect();
    assert_eq!(
        listed,
        [(method(&issuer), true, true), (witness_vm, false, true)]
    );
}

#[tokio::test]
async fn a_set_fails_on_a_forged_proof_or_without_the_issuer() {
    let (issuer, witness) = (
        generate_signing_key().unwrap(),
        generate_signing_key().unwrap(),
    );
    let sources = web_sources(&issuer);
    let signed = sign(credential(WEB, None), &method(&issuer), &issuer);
    let mut forged = countersign(signed.clone(), &witness, None, &[]);
    let forger = did_key_verification_method(&generate_signing_key().unwrap().verifying_key());
    forged["proof"][1]["verificationMethod"] = json!(forger);
    let result = check(&sources, &VerifyCache::default(), &forged).await;
    assert!(!result.verified);
    assert_eq!(
        messages(&result.errors),
        [(
            "proof",
            format!("proof 2 of 2 ({forger}): signature does not match").as_str()
        )]
    );
    assert_eq!(result.checks, ["issuer", "validity"]);
    assert!(result.proofs[0].valid && !result.proofs[1].valid);

    // Two valid proofs, neither by the issuer.
    let mut strangers = sign(
        credential(WEB, None),
        &did_key_verification_method(&witness.verifying_key()),
        &witness,
    );
    strangers = countersign(strangers, &generate_signing_key().unwrap(), None, &[]);
    let result = check(&sources, &VerifyCache::default(), &strangers).await;
    assert!(!result.verified);
    assert_eq!(
        messages(&result.errors),
        [(
            "issuer",
            format!("none of the 2 proofs is a valid proof by the issuer {WEB}").as_str()
        )]
    );
    assert!(result.proofs.iter().all(|p| p.valid && !p.issuer));
}

#[tokio::test]
async fn a_proof_chain_verifies_link_by_link() {
    let (issuer, notary) = (
        generate_signing_key().unwrap(),
        generate_signing_key().unwrap(),
    );
    let sources = web_sources(&issuer);
    // The notary signs, the issuer adds its proof with an id, the notary chains to it.
    let notary_vm = did_key_verification_method(&notary.verifying_key());
    let base = sign(credential(WEB, None), &notary_vm, &notary);
    let with_issuer = proof_set::add_proof(
        base,
        &ProofOptions::assertion(&method(&issuer), Utc::now()),
        &proof_set::SetOptions {
            id: Some("urn:uuid:issuer-proof"),
            previous_proof: &[],
        },
        &issuer,
    )
    .unwrap();
    let chained = countersign(with_issuer, &notary, None, &["urn:uuid:issuer-proof"]);
    let result = check(&sources, &VerifyCache::default(), &chained).await;
    assert!(result.verified, "{result:?}");
    assert_eq!(result.proofs.len(), 3);
    assert_eq!(
        result.proofs[1].id.as_deref(),
        Some("urn:uuid:issuer-proof")
    );
    assert_eq!(result.proofs[2].previous_proof, ["urn:uuid:issuer-proof"]);

    // Changing the issuer's proof breaks it and the link that vouches for it.
    let mut broken = chained.clone();
    broken["proof"][1]["created"] = json!("2020-01-01T00:00:00Z");
    let result = check(&sources, &VerifyCache::default(), &broken).await;
    assert!(!result.verified);
    let failed: Vec<_> = result
        .errors
        .iter()
        .map(|f| (f.check.as_str(), f.message.split(" (").next().unwrap()))
        .collect();
    assert_eq!(
        failed,
        [
            ("proof", "proof 2 of 3"),
            ("proof", "proof 3 of 3"),
            (
                "issuer",
                "none of the 3 proofs is a valid proof by the issuer did:web:passports.example:orgs:0196a6f2-0000-7000-8000-000000000001"
            )
        ]
    );
}
