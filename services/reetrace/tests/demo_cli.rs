//! `reetrace demo` loads a world through the API on a fresh database.

#![allow(clippy::unwrap_used)]
#![allow(clippy::print_stdout, reason = "the demo audit reports its size")]

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use reetrace::config::{Config, SecretText};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

#[test]
fn the_demo_loads_passports_chains_and_recycled_content() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_reetrace"))
        .current_dir(dir.path())
        .args(["demo", "--products", "300", "--database-url"])
        .arg(format!("sqlite://{}", dir.path().join("demo.db").display()))
        .env("REETRACE_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(summary["passports"].as_u64().unwrap() >= 300, "{summary}");
    assert!(
        summary["custody_chains"].as_u64().unwrap() > 10,
        "{summary}"
    );
    assert!(summary["oxide_lots"].as_u64().unwrap() > 0, "{summary}");
    assert!(
        summary["recycled_content_passports"].as_u64().unwrap() > 0,
        "{summary}"
    );
    assert!(
        summary["keys"]["regulator"]
            .as_str()
            .unwrap()
            .starts_with("rtk_")
    );
    // The same seed makes the same world.
    let again = Command::new(env!("CARGO_BIN_EXE_reetrace"))
        .current_dir(dir.path())
        .args(["demo", "--products", "300", "--database-url"])
        .arg(format!(
            "sqlite://{}",
            dir.path().join("again.db").display()
        ))
        .env("REETRACE_LOG", "warn")
        .output()
        .unwrap();
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["passports"], summary["passports"]);
    assert_eq!(again["custody_chains"], summary["custody_chains"]);
}

