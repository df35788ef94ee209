//! Boron, cobalt and nickel beside the rare earths (issue 16): a recycler recovers them from
//! end-of-life NdFeB magnets (post-consumer), a manufacturer claims them for its magnets, and
//! the art. 29 shares count the claims; a claim beyond the magnet set's mass, beyond the lot,
//! or of an element that is not tracked, is refused naming the field.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::api_test;
use crate::helpers::{TestApp, assert_problem};
use crate::magnets::magnet_motor;

/// The outer magnet set of [`magnet_motor`] (8 magnets) holds 14.4 g of Co and 3.2 g of Ni;
/// the whole motor 21.6 g of Co, 5.6 g of Ni and 16.8 g of B.
const OUTER: &str = "/ree_content/components/0/magnets/0";

/// The mass of `element` in a list of `{"element", "mass_g"}`, 0 when absent.
pub fn mass_of(list: &Value, element: &str) -> f64 {
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e["element"] == element)
        .map_or(0.0, |e| e["mass_g"].as_f64().unwrap())
}

/// A lot recovered by dismantling an end-of-life magnet motor: 370 g of Nd, 100 g of Pr, and
/// of the magnet materials 21 g of Co, 5 g of Ni and 16 g of B. Returns the lot id and the
/// recycler's key.
pub async fn magnet_material_lot(app: &TestApp) -> (String, String) {
    let (_, maker) = app.create_org("Scrap Motors", "manufacturer").await;
    let (_, recycler) = app.create_org("Magnet Recovery", "recycler").await;
    let id = app.register(&maker, &magnet_motor("EVM-EOL-1")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.custody_step(&recycler, &id, "collect", "2026-09-02T09:30:00Z")
        .await;
    app.custody_step(&recycler, &id, "receive", "2026-09-03T09:30:00Z")
        .await;
    let elements = json!([{"element": "Nd", "mass_g": 370}, {"element": "Pr", "mass_g": 100},
        {"element": "B", "mass_g": 16}, {"element": "Co", "mass_g": 21}, {"element": "Ni", "mass_g": 5}]);
    (app.dismantle(&recycler, &id, elements).await, recycler)
}

/// The magnet motor `serial` of the manufacturer `key` (under its own GS1 prefix).
async fn own_motor(app: &TestApp, key: &str, serial: &str) -> Value {
    let mut m = magnet_motor(serial);
    m["product"]["gtin"] = json!(app.own_gtin(key, "00001").await);
    m
}

/// [`own_motor`], its outer set claiming `sources` from lots.
async fn claiming_motor(app: &TestApp, key: &str, serial: &str, sources: Value) -> Value {
    let mut m = own_motor(app, key, serial).await;
    m["ree_content"]["components"][0]["magnets"][0]["recycled_sources"] = sources;
    m
}

async fn try_register(app: &TestApp, key: &str, registration: &Value) -> reqwest::Response {
    app.post("/api/v1/passports")
        .bearer_auth(key)
        .json(registration)
        .send()
        .await
        .unwrap()
}

/// The art. 29 share of `element` on the maker's free-access page, for `passport`.
async fn published_share(app: &TestApp, maker_id: &str, passport: &str, element: &str) -> Value {
    let page = app
        .get_json(&format!("/api/v1/orgs/{maker_id}/recycled-content"), None)
        .await;
    let item = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["passport_id"] == passport)
        .unwrap_or_else(|| panic!("{passport} not on the page: {page}"))
        .clone();
    item["shares"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["element"] == element)
        .unwrap()
        .clone()
}

