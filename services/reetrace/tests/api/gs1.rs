//! GS1 identities bound to their owners (issue 15, finding 4): organisations hold GS1 company
//! prefixes an admin adds, a manufacturer registers GTINs only under its own and a recycler
//! names output lots only under its own, restricted circulation numbers never name a product,
//! and the GTINs registered before prefixes existed stay with their first registrant
//! (`reetrace::grandfather`).

use reetrace_core::db::{Db, PoolOptions, Sql};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api_test;
use crate::claims::magnet_lot;
use crate::helpers::{TestApp, assert_problem, gtin};
use crate::import::{args, import};
use crate::passports::motor;

/// The motor of the passport tests under `gtin`.
fn motor_with(gtin: &str, serial: &str) -> Value {
    let mut motor = motor(serial);
    motor["product"]["gtin"] = json!(gtin);
    motor
}

async fn post_as(app: &TestApp, key: &str, path: &str, body: &Value) -> reqwest::Response {
    app.post(path)
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn delete_as(app: &TestApp, key: &str, path: &str) -> reqwest::Response {
    app.client
        .delete(app.url(path))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
}

/// The issuer of the credential the Digital Link `path` serves.
async fn served_issuer(app: &TestApp, path: &str) -> String {
    let response = app
        .get(path)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    let credential: Value = response.json().await.unwrap();
    credential["issuer"]["id"].as_str().unwrap().to_owned()
}

/// Marks the app's database as not grandfathered yet (as the prefixes' migration leaves it) and
/// runs the grandfathering as the next start does; returns the entries recorded. A second run
/// records nothing.
async fn grandfather_again(app: &TestApp) -> u64 {
    app.execute(Sql::new("INSERT INTO gs1_grandfathering (id) VALUES (1)"))
        .await;
    let db = Db::connect(&app.database_url, &PoolOptions::default())
        .await
        .unwrap();
    let recorded = reetrace::grandfather::run(&db).await.unwrap();
    assert_eq!(reetrace::grandfather::run(&db).await.unwrap(), 0);
    db.close().await;
    recorded
}

api_test!(
    a_manufacturer_cannot_register_a_serial_under_another_manufacturers_gtin,
    |app: TestApp| async move {
        // A holds 4012345 (GTIN 04012345000016), B holds 4012346.
        let (owner_id, owner) = app.create_org("Acme Motors", "manufacturer").await;
        let (squatter_id, squatter) = app.create_org("Squat Motors", "manufacturer").await;

        // The squatter registering a serial under A's GTIN was 201, and A's Digital Link for
        // that serial then served the squatter's credential.
        let refused = post_as(&app, &squatter, "/api/v1/passports", &motor("EVM-77")).await;
        let body = assert_problem(refused, 403, "gtin_not_yours").await;
        assert_eq!(body["gtin"], "04012345000016", "{body}");
        assert_eq!(body["pointer"], "/product/gtin", "{body}");
        assert_eq!(body["held_prefixes"], json!(["4012346"]), "{body}");
        let detail = body["detail"].as_str().unwrap();
        assert!(
            detail.contains("04012345000016") && detail.contains("4012346"),
            "{detail}"
        );

        app.register(&owner, &motor("EVM-77")).await;
        let issuer = served_issuer(&app, "/01/04012345000016/21/EVM-77").await;
        assert!(issuer.ends_with(&format!(":orgs:{owner_id}")), "{issuer}");

        // In bulk, the line under A's GTIN is refused on its own; the squatter's own is stored.
        let own = gtin("4012346", "00001");
        let lines = json!([motor("EVM-78"), motor_with(&own, "SQ-1")]);
        let response = post_as(&app, &squatter, "/api/v1/passports/bulk", &lines).await;
        assert_eq!(response.status(), 200);
        let outcome: Value = response.json().await.unwrap();
        assert_eq!(outcome["created"], 1, "{outcome}");
        let line = &outcome["results"][0];
        assert_eq!(line["status"], 403, "{outcome}");
        assert_eq!(line["problem"]["code"], "gtin_not_yours", "{outcome}");
        assert_eq!(line["problem"]["gtin"], "04012345000016", "{outcome}");
        assert_eq!(outcome["results"][1]["status"], 201, "{outcome}");
        // All or nothing: the refused line stores nothing.
        let atomic = json!([motor_with(&own, "SQ-2"), motor("EVM-79")]);
        let response = post_as(
            &app,
            &squatter,
            "/api/v1/passports/bulk?atomic=true",
            &atomic,
        )
        .await;
        assert_eq!(response.status(), 422);
        let missing = app
            .get(&format!("/01/{own}/21/SQ-2"))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);

        // `reetrace import` goes the bulk way: the line is reported, the others stored.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("squat.ndjson");
        let text = format!("{}\n{}\n", motor("EVM-80"), motor_with(&own, "SQ-3"));
        std::fs::write(&file, text).unwrap();
        let (code, summary) = import(&app, args(&file, &squatter_id, &[])).await;
        assert_eq!(code, 1, "{summary}");
        assert_eq!(summary["created"], 1, "{summary}");
        assert_eq!(summary["errors"][0]["line"], 1, "{summary}");
        assert_eq!(
            summary["errors"][0]["problem"]["code"], "gtin_not_yours",
            "{summary}"
        );
        for serial in ["EVM-78", "EVM-80"] {
            let response = app
                .get(&format!("/01/04012345000016/21/{serial}"))
                .header("accept", "application/json")
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 404, "{serial}");
        }
    }
);

