//! Lot URLs resolve (issue 18): `/lots/{id}` (a lot's EPC when it has no GTIN) answers the lot
//! page to browsers and the lot to keys; a recycled lot's GS1 Digital Link leads to it unless a
//! batch passport has that identity; a batch passport and a lot never share one; and the
//! organisations a lot or a scan names are named, to those who may see them, and to no one
//! else. The directory lists organisations to any key.

use serde_json::{Value, json};

use crate::api_test;
use crate::helpers::{TestApp, assert_problem, gtin, manufacturer_prefix, recycler_prefix};
use crate::passports::motor;
use crate::resolver::BROWSER;
use crate::scan::{decode, png_of};

/// A batch passport of `gtin` with lot number `lot`.
fn batch(gtin: &str, lot: &str) -> Value {
    json!({"granularity": "batch",
     "product": {"gtin": gtin, "lot": lot, "units": 500, "name": "E-bike hub motor",
       "category": "e_bike_motor", "net_mass_g": 2500, "placed_on_market": {"date": "2026-04-15", "country": "DE"}},
     "ree_content": {"components": [{"name": "magnet ring", "material": "NdFeB-bonded", "mass_g": 150,
       "elements": [{"element": "Nd", "mass_g": 30}, {"element": "Pr", "mass_g": 8}]}]}})
}

/// The recycler `key` collects and receives the motor `passport`, then dismantles it into a
/// magnet lot named `lot_gtin`/`lot_number` (or unnamed); returns the answer (any status).
async fn dismantle_named(
    app: &TestApp,
    key: &str,
    passport: &str,
    name: Option<(&str, &str)>,
) -> (u16, Value) {
    app.custody_step(key, passport, "collect", "2026-09-02T09:30:00Z")
        .await;
    app.custody_step(key, passport, "receive", "2026-09-03T09:30:00Z")
        .await;
    let mut output = json!({"kind": "lot", "material": "NdFeB-sintered", "mass_g": 1480,
        "elements": [{"element": "Nd", "mass_g": 330}]});
    if let Some((gtin, lot)) = name {
        output["gtin"] = json!(gtin);
        output["lot_number"] = json!(lot);
    }
    let response = app
        .post("/api/v1/custody/transformations")
        .bearer_auth(key)
        .json(
            &json!({"process": "dismantling", "at": "2026-10-02T10:00:00Z",
            "inputs": [{"passport": passport}], "outputs": [output]}),
        )
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// `GET path` with `accept`, redirects not followed.
async fn get_unfollowed(app: &TestApp, path: &str, accept: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url(path))
        .header("accept", accept)
        .send()
        .await
        .unwrap()
}

/// Moves GS1 prefix `prefix` from organisation `from` to `to`, as the admin.
async fn move_prefix(app: &TestApp, prefix: &str, from: &str, to: &str) {
    let removed = app
        .client
        .delete(app.url(&format!("/api/v1/orgs/{from}/gs1-prefixes/{prefix}")))
        .bearer_auth(&app.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 200);
    app.add_prefix(to, &json!({"prefix": prefix})).await;
}

