//! A PUT that changes nothing: the registration the current version was made from (however the
//! JSON is written) answers that version and creates nothing, also when two such PUTs race.

use serde_json::{Value, json};

use crate::api_test;
use crate::helpers::TestApp;
use crate::passports::motor;

/// PUTs `body` (JSON text, sent as is) to passport `id`; returns the status and the answer.
async fn put_text(
    app: &TestApp,
    key: &str,
    id: &str,
    body: String,
    idempotency_key: Option<&str>,
) -> (u16, Value) {
    let mut request = app
        .put(&format!("/api/v1/passports/{id}"))
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(body);
    if let Some(k) = idempotency_key {
        request = request.header("idempotency-key", k);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn put(app: &TestApp, key: &str, id: &str, body: &Value) -> (u16, Value) {
    put_text(app, key, id, body.to_string(), None).await
}

/// The version numbers the versions list shows.
async fn versions(app: &TestApp, id: &str) -> Vec<u64> {
    let listed = app
        .get_json(&format!("/api/v1/passports/{id}/versions"), None)
        .await;
    listed
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect()
}

/// How many events the passport feed holds.
async fn feed_length(app: &TestApp, service: &str) -> usize {
    app.get_json("/api/v1/feeds/passport?after=0&limit=1000", Some(service))
        .await["events"]
        .as_array()
        .unwrap()
        .len()
}

/// `motor` as another client would write it: other key order, other whitespace, a number
/// spelt differently.
fn rewritten(serial: &str) -> String {
    let body = motor(serial);
    let product = &body["product"];
    format!(
        r#"{{
  "confidential" : {confidential},
  "end_of_life" : {end_of_life},
  "ree_content" : {ree_content},
  "product" : {{ "placed_on_market": {placed}, "net_mass_g" : 4.8e4,
      "serial": "{serial}", "model": "PM150", "name": {name}, "gtin": "04012345000016",
      "category": "ev_traction_motor", "manufactured_on": "2026-03-02",
      "expected_lifetime_years": 15 }},
  "granularity": "item"
}}"#,
        confidential = body["confidential"],
        end_of_life = body["end_of_life"],
        ree_content = body["ree_content"],
        placed = product["placed_on_market"],
        name = product["name"],
    )
}

api_test!(
    an_unchanged_put_answers_the_current_version,
    |app: TestApp| async move {
        let (_, owner) = app.create_org("Acme Motors", "manufacturer").await;
        let (_, service) = app.create_org("Stock service", "service").await;
        let first = app.register(&owner, &motor("EVM-1")).await;
        let id = first["id"].as_str().unwrap();
        assert_eq!(feed_length(&app, &service).await, 1);

        // The body of the registration, as sent and as rewritten: the version it made.
        for body in [motor("EVM-1").to_string(), rewritten("EVM-1")] {
            let (status, answer) = put_text(&app, &owner, id, body, None).await;
            assert_eq!(status, 200, "{answer}");
            assert_eq!(answer, first, "the PUT answers version 1 as issued");
        }
        assert_eq!(versions(&app, id).await, [1]);
        assert_eq!(feed_length(&app, &service).await, 1, "no event");
        let view = app.get_json(&format!("/api/v1/passports/{id}"), None).await;
        assert_eq!(view["version"], 1);

        // A change makes version 2, as before; the same change again answers it.
        let mut changed = motor("EVM-1");
        changed["product"]["net_mass_g"] = json!(47500);
        let (status, second) = put(&app, &owner, id, &changed).await;
        assert_eq!(status, 200, "{second}");
        assert_eq!(second["version"], 2);
        let (status, again) = put(&app, &owner, id, &changed).await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(again, second);
        assert_eq!(again["credential"]["id"], second["credential"]["id"]);
        assert_eq!(versions(&app, id).await, [1, 2]);
        assert_eq!(feed_length(&app, &service).await, 2);

        // Going back is a change: compared with the current version, not any earlier one.
        let (status, third) = put(&app, &owner, id, &motor("EVM-1")).await;
        assert_eq!(status, 200, "{third}");
        assert_eq!(third["version"], 3);
        assert_eq!(
            third["credential"]["credentialSubject"]["ree:previousVersion"],
            second["credential"]["id"]
        );
        // The confidential fields are stored with a version: changing them is a change.
        let mut confidential = motor("EVM-1");
        confidential["confidential"]["cost_eur"] = json!(395);
        let (_, fourth) = put(&app, &owner, id, &confidential).await;
        assert_eq!(fourth["version"], 4);
        assert_eq!(versions(&app, id).await, [1, 2, 3, 4]);
    }
);

api_test!(
    identical_puts_that_race_make_one_version,
    |app: TestApp| async move {
        let (_, owner) = app.create_org("Acme Motors", "manufacturer").await;
        let id = app.register(&owner, &motor("EVM-1")).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut changed = motor("EVM-1");
        changed["product"]["net_mass_g"] = json!(47500);
        let answers =
            futures::future::join_all((0..4).map(|_| put(&app, &owner, &id, &changed))).await;
        for (status, answer) in &answers {
            assert_eq!(*status, 200, "{answer}");
            assert_eq!(*answer, answers[0].1);
        }
        assert_eq!(answers[0].1["version"], 2);
        assert_eq!(versions(&app, &id).await, [1, 2]);
    }
);

api_test!(
    an_unchanged_put_with_a_key_replays_its_answer,
    |app: TestApp| async move {
        let (_, owner) = app.create_org("Acme Motors", "manufacturer").await;
        let first = app.register(&owner, &motor("EVM-1")).await;
        let id = first["id"].as_str().unwrap();
        let body = motor("EVM-1").to_string();
        let (status, answer) = put_text(&app, &owner, id, body.clone(), Some("same-1")).await;
        assert_eq!((status, &answer), (200, &first));
        let mut changed = motor("EVM-1");
        changed["product"]["net_mass_g"] = json!(47500);
        let (_, second) = put(&app, &owner, id, &changed).await;
        assert_eq!(second["version"], 2);
        // The retry answers what the first attempt answered; it does not put v1's body back.
        let (status, replay) = put_text(&app, &owner, id, body, Some("same-1")).await;
        assert_eq!((status, &replay), (200, &first));
        assert_eq!(versions(&app, id).await, [1, 2]);
    }
);

api_test!(
    a_version_issued_before_fingerprints_is_never_unchanged,
    |app: TestApp| async move {
        let (_, owner) = app.create_org("Acme Motors", "manufacturer").await;
        let first = app.register(&owner, &motor("EVM-1")).await;
        let id = first["id"].as_str().unwrap();
        // The state of a version issued by an older build.
        app.execute(
            reetrace_core::db::Sql::new(
                "UPDATE passport_versions SET registration_fingerprint = NULL \
                 WHERE passport_id = $1",
            )
            .bind(uuid::Uuid::parse_str(id).unwrap()),
        )
        .await;
        let (status, second) = put(&app, &owner, id, &motor("EVM-1")).await;
        assert_eq!(status, 200, "{second}");
        assert_eq!(second["version"], 2);
        // The new version has one: the same body again changes nothing.
        let (_, again) = put(&app, &owner, id, &motor("EVM-1")).await;
        assert_eq!(again, second);
        assert_eq!(versions(&app, id).await, [1, 2]);
    }
);
