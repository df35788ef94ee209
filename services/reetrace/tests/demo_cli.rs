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
