//! VC-API: `/credentials/verify` on passports (signature, issuer, status) and on bad input;
//! `/credentials/issue` of generic credentials, as did:web and as did:key.

use reetrace_core::crypto::{
    ProofOptions, SigningKey, data_integrity, did_key_verification_method, generate_signing_key,
    public_key_multibase,
};
use reetrace_core::db::Backend;
use serde_json::{Value, json};

use crate::api_test;
use crate::helpers::{TestApp, assert_problem, spawn_app_with};
use crate::passports::motor;

/// Verifies through the API; returns (HTTP status, result).
pub async fn verify(app: &TestApp, credential: &Value) -> (u16, Value) {
    let response = app
        .post("/credentials/verify")
        .json(&json!({"verifiableCredential": credential}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert_eq!(response.headers()["content-type"], "application/json");
    (status, response.json().await.unwrap())
}

/// Asserts a 200 verified answer with these checks; returns the warnings.
async fn assert_verified(app: &TestApp, credential: &Value, checks: &[&str]) -> Vec<Value> {
    let (status, result) = verify(app, credential).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["verified"], true);
    assert_eq!(result["checks"], json!(checks));
    assert_eq!(result["errors"], json!([]));
    result["warnings"].as_array().unwrap().clone()
}

/// Asserts a 400 not-verified answer; returns its errors as (check, message).
pub async fn assert_refused(app: &TestApp, credential: &Value) -> Vec<(String, String)> {
    let (status, result) = verify(app, credential).await;
    assert_eq!(status, 400, "{result}");
    assert_eq!(result["verified"], false);
    result["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["check"].as_str().unwrap().to_owned(),
                e["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

const ALL_CHECKS: [&str; 4] = ["proof", "issuer", "validity", "status"];

/// Every string and number inside `value`, as JSON pointers.
fn leaves(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => map
            .iter()
            .for_each(|(k, v)| leaves(v, format!("{at}/{k}"), out)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| leaves(v, format!("{at}/{i}"), out)),
        Value::String(_) | Value::Number(_) => out.push(at),
        _ => {}
    }
}

/// Changes one byte of the leaf: the last character of a string, the last digit of a number.
fn flip(value: &mut Value) {
    let changed = match &*value {
        Value::String(s) => {
            let mut s = s.clone();
            let last = s.pop().unwrap_or('x');
            s.push(if last == 'A' { 'B' } else { 'A' });
            Value::String(s)
        }
        // (A zero becomes 1: "01" is no JSON number.)
        Value::Number(n) if n.as_u64() == Some(0) => json!(1),
        Value::Number(n) => serde_json::from_str(&format!("{n}1")).unwrap(),
        other => other.clone(),
    };
    *value = changed;
}

api_test!(
    an_issued_passport_verifies_and_any_changed_byte_of_its_subject_fails,
    |app: TestApp| async move {
        let (_, owner) = app.create_org("Acme Motors", "manufacturer").await;
        let credential = app.register(&owner, &motor("EVM-1")).await["credential"].clone();
        let warnings = assert_verified(&app, &credential, &ALL_CHECKS).await;
        assert!(warnings.is_empty());

        let mut pointers = Vec::new();
        leaves(
            &credential["credentialSubject"],
            "/credentialSubject".into(),
            &mut pointers,
        );
        assert!(pointers.len() > 20, "a real subject: {pointers:?}");
        for pointer in pointers {
            let mut tampered = credential.clone();
            flip(tampered.pointer_mut(&pointer).unwrap());
            let errors = assert_refused(&app, &tampered).await;
            assert_eq!(
                errors,
                [("proof".to_owned(), "signature does not match".to_owned())],
                "after changing {pointer}"
            );
        }
    }
);

api_test!(
    status_changes_show_at_once_revoked_suspended_superseded,
    |app: TestApp| async move {
        let (_, owner) = app.create_org("Acme Motors", "manufacturer").await;
        let first = app.register(&owner, &motor("EVM-1")).await;
        let id = first["id"].as_str().unwrap();
        let v1 = first["credential"].clone();
        assert_verified(&app, &v1, &ALL_CHECKS).await;

        let post = |action: &str| {
            app.post(&format!("/api/v1/passports/{id}/{action}"))
                .bearer_auth(&owner)
                .send()
        };
        assert_eq!(post("suspend").await.unwrap().status(), 200);
        let errors = assert_refused(&app, &v1).await;
        assert_eq!(errors, [("status".to_owned(), "suspended".to_owned())]);
        assert_eq!(post("reinstate").await.unwrap().status(), 200);
        assert_verified(&app, &v1, &ALL_CHECKS).await;

        let mut changed = motor("EVM-1");
        changed["product"]["net_mass_g"] = json!(47500);
        let response = app
            .put(&format!("/api/v1/passports/{id}"))
            .bearer_auth(&owner)
            .json(&changed)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let v2 = response.json::<Value>().await.unwrap()["credential"].clone();
        let warnings = assert_verified(&app, &v1, &ALL_CHECKS).await;
        assert_eq!(
            warnings,
            [json!({"check": "status", "message": "superseded by a newer version"})]
        );
        assert!(assert_verified(&app, &v2, &ALL_CHECKS).await.is_empty());

        assert_eq!(post("revoke").await.unwrap().status(), 200);
        for credential in [&v1, &v2] {
            let errors = assert_refused(&app, credential).await;
            assert_eq!(errors, [("status".to_owned(), "revoked".to_owned())]);
        }
    }
);

fn sign(document: Value, method: &str, key: &SigningKey) -> Value {
    data_integrity::sign(
        document,
        &ProofOptions::assertion(method, reetrace_core::domain::account::now()),
        key,
    )
    .unwrap()
}

fn unsigned(issuer: &str) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "DigitalProductPassport"],
        "issuer": issuer,
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "urn:uuid:0196a6f2-5a1b-7cc3-9a53-5b0f5b1c9e21"},
    })
}

