//! `reetrace verify`: the built binary against credentials of a spawned application (passports
//! and residue deposits), online (`--online`), offline with files (`--did-doc`,
//! `--status-list`), and for did:key.

#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use helpers::TestApp;

/// The motor registration of the passport specification (as in the API tests).
fn motor(serial: &str) -> Value {
    json!({"granularity": "item",
     "product": {"gtin": "04012345000016", "serial": serial, "name": "Traction motor PMSM 150 kW",
       "model": "PM150", "category": "ev_traction_motor", "net_mass_g": 48000, "manufactured_on": "2026-03-02",
       "placed_on_market": {"date": "2026-04-15", "country": "FR"}, "expected_lifetime_years": 15},
     "ree_content": {"components": [{"name": "rotor magnet set", "material": "NdFeB-sintered", "mass_g": 1500,
       "location": "rotor, 48 segments in V-slots",
       "elements": [{"element": "Nd", "mass_g": 337.5}, {"element": "Pr", "mass_g": 105},
                    {"element": "Dy", "mass_g": 60}, {"element": "Tb", "mass_g": 7.5}]}]},
     "end_of_life": {"dismantling": "remove rotor; magnets glued, heat to 350 C to release", "use_type": "concentrated"}})
}

/// Runs `reetrace verify ARGS` (off the async runtime: it calls back into the test server);
/// returns the exit code and the report.
async fn run(args: Vec<String>, stdin: Option<String>) -> (i32, Value, String) {
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_reetrace"))
            .arg("verify")
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        let report = serde_json::from_str(&stdout).unwrap_or(Value::Null);
        let stderr = String::from_utf8(output.stderr).unwrap();
        (output.status.code().unwrap(), report, stderr)
    })
    .await
    .unwrap()
}

fn write(dir: &Path, name: &str, value: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
    path.to_str().unwrap().to_owned()
}

async fn get(app: &TestApp, url: &str) -> Value {
    let path = url.strip_prefix(&app.address).unwrap();
    app.get(path).send().await.unwrap().json().await.unwrap()
}

fn warnings(report: &Value) -> Vec<String> {
    report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["message"].as_str().unwrap().to_owned())
        .collect()
}

crate::api_test!(
    a_passport_verifies_online_and_offline_and_tampering_fails,
    |app: TestApp| async move {
        let (org_id, owner) = app.create_org("Acme Motors", "manufacturer").await;
        let credential = app.register(&owner, &motor("EVM-1")).await["credential"].clone();
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "passport.json", &credential);

        let (code, report, stderr) = run(
            vec![file.clone(), "--online".into(), app.address.clone()],
            None,
        )
        .await;
        assert_eq!(code, 0, "{report} {stderr}");
        assert_eq!(report["verified"], true);
        assert_eq!(
            report["checks"],
            json!(["proof", "issuer", "validity", "status"])
        );
        assert_eq!(report["warnings"], json!([]));

        let mut tampered = credential.clone();
        tampered["credentialSubject"]["materialsProvenance"][1]["ree:massGrams"] = json!(337.6);
        let tampered_file = write(dir.path(), "tampered.json", &tampered);
        let (code, report, _) = run(
            vec![tampered_file, "--online".into(), app.address.clone()],
            None,
        )
        .await;
        assert_eq!(code, 1);
        assert_eq!(report["verified"], false);
        assert_eq!(
            report["errors"],
            json!([{"check": "proof", "message": "signature does not match"}])
        );

        // Offline with the DID document: verified, and it says that status was not checked.
        let document = get(&app, &format!("{}/orgs/{org_id}/did.json", app.address)).await;
        let did_doc = write(dir.path(), "did.json", &document);
        let (code, report, _) = run(
            vec![file.clone(), "--did-doc".into(), did_doc.clone()],
            None,
        )
        .await;
        assert_eq!(code, 0, "{report}");
        assert_eq!(report["checks"], json!(["proof", "issuer", "validity"]));
        let said = warnings(&report);
        assert_eq!(said.len(), 3, "{said:?}");
        for (warning, purpose) in said.iter().zip(["revocation", "suspension", "message"]) {
            assert!(
                warning.starts_with(&format!("{purpose} status not checked"))
                    && warning.contains("not available offline"),
                "{warning}"
            );
        }

        // Offline with the status lists too: status is checked.
        let mut args = vec![file.clone(), "--did-doc".into(), did_doc];
        for (i, entry) in credential["credentialStatus"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
        {
            let list = get(&app, entry["statusListCredential"].as_str().unwrap()).await;
            args.push("--status-list".into());
            args.push(write(dir.path(), &format!("list{i}.json"), &list));
        }
        let (code, report, _) = run(args, None).await;
        assert_eq!(code, 0, "{report}");
        assert_eq!(report["checks"][3], "status");
        assert_eq!(report["warnings"], json!([]));

        // Offline without the DID document, a did:web cannot be resolved.
        let (code, report, _) = run(vec![file], None).await;
        assert_eq!(code, 1);
        assert!(
            report["errors"][1]["message"]
                .as_str()
                .unwrap()
                .starts_with("issuer not resolvable offline"),
            "{report}"
        );
    }
);

