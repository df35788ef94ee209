//! The stock service through the API: the model endpoint against the golden run, versioned
//! parameters, flows from passports registered through the API, disclosure control against
//! differencing, access rules, exports and problem+json errors.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use crate::api_test;
use crate::helpers::{TestApp, assert_problem, gtin, manufacturer_prefix};
use crate::passports::motor;

fn fixture(name: &str) -> Vec<Vec<String>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/mfa")
        .join(name);
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(|f| f.trim().to_owned()).collect())
        .collect()
}

fn num(s: &str) -> f64 {
    s.parse().unwrap()
}

/// The golden run as a scenario: inflows in tonnes from units x magnet mass x fraction.
fn golden_scenario() -> Value {
    let params = fixture("golden_ree_params.csv");
    let units = fixture("golden_ree_units.csv");
    let header = &params[0];
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let mut lifetimes = serde_json::Map::new();
    let mut inflows = Vec::new();
    for row in &params[1..] {
        let good = &row[col("good")];
        lifetimes.insert(
            good.clone(),
            json!({"distribution": "weibull", "shape": num(&row[col("weibull_shape")]),
                   "scale": num(&row[col("weibull_scale")])}),
        );
        let column = units[0].iter().position(|h| h == good).unwrap();
        for (i, h) in header.iter().enumerate() {
            let Some(element) = h.strip_prefix("frac_") else {
                continue;
            };
            let values: Vec<f64> = units[1..]
                .iter()
                .map(|r| {
                    num(&r[column]) * num(&row[col("magnet_kg_per_unit")]) * num(&row[i]) / 1000.0
                })
                .collect();
            inflows.push(json!({"category": good, "element": element, "values": values}));
        }
    }
    json!({"years": {"from": 2015, "to": 2040}, "inflow_at": "middle",
           "lifetimes": lifetimes, "inflows": inflows})
}

fn close(what: &str, got: f64, want: f64) {
    let scale = got.abs().max(want.abs());
    assert!(
        (got - want).abs() <= 1e-9 * scale,
        "{what}: got {got:e}, golden {want:e}"
    );
}

api_test!(
    the_model_endpoint_reproduces_the_golden_run,
    |app: TestApp| async move {
        let (_, regulator) = app.create_org("Agency", "regulator").await;
        let response = app
            .post("/api/v1/stock/model")
            .bearer_auth(&regulator)
            .json(&golden_scenario())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let answer: Value = response.json().await.unwrap();
        let years = answer["years"].as_array().unwrap();
        assert_eq!((years[0].as_i64(), years.len()), (Some(2015), 26));
        let results: HashMap<(String, String), &Value> = answer["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let key = (
                    r["category"].as_str().unwrap().to_owned(),
                    r["element"].as_str().unwrap().to_owned(),
                );
                (key, r)
            })
            .collect();
        let golden = fixture("golden_ree_dsm.csv");
        assert_eq!(golden.len() - 1, 26 * results.len());
        for row in &golden[1..] {
            let i = (row[0].parse::<i64>().unwrap() - 2015) as usize;
            let r = results[&(row[1].clone(), row[2].clone())];
            let label = format!("{} {} {}", row[0], row[1], row[2]);
            close(
                &format!("stock {label}"),
                r["stock"][i].as_f64().unwrap(),
                num(&row[4]),
            );
            close(
                &format!("outflow {label}"),
                r["outflow"][i].as_f64().unwrap(),
                num(&row[5]),
            );
        }

        // ODYM's fixed-lifetime unit case: inflow 1..10, lifetime 5.
        let odym = json!({"years": {"from": 1, "to": 10}, "lifetimes": {"x": {"distribution": "fixed", "mean": 5}},
            "inflows": [{"category": "x", "element": "Nd", "values": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}]});
        let answer: Value = app
            .post("/api/v1/stock/model")
            .bearer_auth(&regulator)
            .json(&odym)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            answer["results"][0]["stock"],
            json!([1.0, 3.0, 6.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0])
        );
        assert_eq!(answer["inflow_at"], "middle");
    }
);