api_test!(
    a_key_that_is_not_the_issuers_does_not_verify,
    |app: TestApp| async move {
        let (org_id, _) = app.create_org("Acme Motors", "manufacturer").await;
        let acme = format!(
            "did:web:{}:orgs:{org_id}",
            app.address
                .trim_start_matches("http://")
                .replace(':', "%3A")
        );
        let mallory = generate_signing_key().unwrap();

        // Claims Acme, signed (validly) with someone's did:key: the key's controller is not
        // the issuer.
        let by_did_key = sign(
            unsigned(&acme),
            &did_key_verification_method(&mallory.verifying_key()),
            &mallory,
        );
        let (status, result) = verify(&app, &by_did_key).await;
        assert_eq!(status, 400);
        assert_eq!(result["checks"], json!(["proof", "validity"]));
        assert_eq!(result["errors"][0]["check"], "issuer");
        assert!(
            result["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("is controlled by did:key:")
        );
        // The proof itself is sound; its key is not the issuer's.
        assert_eq!(result["proofs"][0]["valid"], true);
        assert_eq!(result["proofs"][0]["issuer"], false);

        // Claims Acme with a key under Acme's DID that Acme's DID document does not list.
        let mb = public_key_multibase(&mallory.verifying_key());
        let forged = sign(unsigned(&acme), &format!("{acme}#{mb}"), &mallory);
        let errors = assert_refused(&app, &forged).await;
        assert_eq!(errors[1].0, "issuer");
        assert!(
            errors[1].1.contains("is not an assertion method"),
            "{errors:?}"
        );
    }
);

api_test!(
    an_enveloped_jose_credential_verifies_and_a_tampered_one_does_not,
    |app: TestApp| async move {
        use reetrace_core::crypto::jose;
        let key = generate_signing_key().unwrap();
        let method = did_key_verification_method(&key.verifying_key());
        let issuer = method.split('#').next().unwrap().to_owned();
        let mut credential = unsigned(&issuer);
        credential["issuer"] = json!({"id": issuer, "name": "Acme Motors"});
        let token = jose::sign(&credential, &method, &key).unwrap();
        let envelope = |token: &str| {
            json!({"@context": "https://www.w3.org/ns/credentials/v2",
                   "type": "EnvelopedVerifiableCredential",
                   "id": format!("data:application/vc+jwt,{token}")})
        };
        assert_verified(&app, &envelope(&token), &["proof", "issuer", "validity"]).await;

        // Another payload under the same header and signature.
        let mut parts: Vec<&str> = token.split('.').collect();
        let mut changed = credential.clone();
        changed["validFrom"] = json!("2025-01-01T00:00:00Z");
        let payload = {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(reetrace_core::crypto::canonicalize(&changed).unwrap())
        };
        parts[1] = &payload;
        let errors = assert_refused(&app, &envelope(&parts.join("."))).await;
        assert_eq!(errors[0].0, "proof", "{errors:?}");

        // A kid under another DID than the issuer's.
        let mallory = generate_signing_key().unwrap();
        let other = did_key_verification_method(&mallory.verifying_key());
        let foreign = jose::sign(&credential, &other, &mallory).unwrap();
        let errors = assert_refused(&app, &envelope(&foreign)).await;
        assert_eq!(errors[0].0, "issuer", "{errors:?}");

        // An algorithm we do not accept, and an envelope without a vc+jwt data URL.
        let (status, result) = verify(&app, &envelope("eyJhbGciOiJub25lIn0.e30.")).await;
        assert_eq!(status, 400, "{result}");
        assert!(
            result["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("EdDSA")
        );
        let (status, result) = verify(
            &app,
            &json!({"type": "EnvelopedVerifiableCredential", "id": "data:text/plain,x"}),
        )
        .await;
        assert_eq!(status, 400, "{result}");
    }
);

api_test!(
    a_foreign_did_web_is_never_fetched_unless_allowlisted,
    |app: TestApp| async move {
        // A did:web whose host is a port we listen on: any fetch would show up as a connection.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let foreign = format!("did:web:127.0.0.1%3A{port}:orgs:{}", uuid::Uuid::now_v7());
        let key = generate_signing_key().unwrap();
        let mb = public_key_multibase(&key.verifying_key());
        let credential = sign(unsigned(&foreign), &format!("{foreign}#{mb}"), &key);
        let errors = assert_refused(&app, &credential).await;
        assert_eq!(errors[1].0, "issuer");
        assert!(
            errors[1]
                .1
                .starts_with("issuer not resolvable (host not on the allowlist)"),
            "{errors:?}"
        );
        let connected =
            tokio::time::timeout(std::time::Duration::from_millis(300), listener.accept()).await;
        assert!(
            connected.is_err(),
            "the verifier connected to a foreign host"
        );
    }
);

/// The other side of the allowlist (backend-independent, so SQLite only): a listed host is
/// fetched, over HTTPS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowlisted_did_web_host_is_fetched_over_https() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = spawn_app_with(Backend::Sqlite, |config| {
        config.did_web_allowlist = vec![format!("127.0.0.1:{port}")];
    })
    .await
    .unwrap();
    let foreign = format!("did:web:127.0.0.1%3A{port}:orgs:{}", uuid::Uuid::now_v7());
    let key = generate_signing_key().unwrap();
    let mb = public_key_multibase(&key.verifying_key());
    let credential = sign(unsigned(&foreign), &format!("{foreign}#{mb}"), &key);
    let (verdict, accepted) = tokio::join!(verify(&app, &credential), async {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut hello = [0u8; 5];
        tokio::io::AsyncReadExt::read_exact(&mut socket, &mut hello)
            .await
            .unwrap();
        hello
    });
    assert_eq!(
        accepted[0], 0x16,
        "a TLS handshake record: the fetch is HTTPS"
    );
    let (status, result) = verdict;
    assert_eq!(status, 400);
    assert!(
        result["errors"][1]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("cannot fetch https://127.0.0.1:{port}/orgs/")),
        "{result}"
    );
}

