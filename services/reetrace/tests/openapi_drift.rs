//! The committed `openapi/reetrace.json` is exactly what the code generates.
//! Regenerate it with `cargo run -- openapi --output openapi/reetrace.json`.

#![allow(clippy::unwrap_used)]

use std::path::Path;

#[test]
fn committed_openapi_matches_the_code() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openapi/reetrace.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = reetrace::cli::openapi_json().unwrap();
    assert!(
        committed == generated,
        "openapi/reetrace.json is out of date: run `cargo run -- openapi --output openapi/reetrace.json` and commit it"
    );
}

#[test]
fn every_operation_is_documented() {
    let doc: serde_json::Value =
        serde_json::from_str(&reetrace::cli::openapi_json().unwrap()).unwrap();
    let mut ids = std::collections::HashSet::new();
    let declared_tags: std::collections::HashSet<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if method == "parameters" {
                continue;
            }
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(ids.insert(id.to_owned()), "duplicate operationId {id}");
            assert!(op["summary"].is_string(), "{id} has no summary");
            assert!(
                op["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{id} has no description"
            );
            for tag in op["tags"].as_array().into_iter().flatten() {
                assert!(
                    declared_tags.contains(tag.as_str().unwrap()),
                    "{id}: tag {tag} is not declared in the document's tags"
                );
            }
            // Ids in paths are UUIDs: say so, so that clients and fuzzers send UUIDs.
            for param in op["parameters"].as_array().into_iter().flatten() {
                let name = param["name"].as_str().unwrap();
                if param["in"] == "path" && (name == "id" || name.ends_with("_id")) {
                    assert_eq!(
                        param["schema"]["format"], "uuid",
                        "{id}: path parameter {name} is not a UUID"
                    );
                }
            }
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{id} has no tag"
            );
            assert!(op["security"].is_array(), "{id} does not say its security");
            // Public is `[]`: generators read `[{}]` as "needs a key".
            assert!(
                op["security"] != serde_json::json!([{}]),
                "{id}: a public operation says security: []"
            );
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.contains_key("500"), "{id} does not document 500");
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        response["content"]["application/problem+json"].is_object(),
                        "{id} {status} is not problem+json"
                    );
                }
            }
        }
    }
    assert!(!doc["servers"].as_array().unwrap().is_empty());
    assert_free_forms_are_open(&doc, "");
}

/// A bare `{"type": "object"}` reads as "no members" to generators (openapi-typescript):
/// free-form objects must say `additionalProperties`.
fn assert_free_forms_are_open(value: &serde_json::Value, at: &str) {
    match value {
        serde_json::Value::Object(map) => {
            let is_object = match &map.get("type") {
                Some(serde_json::Value::String(t)) => t == "object",
                Some(serde_json::Value::Array(types)) => types.iter().any(|t| t == "object"),
                _ => false,
            };
            if is_object {
                assert!(
                    map.contains_key("properties") || map.contains_key("additionalProperties"),
                    "{at} is an object with neither properties nor additionalProperties"
                );
            }
            for (key, inner) in map {
                assert_free_forms_are_open(inner, &format!("{at}/{key}"));
            }
        }
        serde_json::Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                assert_free_forms_are_open(inner, &format!("{at}/{i}"));
            }
        }
        _ => {}
    }
}

/// Output piped into a reader that stops early (`reetrace openapi | head -n 1`) ends quietly
/// with exit 0, not with a broken-pipe error.
#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_reetrace"))
        .arg("openapi")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one byte (the document is far larger than a pipe's buffer), then stop reading.
    let mut first = [0u8; 1];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(first[0], b'{');
    assert!(output.status.success(), "{:?}", output.status);
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}