api_test!(
    only_admins_add_and_remove_prefixes_and_a_prefix_has_one_owner,
    |app: TestApp| async move {
        let (maker_id, maker) = app
            .create_org_without_prefix("Acme Motors", "manufacturer")
            .await;
        let (rival_id, rival) = app
            .create_org_without_prefix("Rival Motors", "manufacturer")
            .await;
        let (regulator_id, regulator) = app.create_org("Agency", "regulator").await;
        let path = format!("/api/v1/orgs/{maker_id}/gs1-prefixes");
        let prefix = json!({"prefix": "4012345"});

        // Only an admin adds and removes; an organisation reads its own list, no other's.
        for key in [&maker, &regulator] {
            let refused = post_as(&app, key, &path, &prefix).await;
            assert_problem(refused, 403, "forbidden").await;
        }
        let added = app.add_prefix(&maker_id, &prefix).await;
        assert_eq!(added["prefix"], "4012345");
        assert_eq!(added["kind"], "company_prefix");
        assert_eq!(added["grandfathered"], false);
        assert_eq!(added["org_id"], maker_id.as_str());
        let own = app.get_json(&path, Some(&maker)).await;
        assert_eq!(own, json!([added]));
        let refused = app.get(&path).bearer_auth(&rival).send().await.unwrap();
        assert_problem(refused, 403, "forbidden").await;
        assert_eq!(app.get_json(&path, Some(&app.admin_key)).await, own);

        // A prefix belongs to one organisation: the same, a shorter one or a longer one.
        let rivals = format!("/api/v1/orgs/{rival_id}/gs1-prefixes");
        for taken in ["4012345", "401234", "40123456", "401234500001"] {
            let refused = post_as(&app, &app.admin_key, &rivals, &json!({"prefix": taken})).await;
            let body = assert_problem(refused, 409, "prefix_taken").await;
            assert_eq!(body["conflicting_prefix"], "4012345", "{body}");
        }
        let again = post_as(&app, &app.admin_key, &path, &prefix).await;
        assert_problem(again, 409, "prefix_taken").await;
        // A neighbour is no overlap; nor is a single GTIN under the organisation's own prefix.
        app.add_prefix(&rival_id, &json!({"prefix": "4012346"}))
            .await;
        let inside = app
            .add_prefix(&maker_id, &json!({"gtin": "04012345000016"}))
            .await;
        assert_eq!(inside["prefix"], "401234500001");
        assert_eq!(inside["kind"], "gtin");
        assert_eq!(inside["gtin"], "04012345000016");

        // Only manufacturers and recyclers hold prefixes; unknown organisations are 404.
        let regulators = format!("/api/v1/orgs/{regulator_id}/gs1-prefixes");
        let refused = post_as(
            &app,
            &app.admin_key,
            &regulators,
            &json!({"prefix": "4012399"}),
        )
        .await;
        assert_problem(refused, 422, "validation_failed").await;
        let nobody = format!("/api/v1/orgs/{}/gs1-prefixes", Uuid::now_v7());
        let refused = post_as(&app, &app.admin_key, &nobody, &prefix).await;
        assert_problem(refused, 404, "not_found").await;
        let refused = app
            .get(&nobody)
            .bearer_auth(&app.admin_key)
            .send()
            .await
            .unwrap();
        assert_problem(refused, 404, "not_found").await;
        let refused = post_as(
            &app,
            &app.admin_key,
            "/api/v1/orgs/nope/gs1-prefixes",
            &prefix,
        )
        .await;
        assert_problem(refused, 400, "invalid_id").await;

        // Removing is the admin's too; what was removed can go to another organisation.
        let one = format!("{path}/4012345");
        assert_problem(delete_as(&app, &maker, &one).await, 403, "forbidden").await;
        let removed = delete_as(&app, &app.admin_key, &one).await;
        assert_eq!(removed.status(), 200);
        let removed: Value = removed.json().await.unwrap();
        assert_eq!(removed["prefix"], "4012345");
        assert_problem(
            delete_as(&app, &app.admin_key, &one).await,
            404,
            "not_found",
        )
        .await;
        // The single GTIN the maker still holds keeps the rest of 4012345 from nobody.
        let refused = post_as(&app, &app.admin_key, &rivals, &json!({"prefix": "4012345"})).await;
        assert_problem(refused, 409, "prefix_taken").await;
        app.add_prefix(&rival_id, &json!({"prefix": "4012347"}))
            .await;
        let listed = app.get_json(&rivals, Some(&rival)).await;
        let prefixes: Vec<&str> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["prefix"].as_str().unwrap())
            .collect();
        assert_eq!(prefixes, ["4012346", "4012347"]);
    }
);

