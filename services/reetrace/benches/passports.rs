//! Passport benchmarks (numbers in BENCHMARKS.md; never timed tests), on each backend:
//!
//! - `register`: 100,000 item passports through `POST /api/v1/passports/bulk` (NDJSON
//!   batches of 10,000), next to the signing stage alone and the storing stage alone over
//!   another 100,000 in the same run;
//! - `reads`: `/credentials/verify` with concurrent clients, and the resolver's JSON read at
//!   64 connections against `/healthz` at 64 connections (throughput, p50/p99);
//! - `import`: `reetrace import` of a 1,000,000-line NDJSON file as a child process (rate,
//!   peak resident memory);
//! - `ratio`: the bulk rate with magnets in full as a share of the rate without, `--rounds N`
//!   (3) rounds of one run of each form, each run on a fresh database and server, the order
//!   alternating from round to round; prints each round's ratio and the medians;
//! - `parse`: only reading registrations as the bulk route does (`parse_json`, the magnets'
//!   element masses, the rules), one thread, no server or database: for instruction counts
//!   (`valgrind --tool=callgrind`), which the machine's load does not move.
//!
//! `--forms plain|magnets|both` (both) picks the forms `register` and `parse` run: the
//! registrations without magnets in full, the traction motors with them, or each in turn.
//!
//! ```text
//! cargo bench -p reetrace --bench passports                      # everything, both backends
//! cargo bench -p reetrace --bench passports -- --quick           # smoke run, small counts
//! cargo bench -p reetrace --bench passports -- register reads --backend sqlite --passports 50000
//! cargo bench -p reetrace --bench passports -- parse --forms magnets --passports 2000
//! cargo bench -p reetrace --bench passports -- ratio --rounds 3 --passports 20000 --batch 2000
//! ```
//! `PASSPORTS_BENCH_QUICK=1` is `--quick`. PostgreSQL is the server of
//! `REETRACE_TEST_POSTGRES_URL` (default postgres://postgres@127.0.0.1:5432/postgres); each run
//! uses fresh databases it drops, and skips PostgreSQL with a notice when it is unreachable.
#![allow(clippy::print_stdout, reason = "a bench binary reports on stdout")]
#![allow(clippy::unwrap_used, reason = "a bench binary fails loudly")]

#[path = "passports/data.rs"]
mod data;
#[path = "passports/import.rs"]
mod import;
#[path = "passports/ratio.rs"]
mod ratio;
#[path = "passports/reads.rs"]
mod reads;
#[path = "passports/register.rs"]
mod register;
#[path = "custody/support.rs"]
mod support;

use std::time::{Duration, Instant};

use reetrace_core::db::Backend;
use reetrace_core::domain::Role;
use reetrace_core::domain::account::{CreatedOrg, NewOrg};
use reetrace_core::domain::gs1_prefix::NewGs1Prefix;
use tokio_util::sync::CancellationToken;

struct Options {
    register: bool,
    reads: bool,
    import: bool,
    parse: bool,
    ratio: bool,
    /// Rounds of `ratio`.
    rounds: usize,
    /// Registrations without magnets in full (`plain`), traction motors with them, or both.
    plain: bool,
    magnets: bool,
    backends: Vec<Backend>,
    passports: u64,
    batch: u64,
    clients: usize,
    verify_clients: usize,
    connections: usize,
    seconds: u64,
    import_lines: u64,
}