api_test!(
    bad_scenarios_are_422_naming_the_pointer,
    |app: TestApp| async move {
        let (_, regulator) = app.create_org("Agency", "regulator").await;
        let base = json!({"years": {"from": 2020, "to": 2022},
        "lifetimes": {"phone": {"distribution": "weibull", "shape": 2.0, "scale": 3.0}},
        "inflows": [{"category": "phone", "element": "Nd", "values": [1, 2, 3]}]});
        let cases = [
            (
                "/inflows/0/values",
                json!({"inflows": [{"category": "phone", "element": "Nd", "values": [1, 2]}]}),
            ),
            (
                "/inflows/0/category",
                json!({"inflows": [{"category": "wind", "element": "Nd", "values": [1, 2, 3]}]}),
            ),
            (
                "/inflows/0/values/1",
                json!({"inflows": [{"category": "phone", "element": "Nd", "values": [1, -2, 3]}]}),
            ),
            ("/years/to", json!({"years": {"from": 2020, "to": 2400}})),
            (
                "/lifetimes/phone",
                json!({"lifetimes": {"phone": {"distribution": "gamma", "mean": 3}}}),
            ),
            (
                "/lifetimes/phone",
                json!({"lifetimes": {"phone": {"distribution": "weibull", "shape": 0, "scale": 3}}}),
            ),
        ];
        for (pointer, patch) in cases {
            let mut body = base.clone();
            for (k, v) in patch.as_object().unwrap() {
                body[k] = v.clone();
            }
            let response = app
                .post("/api/v1/stock/model")
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
            assert!(
                pointers.iter().any(|p| p.starts_with(pointer)),
                "{pointer}: {problem}"
            );
        }
        let many = vec![json!({"category": "phone", "element": "Nd", "values": [1, 2, 3]}); 20_001];
        let mut body = base.clone();
        body["inflows"] = json!(many);
        let response = app
            .post("/api/v1/stock/model")
            .bearer_auth(&regulator)
            .json(&body)
            .send()
            .await
            .unwrap();
        // A body that large is refused by its size or by the series cap; either way a problem.
        assert!(matches!(response.status().as_u16(), 413 | 422));
        let (_, maker) = app.create_org("Maker", "manufacturer").await;
        let forbidden = app
            .post("/api/v1/stock/model")
            .bearer_auth(&maker)
            .json(&base)
            .send()
            .await
            .unwrap();
        assert_problem(forbidden, 403, "forbidden").await;
        let anonymous = app
            .post("/api/v1/stock/model")
            .json(&base)
            .send()
            .await
            .unwrap();
        assert_problem(anonymous, 401, "unauthorized").await;
        let text = app
            .post("/api/v1/stock/model")
            .bearer_auth(&regulator)
            .header("content-type", "text/plain")
            .body("years")
            .send()
            .await
            .unwrap();
        assert_problem(text, 415, "unsupported_media_type").await;
    }
);

api_test!(parameters_are_versioned, |app: TestApp| async move {
    let (_, regulator) = app.create_org("Agency", "regulator").await;
    let (_, maker) = app.create_org("Maker", "manufacturer").await;
    let current: Value = app
        .get("/api/v1/stock/parameters")
        .bearer_auth(&maker)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(current["version"], 1);
    assert_eq!(current["horizon"], 2050);
    assert_eq!(
        current["lifetimes"]["fcc_catalyst"],
        json!({"distribution": "fixed", "mean": 0.0})
    );
    let ev = current["defaults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["category"] == "ev_traction_motor")
        .unwrap();
    assert_eq!(ev["reference_row"], "ev_bev");
    assert_eq!(ev["mean_years"], 15.0);

    let mut next = json!({"horizon": 2060, "inflow_at": "middle", "extrapolation_years": 5,
        "lifetimes": current["lifetimes"].clone()});
    next["lifetimes"]["smartphone"] = json!({"distribution": "lognormal", "mean": 3.5, "sd": 1.2});
    let refused = app
        .put("/api/v1/stock/parameters")
        .bearer_auth(&maker)
        .json(&next)
        .send()
        .await
        .unwrap();
    assert_problem(refused, 403, "forbidden").await;
    let stored: Value = app
        .put("/api/v1/stock/parameters")
        .bearer_auth(&regulator)
        .json(&next)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stored["version"], 2);
    assert_eq!(
        stored["lifetimes"]["smartphone"]["distribution"],
        "lognormal"
    );

    let mut incomplete = next.clone();
    incomplete["lifetimes"]
        .as_object_mut()
        .unwrap()
        .remove("laptop");
    let response = app
        .put("/api/v1/stock/parameters")
        .bearer_auth(&regulator)
        .json(&incomplete)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["pointer"], "/lifetimes/laptop");
    next["horizon"] = json!(1800);
    let response = app
        .put("/api/v1/stock/parameters")
        .bearer_auth(&regulator)
        .json(&next)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["pointer"], "/horizon");

    let latest: Value = app
        .get("/api/v1/stock/parameters")
        .bearer_auth(&regulator)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(latest["version"], 2);
    assert_eq!(latest["horizon"], 2060);
});

/// An item registration of the `maker`th manufacturer (from 0), under its GS1 prefix, placed
/// on the market in `country` in 2026.
pub(crate) fn item(maker: u32, serial: &str, country: &str) -> Value {
    let mut r = motor(serial);
    r["product"]["gtin"] = json!(gtin(&manufacturer_prefix(maker), "00001"));
    r["product"]["placed_on_market"]["country"] = json!(country);
    r
}

/// No key: the published statistics (open data).
pub(crate) const PUBLIC: &str = "";