crate::api_test!(
    a_did_key_credential_verifies_offline_from_stdin,
    |app: TestApp| async move {
        let (_, owner) = app.create_org("Acme Motors", "manufacturer").await;
        let response = app
            .post("/credentials/issue")
            .bearer_auth(&owner)
            .json(&json!({
                "credential": {
                    "@context": ["https://www.w3.org/ns/credentials/v2"],
                    "type": ["VerifiableCredential", "MagnetRecoveryCertificate"],
                    "credentialSubject": {"id": "urn:uuid:0196a6f2-5a1b-7cc3-9a53-5b0f5b1c9e21", "ndfeb_recovered_kg": 12.5},
                },
                "options": {"issuer": "did:key"},
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let credential = response.json::<Value>().await.unwrap()["verifiableCredential"].clone();
        let (code, report, stderr) = run(vec!["-".into()], Some(credential.to_string())).await;
        assert_eq!(code, 0, "{report} {stderr}");
        assert_eq!(report["checks"], json!(["proof", "issuer", "validity"]));
        assert_eq!(report["warnings"], json!([]));

        let mut tampered = credential.clone();
        tampered["credentialSubject"]["ndfeb_recovered_kg"] = json!(125);
        let (code, report, _) = run(vec!["-".into()], Some(tampered.to_string())).await;
        assert_eq!(code, 1);
        assert_eq!(report["errors"][0]["check"], "proof");
    }
);

/// A bauxite residue deposit whose assays give its content, as a surveyor records it.
fn deposit() -> Value {
    json!({"name": "Residue pond 10", "type": "bauxite_residue", "status": "closed",
        "location": {"geometry": {"type": "Polygon", "coordinates": [[[17.47, 47.08], [17.49, 47.08],
            [17.49, 47.09], [17.47, 47.09], [17.47, 47.08]]]}, "country": "HU", "nuts": "HU213"},
        "tonnage": {"tonnes": 30_000_000, "uncertainty_tonnes": 3_000_000, "method": "survey"},
        "deposition": {"from": 1964, "to": 2010},
        "assays": [{"sampled_on": "2024-05-02", "method": "ICP-MS", "laboratory": "Survey laboratory",
            "sample_count": 20, "concentrations": [{"element": "Sc", "ppm": 110, "uncertainty_ppm": 8},
                                                   {"element": "Nd", "ppm": 95, "uncertainty_ppm": 6}]}]})
}

// A deposit's credential (`ResidueDepositCredential`) is checked as any other: signature,
// issuer DID, validity and its revocation entry, online and offline; a changed assay, another
// organisation named as issuer and a withdrawn deposit each fail the check they should.
crate::api_test!(
    a_deposit_credential_verifies_and_its_withdrawal_is_seen,
    |app: TestApp| async move {
        let (org_id, surveyor) = app
            .create_org_without_prefix("Geological Survey", "surveyor")
            .await;
        let (other_id, _) = app
            .create_org_without_prefix("Another Survey", "surveyor")
            .await;
        let response = app
            .post("/api/v1/deposits")
            .bearer_auth(&surveyor)
            .json(&deposit())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let id = response.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let credential = get(
            &app,
            &format!("{}/api/v1/deposits/{id}/credential", app.address),
        )
        .await;
        assert_eq!(credential["type"][1], "ResidueDepositCredential");
        let issuer = credential["issuer"].as_str().unwrap().to_owned();
        assert!(issuer.ends_with(&org_id), "{issuer}");
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "deposit.json", &credential);
        let online = |file: String| vec![file, "--online".into(), app.address.clone()];

        let (code, report, stderr) = run(online(file.clone()), None).await;
        assert_eq!(code, 0, "{report} {stderr}");
        assert_eq!(
            report["checks"],
            json!(["proof", "issuer", "validity", "status"])
        );
        assert_eq!(report["warnings"], json!([]));

        // Offline: the DID document and the revocation list as files.
        let document = get(&app, &format!("{}/orgs/{org_id}/did.json", app.address)).await;
        let entry = &credential["credentialStatus"][0];
        assert_eq!(entry["statusPurpose"], "revocation");
        let list = get(&app, entry["statusListCredential"].as_str().unwrap()).await;
        let offline = vec![
            file.clone(),
            "--did-doc".into(),
            write(dir.path(), "did.json", &document),
            "--status-list".into(),
            write(dir.path(), "list.json", &list),
        ];
        let (code, report, _) = run(offline.clone(), None).await;
        assert_eq!(code, 0, "{report}");
        assert_eq!(report["checks"][3], "status");

        // An assay's figure changed: the signature no longer matches.
        let mut tampered = credential.clone();
        tampered["credentialSubject"]["assays"][0]["concentrations"][1]["ppm"] = json!(950);
        let (code, report, _) =
            run(online(write(dir.path(), "tampered.json", &tampered)), None).await;
        assert_eq!(code, 1);
        assert_eq!(
            report["errors"],
            json!([{"check": "proof", "message": "signature does not match"}])
        );

        // Another organisation's DID as issuer: the key is not its own, whatever the signature.
        let mut borrowed = credential.clone();
        borrowed["issuer"] = json!(issuer.replace(&org_id, &other_id));
        let (code, report, _) =
            run(online(write(dir.path(), "borrowed.json", &borrowed)), None).await;
        assert_eq!(code, 1);
        let failed: Vec<&str> = report["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["check"].as_str().unwrap())
            .collect();
        assert_eq!(failed, ["proof", "issuer"], "{report}");
        assert!(
            report["errors"][1]["message"]
                .as_str()
                .unwrap()
                .contains(&format!(
                    "not by the issuer {}",
                    borrowed["issuer"].as_str().unwrap()
                )),
            "{report}"
        );

        // Withdrawn: every version's credential is revoked in its list.
        let response = app
            .post(&format!("/api/v1/deposits/{id}/revoke"))
            .bearer_auth(&surveyor)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let (code, report, _) = run(online(file), None).await;
        assert_eq!(code, 1, "{report}");
        assert_eq!(
            report["errors"],
            json!([{"check": "status", "message": "revoked"}])
        );
    }
);

#[test]
fn unreadable_input_exits_2() {
    let missing = Command::new(env!("CARGO_BIN_EXE_reetrace"))
        .args(["verify", "/nonexistent/credential.json"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("read /nonexistent/credential.json"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not.json");
    std::fs::write(&path, "this is not JSON").unwrap();
    let garbage = Command::new(env!("CARGO_BIN_EXE_reetrace"))
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(garbage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&garbage.stderr).contains("is not JSON"));
}

/// A compact JWS (`application/vc+jwt`) verifies from a file as its text, and its signature
/// is checked: another payload under the same signature does not.
#[tokio::test]
async fn a_compact_jws_verifies_from_a_file() {
    use reetrace_core::crypto::{did_key_verification_method, generate_signing_key, jose};

    let key = generate_signing_key().unwrap();
    let method = did_key_verification_method(&key.verifying_key());
    let did = method.split('#').next().unwrap().to_owned();
    let credential = json!({"@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"], "issuer": {"id": did, "name": "Acme Motors"},
        "validFrom": "2026-01-01T00:00:00Z", "credentialSubject": {"id": "urn:uuid:0196a6f2-5a1b-7cc3-9a53-5b0f5b1c9e21"}});
    let token = jose::sign(&credential, &method, &key).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("passport.jwt");
    std::fs::write(&path, format!("{token}\n")).unwrap();
    let (code, report, stderr) = run(vec![path.display().to_string()], None).await;
    assert_eq!(code, 0, "{report} {stderr}");
    assert_eq!(report["checks"], json!(["proof", "issuer", "validity"]));

    let other = jose::sign(&json!({"issuer": did}), &method, &key).unwrap();
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[1] = other.split('.').nth(1).unwrap();
    let (code, report, _) = run(vec!["-".into()], Some(parts.join("."))).await;
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["errors"][0]["check"], "proof");
}

/// Another issuer's `did:web` document may publish its Ed25519 key as a `JsonWebKey`
/// (`publicKeyJwk`, RFC 8037) rather than a Multikey: `--did-doc` reads both, and refuses a
/// JWK that carries its private part.
#[tokio::test]
async fn a_foreign_did_web_with_a_json_web_key_verifies_offline() {
    use base64::Engine;
    use reetrace_core::crypto::{ProofOptions, generate_signing_key, sign};

    let key = generate_signing_key().unwrap();
    let did = "did:web:magnets.example";
    let method = format!("{did}#key-1");
    let jwk = json!({"kty": "OKP", "crv": "Ed25519",
        "x": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes())});
    let document = |jwk: &Value| {
        json!({"@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/jwk/v1"],
            "id": did,
            "verificationMethod": [{"id": method, "type": "JsonWebKey", "controller": did, "publicKeyJwk": jwk}],
            "assertionMethod": [method]})
    };
    let created = chrono::Utc::now();
    let credential = sign(
        json!({"@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential"],
            "issuer": did,
            "validFrom": "2026-01-01T00:00:00Z",
            "credentialSubject": {"id": "urn:uuid:0196a6f2-5a1b-7cc3-9a53-5b0f5b1c9e21", "ndfeb_recovered_kg": 12.5}}),
        &ProofOptions::assertion(&method, created),
        &key,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "credential.json", &credential);

    let good = write(dir.path(), "did.json", &document(&jwk));
    let (code, report, stderr) = run(vec![file.clone(), "--did-doc".into(), good], None).await;
    assert_eq!(code, 0, "{report} {stderr}");
    assert_eq!(report["checks"], json!(["proof", "issuer", "validity"]));

    let mut leaky = jwk.clone();
    leaky["d"] = json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.to_bytes()));
    let bad = write(dir.path(), "leaky.json", &document(&leaky));
    let (code, report, _) = run(vec![file, "--did-doc".into(), bad], None).await;
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["errors"][1]["check"], "issuer", "{report}");
    assert!(
        report["errors"][1]["message"]
            .as_str()
            .unwrap()
            .ends_with("is not an assertion method in the DID document of did:web:magnets.example"),
        "{report}"
    );
}

