//! `/credentials/verify` on proof sets and chains (W3C VC Data Integrity 1.0, "Proof Sets",
//! "Proof Chains"): a passport countersigned by a second key verifies and lists both proofs; a
//! forged member, or a set without the issuer's proof, fails and says which.

use reetrace_core::crypto::proof_set::{self, SetOptions};
use reetrace_core::crypto::{
    ProofOptions, SigningKey, data_integrity, did_key_verification_method, generate_signing_key,
};
use serde_json::{Value, json};

use crate::api_test;
use crate::credentials::{assert_refused, verify};
use crate::helpers::TestApp;
use crate::passports::motor;

/// `secured` with one more proof, by `key` as a did:key (chained to `previous` when not empty).
fn add(secured: Value, key: &SigningKey, id: Option<&str>, previous: &[&str]) -> Value {
    let method = did_key_verification_method(&key.verifying_key());
    proof_set::add_proof(
        secured,
        &ProofOptions::assertion(&method, reetrace_core::domain::account::now()),
        &SetOptions {
            id,
            previous_proof: previous,
        },
        key,
    )
    .unwrap()
}

api_test!(
    a_countersigned_passport_verifies_and_lists_both_proofs,
    |app: TestApp| async move {
        let (_, owner) = app.create_org("Acme Motors", "manufacturer").await;
        let credential = app.register(&owner, &motor("EVM-1")).await["credential"].clone();
        let issuer_method = credential["proof"]["verificationMethod"].clone();

        // The single-proof answer keeps its shape and gains the list of proofs.
        let (status, single) = verify(&app, &credential).await;
        assert_eq!(status, 200, "{single}");
        assert_eq!(
            single["checks"],
            json!(["proof", "issuer", "validity", "status"])
        );
        assert_eq!(single["errors"], json!([]));
        assert_eq!(
            single["proofs"],
            json!([{"verificationMethod": issuer_method, "cryptosuite": "eddsa-jcs-2022",
                    "issuer": true, "valid": true}])
        );

        let witness = generate_signing_key().unwrap();
        let witness_method = did_key_verification_method(&witness.verifying_key());
        let countersigned = add(credential.clone(), &witness, None, &[]);
        let (status, result) = verify(&app, &countersigned).await;
        assert_eq!(status, 200, "{result}");
        assert_eq!(result["verified"], true);
        assert_eq!(
            result["checks"],
            json!(["proof", "issuer", "validity", "status"])
        );
        assert_eq!(
            result["proofs"],
            json!([
                {"verificationMethod": issuer_method, "cryptosuite": "eddsa-jcs-2022",
                 "issuer": true, "valid": true},
                {"verificationMethod": witness_method, "cryptosuite": "eddsa-jcs-2022",
                 "issuer": false, "valid": true},
            ])
        );

        // A notary's proof chained to the witness's: it signed the witness's proof too.
        let named = add(credential.clone(), &witness, Some("urn:uuid:witness"), &[]);
        let notary = generate_signing_key().unwrap();
        let chained = add(named, &notary, None, &["urn:uuid:witness"]);
        let (status, result) = verify(&app, &chained).await;
        assert_eq!(status, 200, "{result}");
        assert_eq!(result["proofs"][1]["id"], "urn:uuid:witness");
        assert_eq!(
            result["proofs"][2]["previousProof"],
            json!(["urn:uuid:witness"])
        );
        let mut relinked = chained.clone();
        relinked["proof"][1]["created"] = json!("2020-01-01T00:00:00Z");
        let errors = assert_refused(&app, &relinked).await;
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].1.starts_with("proof 2 of 3"), "{errors:?}");
        assert!(errors[1].1.starts_with("proof 3 of 3"), "{errors:?}");
    }
);

api_test!(
    a_set_with_a_forged_proof_fails_naming_it,
    |app: TestApp| async move {
        let (_, owner) = app.create_org("Acme Motors", "manufacturer").await;
        let credential = app.register(&owner, &motor("EVM-1")).await["credential"].clone();
        let witness = generate_signing_key().unwrap();
        let mut forged = add(credential, &witness, None, &[]);
        // The countersignature claims a key that did not make it.
        let forger = did_key_verification_method(&generate_signing_key().unwrap().verifying_key());
        forged["proof"][1]["verificationMethod"] = json!(forger);
        let (status, result) = verify(&app, &forged).await;
        assert_eq!(status, 400, "{result}");
        assert_eq!(result["verified"], false);
        assert_eq!(result["checks"], json!(["issuer", "validity"]));
        assert_eq!(
            result["errors"],
            json!([{"check": "proof",
                    "message": format!("proof 2 of 2 ({forger}): signature does not match")}])
        );
        assert_eq!(result["proofs"][0]["valid"], true);
        assert_eq!(result["proofs"][1]["valid"], false);
        assert_eq!(result["proofs"][1]["error"], "signature does not match");
    }
);

api_test!(
    a_set_without_the_issuers_proof_fails,
    |app: TestApp| async move {
        let (_, owner) = app.create_org("Acme Motors", "manufacturer").await;
        let credential = app.register(&owner, &motor("EVM-1")).await["credential"].clone();
        // The issuer's proof taken out, two valid proofs by strangers put in.
        let mut unsigned = credential.clone();
        unsigned.as_object_mut().unwrap().remove("proof");
        let first = generate_signing_key().unwrap();
        let signed = data_integrity::sign(
            unsigned,
            &ProofOptions::assertion(
                &did_key_verification_method(&first.verifying_key()),
                reetrace_core::domain::account::now(),
            ),
            &first,
        )
        .unwrap();
        let strangers = add(signed, &generate_signing_key().unwrap(), None, &[]);
        let errors = assert_refused(&app, &strangers).await;
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].0, "issuer");
        assert!(
            errors[0]
                .1
                .starts_with("none of the 2 proofs is a valid proof by the issuer did:web:"),
            "{errors:?}"
        );
    }
);