/// `path` read with `key` ([`PUBLIC`]: without a key), asserting 200.
pub(crate) async fn get_json(app: &TestApp, key: &str, path: &str) -> Value {
    let mut request = app.get(path);
    if !key.is_empty() {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// Waits until the regulator's total Nd placed on the market is `kg` (the consumers poll).
pub(crate) async fn wait_for_total(app: &TestApp, key: &str, kg: f64) {
    for _ in 0..200 {
        let answer = get_json(
            app,
            key,
            "/api/v1/stock/flows?element=Nd&flow=placed_on_market&group_by=",
        )
        .await;
        if answer["totals"][0]["value"]
            .as_f64()
            .is_some_and(|v| (v - kg).abs() < 1e-9)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the stock projection did not reach {kg} kg of Nd");
}

/// Registers the market: FR has three makers (M1 with an item and a batch of 10, M2, M3),
/// DE two (M2, M3, two items each), IT one (M4, one item), ES one (M1, three items).
/// M1 also issues a model passport (counts zero) and an item it revokes; M2 versions its FR
/// item down to 300 g of Nd.
pub(crate) async fn market(app: &TestApp) -> [(String, String); 4] {
    let mut makers = Vec::new();
    for name in ["M1", "M2", "M3", "M4"] {
        makers.push(app.create_org(name, "manufacturer").await);
    }
    let key = |i: usize| makers[i].1.clone();
    let mut n = 0;
    let mut serial = || {
        n += 1;
        format!("S-{n}")
    };
    app.register(&key(0), &item(0, &serial(), "FR")).await;
    let mut batch = item(0, "unused", "FR");
    batch["granularity"] = json!("batch");
    batch["product"].as_object_mut().unwrap().remove("serial");
    batch["product"]["lot"] = json!("LOT-10");
    batch["product"]["units"] = json!(10);
    app.register(&key(0), &batch).await;
    let mut model = item(0, "unused", "FR");
    model["granularity"] = json!("model");
    model["product"]["gtin"] = json!(gtin(&manufacturer_prefix(0), "00009"));
    model["product"].as_object_mut().unwrap().remove("serial");
    app.register(&key(0), &model).await;
    for _ in 0..3 {
        app.register(&key(0), &item(0, &serial(), "ES")).await;
    }
    let gone = app.register(&key(0), &item(0, &serial(), "FR")).await;
    let m2_fr = serial();
    let versioned = app.register(&key(1), &item(1, &m2_fr, "FR")).await;
    app.register(&key(2), &item(2, &serial(), "FR")).await;
    for maker in [1, 2] {
        for _ in 0..2 {
            app.register(&key(maker), &item(maker as u32, &serial(), "DE"))
                .await;
        }
    }
    app.register(&key(3), &item(3, &serial(), "IT")).await;

    let revoked = app
        .post(&format!(
            "/api/v1/passports/{}/revoke",
            gone["id"].as_str().unwrap()
        ))
        .bearer_auth(key(0))
        .json(&json!({"reason": "issued by mistake"}))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let mut v2 = item(1, &m2_fr, "FR");
    v2["ree_content"]["components"][0]["elements"][0]["mass_g"] = json!(300);
    let response = app
        .put(&format!(
            "/api/v1/passports/{}",
            versioned["id"].as_str().unwrap()
        ))
        .bearer_auth(key(1))
        .json(&v2)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    makers.try_into().unwrap()
}

/// Total Nd in kg: FR 12 x 337.5 g + 300 g, DE 4 x 337.5 g, IT 337.5 g, ES 3 x 337.5 g.
pub(crate) const TOTAL_ND_KG: f64 = 7.05;

api_test!(
    flows_count_passports_registered_through_the_api,
    |app: TestApp| async move {
        let (_, regulator) = app.create_org("Agency", "regulator").await;
        let makers = market(&app).await;
        wait_for_total(&app, &regulator, TOTAL_ND_KG).await;

        let answer = get_json(
            &app,
            &regulator,
            "/api/v1/stock/flows?group_by=year,country&element=Nd&flow=placed_on_market",
        )
        .await;
        // An authority reads every figure exactly.
        assert_eq!(answer["scope"], "all");
        assert_eq!(answer["unit"], "kg");
        assert_eq!(answer["group_by"], json!(["year", "country"]));
        assert!(answer.get("disclosure").is_none(), "{answer}");
        let rows = answer["rows"].as_array().unwrap();
        let it = rows.iter().find(|r| r["country"] == "IT").unwrap();
        assert!(
            (it["value"].as_f64().unwrap() - 0.3375).abs() < 1e-12,
            "{it}"
        );
        // The published statistics (no key) withhold what fewer than 3 makers built.
        let answer = get_json(
            &app,
            PUBLIC,
            "/api/v1/stock/flows?group_by=year,country&element=Nd&flow=placed_on_market",
        )
        .await;
        assert_eq!(answer["scope"], "published");
        assert_eq!(answer["disclosure"]["k"], 3);
        let rows = answer["rows"].as_array().unwrap();
        // France has three makers, but M1 (item + batch of 10: 3.7125 kg) dominates: the rest
        // beyond M3's 0.3375 kg is M2's 0.3 kg (after its new version), under 10 % of M1's, so
        // M3 would read M1's figure to within 10 % (the p%-rule). The revoked item and the
        // model passport count nothing.
        for country in ["FR", "DE", "IT", "ES"] {
            let row = rows.iter().find(|r| r["country"] == country).unwrap();
            assert_eq!(row["suppressed"], true, "{row}");
            assert!(row.get("value").is_none(), "{row}");
        }

        // The makers' own figures are theirs, unsuppressed.
        let own = get_json(
            &app,
            &makers[3].1,
            "/api/v1/stock/flows?group_by=country&element=Nd&flow=placed_on_market",
        )
        .await;
        assert_eq!(own["scope"], "own");
        assert!(own.get("disclosure").is_none());
        assert_eq!(
            own["rows"],
            json!([{"country": "IT", "flow": "placed_on_market", "basis": "observed", "value": 0.3375}])
        );
        let m1 = get_json(
            &app,
            &makers[0].1,
            "/api/v1/stock/flows?group_by=country,element&flow=placed_on_market",
        )
        .await;
        let m1_fr_nd = m1["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["country"] == "FR" && r["element"] == "Nd")
            .unwrap();
        assert!((m1_fr_nd["value"].as_f64().unwrap() - 3.7125).abs() < 1e-12);
        let recycled = get_json(
            &app,
            &makers[0].1,
            "/api/v1/stock/flows?group_by=&element=Nd&flow=recycled_content",
        )
        .await;
        // 5 % post-consumer content of 337.5 g per unit, 14 units.
        assert!((recycled["totals"][0]["value"].as_f64().unwrap() - 14.0 * 0.016875).abs() < 1e-12);

        // A recycler sees its own throughput: none yet.
        let (_, recycler) = app.create_org("Recycler", "recycler").await;
        let mine = get_json(&app, &recycler, "/api/v1/stock/flows?group_by=year,country").await;
        assert_eq!(mine["rows"], json!([]));

        // Modelled: the same inflow, then the stock; every modelled figure names its parameters.
        let modelled = get_json(
            &app,
            &regulator,
            "/api/v1/stock/flows?basis=both&group_by=year&element=Nd&year_to=2030",
        )
        .await;
        assert_eq!(modelled["parameters_version"], 1);
        assert_eq!(modelled["model"]["last_observed"], 2026);
        let rows = modelled["rows"].as_array().unwrap();
        let stock_2030 = rows
            .iter()
            .find(|r| r["year"] == 2030 && r["flow"] == "stock_in_use")
            .unwrap();
        let inflow_2030 = rows
            .iter()
            .find(|r| {
                r["year"] == 2030 && r["flow"] == "placed_on_market" && r["basis"] == "modelled"
            })
            .unwrap();
        // Only 2026 is observed: the extrapolated inflow is that year's, held constant.
        assert!((inflow_2030["value"].as_f64().unwrap() - TOTAL_ND_KG).abs() < 1e-9);
        let stock = stock_2030["value"].as_f64().unwrap();
        assert!(
            stock > 4.0 * TOTAL_ND_KG && stock < 5.0 * TOTAL_ND_KG,
            "{stock}"
        );
    }
);

/// Everything a regulator can learn about POM Nd in 2026: every `group_by` of country,
/// category and element, then every line (a subtotal and its cells) with one unknown solved.
async fn attack(app: &TestApp, key: &str) -> HashMap<[Option<String>; 3], f64> {
    let mut known: HashMap<[Option<String>; 3], f64> = HashMap::new();
    let mut all: Vec<[Option<String>; 3]> = Vec::new();
    for mask in 0..8u8 {
        let dims: Vec<&str> = ["country", "category", "element"]
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, d)| *d)
            .collect();
        for by_year in [true, false] {
            let mut group = dims.join(",");
            if by_year {
                group = format!("year,{group}");
            }
            let path = format!("/api/v1/stock/flows?flow=placed_on_market&group_by={group}");
            let answer = get_json(app, key, &path).await;
            for row in answer["rows"]
                .as_array()
                .unwrap()
                .iter()
                .chain(answer["totals"].as_array().unwrap())
            {
                let k =
                    ["country", "category", "element"].map(|d| row[d].as_str().map(str::to_owned));
                if !all.contains(&k) {
                    all.push(k.clone());
                }
                if let Some(v) = row["value"].as_f64() {
                    known.insert(k, v);
                }
            }
        }
    }
    loop {
        let mut learned = false;
        for dim in 0..3 {
            let mut lines: BTreeMap<[Option<String>; 3], Vec<[Option<String>; 3]>> =
                BTreeMap::new();
            for k in all.iter().filter(|k| k[dim].is_some()) {
                let mut parent = k.clone();
                parent[dim] = None;
                lines.entry(parent).or_default().push(k.clone());
            }
            for (parent, children) in lines {
                let unknown: Vec<&[Option<String>; 3]> = children
                    .iter()
                    .filter(|c| !known.contains_key(*c))
                    .collect();
                if let (Some(total), [only]) = (known.get(&parent), unknown.as_slice()) {
                    let rest: f64 = children
                        .iter()
                        .filter(|c| c != only)
                        .map(|c| known[c])
                        .sum();
                    known.insert((*only).clone(), total - rest);
                    learned = true;
                }
            }
        }
        if !learned {
            return known;
        }
    }
}

api_test!(
    a_single_makers_figure_cannot_be_read_out,
    |app: TestApp| async move {
        let (_, regulator) = app.create_org("Agency", "regulator").await;
        let makers = market(&app).await;
        wait_for_total(&app, &regulator, TOTAL_ND_KG).await;
        let known = attack(&app, PUBLIC).await;
        // M4 is alone in IT: none of its figures (any element, any category) comes out.
        let it: Vec<_> = known
            .keys()
            .filter(|k| k[0].as_deref() == Some("IT"))
            .collect();
        assert!(it.is_empty(), "{it:?}");
        // Nor do the two-maker DE cells or M1's lone ES cells.
        assert!(
            !known
                .keys()
                .any(|k| matches!(k[0].as_deref(), Some("DE" | "ES")))
        );
        // Nor France's Nd, where M1 dominates (the p%-rule).
        assert!(!known.contains_key(&[Some("FR".to_owned()), None, Some("Nd".to_owned())]));
        // What is published is still useful: the totals.
        assert!(known.contains_key(&[None, None, None]));
        assert!(known.contains_key(&[None, None, Some("Nd".to_owned())]));
        // An authority reads it exactly (and the read is audited).
        let exact = attack(&app, &regulator).await;
        assert!(exact.contains_key(&[Some("IT".to_owned()), None, Some("Nd".to_owned())]));
        assert!(exact.contains_key(&[Some("FR".to_owned()), None, Some("Nd".to_owned())]));
        // M4 itself sees its own figure.
        let own = get_json(
            &app,
            &makers[3].1,
            "/api/v1/stock/flows?group_by=country,element&flow=placed_on_market",
        )
        .await;
        assert!(
            own["rows"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["value"].is_number())
        );
    }
);

api_test!(
    indicators_sankey_and_export_of_the_market,
    |app: TestApp| async move {
        let (_, regulator) = app.create_org("Agency", "regulator").await;
        market(&app).await;
        wait_for_total(&app, &regulator, TOTAL_ND_KG).await;

        let ind = get_json(
            &app,
            &regulator,
            "/api/v1/stock/indicators?group_by=element&element=Nd",
        )
        .await;
        assert_eq!(ind["parameters_version"], 1);
        let row = &ind["rows"][0];
        assert_eq!(
            (row["year"].as_i64(), row["element"].as_str()),
            (Some(2026), Some("Nd"))
        );
        assert!((row["placed_on_market"]["value"].as_f64().unwrap() - TOTAL_ND_KG).abs() < 1e-9);
        let stock = row["stock_in_use"]["value"].as_f64().unwrap();
        let eol = row["eol_generated"]["value"].as_f64().unwrap();
        assert!(
            (stock + eol - TOTAL_ND_KG).abs() < 1e-9,
            "mass balance of the first year"
        );
        assert_eq!(row["collection_rate"]["value"], 0.0);
        assert_eq!(row["recovery_yield"], json!({"value": null}));
        // Every motor declares 5 % post-consumer recycled content.
        assert!((row["recycled_content_rate"]["value"].as_f64().unwrap() - 0.05).abs() < 1e-12);
        assert_eq!(row["uses"][0]["use_type"], "concentrated");
        // In the forecast the stock is modelled and what custody will see is not known yet.
        let ahead = get_json(
            &app,
            &regulator,
            "/api/v1/stock/indicators?element=Nd&year_from=2030&year_to=2030",
        )
        .await;
        let row_2030 = &ahead["rows"][0];
        assert_eq!(row_2030["year"], 2030);
        assert!(row_2030["stock_in_use"]["value"].as_f64().unwrap() > 4.0 * TOTAL_ND_KG);
        assert_eq!(row_2030["collected"], json!({"value": null}));
        assert_eq!(row_2030["collection_rate"], json!({"value": null}));
        assert!(
            ind["definitions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["name"] == "eol_recycling_rate")
        );

        let sankey = get_json(
            &app,
            &regulator,
            "/api/v1/stock/sankey?year=2026&element=Nd",
        )
        .await;
        let link = |s: &str, t: &str| {
            sankey["links"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["source"] == s && l["target"] == t)
                .unwrap()
                .clone()
        };
        assert!((link("market", "use")["value"].as_f64().unwrap() - TOTAL_ND_KG).abs() < 1e-9);
        assert!((link("use", "end_of_life")["value"].as_f64().unwrap() - eol).abs() < 1e-9);
        let balance = sankey["balance"].as_array().unwrap();
        let use_node = balance.iter().find(|b| b["node"] == "use").unwrap();
        assert!((use_node["residual"]["value"].as_f64().unwrap() - stock).abs() < 1e-9);
        assert_eq!(sankey["parameters_version"], 1);

        let csv = app
            .get("/api/v1/stock/export.csv?element=Nd&basis=observed")
            .send()
            .await
            .unwrap();
        assert!(
            csv.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        let text = csv.text().await.unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "year,country,category,element,flow,basis,value,unit,parameters_version,coarser_group_by"
        );
        // Withheld, each naming the coarser grain that publishes the row holding it.
        for country in ["FR", "IT"] {
            let line = format!(
                "2026,{country},ev_traction_motor,Nd,placed_on_market,observed,,kg,,\"year,category,element\""
            );
            assert!(lines.contains(&line.as_str()), "{text}");
        }
        let json_rows = get_json(
            &app,
            PUBLIC,
            "/api/v1/stock/export.csv?element=Nd&basis=observed&format=json",
        )
        .await;
        assert_eq!(json_rows["rows"].as_array().unwrap().len(), lines.len() - 1);
        let it = json_rows["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["country"] == "IT")
            .unwrap();
        assert_eq!(it["suppressed"], true);
        assert!(it.get("value").is_none());
        let modelled = get_json(&app, &regulator, "/api/v1/stock/export.csv?element=Nd&basis=modelled&format=json&year_from=2040&year_to=2040&country=FR").await;
        assert!(
            modelled["rows"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["parameters_version"] == 1 && r["basis"] == "modelled")
        );
    }
);

api_test!(stock_errors_are_problems, |app: TestApp| async move {
    let (_, regulator) = app.create_org("Agency", "regulator").await;
    let (_, service) = app.create_org("Feeds", "service").await;
    for (path, param) in [
        ("/api/v1/stock/flows?element=Xx", "element"),
        ("/api/v1/stock/flows?category=rockets", "category"),
        ("/api/v1/stock/flows?country=fr", "country"),
        ("/api/v1/stock/flows?group_by=year,planet", "group_by"),
        ("/api/v1/stock/flows?group_by=year,year", "group_by"),
        ("/api/v1/stock/flows?basis=guessed", "basis"),
        ("/api/v1/stock/flows?flow=mined", "flow"),
        ("/api/v1/stock/flows?flow=collected&basis=modelled", "flow"),
        ("/api/v1/stock/flows?year_from=abc", "year_from"),
        ("/api/v1/stock/flows?year_from=2030&year_to=2020", "year_to"),
        ("/api/v1/stock/flows?year_to=3000", "year_to"),
        ("/api/v1/stock/indicators?group_by=planet", "group_by"),
        ("/api/v1/stock/sankey", "year"),
        ("/api/v1/stock/sankey?year=2026&element=Q", "element"),
        ("/api/v1/stock/export.csv?format=xlsx", "format"),
    ] {
        let response = app.get(path).bearer_auth(&regulator).send().await.unwrap();
        let problem = assert_problem(response, 400, "invalid_query").await;
        assert_eq!(problem["errors"][0]["pointer"], param, "{path}: {problem}");
    }
    let unknown = app
        .get("/api/v1/stock/flows?colour=red")
        .bearer_auth(&regulator)
        .send()
        .await
        .unwrap();
    assert_problem(unknown, 400, "invalid_query").await;
    for path in [
        "/api/v1/stock/flows",
        "/api/v1/stock/indicators",
        "/api/v1/stock/sankey?year=2026",
        "/api/v1/stock/export.csv",
        "/api/v1/stock/parameters",
    ] {
        let forbidden = app.get(path).bearer_auth(&service).send().await.unwrap();
        assert_problem(forbidden, 403, "forbidden").await;
        let wrong_key = app
            .get(path)
            .bearer_auth("rtk_00000000_not-a-key")
            .send()
            .await
            .unwrap();
        assert_problem(wrong_key, 401, "unauthorized").await;
    }
    // The published statistics need no key; the model parameters do.
    for path in [
        "/api/v1/stock/flows",
        "/api/v1/stock/indicators",
        "/api/v1/stock/sankey?year=2026",
        "/api/v1/stock/export.csv",
    ] {
        let published = app.get(path).send().await.unwrap();
        assert_eq!(published.status(), 200, "{path}");
    }
    let anonymous = app.get("/api/v1/stock/parameters").send().await.unwrap();
    assert_problem(anonymous, 401, "unauthorized").await;
    // An empty database answers, with nothing in it.
    let empty = get_json(&app, &regulator, "/api/v1/stock/flows").await;
    assert_eq!(empty["rows"], json!([]));
});

/// The flows an organisation sees for Nd, by flow (kg).
async fn nd_by_flow(app: &TestApp, key: &str) -> BTreeMap<String, f64> {
    let answer = get_json(app, key, "/api/v1/stock/flows?group_by=element&element=Nd").await;
    answer["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| Some((r["flow"].as_str()?.to_owned(), r["value"].as_f64()?)))
        .collect()
}

/// Waits until `key` sees `flow` of Nd at `kg` (the consumers poll both feeds).
async fn wait_for_flow(app: &TestApp, key: &str, flow: &str, kg: f64) -> BTreeMap<String, f64> {
    let mut seen = BTreeMap::new();
    for _ in 0..200 {
        seen = nd_by_flow(app, key).await;
        if seen.get(flow).is_some_and(|v| (v - kg).abs() < 1e-9) {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{flow} did not reach {kg} kg of Nd: {seen:?}");
}

fn close_to(flows: &BTreeMap<String, f64>, flow: &str, kg: f64) {
    let got = flows.get(flow).copied().unwrap_or_default();
    assert!(
        (got - kg).abs() < 1e-9,
        "{flow}: {got} kg, want {kg} kg ({flows:?})"
    );
}

api_test!(
    custody_recorded_through_rest_and_epcis_reaches_the_flows,
    |app: TestApp| async move {
        let (_, regulator) = app.create_org("Agency", "regulator").await;
        let (_, maker) = app.create_org("Acme Motors", "manufacturer").await;
        let mut collectors = Vec::new();
        for name in ["Collecte Lyon", "Sammelstelle Köln", "Raccolta Torino"] {
            collectors.push(app.create_org(name, "recycler").await.1);
        }
        let mut ids = Vec::new();
        for n in 1..=4 {
            let id = app.register(&maker, &motor(&format!("E2E-{n}"))).await["id"]
                .as_str()
                .unwrap()
                .to_owned();
            ids.push(id);
        }

        // The first collector takes two motors in one EPCIS event, the others one each by REST.
        let epc = |n: u32| format!("urn:epc:id:sgtin:4012345.000001.E2E-{n}");
        let object_event = |step: &str, epcs: Vec<String>, time: &str| {
            json!({"type": "ObjectEvent", "eventTime": time, "eventTimeZoneOffset": "+00:00",
                   "epcList": epcs, "action": "OBSERVE", "bizStep": step})
        };
        let document = |events: Vec<Value>| {
            json!({"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
                   "type": "EPCISDocument", "schemaVersion": "2.0",
                   "creationDate": "2026-10-01T08:00:00Z", "epcisBody": {"eventList": events}})
        };
        let captured = app
            .post("/api/v1/epcis/capture")
            .bearer_auth(&collectors[0])
            .header("content-type", "application/ld+json")
            .json(&document(vec![
                object_event("collecting", vec![epc(1), epc(2)], "2026-10-01T09:00:00Z"),
                object_event("receiving", vec![epc(1), epc(2)], "2026-10-01T15:00:00Z"),
                object_event("ree:sorting", vec![epc(1), epc(2)], "2026-10-02T09:00:00Z"),
            ]))
            .send()
            .await
            .unwrap();
        assert_eq!(captured.status(), 201, "{}", captured.text().await.unwrap());
        for (collector, id) in collectors[1..].iter().zip(&ids[2..]) {
            let response = app
                .post(&format!("/api/v1/custody/{id}/events"))
                .bearer_auth(collector)
                .json(&json!({"action": "collect", "at": "2026-10-03T09:00:00Z"}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        }

        // Three recorders collected: the published total shows it; one sorted: that stays
        // hidden from the public, not from the regulator.
        let seen = wait_for_flow(&app, PUBLIC, "collected", 4.0 * 0.3375).await;
        assert!(!seen.contains_key("sorted"), "{seen:?}");
        let exact = wait_for_flow(&app, &regulator, "sorted", 2.0 * 0.3375).await;
        close_to(&exact, "collected", 4.0 * 0.3375);
        let sorted = get_json(
            &app,
            PUBLIC,
            "/api/v1/stock/flows?group_by=&element=Nd&flow=sorted",
        )
        .await;
        assert_eq!(sorted["totals"][0]["suppressed"], true, "{sorted}");

        // The first collector dismantles one motor and recycles the magnets.
        let dismantled = app
            .post("/api/v1/custody/transformations")
            .bearer_auth(&collectors[0])
            .json(&json!({"process": "dismantling", "at": "2026-10-05T10:00:00Z",
                "inputs": [{"passport": ids[0]}],
                "outputs": [{"kind": "lot", "material": "NdFeB-sintered", "mass_g": 1480,
                    "elements": [{"element": "Nd", "mass_g": 330}, {"element": "Pr", "mass_g": 100}]}]}))
            .send()
            .await
            .unwrap();
        let status = dismantled.status();
        let dismantled: Value = dismantled.json().await.unwrap();
        assert_eq!(status, 201, "{dismantled}");
        let lot = dismantled["lots"][0]["lot_id"].as_str().unwrap();
        let recycled = app
            .post("/api/v1/custody/transformations")
            .bearer_auth(&collectors[0])
            .json(&json!({"process": "recycling", "at": "2026-11-02T10:00:00Z",
                "inputs": [{"lot": lot, "mass_g": 1480}],
                "outputs": [{"kind": "oxide", "material": "NdPr oxide", "mass_g": 450,
                    "elements": [{"element": "Nd", "mass_g": 300}, {"element": "Pr", "mass_g": 90}]}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(recycled.status(), 201, "{}", recycled.text().await.unwrap());

        // Years before the first with figures select nothing (year_from defaults to that year).
        for path in [
            "/api/v1/stock/flows?year_to=1900",
            "/api/v1/stock/indicators?year_to=1900",
            "/api/v1/stock/export.csv?year_to=1900&format=json",
        ] {
            let answer = get_json(&app, &regulator, path).await;
            assert_eq!(answer["rows"], json!([]), "{path}: {answer}");
        }

        // The collector's own throughput, element by element, exactly.
        let own = wait_for_flow(&app, &collectors[0], "recycled", 0.3).await;
        close_to(&own, "collected", 2.0 * 0.3375);
        close_to(&own, "sorted", 2.0 * 0.3375);
        close_to(&own, "dismantled", 0.3375);
        close_to(&own, "recycling_input", 0.33);
        close_to(&own, "losses", 0.0075 + 0.03);
        let other = nd_by_flow(&app, &collectors[1]).await;
        assert_eq!(other.len(), 1, "{other:?}");
        close_to(&other, "collected", 0.3375);

        // The recycled Nd goes back to the products' market: FR, EV traction motors, 2026.
        let by_place = get_json(
            &app,
            &collectors[0],
            "/api/v1/stock/flows?group_by=year,country,category&element=Nd&flow=recycled",
        )
        .await;
        assert_eq!(
            by_place["rows"],
            json!([{"year": 2026, "country": "FR", "category": "ev_traction_motor",
                    "flow": "recycled", "basis": "observed", "value": 0.3}])
        );
    }
);

api_test!(
    parameters_whose_figures_would_be_null_are_refused_naming_the_field,
    |app: TestApp| async move {
        let (_, regulator) = app.create_org("Agency", "regulator").await;
        let current: Value = app
            .get("/api/v1/stock/parameters")
            .bearer_auth(&regulator)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let degenerate = json!({"distribution": "lognormal", "mean": 1e-300, "sd": 1e300});
        let mut next = json!({"horizon": 2050, "inflow_at": "middle", "extrapolation_years": 5,
            "lifetimes": current["lifetimes"].clone()});
        next["lifetimes"]["smartphone"] = degenerate.clone();
        let response = app
            .put("/api/v1/stock/parameters")
            .bearer_auth(&regulator)
            .json(&next)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["pointer"], "/lifetimes/smartphone");
        // The version did not move.
        let still: Value = app
            .get("/api/v1/stock/parameters")
            .bearer_auth(&regulator)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(still["version"], current["version"]);

        // The same lifetime in a model run, and inflows whose figures overflow.
        let scenario = json!({"years": {"from": 2001, "to": 2010},
            "lifetimes": {"phone": degenerate},
            "inflows": [{"category": "phone", "element": "Nd", "values": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}]});
        let response = app
            .post("/api/v1/stock/model")
            .bearer_auth(&regulator)
            .json(&scenario)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert!(
            problem["errors"][0]["pointer"]
                .as_str()
                .unwrap()
                .starts_with("/lifetimes/phone"),
            "{problem}"
        );
        let huge = json!({"years": {"from": 2001, "to": 2010},
            "lifetimes": {"phone": {"distribution": "fixed", "mean": 50.0}},
            "inflows": [{"category": "phone", "element": "Nd", "values": [1e308, 1e308, 1e308, 1e308, 1e308, 1e308, 1e308, 1e308, 1e308, 1e308]}]});
        let response = app
            .post("/api/v1/stock/model")
            .bearer_auth(&regulator)
            .json(&huge)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["pointer"], "/inflows/0/values");
    }
);