/// The demo (at its default size) is meant for a first look at the published statistics: under
/// the shipped disclosure control (k = 3) its yearly figures are built from enough organisations
/// to be published, not withheld.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_published_statistics_show_the_demo_figures() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("demo.db").display());
    let output = Command::new(env!("CARGO_BIN_EXE_reetrace"))
        .current_dir(dir.path())
        .args(["demo", "--database-url", &db])
        .env("REETRACE_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(summary["keys"]["regulator"].is_string(), "{summary}");

    // Served in-process on the demo's database and master key, as shipped.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let config = Config {
        listen: listener.local_addr().unwrap(),
        database_url: SecretText::new(db),
        master_key_file: dir.path().join("reetrace.master.key"),
        ..Config::default()
    };
    let app = reetrace::app::build(&config).await.unwrap();
    let stock_service = app.services().stock.clone();
    let shutdown = CancellationToken::new();
    let _stop = shutdown.clone().drop_guard();
    tokio::spawn(app.run(listener, shutdown));
    let client = reqwest::Client::new();
    let get = |path: &'static str| {
        // Without a key: the published statistics, as anyone reads them.
        let request = client.get(format!("{base}{path}"));
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            response.json::<Value>().await.unwrap()
        }
    };

    // The stock service projects the feeds in the background: wait for all sixteen years.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let answer = loop {
        let answer = get("/api/v1/stock/flows?flow=placed_on_market&group_by=year").await;
        if answer["rows"].as_array().unwrap().len() == 16 || std::time::Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    assert_eq!(answer["disclosure"]["k"], 3, "{answer}");
    let rows = answer["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 16, "one row a year from 2010 to 2025: {answer}");
    for row in rows {
        assert!(
            row["value"].as_f64().is_some_and(|v| v > 0.0),
            "placed on the market withheld: {row} in {answer}"
        );
    }
    let collected = get("/api/v1/stock/flows?flow=collected&group_by=year").await;
    let published = collected["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["value"].as_f64().is_some_and(|v| v > 0.0))
        .count();
    assert!(
        published >= 5,
        "collected in at least five years: {collected}"
    );
    // The modelled stock of a category is withheld from the first year one of its
    // placed-on-market cells is (the stock would give it back), and the total's from the
    // first year any category's is (the categories' survival curves weigh them apart): most
    // categories' 2050 forecast is published.
    let stock = get(
        "/api/v1/stock/flows?flow=stock_in_use&basis=modelled&group_by=category&year_from=2050&year_to=2050",
    )
    .await;
    let categories = stock["rows"].as_array().unwrap();
    let forecast = categories
        .iter()
        .filter(|r| r["value"].as_f64().is_some_and(|v| v > 0.0))
        .count();
    assert!(
        2 * forecast > categories.len(),
        "the 2050 forecast of the stock in use of most categories: {stock}"
    );

    // The export a flow model loads: by year, category and element (countries summed) it is
    // mostly figures; at the finest grain each withheld row names the coarser grain that
    // publishes the row holding it, and the export offers the one most of them fall back to.
    let share = |answer: &Value| {
        let rows = answer["rows"].as_array().unwrap().len();
        answer["published_rows"].as_u64().unwrap() as f64 / rows as f64
    };
    let coarse =
        get("/api/v1/stock/export.csv?basis=both&group_by=year,category,element&format=json").await;
    let finest = get("/api/v1/stock/export.csv?basis=both&format=json").await;
    let fallback = finest["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["suppressed"] == true && r["coarser_group_by"].is_string())
        .count();
    let rows = finest["rows"].as_array().unwrap().len() as f64;
    println!(
        "demo export (basis=both): {:.1} % of rows published by year, category and element; \
         {:.1} % at the finest grain, {:.1} % with a published coarser row",
        100.0 * share(&coarse),
        100.0 * share(&finest),
        100.0 * (share(&finest) + fallback as f64 / rows)
    );
    assert!(share(&coarse) > 0.5, "mostly figures: {}", share(&coarse));
    assert!(share(&finest) > 0.05, "{}", share(&finest));
    assert_eq!(
        finest["coarser"]["group_by"], "year,category,element",
        "{}",
        finest["coarser"]
    );
    assert!(share(&finest) + fallback as f64 / rows > 0.75);

    // The LP audit of everything published, on the demo's data: every table on its own and
    // the linked flows of each year together.
    let audit = stock_service.audit_disclosure().await.unwrap();
    assert!(audit.exposed.is_empty(), "exposed: {:?}", audit.exposed);
    assert!(
        audit.sensitive > 0 && audit.withheld >= audit.sensitive,
        "{audit:?}"
    );
    assert!(audit.withheld < audit.cells, "{audit:?}");
    println!(
        "demo audit: {} tables, {} cells, {} sensitive, {} withheld, none exposed",
        audit.tables, audit.cells, audit.sensitive, audit.withheld
    );
}

/// The thirteen product groups of CRMA art. 28(1).
const CRMA_GROUPS: [&str; 13] = [
    "mri_device",
    "wind_energy_generator",
    "industrial_robot",
    "motor_vehicle",
    "light_means_of_transport",
    "cooling_generator",
    "heat_pump",
    "electric_motor",
    "automatic_washing_machine",
    "tumble_drier",
    "microwave",
    "vacuum_cleaner",
    "dishwasher",
];

/// Each rule's status, in the order 28(1), 28(4)(a), 28(4)(b), 28(4)(c), 29(1).
fn statuses(conformity: &Value) -> Vec<&str> {
    conformity["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect()
}

/// The cases of the conformity check (issue 16) a product shows, read from its answer.
fn cases(c: &Value) -> Vec<&'static str> {
    let status = statuses(c);
    let types: Vec<&str> = c["magnets"]["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let art29_g = c["magnets"]["art29_mass_g"].as_f64().unwrap();
    let art28_met = status[..4].iter().all(|s| *s == "met");
    let mut cases = Vec::new();
    if status.iter().all(|s| *s == "met") {
        cases.push("every rule met");
    }
    if types.is_empty()
        && status
            == [
                "met",
                "not_applicable",
                "not_applicable",
                "not_applicable",
                "not_applicable",
            ]
    {
        cases.push("no magnets");
    }
    if types == ["ferrite"] && art28_met && status[4] == "not_applicable" {
        cases.push("ferrite only");
    }
    if types.contains(&"ndfeb")
        && art29_g > 0.0
        && art29_g < 200.0
        && art28_met
        && status[4] == "not_applicable"
    {
        cases.push("NdFeB under 0.2 kg");
    }
    if status[2] == "met" && c["rules"][2]["reason"].as_str().unwrap().contains("28(5)") {
        cases.push("magnets only in electric motors");
    }
    if c["scope"]["in_scope"] == false
        && !c["scope"]["exemptions"].as_array().unwrap().is_empty()
        && status.iter().all(|s| *s == "not_applicable")
    {
        cases.push("exempt");
    }
    cases
}

/// The demo registers products of every group of CRMA art. 28(1) from three manufacturers or
/// more, with magnets that make every case of the conformity check occur once art. 28 and 29
/// are in force, and recycled content that the free-access pages publish; on both backends.
mod the_demo_covers_every_crma_group_and_conformity_case {
    use reetrace_core::db::Backend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::crma_coverage(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::crma_coverage(Backend::Postgres).await;
    }
}

async fn crma_coverage(backend: reetrace_core::db::Backend) {
    let Some(database) = reetrace_core::testing::TestDatabase::new(backend).await else {
        return;
    };
    let db = database.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_reetrace"))
        .current_dir(dir.path())
        .args(["demo", "--products", "300", "--database-url", &db])
        .env("REETRACE_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();

    // Served with art. 28 and 29 in force from 2025 (the legal defaults leave art. 28 open):
    // the demo's products placed in 2025 then answer `met`.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut config = Config {
        listen: listener.local_addr().unwrap(),
        database_url: SecretText::new(db),
        master_key_file: dir.path().join("reetrace.master.key"),
        ..Config::default()
    };
    config.crma.art28_from = "2025-01-01".parse().ok();
    config.crma.art28_vehicles_from = "2025-01-01".parse().ok();
    config.crma.art29_from = "2025-01-01".parse().unwrap();
    config.rate_limit.per_second = 0;
    config.address_rate_limit.per_second = 0;
    let app = reetrace::app::build(&config).await.unwrap();
    let shutdown = CancellationToken::new();
    let _stop = shutdown.clone().drop_guard();
    tokio::spawn(app.run(listener, shutdown));
    let client = reqwest::Client::new();
    let regulator = summary["keys"]["regulator"].as_str().unwrap();
    let get = |path: String, key: Option<&str>| {
        let mut request = client.get(format!("{base}{path}"));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            response.json::<Value>().await.unwrap()
        }
    };
    let manufacturers = summary["manufacturers"].as_array().unwrap();
    assert_eq!(manufacturers.len(), 8, "{summary}");

    // Every group has products of three manufacturers or more, as a regulator reads them.
    let mut makers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for maker in manufacturers {
        let org = maker["org_id"].as_str().unwrap();
        let mut cursor = String::new();
        loop {
            let page = get(
                format!("/api/v1/conformity?org={org}&limit=1000{cursor}"),
                Some(regulator),
            )
            .await;
            for item in page["items"].as_array().unwrap() {
                if let Some(group) = item["product_group"].as_str() {
                    makers
                        .entry(group.to_owned())
                        .or_default()
                        .insert(org.to_owned());
                }
            }
            match page["next_cursor"].as_str() {
                Some(next) => cursor = format!("&cursor={next}"),
                None => break,
            }
        }
    }
    for group in CRMA_GROUPS {
        let count = makers.get(group).map_or(0, BTreeSet::len);
        assert!(count >= 3, "{group}: {count} manufacturers in {makers:?}");
    }

    // Every case of the conformity check, among one product of each kind placed in 2025.
    let mut seen: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for sample in summary["crma"]["samples"].as_array().unwrap() {
        let id = sample["passport_id"].as_str().unwrap();
        let answer = get(
            format!("/api/v1/passports/{id}/conformity"),
            Some(regulator),
        )
        .await;
        for case in cases(&answer) {
            seen.entry(case)
                .or_default()
                .push(sample["name"].to_string());
        }
    }
    for case in [
        "every rule met",
        "no magnets",
        "ferrite only",
        "NdFeB under 0.2 kg",
        "magnets only in electric motors",
        "exempt",
    ] {
        assert!(seen.contains_key(case), "no sample shows {case}: {seen:?}");
    }
    // The authorities' summary: every rule met somewhere, coverage by group.
    let all = get("/api/v1/conformity?limit=1".into(), Some(regulator)).await;
    for rule in all["totals"]["rules"].as_array().unwrap() {
        assert!(rule["met"].as_u64().unwrap() > 0, "{rule}");
    }
    let covered: BTreeSet<&str> = all["totals"]["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["product_group"].as_str().unwrap())
        .collect();
    assert_eq!(covered.len(), CRMA_GROUPS.len(), "{covered:?}");

    // The free-access pages (no key) list recycled shares from the recyclers' lots, each
    // linking to the signed credential that states it.
    let mut publishing = 0;
    for maker in manufacturers {
        let org = maker["org_id"].as_str().unwrap();
        let page = get(
            format!("/api/v1/orgs/{org}/recycled-content?limit=1000"),
            None,
        )
        .await;
        let shares: Vec<(&Value, &Value)> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|item| {
                item["shares"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(move |s| (item, s))
            })
            .filter(|(_, s)| s["status"] == "computed" && s["share"].as_f64().unwrap() > 0.0)
            .collect();
        let Some((item, share)) = shares.first() else {
            continue;
        };
        publishing += 1;
        let url = reqwest::Url::parse(share["credential"].as_str().unwrap()).unwrap();
        let credential = get(url.path().to_owned(), None).await;
        let stated = credential
            .pointer(share["pointer"].as_str().unwrap())
            .unwrap_or_else(|| panic!("{share} in {credential}"));
        assert_eq!(stated["element"], share["element"], "{stated}");
        assert_eq!(stated["share"], share["share"], "{stated}");
        let html = client
            .get(format!("{base}/crma/{org}"))
            .header("Accept", "text/html")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains(item["name"].as_str().unwrap()), "{html}");
    }
    // Two products of each manufacturer claim recycled content (at this size the demo has
    // the lots for all sixteen).
    assert_eq!(
        publishing,
        manufacturers.len(),
        "free-access pages with a recycled share"
    );
}
