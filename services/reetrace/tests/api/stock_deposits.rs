//! Residue deposits beside the urban mine (issue 20): the stock service reads the deposits feed
//! and answers, per country and element, the modelled stock in use and end-of-life outflow next
//! to the content of the deposits recorded there (by type and status, with its uncertainty),
//! as JSON and CSV; a new version replaces a deposit's figures, a withdrawal removes them.

use std::time::Duration;

use serde_json::{Value, json};

use crate::api_test;
use crate::deposits::record;
use crate::helpers::{TestApp, assert_problem};
use crate::stock::{PUBLIC, TOTAL_ND_KG, get_json, market, wait_for_total};

const YEAR: i32 = 2035;

/// A closed bauxite residue pond in France: Nd and Sc, and iron (not an element the urban mine
/// follows: it stays out of the answer).
fn bauxite(tonnes: u64) -> Value {
    json!({
        "name": "Residue ponds", "type": "bauxite_residue", "status": "closed",
        "location": {"geometry": {"type": "Point", "coordinates": [5.47, 43.45]}, "country": "FR"},
        "tonnage": {"tonnes": tonnes, "uncertainty_tonnes": 2_000_000, "method": "survey"},
        "deposition": {"from": 1906, "to": 2015},
        "assays": [{"sampled_on": "2024-04-02", "method": "ICP-MS", "laboratory": "Lab A",
                    "sample_count": 10,
                    "concentrations": [{"element": "Nd", "ppm": 90, "uncertainty_ppm": 9},
                                       {"element": "Sc", "ppm": 120, "uncertainty_ppm": 10},
                                       {"element": "Fe", "ppm": 300_000, "uncertainty_ppm": 20_000}]}]
    })
}

/// An active coal fly ash landfill in Germany.
fn fly_ash() -> Value {
    json!({
        "name": "Ash landfill", "type": "fly_ash", "status": "active",
        "location": {"geometry": {"type": "Point", "coordinates": [12.3, 51.3]}, "country": "DE"},
        "tonnage": {"tonnes": 4_000_000, "uncertainty_tonnes": 400_000, "method": "production_model"},
        "deposition": {"from": 1970},
        "assays": [{"sampled_on": "2023-09-01", "method": "ICP-MS", "laboratory": "Lab C",
                    "sample_count": 8,
                    "concentrations": [{"element": "Nd", "ppm": 50, "uncertainty_ppm": 5},
                                       {"element": "Ce", "ppm": 140, "uncertainty_ppm": 12}]}]
    })
}

/// The deposit's own content line of `element`: (kg, uncertainty kg).
fn content(deposit: &Value, element: &str) -> (f64, f64) {
    let line = deposit["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["element"] == element)
        .unwrap();
    (
        line["content_kg"].as_f64().unwrap(),
        line["content_uncertainty_kg"].as_f64().unwrap(),
    )
}

fn find<'a>(rows: &'a Value, country: Option<&str>, element: &str) -> Option<&'a Value> {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["element"] == element && r.get("country").and_then(Value::as_str) == country)
}