api_test!(
    gtin8_upc_and_restricted_circulation_numbers,
    |app: TestApp| async move {
        let (maker_id, maker) = app
            .create_org_without_prefix("Small Parts", "manufacturer")
            .await;
        let path = format!("/api/v1/orgs/{maker_id}/gs1-prefixes");

        // A GTIN-8 is held as itself (GS1 allocates them one by one).
        let gtin8 = app
            .add_prefix(&maker_id, &json!({"gtin": "96385074"}))
            .await;
        assert_eq!(gtin8["prefix"], "000009638507");
        assert_eq!(gtin8["gtin"], "00000096385074");
        app.register(&maker, &motor_with("96385074", "G8-1")).await;
        let issuer = served_issuer(&app, "/01/96385074/21/G8-1").await;
        assert!(issuer.ends_with(&format!(":orgs:{maker_id}")), "{issuer}");
        // Another GTIN-8 is not the maker's.
        let refused = post_as(
            &app,
            &maker,
            "/api/v1/passports",
            &motor_with("96385081", "G8-2"),
        )
        .await;
        assert_problem(refused, 403, "gtin_not_yours").await;

        // A U.P.C. Company Prefix (GTIN-12) takes the leading zero of the GTIN-13 form.
        let upc = app
            .add_prefix(&maker_id, &json!({"upc_prefix": "0614141"}))
            .await;
        assert_eq!(upc["prefix"], "00614141");
        assert_eq!(upc["kind"], "upc_company_prefix");
        let gtin12 = &gtin("00614141", "0001")[2..];
        assert_eq!(gtin12.len(), 12);
        app.register(&maker, &motor_with(gtin12, "U-1")).await;
        served_issuer(&app, &format!("/01/{gtin12}/21/U-1")).await;
        // Its GTIN-13 form is held the same way.
        let overlapping =
            post_as(&app, &app.admin_key, &path, &json!({"prefix": "00614141"})).await;
        assert_problem(overlapping, 409, "prefix_taken").await;

        // Restricted circulation numbers never name a product, whoever holds what (422).
        for rcn in [
            gtin("2012345", "00001"),  // GS1 Prefix 20-29
            gtin("0212345", "00001"),  // 02: U.P.C. number system 2
            gtin("0412345", "00001"),  // 04: within a company
            "212345678909".to_owned(), // a GTIN-12 starting 2
            "20123451".to_owned(),     // RCN-8 starting 2
            "01234565".to_owned(),     // RCN-8 starting 0
        ] {
            let refused =
                post_as(&app, &maker, "/api/v1/passports", &motor_with(&rcn, "R-1")).await;
            let body = assert_problem(refused, 422, "validation_failed").await;
            assert_eq!(
                body["errors"][0]["pointer"], "/product/gtin",
                "{rcn}: {body}"
            );
        }
        // Nor are they prefixes; each refusal names its field.
        for (entry, pointer) in [
            (json!({"prefix": "2012345"}), "/prefix"),
            (json!({"prefix": "0412345"}), "/prefix"),
            (json!({"prefix": "0000012"}), "/prefix"),
            (json!({"prefix": "40a2345"}), "/prefix"),
            (json!({"upc_prefix": "212345"}), "/upc_prefix"),
            (json!({"upc_prefix": "12345"}), "/upc_prefix"),
            (json!({"gtin": "01234565"}), "/gtin"),
            (json!({"gtin": "96385075"}), "/gtin"),
            (json!({}), ""),
            (json!({"prefix": "4012345", "gtin": "96385074"}), ""),
        ] {
            let refused = post_as(&app, &app.admin_key, &path, &entry).await;
            let body = assert_problem(refused, 422, "validation_failed").await;
            assert_eq!(body["errors"][0]["pointer"], pointer, "{entry}: {body}");
        }
        // Products without a GTIN need no prefix.
        let mut own = motor("NO-GTIN-1");
        own["product"].as_object_mut().unwrap().remove("gtin");
        app.register(&maker, &own).await;
    }
);