api_test!(
    a_lot_resolves_to_its_page_and_to_those_who_may_see_it,
    |app: TestApp| async move {
        let (_, maker) = app.create_org("Motors SA", "manufacturer").await;
        let (recycler_org, recycler) = app.create_org("Urban Mine Recycling", "recycler").await;
        let (_, bystander) = app.create_org("Other Sorting", "recycler").await;
        let (_, regulator) = app.create_org("Market Surveillance", "regulator").await;
        let passport = app.register(&maker, &motor("SN-LOT-1")).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let lot_gtin = gtin(&recycler_prefix(0), "00003");
        let (status, made) =
            dismantle_named(&app, &recycler, &passport, Some((&lot_gtin, "MAG-7"))).await;
        assert_eq!(status, 201, "{made}");
        let lot = made["lots"][0]["lot_id"].as_str().unwrap().to_owned();

        // The Digital Link of the lot (no batch passport has it) leads to the lot's URL.
        let link = get_unfollowed(&app, &format!("/01/{lot_gtin}/10/MAG-7"), BROWSER).await;
        assert_eq!(link.status(), 307);
        assert_eq!(
            link.headers()["location"].to_str().unwrap(),
            format!("{}/lots/{lot}", app.address)
        );
        // Browsers get the page (no data of the lot in it; its script reads it with a key).
        let page = app
            .get(&format!("/lots/{lot}"))
            .header("accept", BROWSER)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        assert!(
            page.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("script-src 'self'")
        );
        let html = page.text().await.unwrap();
        assert!(html.contains(&format!("data-lot-id=\"{lot}\"")));
        assert!(!html.contains("Urban Mine Recycling") && !html.contains("MAG-7"));
        for asset in ["/assets/lot.js", "/assets/lot.css"] {
            let served = app.get(asset).send().await.unwrap();
            assert_eq!(served.status(), 200, "{asset}");
        }
        // Clients: a key is needed (401 without), and the holder sees the holder by name.
        let anonymous = app.get(&format!("/lots/{lot}")).send().await.unwrap();
        assert_problem(anonymous, 401, "unauthorized").await;
        let held = app.get_json(&format!("/lots/{lot}"), Some(&recycler)).await;
        assert_eq!(held["lot_id"], lot.as_str());
        assert_eq!(held["holder"], recycler_org.as_str());
        assert_eq!(held["names"][&recycler_org], "Urban Mine Recycling");
        assert_eq!(held["events"][0]["org_id"], recycler_org.as_str());
        // An authority too; a bystanding recycler sees neither the holder nor its name.
        let seen = app
            .get_json(&format!("/lots/{lot}"), Some(&regulator))
            .await;
        assert_eq!(seen["names"][&recycler_org], "Urban Mine Recycling");
        for key in [&bystander, &maker] {
            let other = app.get_json(&format!("/lots/{lot}"), Some(key)).await;
            assert!(other.get("holder").is_none(), "{other}");
            assert_eq!(other["names"], json!({}), "{other}");
            assert_eq!(other["events"], json!([]));
        }
        // The same lot by its GS1 identity, and no lot for another one.
        let found = app
            .get_json(
                &format!("/api/v1/lots?gtin={lot_gtin}&lot_number=MAG-7"),
                Some(&recycler),
            )
            .await;
        assert_eq!(found["lot_id"], lot.as_str());
        let none = app
            .get(&format!("/api/v1/lots?gtin={lot_gtin}&lot_number=MAG-8"))
            .bearer_auth(&recycler)
            .send()
            .await
            .unwrap();
        assert_problem(none, 404, "not_found").await;
        let bad = app
            .get("/api/v1/lots?gtin=123&lot_number=MAG-8")
            .bearer_auth(&recycler)
            .send()
            .await
            .unwrap();
        let bad = assert_problem(bad, 400, "invalid_query").await;
        assert_eq!(bad["errors"][0]["pointer"], "gtin", "{bad}");
        // A lot that does not exist: 404 for the page too.
        let missing = app
            .get(&format!("/lots/{}", uuid::Uuid::now_v7()))
            .header("accept", BROWSER)
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);

        // Scanning the lot's label (a QR code of its Digital Link) opens the lot.
        let code =
            qrcode::QrCode::new(format!("https://id.gs1.org/01/{lot_gtin}/10/MAG-7")).unwrap();
        let modules: Vec<bool> = code
            .to_colors()
            .iter()
            .map(|c| *c == qrcode::Color::Dark)
            .collect();
        let image = png_of(&modules, code.width(), 6, 4);
        let scanned: Value = decode(&app, Some(&recycler), "image/png", image)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(scanned["target"], format!("/lots/{lot}"), "{scanned}");
    }
);

