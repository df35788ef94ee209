//! Residue deposits over HTTP (issue 20): a surveyor records a bauxite residue deposit and a
//! coal ash landfill; both are open data, verify as credentials through the VC-API, version,
//! withdraw (revoked in their status lists), and export as GeoJSON and assay CSV. Bad records
//! are 422s naming the pointer, and nothing is written.

use serde_json::{Value, json};

use crate::api_test;
use crate::credentials::{assert_refused, verify};
use crate::helpers::{TestApp, assert_problem};

fn red_mud() -> Value {
    json!({
        "name": "Residue pond 10",
        "type": "bauxite_residue",
        "status": "closed",
        "location": {
            "geometry": {"type": "Polygon", "coordinates": [
                [[17.47, 47.08], [17.47, 47.09], [17.49, 47.09], [17.49, 47.08], [17.47, 47.08]]
            ]},
            "country": "HU", "nuts": "HU213"
        },
        "operator": {"name": "Alumina works"},
        "tonnage": {"tonnes": 30_000_000, "uncertainty_tonnes": 3_000_000, "method": "survey"},
        "deposition": {"from": 1964, "to": 2010},
        "assays": [
            {"sampled_on": "2024-05-02", "method": "ICP-MS", "laboratory": "Lab, \"A\"",
             "sample_count": 20,
             "concentrations": [{"element": "Sc", "ppm": 110, "uncertainty_ppm": 8},
                                {"element": "Nd", "ppm": 95, "uncertainty_ppm": 6}]},
            {"sampled_on": "2025-03-10", "method": "XRF", "laboratory": "Lab B",
             "sample_count": 5,
             "concentrations": [{"element": "Nd", "ppm": 120, "uncertainty_ppm": 10}]}
        ]
    })
}

fn ash_landfill() -> Value {
    json!({
        "name": "Ash landfill", "type": "fly_ash", "status": "active",
        "location": {"geometry": {"type": "Point", "coordinates": [23.1, 42.2]}, "country": "BG"},
        "tonnage": {"tonnes": 5_000_000, "uncertainty_tonnes": 500_000, "method": "production_model"},
        "deposition": {"from": 1985},
        "assays": [{"sampled_on": "2023-10-01", "method": "ICP-MS", "laboratory": "Lab C",
                    "sample_count": 12,
                    "concentrations": [{"element": "Ce", "ppm": 130.5, "uncertainty_ppm": 9}]}]
    })
}

pub(crate) async fn record(app: &TestApp, key: &str, body: &Value) -> Value {
    let response = app
        .post("/api/v1/deposits")
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let made: Value = response.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/deposits/{}", made["id"].as_str().unwrap())
    );
    made
}

async fn credential(app: &TestApp, id: &str, version: i64) -> Value {
    let response = app
        .get(&format!(
            "/api/v1/deposits/{id}/credential?version={version}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/vc");
    response.json().await.unwrap()
}

api_test!(
    a_surveyor_records_deposits_that_verify_as_open_data,
    |app: TestApp| async move {
        let (_org, surveyor) = app.create_org("Geological survey", "surveyor").await;
        let mud = record(&app, &surveyor, &red_mud()).await;
        let ash = record(&app, &surveyor, &ash_landfill()).await;
        let id = mud["id"].as_str().unwrap();

        // Open data: read without a key, with the content per element.
        let read = app.get_json(&format!("/api/v1/deposits/{id}"), None).await;
        assert_eq!(read["version"], 1);
        let nd = read["content"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["element"] == "Nd")
            .unwrap()
            .clone();
        // (20 × 95 + 5 × 120) / 25 = 100 ppm; 30 Mt × 100 g/t = 3,000,000 kg.
        assert_eq!(nd["samples"], 25);
        assert_eq!(nd["concentration_ppm"], 100.0);
        assert_eq!(nd["content_kg"], 3_000_000.0);
        assert_eq!(nd["exact"], true);
        let u_c = (20.0f64 * 6.0).hypot(5.0 * 10.0) / 25.0;
        let expected = (100.0 * 3_000_000.0f64).hypot(30_000_000.0 * u_c) / 1000.0;
        let got = nd["content_uncertainty_kg"].as_f64().unwrap();
        assert!(
            (got - expected).abs() / expected < 1e-12,
            "{got} {expected}"
        );

        // Both verify as credentials of the surveyor's organisation.
        for made in [&mud, &ash] {
            let vc = credential(&app, made["id"].as_str().unwrap(), 1).await;
            assert_eq!(vc["type"][1], "ResidueDepositCredential");
            let (status, result) = verify(&app, &vc).await;
            assert_eq!(status, 200, "{result}");
            assert_eq!(result["verified"], true);
        }

        // Only surveyors write; without a key, 401.
        let (_m, maker) = app.create_org("Maker", "manufacturer").await;
        let refused = app
            .post("/api/v1/deposits")
            .bearer_auth(&maker)
            .json(&red_mud())
            .send()
            .await
            .unwrap();
        assert_problem(refused, 403, "forbidden").await;
        let anonymous = app
            .post("/api/v1/deposits")
            .json(&red_mud())
            .send()
            .await
            .unwrap();
        assert_problem(anonymous, 401, "unauthorized").await;

        // The list, filtered, and the exports.
        let hungary = app.get_json("/api/v1/deposits?country=HU", None).await;
        assert_eq!(hungary["items"].as_array().unwrap().len(), 1);
        let geo = app.get("/api/v1/deposits.geojson").send().await.unwrap();
        assert_eq!(geo.headers()["content-type"], "application/geo+json");
        let geo: Value = geo.json().await.unwrap();
        assert_eq!(geo["type"], "FeatureCollection");
        let features = geo["features"].as_array().unwrap();
        assert_eq!(features.len(), 2);
        let pond = features.iter().find(|f| f["id"] == id).unwrap();
        // The clockwise outline is written counterclockwise (RFC 7946 right-hand rule).
        assert_eq!(pond["geometry"]["coordinates"][0][1], json!([17.49, 47.08]));
        assert!(pond["properties"].get("assays").is_none());
        let csv = app
            .get("/api/v1/deposits/assays.csv?type=bauxite_residue")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 4, "{csv}");
        assert!(lines[0].starts_with("deposit_id,version,deposit,type,country"));
        assert!(
            lines[1].contains(",\"Lab, \"\"A\"\"\",20,Sc,110,8"),
            "{csv}"
        );
    }
);

