//! EPCIS 2.0 capture and query: our steps move custody as the REST routes do, documents are
//! captured whole or event by event, capture is idempotent, corrections are new leaves, and
//! what queries answer is valid EPCIS.

use reetrace_custody::epcis::{event_hash, validate_document, validate_event};
use serde_json::{Value, json};

use crate::api_test;
use crate::helpers::{TestApp, assert_problem};
use crate::passports::motor;

const RECYCLER_EORI: &str = "DE1234567890123";

pub(crate) fn document(events: Vec<Value>) -> Value {
    json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                     {"ree": "https://w3id.org/reetrace/vocab#"}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-09-01T08:00:00Z",
        "epcisBody": {"eventList": events}
    })
}

/// The SGTIN of `motor(serial)` (GTIN 04012345000016), as an EPC URN.
pub(crate) fn urn(serial: &str) -> String {
    format!("urn:epc:id:sgtin:4012345.000001.{serial}")
}

/// ... and as its canonical Digital Link.
pub(crate) fn link(serial: &str) -> String {
    format!("https://id.gs1.org/01/04012345000016/21/{serial}")
}

pub(crate) fn event(step: &str, epcs: &[String], time: &str) -> Value {
    json!({
        "type": "ObjectEvent",
        "eventTime": time,
        "eventTimeZoneOffset": "+00:00",
        "epcList": epcs,
        "action": "OBSERVE",
        "bizStep": step,
    })
}

async fn capture(app: &TestApp, key: &str, doc: &Value, proceed: bool) -> reqwest::Response {
    let mut request = app
        .post("/api/v1/epcis/capture")
        .bearer_auth(key)
        .header("content-type", "application/ld+json")
        .body(serde_json::to_vec(doc).unwrap());
    if proceed {
        request = request.header("GS1-Capture-Error-Behaviour", "proceed");
    }
    request.send().await.unwrap()
}

async fn captured(app: &TestApp, key: &str, doc: &Value) -> Value {
    let response = capture(app, key, doc, false).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body
}

pub(crate) async fn get_json(app: &TestApp, key: &str, path: &str) -> Value {
    let response = app.get(path).bearer_auth(key).send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    body
}

pub(crate) async fn log_size(app: &TestApp, key: &str) -> usize {
    get_json(app, key, "/api/v1/log/entries?limit=1000")
        .await
        .as_array()
        .unwrap()
        .len()
}

