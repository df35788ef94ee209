//! Passports: issue, read by tier, verify, version, revoke, bulk, idempotency.

use reetrace_core::crypto::{StatusList, VerifyingKey, data_integrity, parse_public_key_multibase};
use reetrace_core::domain::passport_event;
use serde_json::{Value, json};

use crate::api_test;
use crate::helpers::{TestApp, assert_problem};
use crate::magnets::magnet_motor;

/// The motor registration of the passport specification (with a valid GTIN check digit).
pub fn motor(serial: &str) -> Value {
    json!({"granularity": "item",
     "product": {"gtin": "04012345000016", "serial": serial, "name": "Traction motor PMSM 150 kW",
       "model": "PM150", "category": "ev_traction_motor", "net_mass_g": 48000, "manufactured_on": "2026-03-02",
       "placed_on_market": {"date": "2026-04-15", "country": "FR"}, "expected_lifetime_years": 15},
     "ree_content": {"components": [{"name": "rotor magnet set", "material": "NdFeB-sintered", "mass_g": 1500,
       "location": "rotor, 48 segments in V-slots",
       "elements": [{"element": "Nd", "mass_g": 337.5, "method": "declared"}, {"element": "Pr", "mass_g": 105},
                    {"element": "Dy", "mass_g": 60}, {"element": "Tb", "mass_g": 7.5}],
       "recycled_content": {"pre_consumer": 0.0, "post_consumer": 0.05}}]},
     "end_of_life": {"dismantling": "remove rotor; magnets glued, heat to 350 C to release", "use_type": "concentrated"},
     "confidential": {"supplier": "Magnets GmbH", "cost_eur": 410}})
}

