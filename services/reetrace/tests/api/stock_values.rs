//! Element prices and valued flows through the API: the built-in series, versions set by an
//! authority, values at the year's price with the range over the series, in euros through
//! the series' exchange rate, withheld exactly where the masses are, and bad input.

use serde_json::{Value, json};

use crate::api_test;
use crate::helpers::{TestApp, assert_problem};
use crate::stock::{PUBLIC, TOTAL_ND_KG, get_json, market, wait_for_total};

/// The element mass fraction of Dy₂O₃.
fn dy_fraction() -> f64 {
    2.0 * 162.5 / (2.0 * 162.5 + 3.0 * 15.999)
}

fn close(what: &str, got: &Value, want: f64) {
    let got = got
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: not a number: {got}"));
    assert!(
        (got - want).abs() <= 1e-9 * want.abs().max(1.0),
        "{what}: got {got}, want {want}"
    );
}

api_test!(
    the_price_series_is_versioned_and_checked,
    |app: TestApp| async move {
        let (_, regulator) = app.create_org("Agency", "regulator").await;
        let (_, maker) = app.create_org("Maker", "manufacturer").await;
        // The built-in series, open data.
        let series = get_json(&app, PUBLIC, "/api/v1/stock/prices").await;
        assert_eq!(series["version"], 1);
        let points = series["points"].as_array().unwrap();
        assert!(points.iter().any(|p| p["material"] == "PrNd"
            && p["shares"] == json!({"Nd": 0.75, "Pr": 0.25})
            && p["form"] == "oxide"));
        assert!(
            points
                .iter()
                .all(|p| !p["source"].as_str().unwrap().is_empty())
        );
        assert_eq!(series["exchange_rates"][0]["from"], "EUR");

        let new = json!({"points": [
            {"material": "Dy", "date": "2025-06-30", "price_per_kg": 250.0, "currency": "EUR",
             "form": "metal", "source": "agency survey 2025"}]});
        let refused = app
            .put("/api/v1/stock/prices")
            .bearer_auth(&maker)
            .json(&new)
            .send()
            .await
            .unwrap();
        assert_problem(refused, 403, "forbidden").await;

        let bad = json!({"points": [
            {"material": "Dy", "date": "2025-06-30", "price_per_kg": 0, "currency": "EUR",
             "form": "metal", "source": ""},
            {"material": "Fe", "date": "2025-06-30", "price_per_kg": 1, "currency": "EUR",
             "form": "metal", "source": "x"},
            {"material": "PrNd", "shares": {"Nd": 0.8, "Pr": 0.3}, "date": "2025-06-30",
             "price_per_kg": 60, "currency": "USD", "form": "oxide", "source": "x"}],
            "exchange_rates": [{"from": "EUR", "to": "usd", "date": "2025-01-01", "rate": -1, "source": "x"}]});
        let refused = app
            .put("/api/v1/stock/prices")
            .bearer_auth(&regulator)
            .json(&bad)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(refused, 422, "validation_failed").await;
        let pointers: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["pointer"].as_str().unwrap())
            .collect();
        for want in [
            "/points/0/price_per_kg",
            "/points/0/source",
            "/points/1/material",
            "/points/2/shares",
            "/exchange_rates/0/to",
            "/exchange_rates/0/rate",
        ] {
            assert!(pointers.contains(&want), "{want} in {pointers:?}");
        }
        // Nothing was stored by the refusals.
        assert_eq!(
            get_json(&app, PUBLIC, "/api/v1/stock/prices").await["version"],
            1
        );

        let set = app
            .put("/api/v1/stock/prices")
            .bearer_auth(&regulator)
            .json(&new)
            .send()
            .await
            .unwrap();
        assert_eq!(set.status(), 200);
        let series = get_json(&app, PUBLIC, "/api/v1/stock/prices").await;
        assert_eq!(series["version"], 2);
        assert_eq!(series["points"], new["points"]);
    }
);

