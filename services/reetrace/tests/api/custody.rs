//! Custody: a motor from registration to a recycled oxide whose content a new passport claims.

use serde_json::{Value, json};

use crate::api_test;
use crate::helpers::{TestApp, assert_problem, gtin, recycler_prefix};
use crate::passports::motor;

async fn step(app: &TestApp, key: &str, passport: &str, body: Value) -> reqwest::Response {
    app.post(&format!("/api/v1/custody/{passport}/events"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn ok_step(app: &TestApp, key: &str, passport: &str, body: Value) -> Value {
    let response = step(app, key, passport, body).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body
}

/// A magnet passport claiming `nd_g` of recycled Nd from `lot`.
pub fn magnet(serial: &str, lot: &str, nd_g: f64) -> Value {
    json!({"granularity": "item",
     "product": {"gtin": "04012345000023", "serial": serial, "name": "Sintered NdFeB magnet set",
       "category": "ndfeb_magnet", "net_mass_g": 1500,
       "placed_on_market": {"date": "2042-01-10", "country": "DE"}},
     "ree_content": {"components": [{"name": "magnet set", "material": "NdFeB-sintered", "mass_g": 1500,
       "elements": [{"element": "Nd", "mass_g": 330}, {"element": "Pr", "mass_g": 100}],
       "recycled_content": {"post_consumer": 0.6,
          "sources": [{"lot": lot, "elements": [{"element": "Nd", "mass_g": nd_g}]}]}}]}})
}

fn mass_of(elements: &Value, symbol: &str) -> f64 {
    elements
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["element"] == symbol)
        .map(|e| e["mass_g"].as_f64().unwrap())
        .unwrap_or(0.0)
}

api_test!(
    a_motor_is_collected_dismantled_recycled_and_its_oxide_claimed,
    |app: TestApp| async move {
        let (_, maker) = app.create_org("Acme Motors", "manufacturer").await;
        let (collector_id, collector) = app.create_org("Collecte Lyon", "recycler").await;
        let (recycler_id, recycler) = app.create_org("Urban Mine Recycling", "recycler").await;
        let id = app.register(&maker, &motor("EVM-2026-000001")).await["id"]
            .as_str()
            .unwrap()
            .to_owned();

        // Scanning: the product is in use; a recycler may collect it.
        let scan: Value = app
            .get(&format!("/api/v1/custody/{id}"))
            .bearer_auth(&collector)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(scan["custody"]["state"], "in_use");
        assert_eq!(scan["next"]["actions"], json!(["collect"]));
        assert_eq!(
            scan["product"]["epc"],
            "https://id.gs1.org/01/04012345000016/21/EVM-2026-000001"
        );
        let refused = app
            .get(&format!("/api/v1/custody/{id}"))
            .bearer_auth(&maker)
            .send()
            .await
            .unwrap();
        assert_problem(refused, 403, "forbidden").await;

        let collected = ok_step(&app, &collector, &id, json!({"action": "collect", "at": "2026-09-02T09:30:00+02:00",
        "location": {"id": "urn:epc:id:sgln:4012345.00001.0", "country": "FR"}, "measured_mass_g": 48100})).await;
        assert_eq!(collected["custody"]["state"], "collected");
        assert_eq!(collected["epcis"]["bizStep"], "collecting");
        assert!(
            collected["event_id"]
                .as_str()
                .unwrap()
                .starts_with("ni:///sha-256;")
        );

        // Only the holder steps on; a handover names a recycler, who must accept it.
        let not_holder = step(
            &app,
            &recycler,
            &id,
            json!({"action": "sort", "at": "2026-09-03T09:00:00Z"}),
        )
        .await;
        assert_problem(not_holder, 409, "step_not_allowed").await;
        let wrong = step(
            &app,
            &collector,
            &id,
            json!({"action": "sort", "at": "2026-09-03T09:00:00Z"}),
        )
        .await;
        let body = assert_problem(wrong, 409, "step_not_allowed").await;
        assert!(
            body["allowed"]["actions"]
                .as_array()
                .unwrap()
                .contains(&json!("receive"))
        );
        let to_maker = step(&app, &collector, &id, json!({"action": "handover", "at": "2026-09-03T10:00:00Z", "to_org": scan["product"]["manufacturer"]})).await;
        assert_problem(to_maker, 422, "validation_failed").await;
        ok_step(
            &app,
            &collector,
            &id,
            json!({"action": "handover", "at": "2026-09-03T10:00:00Z", "to_org": recycler_id}),
        )
        .await;
        let accepted = ok_step(
            &app,
            &recycler,
            &id,
            json!({"action": "accept", "at": "2026-09-04T08:00:00Z"}),
        )
        .await;
        assert_eq!(accepted["custody"]["state"], "received");
        assert_eq!(accepted["custody"]["holder"], recycler_id);
        let late = step(
            &app,
            &collector,
            &id,
            json!({"action": "destroy", "at": "2026-09-04T09:00:00Z"}),
        )
        .await;
        assert_problem(late, 409, "step_not_allowed").await;
        ok_step(
            &app,
            &recycler,
            &id,
            json!({"action": "sort", "at": "2026-09-05T08:00:00Z"}),
        )
        .await;

        // Dismantling: the magnet lot holds at most what the passport declared, element by element.
        let too_much = app
            .post("/api/v1/custody/transformations")
            .bearer_auth(&recycler)
            .json(&json!({
        "process": "dismantling", "at": "2026-10-02T10:00:00Z", "inputs": [{"passport": id}],
        "outputs": [{"kind": "lot", "material": "NdFeB-sintered", "mass_g": 1480,
            "elements": [{"element": "Nd", "mass_g": 337.6}]}]}))
            .send()
            .await
            .unwrap();
        let body = assert_problem(too_much, 422, "mass_balance").await;
        assert!(body["detail"].as_str().unwrap().contains("Nd"), "{body}");
        let dismantled = app
            .post("/api/v1/custody/transformations")
            .bearer_auth(&recycler)
            .json(&json!({
        "process": "dismantling", "at": "2026-10-02T10:00:00Z", "inputs": [{"passport": id}],
        "outputs": [{"kind": "lot", "material": "NdFeB-sintered", "mass_g": 1480,
            "elements": [{"element": "Nd", "mass_g": 330}, {"element": "Pr", "mass_g": 100},
                         {"element": "Dy", "mass_g": 58}, {"element": "Tb", "mass_g": 7}]}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(dismantled.status(), 201);
        let dismantled: Value = dismantled.json().await.unwrap();
        assert_eq!(mass_of(&dismantled["losses"], "Nd"), 7.5);
        assert_eq!(mass_of(&dismantled["losses"], "Tb"), 0.5);
        let magnet_lot = dismantled["lots"][0]["lot_id"].as_str().unwrap().to_owned();
        let scan: Value = app
            .get(&format!("/api/v1/custody/{id}"))
            .bearer_auth(&recycler)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(scan["custody"]["state"], "dismantled");
        assert_eq!(
            scan["events"].as_array().unwrap().len(),
            5,
            "collect, handover, accept, sort, dismantling: {scan}"
        );

        // Recycling the magnet lot into an oxide lot with a GS1 LGTIN, under the recycler's
        // own GS1 Company Prefix (it is the second recycler created).
        let oxide_gtin = gtin(&recycler_prefix(1), "00003");
        let recycled = app.post("/api/v1/custody/transformations").bearer_auth(&recycler).json(&json!({
        "process": "recycling", "at": "2026-11-01T10:00:00Z", "inputs": [{"lot": magnet_lot, "mass_g": 1480}],
        "outputs": [{"kind": "oxide", "material": "NdPr oxide", "mass_g": 500, "gtin": oxide_gtin, "lot_number": "OX-2041-06",
            "elements": [{"element": "Nd", "mass_g": 300}, {"element": "Pr", "mass_g": 90}, {"element": "Dy", "mass_g": 50}, {"element": "Tb", "mass_g": 6}]}]})).send().await.unwrap();
        let status = recycled.status();
        let recycled: Value = recycled.json().await.unwrap();
        assert_eq!(status, 201, "{recycled}");
        let oxide = recycled["lots"][0]["lot_id"].as_str().unwrap().to_owned();
        assert_eq!(
            recycled["lots"][0]["epc"],
            format!("https://id.gs1.org/01/{oxide_gtin}/10/OX-2041-06")
        );
        assert_eq!(mass_of(&recycled["losses"], "Nd"), 30.0);
        let used: Value = app
            .get(&format!("/api/v1/lots/{magnet_lot}"))
            .bearer_auth(&recycler)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(used["state"], "consumed");
        assert_eq!(used["remaining_g"], 0);
        let again = app
            .post("/api/v1/custody/transformations")
            .bearer_auth(&recycler)
            .json(&json!({
        "process": "recycling", "at": "2026-11-02T10:00:00Z", "inputs": [{"lot": magnet_lot}],
        "outputs": [{"kind": "oxide", "material": "x", "mass_g": 1, "elements": []}]}))
            .send()
            .await
            .unwrap();
        assert_problem(again, 409, "lot_used_up").await;

        // Closing the loop: a magnet passport claims recycled Nd from the oxide (half of it,
        // the most one organisation may hold in reservations); an over-claim is refused.
        let claimed = app.register(&maker, &magnet("MAG-1", &oxide, 150.0)).await;
        assert_eq!(claimed["version"], 1);
        let lot: Value = app
            .get(&format!("/api/v1/lots/{oxide}"))
            .bearer_auth(&maker)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(mass_of(&lot["claimed"], "Nd"), 150.0, "{lot}");
        assert_eq!(mass_of(&lot["claimable"], "Nd"), 150.0);
        assert_eq!(lot["claims"][0]["passport_id"], claimed["id"]);
        let over = app
            .post("/api/v1/passports")
            .bearer_auth(&maker)
            .json(&magnet("MAG-2", &oxide, 151.0))
            .send()
            .await
            .unwrap();
        let body = assert_problem(over, 409, "over_claim").await;
        assert_eq!(mass_of(&body["claimable"], "Nd"), 150.0);
        app.register(&maker, &magnet("MAG-3", &oxide, 75.0)).await;

        // Every stored event is valid EPCIS 2.0; the log verifies from the outside.
        let entries: Vec<Value> = app
            .get("/api/v1/log/entries")
            .bearer_auth(&recycler)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            entries.len(),
            6,
            "five steps on the motor and the recycling"
        );
        for entry in &entries {
            let event: Value = serde_json::from_str(entry["document"].as_str().unwrap()).unwrap();
            reetrace_custody::epcis::validate_event(&event)
                .unwrap_or_else(|e| panic!("{e:?}\n{event}"));
            assert_eq!(
                reetrace_custody::epcis::event_hash(&event).unwrap(),
                entry["event_id"]
            );
        }
        let _ = collector_id;
    }
);

api_test!(
    checkpoints_and_proofs_verify_without_trusting_the_server,
    |app: TestApp| async move {
        use base64::Engine;
        let (_, maker) = app.create_org("Acme Motors", "manufacturer").await;
        let (_, collector) = app.create_org("Collector", "recycler").await;
        let none = app.get("/api/v1/log/checkpoint").send().await.unwrap();
        assert_problem(none, 404, "not_found").await;
        let mut event_ids = Vec::new();
        for i in 0..5 {
            let id = app.register(&maker, &motor(&format!("P-{i}"))).await["id"]
                .as_str()
                .unwrap()
                .to_owned();
            let step = ok_step(
                &app,
                &collector,
                &id,
                json!({"action": "collect", "at": "2026-09-02T09:30:00Z"}),
            )
            .await;
            event_ids.push(step["event_id"].as_str().unwrap().to_owned());
        }
        let cp: Value = app
            .get("/api/v1/log/checkpoint")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(cp["tree_size"], 5);
        let opened = reetrace_core::checkpoint::open(
            cp["note"].as_str().unwrap(),
            cp["verifier_key"].as_str().unwrap(),
        )
        .unwrap();
        assert_eq!(opened.size, 5);
        let b64 = |s: &Value| {
            base64::engine::general_purpose::STANDARD
                .decode(s.as_str().unwrap())
                .unwrap()
        };
        for id in &event_ids {
            let encoded: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
            let proof: Value = app
                .get(&format!("/api/v1/log/proofs/inclusion?event_id={encoded}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let hashes: Vec<Vec<u8>> = proof["hashes"]
                .as_array()
                .unwrap()
                .iter()
                .map(b64)
                .collect();
            let leaf =
                reetrace_core::merkle::leaf_hash(proof["leaf_data"].as_str().unwrap().as_bytes());
            assert_eq!(leaf.to_vec(), b64(&proof["leaf_hash"]));
            reetrace_core::merkle::verify_inclusion(
                &leaf,
                proof["leaf_index"].as_u64().unwrap(),
                proof["tree_size"].as_u64().unwrap(),
                &hashes,
                &opened.root,
            )
            .unwrap();
        }
        // Grow the log, then prove the old checkpoint is a prefix of the new one.
        let id = app.register(&maker, &motor("P-9")).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        ok_step(
            &app,
            &collector,
            &id,
            json!({"action": "collect", "at": "2026-09-02T09:30:00Z"}),
        )
        .await;
        let proof: Value = app
            .get("/api/v1/log/proofs/consistency?from=5")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let second = reetrace_core::checkpoint::open(
            proof["checkpoint"]["note"].as_str().unwrap(),
            cp["verifier_key"].as_str().unwrap(),
        )
        .unwrap();
        let hashes: Vec<Vec<u8>> = proof["hashes"]
            .as_array()
            .unwrap()
            .iter()
            .map(b64)
            .collect();
        reetrace_core::merkle::verify_consistency(
            5,
            second.size,
            &hashes,
            &opened.root,
            &second.root,
        )
        .unwrap();
        // A size the log never had has no checkpoint: one capture of two events moves the
        // log from n to n + 2 (the background publisher may have signed any size it had).
        let n = second.size;
        for serial in ["P-10", "P-11"] {
            app.register(&maker, &motor(serial)).await;
        }
        let event = |serial: &str| {
            json!({"type": "ObjectEvent", "eventTime": "2026-09-03T09:30:00Z",
                   "eventTimeZoneOffset": "+00:00", "action": "OBSERVE", "bizStep": "collecting",
                   "epcList": [format!("urn:epc:id:sgtin:4012345.000001.{serial}")]})
        };
        let document = json!({
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-09-03T10:00:00Z",
            "epcisBody": {"eventList": [event("P-10"), event("P-11")]}});
        let captured = app
            .post("/api/v1/epcis/capture")
            .bearer_auth(&collector)
            .json(&document)
            .send()
            .await
            .unwrap();
        assert_eq!(captured.status(), 201, "{}", captured.text().await.unwrap());
        let missing = app
            .get(&format!("/api/v1/log/proofs/consistency?from={}", n + 1))
            .send()
            .await
            .unwrap();
        assert_problem(missing, 404, "no_checkpoint").await;
    }
);

api_test!(
    steps_dated_in_the_future_are_refused,
    |app: TestApp| async move {
        let (_, maker) = app.create_org("Acme Motors", "manufacturer").await;
        let (_, collector) = app.create_org("Collecte Lyon", "recycler").await;
        let id = app.register(&maker, &motor("FUT-1")).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let tomorrow = (chrono::Utc::now() + chrono::TimeDelta::days(1)).to_rfc3339();
        let early = step(
            &app,
            &collector,
            &id,
            json!({"action": "collect", "at": tomorrow}),
        )
        .await;
        let body = assert_problem(early, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["pointer"], "/at", "{body}");
        assert!(
            body["errors"][0]["detail"]
                .as_str()
                .unwrap()
                .contains("future")
        );
        let ancient = step(
            &app,
            &collector,
            &id,
            json!({"action": "collect", "at": "1900-01-01T00:00:00Z"}),
        )
        .await;
        assert_problem(ancient, 422, "validation_failed").await;

        let captured = app
            .post("/api/v1/epcis/capture")
            .bearer_auth(&collector)
            .header("content-type", "application/ld+json")
            .json(&json!({"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
                "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-10-01T08:00:00Z",
                "epcisBody": {"eventList": [{"type": "ObjectEvent", "eventTime": tomorrow,
                    "eventTimeZoneOffset": "+00:00", "action": "OBSERVE", "bizStep": "collecting",
                    "epcList": ["urn:epc:id:sgtin:4012345.000001.FUT-1"]}]}}))
            .send()
            .await
            .unwrap();
        let body = assert_problem(captured, 422, "capture_refused").await;
        assert_eq!(body["event_errors"][0]["code"], "invalid_event_time");
        assert_eq!(
            body["event_errors"][0]["pointer"],
            "/epcisBody/eventList/0/eventTime"
        );

        ok_step(
            &app,
            &collector,
            &id,
            json!({"action": "collect", "at": chrono::Utc::now().to_rfc3339()}),
        )
        .await;
        let transformed = app
            .post("/api/v1/custody/transformations")
            .bearer_auth(&collector)
            .json(&json!({"process": "dismantling", "at": tomorrow, "inputs": [{"passport": id}],
                "outputs": [{"kind": "lot", "material": "NdFeB-sintered", "mass_g": 1000, "elements": []}]}))
            .send()
            .await
            .unwrap();
        let body = assert_problem(transformed, 422, "validation_failed").await;
        assert!(
            body["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["pointer"] == "/at"),
            "{body}"
        );
    }
);

api_test!(
    a_lots_claims_show_to_its_holders_each_claimant_and_authorities,
    |app: TestApp| async move {
        let (_, maker) = app.create_org("Acme Motors", "manufacturer").await;
        let (_, rival) = app.create_org("Rival Magnets", "manufacturer").await;
        let (_, maker_of_lot) = app.create_org("Urban Mine Recycling", "recycler").await;
        let (next_id, next_holder) = app.create_org("Oxide Works", "recycler").await;
        let (_, outsider) = app.create_org("Never Held It", "recycler").await;
        let (_, regulator) = app.create_org("Market Surveillance", "regulator").await;
        let id = app.register(&maker, &motor("EVM-LOT-1")).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        for (action, at) in [
            ("collect", "2026-09-02T09:30:00Z"),
            ("receive", "2026-09-03T09:30:00Z"),
        ] {
            ok_step(
                &app,
                &maker_of_lot,
                &id,
                json!({"action": action, "at": at}),
            )
            .await;
        }
        let dismantled = app
            .post("/api/v1/custody/transformations")
            .bearer_auth(&maker_of_lot)
            .json(&json!({
        "process": "dismantling", "at": "2026-10-02T10:00:00Z", "inputs": [{"passport": id}],
        "outputs": [{"kind": "lot", "material": "NdFeB-sintered", "mass_g": 1480,
            "elements": [{"element": "Nd", "mass_g": 330}, {"element": "Pr", "mass_g": 100}]}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(dismantled.status(), 201);
        let dismantled: Value = dismantled.json().await.unwrap();
        let lot = dismantled["lots"][0]["lot_id"].as_str().unwrap().to_owned();
        let own = app.register(&maker, &magnet("MAG-OWN", &lot, 100.0)).await;
        let mut theirs = magnet("MAG-RIVAL", &lot, 50.0);
        theirs["product"]["gtin"] = json!("04012346000022");
        let theirs = app.register(&rival, &theirs).await;
        // The lot moves on: its maker is a past holder now.
        let lot_step = |key: &str, body: Value| {
            app.post(&format!("/api/v1/lots/{lot}/events"))
                .bearer_auth(key.to_owned())
                .json(&body)
                .send()
        };
        let handed = lot_step(
            &maker_of_lot,
            json!({"action": "handover", "at": "2026-10-03T10:00:00Z", "to_org": next_id}),
        )
        .await
        .unwrap();
        assert_eq!(handed.status(), 201);
        let accepted = lot_step(
            &next_holder,
            json!({"action": "accept", "at": "2026-10-04T10:00:00Z"}),
        )
        .await
        .unwrap();
        assert_eq!(accepted.status(), 201);

        let read = |key: String| {
            let path = format!("/api/v1/lots/{lot}");
            let app = &app;
            async move { app.get_json(&path, Some(&key)).await }
        };
        let passports = |view: &Value| -> Vec<String> {
            view["claims"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["passport_id"].as_str().unwrap().to_owned())
                .collect()
        };
        let everyone = vec![
            own["id"].as_str().unwrap().to_owned(),
            theirs["id"].as_str().unwrap().to_owned(),
        ];
        for key in [
            &next_holder,
            &maker_of_lot,
            &regulator,
            &app.admin_key.clone(),
        ] {
            let view = read(key.clone()).await;
            assert_eq!(passports(&view), everyone, "{view}");
            assert_eq!(view["claims_shown"], "all", "{view}");
        }
        // Each claimant sees its own claims; anyone else none; the totals stay for all (what
        // is left to claim is what a claimant needs).
        // Only the lot's holder writes other events into its history.
        let observation = json!({
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-10-05T08:00:00Z",
            "epcisBody": {"eventList": [{"type": "ObjectEvent", "eventTime": "2026-10-05T08:00:00Z",
                "eventTimeZoneOffset": "+00:00", "action": "OBSERVE", "disposition": "destroyed",
                "quantityList": [{"epcClass": app.url(&format!("/lots/{lot}")), "quantity": 1.48, "uom": "KGM"}]}]}});
        let capture = |key: &str| {
            app.post("/api/v1/epcis/capture")
                .bearer_auth(key.to_owned())
                .json(&observation)
                .send()
        };
        let refused = capture(&maker_of_lot).await.unwrap();
        let body = assert_problem(refused, 409, "capture_refused").await;
        assert_eq!(body["event_errors"][0]["code"], "not_holder", "{body}");
        assert!(
            body["event_errors"][0]["detail"]
                .as_str()
                .unwrap()
                .contains(&format!("lot {lot}")),
            "{body}"
        );
        assert_eq!(capture(&next_holder).await.unwrap().status(), 201);
        for (key, shown) in [
            (&maker, &everyone[..1]),
            (&rival, &everyone[1..]),
            (&outsider, &[][..]),
        ] {
            let view = read(key.clone()).await;
            assert_eq!(passports(&view), shown, "{view}");
            assert_eq!(view["claims_shown"], "own", "{view}");
            assert_eq!(mass_of(&view["claimed"], "Nd"), 150.0, "{view}");
            assert_eq!(mass_of(&view["claimable"], "Nd"), 180.0, "{view}");
            for hidden in everyone.iter().filter(|p| !shown.contains(p)) {
                assert!(!view.to_string().contains(hidden.as_str()), "{view}");
            }
        }
    }
);
