//! `reetrace import` of a large NDJSON file, as a child process on the benchmark's database:
//! its rate and its peak resident memory (VmHWM of /proc/<pid>/status, read while it runs).

use std::io::{BufWriter, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reetrace::config::Config;
use serde_json::Value;

use crate::data;
use crate::support::Rng;

/// The peak resident set of a running process, in kB.
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub fn run(config: &Config, org: uuid::Uuid, lines: u64, dir: &std::path::Path) {
    let path = dir.join("passports.ndjson");
    let started = Instant::now();
    {
        let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path).unwrap());
        let mut rng = Rng(0xda94_2042_e4dd_58b5);
        for n in 0..lines {
            serde_json::to_writer(&mut out, &data::registration("IMP", n, &mut rng)).unwrap();
            out.write_all(b"\n").unwrap();
        }
        out.flush().unwrap();
    }
    let size = std::fs::metadata(&path).unwrap().len();
    println!(
        "  wrote {lines} lines ({:.0} MB) in {:.1} s",
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_reetrace"))
        .arg("import")
        .arg(&path)
        .arg("--org")
        .arg(org.to_string())
        .arg("--database-url")
        .arg(config.database_url.expose())
        .env(
            "REETRACE_MASTER_KEY",
            config.master_key.as_ref().unwrap().expose(),
        )
        .env("REETRACE_PUBLIC_BASE_URL", config.public_base_url())
        .env("REETRACE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut peak = 0;
    while child.try_wait().unwrap().is_none() {
        if let Some(kb) = peak_rss_kb(pid) {
            peak = peak.max(kb);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    let elapsed = started.elapsed();
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(output.status.success(), "{summary}");
    assert_eq!(summary["created"], lines, "{summary}");
    println!(
        "  reetrace import, {lines} lines: {:.1} s = {:.0} passports/s, peak RSS {:.0} MB (target < 200 MB)",
        elapsed.as_secs_f64(),
        lines as f64 / elapsed.as_secs_f64(),
        peak as f64 / 1024.0
    );
}
