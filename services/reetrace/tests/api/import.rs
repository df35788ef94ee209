//! `reetrace import`: NDJSON and CSV files registered through the bulk path, invalid lines
//! reported by line number without stopping valid ones, the passports then resolvable and
//! verified; exit codes 0, 1 and 2.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::api_test;
use crate::helpers::TestApp;

/// Runs `reetrace import` on the app's database; returns (exit code, summary).
pub async fn import(app: &TestApp, args: Vec<String>) -> (i32, Value) {
    let config = app.config.clone();
    let database_url = app.database_url.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_reetrace"))
            .arg("import")
            .args(args)
            .arg("--database-url")
            .arg(database_url)
            .env(
                "REETRACE_MASTER_KEY",
                config.master_key.as_ref().unwrap().expose(),
            )
            .env("REETRACE_PUBLIC_BASE_URL", config.public_base_url())
            .env("REETRACE_LOG", "warn")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let summary = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output.status.code().unwrap(), summary)
}

pub fn args(file: &Path, org: &str, extra: &[&str]) -> Vec<String> {
    let mut out = vec![file.display().to_string(), "--org".into(), org.into()];
    out.extend(extra.iter().map(|s| (*s).to_owned()));
    out
}

fn registration(serial: &str) -> Value {
    json!({"granularity": "item",
        "product": {"gtin": "04012345000016", "serial": serial, "name": "Traction motor PMSM 150 kW",
            "category": "ev_traction_motor", "net_mass_g": 48000,
            "placed_on_market": {"date": "2026-04-15", "country": "FR"}},
        "ree_content": {"components": [{"name": "rotor magnet set", "material": "NdFeB-sintered",
            "mass_g": 1500, "elements": [{"element": "Nd", "mass_g": 337.5}, {"element": "Dy", "mass_g": 60}]}]}})
}

/// The passport at `path` resolves as JSON to a credential that `/credentials/verify` accepts.
async fn assert_resolves_and_verifies(app: &TestApp, path: &str) -> Value {
    let response = app
        .get(path)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    let credential: Value = response.json().await.unwrap();
    let verdict = app
        .post("/credentials/verify")
        .json(&json!({"verifiableCredential": credential}))
        .send()
        .await
        .unwrap();
    assert_eq!(verdict.status(), 200, "{path}");
    let verdict: Value = verdict.json().await.unwrap();
    assert_eq!(verdict["verified"], true, "{verdict}");
    credential
}

api_test!(
    ndjson_lines_are_registered_and_bad_ones_reported_by_line,
    |app: TestApp| async move {
        let (org, _) = app.create_org("Import Motors", "manufacturer").await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("passports.ndjson");
        let mut over = registration("IMP-4");
        over["ree_content"]["components"][0]["elements"][0]["mass_g"] = json!(2000);
        let lines = [
            registration("IMP-1").to_string(),
            registration("IMP-2").to_string(),
            "{\"granularity\": \"item\",".to_owned(),
            over.to_string(),
            String::new(),
            registration("IMP-6").to_string(),
            registration("IMP-1").to_string(),
        ];
        std::fs::write(&file, lines.join("\r\n")).unwrap();
        // One line per transaction as well as all in one: the outcome is the same.
        for (batch, serial_suffix) in [("1000", ""), ("1", "-b")] {
            let text = lines
                .join("\n")
                .replace("IMP-", &format!("IMP{serial_suffix}-"));
            let file = dir.path().join(format!("p{serial_suffix}.ndjson"));
            std::fs::write(&file, text).unwrap();
            let (code, summary) = import(&app, args(&file, &org, &["--batch", batch])).await;
            assert_eq!(code, 1, "{summary}");
            assert_eq!(summary["created"], 3, "{summary}");
            assert_eq!(summary["failed"], 3, "{summary}");
            let errors = summary["errors"].as_array().unwrap();
            let at: Vec<u64> = errors.iter().map(|e| e["line"].as_u64().unwrap()).collect();
            assert_eq!(at, vec![3, 4, 7], "{summary}");
            assert_eq!(errors[0]["problem"]["code"], "malformed_json");
            assert_eq!(errors[1]["problem"]["status"], 422);
            assert_eq!(
                errors[1]["problem"]["errors"][0]["pointer"],
                "/ree_content/components/0/elements/0/mass_g",
                "{summary}"
            );
            let duplicate = &errors[2]["problem"]["code"];
            assert!(
                duplicate == "duplicate_in_request" || duplicate == "passport_exists",
                "{summary}"
            );
        }
        // CRLF endings were read as line ends too.
        let (code, summary) = import(&app, args(&file, &org, &[])).await;
        assert_eq!(code, 1, "{summary}");
        assert_eq!(summary["created"], 0, "{summary}");
        for serial in ["IMP-1", "IMP-2", "IMP-6", "IMP-b-6"] {
            let credential =
                assert_resolves_and_verifies(&app, &format!("/01/04012345000016/21/{serial}"))
                    .await;
            let issuer = credential["issuer"]["id"].as_str().unwrap();
            assert!(issuer.ends_with(&format!(":orgs:{org}")), "{issuer}");
        }
    }
);