api_test!(
    recovered_cobalt_and_nickel_are_claimed_and_counted_in_the_shares,
    |app: TestApp| async move {
        let (lot, recycler) = magnet_material_lot(&app).await;

        // The lot records the magnet materials beside the rare earths, rare earths first.
        let view = app
            .get_json(&format!("/api/v1/lots/{lot}"), Some(&recycler))
            .await;
        let symbols: Vec<&str> = view["elements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["element"].as_str().unwrap())
            .collect();
        assert_eq!(symbols, ["Pr", "Nd", "B", "Co", "Ni"], "{view}");
        assert_eq!(mass_of(&view["claimable"], "Co"), 21.0);

        // A manufacturer claims Co and Ni (and Nd) for its magnets' outer set.
        let (maker_id, maker) = app.create_org("Rotor Werke", "manufacturer").await;
        let sources = json!([{"lot": lot, "elements": [{"element": "Nd", "mass_g": 21.12},
            {"element": "Co", "mass_g": 7.2}, {"element": "Ni", "mass_g": 1.6}]}]);
        let passport = app
            .register(
                &maker,
                &claiming_motor(&app, &maker, "EVM-RC-1", sources).await,
            )
            .await;
        let id = passport["id"].as_str().unwrap().to_owned();

        // The lot counts the claim per element.
        let view = app
            .get_json(&format!("/api/v1/lots/{lot}"), Some(&recycler))
            .await;
        assert_eq!(mass_of(&view["claimed"], "Co"), 7.2, "{view}");
        assert_eq!(mass_of(&view["claimed"], "Ni"), 1.6);
        assert!((mass_of(&view["claimable"], "Co") - 13.8).abs() < 1e-9);
        assert_eq!(mass_of(&view["claimable"], "B"), 16.0);
        let claimed: Vec<&str> = view["claims"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["element"].as_str().unwrap())
            .collect();
        assert!(claimed.contains(&"Co") && claimed.contains(&"Ni"), "{view}");

        // The credential states the recycled Co of the magnets: 7.2 g of the motor's 21.6 g.
        let subject = &passport["credential"]["credentialSubject"];
        let shares = &subject["circularityScorecard"]["ree:magnetRecycledContent"];
        let share = |element: &str| {
            shares
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["element"] == element)
                .unwrap()
                .clone()
        };
        let co = share("Co");
        assert_eq!(co["status"], "computed");
        assert!(
            (co["share"].as_f64().unwrap() - 7.2 / 21.6).abs() < 1e-6,
            "{co}"
        );
        assert!((share("Ni")["share"].as_f64().unwrap() - 1.6 / 5.6).abs() < 1e-6);
        assert_eq!(share("B")["share"], 0.0, "nothing claims boron");
        let cobalt = subject["materialsProvenance"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["materialType"]["code"] == "Co")
            .unwrap();
        assert!(
            (cobalt["ree:recycledMassGrams"].as_f64().unwrap() - 7.2).abs() < 1e-9,
            "{cobalt}"
        );

        // The free-access page publishes the same shares.
        let co = published_share(&app, &maker_id, &id, "Co").await;
        assert_eq!(co["status"], "computed");
        assert!((co["share"].as_f64().unwrap() - 7.2 / 21.6).abs() < 1e-6);
        let ni = published_share(&app, &maker_id, &id, "Ni").await;
        assert!((ni["share"].as_f64().unwrap() - 1.6 / 5.6).abs() < 1e-6);
    }
);