api_test!(
    flows_are_valued_at_the_price_of_their_year_with_the_range,
    |app: TestApp| async move {
        let (_, regulator) = app.create_org("Agency", "regulator").await;
        market(&app).await;
        wait_for_total(&app, &regulator, TOTAL_ND_KG).await;

        // FR: 13 motors with 60 g of Dy each, placed on the market in 2026.
        let path =
            "/api/v1/stock/values?element=Dy&flow=placed_on_market&group_by=country&currency=EUR";
        let answer = get_json(&app, &regulator, path).await;
        assert_eq!(answer["scope"], "all");
        assert_eq!(answer["prices_version"], 1);
        assert_eq!(answer["priced_at"], "year");
        assert_eq!(answer["group_by"], json!(["year", "country", "element"]));
        let rows = answer["rows"].as_array().unwrap();
        let fr = rows.iter().find(|r| r["country"] == "FR").unwrap();
        close("FR mass", &fr["mass_kg"]["value"], 0.78);
        // No Dy point of 2026: the nearest (end of May 2024, USD 300 per kg of oxide) is used,
        // flagged, and converted at the euro rate nearest to it (2024: 1.0824).
        assert_eq!(fr["price"]["date"], "2024-05-31");
        assert_eq!(fr["price"]["nearest"], true);
        let per_kg = 300.0 / dy_fraction() / 1.0824;
        close("FR price", &fr["price"]["per_kg"], per_kg);
        close("FR value", &fr["worth"]["value"], 0.78 * per_kg);
        // The range: the 2020 point (USD 258, at 2020's 1.1422) to the 2024 one.
        close(
            "FR min",
            &fr["worth_min"]["value"],
            0.78 * 258.0 / dy_fraction() / 1.1422,
        );
        close("FR max", &fr["worth_max"]["value"], 0.78 * per_kg);

        // The published statistics withhold IT's one maker's mass, so its value too, and the
        // total over the rows.
        let public = get_json(&app, PUBLIC, path).await;
        let it = public["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["country"] == "IT")
            .unwrap();
        for field in ["mass_kg", "worth", "worth_min", "worth_max"] {
            assert_eq!(it[field], json!({"suppressed": true}), "{field}: {it}");
        }
        assert_eq!(public["totals"][0]["worth"], json!({"suppressed": true}));
        // Every published mass has its value, every withheld one none (all makers together,
        // by year: published).
        let public = get_json(
            &app,
            PUBLIC,
            "/api/v1/stock/values?element=Dy&flow=placed_on_market&group_by=&currency=EUR",
        )
        .await;
        let published = public["rows"].as_array().unwrap();
        assert!(
            published.iter().any(|r| r["mass_kg"]["value"].is_f64()),
            "{public}"
        );
        for row in public["rows"].as_array().unwrap() {
            match row["mass_kg"]["value"].as_f64() {
                Some(kg) => close("published value", &row["worth"]["value"], kg * per_kg),
                None => assert_eq!(row["worth"], json!({"suppressed": true}), "{row}"),
            }
        }

        // At a chosen date: no year in the rows; the regulator's total is the sum.
        let answer = get_json(
            &app,
            &regulator,
            "/api/v1/stock/values?flow=placed_on_market&group_by=&price_date=2020-12-31",
        )
        .await;
        assert_eq!(answer["priced_at"], "date");
        assert_eq!(answer["group_by"], json!(["element"]));
        let rows = answer["rows"].as_array().unwrap();
        assert!(rows.iter().all(|r| r.get("year").is_none()));
        let sum: f64 = rows
            .iter()
            .map(|r| r["worth"]["value"].as_f64().unwrap())
            .sum();
        close("total", &answer["totals"][0]["worth"]["value"], sum);
        let nd = rows.iter().find(|r| r["element"] == "Nd").unwrap();
        assert_eq!(nd["price"]["date"], "2020-07-01");
        assert_eq!(nd["price"]["nearest"], false);
    }
);

api_test!(
    elements_without_a_price_have_no_value,
    |app: TestApp| async move {
        let (_, regulator) = app.create_org("Agency", "regulator").await;
        market(&app).await;
        wait_for_total(&app, &regulator, TOTAL_ND_KG).await;
        let only_dy = json!({"points": [
            {"material": "Dy", "date": "2026-06-30", "price_per_kg": 400, "currency": "USD",
             "form": "metal", "source": "test series"}]});
        let set = app
            .put("/api/v1/stock/prices")
            .bearer_auth(&regulator)
            .json(&only_dy)
            .send()
            .await
            .unwrap();
        assert_eq!(set.status(), 200);
        let answer = get_json(
            &app,
            &regulator,
            "/api/v1/stock/values?flow=placed_on_market&group_by=",
        )
        .await;
        assert_eq!(answer["prices_version"], 2);
        assert_eq!(answer["unpriced_elements"], json!(["Pr", "Nd", "Tb"]));
        let rows = answer["rows"].as_array().unwrap();
        let tb = rows.iter().find(|r| r["element"] == "Tb").unwrap();
        assert_eq!(tb["worth"], json!({"value": null}));
        assert!(tb.get("price").is_none());
        let dy = rows.iter().find(|r| r["element"] == "Dy").unwrap();
        let dy_kg = dy["mass_kg"]["value"].as_f64().unwrap();
        close("Dy value", &dy["worth"]["value"], dy_kg * 400.0);
        // Euros: the new series has no exchange rate, so nothing has a price in EUR.
        let answer = get_json(
            &app,
            &regulator,
            "/api/v1/stock/values?flow=placed_on_market&group_by=&currency=EUR",
        )
        .await;
        assert_eq!(answer["unpriced_elements"].as_array().unwrap().len(), 4);

        for (query, name) in [
            ("currency=eur", "currency"),
            ("price_date=2024-13-01", "price_date"),
            ("group_by=colour", "group_by"),
        ] {
            let response = app
                .get(&format!("/api/v1/stock/values?{query}"))
                .send()
                .await
                .unwrap();
            let problem = assert_problem(response, 400, "invalid_query").await;
            assert_eq!(problem["errors"][0]["pointer"], name, "{problem}");
        }
    }
);

api_test!(
    the_export_carries_values_where_it_carries_masses,
    |app: TestApp| async move {
        let (_, regulator) = app.create_org("Agency", "regulator").await;
        market(&app).await;
        wait_for_total(&app, &regulator, TOTAL_ND_KG).await;
        let per_kg = 300.0 / dy_fraction() / 1.0824;
        let path = "/api/v1/stock/export.csv?element=Dy&flow=placed_on_market&basis=observed\
                    &group_by=year,country,element&currency=EUR";
        let answer = get_json(&app, &regulator, &format!("{path}&format=json")).await;
        assert_eq!(answer["currency"], "EUR");
        assert_eq!(answer["prices_version"], 1);
        let rows = answer["rows"].as_array().unwrap();
        let fr = rows.iter().find(|r| r["country"] == "FR").unwrap();
        close("FR worth", &fr["worth"], 0.78 * per_kg);
        close(
            "FR worth_min",
            &fr["worth_min"],
            0.78 * 258.0 / dy_fraction() / 1.1422,
        );
        assert_eq!(fr["price_date"], "2024-05-31");

        // Published: a withheld row has neither mass nor value; a published one both.
        let public = get_json(&app, PUBLIC, &format!("{path}&format=json")).await;
        let rows = public["rows"].as_array().unwrap();
        assert!(rows.iter().any(|r| r["suppressed"] == true), "{public}");
        let total = get_json(
            &app,
            PUBLIC,
            "/api/v1/stock/export.csv?element=Dy&flow=placed_on_market&basis=observed\
             &group_by=year,element&currency=EUR&format=json",
        )
        .await;
        let total = total["rows"].as_array().unwrap();
        assert!(total.iter().any(|r| r["value"].is_f64()), "{total:?}");
        for row in rows.iter().chain(total) {
            match row["value"].as_f64() {
                Some(kg) => close("published worth", &row["worth"], kg * per_kg),
                None => assert!(row.get("worth").is_none(), "{row}"),
            }
        }
        let csv = app
            .get(path)
            .bearer_auth(&regulator)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let mut lines = csv.lines();
        assert_eq!(
            lines.next().unwrap(),
            "year,country,element,flow,basis,value,unit,parameters_version,coarser_group_by,\
             worth,worth_min,worth_max,currency,price_per_kg,price_date,prices_version"
        );
        let fr: Vec<&str> = lines
            .find(|l| l.contains(",FR,"))
            .unwrap()
            .split(',')
            .collect();
        assert_eq!(fr.len(), 16, "{fr:?}");
        close(
            "CSV worth",
            &json!(fr[9].parse::<f64>().unwrap()),
            0.78 * per_kg,
        );
        assert_eq!(&fr[12..], ["EUR", &per_kg.to_string(), "2024-05-31", "1"]);

        for (query, name) in [
            ("group_by=year,country&currency=EUR", "currency"),
            ("group_by=element&currency=EUR", "price_date"),
            ("currency=US", "currency"),
        ] {
            let response = app
                .get(&format!("/api/v1/stock/export.csv?{query}"))
                .send()
                .await
                .unwrap();
            let problem = assert_problem(response, 400, "invalid_query").await;
            assert_eq!(problem["errors"][0]["pointer"], name, "{problem}");
        }
    }
);