api_test!(
    csv_rows_are_registered_with_one_component,
    |app: TestApp| async move {
        let (org, _) = app.create_org("Import Drives", "manufacturer").await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("drives.txt");
        let csv = "granularity,gtin,serial,name,category,net_mass_g,market_date,market_country,component_name,component_material,component_mass_g,component_location,element_method,Nd_g,Pr_g,Dy_g,dismantling,use_type\n\
            item,04012345000016,HDD-1,HDD 20 TB,hard_disk_drive,670,2026-04-15,DE,VCM magnet,NdFeB-sintered,16,\"voice coil, under the top plate\",measured,3.5,1.1,0.2,unscrew the top plate,concentrated\n\
            item,04012345000016,HDD-2,HDD 20 TB,bread_maker,670,2026-04-15,DE,VCM magnet,NdFeB-sintered,16,,,3.5,,,,\n\
            item,04012345000016,HDD-3,HDD 20 TB,hard_disk_drive,670,2026-04-15,DE,VCM magnet,NdFeB-sintered,16,\"two\nlines\",,3.5,1.1,,,dispersed\n\
            item,04012345000016,HDD-4,HDD 20 TB\n";
        std::fs::write(&file, csv).unwrap();
        // Not known by its extension: a usage error, nothing imported.
        let (code, summary) = import(&app, args(&file, &org, &[])).await;
        assert_eq!(code, 2, "{summary}");
        assert_eq!(summary["created"], 0);
        let (code, summary) = import(&app, args(&file, &org, &["--format", "csv"])).await;
        assert_eq!(code, 1, "{summary}");
        assert_eq!(summary["created"], 2, "{summary}");
        let errors = summary["errors"].as_array().unwrap();
        // The record on lines 4-5 counts from the line it starts on.
        let at: Vec<u64> = errors.iter().map(|e| e["line"].as_u64().unwrap()).collect();
        assert_eq!(at, vec![3, 6], "{summary}");
        assert_eq!(
            errors[0]["problem"]["errors"][0]["pointer"],
            "/product/category"
        );
        assert_eq!(errors[1]["problem"]["code"], "csv_columns");
        let credential = assert_resolves_and_verifies(&app, "/01/04012345000016/21/HDD-1").await;
        let subject = &credential["credentialSubject"];
        assert_eq!(
            subject["product"]["productCategory"][0]["code"], "hard_disk_drive",
            "{subject}"
        );
        assert_resolves_and_verifies(&app, "/01/04012345000016/21/HDD-3").await;
        // Professional tiers see the component as the row gave it.
        let id = subject["ree:passportId"].as_str().unwrap();
        let (_, recycler_key) = app.create_org("Import Reader", "recycler").await;
        let view: Value = app
            .get(&format!("/api/v1/passports/{id}"))
            .bearer_auth(&recycler_key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let component = &view["component_details"]["components"][0];
        assert_eq!(
            component["location"], "voice coil, under the top plate",
            "{view}"
        );
        assert_eq!(component["elements"].as_array().unwrap().len(), 3, "{view}");
        assert_eq!(component["elements"][0]["method"], "measured", "{view}");
    }
);

api_test!(
    a_clean_file_exits_zero_and_usage_errors_exit_two,
    |app: TestApp| async move {
        let (org, _) = app.create_org("Import Clean", "manufacturer").await;
        let (recycler, _) = app.create_org("Import Recycler", "recycler").await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ok.jsonl");
        let text: String = (0..25)
            .map(|i| format!("{}\n", registration(&format!("OK-{i}"))))
            .collect();
        std::fs::write(&file, text).unwrap();
        let (code, summary) = import(&app, args(&file, &org, &["--batch", "10"])).await;
        assert_eq!(code, 0, "{summary}");
        assert_eq!(summary["created"], 25);
        assert_eq!(summary["failed"], 0);
        assert_eq!(summary["errors"], json!([]));
        assert_resolves_and_verifies(&app, "/01/04012345000016/21/OK-24").await;

        let missing = dir.path().join("missing.ndjson");
        assert_eq!(import(&app, args(&missing, &org, &[])).await.0, 2);
        assert_eq!(import(&app, args(&file, &recycler, &[])).await.0, 2);
        let nobody = uuid::Uuid::now_v7().to_string();
        assert_eq!(import(&app, args(&file, &nobody, &[])).await.0, 2);
        let bad_header = dir.path().join("bad.csv");
        std::fs::write(&bad_header, "granularity,colour\nitem,red\n").unwrap();
        let (code, summary) = import(&app, args(&bad_header, &org, &[])).await;
        assert_eq!(code, 2);
        assert!(
            summary["aborted"].as_str().unwrap().contains("colour"),
            "{summary}"
        );
    }
);

api_test!(
    ndjson_lines_carry_magnets_and_removal_steps,
    |app: TestApp| async move {
        let (org, _) = app
            .create_org("Elektromotoren Rhein GmbH", "manufacturer")
            .await;
        let (_, recycler) = app.create_org("Import Recycler", "recycler").await;
        let mut bad = crate::magnets::magnet_motor("IMP-MAG-2");
        bad["ree_content"]["components"][0]["magnets"][1]["type"] = json!("neodymium");
        let lines = [
            crate::magnets::magnet_motor("IMP-MAG-1").to_string(),
            bad.to_string(),
        ];
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("motors.ndjson");
        std::fs::write(&file, lines.join("\n")).unwrap();
        let (code, summary) = import(&app, args(&file, &org, &[])).await;
        assert_eq!(code, 1, "{summary}");
        assert_eq!(summary["created"], 1, "{summary}");
        let error = &summary["errors"][0];
        assert_eq!(error["line"], 2, "{summary}");
        assert_eq!(error["problem"]["status"], 422, "{summary}");
        let field = &error["problem"]["errors"][0];
        assert_eq!(field["pointer"], "/ree_content/components/0/magnets/1/type");
        assert!(
            field["detail"]
                .as_str()
                .unwrap()
                .contains("unknown magnet type \"neodymium\""),
            "{summary}"
        );

        // The signed credential states the magnets' public content...
        let credential =
            assert_resolves_and_verifies(&app, "/01/04012345000016/21/IMP-MAG-1").await;
        let subject = &credential["credentialSubject"];
        assert_eq!(
            subject["ree:permanentMagnets"],
            json!([{"magnetType": "ndfeb", "magnetSubtype": "sintered", "count": 24, "massGrams": 1680}])
        );
        assert_eq!(
            subject["ree:responsiblePerson"]["address"]["postalCode"],
            "55411"
        );
        let neodymium = subject["materialsProvenance"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["materialType"]["code"] == "Nd")
            .unwrap();
        assert_eq!(
            neodymium["ree:massGrams"], 380.4,
            "derived from the magnets"
        );
        // ...and the details document, for those who read it, each magnet and every step.
        let id = subject["ree:passportId"].as_str().unwrap();
        let view = app
            .get_json(&format!("/api/v1/passports/{id}"), Some(&recycler))
            .await;
        let details = &view["component_details"];
        let magnets = details["components"][0]["magnets"].as_array().unwrap();
        assert_eq!(magnets.len(), 2, "{view}");
        assert_eq!(magnets[0]["grade"], "N42SH");
        assert_eq!(magnets[1]["composition"][0]["mass_g"], 10.575);
        let steps = details["removal_steps"].as_array().unwrap();
        assert_eq!(steps.len(), 5, "{view}");
        assert_eq!(steps[0]["tools"][0]["drive"], "torx");
        assert_eq!(steps[4]["releases"], json!(["outer", "inner"]));
        let public = app.get_json(&format!("/api/v1/passports/{id}"), None).await;
        assert!(public.get("component_details").is_none(), "{public}");
    }
);