pub(crate) async fn register(app: &TestApp, maker: &str, serial: &str) -> String {
    app.register(maker, &motor(serial)).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A recycler with an EORI number (handovers may name it by it).
async fn recycler_with_eori(app: &TestApp) -> (String, String) {
    let response = app
        .post("/api/v1/orgs")
        .bearer_auth(&app.admin_key)
        .json(&json!({"name": "Urban Mine Recycling", "role": "recycler",
                      "operator_id": {"scheme": "eori", "value": RECYCLER_EORI}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    (
        body["org_id"].as_str().unwrap().to_owned(),
        body["api_key"].as_str().unwrap().to_owned(),
    )
}

pub(crate) fn encode(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

/// Every stored event stands alone as valid EPCIS 2.0 and hashes to its recorded hash.
async fn assert_log_is_valid_epcis(app: &TestApp, key: &str) {
    let entries = get_json(app, key, "/api/v1/log/entries?limit=1000").await;
    for entry in entries.as_array().unwrap() {
        let event: Value = serde_json::from_str(entry["document"].as_str().unwrap()).unwrap();
        validate_event(&event).unwrap_or_else(|e| panic!("{e:?}\n{event}"));
        let id = entry["event_id"].as_str().unwrap();
        assert_eq!(event["eventID"], id.split('#').next().unwrap());
        if id.starts_with("ni:///") {
            assert_eq!(event_hash(&event).unwrap(), id, "an id made from the hash");
        }
    }
}

/// Recomputes every chain link and leaf from the stored events, as a verifier outside would,
/// and checks the tree against the signed checkpoint.
async fn assert_log_verifies(app: &TestApp, key: &str) {
    use base64::Engine;
    use reetrace_custody::domain::event::{ChainLink, EventRow};
    let b64 = base64::engine::general_purpose::STANDARD;
    let entries = get_json(app, key, "/api/v1/log/entries?limit=1000").await;
    let checkpoint = get_json(app, key, "/api/v1/log/checkpoint").await;
    let now = reetrace_core::domain::account::now();
    let mut events = Vec::new();
    let mut records = Vec::new();
    let mut links = Vec::new();
    for e in entries.as_array().unwrap() {
        let leaf_index = e["leaf_index"].as_i64().unwrap();
        events.push(EventRow {
            leaf_index,
            event_id: e["event_id"].as_str().unwrap().to_owned(),
            event_hash: String::new(),
            event_type: String::new(),
            action: String::new(),
            biz_step: None,
            biz_location: None,
            org_id: uuid::Uuid::nil(),
            event_time: now,
            document: e["document"].as_str().unwrap().to_owned(),
            data: String::new(),
            leaf_hash: b64.decode(e["leaf_hash"].as_str().unwrap()).unwrap(),
            recorded_at: now,
            salt: None,
            hash_version: 2,
        });
        records.push(
            e["record"]
                .as_str()
                .map(|r| <[u8; 32]>::try_from(hex_decode(r)).expect("a record digest is 32 bytes")),
        );
        for l in e["links"].as_array().unwrap() {
            links.push(ChainLink {
                subject_id: l["subject"].as_str().unwrap().parse().unwrap(),
                seq: l["seq"].as_i64().unwrap(),
                leaf_index,
                link: hex_decode(l["link"].as_str().unwrap()),
            });
        }
    }
    let size = checkpoint["tree_size"].as_i64().unwrap();
    assert_eq!(size, events.len() as i64);
    let mut verifier = reetrace_custody::domain::log_verifier::LogVerifier::new(vec![size]);
    verifier.check_events(
        &events,
        &links,
        reetrace_custody::domain::log_verifier::Records::Served(&records),
    );
    let report = verifier.finish(
        checkpoint["note"].as_str(),
        checkpoint["verifier_key"].as_str().unwrap(),
    );
    assert!(report.ok, "{:?}", report.problems);
    assert_eq!(report.uncovered, 0, "every leaf covers its event's columns");
}

fn hex_decode(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

api_test!(
    captured_steps_move_custody_like_the_rest_api,
    |app: TestApp| async move {
        let (_, maker) = app.create_org("Acme Motors", "manufacturer").await;
        let (collector_id, collector) = app.create_org("Collecte Lyon", "recycler").await;
        let (recycler_id, recycler) = recycler_with_eori(&app).await;
        let p1 = register(&app, &maker, "C-1").await;
        let p2 = register(&app, &maker, "C-2").await;

        // Collect both (EPC URNs), receive and hand over one (Digital Link), by EORI.
        let mut handover = event("departing", &[link("C-1")], "2026-09-03T10:00:00Z");
        handover["ree:toHolder"] = json!(format!("eori:{RECYCLER_EORI}"));
        let doc = document(vec![
            event(
                "collecting",
                &[urn("C-1"), urn("C-2")],
                "2026-09-02T09:30:00Z",
            ),
            event(
                "https://ref.gs1.org/cbv/BizStep-receiving",
                &[link("C-1")],
                "2026-09-02T12:00:00Z",
            ),
            handover,
        ]);
        let report = captured(&app, &collector, &doc).await;
        assert_eq!(report["captured"], 3, "{report}");
        let results = report["events"].as_array().unwrap();
        let actions: Vec<&str> = results
            .iter()
            .map(|r| r["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["collect", "receive", "handover"]);
        let leaves: Vec<i64> = results
            .iter()
            .map(|r| r["leaf_index"].as_i64().unwrap())
            .collect();
        assert_eq!(leaves, [0, 1, 2], "one log append, in document order");
        for r in results {
            assert_eq!(r["status"], "captured");
            assert_eq!(
                r["eventID"], r["eventHash"],
                "no eventID: the hash is the id"
            );
            assert!(
                r["eventHash"]
                    .as_str()
                    .unwrap()
                    .starts_with("ni:///sha-256;")
            );
        }
        assert_eq!(results[0]["subjects"].as_array().unwrap().len(), 2);

        // The next holder accepts through EPCIS too (the full CBV URI this time).
        let accept = document(vec![event(
            "https://ref.gs1.org/cbv/BizStep-accepting",
            &[urn("C-1")],
            "2026-09-04T08:00:00Z",
        )]);
        captured(&app, &recycler, &accept).await;
        let scan = get_json(&app, &recycler, &format!("/api/v1/custody/{p1}")).await;
        assert_eq!(scan["custody"]["state"], "received");
        assert_eq!(scan["custody"]["holder"], recycler_id);
        let steps: Vec<&str> = scan["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(steps, ["collect", "receive", "handover", "accept"]);
        let chain: Vec<i64> = scan["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["chain_seq"].as_i64().unwrap())
            .collect();
        assert_eq!(chain, [1, 2, 3, 4]);

        // The REST route carries on where capture left the other product.
        let scan = get_json(&app, &collector, &format!("/api/v1/custody/{p2}")).await;
        assert_eq!(scan["custody"]["state"], "collected");
        assert_eq!(scan["custody"]["holder"], collector_id);
        let rest = app
            .post(&format!("/api/v1/custody/{p2}/events"))
            .bearer_auth(&collector)
            .json(&json!({"action": "receive", "at": "2026-09-05T08:00:00Z",
                          "location": {"id": "urn:epc:id:sgln:4012345.00001.0"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(rest.status(), 201);

        // A step the state machine or the holder rule forbids refuses the document.
        let before = log_size(&app, &collector).await;
        let again = document(vec![
            event("ree:sorting", &[urn("C-2")], "2026-09-06T08:00:00Z"),
            event("collecting", &[urn("C-1")], "2026-09-06T09:00:00Z"),
        ]);
        let refused = capture(&app, &collector, &again, false).await;
        let body = assert_problem(refused, 409, "capture_refused").await;
        let errors = body["event_errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{body}");
        assert_eq!(errors[0]["index"], 1);
        assert_eq!(errors[0]["pointer"], "/epcisBody/eventList/1/epcList/0");
        assert_eq!(errors[0]["code"], "step_not_allowed");
        assert_eq!(
            log_size(&app, &collector).await,
            before,
            "all or nothing: the sort was not stored"
        );
        let scan = get_json(&app, &collector, &format!("/api/v1/custody/{p2}")).await;
        assert_eq!(scan["custody"]["state"], "received");

        // A handover to someone who is no recycler is refused at the field naming them.
        let mut to_maker = event("departing", &[urn("C-2")], "2026-09-06T10:00:00Z");
        to_maker["destinationList"] = json!([{"type": "possessing_party",
            "destination": format!("urn:uuid:{}", scan["product"]["manufacturer"].as_str().unwrap())}]);
        let refused = capture(&app, &collector, &document(vec![to_maker]), false).await;
        let body = assert_problem(refused, 422, "capture_refused").await;
        assert_eq!(
            body["event_errors"][0]["pointer"],
            "/epcisBody/eventList/0/destinationList/0/destination"
        );
        assert_log_is_valid_epcis(&app, &collector).await;
        assert_log_verifies(&app, &collector).await;
    }
);

api_test!(
    all_or_nothing_unless_asked_to_proceed,
    |app: TestApp| async move {
        let (_, maker) = app.create_org("Acme Motors", "manufacturer").await;
        let (_, collector) = app.create_org("Collecte Lyon", "recycler").await;
        let p1 = register(&app, &maker, "A-1").await;
        let p2 = register(&app, &maker, "A-2").await;
        let mut broken = event("collecting", &[urn("A-2")], "2026-09-02T10:00:00Z");
        broken["action"] = json!("WATCH");
        let doc = document(vec![
            event("collecting", &[urn("A-1")], "2026-09-02T09:00:00Z"),
            broken,
            event("inspecting", &[urn("A-1")], "2026-09-02T11:00:00Z"),
        ]);

        let refused = capture(&app, &collector, &doc, false).await;
        let body = assert_problem(refused, 422, "capture_refused").await;
        let errors = body["event_errors"].as_array().unwrap();
        assert!(
            errors
                .iter()
                .all(|e| e["index"] == 1 && e["code"] == "schema"),
            "{body}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e["pointer"] == "/epcisBody/eventList/1/action")
        );
        assert!(
            body["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["pointer"] == "/epcisBody/eventList/1/action"),
            "field errors for generic clients too"
        );
        assert_eq!(log_size(&app, &collector).await, 0);
        let scan = get_json(&app, &collector, &format!("/api/v1/custody/{p1}")).await;
        assert_eq!(scan["custody"]["state"], "in_use");

        let response = capture(&app, &collector, &doc, true).await;
        assert_eq!(response.status(), 201);
        let report: Value = response.json().await.unwrap();
        assert_eq!(
            (
                &report["captured"],
                &report["refused"],
                &report["duplicates"]
            ),
            (&json!(2), &json!(1), &json!(0)),
            "{report}"
        );
        let statuses: Vec<&str> = report["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["captured", "refused", "captured"]);
        assert!(
            report["events"][1]["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["pointer"] == "/epcisBody/eventList/1/action"),
            "{report}"
        );
        // The inspection is no step of ours: stored as it is, in the chain of the product the
        // collector holds by then.
        assert_eq!(report["events"][2]["action"], "ObjectEvent");
        let scan = get_json(&app, &collector, &format!("/api/v1/custody/{p1}")).await;
        assert_eq!(scan["custody"]["state"], "collected");
        assert_eq!(scan["events"][1]["action"], "ObjectEvent");
        let scan = get_json(&app, &collector, &format!("/api/v1/custody/{p2}")).await;
        assert_eq!(scan["custody"]["state"], "in_use");
        assert_eq!(scan["events"], json!([]));

        // The spelling this service accepted first still proceeds: the valid events are
        // duplicates now, the broken one is refused again, nothing new is stored.
        let legacy = app
            .post("/api/v1/epcis/capture")
            .bearer_auth(&collector)
            .header("content-type", "application/ld+json")
            .header("GS1-EPCIS-Capture-Error-Behaviour", "proceed")
            .body(serde_json::to_vec(&doc).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(legacy.status(), 200);
        let report: Value = legacy.json().await.unwrap();
        assert_eq!(
            (&report["duplicates"], &report["refused"]),
            (&json!(2), &json!(1)),
            "{report}"
        );
        // Both spellings at once must agree.
        let mixed = app
            .post("/api/v1/epcis/capture")
            .bearer_auth(&collector)
            .header("content-type", "application/ld+json")
            .header("GS1-Capture-Error-Behaviour", "rollback")
            .header("GS1-EPCIS-Capture-Error-Behaviour", "proceed")
            .body(serde_json::to_vec(&doc).unwrap())
            .send()
            .await
            .unwrap();
        assert_problem(mixed, 400, "invalid_header").await;

        // Proceeding with nothing valid stores nothing and says why.
        let nothing = document(vec![json!({"type": "ObjectEvent"})]);
        let refused = capture(&app, &collector, &nothing, true).await;
        assert_problem(refused, 422, "capture_refused").await;
        assert_eq!(log_size(&app, &collector).await, 2);
    }
);

api_test!(
    capture_is_idempotent_and_corrections_are_new_leaves,
    |app: TestApp| async move {
        let (_, maker) = app.create_org("Acme Motors", "manufacturer").await;
        let (_, collector) = app.create_org("Collecte Lyon", "recycler").await;
        let (_, other) = app.create_org("Someone Else", "recycler").await;
        register(&app, &maker, "I-1").await;
        let id = "urn:uuid:6a1d7c1e-5a57-4a35-8d5e-0a8f0c0d0001";
        let mut collect = event("collecting", &[urn("I-1")], "2026-09-02T09:00:00Z");
        collect["eventID"] = json!(id);
        let doc = document(vec![collect.clone()]);
        let first = captured(&app, &collector, &doc).await;
        let original = first["events"][0].clone();
        assert_eq!(original["eventID"], id);

        // The same event again: the original result, no second leaf.
        let response = capture(&app, &collector, &doc, false).await;
        assert_eq!(response.status(), 200, "nothing new");
        let again: Value = response.json().await.unwrap();
        assert_eq!(again["duplicates"], 1);
        let replay = &again["events"][0];
        assert_eq!(replay["status"], "duplicate");
        for field in ["eventID", "eventHash", "leaf_index", "action"] {
            assert_eq!(replay[field], original[field], "{field}");
        }
        assert_eq!(log_size(&app, &collector).await, 1);

        // The same content written otherwise (Digital Link, no offset change) is the same hash.
        let mut same = event("collecting", &[link("I-1")], "2026-09-02T11:00:00+02:00");
        same["eventTimeZoneOffset"] = json!("+00:00");
        same["eventID"] = json!(id);
        let response = capture(&app, &collector, &document(vec![same]), false).await;
        assert_eq!(response.status(), 200);

        // The same id with other content is refused.
        let mut changed = collect.clone();
        changed["eventTime"] = json!("2026-09-02T09:05:00Z");
        let refused = capture(&app, &collector, &document(vec![changed]), false).await;
        let body = assert_problem(refused, 409, "capture_refused").await;
        assert_eq!(body["event_errors"][0]["code"], "event_id_reused");
        assert_eq!(
            body["event_errors"][0]["pointer"],
            "/epcisBody/eventList/0/eventID"
        );

        // A correction: the error declaration of the event, and a corrective event. Only who
        // recorded the event declares it erroneous.
        let corrective_id = "urn:uuid:6a1d7c1e-5a57-4a35-8d5e-0a8f0c0d0002";
        let mut declaration = collect.clone();
        declaration["errorDeclaration"] = json!({"declarationTime": "2026-09-03T08:00:00Z",
            "reason": "incorrect_data", "correctiveEventIDs": [corrective_id]});
        let refused = capture(&app, &other, &document(vec![declaration.clone()]), false).await;
        let body = assert_problem(refused, 422, "capture_refused").await;
        assert_eq!(body["event_errors"][0]["code"], "forbidden");
        let mut corrective = event("inspecting", &[urn("I-1")], "2026-09-02T09:00:00Z");
        corrective["eventID"] = json!(corrective_id);
        let correction = document(vec![declaration.clone(), corrective]);
        let report = captured(&app, &collector, &correction).await;
        let declared = &report["events"][0];
        assert_eq!(declared["status"], "captured");
        assert_eq!(declared["action"], "error_declaration");
        assert_eq!(declared["eventID"], id);
        assert_eq!(
            declared["eventHash"], original["eventHash"],
            "errorDeclaration is not hashed"
        );
        let declaration_id = format!("{id}#error-declaration-1");
        assert_eq!(declared["declaration_id"], declaration_id);
        assert_eq!(declared["leaf_index"], 1);
        assert_eq!(log_size(&app, &collector).await, 3);

        // The original is untouched and links its declaration; both are readable by those
        // involved (a recycler that never held the product reads neither).
        let hidden = app
            .get(&format!("/api/v1/epcis/events/{}", encode(id)))
            .bearer_auth(&other)
            .send()
            .await
            .unwrap();
        assert_problem(hidden, 404, "not_found").await;
        let response = app
            .get(&format!("/api/v1/epcis/events/{}", encode(id)))
            .bearer_auth(&collector)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let related = response.headers()["link"].to_str().unwrap().to_owned();
        assert!(
            related.contains(&encode(&declaration_id)) && related.contains("rel=\"related\""),
            "{related}"
        );
        let stored: Value = response.json().await.unwrap();
        assert!(stored.get("errorDeclaration").is_none());
        assert_eq!(stored["eventID"], id);
        assert!(stored["recordTime"].is_string());
        validate_event(&stored).unwrap();
        let stored_declaration = get_json(
            &app,
            &maker,
            &format!("/api/v1/epcis/events/{}", encode(&declaration_id)),
        )
        .await;
        assert_eq!(stored_declaration["eventID"], id);
        assert_eq!(
            stored_declaration["errorDeclaration"]["correctiveEventIDs"][0],
            corrective_id
        );
        validate_event(&stored_declaration).unwrap();
        let query = format!("/api/v1/epcis/events?MATCH_anyEPC={}", encode(&urn("I-1")));
        let none = get_json(&app, &other, &query).await;
        assert_eq!(
            none["epcisBody"]["queryResults"]["resultsBody"]["eventList"],
            json!([]),
            "a recycler that never held the product"
        );
        let both = get_json(&app, &maker, &query).await;
        let ids: Vec<&Value> = both["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["eventID"])
            .collect();
        assert_eq!(ids, [&json!(id), &json!(id), &json!(corrective_id)]);

        // The same declaration again is a duplicate; another one is refused.
        let response = capture(&app, &collector, &correction, false).await;
        assert_eq!(response.status(), 200);
        let mut second = declaration.clone();
        second["errorDeclaration"]["reason"] = json!("did_not_occur");
        let refused = capture(&app, &collector, &document(vec![second]), false).await;
        let body = assert_problem(refused, 409, "capture_refused").await;
        assert_eq!(body["event_errors"][0]["code"], "event_id_reused");
        let mut unknown = declaration.clone();
        unknown["eventID"] = json!("urn:uuid:6a1d7c1e-5a57-4a35-8d5e-0a8f0c0d0009");
        let refused = capture(&app, &collector, &document(vec![unknown]), false).await;
        let body = assert_problem(refused, 422, "capture_refused").await;
        assert_eq!(body["event_errors"][0]["code"], "no_such_event");
        assert_eq!(log_size(&app, &collector).await, 3);
        assert_log_is_valid_epcis(&app, &collector).await;
        assert_log_verifies(&app, &collector).await;
    }
);

api_test!(
    dismantling_and_recycling_go_through_transformations,
    |app: TestApp| async move {
        let (_, collector) = app.create_org("Collecte Lyon", "recycler").await;
        let recycling = json!({
            "type": "TransformationEvent",
            "eventTime": "2026-11-01T10:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "inputQuantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.000003.MAG-1", "quantity": 1.48, "uom": "KGM"}],
            "outputQuantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.000003.OX-1", "quantity": 0.5, "uom": "KGM"}],
            "bizStep": "ree:recycling"
        });
        let refused = capture(
            &app,
            &collector,
            &document(vec![
                event("inspecting", &[urn("T-1")], "2026-11-01T09:00:00Z"),
                recycling,
            ]),
            false,
        )
        .await;
        let body = assert_problem(refused, 422, "capture_refused").await;
        let errors = body["event_errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0]["index"], 1);
        assert_eq!(errors[0]["pointer"], "/epcisBody/eventList/1/bizStep");
        assert_eq!(errors[0]["code"], "use_transformations");
        assert!(
            errors[0]["detail"]
                .as_str()
                .unwrap()
                .contains("/api/v1/custody/transformations")
        );
        assert_eq!(log_size(&app, &collector).await, 0);
    }
);

api_test!(
    a_document_of_1000_events_captures,
    |app: TestApp| async move {
        let (_, maker) = app.create_org("Acme Motors", "manufacturer").await;
        let (collector_id, collector) = app.create_org("Collecte Lyon", "recycler").await;
        let registrations: Vec<Value> = (0..1000).map(|i| motor(&format!("K-{i:04}"))).collect();
        let response = app
            .post("/api/v1/passports/bulk")
            .bearer_auth(&maker)
            .json(&registrations)
            .send()
            .await
            .unwrap();
        let bulk: Value = response.json().await.unwrap();
        assert_eq!(bulk["created"], 1000, "{}", bulk["results"][0]);
        let events: Vec<Value> = (0..1000)
            .map(|i| {
                event(
                    "collecting",
                    &[urn(&format!("K-{i:04}"))],
                    &format!("2026-09-02T09:{:02}:{:02}Z", i / 60 % 60, i % 60),
                )
            })
            .collect();
        let report = captured(&app, &collector, &document(events)).await;
        assert_eq!(report["captured"], 1000);
        let last = &report["events"][999];
        assert_eq!(last["leaf_index"], 999);
        assert_eq!(last["action"], "collect");
        let id = bulk["results"][999]["id"].as_str().unwrap();
        let scan = get_json(&app, &collector, &format!("/api/v1/custody/{id}")).await;
        assert_eq!(scan["custody"]["state"], "collected");
        assert_eq!(scan["custody"]["holder"], collector_id);
        let page = get_json(
            &app,
            &collector,
            "/api/v1/epcis/events?EQ_bizStep=collecting&perPage=1000",
        )
        .await;
        let list = page["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            .as_array()
            .unwrap();
        assert_eq!(list.len(), 1000);
        validate_document(&page).unwrap();
        assert_log_verifies(&app, &collector).await;
    }
);

api_test!(
    concurrent_captures_of_the_same_products_leave_one_winner,
    |app: TestApp| async move {
        let (_, maker) = app.create_org("Acme Motors", "manufacturer").await;
        let (_, collector) = app.create_org("Collecte Lyon", "recycler").await;
        let mut ids = Vec::new();
        for i in 0..20 {
            ids.push(register(&app, &maker, &format!("R-{i:02}")).await);
        }
        let app = std::sync::Arc::new(app);
        let mut tasks = tokio::task::JoinSet::new();
        for writer in 0..6 {
            let app = app.clone();
            let collector = collector.clone();
            // Each writer's events differ (their time), so only custody can tell them apart.
            let doc = document(
                (0..20)
                    .map(|i| {
                        event(
                            "collecting",
                            &[urn(&format!("R-{i:02}"))],
                            &format!("2026-09-02T09:{writer:02}:{i:02}Z"),
                        )
                    })
                    .collect(),
            );
            tasks.spawn(async move { capture(&app, &collector, &doc, false).await.status() });
        }
        let mut statuses = Vec::new();
        while let Some(status) = tasks.join_next().await {
            statuses.push(status.unwrap().as_u16());
        }
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409, 409, 409, 409, 409]);
        for id in &ids {
            let scan = get_json(&app, &collector, &format!("/api/v1/custody/{id}")).await;
            assert_eq!(scan["custody"]["state"], "collected");
            assert_eq!(scan["events"].as_array().unwrap().len(), 1, "no fork");
        }
        assert_eq!(log_size(&app, &collector).await, 20);
        assert_log_verifies(&app, &collector).await;
    }
);

/// The ids of a query page's events, and its next link.
async fn page(app: &TestApp, key: &str, query: &str) -> (Vec<String>, Option<String>) {
    let response = app
        .get(&format!("/api/v1/epcis/events?{query}"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let next = response
        .headers()
        .get("link")
        .map(|l| l.to_str().unwrap().to_owned());
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{query}: {body}");
    validate_document(&body).unwrap_or_else(|e| panic!("{query}: {e:?}"));
    let ids = body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventID"].as_str().unwrap().to_owned())
        .collect();
    (ids, next)
}

api_test!(
    queries_select_by_each_parameter_and_paginate,
    |app: TestApp| async move {
        let (_, maker) = app.create_org("Acme Motors", "manufacturer").await;
        let (_, collector) = app.create_org("Collecte Lyon", "recycler").await;
        register(&app, &maker, "Q-1").await;
        let q2 = register(&app, &maker, "Q-2").await;
        let site = "urn:epc:id:sgln:4012345.00001.0";
        let with_id = |mut e: Value, n: u32, location: Option<&str>| {
            e["eventID"] = json!(format!("urn:uuid:00000000-0000-4000-8000-00000000000{n}"));
            if let Some(l) = location {
                e["bizLocation"] = json!({"id": l});
            }
            e
        };
        let mut aggregation = json!({
            "type": "AggregationEvent", "eventTime": "2026-09-02T13:00:00Z",
            "eventTimeZoneOffset": "+00:00", "action": "ADD",
            "parentID": "urn:epc:id:sscc:4012345.0000000001",
            "childEPCs": [link("Q-1")]
        });
        aggregation = with_id(aggregation, 4, None);
        let mut oxide = json!({
            "type": "ObjectEvent", "eventTime": "2026-09-02T14:00:00Z",
            "eventTimeZoneOffset": "+00:00", "action": "OBSERVE", "bizStep": "inspecting",
            "quantityList": [{"epcClass": "https://id.gs1.org/01/04012345000030/10/OX-1", "quantity": 0.5, "uom": "KGM"}]
        });
        oxide = with_id(oxide, 5, None);
        let doc = document(vec![
            with_id(
                event("collecting", &[urn("Q-1")], "2026-09-02T09:00:00Z"),
                1,
                Some(site),
            ),
            with_id(
                event("collecting", &[urn("Q-2")], "2026-09-02T10:00:00Z"),
                2,
                None,
            ),
            with_id(
                event("receiving", &[link("Q-1")], "2026-09-02T11:00:00Z"),
                3,
                Some("https://id.gs1.org/414/4012345000016"),
            ),
            aggregation,
            oxide,
        ]);
        captured(&app, &collector, &doc).await;
        // A step through the REST route is found by the same queries.
        let rest = app
            .post(&format!("/api/v1/custody/{q2}/events"))
            .bearer_auth(&collector)
            .json(&json!({"action": "receive", "at": "2026-09-02T15:00:00Z", "location": {"id": site}}))
            .send()
            .await
            .unwrap();
        assert_eq!(rest.status(), 201);
        let rest: Value = rest.json().await.unwrap();
        let rest_id = rest["event_id"].as_str().unwrap().to_owned();
        let uuid = |n: u32| format!("urn:uuid:00000000-0000-4000-8000-00000000000{n}");
        let ids = |list: &[u32]| list.iter().map(|&n| uuid(n)).collect::<Vec<_>>();
        let with_rest = |list: &[u32]| {
            let mut v = ids(list);
            v.push(rest_id.clone());
            v
        };

        let (got, next) = page(&app, &collector, "EQ_bizStep=collecting").await;
        assert_eq!(got, ids(&[1, 2]));
        assert!(next.is_none());
        let (got, _) = page(
            &app,
            &collector,
            &format!(
                "EQ_bizStep={}",
                encode("https://ref.gs1.org/cbv/BizStep-receiving")
            ),
        )
        .await;
        assert_eq!(got, with_rest(&[3]));
        let (got, _) = page(
            &app,
            &collector,
            &format!("MATCH_anyEPC={}", encode(&urn("Q-1"))),
        )
        .await;
        assert_eq!(got, ids(&[1, 3, 4]), "epcList and childEPCs");
        let (got, _) = page(
            &app,
            &collector,
            &format!("MATCH_anyEPC={}", encode(&link("Q-2"))),
        )
        .await;
        assert_eq!(got, with_rest(&[2]));
        let (got, _) = page(
            &app,
            &collector,
            &format!(
                "MATCH_anyEPC={}",
                encode("urn:epc:idpat:sgtin:4012345.000001.*")
            ),
        )
        .await;
        assert_eq!(got, with_rest(&[1, 2, 3, 4]), "a pattern");
        let (got, _) = page(
            &app,
            &collector,
            &format!(
                "MATCH_epcClass={}",
                encode("urn:epc:class:lgtin:4012345.000003.OX-1")
            ),
        )
        .await;
        assert_eq!(got, ids(&[5]));
        let (got, _) = page(
            &app,
            &collector,
            "GE_eventTime=2026-09-02T10:00:00Z&LT_eventTime=2026-09-02T14:00:00Z",
        )
        .await;
        assert_eq!(got, ids(&[2, 3, 4]));
        let (got, _) = page(
            &app,
            &collector,
            &format!("EQ_bizLocation={}", encode(site)),
        )
        .await;
        assert_eq!(got, with_rest(&[1, 3]), "URN and Digital Link of one place");
        let (got, _) = page(&app, &collector, "EQ_action=ADD").await;
        assert_eq!(got, ids(&[4]));
        let (got, _) = page(&app, &collector, "EQ_action=OBSERVE&EQ_bizStep=receiving").await;
        assert_eq!(got, with_rest(&[3]));

        // Pages of two, followed through the Link header, then by the token as a parameter.
        let mut all = Vec::new();
        let mut next = Some(format!("{}/api/v1/epcis/events?perPage=2", app.address));
        let mut pages = 0;
        while let Some(url) = next {
            let response = app
                .client
                .get(&url)
                .bearer_auth(&collector)
                .send()
                .await
                .unwrap();
            next = response.headers().get("link").map(|l| {
                let l = l.to_str().unwrap();
                assert!(l.ends_with("; rel=\"next\""), "{l}");
                l[1..l.find('>').unwrap()].to_owned()
            });
            let body: Value = response.json().await.unwrap();
            validate_document(&body).unwrap();
            for e in body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
                .as_array()
                .unwrap()
            {
                all.push(e["eventID"].as_str().unwrap().to_owned());
            }
            pages += 1;
        }
        assert_eq!(pages, 3);
        assert_eq!(all, with_rest(&[1, 2, 3, 4, 5]));
        let (got, next) = page(&app, &collector, "perPage=2&nextPageToken=3").await;
        assert_eq!(got, vec![uuid(5), rest_id.clone()]);
        assert!(next.is_none());

        // Refused parameters name themselves.
        for (query, param) in [
            ("EQ_color=red", "EQ_color"),
            ("perPage=0", "perPage"),
            ("GE_eventTime=yesterday", "GE_eventTime"),
            ("nextPageToken=abc", "nextPageToken"),
        ] {
            let response = app
                .get(&format!("/api/v1/epcis/events?{query}"))
                .bearer_auth(&collector)
                .send()
                .await
                .unwrap();
            let body = assert_problem(response, 400, "invalid_query_parameter").await;
            assert_eq!(body["errors"][0]["pointer"], param, "{query}");
        }
        let missing = app
            .get(&format!("/api/v1/epcis/events/{}", encode(&uuid(9))))
            .bearer_auth(&collector)
            .send()
            .await
            .unwrap();
        assert_problem(missing, 404, "not_found").await;
        let anonymous = app.get("/api/v1/epcis/events").send().await.unwrap();
        assert_problem(anonymous, 401, "unauthorized").await;
    }
);

api_test!(
    malformed_documents_are_refused_naming_where,
    |app: TestApp| async move {
        let (_, maker) = app.create_org("Acme Motors", "manufacturer").await;
        let (_, collector) = app.create_org("Collecte Lyon", "recycler").await;
        let send = |body: Vec<u8>, content_type: &'static str| {
            app.post("/api/v1/epcis/capture")
                .bearer_auth(&collector)
                .header("content-type", content_type)
                .body(body)
                .send()
        };
        let not_json = send(
            b"{\"type\": \"EPCISDocument\",".to_vec(),
            "application/json",
        )
        .await
        .unwrap();
        assert_problem(not_json, 400, "malformed_json").await;
        let lone = send(
            serde_json::to_vec(&event("collecting", &[urn("M-1")], "2026-09-02T09:00:00Z"))
                .unwrap(),
            "application/json",
        )
        .await
        .unwrap();
        let body = assert_problem(lone, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["pointer"], "/type");
        let mut doc = document(vec![event(
            "collecting",
            &[urn("M-1")],
            "2026-09-02T09:00:00Z",
        )]);
        doc["schemaVersion"] = json!(2);
        let envelope = send(serde_json::to_vec(&doc).unwrap(), "application/ld+json")
            .await
            .unwrap();
        let body = assert_problem(envelope, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["pointer"], "/schemaVersion");
        let mut bad_time = event("collecting", &[urn("M-1")], "2026-09-02T09:00:00Z");
        bad_time["eventTime"] = json!("2026-09-02 09:00");
        let refused = send(
            serde_json::to_vec(&document(vec![bad_time])).unwrap(),
            "application/json",
        )
        .await
        .unwrap();
        let body = assert_problem(refused, 422, "capture_refused").await;
        assert_eq!(
            body["event_errors"][0]["pointer"],
            "/epcisBody/eventList/0/eventTime"
        );
        let text = send(b"<EPCISDocument/>".to_vec(), "application/xml")
            .await
            .unwrap();
        assert_problem(text, 415, "unsupported_media_type").await;
        let by_maker = app
            .post("/api/v1/epcis/capture")
            .bearer_auth(&maker)
            .json(&document(vec![event(
                "collecting",
                &[urn("M-1")],
                "2026-09-02T09:00:00Z",
            )]))
            .send()
            .await
            .unwrap();
        assert_problem(by_maker, 403, "forbidden").await;
        let bad_header = app
            .post("/api/v1/epcis/capture")
            .bearer_auth(&collector)
            .header("GS1-EPCIS-Capture-Error-Behaviour", "sometimes")
            .json(&document(vec![event(
                "collecting",
                &[urn("M-1")],
                "2026-09-02T09:00:00Z",
            )]))
            .send()
            .await
            .unwrap();
        let body = assert_problem(bad_header, 400, "invalid_header").await;
        assert_eq!(
            body["errors"][0]["pointer"],
            "GS1-EPCIS-Capture-Error-Behaviour"
        );
        assert_eq!(log_size(&app, &collector).await, 0);
    }
);

api_test!(
    epcis_input_edges_are_refused_alike_on_both_backends,
    |app: TestApp| async move {
        let (_, recycler) = app.create_org("Edges Recycling", "recycler").await;
        let maker = app.create_org("Edges Motors", "manufacturer").await.1;
        register(&app, &maker, "EDGE-1").await;
        let before = log_size(&app, &recycler).await;

        // A key twice in an event: refused naming it, not last-wins.
        let one = event("collecting", &[urn("EDGE-1")], "2026-09-01T08:00:00Z");
        let text = serde_json::to_string(&document(vec![one]))
            .unwrap()
            .replacen(
                "\"action\":\"OBSERVE\"",
                "\"action\":\"OBSERVE\",\"action\":\"ADD\"",
                1,
            );
        let response = app
            .post("/api/v1/epcis/capture")
            .bearer_auth(&recycler)
            .header("content-type", "application/ld+json")
            .body(text)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(
            problem["errors"][0]["pointer"],
            "/epcisBody/eventList/0/action"
        );

        // A 1 MiB string in an extension: refused, nothing stored.
        let mut big = event("collecting", &[urn("EDGE-1")], "2026-09-01T08:00:00Z");
        big["ree:note"] = json!("x".repeat(1 << 20));
        let response = capture(&app, &recycler, &document(vec![big]), false).await;
        let problem = assert_problem(response, 422, "capture_refused").await;
        assert_eq!(
            problem["errors"][0]["pointer"],
            "/epcisBody/eventList/0/ree:note"
        );
        assert_eq!(log_size(&app, &recycler).await, before);

        // NUL and other control characters in query parameters: 400 naming the parameter.
        for query in [
            "EQ_bizStep=collect%00ing",
            "MATCH_anyEPC=urn%01x",
            "EQ_action=%0A",
        ] {
            let response = app
                .get(&format!("/api/v1/epcis/events?{query}"))
                .bearer_auth(&recycler)
                .send()
                .await
                .unwrap();
            let problem = assert_problem(response, 400, "invalid_query_parameter").await;
            let name = query.split('=').next().unwrap();
            assert_eq!(problem["errors"][0]["pointer"], name, "{query}");
        }
    }
);

/// An event that is no custody step (here an observation that the product was destroyed).
fn observation(epcs: &[String], time: &str) -> Value {
    json!({
        "type": "ObjectEvent",
        "eventTime": time,
        "eventTimeZoneOffset": "+00:00",
        "epcList": epcs,
        "action": "OBSERVE",
        "disposition": "destroyed",
    })
}

api_test!(
    only_the_holder_writes_other_events_into_a_products_history,
    |app: TestApp| async move {
        let (_, maker) = app.create_org("Acme Motors", "manufacturer").await;
        let (_, holder) = app.create_org("Collecte Lyon", "recycler").await;
        let (_, outsider) = app.create_org("Never Held It", "recycler").await;
        let held = register(&app, &maker, "H-1").await;
        let in_use = register(&app, &maker, "H-2").await;
        captured(
            &app,
            &holder,
            &document(vec![event(
                "collecting",
                &[urn("H-1")],
                "2026-09-02T09:00:00Z",
            )]),
        )
        .await;

        // A recycler that never held the product: refused, naming the rule and the product.
        let refused = capture(
            &app,
            &outsider,
            &document(vec![observation(&[link("H-1")], "2026-09-03T09:00:00Z")]),
            false,
        )
        .await;
        let body = assert_problem(refused, 409, "capture_refused").await;
        let errors = body["event_errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{body}");
        assert_eq!(errors[0]["code"], "not_holder");
        assert_eq!(errors[0]["status"], 409);
        assert_eq!(errors[0]["pointer"], "/epcisBody/eventList/0/epcList/0");
        let detail = errors[0]["detail"].as_str().unwrap();
        assert!(
            detail.contains(&held) && detail.contains("holder"),
            "{detail}"
        );
        // Nobody holds a product in use: an observation of it is refused as well.
        let refused = capture(
            &app,
            &outsider,
            &document(vec![observation(&[urn("H-2")], "2026-09-03T09:00:00Z")]),
            false,
        )
        .await;
        let body = assert_problem(refused, 409, "capture_refused").await;
        assert_eq!(body["event_errors"][0]["code"], "not_holder", "{body}");
        assert_eq!(log_size(&app, &holder).await, 1);
        let scan = get_json(&app, &holder, &format!("/api/v1/custody/{held}")).await;
        assert_eq!(scan["events"].as_array().unwrap().len(), 1, "{scan}");
        let scan = get_json(&app, &holder, &format!("/api/v1/custody/{in_use}")).await;
        assert_eq!(scan["events"].as_array().unwrap().len(), 0, "{scan}");

        // Steps keep their rules: any recycler collects a product in use, and then holds it
        // for the rest of the document; the product it does not hold still refuses the
        // document, all or nothing, or that event alone when asked to proceed.
        let mixed = document(vec![
            event("collecting", &[urn("H-2")], "2026-09-04T09:00:00Z"),
            observation(&[urn("H-2")], "2026-09-04T10:00:00Z"),
            observation(&[urn("H-1")], "2026-09-04T11:00:00Z"),
        ]);
        let refused = capture(&app, &outsider, &mixed, false).await;
        let body = assert_problem(refused, 409, "capture_refused").await;
        let errors = body["event_errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{body}");
        assert_eq!(
            (&errors[0]["index"], &errors[0]["code"]),
            (&json!(2), &json!("not_holder"))
        );
        assert_eq!(log_size(&app, &holder).await, 1, "nothing stored");
        let response = capture(&app, &outsider, &mixed, true).await;
        assert_eq!(response.status(), 201);
        let report: Value = response.json().await.unwrap();
        let statuses: Vec<&str> = report["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["captured", "captured", "refused"], "{report}");
        let scan = get_json(&app, &outsider, &format!("/api/v1/custody/{in_use}")).await;
        assert_eq!(scan["events"].as_array().unwrap().len(), 2, "{scan}");
        let scan = get_json(&app, &holder, &format!("/api/v1/custody/{held}")).await;
        assert_eq!(scan["events"].as_array().unwrap().len(), 1, "{scan}");

        // The holder records what it observes; identifiers we do not follow stay free.
        captured(
            &app,
            &holder,
            &document(vec![observation(&[urn("H-1")], "2026-09-05T09:00:00Z")]),
        )
        .await;
        let scan = get_json(&app, &holder, &format!("/api/v1/custody/{held}")).await;
        assert_eq!(scan["events"].as_array().unwrap().len(), 2, "{scan}");
        assert_eq!(scan["events"][1]["action"], "ObjectEvent");
        captured(
            &app,
            &outsider,
            &document(vec![observation(
                &[urn("NOT-OURS-1")],
                "2026-09-05T09:00:00Z",
            )]),
        )
        .await;
    }
);