/// A proof set (a did:key issuer's proof countersigned by a second key) verifies offline and the
/// report lists both proofs; the countersignature forged, the binary exits 1 naming it.
#[tokio::test]
async fn a_countersigned_credential_verifies_offline_with_both_proofs() {
    use reetrace_core::crypto::proof_set::{self, SetOptions};
    use reetrace_core::crypto::{
        ProofOptions, data_integrity, did_key_verification_method, generate_signing_key,
    };

    let (issuer, witness) = (
        generate_signing_key().unwrap(),
        generate_signing_key().unwrap(),
    );
    let method = did_key_verification_method(&issuer.verifying_key());
    let did = method.split('#').next().unwrap().to_owned();
    let credential = json!({"@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"], "issuer": did, "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "urn:uuid:0196a6f2-5a1b-7cc3-9a53-5b0f5b1c9e21"}});
    let now = reetrace_core::domain::account::now();
    let signed =
        data_integrity::sign(credential, &ProofOptions::assertion(&method, now), &issuer).unwrap();
    let witness_method = did_key_verification_method(&witness.verifying_key());
    let countersigned = proof_set::add_proof(
        signed,
        &ProofOptions::assertion(&witness_method, now),
        &SetOptions::default(),
        &witness,
    )
    .unwrap();
    let (code, report, stderr) = run(vec!["-".into()], Some(countersigned.to_string())).await;
    assert_eq!(code, 0, "{report} {stderr}");
    let proofs: Vec<(&str, bool, bool)> = report["proofs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["verificationMethod"].as_str().unwrap(),
                p["issuer"].as_bool().unwrap(),
                p["valid"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        proofs,
        [
            (method.as_str(), true, true),
            (witness_method.as_str(), false, true)
        ]
    );

    let mut forged = countersigned.clone();
    forged["proof"][1]["created"] = json!("2020-01-01T00:00:00Z");
    let (code, report, _) = run(vec!["-".into()], Some(forged.to_string())).await;
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        report["errors"][0]["message"],
        format!("proof 2 of 2 ({witness_method}): signature does not match")
    );
}
