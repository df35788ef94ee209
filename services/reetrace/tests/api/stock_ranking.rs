//! The ranking of categories by the value of their rare earths through the API: the value at
//! end of life per tonne of product at end of life (both masses through the same model), the
//! value recovered, the publication rule (a withheld product mass withholds the value per
//! tonne even where the rare earths are published), units of unknown mass, CSV, bad input.

use reetrace_core::db::Sql;
use serde_json::{Value, json};

use crate::api_test;
use crate::helpers::{TestApp, assert_problem};
use crate::stock::{PUBLIC, TOTAL_ND_KG, get_json, item, market, wait_for_total};

fn close(what: &str, got: &Value, want: f64) {
    let got = got
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: not a number: {got}"));
    assert!(
        (got - want).abs() <= 1e-9 * want.abs().max(1.0),
        "{what}: got {got}, want {want}"
    );
}

fn row<'a>(answer: &'a Value, category: &str) -> &'a Value {
    answer["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["category"] == category)
        .unwrap_or_else(|| panic!("no {category} in {answer}"))
}

/// The sum of the `/values` rows of `query` (one flow, one year, by category) for `category`.
async fn values_sum(app: &TestApp, key: &str, query: &str, field: &str) -> f64 {
    let answer = get_json(app, key, &format!("/api/v1/stock/values?{query}")).await;
    answer["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["category"] == "ev_traction_motor")
        .map(|r| r[field]["value"].as_f64().unwrap_or(0.0))
        .sum()
}

/// The modelled Nd figure of `flow` in `year` (EV motors), as the flows answer gives it.
async fn nd(app: &TestApp, key: &str, flow: &str, year: i32) -> f64 {
    let answer = get_json(
        app,
        key,
        &format!(
            "/api/v1/stock/flows?element=Nd&category=ev_traction_motor&flow={flow}\
             &basis=modelled&group_by=&year_from={year}&year_to={year}"
        ),
    )
    .await;
    answer["rows"][0]["value"].as_f64().unwrap()
}

api_test!(
    categories_are_ranked_by_value_per_tonne_of_product_at_end_of_life,
    |app: TestApp| async move {
        let (_, regulator) = app.create_org("Agency", "regulator").await;
        let makers = market(&app).await;
        wait_for_total(&app, &regulator, TOTAL_ND_KG).await;

        let answer = get_json(
            &app,
            &regulator,
            "/api/v1/stock/values/ranking?year=2040&currency=EUR",
        )
        .await;
        assert_eq!(answer["scope"], "all");
        assert_eq!(
            (answer["year"].as_i64(), answer["prices_version"].as_i64()),
            (Some(2040), Some(1))
        );
        assert!(answer.get("disclosure").is_none());
        let ev = row(&answer, "ev_traction_motor");
        assert_eq!(ev["rank_per_tonne"], 1);
        // The value at end of life is the values answer's, summed over the elements.
        let query = "flow=eol_generated&basis=modelled&group_by=category\
                     &year_from=2040&year_to=2040&currency=EUR";
        let worth = values_sum(&app, &regulator, query, "worth").await;
        close("eol worth", &ev["eol_worth"]["value"], worth);
        let low = values_sum(&app, &regulator, query, "worth_min").await;
        close("eol worth min", &ev["eol_worth_min"]["value"], low);
        // 21 motors of 48 kg (the model passport and the revoked item do not count), aged like
        // their rare earths: the products' end-of-life mass is to their 1.008 t placed on the
        // market as the Nd's is to its 7.05 kg (one observed year, extrapolated alike).
        let share = nd(&app, &regulator, "eol_generated", 2040).await
            / nd(&app, &regulator, "placed_on_market", 2026).await;
        let tonnes = 21.0 * 0.048 * share;
        close("product t", &ev["eol_product_t"]["value"], tonnes);
        close("per tonne", &ev["eol_worth_per_t"]["value"], worth / tonnes);
        close(
            "per tonne min",
            &ev["eol_worth_per_t_min"]["value"],
            low / tonnes,
        );
        // Nothing recycled yet: a published zero, ranked.
        assert_eq!(ev["recovered_worth"], json!({"value": 0.0}));
        assert_eq!(ev["rank_recovered"], 1);
        assert_eq!(
            (
                ev["mass_complete"].as_bool(),
                ev["units_without_mass"].as_u64()
            ),
            (Some(true), Some(0))
        );

        // The CSV carries the same figures.
        let csv = app
            .get("/api/v1/stock/values/ranking?year=2040&currency=EUR&format=csv")
            .bearer_auth(&regulator)
            .send()
            .await
            .unwrap();
        assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
        let csv = csv.text().await.unwrap();
        let mut lines = csv.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let fields: Vec<&str> = lines.next().unwrap().split(',').collect();
        let at = |name: &str| fields[header.iter().position(|h| *h == name).unwrap()];
        assert_eq!(
            (at("rank_per_tonne"), at("category")),
            ("1", "ev_traction_motor")
        );
        close(
            "CSV per tonne",
            &json!(at("eol_worth_per_t").parse::<f64>().unwrap()),
            worth / tonnes,
        );
        assert_eq!(
            (at("year"), at("currency"), at("withheld")),
            ("2040", "EUR", "")
        );

        // A manufacturer sees its own: M1's 14 motors.
        let own = get_json(&app, &makers[0].1, "/api/v1/stock/values/ranking?year=2040").await;
        assert_eq!(own["scope"], "own");
        close(
            "own product t",
            &row(&own, "ev_traction_motor")["eol_product_t"]["value"],
            14.0 * 0.048 * share,
        );

        // Published: IT has one maker, so its figures are withheld, with no rank.
        let it = get_json(
            &app,
            PUBLIC,
            "/api/v1/stock/values/ranking?year=2040&country=IT",
        )
        .await;
        assert_eq!(it["disclosure"]["k"], 3);
        let it_ev = row(&it, "ev_traction_motor");
        for field in [
            "eol_worth",
            "eol_product_t",
            "eol_worth_per_t",
            "eol_worth_per_t_max",
        ] {
            assert_eq!(
                it_ev[field],
                json!({"suppressed": true}),
                "{field}: {it_ev}"
            );
        }
        assert!(it_ev.get("rank_per_tonne").is_none() && it_ev.get("units_without_mass").is_none());
        // Whatever is published per tonne is the published value over the published mass.
        let all = get_json(&app, PUBLIC, "/api/v1/stock/values/ranking?year=2040").await;
        for r in all["rows"].as_array().unwrap() {
            match r["eol_worth_per_t"]["value"].as_f64() {
                Some(per) => {
                    let w = r["eol_worth"]["value"].as_f64().unwrap();
                    close(
                        "published per tonne",
                        &json!(per),
                        w / r["eol_product_t"]["value"].as_f64().unwrap(),
                    );
                }
                None => assert!(r.get("rank_per_tonne").is_none(), "{r}"),
            }
        }

        // M4's passport as stored before the stock service kept the net mass: unknown.
        let m4: uuid::Uuid = makers[3].0.parse().unwrap();
        app.execute(
            Sql::new("UPDATE stock_passports SET net_mass_ug = NULL WHERE org_id = $1").bind(m4),
        )
        .await;
        let it = get_json(
            &app,
            &regulator,
            "/api/v1/stock/values/ranking?year=2040&country=IT",
        )
        .await;
        let it_ev = row(&it, "ev_traction_motor");
        assert_eq!(
            (
                it_ev["mass_complete"].as_bool(),
                it_ev["units_without_mass"].as_u64()
            ),
            (Some(false), Some(1))
        );
        assert_eq!(it_ev["eol_product_t"], json!({"value": 0.0}));
        assert_eq!(it_ev["eol_worth_per_t"], json!({"value": null}));
        let public = get_json(
            &app,
            PUBLIC,
            "/api/v1/stock/values/ranking?year=2040&country=IT",
        )
        .await;
        assert_eq!(row(&public, "ev_traction_motor")["mass_complete"], false);
    }
);

api_test!(
    a_withheld_product_mass_withholds_the_value_per_tonne,
    |app: TestApp| async move {
        let (_, regulator) = app.create_org("Agency", "regulator").await;
        // Three makers, the same rare earths per motor, but M1's product weighs 60 t: the
        // rare-earth cells are published, the product mass (dominated by M1) is not.
        let mut keys = Vec::new();
        for (i, name) in ["M1", "M2", "M3"].into_iter().enumerate() {
            let (_, key) = app.create_org(name, "manufacturer").await;
            let mut motor = item(u32::try_from(i).unwrap(), &format!("S-{i}"), "FR");
            if i == 0 {
                motor["product"]["net_mass_g"] = json!(60_000_000);
            }
            app.register(&key, &motor).await;
            keys.push(key);
        }
        wait_for_total(&app, &regulator, 3.0 * 0.3375).await;
        let path = "/api/v1/stock/values/ranking?year=2040&currency=EUR";
        let public = get_json(&app, PUBLIC, path).await;
        let ev = row(&public, "ev_traction_motor");
        assert!(ev["eol_worth"]["value"].as_f64().unwrap() > 0.0, "{ev}");
        assert_eq!(ev["eol_product_t"], json!({"suppressed": true}));
        assert_eq!(ev["eol_worth_per_t"], json!({"suppressed": true}));
        assert!(ev.get("rank_per_tonne").is_none());
        let csv = app
            .get(&format!("{path}&format=csv"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            csv.contains(",eol_product_t eol_worth_per_t eol_worth_per_t_min eol_worth_per_t_max,"),
            "{csv}"
        );
        // An authority reads it exactly.
        let exact = get_json(&app, &regulator, path).await;
        let ev = row(&exact, "ev_traction_motor");
        assert!(ev["eol_product_t"]["value"].as_f64().unwrap() > 0.0);
        assert_eq!(ev["rank_per_tonne"], 1);

        for (query, name) in [
            ("year=abc", "year"),
            ("year=1800", "year"),
            ("currency=eur", "currency"),
            ("price_date=2024-02-30", "price_date"),
            ("format=xml", "format"),
            ("country=XX1", "country"),
        ] {
            let response = app
                .get(&format!("/api/v1/stock/values/ranking?{query}"))
                .send()
                .await
                .unwrap();
            let problem = assert_problem(response, 400, "invalid_query").await;
            assert_eq!(problem["errors"][0]["pointer"], name, "{problem}");
        }
        let response = app
            .get("/api/v1/stock/values/ranking?colour=red")
            .send()
            .await
            .unwrap();
        assert_problem(response, 400, "invalid_query").await;
    }
);
