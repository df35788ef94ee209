//! The reference implementation's CBV 2.0 documents (`tests/fixtures/epcis/hash/`), captured as
//! another EPCIS system would send them, each into a fresh database: every event document is
//! captured, and each event is stored under the id it carries or, without one, under the hash the
//! reference gives it. What is refused is refused for a reason the test names:
//!
//! - an error declaration is captured once the event it declares erroneous is stored (by the
//!   same organisation, the same content: `errorDeclaration`, like `eventID` and `recordTime`, is
//!   not part of the hash); a declaration of an event this repository never held corrects
//!   nothing and is refused (`no_such_event`);
//! - `epcisDocWithCustomExtensions` gives two different events the same `eventID` (the
//!   reference shows that an id carried by the event does not enter its hash): an event id names
//!   one event, so the document is refused (409) at the second;
//! - `epcisQueryDocument` is a query result, not a capture document (422).

use std::path::PathBuf;

use reetrace_core::db::Backend;
use serde_json::Value;

use crate::helpers::{TestApp, spawn_app};

/// The vectors whose reference hash our hash does not follow, with why
/// (`services/custody/tests/epcis_hash.rs` names them): (document, event index).
const DIVERGENT: [(&str, usize); 2] = [
    ("TransformationEventWithUserExtensions.json", 0),
    ("masterDataAvailableForWithVeryMixedVoc.jsonld", 0),
];

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/epcis/hash")
}

async fn capture(app: &TestApp, key: &str, document: &Value) -> (u16, Value) {
    let response = app
        .post("/api/v1/epcis/capture")
        .bearer_auth(key)
        .header("content-type", "application/ld+json")
        .json(document)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn events(document: &Value) -> &Vec<Value> {
    document["epcisBody"]["eventList"].as_array().unwrap()
}

/// The document with its error declarations taken out: the events they declare erroneous.
fn originals(document: &Value) -> Option<Value> {
    let mut out = document.clone();
    let mut any = false;
    for event in out["epcisBody"]["eventList"].as_array_mut()? {
        any |= event
            .as_object_mut()
            .and_then(|e| e.remove("errorDeclaration"))
            .is_some();
    }
    any.then_some(out)
}

async fn every_reference_document(backend: Backend) {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("json" | "jsonld")
            )
        })
        .collect();
    paths.sort();
    assert_eq!(paths.len(), 26);
    let mut captured = 0;
    for path in paths {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let document: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let Some(app) = spawn_app(backend).await else {
            return;
        };
        let (_, key) = app.create_org("Interop Recycling", "recycler").await;
        match name.as_str() {
            "epcisQueryDocument.jsonld" => {
                let (status, body) = capture(&app, &key, &document).await;
                assert_eq!(
                    (status, body["code"].as_str()),
                    (422, Some("validation_failed")),
                    "{name}: {body}"
                );
                continue;
            }
            "epcisDocWithCustomExtensions.jsonld" => {
                let (status, body) = capture(&app, &key, &document).await;
                assert_eq!(status, 409, "{name}: {body}");
                assert_eq!(
                    body["errors"][0]["pointer"], "/epcisBody/eventList/1/eventID",
                    "{name}: {body}"
                );
                continue;
            }
            _ => {}
        }
        if let Some(originals) = originals(&document) {
            // A declaration of an event never captured here corrects nothing.
            let (status, body) = capture(&app, &key, &document).await;
            assert_eq!(status, 422, "{name}: {body}");
            assert_eq!(
                body["event_errors"][0]["code"], "no_such_event",
                "{name}: {body}"
            );
            let (status, body) = capture(&app, &key, &originals).await;
            assert_eq!(status, 201, "{name}, the declared events: {body}");
        }
        let (status, body) = capture(&app, &key, &document).await;
        assert_eq!(status, 201, "{name}: {body}");
        let expected: Vec<String> = std::fs::read_to_string(path.with_extension("hashes"))
            .unwrap()
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        let answered = body["events"].as_array().unwrap();
        assert_eq!(answered.len(), events(&document).len(), "{name}: {body}");
        for (i, (event, answer)) in events(&document).iter().zip(answered).enumerate() {
            if DIVERGENT.contains(&(name.as_str(), i)) {
                // Our hash, not the reference's: stored under it when the event has no id.
                assert_ne!(
                    answer["eventHash"],
                    expected[i].as_str(),
                    "{name}, event {i}"
                );
                let own = answer["eventHash"].as_str().unwrap();
                let id = event["eventID"].as_str().unwrap_or(own);
                assert_eq!(answer["eventID"], id, "{name}, event {i}");
            } else {
                let id = event["eventID"].as_str().unwrap_or(&expected[i]);
                assert_eq!(answer["eventID"], id, "{name}, event {i}");
                assert_eq!(
                    answer["eventHash"],
                    expected[i].as_str(),
                    "{name}, event {i}"
                );
            }
            captured += 1;
        }
    }
    // The 44 events of the vectors, less the two of the query document and the two of the
    // document refused for its shared id.
    assert_eq!(captured, 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn epcis_reference_documents_are_captured_sqlite() {
    every_reference_document(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn epcis_reference_documents_are_captured_postgres() {
    every_reference_document(Backend::Postgres).await;
}