api_test!(
    a_batch_passport_and_a_lot_never_share_a_gs1_identity,
    |app: TestApp| async move {
        let (maker_org, maker) = app.create_org("Motors SA", "manufacturer").await;
        let (recycler_org, recycler) = app.create_org("Urban Mine Recycling", "recycler").await;
        let passport = app.register(&maker, &motor("SN-LOT-2")).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let lot_gtin = gtin(&recycler_prefix(0), "00004");
        let (status, made) =
            dismantle_named(&app, &recycler, &passport, Some((&lot_gtin, "R-1"))).await;
        assert_eq!(status, 201, "{made}");
        let lot = made["lots"][0]["lot_id"].as_str().unwrap().to_owned();

        // The recycler's prefix goes to the manufacturer: a batch passport may not take the
        // lot's identity (409 naming the lot), another lot number is fine.
        move_prefix(&app, &recycler_prefix(0), &recycler_org, &maker_org).await;
        let refused = app
            .post("/api/v1/passports")
            .bearer_auth(&maker)
            .json(&batch(&lot_gtin, "R-1"))
            .send()
            .await
            .unwrap();
        let problem = assert_problem(refused, 409, "identity_taken").await;
        assert_eq!(problem["lot_id"], lot.as_str());
        assert!(problem["detail"].as_str().unwrap().contains(&lot));
        // In a bulk registration, that line alone.
        let bulk = app
            .post("/api/v1/passports/bulk")
            .bearer_auth(&maker)
            .json(&json!([batch(&lot_gtin, "R-1"), batch(&lot_gtin, "R-2")]))
            .send()
            .await
            .unwrap();
        let bulk: Value = bulk.json().await.unwrap();
        assert_eq!(bulk["results"][0]["status"], 409, "{bulk}");
        assert_eq!(bulk["results"][0]["problem"]["code"], "identity_taken");
        assert_eq!(bulk["results"][1]["status"], 201, "{bulk}");
        // The Digital Link of the new batch is the passport's, the lot's still the lot's.
        let resolved = app
            .get(&format!("/01/{lot_gtin}/10/R-2"))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(resolved.status(), 200);
        let to_lot = get_unfollowed(&app, &format!("/01/{lot_gtin}/10/R-1"), "*/*").await;
        assert_eq!(to_lot.status(), 307);
        assert!(
            to_lot.headers()["location"]
                .to_str()
                .unwrap()
                .ends_with(&format!("/lots/{lot}"))
        );

        // The reverse: a batch passport's identity, its prefix then given to a recycler, may not
        // name an output lot.
        let maker_gtin = gtin(&manufacturer_prefix(0), "00005");
        let batch_id = app.register(&maker, &batch(&maker_gtin, "B-9")).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let second = app.register(&maker, &motor("SN-LOT-3")).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        move_prefix(&app, &manufacturer_prefix(0), &maker_org, &recycler_org).await;
        // Custody learns of passports from the passport feed: wait until it knows this one.
        let mut known = false;
        for _ in 0..100 {
            let scan = app
                .get(&format!("/api/v1/custody/{batch_id}"))
                .bearer_auth(&recycler)
                .send()
                .await
                .unwrap();
            if scan.status() == 200 {
                known = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(known, "custody never saw the batch passport");
        let (status, refused) =
            dismantle_named(&app, &recycler, &second, Some((&maker_gtin, "B-9"))).await;
        assert_eq!(status, 409, "{refused}");
        assert_eq!(refused["code"], "identity_taken");
        assert_eq!(refused["passport_id"], batch_id.as_str());
        assert_eq!(refused["errors"][0]["pointer"], "/outputs/0/lot_number");
    }
);

api_test!(
    scans_name_organisations_to_those_involved_and_the_directory_lists_them,
    |app: TestApp| async move {
        let (maker_org, maker) = app.create_org("Motors SA", "manufacturer").await;
        let (recycler_org, recycler) = app.create_org("Urban Mine Recycling", "recycler").await;
        let (_, bystander) = app.create_org("Other Sorting", "recycler").await;
        let passport = app.register(&maker, &motor("SN-NAMES")).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.custody_step(&recycler, &passport, "collect", "2026-09-02T09:30:00Z")
            .await;
        let path = format!("/api/v1/custody/{passport}");
        let involved = app.get_json(&path, Some(&recycler)).await;
        assert_eq!(involved["names"][&recycler_org], "Urban Mine Recycling");
        assert_eq!(involved["names"][&maker_org], "Motors SA");
        // A recycler not involved sees the state, not who holds it, nor its name.
        let other = app.get_json(&path, Some(&bystander)).await;
        assert!(other["names"].get(&recycler_org).is_none(), "{other}");
        assert_eq!(other["names"][&maker_org], "Motors SA");

        // The directory: any key, manufacturers, recyclers and regulators with what they hold.
        let listed = app
            .get_json("/api/v1/directory/orgs", Some(&bystander))
            .await;
        let items = listed["items"].as_array().unwrap();
        let urban = items
            .iter()
            .find(|o| o["id"] == recycler_org.as_str())
            .unwrap();
        assert_eq!(urban["name"], "Urban Mine Recycling");
        assert_eq!(urban["role"], "recycler");
        assert_eq!(urban["gs1_prefixes"][0]["prefix"], recycler_prefix(0));
        assert!(items.iter().all(|o| o["role"] != "admin"), "{listed}");
        let recyclers = app
            .get_json("/api/v1/directory/orgs?role=recycler&limit=1", Some(&maker))
            .await;
        assert_eq!(recyclers["items"].as_array().unwrap().len(), 1);
        assert_eq!(recyclers["items"][0]["role"], "recycler");
        let next = recyclers["next_cursor"].as_str().unwrap();
        let rest = app
            .get_json(
                &format!("/api/v1/directory/orgs?role=recycler&cursor={next}"),
                Some(&maker),
            )
            .await;
        assert_eq!(rest["items"].as_array().unwrap().len(), 1);
        assert_ne!(rest["items"][0]["id"], recyclers["items"][0]["id"]);
        let anonymous = app.get("/api/v1/directory/orgs").send().await.unwrap();
        assert_problem(anonymous, 401, "unauthorized").await;
        let too_many = app
            .get("/api/v1/directory/orgs?limit=101")
            .bearer_auth(&maker)
            .send()
            .await
            .unwrap();
        assert_problem(too_many, 400, "invalid_query").await;
        // A blank photo still needs a code.
        let blank = png_of(&[false; 100], 10, 4, 0);
        assert_eq!(
            decode(&app, Some(&maker), "image/png", blank)
                .await
                .status(),
            422
        );
    }
);
