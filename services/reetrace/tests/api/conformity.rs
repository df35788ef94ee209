//! CRMA art. 28/29 scope and conformity (issue 16): the cases of the issue, each passport's
//! answer per rule, who may read it, the organisation summary with the authorities' coverage,
//! and bad scope declarations refused naming the field.

use reetrace::config::Config;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, spawn_app_with};
use crate::magnets::magnet_motor;

/// Art. 28 and 29 in force from 2026 (the legal defaults leave art. 28 open); MRI devices,
/// motor vehicles and L-category vehicles keep their 2029 date.
fn in_force(config: &mut Config) {
    config.crma.art28_from = "2026-01-01".parse().ok();
    config.crma.art29_from = "2026-01-01".parse().unwrap();
}

/// As `api_test!`, on an app with [`in_force`] dates.
macro_rules! crma_test {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = spawn_app_with(reetrace_core::db::Backend::Sqlite, in_force)
                    .await
                    .expect("SQLite is always available");
                ($body)(app).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(app) =
                    spawn_app_with(reetrace_core::db::Backend::Postgres, in_force).await
                else {
                    return;
                };
                ($body)(app).await;
            }
        }
    };
}

fn responsible() -> Value {
    json!({"name": "Haushaltsgeräte Main AG", "email": "crma@hgm.example",
           "address": {"street": "Hafenstraße 3", "postal_code": "60314", "locality": "Frankfurt am Main", "country": "DE"}})
}

/// A product of `group` (category `other`) with `components`, placed in 2026 in `country`.
fn appliance(serial: &str, group: &str, country: &str, components: Value, steps: Value) -> Value {
    json!({"granularity": "item",
      "product": {"serial": serial, "name": format!("{group} {serial}"), "category": "other",
        "crma_product_group": group, "net_mass_g": 40000,
        "placed_on_market": {"date": "2026-06-01", "country": country}},
      "responsible_person": responsible(),
      "ree_content": {"components": components},
      "end_of_life": {"removal_steps": steps}})
}

/// `count` sintered NdFeB magnets of 30 g, with every detail of art. 28(4)(b).
fn ndfeb(reference: &str, count: u32) -> Value {
    json!({"ref": reference, "type": "ndfeb", "subtype": "sintered", "count": count, "unit_mass_g": 30,
      "position": "rotor", "coatings": [{"type": "nickel"}], "glues": [{"type": "none"}],
      "additives": [{"type": "none"}],
      "composition": [{"element": "Nd", "mass_g": 6.6}, {"element": "Pr", "mass_g": 1.8},
        {"element": "Dy", "mass_g": 0.3}, {"element": "B", "mass_g": 0.3}, {"element": "Fe", "mass_g": 21}]})
}

/// `count` strontium ferrite magnets of 50 g; `detail` adds position, coatings, glues and
/// additives.
fn ferrite(reference: &str, count: u32, detail: bool) -> Value {
    let mut magnet = json!({"ref": reference, "type": "ferrite", "count": count, "unit_mass_g": 50,
      "composition": [{"element": "Fe", "mass_g": 31.5}, {"element": "Sr", "mass_g": 4}, {"element": "O", "mass_g": 14}]});
    if detail {
        for (key, value) in [
            ("position", json!("rotor")),
            ("coatings", json!([{"type": "none"}])),
            ("glues", json!([{"type": "epoxy"}])),
            ("additives", json!([{"type": "none"}])),
        ] {
            magnet[key] = value;
        }
    }
    magnet
}

fn release(refs: &[&str]) -> Value {
    json!([{"action": "unscrew", "tools": [{"tool": "screwdriver", "drive": "torx", "size": "T20"}]},
           {"action": "pull_out", "releases": refs, "tools": [{"tool": "pliers"}]}])
}