/// Waits until the answer's FR Nd row holds `kg` in deposits and `deposits` deposits hold Nd
/// in all (the consumers poll).
async fn wait_for_deposits(app: &TestApp, key: &str, kg: f64, deposits: u64) -> Value {
    let path = format!("/api/v1/stock/secondary-resources?year={YEAR}");
    for _ in 0..200 {
        let answer = get_json(app, key, &path).await;
        let fr = find(&answer["rows"], Some("FR"), "Nd")
            .is_some_and(|r| r["in_deposits"]["value"].as_f64() == Some(kg));
        let all = find(&answer["totals"], None, "Nd")
            .is_some_and(|r| r["in_deposits"]["deposits"].as_u64() == Some(deposits));
        if fr && all {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the deposits did not reach the stock service");
}

fn close(what: &str, got: &Value, want: f64) {
    let got = got.as_f64().unwrap_or_else(|| panic!("{what}: {got}"));
    assert!(
        (got - want).abs() <= 1e-9 * want.abs().max(1.0),
        "{what}: got {got}, want {want}"
    );
}

api_test!(
    deposits_stand_beside_the_urban_mine,
    |app: TestApp| async move {
        let (_, regulator) = app.create_org("Agency", "regulator").await;
        let (_, surveyor) = app.create_org("Geological survey", "surveyor").await;
        market(&app).await;
        wait_for_total(&app, &regulator, TOTAL_ND_KG).await;
        let pond = record(&app, &surveyor, &bauxite(20_000_000)).await;
        let ash = record(&app, &surveyor, &fly_ash()).await;
        let (nd_fr, u_fr) = content(&pond, "Nd");
        let (nd_de, u_de) = content(&ash, "Nd");
        // 20 Mt x 90 g/t = 1,800 t.
        assert_eq!(nd_fr, 1_800_000.0);
        let answer = wait_for_deposits(&app, &regulator, nd_fr, 2).await;
        assert_eq!(
            (answer["scope"].as_str(), answer["year"].as_i64()),
            (Some("all"), Some(2035))
        );

        // France, Nd: the pond's own figures, by type and status, beside the modelled urban mine.
        let fr = find(&answer["rows"], Some("FR"), "Nd").unwrap();
        assert_eq!(
            fr["in_deposits"],
            json!({"value": nd_fr, "uncertainty": u_fr, "deposits": 1, "illustrative": 0})
        );
        assert_eq!(
            fr["by_deposit"],
            json!([{"deposit_type": "bauxite_residue", "status": "closed",
                    "value": nd_fr, "uncertainty": u_fr, "deposits": 1, "illustrative": 0}])
        );
        let flows = get_json(
            &app,
            &regulator,
            &format!(
                "/api/v1/stock/flows?element=Nd&country=FR&basis=modelled&group_by=\
                 &year_from={YEAR}&year_to={YEAR}"
            ),
        )
        .await;
        let modelled = |flow: &str| {
            flows["rows"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["flow"] == flow)
                .unwrap()["value"]
                .as_f64()
                .unwrap()
        };
        let stock = modelled("stock_in_use");
        assert!(stock > 0.0);
        close("FR stock in use", &fr["stock_in_use"]["value"], stock);
        close(
            "FR end of life",
            &fr["end_of_life"]["value"],
            modelled("eol_generated"),
        );
        // Sc from the pond, Ce from the landfill; iron is no element of the urban mine.
        assert_eq!(
            find(&answer["rows"], Some("FR"), "Sc").unwrap()["in_deposits"]["value"],
            content(&pond, "Sc").0
        );
        assert_eq!(
            find(&answer["rows"], Some("DE"), "Ce").unwrap()["in_deposits"]["value"],
            content(&ash, "Ce").0
        );
        assert!(find(&answer["rows"], Some("FR"), "Fe").is_none());
        // Italy has passports and no deposit: its Nd row holds the urban mine and zero deposits.
        let it = find(&answer["rows"], Some("IT"), "Nd").unwrap();
        assert_eq!(it["in_deposits"]["deposits"], 0);
        assert_eq!(it["by_deposit"], json!([]));

        // The total over countries: sums, uncertainties in quadrature.
        let total = find(&answer["totals"], None, "Nd").unwrap();
        close(
            "Nd in deposits",
            &total["in_deposits"]["value"],
            nd_fr + nd_de,
        );
        close(
            "Nd uncertainty",
            &total["in_deposits"]["uncertainty"],
            u_fr.hypot(u_de),
        );
        assert_eq!(total["by_deposit"].as_array().unwrap().len(), 2);

        // Without a key: the same deposits (open data), the urban mine under disclosure control.
        let public = get_json(
            &app,
            PUBLIC,
            &format!("/api/v1/stock/secondary-resources?year={YEAR}&element=Nd"),
        )
        .await;
        assert_eq!(public["scope"], "published");
        assert!(public["disclosure"].is_object());
        assert_eq!(
            find(&public["rows"], Some("FR"), "Nd").unwrap()["in_deposits"],
            fr["in_deposits"]
        );
        assert!(find(&public["rows"], Some("FR"), "Sc").is_none());

        // The CSV: one line per resource of each country row.
        let csv = app
            .get(&format!(
                "/api/v1/stock/secondary-resources?year={YEAR}&country=FR&element=Nd&format=csv"
            ))
            .bearer_auth(&regulator)
            .send()
            .await
            .unwrap();
        assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
        let csv = csv.text().await.unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "year,country,element,resource,deposit_type,status,value,uncertainty,suppressed,\
             deposits,illustrative,unit"
        );
        assert_eq!(lines.len(), 4, "{csv}");
        assert_eq!(
            lines[3],
            format!("2035,FR,Nd,in_deposits,bauxite_residue,closed,{nd_fr},{u_fr},false,1,0,kg")
        );
        assert!(lines[1].starts_with(&format!(
            "2035,FR,Nd,stock_in_use,,,{}",
            fr["stock_in_use"]["value"]
        )));

        // A new version replaces the pond's figures; withdrawing the landfill removes its own.
        let id = pond["id"].as_str().unwrap();
        let response = app
            .put(&format!("/api/v1/deposits/{id}"))
            .bearer_auth(&surveyor)
            .json(&bauxite(40_000_000))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let response = app
            .post(&format!(
                "/api/v1/deposits/{}/revoke",
                ash["id"].as_str().unwrap()
            ))
            .bearer_auth(&surveyor)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let answer = wait_for_deposits(&app, &regulator, 2.0 * nd_fr, 1).await;
        assert!(
            find(&answer["rows"], Some("DE"), "Ce").is_none(),
            "{answer}"
        );
        let de = find(&answer["rows"], Some("DE"), "Nd").unwrap();
        assert_eq!(de["in_deposits"]["deposits"], 0);
        let total = find(&answer["totals"], None, "Nd").unwrap();
        assert_eq!(total["in_deposits"]["value"], 2.0 * nd_fr);
    }
);

api_test!(
    secondary_resources_name_a_bad_parameter,
    |app: TestApp| async move {
        for (query, name) in [
            ("year=twenty", "year"),
            ("year=1800", "year"),
            ("country=XX", "country"),
            ("element=Fe", "element"),
            ("format=xml", "format"),
            ("colour=red", "colour"),
        ] {
            let response = app
                .get(&format!("/api/v1/stock/secondary-resources?{query}"))
                .send()
                .await
                .unwrap();
            let problem = assert_problem(response, 400, "invalid_query").await;
            assert!(problem.to_string().contains(name), "{query}: {problem}");
        }
        // A surveyor's key is no key of the stock figures: 403, as for every stock answer.
        let (_, surveyor) = app.create_org("Survey", "surveyor").await;
        let response = app
            .get("/api/v1/stock/secondary-resources")
            .bearer_auth(&surveyor)
            .send()
            .await
            .unwrap();
        assert_problem(response, 403, "forbidden").await;
    }
);
