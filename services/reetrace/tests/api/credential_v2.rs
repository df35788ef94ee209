//! The v2 credential on the wire (`docs/credential.md`): the placement facts only in the
//! placement declaration, which only the owner and the authorities read; the JOSE form served
//! and verified.

use serde_json::{Value, json};

use crate::api_test;
use crate::helpers::{TestApp, assert_problem};
use crate::passports::motor;

async fn verify(app: &TestApp, credential: &Value) -> Value {
    let response = app
        .post("/credentials/verify")
        .json(&json!({"verifiableCredential": credential}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let result: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{result}");
    result
}

api_test!(
    market_facts_are_only_in_the_placement_declaration,
    |app: TestApp| async move {
        let (_, owner) = app.create_org("Acme Motors", "manufacturer").await;
        let (_, regulator) = app.create_org("Agence", "regulator").await;
        let (_, recycler) = app.create_org("Urban Mine", "recycler").await;
        let (_, other) = app.create_org("Other Motors", "manufacturer").await;
        let mut batch = motor("unused");
        batch["granularity"] = json!("batch");
        batch["product"].as_object_mut().unwrap().remove("serial");
        batch["product"]["lot"] = json!("L-2026-07");
        batch["product"]["units"] = json!(40);
        batch["product"]["placed_on_market"] =
            json!({"date": "2026-05-19", "country": "IT", "nuts": "ITC4"});
        let issued = app.register(&owner, &batch).await;
        let id = issued["id"].as_str().unwrap();

        // Neither the public credential nor the public view says where, when or how many.
        let credential = &issued["credential"];
        let public = app.get_json(&format!("/api/v1/passports/{id}"), None).await;
        assert_eq!(public["format"], "v2");
        for text in [credential.to_string(), public.to_string()] {
            for secret in [
                "2026-05-19",
                "ITC4",
                "\"IT\"",
                "placed_on_market",
                "units",
                "marketCountry",
            ] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
        }
        assert_eq!(public["passport"]["product"]["batchNumber"], "L-2026-07");
        assert!(public.get("placement").is_none());

        // The owner and a regulator read the declaration; a recycler and another maker do not.
        for key in [&owner, &regulator] {
            let declaration = app
                .get_json(&format!("/api/v1/passports/{id}/placement"), Some(key))
                .await;
            assert_eq!(
                declaration["type"],
                json!(["VerifiableCredential", "PlacementDeclaration"])
            );
            let facts = &declaration["credentialSubject"];
            assert_eq!(facts["ree:marketCountry"], "IT");
            assert_eq!(facts["ree:nutsRegion"], "ITC4");
            assert_eq!(facts["ree:placementDate"], "2026-05-19");
            assert_eq!(facts["ree:units"], 40);
            assert_eq!(facts["ree:passportCredential"], credential["id"]);
            let result = verify(&app, &declaration).await;
            assert_eq!(result["verified"], true, "{result}");
        }
        for key in [&recycler, &other] {
            let refused = app
                .get(&format!("/api/v1/passports/{id}/placement"))
                .bearer_auth(key)
                .send()
                .await
                .unwrap();
            assert_problem(refused, 403, "forbidden").await;
        }
        let anonymous = app
            .get(&format!("/api/v1/passports/{id}/placement"))
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), 401);

        // The owner's view carries the facts, in the placement and in the v1-shaped reading.
        let owned = app
            .get_json(&format!("/api/v1/passports/{id}"), Some(&owner))
            .await;
        assert_eq!(owned["placement"]["ree:units"], 40);
        assert_eq!(owned["subject"]["product"]["units"], 40);
        assert_eq!(
            owned["subject"]["product"]["placed_on_market"],
            json!({"date": "2026-05-19", "country": "IT", "nuts": "ITC4"})
        );
    }
);

api_test!(
    the_jose_form_is_served_and_verifies,
    |app: TestApp| async move {
        let (_, owner) = app.create_org("Acme Motors", "manufacturer").await;
        let issued = app.register(&owner, &motor("JWT-1")).await;
        let id = issued["id"].as_str().unwrap();
        let by_accept = app
            .get(&format!("/api/v1/passports/{id}/credential"))
            .header("accept", "application/vc+jwt")
            .send()
            .await
            .unwrap();
        assert_eq!(by_accept.status(), 200);
        assert_eq!(by_accept.headers()["content-type"], "application/vc+jwt");
        let token = by_accept.text().await.unwrap();
        let by_query = app
            .get(&format!("/api/v1/passports/{id}/credential?format=jwt"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(token, by_query);

        // Its payload is the credential without its proof, byte for byte the JCS form.
        use base64::Engine;
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .unwrap();
        let mut unsecured = issued["credential"].clone();
        unsecured.as_object_mut().unwrap().remove("proof");
        assert_eq!(
            payload,
            reetrace_core::crypto::canonicalize(&unsecured).unwrap()
        );
        let header: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(parts[0])
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["typ"], "vc+jwt");
        assert_eq!(header["alg"], "EdDSA");
        assert_eq!(
            header["kid"],
            issued["credential"]["proof"]["verificationMethod"]
        );

        let envelope = json!({"@context": "https://www.w3.org/ns/credentials/v2",
            "type": "EnvelopedVerifiableCredential", "id": format!("data:application/vc+jwt,{token}")});
        let result = verify(&app, &envelope).await;
        assert_eq!(
            result["checks"],
            json!(["proof", "issuer", "validity", "status"]),
            "{result}"
        );
    }
);

api_test!(
    an_edited_component_details_row_is_not_served,
    |app: TestApp| async move {
        let (_, owner) = app.create_org("Acme Motors", "manufacturer").await;
        let (_, recycler) = app.create_org("Urban Mine", "recycler").await;
        let issued = app.register(&owner, &motor("EVM-2026-000901")).await;
        let id = issued["id"].as_str().unwrap();
        let path = format!("/api/v1/passports/{id}");
        let view = app.get_json(&path, Some(&recycler)).await;
        let mut details = view["component_details"].clone();
        assert!(
            details["components"][0]["location"].is_string(),
            "{details}"
        );

        // Finding 7 of the trust issue: someone with database access moves a magnet.
        details["components"][0]["location"] = json!("stator, bottom left");
        app.execute(
            reetrace_core::db::Sql::new(
                "UPDATE passport_versions SET component_details = $2 WHERE passport_id = $1",
            )
            .bind(uuid::Uuid::parse_str(id).unwrap())
            .bind(details.to_string()),
        )
        .await;

        // Served to nobody, whatever the tier: the signed credential commits to other details.
        for key in [Some(recycler.as_str()), Some(owner.as_str()), None] {
            let mut request = app.get(&path);
            if let Some(key) = key {
                request = request.bearer_auth(key);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 500, "{key:?}");
            let body = response.text().await.unwrap();
            assert!(!body.contains("stator, bottom left"), "{body}");
        }
        // The signed credential itself is unchanged and still served.
        let credential = app
            .get_json(&format!("/api/v1/passports/{id}/credential"), None)
            .await;
        assert_eq!(credential["credentialSubject"]["ree:passportId"], id);
    }
);