/// Resolves a credential's verification method through the served DID document.
async fn issuer_key(app: &TestApp, credential: &Value) -> VerifyingKey {
    let method = credential["proof"]["verificationMethod"].as_str().unwrap();
    let (did, fragment) = method.split_once('#').unwrap();
    // A passport names its issuer as {id, name} (v2), a status list as a string.
    let issuer = credential["issuer"]
        .get("id")
        .unwrap_or(&credential["issuer"]);
    assert_eq!(did, issuer, "the key's controller is the issuer");
    let org_id = did.rsplit(':').next().unwrap();
    let doc: Value = app
        .get(&format!("/orgs/{org_id}/did.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let vm = doc["verificationMethod"]
        .as_array()
        .unwrap()
        .iter()
        .find(|vm| vm["id"] == method)
        .expect("the key is in the DID document");
    assert_eq!(vm["type"], "Multikey");
    assert_eq!(vm["controller"], did);
    assert!(
        doc["assertionMethod"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == method)
    );
    assert_eq!(vm["publicKeyMultibase"], fragment);
    parse_public_key_multibase(vm["publicKeyMultibase"].as_str().unwrap()).unwrap()
}

fn verify_with(credential: &Value, key: &VerifyingKey) -> Result<(), String> {
    let key = *key;
    data_integrity::verify(credential, "assertionMethod", &move |_: &str| {
        Ok::<_, std::convert::Infallible>(key)
    })
    .map(|_| ())
    .map_err(|e| e.to_string())
}

/// Whether a credential's status bit of `purpose` is set in the served status list.
async fn status_bit(app: &TestApp, credential: &Value, purpose: &str) -> bool {
    let entry = credential["credentialStatus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["statusPurpose"] == purpose)
        .unwrap()
        .clone();
    let url = entry["statusListCredential"].as_str().unwrap();
    let path = url.strip_prefix(&app.address).unwrap();
    let list: Value = app.get(path).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["type"][1], "BitstringStatusListCredential");
    assert_eq!(list["credentialSubject"]["statusPurpose"], purpose);
    let key = issuer_key(app, &list).await;
    verify_with(&list, &key).expect("the status list is signed by the issuer");
    let bits =
        StatusList::decode(list["credentialSubject"]["encodedList"].as_str().unwrap()).unwrap();
    assert!(bits.len() >= 131_072);
    let index: usize = entry["statusListIndex"].as_str().unwrap().parse().unwrap();
    bits.get(index).unwrap()
}

api_test!(
    an_issued_passport_verifies_and_tampering_breaks_it,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Acme Motors", "manufacturer").await;
        let issued = app.register(&key, &motor("EVM-2026-000001")).await;
        assert_eq!(issued["version"], 1);
        assert_eq!(issued["status"], "active");
        let uri = format!("{}/01/04012345000016/21/EVM-2026-000001", app.address);
        assert_eq!(issued["uri"], uri);
        let id = issued["id"].as_str().unwrap();

        // The served credential is byte for byte what was issued.
        let served = app
            .get(&format!("/api/v1/passports/{id}/credential"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let credential: Value = serde_json::from_str(&served).unwrap();
        assert_eq!(credential, issued["credential"]);
        assert_eq!(
            credential["type"],
            json!(["VerifiableCredential", "DigitalProductPassport"])
        );
        assert_eq!(
            credential["@context"][0],
            "https://www.w3.org/ns/credentials/v2"
        );
        assert_eq!(credential["credentialSubject"]["id"], uri);
        assert_eq!(credential["proof"]["cryptosuite"], "eddsa-jcs-2022");
        assert_eq!(
            credential["@context"][1],
            "https://test.uncefact.org/vocabulary/untp/dpp/working/"
        );
        let nd = &credential["credentialSubject"]["materialsProvenance"][1];
        assert_eq!(nd["materialType"]["code"], "Nd");
        assert_eq!(nd["ree:massGrams"], 337.5);
        assert_eq!(nd["mass"], json!({"value": 0.3375, "unit": "KGM"}));

        let key = issuer_key(&app, &credential).await;
        verify_with(&credential, &key).unwrap();
        let mut tampered = credential.clone();
        tampered["credentialSubject"]["materialsProvenance"][1]["ree:massGrams"] = json!(337.6);
        assert!(verify_with(&tampered, &key).is_err());
        assert!(!status_bit(&app, &credential, "revocation").await);
    }
);

api_test!(
    reads_are_cut_to_the_callers_tier,
    |app: TestApp| async move {
        let (_, owner) = app.create_org("Acme Motors", "manufacturer").await;
        let (_, other) = app.create_org("Rival Motors", "manufacturer").await;
        let (_, recycler) = app.create_org("Urban Mine Recycling", "recycler").await;
        let (_, regulator) = app.create_org("Agency", "regulator").await;
        let id = app.register(&owner, &motor("EVM-1")).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let read = |key: Option<String>| {
            let mut request = app.get(&format!("/api/v1/passports/{id}"));
            if let Some(key) = key {
                request = request.bearer_auth(key);
            }
            async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
        };
        let public = read(None).await;
        assert_eq!(public["tier"], "public");
        assert!(public.get("component_details").is_none());
        assert!(public.get("confidential").is_none());
        assert_eq!(public["subject"]["ree_content"]["total_mass_g"], 510);
        assert!(!public.to_string().contains("48 segments"));
        assert_eq!(read(Some(other.clone())).await["tier"], "public");

        let professional = read(Some(recycler)).await;
        assert_eq!(professional["tier"], "professional");
        let details = &professional["component_details"];
        assert_eq!(
            details["components"][0]["location"],
            "rotor, 48 segments in V-slots"
        );
        assert!(professional.get("confidential").is_none());
        // The details are the ones the signed subject commits to.
        let canonical = reetrace_core::crypto::jcs::canonicalize(details).unwrap();
        assert_eq!(
            professional["subject"]["ree_content"]["components_digest"],
            reetrace_passport::domain::subject::sri_sha256(&canonical)
        );
        assert_eq!(read(Some(regulator)).await["tier"], "authority");
        let own = read(Some(owner)).await;
        assert_eq!(own["tier"], "owner");
        assert_eq!(own["confidential"]["supplier"], "Magnets GmbH");
    }
);

api_test!(
    only_the_owner_changes_a_passport,
    |app: TestApp| async move {
        let (_, owner) = app.create_org("Acme Motors", "manufacturer").await;
        let (_, other) = app.create_org("Rival Motors", "manufacturer").await;
        let (_, recycler) = app.create_org("Recycler", "recycler").await;
        let id = app.register(&owner, &motor("EVM-1")).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let put = app
            .put(&format!("/api/v1/passports/{id}"))
            .bearer_auth(&other)
            .json(&motor("EVM-1"))
            .send()
            .await
            .unwrap();
        assert_problem(put, 403, "forbidden").await;
        let revoke = app
            .post(&format!("/api/v1/passports/{id}/revoke"))
            .bearer_auth(&other)
            .send()
            .await
            .unwrap();
        assert_problem(revoke, 403, "forbidden").await;
        let by_recycler = app
            .post("/api/v1/passports")
            .bearer_auth(&recycler)
            .json(&motor("EVM-2"))
            .send()
            .await
            .unwrap();
        assert_problem(by_recycler, 403, "forbidden").await;
        let anonymous = app
            .post("/api/v1/passports")
            .json(&motor("EVM-2"))
            .send()
            .await
            .unwrap();
        assert_problem(anonymous, 401, "unauthorized").await;
        let listed: Value = app
            .get("/api/v1/passports")
            .bearer_auth(&other)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            listed["items"].as_array().unwrap().is_empty(),
            "a manufacturer lists only its own"
        );
        let missing = app
            .get(&format!("/api/v1/passports/{}", uuid::Uuid::now_v7()))
            .send()
            .await
            .unwrap();
        assert_problem(missing, 404, "not_found").await;
    }
);

api_test!(
    versions_supersede_and_revocation_flips_the_bit,
    |app: TestApp| async move {
        let (_, owner) = app.create_org("Acme Motors", "manufacturer").await;
        let first = app.register(&owner, &motor("EVM-1")).await;
        let id = first["id"].as_str().unwrap();
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
        let second: Value = response.json().await.unwrap();
        assert_eq!(second["version"], 2);
        assert_eq!(
            second["credential"]["credentialSubject"]["ree:previousVersion"],
            first["credential"]["id"]
        );
        assert!(
            status_bit(&app, &first["credential"], "message").await,
            "v1 is superseded"
        );
        assert!(!status_bit(&app, &second["credential"], "message").await);

        let versions: Value = app
            .get(&format!("/api/v1/passports/{id}/versions"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(versions[0]["state"], "superseded");
        assert_eq!(versions[1]["state"], "current");
        let v1: Value = app
            .get(&format!("/api/v1/passports/{id}/credential?version=1"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v1, first["credential"]);
        let key = issuer_key(&app, &v1).await;
        verify_with(&v1, &key).expect("a superseded version still verifies");

        let mut moved = motor("EVM-9");
        moved["product"]["net_mass_g"] = json!(47500);
        let bad = app
            .put(&format!("/api/v1/passports/{id}"))
            .bearer_auth(&owner)
            .json(&moved)
            .send()
            .await
            .unwrap();
        let body = assert_problem(bad, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["pointer"], "/product/serial");

        let revoked = app
            .post(&format!("/api/v1/passports/{id}/revoke"))
            .bearer_auth(&owner)
            .json(&json!({"reason": "recalled"}))
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status(), 200);
        assert!(status_bit(&app, &second["credential"], "revocation").await);
        assert!(status_bit(&app, &first["credential"], "revocation").await);
        let again = app
            .post(&format!("/api/v1/passports/{id}/revoke"))
            .bearer_auth(&owner)
            .send()
            .await
            .unwrap();
        assert_problem(again, 409, "status_transition").await;
        let view: Value = app
            .get(&format!("/api/v1/passports/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(view["status"], "revoked");
        assert_eq!(view["status_reason"], "recalled");
    }
);

api_test!(suspension_can_be_lifted, |app: TestApp| async move {
    let (_, owner) = app.create_org("Acme Motors", "manufacturer").await;
    let issued = app.register(&owner, &motor("EVM-1")).await;
    let id = issued["id"].as_str().unwrap();
    let suspend = app
        .post(&format!("/api/v1/passports/{id}/suspend"))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(suspend.status(), 200);
    assert!(status_bit(&app, &issued["credential"], "suspension").await);
    let reinstate = app
        .post(&format!("/api/v1/passports/{id}/reinstate"))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(reinstate.status(), 200);
    assert!(!status_bit(&app, &issued["credential"], "suspension").await);
    let wrong = app
        .post(&format!("/api/v1/passports/{id}/reinstate"))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_problem(wrong, 409, "status_transition").await;
});

api_test!(invalid_content_names_the_field, |app: TestApp| async move {
    let (_, owner) = app.create_org("Acme Motors", "manufacturer").await;
    let post = |body: Value| {
        app.post("/api/v1/passports")
            .bearer_auth(&owner)
            .json(&body)
            .send()
    };
    let mut heavy = motor("EVM-1");
    heavy["ree_content"]["components"][0]["elements"][0]["mass_g"] = json!(1600);
    let body = assert_problem(post(heavy).await.unwrap(), 422, "validation_failed").await;
    assert_eq!(
        body["errors"][0]["pointer"],
        "/ree_content/components/0/elements/0/mass_g"
    );
    let mut bad_gtin = motor("EVM-1");
    bad_gtin["product"]["gtin"] = json!("04012345000017");
    let body = assert_problem(post(bad_gtin).await.unwrap(), 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["pointer"], "/product/gtin");
    assert!(
        body["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("should be 6")
    );
    let mut unknown = motor("EVM-1");
    unknown["ree_content"]["components"][0]["elements"][0]["element"] = json!("Xx");
    let body = assert_problem(post(unknown).await.unwrap(), 422, "validation_failed").await;
    assert_eq!(
        body["errors"][0]["pointer"],
        "/ree_content/components/0/elements/0/element"
    );
    let mut nan = motor("EVM-1");
    nan["product"]["net_mass_g"] = json!(-5);
    assert_problem(post(nan).await.unwrap(), 422, "validation_failed").await;

    app.register(&owner, &motor("EVM-1")).await;
    assert_problem(post(motor("EVM-1")).await.unwrap(), 409, "passport_exists").await;
});

api_test!(
    idempotent_retries_get_the_first_answer,
    |app: TestApp| async move {
        let (_, owner) = app.create_org("Acme Motors", "manufacturer").await;
        let send = |body: Value| {
            app.post("/api/v1/passports")
                .bearer_auth(&owner)
                .header("idempotency-key", "order-4711")
                .json(&body)
                .send()
        };
        let first = send(motor("EVM-1")).await.unwrap();
        assert_eq!(first.status(), 201);
        let first: Value = first.json().await.unwrap();
        let retry = send(motor("EVM-1")).await.unwrap();
        assert_eq!(retry.status(), 201);
        assert_eq!(retry.headers()["idempotent-replayed"], "true");
        let retry: Value = retry.json().await.unwrap();
        assert_eq!(retry["id"], first["id"]);
        let reused = send(motor("EVM-2")).await.unwrap();
        assert_problem(reused, 422, "idempotency_key_reused").await;
        let listed: Value = app
            .get("/api/v1/passports")
            .bearer_auth(&owner)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(listed["items"].as_array().unwrap().len(), 1, "no duplicate");
    }
);

api_test!(
    bulk_registers_each_line_on_its_own,
    |app: TestApp| async move {
        let (_, owner) = app.create_org("Acme Motors", "manufacturer").await;
        let mut bad = motor("B-2");
        bad["product"]["category"] = json!("spaceship");
        let lines = vec![motor("B-1"), bad, motor("B-3"), motor("B-1")];
        let response = app
            .post("/api/v1/passports/bulk")
            .bearer_auth(&owner)
            .json(&lines)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let outcome: Value = response.json().await.unwrap();
        assert_eq!(outcome["created"], 2);
        assert_eq!(outcome["failed"], 2);
        let statuses: Vec<u64> = outcome["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].as_u64().unwrap())
            .collect();
        assert_eq!(statuses, [201, 422, 201, 409]);
        assert_eq!(
            outcome["results"][1]["problem"]["errors"][0]["pointer"],
            "/product/category"
        );

        let ndjson: String = (0..50)
            .map(|i| format!("{}\n", motor(&format!("N-{i}"))))
            .collect::<String>()
            + "{\"broken\n";
        let response = app
            .post("/api/v1/passports/bulk")
            .bearer_auth(&owner)
            .header("content-type", "application/x-ndjson")
            .body(ndjson)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/x-ndjson");
        let text = response.text().await.unwrap();
        let results: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(results.len(), 51);
        assert!(results[..50].iter().all(|r| r["status"] == 201));
        assert_eq!(results[50]["status"], 400);

        let atomic = vec![motor("A-1"), motor("B-1")];
        let response = app
            .post("/api/v1/passports/bulk?atomic=true")
            .bearer_auth(&owner)
            .json(&atomic)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 409);
        let outcome: Value = response.json().await.unwrap();
        assert_eq!(outcome["created"], 0);
        let a1 = app
            .get("/01/04012345000016/21/A-1")
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_ne!(a1.status(), 200, "nothing of an atomic failure is stored");

        // One invalid line of three: the refusal counts and lists all three lines.
        let mut broken = motor("C-2");
        broken["product"]["gtin"] = json!("04012345000017");
        let response = app
            .post("/api/v1/passports/bulk?atomic=true")
            .bearer_auth(&owner)
            .json(&vec![motor("C-1"), broken, motor("C-3")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422);
        let refusal: Value = response.json().await.unwrap();
        assert_eq!(refusal["failed"], 3, "{refusal}");
        let lines: Vec<(i64, i64)> = refusal["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["line"].as_i64().unwrap(), r["status"].as_i64().unwrap()))
            .collect();
        assert_eq!(lines.iter().map(|l| l.0).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(lines[1].1, 422, "{refusal}");
        assert!(
            refusal["detail"]
                .as_str()
                .unwrap()
                .starts_with("3 of 3 lines"),
            "{refusal}"
        );
        // The valid lines: not committed (424), because another line failed.
        assert_eq!((lines[0].1, lines[2].1), (424, 424), "{refusal}");
    }
);

api_test!(
    the_passport_feed_is_ordered_and_for_services,
    |app: TestApp| async move {
        let (_, owner) = app.create_org("Acme Motors", "manufacturer").await;
        let (_, service) = app.create_org("Stock service", "service").await;
        let first = app.register(&owner, &motor("F-1")).await;
        app.register(&owner, &motor("F-2")).await;
        let id = first["id"].as_str().unwrap();
        app.post(&format!("/api/v1/passports/{id}/suspend"))
            .bearer_auth(&owner)
            .send()
            .await
            .unwrap();
        let refused = app
            .get("/api/v1/feeds/passport")
            .bearer_auth(&owner)
            .send()
            .await
            .unwrap();
        assert_problem(refused, 403, "forbidden").await;
        let page: Value = app
            .get("/api/v1/feeds/passport?after=0&limit=2")
            .bearer_auth(&service)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let events = page["events"].as_array().unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0]["sequence"], "1");
        assert_eq!(events[0]["specversion"], "1.0");
        assert_eq!(events[0]["type"], "org.reetrace.passport.issued");
        assert_eq!(
            events[0]["data"]["subject"]["product"]["serialNumber"],
            "F-1"
        );
        // v2: the market facts come with the placement declaration's subject.
        assert_eq!(events[0]["data"]["format"], 2);
        assert_eq!(events[0]["data"]["placement"]["ree:marketCountry"], "FR");
        assert_eq!(page["next_after"], 2);
        let rest: Value = app
            .get("/api/v1/feeds/passport?after=2")
            .bearer_auth(&service)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            rest["events"][0]["type"],
            "org.reetrace.passport.status_changed"
        );
        assert_eq!(rest["events"][0]["data"]["status"], "suspended");
        assert_eq!(rest["events"].as_array().unwrap().len(), 1);
        let missing = app
            .get("/api/v1/feeds/nope")
            .bearer_auth(&service)
            .send()
            .await
            .unwrap();
        assert_problem(missing, 404, "not_found").await;
    }
);

api_test!(
    the_passport_feed_carries_what_its_readers_read_of_a_magnet_product,
    |app: TestApp| async move {
        let (_, owner) = app.create_org("Acme Motors", "manufacturer").await;
        let (_, service) = app.create_org("Stock service", "service").await;
        let created = app.register(&owner, &magnet_motor("FM-1")).await;
        let page: Value = app
            .get("/api/v1/feeds/passport?after=0&limit=1")
            .bearer_auth(&service)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let data = &page["events"][0]["data"];
        let signed = &created["credential"]["credentialSubject"];
        let whole = json!({"format": 2, "subject": signed, "placement": data["placement"]});
        let read = passport_event::facts(data).unwrap();
        assert_eq!(read, passport_event::facts(&whole).unwrap());
        assert!(!read.magnet_materials.is_empty(), "{data}");
        // What no reader reads stays with the credential, which the passport routes serve.
        assert!(signed.get("ree:permanentMagnets").is_some());
        assert!(
            data["subject"].get("ree:permanentMagnets").is_none(),
            "{data}"
        );
    }
);

api_test!(the_ree_context_is_served, |app: TestApp| async move {
    let (_, owner) = app.create_org("Acme Motors", "manufacturer").await;
    let issued = app.register(&owner, &motor("C-1")).await;
    let url = issued["credential"]["@context"][2].as_str().unwrap();
    assert!(url.ends_with("/contexts/reetrace/v2"), "{url}");
    let path = url.strip_prefix(&app.address).unwrap();
    let response = app.get(path).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/ld+json");
    let context: Value = response.json().await.unwrap();
    assert_eq!(
        context["@context"]["ree"],
        "https://w3id.org/reetrace/vocab#"
    );
    assert_eq!(
        context["@context"]["ree:placementDate"]["@type"],
        "xsd:date"
    );
    // The v1 context stays served for the credentials issued under it.
    let v1: Value = app
        .get("/contexts/reetrace/v1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v1["@context"]["@protected"], true);
    assert_eq!(v1["@context"]["ree_content"], "ree:reeContent");
});

api_test!(
    a_batch_that_counts_more_than_any_real_product_is_refused,
    |app: TestApp| async move {
        let (_, maker) = app.create_org("Huge Batches Ltd", "manufacturer").await;
        // The finding: 100,000,000 units of 100 kg of Nd each (10 Mt) was accepted and
        // overflowed the stock service's cells.
        let mut batch = motor("unused");
        batch["granularity"] = json!("batch");
        batch["product"].as_object_mut().unwrap().remove("serial");
        batch["product"]["lot"] = json!("LOT-HUGE");
        batch["product"]["units"] = json!(100_000_000);
        batch["product"]["net_mass_g"] = json!(200_000);
        batch["ree_content"]["components"][0]["mass_g"] = json!(150_000);
        batch["ree_content"]["components"][0]["elements"] =
            json!([{"element": "Nd", "mass_g": 100_000}]);
        let response = app
            .post("/api/v1/passports")
            .bearer_auth(&maker)
            .json(&batch)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(
            problem["errors"][0]["pointer"], "/product/units",
            "{problem}"
        );
        assert!(problem["detail"].as_str().unwrap().contains("Nd"));
        // A large but real batch passes: 1,000 generators' worth of Nd.
        batch["product"]["units"] = json!(1_000);
        batch["product"]["lot"] = json!("LOT-REAL");
        let response = app
            .post("/api/v1/passports")
            .bearer_auth(&maker)
            .json(&batch)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    }
);
