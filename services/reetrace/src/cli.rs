//! The command line: `reetrace serve | migrate | admin | import | openapi | verify | verify-log`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::admin::{self, AdminCommand};
use crate::app;
use crate::config::{Config, Overrides};
use crate::import::ImportArgs;
use crate::telemetry;
use crate::verify_cmd::{self, VerifyArgs};
use crate::verify_log::{self, VerifyLogArgs};

/// reetrace: digital product passports, custody and urban-mine figures for rare-earth elements.
#[derive(Debug, Parser)]
#[command(name = "reetrace", version, about, long_about = None)]
pub struct Cli {
    /// A TOML configuration file (keys as in the README's configuration table).
    #[arg(long, global = true, value_name = "FILE", env = "REETRACE_CONFIG")]
    config: Option<PathBuf>,
    /// The database: sqlite://PATH (default sqlite://reetrace.db) or postgres://...
    /// [env: REETRACE_DATABASE_URL]
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the services (all in one process by default).
    Serve(ServeArgs),
    /// Applies the database migrations and exits.
    Migrate,
    /// Manages organisations and API keys directly in the database.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Loads a realistic synthetic world (manufacturers, products since 2010, collection and
    /// recycling chains) through the API, and prints the keys it made.
    Demo {
        /// How many passports to register (batches count once).
        #[arg(long, default_value_t = 2000)]
        products: usize,
        /// Seed of the synthetic world (the same seed makes the same world).
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Registers passports in bulk from NDJSON (one registration request per line) or CSV
    /// (the README's columns), signed with the organisation's active key, in transactions of
    /// --batch lines; a progress bar on standard error, a JSON summary on standard output.
    /// Exits 0 when every line was created, 1 when some failed, 2 on a usage or I/O error.
    Import(ImportArgs),
    /// Writes a backup archive of everything that cannot be recomputed (NDJSON, gzip for .gz).
    Export {
        #[arg(long, short)]
        output: PathBuf,
    },
    /// Restores a backup archive into an empty database (of either backend).
    Restore {
        #[arg(long, short)]
        input: PathBuf,
    },
    /// Prints the OpenAPI document.
    Openapi {
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Verifies a credential (signature, issuer, validity, status); prints a JSON report and
    /// exits 0 when it verified, 1 when not, 2 when the input could not be read.
    Verify(VerifyArgs),
    /// Recomputes every chain link and leaf of the custody log from the stored events and
    /// checks them against the latest signed checkpoint, on the database (`--database-url`) or
    /// through the API (`--url`); prints a JSON report and exits 0 when all holds, 1 when
    /// something broke, 2 when the log could not be read.
    VerifyLog(VerifyLogArgs),
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080). [env: REETRACE_LISTEN]
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Serve HTTPS with this PEM certificate chain (the server's certificate first); needs
    /// --tls-key. [env: REETRACE_TLS_CERT]
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1). [env: REETRACE_TLS_KEY]
    #[arg(long, value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// The services to run here, comma-separated: passport, custody, stock, deposits (default: all).
    /// The others are reached at REETRACE_{PASSPORT,CUSTODY,STOCK}_URL. [env: REETRACE_SERVICES]
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    services: Option<Vec<String>>,
}

/// How long a finished command waits for computations still running off the async threads.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            let _ = writeln!(
                std::io::stderr(),
                "error: cannot start the async runtime: {err}"
            );
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(run(cli));
    // Work still running off the async threads (a stock table being protected, which at a
    // million passports takes minutes) holds nothing that is not recomputed at the next start:
    // it is abandoned rather than waited for, so that a stopped server exits.
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    match outcome {
        Ok(code) => code,
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "error: {err:#}");
            // A refused start (another instance's database, a missing or wrong master key) is
            // told apart from a failure: exit 2.
            crate::instance::exit_code(&err).unwrap_or(ExitCode::FAILURE)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // Verifying needs no configuration, database or logging: it may run anywhere.
    let cli = match cli.command {
        Command::Verify(args) => return Ok(verify_cmd::run(args).await),
        Command::VerifyLog(args) if args.url.is_some() => {
            return Ok(verify_log::run(args, None).await);
        }
        command => Cli { command, ..cli },
    };
    let overrides = match &cli.command {
        Command::Serve(args) => Overrides {
            listen: args.listen,
            tls_cert: args.tls_cert.clone(),
            tls_key: args.tls_key.clone(),
            services: args.services.clone(),
            database_url: cli.database_url.clone(),
        },
        _ => Overrides {
            database_url: cli.database_url.clone(),
            ..Overrides::default()
        },
    };
    if let Command::Openapi { output } = &cli.command {
        let text = openapi_json()?;
        match output {
            Some(path) => {
                std::fs::write(path, text).with_context(|| format!("write {}", path.display()))?
            }
            None => print_out(&text)?,
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (config, warnings) = match Config::load(cli.config.as_deref(), &overrides) {
        Ok(loaded) => loaded,
        // The import's exit codes keep 1 for "some lines failed".
        Err(err) if matches!(cli.command, Command::Import(_)) => {
            let _ = writeln!(std::io::stderr(), "error: {err:#}");
            return Ok(ExitCode::from(2));
        }
        Err(err) => return Err(err),
    };
    telemetry::init(config.log_format);
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    match cli.command {
        Command::Serve(_) => serve(config).await,
        Command::Migrate => {
            let db = app::open_database(&config).await?;
            tracing::info!(backend = %db.backend(), "migrations applied");
            if let Some(key) = &config.service_key {
                let accounts = reetrace_core::service::accounts::Accounts::new(
                    reetrace_core::store::accounts::open(&db),
                    std::sync::Arc::new(
                        reetrace_core::api::auth::Authenticator::new(
                            reetrace_core::store::accounts::open(&db),
                            &config.rate_limits(),
                        )
                        .map_err(|why| anyhow::anyhow!("trusted_proxies: {why}"))?,
                    ),
                );
                accounts
                    .register_service_key(key.expose())
                    .await
                    .map_err(|p| anyhow::anyhow!("register the service key: {p}"))?;
                tracing::info!("service key registered");
            }
            db.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin { command } => admin::run(&config, command).await,
        Command::Demo { products, seed } => crate::demo::run(&config, products, seed).await,
        Command::Import(args) => Ok(crate::import::run(&config, args).await),
        Command::Export { output } => crate::backup::export(&config, &output).await,
        Command::Restore { input } => crate::backup::restore(&config, &input).await,
        Command::VerifyLog(args) => {
            Ok(verify_log::run(args, Some(config.database_url.expose())).await)
        }
        Command::Openapi { .. } | Command::Verify(_) => Ok(ExitCode::SUCCESS),
    }
}

/// The OpenAPI document as committed in `openapi/reetrace.json`.
pub fn openapi_json() -> anyhow::Result<String> {
    let mut text =
        serde_json::to_string_pretty(&app::openapi()).context("encode the OpenAPI document")?;
    text.push('\n');
    Ok(text)
}

async fn serve(config: Config) -> anyhow::Result<ExitCode> {
    let app = app::build(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listen on {}", config.listen))?;
    tracing::info!(
        listen = %config.listen,
        scheme = if config.tls_cert.is_some() { "https" } else { "http" },
        backend = %app.db().backend(),
        public_base_url = %app.services().identity.public_base_url,
        "reetrace is serving"
    );
    let shutdown = CancellationToken::new();
    crate::serve::cancel_on_signal(shutdown.clone());
    app.run(listener, shutdown).await?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Writes `text` to standard output. A reader that stops reading (`| head`) is not an error:
/// it had what it wanted.
pub fn print_out(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let newline: &[u8] = if text.ends_with('\n') { b"" } else { b"\n" };
    let written = out
        .write_all(text.as_bytes())
        .and_then(|()| out.write_all(newline))
        .and_then(|()| out.flush());
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("write to standard output"),
    }
}