api_test!(
    versions_and_withdrawal_revoke_the_credentials,
    |app: TestApp| async move {
        let (_org, surveyor) = app.create_org("Geological survey", "surveyor").await;
        let made = record(&app, &surveyor, &red_mud()).await;
        let id = made["id"].as_str().unwrap();
        let mut changed = red_mud();
        changed["tonnage"]["tonnes"] = json!(31_500_000);
        let response = app
            .put(&format!("/api/v1/deposits/{id}"))
            .bearer_auth(&surveyor)
            .json(&changed)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let second: Value = response.json().await.unwrap();
        assert_eq!(second["version"], 2);
        let versions = app
            .get_json(&format!("/api/v1/deposits/{id}/versions"), None)
            .await;
        assert_eq!(versions.as_array().unwrap().len(), 2);

        // Another surveyor may not change it.
        let (_o, other) = app.create_org("Other survey", "surveyor").await;
        let refused = app
            .put(&format!("/api/v1/deposits/{id}"))
            .bearer_auth(&other)
            .json(&red_mud())
            .send()
            .await
            .unwrap();
        assert_problem(refused, 403, "forbidden").await;

        let withdrawn = app
            .post(&format!("/api/v1/deposits/{id}/revoke"))
            .bearer_auth(&surveyor)
            .send()
            .await
            .unwrap();
        assert_eq!(withdrawn.status(), 200);
        for version in [1, 2] {
            let vc = credential(&app, id, version).await;
            let errors = assert_refused(&app, &vc).await;
            assert!(
                errors.iter().any(|(check, _)| check == "status"),
                "{errors:?}"
            );
        }
        let after = app
            .put(&format!("/api/v1/deposits/{id}"))
            .bearer_auth(&surveyor)
            .json(&red_mud())
            .send()
            .await
            .unwrap();
        assert_problem(after, 409, "deposit_withdrawn").await;
        let listed = app.get_json("/api/v1/deposits", None).await;
        assert_eq!(listed["items"], json!([]));
        let all = app.get_json("/api/v1/deposits?withdrawn=true", None).await;
        assert_eq!(all["items"].as_array().unwrap().len(), 1);
    }
);

// The credential's second `@context` is ours, served without a key by the deposits service as
// JSON-LD: the document whose terms the demo's credentials are checked against.
api_test!(
    the_credential_names_our_context_and_it_is_served,
    |app: TestApp| async move {
        let (_org, surveyor) = app.create_org("Geological survey", "surveyor").await;
        let made = record(&app, &surveyor, &ash_landfill()).await;
        let vc = credential(&app, made["id"].as_str().unwrap(), 1).await;
        let url = vc["@context"][1].as_str().unwrap();
        assert_eq!(url, format!("{}/contexts/deposits/v1", app.address));
        let response = app.get("/contexts/deposits/v1").send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/ld+json");
        let context: Value = response.json().await.unwrap();
        let terms = context["@context"].as_object().unwrap();
        for term in [
            "ResidueDepositCredential",
            "depositType",
            "assays",
            "content",
        ] {
            assert!(terms.contains_key(term), "{term}");
        }
    }
);

