//! The magnets' boron, cobalt and nickel in the urban mine through the API (issue 16): motors
//! registered with their magnets place B, Co and Ni on the market beside the rare earths; the
//! flows, the modelled stock, the indicators, the Sankey, the values and the export give them
//! when asked for (`element=Co`, `materials=magnet`), and every answer that names no magnet
//! material stays the rare earths only.

use serde_json::Value;

use crate::api_test;
use crate::helpers::{TestApp, assert_problem};
use crate::magnets::magnet_motor;
use crate::stock::get_json;

/// Grams in one motor of the example (docs/credential.md section 5).
const REE_G: f64 = 108.0 + 380.4 + 4.8 + 40.8;
const B_G: f64 = 16.8;
const CO_G: f64 = 21.6;
const NI_G: f64 = 5.6;

fn close(got: &Value, want: f64) {
    let got = got.as_f64().unwrap_or_else(|| panic!("no value: {got}"));
    assert!((got - want).abs() < 1e-9, "got {got}, want {want}");
}

fn elements(answer: &Value) -> Vec<&str> {
    answer["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["element"].as_str().unwrap())
        .collect()
}

async fn wait_for_cobalt(app: &TestApp, key: &str, kg: f64) {
    for _ in 0..200 {
        let answer = get_json(
            app,
            key,
            "/api/v1/stock/flows?element=Co&flow=placed_on_market&group_by=",
        )
        .await;
        if answer["totals"][0]["value"]
            .as_f64()
            .is_some_and(|v| (v - kg).abs() < 1e-9)
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the stock projection did not reach {kg} kg of Co");
}

api_test!(
    the_urban_mine_counts_the_magnets_boron_cobalt_and_nickel_when_asked,
    |app: TestApp| async move {
        let (_, regulator) = app.create_org("Agency", "regulator").await;
        for maker in 1..=3 {
            let (_, key) = app
                .create_org(&format!("Motor maker {maker}"), "manufacturer")
                .await;
            let mut motor = magnet_motor(&format!("EVM-{maker}"));
            motor["product"]["gtin"] = app.own_gtin(&key, "00001").await.into();
            app.register(&key, &motor).await;
        }
        wait_for_cobalt(&app, &regulator, 3.0 * CO_G / 1000.0).await;
        let flows = |query: &str| {
            let path = format!("/api/v1/stock/flows?flow=placed_on_market&{query}");
            let app = &app;
            let regulator = regulator.clone();
            async move { get_json(app, &regulator, &path).await }
        };

        // Naming no magnet material: the rare earths, and "all REE" without B, Co, Ni.
        let ree = flows("group_by=element").await;
        assert_eq!(elements(&ree), ["Pr", "Nd", "Tb", "Dy"]);
        close(&ree["totals"][0]["value"], 3.0 * REE_G / 1000.0);
        assert!(ree["filters"].get("materials").is_none(), "{ree}");

        // One magnet material.
        let co = flows("element=Co&group_by=year").await;
        assert_eq!(co["filters"]["element"], "Co");
        assert_eq!(co["filters"]["materials"], "magnet");
        assert_eq!(co["rows"][0]["year"], 2026);
        close(&co["rows"][0]["value"], 3.0 * CO_G / 1000.0);

        // The three together, each and their own total.
        let magnet = flows("materials=magnet&group_by=element").await;
        assert_eq!(elements(&magnet), ["B", "Co", "Ni"]);
        close(&magnet["rows"][0]["value"], 3.0 * B_G / 1000.0);
        close(&magnet["rows"][2]["value"], 3.0 * NI_G / 1000.0);
        close(
            &magnet["totals"][0]["value"],
            3.0 * (B_G + CO_G + NI_G) / 1000.0,
        );

        // Published without a key like the rare earths (three makers, none dominant).
        let public = get_json(
            &app,
            "",
            "/api/v1/stock/flows?element=Co&flow=placed_on_market&group_by=",
        )
        .await;
        close(&public["totals"][0]["value"], 3.0 * CO_G / 1000.0);

        // The modelled stock runs the same survival curves over the cobalt placed.
        let stock = get_json(
            &app,
            &regulator,
            "/api/v1/stock/flows?element=Co&flow=stock_in_use&basis=modelled&group_by=year&year_from=2026&year_to=2026",
        )
        .await;
        let in_use = stock["rows"][0]["value"].as_f64().unwrap();
        assert!(in_use > 0.0 && in_use <= 3.0 * CO_G / 1000.0, "{stock}");

        let indicators = get_json(
            &app,
            &regulator,
            "/api/v1/stock/indicators?element=Co&year_from=2026&year_to=2026",
        )
        .await;
        close(
            &indicators["rows"][0]["placed_on_market"]["value"],
            3.0 * CO_G / 1000.0,
        );
        assert_eq!(indicators["filters"]["element"], "Co");

        let sankey = get_json(
            &app,
            &regulator,
            "/api/v1/stock/sankey?year=2026&materials=magnet",
        )
        .await;
        assert_eq!(sankey["filters"]["materials"], "magnet");
        let placed = sankey["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["source"] == "market")
            .unwrap_or_else(|| panic!("{sankey}"));
        close(&placed["value"], 3.0 * (B_G + CO_G + NI_G) / 1000.0);

        // No price for B, Co, Ni: their rows have no value, like an unpriced rare earth.
        let values = get_json(
            &app,
            &regulator,
            "/api/v1/stock/values?element=Co&flow=placed_on_market",
        )
        .await;
        assert_eq!(values["unpriced_elements"], serde_json::json!(["Co"]));
        assert!(values["rows"][0]["worth"]["value"].is_null(), "{values}");

        let csv = app
            .get("/api/v1/stock/export.csv?materials=magnet&flow=placed_on_market&basis=observed")
            .bearer_auth(&regulator)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for element in [",B,", ",Co,", ",Ni,"] {
            assert!(csv.contains(element), "{element} missing: {csv}");
        }
        assert!(!csv.contains(",Nd,"), "{csv}");

        // Bad or contradictory choices are problems naming the parameter.
        for (query, pointer) in [
            ("materials=steel", "materials"),
            ("element=Co&materials=ree", "materials"),
            ("element=Nd&materials=magnet", "materials"),
            ("element=Fe", "element"),
        ] {
            let response = app
                .get(&format!("/api/v1/stock/flows?{query}"))
                .send()
                .await
                .unwrap();
            let body = assert_problem(response, 400, "invalid_query").await;
            assert_eq!(body["errors"][0]["pointer"], pointer, "{query}: {body}");
        }
    }
);