async fn conformity(app: &TestApp, id: &str, key: Option<&str>) -> Value {
    let mut request = app.get(&format!("/api/v1/passports/{id}/conformity"));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The statuses, rule by rule.
fn statuses(answer: &Value) -> Vec<(String, String)> {
    answer["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["rule"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn expect(answer: &Value, want: [&str; 5]) {
    let rules = ["28(1)", "28(4)(a)", "28(4)(b)", "28(4)(c)", "29(1)"];
    let want: Vec<(String, String)> = rules
        .iter()
        .zip(want)
        .map(|(r, s)| ((*r).to_owned(), s.to_owned()))
        .collect();
    assert_eq!(statuses(answer), want, "{answer:#}");
}

/// Registers the cases of the issue; returns their ids in this order: no magnets, ferrite
/// only, NdFeB 0.15 kg, NdFeB 1.68 kg, magnets only in a motor, exempt, a motor vehicle.
async fn register_cases(app: &TestApp, key: &str) -> Vec<String> {
    let lamp = json!([{"name": "control panel backlight", "material": "phosphor", "mass_g": 2,
        "elements": [{"element": "Y", "mass_g": 0.1}]}]);
    let washer = json!([{"name": "drum motor", "material": "ferrite", "mass_g": 3000,
        "location": "under the drum", "magnets": [ferrite("drum", 8, true)]}]);
    let vacuum = json!([{"name": "suction motor", "material": "NdFeB-sintered", "mass_g": 900,
        "location": "body", "magnets": [ndfeb("rotor", 5)]}]);
    let pump = json!([{"name": "circulation pump motor", "material": "ferrite", "mass_g": 1500,
        "electric_motor": true, "location": "base, behind the kick plate",
        "removal": "Unplug, take out the three T20 screws, lift the pump out.",
        "magnets": [ferrite("pump", 4, false)]}]);
    let mut defence = magnet_motor("EVM-DEF-1");
    defence["product"]["crma_exemptions"] = json!(["defence"]);
    let mut vehicle = magnet_motor("EVM-CAR-1");
    vehicle["product"]["crma_product_group"] = json!("motor_vehicle");
    let mut motor = magnet_motor("EVM-2026-1");
    motor["product"]["placed_on_market"]["date"] = json!("2026-06-01");
    let cases = [
        appliance("HP-1", "heat_pump", "DE", lamp, json!([])),
        appliance(
            "WM-1",
            "automatic_washing_machine",
            "DE",
            washer,
            release(&["drum"]),
        ),
        appliance("VC-1", "vacuum_cleaner", "FR", vacuum, release(&["rotor"])),
        motor,
        appliance("DW-1", "dishwasher", "DE", pump, json!([])),
        defence,
        vehicle,
    ];
    let mut ids = Vec::new();
    for case in &cases {
        let issued = app.register(key, case).await;
        ids.push(issued["id"].as_str().unwrap().to_owned());
    }
    ids
}

crma_test!(
    each_case_of_the_issue_gets_its_answer,
    |app: TestApp| async move {
        let (_, owner) = app
            .create_org("Haushaltsgeräte Main AG", "manufacturer")
            .await;
        let ids = register_cases(&app, &owner).await;
        let read = |i: usize| conformity(&app, &ids[i], Some(&owner));

        // No magnets: the label says so; nothing else applies.
        let none = read(0).await;
        expect(
            &none,
            [
                "met",
                "not_applicable",
                "not_applicable",
                "not_applicable",
                "not_applicable",
            ],
        );
        assert_eq!(none["scope"]["group_source"], "declared");
        assert!(
            none["rules"][0]["reason"]
                .as_str()
                .unwrap()
                .contains("no permanent magnet")
        );

        // Ferrite only: art. 28 applies, art. 29 does not.
        let ferrite = read(1).await;
        expect(&ferrite, ["met", "met", "met", "met", "not_applicable"]);
        assert_eq!(ferrite["magnets"]["types"], json!(["ferrite"]));

        // NdFeB 0.15 kg: not more than 0.2 kg.
        let small = read(2).await;
        expect(&small, ["met", "met", "met", "met", "not_applicable"]);
        assert_eq!(small["magnets"]["art29_mass_g"], 150.0);
        assert!(
            small["rules"][4]["reason"]
                .as_str()
                .unwrap()
                .contains("150 g")
        );

        // NdFeB 1.68 kg: every rule applies and is met; the group is the category's.
        let motor = read(3).await;
        expect(&motor, ["met", "met", "met", "met", "met"]);
        assert_eq!(motor["scope"]["product_group"], "electric_motor");
        assert_eq!(motor["scope"]["group_source"], "category_mapping");
        assert_eq!(motor["rules"][4]["applies_from"], "2026-01-01");

        // Magnets only in an electric motor: its location and removal stand in (art. 28(5)).
        let pump = read(4).await;
        expect(&pump, ["met", "met", "met", "met", "not_applicable"]);
        assert!(
            pump["rules"][2]["reason"]
                .as_str()
                .unwrap()
                .contains("28(5)")
        );

        // Exempt: nothing applies, and the answer says why.
        let exempt = read(5).await;
        expect(&exempt, ["not_applicable"; 5]);
        assert_eq!(exempt["scope"]["in_scope"], false);
        assert!(
            exempt["rules"][0]["reason"]
                .as_str()
                .unwrap()
                .contains("28(9)")
        );

        // A motor vehicle: art. 28 from 24 May 2029 (the product was placed before, and that
        // day is still to come).
        let vehicle = read(6).await;
        expect(
            &vehicle,
            [
                "not_yet_applicable",
                "not_yet_applicable",
                "not_yet_applicable",
                "not_yet_applicable",
                "met",
            ],
        );
        assert_eq!(vehicle["rules"][0]["applies_from"], "2029-05-24");
    }
);

crma_test!(
    gaps_are_named_and_the_public_gets_the_rules_on_public_content,
    |app: TestApp| async move {
        let (_, owner) = app
            .create_org("Haushaltsgeräte Main AG", "manufacturer")
            .await;
        let (_, recycler) = app.create_org("Urban Mine Recycling", "recycler").await;
        let mut washer = appliance(
            "WM-2",
            "automatic_washing_machine",
            "DE",
            json!([{"name": "drum motor", "material": "ferrite", "mass_g": 3000,
                   "magnets": [ferrite("drum", 8, false)]}]),
            json!([]),
        );
        washer.as_object_mut().unwrap().remove("responsible_person");
        let issued = app.register(&owner, &washer).await;
        let id = issued["id"].as_str().unwrap().to_owned();
        // The declared scope is signed, and the credential verifies with its new term.
        let credential = &issued["credential"];
        assert_eq!(
            credential["credentialSubject"]["ree:crmaScope"],
            json!({"productGroup": "automatic_washing_machine"})
        );
        let response = app
            .post("/credentials/verify")
            .json(&json!({"verifiableCredential": credential}))
            .send()
            .await
            .unwrap();
        let result: Value = response.json().await.unwrap();
        assert_eq!(result["verified"], true, "{result}");

        let full = conformity(&app, &id, Some(&recycler)).await;
        assert_eq!(full["tier"], "professional");
        expect(
            &full,
            ["met", "missing", "missing", "missing", "not_applicable"],
        );
        let pointers = |i: usize| -> Vec<String> {
            full["rules"][i]["missing"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["pointer"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(pointers(1), ["/responsible_person"]);
        let magnet = "/ree_content/components/0/magnets/0";
        assert_eq!(
            pointers(2),
            [
                format!("{magnet}/position"),
                format!("{magnet}/coatings"),
                format!("{magnet}/glues"),
                format!("{magnet}/additives")
            ]
        );
        assert_eq!(pointers(3), ["/end_of_life/removal_steps"]);

        // Without a key: the details document is restricted, so the rules that read it are
        // withheld; the others are answered.
        let public = conformity(&app, &id, None).await;
        assert_eq!(public["tier"], "public");
        assert_eq!(public["withheld"], json!(["28(4)(b)", "28(4)(c)"]));
        let rules: Vec<String> = statuses(&public).into_iter().map(|(r, _)| r).collect();
        assert_eq!(rules, ["28(1)", "28(4)(a)", "29(1)"]);

        // The passport page shows the same answers, cut to the same tier.
        let page = |key: Option<&str>| {
            let mut request = app.get(&format!("/p/{id}")).header("accept", "text/html");
            if let Some(key) = key {
                request = request.bearer_auth(key);
            }
            async move { request.send().await.unwrap().text().await.unwrap() }
        };
        let public_page = page(None).await;
        assert!(public_page.contains("<h2 id=\"crma-h\">CRMA conformity</h2>"));
        assert!(public_page.contains(
            "<strong>Art. 28(4)(a) (responsible person's name and addresses)</strong>: \
             <span class=\"conformity-missing\">missing</span>"
        ));
        assert!(public_page.contains("<code>/responsible_person</code>"));
        assert!(public_page.contains("Art. 28(4)(b) and 28(4)(c) are checked on the magnets"));
        assert!(!public_page.contains("<code>/end_of_life/removal_steps</code>"));
        let owner_page = page(Some(&owner)).await;
        assert!(owner_page.contains("<code>/end_of_life/removal_steps</code>"));
        assert!(!owner_page.contains("are checked on the magnets"));

        let response = app
            .get("/api/v1/passports/not-a-uuid/conformity")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        let response = app
            .get(&format!(
                "/api/v1/passports/{}/conformity",
                uuid::Uuid::now_v7()
            ))
            .send()
            .await
            .unwrap();
        assert_problem(response, 404, "not_found").await;
    }
);

crma_test!(
    the_summary_is_for_the_owner_and_the_authorities,
    |app: TestApp| async move {
        let (org, owner) = app
            .create_org("Haushaltsgeräte Main AG", "manufacturer")
            .await;
        let (other_org, other) = app.create_org("Other Motors", "manufacturer").await;
        let (_, regulator) = app.create_org("Market Surveillance", "regulator").await;
        let (_, recycler) = app.create_org("Urban Mine Recycling", "recycler").await;
        let ids = register_cases(&app, &owner).await;

        let own = app
            .get_json("/api/v1/conformity?limit=4", Some(&owner))
            .await;
        assert_eq!(own["org_id"], org.as_str());
        let totals = &own["totals"];
        assert_eq!(totals["passports"], 7);
        assert_eq!(
            (totals["in_scope"].as_u64(), totals["exempt"].as_u64()),
            (Some(6), Some(1))
        );
        assert_eq!(totals["rules"][4]["rule"], "29(1)");
        assert_eq!(totals["rules"][4]["met"], 2);
        assert!(
            totals.get("coverage").is_none(),
            "coverage is for the authorities"
        );
        assert_eq!(own["items"].as_array().unwrap().len(), 4);
        let cursor = own["next_cursor"].as_str().unwrap();
        let next = app
            .get_json(
                &format!("/api/v1/conformity?limit=4&cursor={cursor}"),
                Some(&owner),
            )
            .await;
        let listed: Vec<&str> = own["items"]
            .as_array()
            .unwrap()
            .iter()
            .chain(next["items"].as_array().unwrap())
            .map(|i| i["passport_id"].as_str().unwrap())
            .collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(listed, sorted);
        assert!(next.get("next_cursor").is_none());

        // The regulator names the organisation and gets the coverage: of the in-scope units
        // placed in France in 2026 (the vacuum cleaner) every rule that applies is met.
        let seen = app
            .get_json(&format!("/api/v1/conformity?org={org}"), Some(&regulator))
            .await;
        let cells = seen["totals"]["coverage"].as_array().unwrap();
        let france: Vec<&Value> = cells.iter().filter(|c| c["country"] == "FR").collect();
        assert!(france.iter().any(|c| c["product_group"] == "vacuum_cleaner"
            && c["year"] == 2026
            && c["rules"][0]["share"] == 1.0
            && c["rules"][4]["applicable"] == 0));
        let empty = app
            .get_json(
                &format!("/api/v1/conformity?org={other_org}"),
                Some(&regulator),
            )
            .await;
        assert_eq!(empty["totals"]["passports"], 0);

        for (key, query, status, code) in [
            (&other, format!("?org={org}"), 403, "forbidden"),
            (&recycler, String::new(), 403, "forbidden"),
            (&regulator, "?org=someone".to_owned(), 400, "invalid_query"),
            (&owner, "?limit=0".to_owned(), 400, "invalid_query"),
        ] {
            let response = app
                .get(&format!("/api/v1/conformity{query}"))
                .bearer_auth(key)
                .send()
                .await
                .unwrap();
            let body = assert_problem(response, status, code).await;
            if query.starts_with("?org=s") {
                assert_eq!(body["errors"][0]["pointer"], "org", "{body}");
            }
        }
    }
);

crma_test!(
    bad_scope_declarations_are_refused_naming_the_field,
    |app: TestApp| async move {
        let (_, owner) = app
            .create_org("Haushaltsgeräte Main AG", "manufacturer")
            .await;
        for (field, value, pointer) in [
            (
                "crma_product_group",
                json!("toaster"),
                "/product/crma_product_group",
            ),
            ("rated_output_kw", json!(-0.5), "/product/rated_output_kw"),
            (
                "crma_exemptions",
                json!(["type_approved_vehicle"]),
                "/product/crma_exemptions/0",
            ),
            // An electric motor (the category's group) is no L-category vehicle.
            (
                "l_category_vehicle",
                json!(true),
                "/product/l_category_vehicle",
            ),
        ] {
            let mut motor = magnet_motor("EVM-BAD-1");
            motor["product"][field] = value;
            let response = app
                .post("/api/v1/passports")
                .bearer_auth(&owner)
                .json(&motor)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 422, "{field}");
            let body: Value = response.json().await.unwrap();
            let pointers: Vec<&str> = body["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["pointer"].as_str().unwrap())
                .collect();
            assert_eq!(pointers, [pointer], "{body}");
        }
        let listed = app.get_json("/api/v1/passports", Some(&owner)).await;
        assert_eq!(listed["items"], json!([]), "nothing was written");
    }
);

// CRMA art. 28 applies "from 24 May 2029 for MRI devices, motor vehicles and L-category
// vehicles": among the light means of transport only those declared `l_category_vehicle`
// (Regulation (EU) No 168/2013) wait for it; an e-scooter takes the general date.
crma_test!(
    only_l_category_vehicles_among_light_means_of_transport_wait_for_2029,
    |app: TestApp| async move {
        let (_, owner) = app.create_org("Velo Werke GmbH", "manufacturer").await;
        let hub = || {
            json!([{"name": "hub motor", "material": "NdFeB-sintered", "mass_g": 900,
                "location": "rear wheel hub", "magnets": [ndfeb("hub", 10)]}])
        };
        let scooter = appliance(
            "ES-1",
            "light_means_of_transport",
            "DE",
            hub(),
            release(&["hub"]),
        );
        let mut moped = appliance(
            "L1E-1",
            "light_means_of_transport",
            "DE",
            hub(),
            release(&["hub"]),
        );
        moped["product"]["l_category_vehicle"] = json!(true);
        let scooter = app.register(&owner, &scooter).await;
        let moped = app.register(&owner, &moped).await;

        let answer = conformity(&app, moped["id"].as_str().unwrap(), Some(&owner)).await;
        assert_eq!(answer["scope"]["l_category_vehicle"], true);
        expect(
            &answer,
            [
                "not_yet_applicable",
                "not_yet_applicable",
                "not_yet_applicable",
                "not_yet_applicable",
                "met",
            ],
        );
        for rule in &answer["rules"].as_array().unwrap()[..4] {
            assert_eq!(rule["applies_from"], "2029-05-24", "{rule}");
        }
        let answer = conformity(&app, scooter["id"].as_str().unwrap(), Some(&owner)).await;
        assert!(answer["scope"].get("l_category_vehicle").is_none());
        expect(&answer, ["met", "met", "met", "met", "met"]);
        for rule in &answer["rules"].as_array().unwrap()[..4] {
            assert_eq!(rule["applies_from"], "2026-01-01", "{rule}");
        }
        // The declaration is signed as given.
        let credential = &moped["credential"]["credentialSubject"]["ree:crmaScope"];
        assert_eq!(
            *credential,
            json!({"productGroup": "light_means_of_transport", "lCategoryVehicle": true})
        );
    }
);