/// A bad record: its 422's pointers, and nothing written.
async fn refused(app: &TestApp, key: &str, body: &Value) -> Vec<String> {
    let response = app
        .post("/api/v1/deposits")
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 422, "validation_failed").await;
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap().to_owned())
        .collect()
}

api_test!(
    bad_records_name_the_field_and_write_nothing,
    |app: TestApp| async move {
        let (_org, surveyor) = app.create_org("Geological survey", "surveyor").await;
        let mut body = red_mud();
        body["location"]["geometry"] = json!({"type": "Point", "coordinates": [17.4, 147.0]});
        assert_eq!(
            refused(&app, &surveyor, &body).await,
            ["/location/geometry/coordinates/1"]
        );
        let mut body = red_mud();
        body["location"]["geometry"]["coordinates"][0] =
            json!([[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]);
        assert_eq!(
            refused(&app, &surveyor, &body).await,
            ["/location/geometry/coordinates/0"]
        );
        let mut body = red_mud();
        body["location"]["geometry"]["coordinates"][0]
            .as_array_mut()
            .unwrap()
            .pop();
        assert_eq!(
            refused(&app, &surveyor, &body).await,
            ["/location/geometry/coordinates/0"]
        );
        let mut body = red_mud();
        body["assays"][0]["concentrations"][0]["ppm"] = json!(1_000_001);
        assert_eq!(
            refused(&app, &surveyor, &body).await,
            ["/assays/0/concentrations/0/ppm"]
        );
        let mut body = red_mud();
        body["assays"][0]["concentrations"] = json!([
            {"element": "Fe", "ppm": 600_000, "uncertainty_ppm": 0},
            {"element": "Al", "ppm": 400_001, "uncertainty_ppm": 0}
        ]);
        assert_eq!(
            refused(&app, &surveyor, &body).await,
            ["/assays/0/concentrations"]
        );
        let mut body = red_mud();
        body["assays"][0]["concentrations"][0]["ppm"] = json!(-1);
        assert_eq!(
            refused(&app, &surveyor, &body).await,
            ["/assays/0/concentrations/0/ppm"]
        );
        let mut body = red_mud();
        body["tonnage"].as_object_mut().unwrap().remove("method");
        assert_eq!(refused(&app, &surveyor, &body).await, ["/tonnage/method"]);
        let mut body = red_mud();
        body["assays"][1]["concentrations"][0]["element"] = json!("Xx");
        let pointers = refused(&app, &surveyor, &body).await;
        assert_eq!(pointers, ["/assays/1/concentrations/0/element"]);

        let listed = app.get_json("/api/v1/deposits", None).await;
        assert_eq!(listed["items"], json!([]), "nothing written");
    }
);

api_test!(
    retries_record_once_with_an_idempotency_key,
    |app: TestApp| async move {
        let (_org, surveyor) = app.create_org("Geological survey", "surveyor").await;
        let send = |body: Value| {
            app.post("/api/v1/deposits")
                .bearer_auth(&surveyor)
                .header("Idempotency-Key", "pond-10")
                .json(&body)
                .send()
        };
        let first = send(red_mud()).await.unwrap();
        assert_eq!(first.status(), 201);
        let location = first.headers()["location"].clone();
        let first: Value = first.json().await.unwrap();
        let again = send(red_mud()).await.unwrap();
        assert_eq!(again.status(), 201);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(again.headers()["location"], location);
        let again: Value = again.json().await.unwrap();
        assert_eq!(again["id"], first["id"]);
        let listed = app.get_json("/api/v1/deposits", None).await;
        assert_eq!(
            listed["items"].as_array().unwrap().len(),
            1,
            "recorded once"
        );
        // The key with another record:
        let reused = send(ash_landfill()).await.unwrap();
        assert_problem(reused, 422, "idempotency_key_reused").await;

        // A PUT of the same record again changes nothing.
        let id = first["id"].as_str().unwrap();
        let same = app
            .put(&format!("/api/v1/deposits/{id}"))
            .bearer_auth(&surveyor)
            .json(&red_mud())
            .send()
            .await
            .unwrap();
        assert_eq!(same.status(), 200);
        let same: Value = same.json().await.unwrap();
        assert_eq!(same["version"], 1);
    }
);