fn options() -> Options {
    let mut o = Options {
        register: false,
        reads: false,
        import: false,
        parse: false,
        ratio: false,
        rounds: 3,
        plain: true,
        magnets: true,
        backends: vec![Backend::Sqlite, Backend::Postgres],
        passports: 100_000,
        batch: 10_000,
        clients: 2,
        verify_clients: 32,
        connections: 64,
        seconds: 10,
        import_lines: 1_000_000,
    };
    let quick = |o: &mut Options| {
        o.passports = 4_000;
        o.batch = 1_000;
        o.seconds = 2;
        o.import_lines = 5_000;
    };
    if std::env::var_os("PASSPORTS_BENCH_QUICK").is_some() {
        quick(&mut o);
    }
    let mut args = std::env::args().skip(1);
    let number = |value: Option<String>, flag: &str| -> u64 {
        value
            .and_then(|v| v.replace('_', "").parse().ok())
            .unwrap_or_else(|| panic!("{flag} takes a number"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "register" => o.register = true,
            "reads" => o.reads = true,
            "import" => o.import = true,
            "parse" => o.parse = true,
            "ratio" => o.ratio = true,
            "--rounds" => o.rounds = number(args.next(), "--rounds") as usize,
            "--forms" => {
                (o.plain, o.magnets) = match args.next().as_deref() {
                    Some("plain") => (true, false),
                    Some("magnets") => (false, true),
                    Some("both") => (true, true),
                    other => panic!("--forms plain|magnets|both, not {other:?}"),
                }
            }
            "--quick" => quick(&mut o),
            "--backend" => {
                o.backends = match args.next().as_deref() {
                    Some("sqlite") => vec![Backend::Sqlite],
                    Some("postgres") => vec![Backend::Postgres],
                    Some("both") => vec![Backend::Sqlite, Backend::Postgres],
                    other => panic!("--backend sqlite|postgres|both, not {other:?}"),
                }
            }
            "--passports" => o.passports = number(args.next(), "--passports"),
            "--batch" => o.batch = number(args.next(), "--batch"),
            "--clients" => o.clients = number(args.next(), "--clients") as usize,
            "--verify-clients" => {
                o.verify_clients = number(args.next(), "--verify-clients") as usize
            }
            "--connections" => o.connections = number(args.next(), "--connections") as usize,
            "--seconds" => o.seconds = number(args.next(), "--seconds"),
            "--import-lines" => o.import_lines = number(args.next(), "--import-lines"),
            // What cargo bench passes to every bench binary.
            "--bench" => {}
            other => panic!(
                "unknown argument {other:?} (register, reads, import, parse, ratio, --rounds, --forms, --quick, --backend, --passports, --batch, --clients, --verify-clients, --connections, --seconds, --import-lines)"
            ),
        }
    }
    if !o.register && !o.reads && !o.import && !o.parse && !o.ratio {
        o.register = true;
        o.reads = true;
        o.import = true;
    }
    // The reads need passports to read.
    o.register |= o.reads;
    o
}

/// Waits until the server's background work (the feed consumers projecting what was just
/// written) leaves the process nearly idle, so that one phase does not pay for the last.
pub(crate) async fn settle() {
    let cpu = || {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        // utime and stime: fields 14 and 15 of the line, 12 and 13 after the command name.
        ticks(11) + ticks(12)
    };
    let started = Instant::now();
    loop {
        let before = cpu();
        tokio::time::sleep(Duration::from_secs(1)).await;
        // Clock ticks are 1/100 s: under 10 ticks in a second is under 10 % of one core.
        if cpu() - before < 10 || started.elapsed() > Duration::from_secs(300) {
            break;
        }
    }
    println!(
        "  (background work settled after {:.0} s)",
        started.elapsed().as_secs_f64()
    );
}

/// Whether `backend` can be benchmarked here (PostgreSQL: its server answers; a notice if not).
async fn reachable(backend: Backend) -> bool {
    if backend == Backend::Postgres
        && sqlx::PgPool::connect(&reetrace_core::testing::postgres_admin_url())
            .await
            .is_err()
    {
        println!(
            "\nPostgreSQL: skipped, the server of REETRACE_TEST_POSTGRES_URL ({}) does not answer",
            reetrace_core::testing::postgres_admin_url()
        );
        return false;
    }
    true
}

/// The manufacturer the benchmarks register for, holding the GS1 Company Prefix of the GTINs
/// `passports::data` registers.
pub(crate) async fn manufacturer(app: &reetrace::app::App) -> CreatedOrg {
    let org = app
        .accounts()
        .create_org(NewOrg {
            name: "Bench Motors".into(),
            role: Role::Manufacturer,
            operator_id: None,
        })
        .await
        .unwrap();
    let prefix = NewGs1Prefix {
        prefix: Some("4012345".into()),
        ..NewGs1Prefix::default()
    };
    app.accounts()
        .add_gs1_prefix(org.org_id, &prefix)
        .await
        .unwrap();
    org
}

async fn run(backend: Backend, o: &Options) {
    println!("\n{backend}:");
    let (app, listener, db, address, config) = support::fresh_app_config(backend).await;
    let services = app.services().clone();
    let org = manufacturer(&app).await;
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.run(listener, shutdown.clone()));
    let client = reads::client(o.connections.max(o.clients));
    let mut samples = Vec::new();
    if o.register {
        let sizes = (o.passports, o.batch, o.clients);
        let mut rates = Vec::new();
        for magnets in forms(o) {
            // The traction motors with their magnets in full (CRMA art. 28) come second, in
            // the same run: their rate as a share of the rate without.
            let registered =
                register::over_http(&client, &address, &org.api_key, sizes, magnets).await;
            rates.push(registered.rate);
            if samples.is_empty() {
                samples = registered.samples;
            }
            settle().await;
        }
        if let [without, with] = rates[..] {
            println!("  with magnets / without: {:.0} %", 100.0 * with / without);
        }
        let found = services.accounts.org(org.org_id).await.unwrap();
        for magnets in forms(o) {
            register::stages(&services, &found, (o.passports, o.batch), magnets).await;
            settle().await;
        }
    }
    if o.reads {
        let duration = Duration::from_secs(o.seconds);
        reads::verify(&address, &samples, o.verify_clients, duration).await;
        reads::resolver(&address, &samples, o.connections, duration).await;
    }
    if o.import {
        let dir = tempfile::tempdir().unwrap();
        let (lines, id) = (o.import_lines, org.org_id);
        let config = config.clone();
        tokio::task::spawn_blocking(move || import::run(&config, id, lines, dir.path()))
            .await
            .unwrap();
    }
    shutdown.cancel();
    let _ = server.await;
    drop(db);
}

/// The forms to run, in order: without magnets in full (`false`), then with them (`true`).
fn forms(o: &Options) -> Vec<bool> {
    [(o.plain, false), (o.magnets, true)]
        .into_iter()
        .filter_map(|(run, magnets)| run.then_some(magnets))
        .collect()
}

fn main() {
    let o = options();
    println!(
        "passports bench: {} passports in batches of {}, {} core(s)",
        o.passports,
        o.batch,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    if o.parse {
        for magnets in forms(&o) {
            register::parse_only(o.passports, magnets);
        }
    }
    if !o.register && !o.reads && !o.import && !o.ratio {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for backend in &o.backends {
            if !reachable(*backend).await {
                continue;
            }
            if o.ratio {
                println!("\n{backend}, the ratio with magnets in full / without:");
                ratio::rounds(*backend, o.rounds, (o.passports, o.batch, o.clients)).await;
            }
            if o.register || o.reads || o.import {
                run(*backend, &o).await;
            }
        }
    });
}
