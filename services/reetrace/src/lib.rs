//! The `reetrace` binary as a library: configuration, composition of the services, the
//! command line and telemetry. `main.rs` only calls [`cli::main`], so tests can build the very
//! same application with [`app::build`] and serve it on port 0.

pub mod admin;
pub mod apidoc;
pub mod app;
pub mod backup;
pub mod cli;
pub mod codes;
pub mod config;
pub mod demo;
pub mod grandfather;
pub mod import;
pub mod instance;
pub mod log_monitor;
pub mod ops;
pub mod pages;
pub mod problem_check;
pub mod scan;
pub mod selection;
pub mod serve;
pub mod telemetry;
pub mod tls;
pub mod verify_cmd;
pub mod verify_log;

/// The process allocator for the binary, its tests and benches (one allocator everywhere, so
/// the benchmarks measure what runs). Under the signing threads glibc malloc spent about a
/// quarter of bulk issuing time in its arena locks and consolidation.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
