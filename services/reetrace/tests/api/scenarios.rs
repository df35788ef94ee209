//! Policy scenarios through the API: "Dy halved from 2030 + 60 % EV motor collection by 2035 +
//! 10 % REE-free motors" beside the baseline, versions and who may read or change them, and
//! bad levers as 422 naming the JSON pointer.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::api_test;
use crate::helpers::{TestApp, assert_problem};
use crate::passports::motor;

/// Per motor: 337.5 g Nd, 105 g Pr, 60 g Dy, 7.5 g Tb.
const ND_KG: f64 = 0.3375;
const DY_KG: f64 = 0.06;

/// Registers motors placed on the market in 2024 (2), 2025 (3) and 2026 (4); a recycler
/// collects one in 2026. Waits until the regulator sees it all.
async fn market(app: &TestApp, regulator: &str) {
    let (_, maker) = app.create_org("Acme Motors", "manufacturer").await;
    let (_, recycler) = app.create_org("Collecte Lyon", "recycler").await;
    let mut first = None;
    for (year, count) in [(2024, 2), (2025, 3), (2026, 4)] {
        for n in 0..count {
            let mut m = motor(&format!("SCN-{year}-{n}"));
            m["product"]["manufactured_on"] = json!(format!("{year}-03-02"));
            m["product"]["placed_on_market"]["date"] = json!(format!("{year}-04-15"));
            let id = app.register(&maker, &m).await["id"]
                .as_str()
                .unwrap()
                .to_owned();
            first.get_or_insert(id);
        }
    }
    let response = app
        .post(&format!("/api/v1/custody/{}/events", first.unwrap()))
        .bearer_auth(&recycler)
        .json(&json!({"action": "collect", "at": "2026-10-03T09:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    for _ in 0..300 {
        let mut totals = Vec::new();
        for flow in ["placed_on_market", "collected"] {
            let path = format!("/api/v1/stock/flows?element=Nd&flow={flow}&group_by=");
            let answer = app.get_json(&path, Some(regulator)).await;
            totals.push(answer["totals"][0]["value"].as_f64());
        }
        let near = |got: Option<f64>, kg: f64| got.is_some_and(|v| (v - kg).abs() < 1e-9);
        if near(totals[0], 9.0 * ND_KG) && near(totals[1], ND_KG) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the stock projection did not take in the market");
}

fn done_when() -> Value {
    json!({"name": "Dy halved, EV motor collection 60 %, REE-free motors 10 %",
    "levers": [
        {"kind": "thrifting", "category": "ev_traction_motor", "element": "Dy", "from": 2030, "factor": 0.5},
        {"kind": "collection_rate", "category": "ev_traction_motor", "from": 2027, "by": 2035, "target": 0.6},
        {"kind": "substitution", "category": "ev_traction_motor", "from": 2027, "share": 0.1}
    ]})
}

/// The rows of one result by (year, element).
fn rows(results: &Value) -> BTreeMap<(i64, String), Value> {
    results["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let key = (
                r["year"].as_i64().unwrap(),
                r["element"].as_str().unwrap().to_owned(),
            );
            (key, r.clone())
        })
        .collect()
}

fn f(row: &Value, field: &str) -> f64 {
    row[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} in {row}"))
}

fn close(what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 1e-9 * want.abs().max(1e-12),
        "{what}: got {got}, want {want}"
    );
}

