//! `reetrace demo` loads a world through the API on a fresh database.

#![allow(clippy::unwrap_used)]
#![allow(clippy::print_stdout, reason = "the demo audit reports its size")]

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
    let stock = get(
        "/api/v1/stock/flows?flow=stock_in_use&basis=modelled&group_by=&year_from=2050&year_to=2050",
    )
    .await;
    assert!(
        stock["rows"][0]["value"].as_f64().unwrap() > 0.0,
        "the 2050 forecast of the stock in use: {stock}"
    );

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
