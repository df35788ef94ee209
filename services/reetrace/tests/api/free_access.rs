//! The free-access page of CRMA art. 29(1) (issue 16): per manufacturer, without a key, the
//! products to which art. 29 applies, by model, with the recycled share of the eight elements
//! as JSON, CSV and HTML; paginated; 404 for what is not a manufacturer.

use serde_json::{Value, json};

use crate::api_test;
use crate::helpers::{TestApp, assert_problem};
use crate::magnet_materials::magnet_material_lot;
use crate::magnets::magnet_motor;
use crate::passports::motor;

const ELEMENTS: [&str; 8] = ["Nd", "Dy", "Pr", "Tb", "B", "Sm", "Ni", "Co"];

/// The magnet motor under `gtin`, claiming 21.12 g of Nd, 5.76 g of Pr and 7.2 g of Co from
/// `lot` for its outer magnets.
fn recycled_motor(gtin: &str, serial: &str, lot: &str) -> Value {
    let mut m = magnet_motor(serial);
    m["product"]["gtin"] = json!(gtin);
    m["product"]["name"] = json!("Traktionsmotor <PM150> & \"Co\"");
    m["ree_content"]["components"][0]["magnets"][0]["recycled_sources"] = json!([{"lot": lot,
        "elements": [{"element": "Nd", "mass_g": 21.12}, {"element": "Pr", "mass_g": 5.76},
          {"element": "Co", "mass_g": 7.2}]}]);
    m
}

/// A vacuum cleaner with five sintered NdFeB magnets of 30 g: 0.15 kg, under art. 29's 0.2 kg.
fn small_vacuum(serial: &str) -> Value {
    json!({"granularity": "item",
      "product": {"serial": serial, "name": "Vacuum cleaner", "category": "other",
        "crma_product_group": "vacuum_cleaner", "net_mass_g": 5000,
        "placed_on_market": {"date": "2026-06-01", "country": "FR"}},
      "ree_content": {"components": [{"name": "suction motor", "material": "NdFeB-sintered",
        "mass_g": 900, "location": "body",
        "magnets": [{"ref": "rotor", "type": "ndfeb", "subtype": "sintered", "count": 5,
          "unit_mass_g": 30, "position": "rotor",
          "composition": [{"element": "Nd", "mass_g": 6.6}, {"element": "Pr", "mass_g": 1.8},
            {"element": "B", "mass_g": 0.3}, {"element": "Fe", "mass_g": 21.3}]}]}]}})
}