api_test!(
    removing_a_prefix_keeps_passports_but_stops_new_registrations,
    |app: TestApp| async move {
        let (maker_id, maker) = app.create_org("Acme Motors", "manufacturer").await;
        let id = app.register(&maker, &motor("EVM-1")).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let removed = delete_as(
            &app,
            &app.admin_key,
            &format!("/api/v1/orgs/{maker_id}/gs1-prefixes/4012345"),
        )
        .await;
        assert_eq!(removed.status(), 200);

        // The passport stays and still resolves to the maker's credential.
        let issuer = served_issuer(&app, "/01/04012345000016/21/EVM-1").await;
        assert!(issuer.ends_with(&format!(":orgs:{maker_id}")), "{issuer}");
        app.get_json(&format!("/api/v1/passports/{id}"), Some(&maker))
            .await;
        // No new serial, and no new version stating the GTIN again.
        let refused = post_as(&app, &maker, "/api/v1/passports", &motor("EVM-2")).await;
        let body = assert_problem(refused, 403, "gtin_not_yours").await;
        assert_eq!(body["held_prefixes"], json!([]), "{body}");
        let mut changed = motor("EVM-1");
        changed["product"]["net_mass_g"] = json!(47500);
        let refused = app
            .put(&format!("/api/v1/passports/{id}"))
            .bearer_auth(&maker)
            .json(&changed)
            .send()
            .await
            .unwrap();
        assert_problem(refused, 403, "gtin_not_yours").await;
        // The unchanged registration states nothing new: it answers the version there is.
        let unchanged = app
            .put(&format!("/api/v1/passports/{id}"))
            .bearer_auth(&maker)
            .json(&motor("EVM-1"))
            .send()
            .await
            .unwrap();
        assert_eq!(unchanged.status(), 200);
        let unchanged: Value = unchanged.json().await.unwrap();
        assert_eq!(unchanged["version"], 1);
        // Given back, the maker registers again.
        app.add_prefix(&maker_id, &json!({"prefix": "4012345"}))
            .await;
        app.register(&maker, &motor("EVM-2")).await;
    }
);

