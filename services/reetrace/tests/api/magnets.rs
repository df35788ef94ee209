//! Magnets, removal steps and the responsible person (issue 14, docs/credential.md section 5):
//! the motor of the design registers with its rare-earth masses derived from its magnets, the
//! details document carries the magnets and the removal steps to those who may read it, and the
//! bad input of the issue is a 422 naming the JSON pointer.

use serde_json::{Value, json};

use crate::api_test;
use crate::helpers::{TestApp, assert_problem};

/// The motor of docs/credential.md section 5 (the valid schema example), without its recycled
/// source: this instance's custody service holds no such lot.
pub(crate) fn magnet_motor(serial: &str) -> Value {
    let mut motor: Value = serde_json::from_str(include_str!(
        "../../../../schemas/examples/valid/item-ev-traction-motor-with-magnets.json"
    ))
    .unwrap();
    motor["product"]["serial"] = json!(serial);
    motor["ree_content"]["components"][0]["magnets"][0]
        .as_object_mut()
        .unwrap()
        .remove("recycled_sources");
    motor
}

const OUTER: &str = "/ree_content/components/0/magnets/0";
const INNER: &str = "/ree_content/components/0/magnets/1";

api_test!(
    a_motor_with_magnets_registers_with_derived_elements_and_details,
    |app: TestApp| async move {
        let (_, owner) = app
            .create_org("Elektromotoren Rhein GmbH", "manufacturer")
            .await;
        let (_, recycler) = app.create_org("Urban Mine Recycling", "recycler").await;
        let issued = app.register(&owner, &magnet_motor("EVM-2026-000001")).await;
        let id = issued["id"].as_str().unwrap().to_owned();

        // The signed subject: element masses summed from the two sets, in atomic-number
        // order (B, Co, Ni of CRMA art. 29 beside the rare earths).
        let signed = &issued["credential"]["credentialSubject"];
        let masses: Vec<(&str, f64)> = signed["materialsProvenance"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["materialType"]["code"].as_str().unwrap(),
                    m["ree:massGrams"].as_f64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            masses,
            [
                ("B", 16.8),
                ("Co", 21.6),
                ("Ni", 5.6),
                ("Pr", 108.0),
                ("Nd", 380.4),
                ("Tb", 4.8),
                ("Dy", 40.8)
            ]
        );
        // The responsible person is public (CRMA art. 28(3)); each magnet and the removal
        // steps are not.
        assert_eq!(signed["ree:responsiblePerson"]["email"], "crma@emr.example");
        let subject = signed.to_string();
        for detail in ["removal_steps", "press_out", "N42SH"] {
            assert!(!subject.contains(detail), "{detail} in the signed subject");
        }

        let read = |key: Option<&str>| {
            let mut request = app.get(&format!("/api/v1/passports/{id}"));
            if let Some(key) = key {
                request = request.bearer_auth(key);
            }
            async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
        };
        let public = read(None).await;
        assert!(public.get("component_details").is_none(), "restricted");

        let professional = read(Some(&recycler)).await;
        assert_eq!(professional["tier"], "professional");
        let details = &professional["component_details"];
        let component = &details["components"][0];
        assert_eq!(component["magnets"][0]["ref"], "outer");
        assert_eq!(component["magnets"][1]["grade"], "N48H");
        assert_eq!(
            component["magnets"][0]["composition"][3],
            json!({"element": "Tb", "mass_g": 0.6, "method": "measured"})
        );
        assert_eq!(
            component["elements"][1],
            json!({"element": "Nd", "mass_g": 380.4, "method": "declared"})
        );
        assert_eq!(details["removal_steps"].as_array().unwrap().len(), 5);
        assert_eq!(
            details["removal_steps"][0]["tools"][0],
            json!({"tool": "screwdriver", "drive": "torx", "size": "T30"})
        );
        assert_eq!(
            details["removal_steps"][4]["releases"],
            json!(["outer", "inner"])
        );
        assert_eq!(
            details["responsible_person"]["address"]["locality"],
            "Bingen am Rhein"
        );
        assert_eq!(details["details_access"], "restricted");
        // The details are the ones the signed subject commits to.
        let canonical = reetrace_core::crypto::jcs::canonicalize(details).unwrap();
        assert_eq!(
            professional["subject"]["ree_content"]["components_digest"],
            reetrace_passport::domain::subject::sri_sha256(&canonical)
        );

        // Made public, the details are everyone's.
        let mut open = magnet_motor("EVM-2026-000002");
        open["details_access"] = json!("public");
        let open_id = app.register(&owner, &open).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let anyone: Value = app
            .get(&format!("/api/v1/passports/{open_id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(anyone["tier"], "public");
        assert_eq!(anyone["component_details"]["details_access"], "public");
        assert_eq!(
            anyone["component_details"]["components"][0]["magnets"][1]["ref"],
            "inner"
        );
    }
);

/// Changes the motor of section 5 so that it breaks one rule.
type Breaker = fn(&mut Value);

/// The bad input of issue 14, each with the pointer its 422 must name.
fn bad_inputs() -> Vec<(&'static str, Breaker, String)> {
    vec![
        (
            "unknown magnet type",
            |r| r["ree_content"]["components"][0]["magnets"][1]["type"] = json!("neodymium"),
            format!("{INNER}/type"),
        ),
        (
            "unknown vocabulary value",
            |r| r["end_of_life"]["removal_steps"][1]["tools"][0]["tool"] = json!("hammer"),
            "/end_of_life/removal_steps/1/tools/0/tool".to_owned(),
        ),
        (
            "composition heavier than the magnet",
            |r| {
                r["ree_content"]["components"][0]["magnets"][0]["composition"][9]["mass_g"] =
                    json!(78.96)
            },
            format!("{OUTER}/composition"),
        ),
        (
            "removal step without an action",
            |r| {
                r["end_of_life"]["removal_steps"][3]
                    .as_object_mut()
                    .unwrap()
                    .remove("action");
            },
            "/end_of_life/removal_steps/3/action".to_owned(),
        ),
        (
            "share where a mass is expected",
            |r| {
                r["ree_content"]["components"][0]["magnets"][0]["composition"][0]["mass_g"] =
                    json!("22%")
            },
            format!("{OUTER}/composition/0/mass_g"),
        ),
        (
            "share instead of a mass",
            |r| {
                r["ree_content"]["components"][0]["magnets"][0]["composition"][0] =
                    json!({"element": "Nd", "share": 0.22})
            },
            format!("{OUTER}/composition/0/share"),
        ),
        (
            "elements next to magnets",
            |r| {
                r["ree_content"]["components"][0]["elements"] =
                    json!([{"element": "Nd", "mass_g": 380.4}])
            },
            "/ree_content/components/0/elements".to_owned(),
        ),
        (
            "release of an unknown magnet",
            |r| r["end_of_life"]["removal_steps"][4]["releases"][1] = json!("rotor"),
            "/end_of_life/removal_steps/4/releases/1".to_owned(),
        ),
    ]
}

api_test!(
    bad_magnet_input_is_a_422_naming_the_pointer,
    |app: TestApp| async move {
        let (_, owner) = app
            .create_org("Elektromotoren Rhein GmbH", "manufacturer")
            .await;
        for (i, (what, breaker, pointer)) in bad_inputs().into_iter().enumerate() {
            let mut registration = magnet_motor(&format!("BAD-{i}"));
            breaker(&mut registration);
            let response = app
                .post("/api/v1/passports")
                .bearer_auth(&owner)
                .json(&registration)
                .send()
                .await
                .unwrap();
            let problem = assert_problem(response, 422, "validation_failed").await;
            let pointers: Vec<&str> = problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["pointer"].as_str().unwrap())
                .collect();
            assert_eq!(pointers, [pointer.as_str()], "{what}: {problem}");
        }
        // Nothing was registered.
        let listed: Value = app
            .get("/api/v1/passports")
            .bearer_auth(&owner)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(listed["items"], json!([]), "{listed}");
    }
);

api_test!(
    bulk_registration_derives_and_checks_magnets_too,
    |app: TestApp| async move {
        let (_, owner) = app
            .create_org("Elektromotoren Rhein GmbH", "manufacturer")
            .await;
        let good = magnet_motor("BULK-1");
        let mut bad = magnet_motor("BULK-2");
        bad["ree_content"]["components"][0]["mass_g"] = json!(1500);
        let body = format!("{good}\n{bad}\n");
        let response = app
            .post("/api/v1/passports/bulk")
            .bearer_auth(&owner)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let text = response.text().await.unwrap();
        let results: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(results.len(), 2, "{text}");
        assert_eq!(results[0]["status"], 201, "{text}");
        assert_eq!(results[1]["status"], 422, "{text}");
        assert_eq!(
            results[1]["problem"]["errors"][0],
            json!({"pointer": "/ree_content/components/0/magnets",
                "detail": "the magnets weigh 1680 g (count × unit mass), more than the component's 1500 g"})
        );
        // The created one carries the derived masses.
        let id = results[0]["id"].as_str().unwrap();
        let credential: Value = app
            .get(&format!("/api/v1/passports/{id}/credential"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let nd = credential["credentialSubject"]["materialsProvenance"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["materialType"]["code"] == "Nd")
            .unwrap()
            .clone();
        assert_eq!(nd["ree:massGrams"], 380.4);
    }
);