api_test!(
    claims_of_magnet_materials_beyond_the_magnets_or_the_lot_are_refused,
    |app: TestApp| async move {
        let (lot, recycler) = magnet_material_lot(&app).await;
        let (_, maker) = app.create_org("Rotor Werke", "manufacturer").await;
        let claim = |co: f64| json!([{"lot": lot, "elements": [{"element": "Co", "mass_g": co}]}]);

        // More Co than the outer set holds (8 × 1.8 g = 14.4 g).
        let over_magnets = try_register(
            &app,
            &maker,
            &claiming_motor(&app, &maker, "EVM-X-1", claim(14.5)).await,
        )
        .await;
        let body = assert_problem(over_magnets, 422, "validation_failed").await;
        let pointer = format!("{OUTER}/recycled_sources/0/elements/0/mass_g");
        assert!(body.to_string().contains(&pointer), "{body}");
        assert!(
            body.to_string().contains("more than the set's 14.4 g"),
            "{body}"
        );

        // B, Co and Ni are claimed for the magnet set that holds them, not the component.
        let mut on_component = own_motor(&app, &maker, "EVM-X-2").await;
        on_component["ree_content"]["components"][0]["recycled_content"] =
            json!({"sources": claim(1.0)});
        let refused = try_register(&app, &maker, &on_component).await;
        let body = assert_problem(refused, 422, "validation_failed").await;
        assert!(
            body.to_string().contains(
                "/ree_content/components/0/recycled_content/sources/0/elements/0/element"
            ),
            "{body}"
        );

        // Within the set, but beyond what the lot has left to claim: the first takes 10 g of
        // its 21 g, the second asks for 12 g more.
        app.register(
            &maker,
            &claiming_motor(&app, &maker, "EVM-X-3", claim(10.0)).await,
        )
        .await;
        let over_lot = try_register(
            &app,
            &maker,
            &claiming_motor(&app, &maker, "EVM-X-4", claim(12.0)).await,
        )
        .await;
        let body = assert_problem(over_lot, 409, "over_claim").await;
        assert_eq!(mass_of(&body["claimable"], "Co"), 11.0, "{body}");
        assert!(
            body.to_string()
                .contains("Co: 22 g requested, only 21 g available"),
            "{body}"
        );

        // Directly, the same: 12 g is more than the 11 g left.
        let own = app
            .register(&maker, &own_motor(&app, &maker, "EVM-X-5").await)
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let direct = |elements: Value| {
            app.post("/api/v1/custody/claims")
                .bearer_auth(&maker)
                .json(&json!({"claim_id": Uuid::now_v7(), "passport_id": own,
                    "sources": [{"lot": lot, "elements": elements}]}))
                .send()
        };
        let over = direct(json!([{"element": "Co", "mass_g": 12}]))
            .await
            .unwrap();
        assert_problem(over, 409, "over_claim").await;
        let fits = direct(json!([{"element": "Ni", "mass_g": 5}]))
            .await
            .unwrap();
        assert_eq!(fits.status(), 201, "{}", fits.text().await.unwrap());

        // An element that is neither a rare earth nor B, Co, Ni: refused naming it, directly
        // and in a registration.
        let unknown = direct(json!([{"element": "Fe", "mass_g": 1}]))
            .await
            .unwrap();
        let body = assert_problem(unknown, 422, "validation_failed").await;
        assert!(body.to_string().contains("Fe"), "{body}");
        let iron = json!([{"lot": lot, "elements": [{"element": "Fe", "mass_g": 1}]}]);
        let refused = try_register(
            &app,
            &maker,
            &claiming_motor(&app, &maker, "EVM-X-6", iron).await,
        )
        .await;
        let body = assert_problem(refused, 422, "validation_failed").await;
        assert!(
            body.to_string()
                .contains(&format!("{OUTER}/recycled_sources/0/elements/0/element")),
            "{body}"
        );

        // Nothing of the refused claims stuck to the lot.
        let view = app
            .get_json(&format!("/api/v1/lots/{lot}"), Some(&recycler))
            .await;
        assert_eq!(mass_of(&view["claimed"], "Co"), 10.0, "{view}");
        assert_eq!(mass_of(&view["claimed"], "Ni"), 5.0);
    }
);

api_test!(
    a_dismantling_recovers_no_more_cobalt_than_the_passport_states,
    |app: TestApp| async move {
        let (_, maker) = app.create_org("Scrap Motors", "manufacturer").await;
        let (_, recycler) = app.create_org("Magnet Recovery", "recycler").await;
        let id = app.register(&maker, &magnet_motor("EVM-EOL-2")).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.custody_step(&recycler, &id, "collect", "2026-09-02T09:30:00Z")
            .await;
        app.custody_step(&recycler, &id, "receive", "2026-09-03T09:30:00Z")
            .await;
        // 21.6 g of Co in the motor's magnets: 22 g cannot come out of it.
        let response = app
            .post("/api/v1/custody/transformations")
            .bearer_auth(&recycler)
            .json(
                &json!({"process": "dismantling", "at": "2026-10-02T10:00:00Z",
                "inputs": [{"passport": id}],
                "outputs": [{"kind": "lot", "material": "NdFeB-sintered", "mass_g": 1480,
                    "elements": [{"element": "Co", "mass_g": 22}]}]}),
            )
            .send()
            .await
            .unwrap();
        let body = assert_problem(response, 422, "mass_balance").await;
        assert!(
            body.to_string()
                .contains("Co: 22 g requested, only 21.6 g available"),
            "{body}"
        );
    }
);