api_test!(
    bad_input_is_a_failed_verification_and_a_bad_request_a_problem,
    |app: TestApp| async move {
        let (_, owner) = app.create_org("Acme Motors", "manufacturer").await;
        let credential = app.register(&owner, &motor("EVM-1")).await["credential"].clone();
        let mut empty_set = credential.clone();
        empty_set["proof"] = json!([]);
        let mut no_proof = credential.clone();
        no_proof.as_object_mut().unwrap().remove("proof");
        for (input, reason) in [
            (json!("garbage"), "not a JSON object"),
            (json!(null), "not a JSON object"),
            (json!([credential.clone()]), "not a JSON object"),
            (json!({}), "has no proof"),
            (no_proof, "has no proof"),
            (empty_set, "`proof` is an empty list"),
            (
                json!({"proof": vec![json!({}); 33]}),
                "lists 33 proofs, more than the 32",
            ),
            (json!({"proof": "z123"}), "`proof` is not an object"),
            (
                json!({"proof": {"type": "DataIntegrityProof"}}),
                "`cryptosuite` is missing",
            ),
        ] {
            let errors = assert_refused(&app, &input).await;
            assert_eq!(errors[0].0, "proof");
            assert!(errors[0].1.contains(reason), "{input}: {errors:?}");
        }

        let send = |content_type: &'static str, body: &'static str| {
            app.post("/credentials/verify")
                .header("content-type", content_type)
                .body(body)
                .send()
        };
        assert_problem(
            send("application/json", "{\"verifiableCredential\": ")
                .await
                .unwrap(),
            400,
            "malformed_json",
        )
        .await;
        assert_problem(
            send("text/plain", "hello").await.unwrap(),
            415,
            "unsupported_media_type",
        )
        .await;
        let body = assert_problem(
            send("application/json", "{}").await.unwrap(),
            422,
            "validation_failed",
        )
        .await;
        assert!(
            body["errors"][0]["detail"]
                .as_str()
                .unwrap()
                .contains("verifiableCredential")
        );
        assert_problem(
            send(
                "application/json",
                "{\"verifiableCredential\": {}, \"options\": 3}",
            )
            .await
            .unwrap(),
            422,
            "validation_failed",
        )
        .await;
    }
);

