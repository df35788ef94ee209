//! The house rules that keep every service crate in the same shape (docs/ARCHITECTURE.md):
//!
//! - `domain/` and `service/` know nothing of HTTP or SQL: no `axum`, `sqlx`, `reqwest`,
//!   `StatusCode` or `Problem` there (clippy's configuration is per crate, not per folder, so a
//!   test reads the sources);
//! - SQL lives in `store/` (and core's `db/` plumbing): no `sqlx::` path anywhere else in a
//!   crate's sources;
//! - a service crate depends on core only, never on another service crate;
//! - no source file over 600 lines unless it says at its top why its length is one thing
//!   (`Long by design:`), tests aside;
//! - no two public types share a name unless they mean the same thing (listed here).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

/// The workspace's `services/` folder.
fn services() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Every crate folder under `services/`.
fn crates() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(services())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("Cargo.toml").exists())
        .collect();
    out.sort();
    out
}

/// The crates that are services (not core, not the binary).
fn service_crates() -> Vec<PathBuf> {
    crates()
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            name != "core" && name != "reetrace"
        })
        .collect()
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// Test code inside a source file: from a `#[cfg(test)]` module on.
fn without_tests(text: &str) -> &str {
    match text.find("#[cfg(test)]") {
        Some(at) => &text[..at],
        None => text,
    }
}

fn is_test_file(path: &Path) -> bool {
    let name = path.file_name().unwrap().to_str().unwrap();
    name == "tests.rs" || name.ends_with("_tests.rs") || name == "testing.rs"
}

/// Whole-word occurrences of `word` in `text`.
fn uses_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        boundary(before) && boundary(after)
    })
}

#[test]
fn domain_and_service_know_no_http_or_sql() {
    const FORBIDDEN: [&str; 5] = ["axum", "sqlx", "reqwest", "StatusCode", "Problem"];
    let mut found = Vec::new();
    for krate in crates() {
        for room in ["domain", "service"] {
            for file in rust_files(&krate.join("src").join(room)) {
                if is_test_file(&file) {
                    continue;
                }
                let text = std::fs::read_to_string(&file).unwrap();
                for word in FORBIDDEN {
                    if uses_word(without_tests(&text), word) {
                        found.push(format!("{} uses {word}", file.display()));
                    }
                }
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn sql_lives_in_stores() {
    let mut found = Vec::new();
    for krate in crates() {
        let src = krate.join("src");
        for file in rust_files(&src) {
            let relative = file.strip_prefix(&src).unwrap();
            let first = relative.components().next().unwrap().as_os_str();
            if first == "store" || first == "db" || is_test_file(&file) {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            // A path into the crate (`sqlx::`, `use sqlx`), not a mention such as a log target.
            let code = without_tests(&text);
            if code.contains("sqlx::") || code.contains("use sqlx") {
                found.push(format!("{} uses sqlx outside store/", file.display()));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn service_crates_depend_on_core_only() {
    let names: Vec<String> = service_crates()
        .iter()
        .map(|p| format!("reetrace-{}", p.file_name().unwrap().to_str().unwrap()))
        .collect();
    let mut found = Vec::new();
    for krate in service_crates() {
        let own = format!("reetrace-{}", krate.file_name().unwrap().to_str().unwrap());
        let manifest = std::fs::read_to_string(krate.join("Cargo.toml")).unwrap();
        let manifest: toml::Table = toml::from_str(&manifest).unwrap();
        for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
            let Some(deps) = manifest.get(section).and_then(|d| d.as_table()) else {
                continue;
            };
            for dep in deps.keys() {
                if *dep != own && names.contains(dep) {
                    found.push(format!("{} depends on {dep}", krate.display()));
                }
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn source_files_stay_readable_in_one_sitting() {
    const MAX_LINES: usize = 600;
    let mut found = Vec::new();
    for krate in crates() {
        for file in rust_files(&krate.join("src")) {
            if is_test_file(&file) {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            let lines = without_tests(&text).lines().count();
            let head: String = text.lines().take(30).collect::<Vec<_>>().join("\n");
            if lines > MAX_LINES && !head.contains("Long by design:") {
                found.push(format!("{} has {lines} lines", file.display()));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// Public type names that several crates define with the same meaning: each service keeps its
/// own copy of the passport facts it reads from the passport feed (a service crate imports no
/// other service crate).
const SAME_MEANING: &[&str] = &[
    "Granularity",
    "PassportStatus",
    "PassportChange",
    "PassportProjection",
];

#[test]
fn no_public_type_name_means_two_things() {
    let mut seen: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for krate in crates() {
        for file in rust_files(&krate.join("src")) {
            let text = std::fs::read_to_string(&file).unwrap();
            for line in without_tests(&text).lines() {
                let line = line.trim_start();
                for kind in ["pub struct ", "pub enum ", "pub trait ", "pub type "] {
                    if let Some(rest) = line.strip_prefix(kind) {
                        let name: String = rest
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        // `pub struct $name` in a macro names nothing itself.
                        if !name.is_empty() {
                            seen.entry(name)
                                .or_default()
                                .push(file.display().to_string());
                        }
                    }
                }
            }
        }
    }
    let clashes: Vec<String> = seen
        .into_iter()
        .filter(|(name, files)| files.len() > 1 && !SAME_MEANING.contains(&name.as_str()))
        .map(|(name, files)| format!("{name}: {}", files.join(", ")))
        .collect();
    assert!(clashes.is_empty(), "{}", clashes.join("\n"));
}

#[test]
fn the_word_finder_respects_word_boundaries() {
    assert!(uses_word("use axum::Json;", "axum"));
    assert!(!uses_word("let problems = 3;", "Problem"));
    assert!(!uses_word("fn sqlx_like()", "sqlx"));
    assert!(uses_word("Err(Problem::internal())", "Problem"));
}
