//! Custody benchmarks (numbers in BENCHMARKS.md; never timed tests).
//!
//! - `capture`: documents of 100 realistic EPCIS events through the store's `write` (the
//!   transaction every custody write and the capture endpoint go through: compare-and-set,
//!   hash chains, Merkle log nodes, under the log head lock), with 1 and 4 concurrent
//!   writers; the same documents through `POST /api/v1/epcis/capture` on the served
//!   application (products registered first, so the events move real custody), with 1 and 4
//!   concurrent clients; and a raw multi-row INSERT of the very same rows in the same run.
//! - `proofs`: 1,000,000 leaves loaded in bulk, then 10,000 random inclusion proofs through
//!   `Log::inclusion` and 2,000 through HTTP (p50/p99), and `verify-log` over the whole log.
//!
//! ```text
//! cargo bench -p reetrace --bench custody                       # everything, both backends
//! cargo bench -p reetrace --bench custody -- capture --backend postgres --documents 200
//! cargo bench -p reetrace --bench custody -- proofs --backend sqlite --leaves 1000000
//! ```
//! PostgreSQL is the server of `REETRACE_TEST_POSTGRES_URL` (default
//! postgres://postgres@127.0.0.1:5432/postgres); each run uses fresh databases it drops.
#![allow(clippy::print_stdout, reason = "a bench binary reports on stdout")]
#![allow(clippy::unwrap_used, reason = "a bench binary fails loudly")]

#[path = "custody/capture.rs"]
mod capture;
#[path = "custody/proofs.rs"]
mod proofs;
#[path = "custody/support.rs"]
mod support;

use reetrace_core::db::Backend;

struct Options {
    capture: bool,
    proofs: bool,
    backends: Vec<Backend>,
    documents: usize,
    leaves: u64,
    proofs_direct: usize,
    proofs_http: usize,
    verify: bool,
}

fn options() -> Options {
    let mut o = Options {
        capture: false,
        proofs: false,
        backends: vec![Backend::Sqlite, Backend::Postgres],
        documents: 100,
        leaves: 1_000_000,
        proofs_direct: 10_000,
        proofs_http: 2_000,
        verify: true,
    };
    let mut args = std::env::args().skip(1);
    let number = |value: Option<String>, flag: &str| -> u64 {
        value
            .and_then(|v| v.replace('_', "").parse().ok())
            .unwrap_or_else(|| panic!("{flag} takes a number"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "capture" => o.capture = true,
            "proofs" => o.proofs = true,
            "--backend" => {
                o.backends = match args.next().as_deref() {
                    Some("sqlite") => vec![Backend::Sqlite],
                    Some("postgres") => vec![Backend::Postgres],
                    Some("both") => vec![Backend::Sqlite, Backend::Postgres],
                    other => panic!("--backend sqlite|postgres|both, not {other:?}"),
                }
            }
            "--documents" => o.documents = number(args.next(), "--documents") as usize,
            "--leaves" => o.leaves = number(args.next(), "--leaves"),
            "--proofs" => o.proofs_direct = number(args.next(), "--proofs") as usize,
            "--http" => o.proofs_http = number(args.next(), "--http") as usize,
            "--no-verify" => o.verify = false,
            // What cargo bench passes to every bench binary.
            "--bench" => {}
            other => panic!(
                "unknown argument {other:?} (capture, proofs, --backend, --documents, --leaves, --proofs, --http, --no-verify)"
            ),
        }
    }
    if !o.capture && !o.proofs {
        o.capture = true;
        o.proofs = true;
    }
    o
}

fn main() {
    let o = options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for backend in &o.backends {
            if o.capture {
                capture::run(*backend, o.documents).await;
            }
            if o.proofs {
                proofs::run(*backend, o.leaves, o.proofs_direct, o.proofs_http, o.verify).await;
            }
        }
    });
}
