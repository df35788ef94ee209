//! Recycled-content claims backed by material (issue 15, finding 3): only a passport's owner
//! claims for it, for a passport that exists, and what a lot's claims hold never exceeds what
//! it recovered, whoever claims and however many at once.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::api_test;
use crate::helpers::{TestApp, assert_problem};
use crate::passports::motor;

/// A recycler collects a motor and dismantles it into a magnet lot that recovered 330 g of Nd
/// (and 100 g of Pr); returns the lot id.
async fn lot_of_330_g_nd(app: &TestApp) -> String {
    magnet_lot(app).await.0
}

/// As [`lot_of_330_g_nd`]; returns the lot id and the key of the recycler holding it.
pub async fn magnet_lot(app: &TestApp) -> (String, String) {
    let (_, maker) = app.create_org("Motors For Scrap", "manufacturer").await;
    let (_, recycler) = app.create_org("Urban Mine Recycling", "recycler").await;
    let id = app.register(&maker, &motor("EVM-SCRAP-1")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.custody_step(&recycler, &id, "collect", "2026-09-02T09:30:00Z")
        .await;
    app.custody_step(&recycler, &id, "receive", "2026-09-03T09:30:00Z")
        .await;
    let elements = json!([{"element": "Nd", "mass_g": 330}, {"element": "Pr", "mass_g": 100}]);
    (app.dismantle(&recycler, &id, elements).await, recycler)
}

/// Registers a motor for `key`, under its own GS1 prefix; returns its passport id.
async fn own_passport(app: &TestApp, key: &str, serial: &str) -> String {
    let mut motor = motor(serial);
    motor["product"]["gtin"] = json!(app.own_gtin(key, "00001").await);
    app.register(key, &motor).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Claims `nd_g` of Nd from `lot` for `passport`, directly, as `key`.
async fn claim(
    app: &TestApp,
    key: &str,
    passport: &str,
    lot: &str,
    nd_g: f64,
) -> reqwest::Response {
    app.post("/api/v1/custody/claims")
        .bearer_auth(key)
        .json(&json!({"claim_id": Uuid::now_v7(), "passport_id": passport,
            "sources": [{"lot": lot, "elements": [{"element": "Nd", "mass_g": nd_g}]}]}))
        .send()
        .await
        .unwrap()
}

/// What all claims on `lot` hold of Nd, as its reader sees it.
async fn claimed_nd(app: &TestApp, lot: &str) -> f64 {
    let view = app
        .get_json(&format!("/api/v1/lots/{lot}"), Some(&app.admin_key))
        .await;
    view["claimed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["element"] == "Nd")
        .map(|e| e["mass_g"].as_f64().unwrap())
        .unwrap_or(0.0)
}

api_test!(
    a_manufacturer_claims_only_for_its_own_existing_passports,
    |app: TestApp| async move {
        let lot = lot_of_330_g_nd(&app).await;
        let (_, acme) = app.create_org("Acme Motors", "manufacturer").await;
        let (_, rival) = app.create_org("Rival Magnets", "manufacturer").await;
        let acmes = own_passport(&app, &acme, "EVM-ACME-1").await;
        let rivals = own_passport(&app, &rival, "EVM-RIVAL-1").await;

        // Each claims for its own passport, just registered: custody pulls the feed.
        assert_eq!(claim(&app, &acme, &acmes, &lot, 330.0).await.status(), 201);
        // Each claiming for the other's passport was 201 both, and the lot that recovered
        // 330 g of Nd ended with 652 g claimed.
        for (key, passport) in [(&rival, &acmes), (&acme, &rivals)] {
            let refused = claim(&app, key, passport, &lot, 322.0).await;
            let body = assert_problem(refused, 403, "not_your_passport").await;
            assert_eq!(body["passport"], passport.as_str(), "{body}");
        }
        assert_eq!(claimed_nd(&app, &lot).await, 330.0);

        // A passport that does not exist cannot lock a lot (it did, renewably, for 0.001 g).
        let nobody = Uuid::now_v7().to_string();
        let refused = claim(&app, &rival, &nobody, &lot, 0.001).await;
        let body = assert_problem(refused, 409, "unknown_passport").await;
        assert_eq!(body["passport"], nobody.as_str(), "{body}");

        // A passport's own reservations count against each other (they were left out of its
        // sum, so each could take the whole lot and all be confirmed with its next version).
        let over = claim(&app, &acme, &acmes, &lot, 330.0).await;
        assert_problem(over, 409, "over_claim").await;
        assert_eq!(claimed_nd(&app, &lot).await, 330.0);
    }
);

api_test!(
    sixteen_racing_claimants_never_claim_more_than_the_lot_recovered,
    |app: TestApp| async move {
        let lot = lot_of_330_g_nd(&app).await;
        let mut claimants = Vec::new();
        for i in 0..16 {
            let (_, key) = app
                .create_org(&format!("Magnets {i:02}"), "manufacturer")
                .await;
            let passport = own_passport(&app, &key, &format!("EVM-RACE-{i:02}")).await;
            claimants.push((key, passport));
        }
        let app = std::sync::Arc::new(app);
        let mut tasks = tokio::task::JoinSet::new();
        for (key, passport) in claimants {
            let (app, lot) = (app.clone(), lot.clone());
            // 30 g each: 11 fit in 330 g.
            tasks.spawn(async move {
                let response = claim(&app, &key, &passport, &lot, 30.0).await;
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap();
                (status, body)
            });
        }
        let mut granted = 0;
        while let Some(answer) = tasks.join_next().await {
            let (status, body) = answer.unwrap();
            match status {
                201 => granted += 1,
                409 => assert_eq!(body["code"], "over_claim", "{body}"),
                _ => panic!("{status}: {body}"),
            }
        }
        assert_eq!(granted, 11);
        assert_eq!(claimed_nd(&app, &lot).await, 330.0);
    }
);

/// Reserves `nd_g` of Nd from `lot` for `passport`, as the passport service does before it
/// issues (a service key naming the manufacturer).
async fn reserve(
    app: &TestApp,
    service: &str,
    maker: &str,
    passport: &str,
    lot: &str,
    nd_g: f64,
) -> reqwest::Response {
    app.post("/api/v1/custody/claims")
        .bearer_auth(service)
        .json(
            &json!({"claim_id": Uuid::now_v7(), "passport_id": passport, "org_id": maker,
            "sources": [{"lot": lot, "elements": [{"element": "Nd", "mass_g": nd_g}]}]}),
        )
        .send()
        .await
        .unwrap()
}

fn nd_of(amounts: &Value) -> f64 {
    amounts
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["element"] == "Nd")
        .map(|e| e["mass_g"].as_f64().unwrap())
        .unwrap_or(0.0)
}

api_test!(
    reservations_cannot_lock_a_lot_nor_be_renewed_for_a_passport_that_never_appeared,
    |app: TestApp| async move {
        let lot = lot_of_330_g_nd(&app).await;
        let (_, service) = app.create_org("Passport Service", "service").await;
        let (squatter, _) = app.create_org("Lockout Magnets", "manufacturer").await;
        let (_, honest) = app.create_org("Honest Motors", "manufacturer").await;
        let nobody = Uuid::now_v7().to_string();

        // All claimable content of the lot, for a passport that never appears: refused (it
        // was 201, and everyone else got over_claim for 0.001 g).
        let all = reserve(&app, &service, &squatter, &nobody, &lot, 330.0).await;
        let body = assert_problem(all, 409, "reservation_cap").await;
        assert_eq!(body["lot"], lot.as_str(), "{body}");
        assert_eq!(nd_of(&body["reservable"]), 165.0, "{body}");
        let half = reserve(&app, &service, &squatter, &nobody, &lot, 165.0).await;
        assert_eq!(half.status(), 201);
        let half: Value = half.json().await.unwrap();
        assert_eq!(half["status"], "reserved", "{half}");

        // The rest stays open to others: a claim for an existing passport holds at once.
        let passport = own_passport(&app, &honest, "EVM-HONEST-1").await;
        let claimed = claim(&app, &honest, &passport, &lot, 165.0).await;
        assert_eq!(claimed.status(), 201);
        let claimed: Value = claimed.json().await.unwrap();
        assert_eq!(claimed["status"], "confirmed", "{claimed}");
        assert_eq!(claimed_nd(&app, &lot).await, 330.0);

        // The reservation lapses (its passport never appeared within 15 minutes) and stops
        // counting; it cannot be renewed for that passport, with any claim id.
        app.execute(
            reetrace_core::db::Sql::new(
                "UPDATE custody_claims SET created_at = $1 WHERE passport_id = $2",
            )
            .bind(chrono::Utc::now() - chrono::Duration::hours(1))
            .bind(nobody.parse::<Uuid>().unwrap()),
        )
        .await;
        assert_eq!(claimed_nd(&app, &lot).await, 165.0);
        let renewed = reserve(&app, &service, &squatter, &nobody, &lot, 1.0).await;
        let body = assert_problem(renewed, 409, "reservation_not_renewable").await;
        assert_eq!(body["passport"], nobody.as_str(), "{body}");
        assert_eq!(claimed_nd(&app, &lot).await, 165.0);
    }
);

api_test!(
    a_manufacturers_registrations_reserve_at_most_half_of_what_a_lot_offers,
    |app: TestApp| async move {
        let lot = lot_of_330_g_nd(&app).await;
        let (_, maker) = app.create_org("Magnet Works", "manufacturer").await;
        let gtin = app.own_gtin(&maker, "00002").await;
        let magnet = |serial: &str, nd_g: f64| {
            let mut magnet = crate::custody::magnet(serial, &lot, nd_g);
            magnet["product"]["gtin"] = json!(gtin);
            magnet
        };
        let over = app
            .post("/api/v1/passports")
            .bearer_auth(&maker)
            .json(&magnet("MAG-CAP-1", 200.0))
            .send()
            .await
            .unwrap();
        let body = assert_problem(over, 409, "reservation_cap").await;
        assert_eq!(nd_of(&body["reservable"]), 165.0, "{body}");
        // Half, then half of what is left: the first passport's reservation was confirmed
        // from the passport feed, so it no longer counts as open.
        app.register(&maker, &magnet("MAG-CAP-2", 165.0)).await;
        app.register(&maker, &magnet("MAG-CAP-3", 82.5)).await;
        assert_eq!(claimed_nd(&app, &lot).await, 247.5);
    }
);

api_test!(
    racing_reservations_of_one_organisation_stay_within_the_cap,
    |app: TestApp| async move {
        let lot = lot_of_330_g_nd(&app).await;
        let (_, service) = app.create_org("Passport Service", "service").await;
        let (maker, _) = app.create_org("Racing Magnets", "manufacturer").await;
        let app = std::sync::Arc::new(app);
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (app, lot, service, maker) =
                (app.clone(), lot.clone(), service.clone(), maker.clone());
            // 30 g each for passports not issued yet: 5 fit in half of 330 g.
            tasks.spawn(async move {
                let passport = Uuid::now_v7().to_string();
                let response = reserve(&app, &service, &maker, &passport, &lot, 30.0).await;
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap();
                (status, body)
            });
        }
        let mut granted = 0;
        while let Some(answer) = tasks.join_next().await {
            let (status, body) = answer.unwrap();
            match status {
                201 => granted += 1,
                409 => assert_eq!(body["code"], "reservation_cap", "{body}"),
                _ => panic!("{status}: {body}"),
            }
        }
        assert_eq!(granted, 5);
        assert_eq!(claimed_nd(&app, &lot).await, 150.0);
    }
);