async fn listing(app: &TestApp, org: &str, query: &str) -> Value {
    let response = app
        .get(&format!("/api/v1/orgs/{org}/recycled-content{query}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn ids(listing: &Value) -> Vec<String> {
    listing["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["passport_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn post(app: &TestApp, key: &str, path: &str) {
    let response = app
        .post(path)
        .bearer_auth(key)
        .json(&json!({"reason": "test"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
}

api_test!(
    the_page_lists_in_scope_products_with_their_shares,
    |app: TestApp| async move {
        let (lot, _) = magnet_material_lot(&app).await;
        let (maker_id, maker) = app
            .create_org("Motoren <Süd> & Söhne", "manufacturer")
            .await;
        let gtin = app.own_gtin(&maker, "00001").await;
        let id = |v: Value| v["id"].as_str().unwrap().to_owned();
        let recycled = id(app
            .register(&maker, &recycled_motor(&gtin, "FA-1", &lot))
            .await);
        let mut plain = magnet_motor("FA-2");
        plain["product"]["gtin"] = json!(gtin);
        let plain = id(app.register(&maker, &plain).await);
        let small = id(app.register(&maker, &small_vacuum("VC-1")).await);
        let mut exempt = magnet_motor("FA-3");
        exempt["product"]["gtin"] = json!(gtin);
        exempt["product"]["crma_exemptions"] = json!(["defence"]);
        let exempt = id(app.register(&maker, &exempt).await);
        let mut revoked = magnet_motor("FA-4");
        revoked["product"]["gtin"] = json!(gtin);
        let revoked = id(app.register(&maker, &revoked).await);
        post(&app, &maker, &format!("/api/v1/passports/{revoked}/revoke")).await;
        post(&app, &maker, &format!("/api/v1/passports/{plain}/suspend")).await;

        // JSON: the two magnet motors, by passport id; not the 0.15 kg vacuum cleaner, the
        // exempt motor or the revoked one. The suspended one stays, saying so.
        let all = listing(&app, &maker_id, "").await;
        assert_eq!(all["manufacturer"], "Motoren <Süd> & Söhne");
        let mut want = vec![recycled.clone(), plain.clone()];
        want.sort();
        assert_eq!(ids(&all), want);
        for absent in [&small, &exempt, &revoked] {
            assert!(!all.to_string().contains(absent.as_str()));
        }
        let item = |id: &str| {
            all["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["passport_id"] == id)
                .unwrap()
                .clone()
        };
        let shares = item(&recycled);
        assert_eq!(shares["status"], "active");
        assert_eq!(shares["product_group"], "electric_motor");
        assert_eq!(item(&plain)["status"], "suspended");
        let elements: Vec<&str> = shares["shares"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["element"].as_str().unwrap())
            .collect();
        assert_eq!(elements, ELEMENTS);
        let share = |p: &Value, e: &str| {
            p["shares"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["element"] == e)
                .unwrap()
                .clone()
        };
        let nd = share(&shares, "Nd");
        assert_eq!(nd["status"], "computed");
        assert!(
            (nd["share"].as_f64().unwrap() - 21.12 / 380.4).abs() < 1e-6,
            "{nd}"
        );
        // The magnets hold no samarium: not applicable, no 0.
        let sm = share(&shares, "Sm");
        assert_eq!(sm["status"], "not_applicable");
        assert!(sm.get("share").is_none());
        // Cobalt recovered from an end-of-life motor is claimed: 7.2 g of the 21.6 g in the
        // magnets. Nickel is held and nothing claims it: a computed 0.
        let co = share(&shares, "Co");
        assert_eq!(co["status"], "computed");
        assert!(
            (co["share"].as_f64().unwrap() - 7.2 / 21.6).abs() < 1e-6,
            "{co}"
        );
        assert_eq!(share(&shares, "Ni")["share"], 0.0);
        assert_eq!(share(&item(&plain), "Co")["share"], 0.0);
        assert_eq!(share(&item(&plain), "Nd")["share"], 0.0);
        // Each share points into the public credential, which states the same.
        let credential = app
            .get_json(&format!("/api/v1/passports/{recycled}/credential"), None)
            .await;
        assert_eq!(
            nd["credential"],
            format!("{}/api/v1/passports/{recycled}/credential", app.address)
        );
        let stated = credential.pointer(nd["pointer"].as_str().unwrap()).unwrap();
        assert_eq!(stated["element"], "Nd");
        assert_eq!(stated["share"], nd["share"]);
        assert_eq!(shares["page"], format!("{}/p/{recycled}", app.address));
        // No placement fact.
        for key in ["country", "placed_on_market", "units", "marketCountry"] {
            assert!(!all.to_string().contains(&format!("\"{key}\"")), "{key}");
        }

        // CSV, by `format` or by `Accept`: a header and one row per product and element.
        let by_query = app
            .get(&format!(
                "/api/v1/orgs/{maker_id}/recycled-content?format=csv"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(
            by_query.headers()["content-type"],
            "text/csv; charset=utf-8"
        );
        let csv = by_query.text().await.unwrap();
        let by_accept = app
            .get(&format!("/api/v1/orgs/{maker_id}/recycled-content"))
            .header("accept", "text/csv")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(csv, by_accept);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 1 + 2 * 8);
        assert_eq!(
            lines[0],
            "passport_id,uri,granularity,gtin,lot,serial,model,name,product_group,status,\
             element,share_status,share,credential,pointer"
        );
        let nd_row = lines
            .iter()
            .find(|l| l.starts_with(recycled.as_str()) && l.contains(",Nd,"))
            .unwrap();
        assert!(
            nd_row.contains("\"Traktionsmotor <PM150> & \"\"Co\"\"\""),
            "{nd_row}"
        );
        assert!(
            nd_row.contains(&format!(",Nd,computed,{},", nd["share"])),
            "{nd_row}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(recycled.as_str()) && l.contains(",Sm,not_applicable,,"))
        );

        // HTML for people: the shares, every name escaped.
        let page = app.get(&format!("/crma/{maker_id}")).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
        assert!(page.headers().contains_key("content-security-policy"));
        let html = page.text().await.unwrap();
        assert!(html.contains("Motoren &lt;Süd&gt; &amp; Söhne"));
        assert!(html.contains("Traktionsmotor &lt;PM150&gt; &amp; &quot;Co&quot;"));
        assert!(!html.contains("<PM150>") && !html.contains("<Süd>"));
        let pct = (nd["share"].as_f64().unwrap() * 10000.0).round() / 100.0;
        assert!(html.contains(&format!("{pct} %")), "{pct}");
        assert!(html.contains("not applicable"));
        assert!(html.contains("suspended"));
        assert!(html.contains(&format!("/api/v1/passports/{recycled}/credential")));

        // The passport page of a listed product links to the page; the others' do not.
        let passport_page = |id: String| {
            let request = app.get(&format!("/p/{id}")).header("accept", "text/html");
            async move { request.send().await.unwrap().text().await.unwrap() }
        };
        let link = format!("{}/crma/{maker_id}", app.address);
        assert!(passport_page(recycled.clone()).await.contains(&link));
        assert!(!passport_page(small.clone()).await.contains(&link));
        assert!(!passport_page(exempt.clone()).await.contains(&link));
    }
);

api_test!(
    the_page_lists_by_model_and_pages_with_a_cursor,
    |app: TestApp| async move {
        let (maker_id, maker) = app.create_org("Acme Motors", "manufacturer").await;
        let gtin = app.own_gtin(&maker, "00002").await;
        let model = app
            .register(
                &maker,
                &json!({"granularity": "model",
                  "product": {"gtin": gtin, "name": "Traction motor (model)", "model": "PM150",
                    "category": "ev_traction_motor", "net_mass_g": 48000,
                    "placed_on_market": {"date": "2026-01-10", "country": "FR"}},
                  "ree_content": {"components": [{"name": "rotor magnet set",
                    "material": "NdFeB-sintered", "mass_g": 1500,
                    "elements": [{"element": "Nd", "mass_g": 337.5}]}]}}),
            )
            .await;
        let model = model["id"].as_str().unwrap().to_owned();
        let mut of_model = motor("M-1");
        of_model["product"]["gtin"] = json!(gtin);
        of_model["product"]["model_passport"] = json!(model);
        let of_model = app.register(&maker, &of_model).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut alone = motor("M-2");
        alone["product"]["gtin"] = json!(gtin);
        let alone = app.register(&maker, &alone).await["id"]
            .as_str()
            .unwrap()
            .to_owned();

        // The item of a listed model is the model's; the item without one is listed itself.
        let all = listing(&app, &maker_id, "").await;
        let mut want = vec![model.clone(), alone.clone()];
        want.sort();
        assert_eq!(ids(&all), want);
        assert!(!all.to_string().contains(&of_model));
        // A component named NdFeB without magnet records: the shares are not published.
        let listed_model = &all["items"][usize::from(want[0] != model)];
        assert_eq!(listed_model["granularity"], "model");
        assert!(
            listed_model["shares"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["status"] == "not_published" && s.get("share").is_none())
        );

        // One product per page.
        let first = app
            .get(&format!("/api/v1/orgs/{maker_id}/recycled-content?limit=1"))
            .send()
            .await
            .unwrap();
        let link = first.headers()["link"].to_str().unwrap().to_owned();
        let first: Value = first.json().await.unwrap();
        assert_eq!(ids(&first), [want[0].clone()]);
        let cursor = first["next_cursor"].as_str().unwrap();
        assert!(
            link.contains(&format!("cursor={cursor}>; rel=\"next\"")),
            "{link}"
        );
        let second = listing(&app, &maker_id, &format!("?limit=1&cursor={cursor}")).await;
        assert_eq!(ids(&second), [want[1].clone()]);
        assert!(second.get("next_cursor").is_none());
        let html = app
            .get(&format!("/crma/{maker_id}?limit=1"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains(&format!("?cursor={cursor}\">")));

        // Bad input: 400 naming the parameter.
        let path = format!("/api/v1/orgs/{maker_id}/recycled-content");
        for (query, code, name) in [
            ("?cursor=not-a-cursor", "invalid_cursor", "cursor"),
            ("?limit=0", "invalid_query", "limit"),
            ("?format=xml", "invalid_query", "format"),
        ] {
            let response = app.get(&format!("{path}{query}")).send().await.unwrap();
            let body = assert_problem(response, 400, code).await;
            assert_eq!(body["errors"][0]["pointer"], name, "{query}");
        }
        let bad_page = app
            .get(&format!("/crma/{maker_id}?cursor=not-a-cursor"))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(bad_page.status(), 400);
        assert!(
            bad_page
                .text()
                .await
                .unwrap()
                .contains("<code>cursor</code>")
        );
        let response = app
            .get("/api/v1/orgs/not-an-id/recycled-content")
            .send()
            .await
            .unwrap();
        assert_problem(response, 400, "invalid_id").await;

        // Not a manufacturer, or no organisation at all: 404, as problem+json or as a page.
        let (recycler_id, _) = app.create_org("Urban Mine Recycling", "recycler").await;
        for org in [recycler_id.as_str(), "0195e0aa-4c7d-7e21-b3f0-6a2d9c814f57"] {
            let response = app
                .get(&format!("/api/v1/orgs/{org}/recycled-content"))
                .send()
                .await
                .unwrap();
            assert_problem(response, 404, "not_found").await;
            let page = app
                .get(&format!("/crma/{org}"))
                .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
                .send()
                .await
                .unwrap();
            assert_eq!(page.status(), 404);
            assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
            assert!(page.text().await.unwrap().contains("No manufacturer"));
            let response = app.get(&format!("/crma/{org}")).send().await.unwrap();
            assert_problem(response, 404, "not_found").await;
        }
    }
);