api_test!(
    the_done_when_scenario_beside_the_baseline,
    |app: TestApp| async move {
        let (_, regulator) = app.create_org("Agency", "regulator").await;
        market(&app, &regulator).await;
        let response = app
            .post("/api/v1/stock/scenarios")
            .bearer_auth(&regulator)
            .json(&done_when())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let created: Value = response.json().await.unwrap();
        assert_eq!(created["version"], 1);
        assert_eq!(created["shared"], false);
        let id = created["id"].as_str().unwrap().to_owned();

        let compared = app
            .get_json(
                &format!("/api/v1/stock/scenarios/compare?ids={id}"),
                Some(&regulator),
            )
            .await;
        assert_eq!(
            (
                compared["year_from"].as_i64(),
                compared["last_observed"].as_i64()
            ),
            (Some(2024), Some(2026))
        );
        assert_eq!(compared["year_to"], 2050);
        assert_eq!(compared["parameters_version"], 1);
        assert!(compared["data_revision"].as_i64().unwrap() > 0);
        assert_eq!(compared["benchmark"]["share"], 0.25);
        assert_eq!(
            compared["benchmark"]["elements"],
            json!(["Nd", "Pr", "Dy", "Tb"])
        );
        let caveat = compared["benchmark"]["caveat"].as_str().unwrap();
        assert!(caveat.starts_with("Indicative") && caveat.contains("recycling capacity"));
        let scenarios = compared["scenarios"].as_array().unwrap();
        assert_eq!(scenarios.len(), 2);
        assert_eq!(scenarios[0]["name"], "baseline");
        assert!(scenarios[0]["id"].is_null());
        assert_eq!(scenarios[1]["id"], id.as_str());
        let base = rows(&scenarios[0]);
        let scn = rows(&scenarios[1]);

        // Observed years: the placed-on-market figures as registered, in both.
        close(
            "Nd 2025",
            f(&base[&(2025, "Nd".into())], "placed_on_market"),
            3.0 * ND_KG,
        );
        close(
            "Nd 2025",
            f(&scn[&(2025, "Nd".into())], "placed_on_market"),
            3.0 * ND_KG,
        );
        // The forecast holds the mean of 2024-2026 (3 motors a year); the scenario takes 10 %
        // of new motors out from 2027 and halves their Dy from 2030.
        let nd = |rows: &BTreeMap<(i64, String), Value>, year| {
            f(&rows[&(year, "Nd".into())], "placed_on_market")
        };
        let dy = |rows: &BTreeMap<(i64, String), Value>, year| {
            f(&rows[&(year, "Dy".into())], "placed_on_market")
        };
        close("baseline Dy 2031", dy(&base, 2031), 3.0 * DY_KG);
        close("scenario Nd 2028", nd(&scn, 2028), 3.0 * ND_KG * 0.9);
        close("scenario Dy 2029", dy(&scn, 2029), 3.0 * DY_KG * 0.9);
        close("scenario Dy 2031", dy(&scn, 2031), 3.0 * DY_KG * 0.9 * 0.5);
        let dy_stock =
            |rows: &BTreeMap<(i64, String), Value>| f(&rows[&(2050, "Dy".into())], "stock_in_use");
        assert!(dy_stock(&scn) < dy_stock(&base));

        // The baseline collection rate is what custody observed: one motor's Nd over the
        // modelled end of life of 2024-2026 (at most 1); nothing recycled yet: the default yield.
        let rate = compared["baseline_rates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["category"] == "ev_traction_motor" && r["element"] == "Nd")
            .unwrap()
            .clone();
        assert_eq!(rate["collection_rate_source"], "observed");
        assert_eq!(rate["recovery_yield_source"], "default");
        let eol: f64 = (2024..=2026)
            .map(|y| f(&base[&(y, "Nd".into())], "eol_generated"))
            .sum();
        close(
            "observed rate",
            f(&rate, "collection_rate"),
            (ND_KG / eol).min(1.0),
        );
        let yield_ = f(&rate, "recovery_yield");
        // From 2035 on, 60 % of the end-of-life EV motors are collected; recovered is the
        // secondary supply, and its ratio to the placed on market is set beside the benchmark.
        for year in [2035, 2040, 2050] {
            let row = &scn[&(year, "Nd".into())];
            close(
                "collected",
                f(row, "collected"),
                0.6 * f(row, "eol_generated"),
            );
            close(
                "recovered",
                f(row, "recovered"),
                yield_ * f(row, "collected"),
            );
            let ratio = f(row, "secondary_supply_ratio");
            close(
                "ratio",
                ratio,
                f(row, "recovered") / f(row, "placed_on_market"),
            );
            assert_eq!(row["reaches_benchmark"], json!(ratio >= 0.25));
            // The baseline keeps its observed rate.
            let b = &base[&(year, "Nd".into())];
            close(
                "baseline collected",
                f(b, "collected"),
                f(&rate, "collection_rate") * f(b, "eol_generated"),
            );
        }

        // The results route answers the same figures for the scenario alone.
        let alone = app
            .get_json(
                &format!("/api/v1/stock/scenarios/{id}/results"),
                Some(&regulator),
            )
            .await;
        assert_eq!(alone["scenario"], scenarios[1]);
        assert_eq!(alone["data_revision"], compared["data_revision"]);

        // An authority's reads of exact figures are in the audit trail, as for other routes.
        let trail = app
            .get_json("/api/v1/audit?limit=500", Some(&app.admin_key))
            .await;
        let routes: Vec<&str> = trail["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["route"].as_str().unwrap())
            .collect();
        for route in [
            "/api/v1/stock/scenarios/compare",
            "/api/v1/stock/scenarios/{id}/results",
        ] {
            assert!(routes.contains(&route), "{route} in {routes:?}");
        }
    }
);

api_test!(
    scenarios_are_versioned_owned_and_shared_read_only,
    |app: TestApp| async move {
        let (_, owner) = app.create_org("Agency", "regulator").await;
        let (_, other) = app.create_org("Other agency", "regulator").await;
        let (_, maker) = app.create_org("Acme Motors", "manufacturer").await;
        let created: Value = app
            .post("/api/v1/stock/scenarios")
            .bearer_auth(&owner)
            .json(&json!({"name": "private", "levers": []}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = created["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/stock/scenarios/{id}");

        // Not shared: another authority does not see it; a manufacturer may not ask.
        let hidden = app.get(&path).bearer_auth(&other).send().await.unwrap();
        assert_problem(hidden, 404, "not_found").await;
        let response = app
            .get(&format!("{path}/results"))
            .bearer_auth(&other)
            .send()
            .await
            .unwrap();
        assert_problem(response, 404, "not_found").await;
        let listed = app.get_json("/api/v1/stock/scenarios", Some(&other)).await;
        assert_eq!(listed["scenarios"], json!([]));
        let response = app
            .get("/api/v1/stock/scenarios")
            .bearer_auth(&maker)
            .send()
            .await
            .unwrap();
        assert_problem(response, 403, "forbidden").await;
        let response = app
            .post("/api/v1/stock/scenarios")
            .bearer_auth(&maker)
            .json(&done_when())
            .send()
            .await
            .unwrap();
        assert_problem(response, 403, "forbidden").await;
        let response = app.get(&path).send().await.unwrap();
        assert_eq!(response.status(), 401);

        // The owner shares a second version: the other authority reads it, every version,
        // but may not change it.
        let mut v2 = done_when();
        v2["shared"] = json!(true);
        let response = app
            .put(&path)
            .bearer_auth(&owner)
            .json(&v2)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let updated: Value = response.json().await.unwrap();
        assert_eq!(
            (updated["version"].as_i64(), updated["id"].as_str()),
            (Some(2), Some(id.as_str()))
        );
        let seen = app.get_json(&path, Some(&other)).await;
        assert_eq!(seen["version"], 2);
        assert_eq!(seen["levers"].as_array().unwrap().len(), 3);
        let v1 = app
            .get_json(&format!("{path}?version=1"), Some(&other))
            .await;
        assert_eq!(
            (v1["name"].as_str(), v1["version"].as_i64()),
            (Some("private"), Some(1))
        );
        let listed = app.get_json("/api/v1/stock/scenarios", Some(&other)).await;
        assert_eq!(listed["scenarios"][0]["id"], id.as_str());
        let results = app
            .get_json(&format!("{path}/results?version=1"), Some(&other))
            .await;
        assert_eq!(results["scenario"]["version"], 1);
        let response = app
            .put(&path)
            .bearer_auth(&other)
            .json(&v2)
            .send()
            .await
            .unwrap();
        assert_problem(response, 403, "forbidden").await;
        let response = app
            .get(&format!("{path}?version=9"))
            .bearer_auth(&owner)
            .send()
            .await
            .unwrap();
        assert_problem(response, 404, "not_found").await;
        let admin = app.get_json(&path, Some(&app.admin_key)).await;
        assert_eq!(admin["version"], 2);

        // Compare: one to four ids, each one the caller may read.
        let response = app
            .get("/api/v1/stock/scenarios/compare?ids=nope")
            .bearer_auth(&owner)
            .send()
            .await
            .unwrap();
        assert_problem(response, 400, "invalid_query").await;
        let five = [id.as_str(); 5].join(",");
        let response = app
            .get(&format!("/api/v1/stock/scenarios/compare?ids={five}"))
            .bearer_auth(&owner)
            .send()
            .await
            .unwrap();
        assert_problem(response, 400, "invalid_query").await;
        let compared = app
            .get_json(
                &format!("/api/v1/stock/scenarios/compare?ids={id},{id}"),
                Some(&owner),
            )
            .await;
        assert_eq!(compared["scenarios"].as_array().unwrap().len(), 3);
        let response = app
            .get("/api/v1/stock/scenarios/not-a-uuid")
            .bearer_auth(&owner)
            .send()
            .await
            .unwrap();
        assert_problem(response, 400, "invalid_id").await;
    }
);

api_test!(
    bad_levers_are_422_naming_the_pointer,
    |app: TestApp| async move {
        let (_, regulator) = app.create_org("Agency", "regulator").await;
        let lever = |patch: Value| {
            let mut l = json!({"kind": "substitution", "category": "ev_traction_motor", "from": 2030, "share": 0.1});
            for (k, v) in patch.as_object().unwrap() {
                l[k] = v.clone();
            }
            json!({"name": "bad", "levers": [{"kind": "demand", "category": "laptop", "from": 2030, "growth": 0.02}, l]})
        };
        let cases = [
            ("/levers/1/category", json!({"category": "toaster"})),
            (
                "/levers/1/element",
                json!({"kind": "thrifting", "element": "Xx", "share": null, "factor": 0.5}),
            ),
            ("/levers/1/from", json!({"from": 1990})),
            ("/levers/1/from", json!({"from": 2300})),
            ("/levers/1/share", json!({"share": 1.5})),
            ("/levers/1/share", json!({"share": -0.1})),
            (
                "/levers/1/factor",
                json!({"kind": "thrifting", "element": "Dy", "share": null, "factor": -0.5}),
            ),
            (
                "/levers/1/target",
                json!({"kind": "collection_rate", "share": null, "target": 1.2}),
            ),
            (
                "/levers/1/by",
                json!({"kind": "collection_rate", "share": null, "target": 0.5, "by": 2029}),
            ),
            ("/levers/1/element", json!({"element": "Nd"})),
            (
                "/levers/1/growth",
                json!({"kind": "demand", "share": null, "growth": -2}),
            ),
        ];
        for (pointer, patch) in cases {
            let mut body = lever(patch);
            // `null` in a patch removes the field.
            let l = body["levers"][1].as_object_mut().unwrap();
            l.retain(|_, v| !v.is_null());
            let response = app
                .post("/api/v1/stock/scenarios")
                .bearer_auth(&regulator)
                .json(&body)
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
            assert_eq!(pointers, [pointer], "{problem}");
        }
        let listed = app
            .get_json("/api/v1/stock/scenarios", Some(&regulator))
            .await;
        assert_eq!(listed["scenarios"], json!([]), "nothing was stored");
    }
);

/// The fields of one CSV line (RFC 4180 quoting).
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            (c, _) => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

api_test!(
    the_comparison_exports_as_csv_with_the_same_figures,
    |app: TestApp| async move {
        let (_, regulator) = app.create_org("Agency", "regulator").await;
        market(&app, &regulator).await;
        let (_, maker) = app.create_org("Maker", "manufacturer").await;
        let created: Value = app
            .post("/api/v1/stock/scenarios")
            .bearer_auth(&regulator)
            .json(&done_when())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = created["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/stock/scenarios/compare?ids={id}");
        let compared = app.get_json(&path, Some(&regulator)).await;
        let response = app
            .get(&path.replace("compare?", "compare.csv?"))
            .bearer_auth(&regulator)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "text/csv; charset=utf-8"
        );
        let csv = response.text().await.unwrap();
        let mut lines = csv.lines();
        let header = csv_fields(lines.next().unwrap());
        let column = |name: &str| header.iter().position(|h| h == name).unwrap();
        let mut by_key: BTreeMap<(String, i64, String), Vec<String>> = BTreeMap::new();
        for line in lines {
            let fields = csv_fields(line);
            assert_eq!(fields.len(), header.len(), "{line}");
            let key = (
                fields[column("scenario")].clone(),
                fields[column("year")].parse().unwrap(),
                fields[column("element")].clone(),
            );
            by_key.insert(key, fields);
        }
        let scenarios = compared["scenarios"].as_array().unwrap();
        let mut checked = 0;
        for (i, scenario) in scenarios.iter().enumerate() {
            let name = if i == 0 {
                "baseline".to_owned()
            } else {
                scenario["name"].as_str().unwrap().to_owned()
            };
            for ((year, element), row) in rows(scenario) {
                let fields = &by_key[&(name.clone(), year, element.clone())];
                for field in ["placed_on_market", "stock_in_use", "recovered"] {
                    let got: f64 = fields[column(field)].parse().unwrap();
                    close(
                        &format!("{name} {year} {element} {field}"),
                        got,
                        f(&row, field),
                    );
                }
                let benchmark = row["reaches_benchmark"]
                    .as_bool()
                    .map(|b| b.to_string())
                    .unwrap_or_default();
                assert_eq!(fields[column("reaches_benchmark")], benchmark);
                assert_eq!(
                    fields[column("data_revision")],
                    compared["data_revision"].to_string()
                );
                checked += 1;
            }
        }
        assert_eq!(checked, by_key.len());
        assert!(by_key.keys().any(|(n, _, _)| n.contains(", EV motor")));

        // As the JSON route: authorities only, ids checked.
        let refused = app
            .get(&path.replace("compare?", "compare.csv?"))
            .bearer_auth(&maker)
            .send()
            .await
            .unwrap();
        assert_problem(refused, 403, "forbidden").await;
        let bad = app
            .get("/api/v1/stock/scenarios/compare.csv?ids=nope")
            .bearer_auth(&regulator)
            .send()
            .await
            .unwrap();
        assert_problem(bad, 400, "invalid_query").await;
    }
);