/// Issues a generic credential as `key`; asserts 201 and returns it.
pub async fn issue(app: &TestApp, key: &str, body: &Value) -> Value {
    let response = app
        .post("/credentials/issue")
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{answer}");
    answer["verifiableCredential"].clone()
}

pub fn certificate() -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "MagnetRecoveryCertificate"],
        "credentialSubject": {"id": "urn:uuid:0196a6f2-5a1b-7cc3-9a53-5b0f5b1c9e21", "ndfeb_recovered_kg": 12.5},
    })
}

api_test!(
    generic_credentials_are_signed_as_did_web_or_did_key,
    |app: TestApp| async move {
        let (org_id, owner) = app.create_org("Acme Motors", "manufacturer").await;
        let web = issue(&app, &owner, &json!({"credential": certificate()})).await;
        let issuer = web["issuer"].as_str().unwrap();
        assert!(issuer.starts_with("did:web:") && issuer.ends_with(&org_id));
        assert!(
            web["proof"]["verificationMethod"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{issuer}#z6Mk"))
        );
        assert!(web["validFrom"].is_string());
        assert!(
            assert_verified(&app, &web, &["proof", "issuer", "validity"])
                .await
                .is_empty()
        );

        let body = json!({"credential": certificate(), "options": {"issuer": "did:key"}});
        let key = issue(&app, &owner, &body).await;
        let issuer = key["issuer"].as_str().unwrap();
        assert!(issuer.starts_with("did:key:z6Mk"), "{key}");
        let method = key["proof"]["verificationMethod"].as_str().unwrap();
        assert_eq!(
            method,
            format!("{issuer}#{}", issuer.trim_start_matches("did:key:"))
        );
        assert_eq!(
            method.split('#').nth(1),
            web["proof"]["verificationMethod"]
                .as_str()
                .unwrap()
                .split('#')
                .nth(1),
            "the same active key, expressed as did:key"
        );
        assert!(
            assert_verified(&app, &key, &["proof", "issuer", "validity"])
                .await
                .is_empty()
        );

        let listed: Value = app
            .get("/api/v1/passports")
            .bearer_auth(&owner)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            listed["items"],
            json!([]),
            "generic credentials are not passports"
        );
    }
);

api_test!(
    issuing_refuses_other_issuers_and_non_credentials,
    |app: TestApp| async move {
        let (_, owner) = app.create_org("Acme Motors", "manufacturer").await;
        let (rival_id, _) = app.create_org("Rival Motors", "manufacturer").await;
        let (_, recycler) = app.create_org("Recycler", "recycler").await;
        let post = |key: Option<&str>, body: Value| {
            let mut request = app.post("/credentials/issue").json(&body);
            if let Some(key) = key {
                request = request.bearer_auth(key);
            }
            request.send()
        };
        let mut as_rival = certificate();
        as_rival["issuer"] = json!(format!(
            "did:web:{}:orgs:{rival_id}",
            app.address
                .trim_start_matches("http://")
                .replace(':', "%3A")
        ));
        let body = assert_problem(
            post(Some(&owner), json!({"credential": as_rival}))
                .await
                .unwrap(),
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(body["errors"][0]["pointer"], "/credential/issuer");

        let mut not_a_vc = certificate();
        not_a_vc["type"] = json!(["Certificate"]);
        not_a_vc["@context"] = json!(["https://www.w3.org/2018/credentials/v1"]);
        not_a_vc
            .as_object_mut()
            .unwrap()
            .remove("credentialSubject");
        let body = assert_problem(
            post(Some(&owner), json!({"credential": not_a_vc}))
                .await
                .unwrap(),
            422,
            "validation_failed",
        )
        .await;
        let pointers: Vec<&str> = body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["pointer"].as_str().unwrap())
            .collect();
        assert_eq!(
            pointers,
            [
                "/credential/@context",
                "/credential/type",
                "/credential/credentialSubject"
            ]
        );
        let body = assert_problem(
            post(
                Some(&owner),
                json!({"credential": certificate(), "options": {"issuer": "did:ion"}}),
            )
            .await
            .unwrap(),
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(body["errors"][0]["pointer"], "/options/issuer");

        let body = json!({"credential": certificate()});
        assert_problem(
            post(Some(&recycler), body.clone()).await.unwrap(),
            403,
            "forbidden",
        )
        .await;
        assert_problem(post(None, body).await.unwrap(), 401, "unauthorized").await;
    }
);
