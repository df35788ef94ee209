//! `reetrace demo` loads a world through the API on a fresh database.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use serde_json::Value;

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

/// A GET over plain HTTP/1.1 (the test needs nothing more than a status line and a JSON body).
fn get(port: u16, path: &str, key: &str) -> Option<Value> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    assert!(head.starts_with("HTTP/1.1 200"), "{path}: {head}\n{body}");
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    serde_json::from_str(body).ok()
}

/// The demo (at its default size) is meant for a regulator's first look: under the shipped
/// disclosure control (k = 3) its yearly figures are built from enough organisations to be
/// published, not withheld.
#[test]
fn a_regulator_sees_published_figures_after_the_demo() {
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
    let regulator = summary["keys"]["regulator"].as_str().unwrap().to_owned();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_reetrace"))
        .current_dir(dir.path())
        .args(["serve", "--database-url", &db, "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .env("REETRACE_LOG", "warn")
        .env_remove("REETRACE_DISCLOSURE_K")
        .spawn()
        .unwrap();
    let placed = "/api/v1/stock/flows?flow=placed_on_market&group_by=year";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let answer = loop {
        let answer = get(port, placed, &regulator);
        let full = answer
            .as_ref()
            .is_some_and(|a| a["rows"].as_array().is_some_and(|rows| rows.len() == 16));
        if full || std::time::Instant::now() > deadline {
            break answer;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    };
    let collected = get(
        port,
        "/api/v1/stock/flows?flow=collected&group_by=year",
        &regulator,
    );
    let stock = get(
        port,
        "/api/v1/stock/flows?flow=stock_in_use&basis=modelled&group_by=&year_from=2050&year_to=2050",
        &regulator,
    );
    server.kill().unwrap();
    server.wait().unwrap();

    let answer = answer.expect("the stock service answers");
    assert_eq!(answer["disclosure"]["k"], 3, "{answer}");
    let rows = answer["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 16, "one row a year from 2010 to 2025: {answer}");
    for row in rows {
        assert!(
            row["value"].as_f64().is_some_and(|v| v > 0.0),
            "placed on the market withheld: {row} in {answer}"
        );
    }
    let collected = collected.unwrap();
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
    let stock = stock.unwrap();
    assert!(
        stock["rows"][0]["value"].as_f64().unwrap() > 0.0,
        "the 2050 forecast of the stock in use: {stock}"
    );
}