api_test!(
    gtins_registered_before_prefixes_stay_with_their_first_registrant,
    |app: TestApp| async move {
        // Before prefixes, A registered a serial under 04012345000016 and B (the squatter)
        // another one later: the state of a database the migration finds.
        let (first_id, first) = app
            .create_org_without_prefix("Acme Motors", "manufacturer")
            .await;
        let (later_id, later) = app
            .create_org_without_prefix("Squat Motors", "manufacturer")
            .await;
        for (org, key, serial) in [(&first_id, &first, "OLD-1"), (&later_id, &later, "OLD-2")] {
            let path = format!("/api/v1/orgs/{org}/gs1-prefixes");
            app.add_prefix(org, &json!({"gtin": "04012345000016"}))
                .await;
            app.register(key, &motor(serial)).await;
            let removed = delete_as(&app, &app.admin_key, &format!("{path}/401234500001")).await;
            assert_eq!(removed.status(), 200);
        }

        // The first start after the prefixes' migration grandfathers them, once.
        assert_eq!(grandfather_again(&app).await, 1);

        let held = app
            .get_json(
                &format!("/api/v1/orgs/{first_id}/gs1-prefixes"),
                Some(&first),
            )
            .await;
        assert_eq!(held.as_array().unwrap().len(), 1, "{held}");
        assert_eq!(held[0]["prefix"], "401234500001");
        assert_eq!(held[0]["kind"], "gtin");
        assert_eq!(held[0]["gtin"], "04012345000016");
        assert_eq!(held[0]["grandfathered"], true);
        let none = app
            .get_json(
                &format!("/api/v1/orgs/{later_id}/gs1-prefixes"),
                Some(&later),
            )
            .await;
        assert_eq!(none, json!([]));

        // The first registrant keeps registering new serials under its GTIN; the squatter's
        // passport stays, but it registers no more.
        app.register(&first, &motor("NEW-1")).await;
        let refused = post_as(&app, &later, "/api/v1/passports", &motor("NEW-2")).await;
        assert_problem(refused, 403, "gtin_not_yours").await;
        served_issuer(&app, "/01/04012345000016/21/OLD-2").await;
        // The admin then enters the real prefix over the grandfathered GTIN.
        app.add_prefix(&first_id, &json!({"prefix": "4012345"}))
            .await;
        app.register(&first, &motor_with(&gtin("4012345", "00002"), "NEW-3"))
            .await;
    }
);

api_test!(
    a_recycler_names_output_lots_only_under_its_own_prefixes,
    |app: TestApp| async move {
        // The recycler of the magnet lot is the first recycler: it holds 4098765.
        let (lot, recycler) = magnet_lot(&app).await;
        let recycle = |gtin: String| {
            json!({"process": "recycling", "at": "2026-11-01T10:00:00Z",
                "inputs": [{"lot": lot, "mass_g": 1480}],
                "outputs": [{"kind": "oxide", "material": "NdPr oxide", "mass_g": 500,
                    "gtin": gtin, "lot_number": "OX-1",
                    "elements": [{"element": "Nd", "mass_g": 300}, {"element": "Pr", "mass_g": 90}]}]})
        };
        // The manufacturer's GTIN (4012345) is not the recycler's.
        let refused = post_as(
            &app,
            &recycler,
            "/api/v1/custody/transformations",
            &recycle(gtin("4012345", "00003")),
        )
        .await;
        let body = assert_problem(refused, 403, "gtin_not_yours").await;
        assert_eq!(body["pointer"], "/outputs/0/gtin", "{body}");
        assert_eq!(body["held_prefixes"], json!(["4098765"]), "{body}");
        let refused = post_as(
            &app,
            &recycler,
            "/api/v1/custody/transformations",
            &recycle(gtin("2098765", "00003")),
        )
        .await;
        let body = assert_problem(refused, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["pointer"], "/outputs/0/gtin", "{body}");
        // Under its own prefix the lot is recorded, the input untouched by the refusals.
        let own = gtin("4098765", "00003");
        let recorded = post_as(
            &app,
            &recycler,
            "/api/v1/custody/transformations",
            &recycle(own.clone()),
        )
        .await;
        let status = recorded.status();
        let recorded: Value = recorded.json().await.unwrap();
        assert_eq!(status, 201, "{recorded}");
        assert_eq!(
            recorded["lots"][0]["epc"],
            format!("https://id.gs1.org/01/{own}/10/OX-1")
        );

        // A lot named before prefixes existed grandfathers its GTIN to its recycler.
        let me = app.get_json("/api/v1/whoami", Some(&recycler)).await;
        let org = me["org_id"].as_str().unwrap();
        let path = format!("/api/v1/orgs/{org}/gs1-prefixes");
        let removed = delete_as(&app, &app.admin_key, &format!("{path}/4098765")).await;
        assert_eq!(removed.status(), 200);
        assert_eq!(grandfather_again(&app).await, 1);
        let held = app.get_json(&path, Some(&recycler)).await;
        assert_eq!(held[0]["gtin"], own.as_str(), "{held}");
        assert_eq!(held[0]["grandfathered"], true, "{held}");
    }
);
