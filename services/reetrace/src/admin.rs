//! `reetrace admin`: organisations and keys straight in the database, for scripts and for
//! bootstrapping the first admin. Every command prints one JSON document on standard output.

use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use reetrace_core::api::problem::Problem;
use reetrace_core::db::Db;
use reetrace_core::domain::OperatorId;
use reetrace_core::domain::Role;
use reetrace_core::domain::account::NewOrg;
use reetrace_core::domain::gs1_prefix::NewGs1Prefix;
use reetrace_core::domain::issuing::Rotation;
use serde::Serialize;
use uuid::Uuid;

use crate::app;
use crate::cli::print_out;
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Organisations.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// API keys.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// The master key that seals the signing keys at rest.
    MasterKey {
        #[command(subcommand)]
        command: MasterKeyCommand,
    },
    /// The instance's identity: the public base URL everything it issues is named under.
    Instance {
        #[command(subcommand)]
        command: InstanceCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum InstanceCommand {
    /// Prints the recorded identity: {"public_base_url", "log_origin", "aliases", ...}.
    Show,
    /// Moves the instance to another public base URL, deliberately: new credentials, DIDs and
    /// identifiers are named under it; the current URL becomes an alias, so what was issued
    /// under it keeps resolving and verifying (keep its host pointed at this instance). Then
    /// restart the servers with public_base_url set to the new URL (or unset).
    Move {
        /// The new public base URL (http(s), with a host).
        #[arg(long, value_name = "URL")]
        to: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Creates an organisation and its first API key; prints {"org_id", "api_key", ...}.
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
        /// manufacturer, recycler, regulator, admin or service.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Operator identifier as SCHEME:VALUE, e.g. eori:FR123456789000 or lei:5493001KJTIIGC8Y1R12.
        #[arg(long, value_name = "SCHEME:VALUE")]
        operator_id: Option<String>,
        /// A GS1 Company Prefix (as in a GTIN-13) the manufacturer or recycler holds; repeat
        /// for several. Printed back under "gs1_prefixes".
        #[arg(long = "gs1-prefix", value_name = "DIGITS")]
        gs1_prefixes: Vec<String>,
    },
    /// Lists organisations.
    List {
        /// Only this role.
        #[arg(long, value_parser = parse_role)]
        role: Option<Role>,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Prints a fresh API key without storing it (for REETRACE_SERVICE_KEY; `migrate` and
    /// `serve` register it).
    Generate,
    /// Creates an API key for an organisation; prints {"api_key", ...}.
    Create {
        /// The organisation's id.
        #[arg(long)]
        org: Uuid,
        /// A note to tell keys apart.
        #[arg(long)]
        label: Option<String>,
    },
    /// Lists an organisation's keys (prefixes only).
    List {
        #[arg(long)]
        org: Uuid,
    },
    /// Revokes a key by its prefix (the part after `rtk_`).
    Revoke {
        #[arg(long)]
        key_prefix: String,
    },
    /// Gives a manufacturer a new Ed25519 signing key; prints {"org_id", "key_id", "did"}. The
    /// previous keys stop signing but keep verifying what they signed, unless
    /// --revoke-previous (after a compromise): then what they signed no longer verifies.
    Rotate {
        #[arg(long)]
        org: Uuid,
        #[arg(long)]
        revoke_previous: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum MasterKeyCommand {
    /// Re-seals every signing key (the manufacturers' and the custody log's) under a new
    /// master key, read from --new-key-file or created there (mode 0600) when the file does
    /// not exist; prints what it moved. Run it with the servers stopped, then restart them
    /// with REETRACE_MASTER_KEY_FILE set to the new file (and REETRACE_MASTER_KEY unset).
    /// Running it again is safe: keys already under the new key are left alone, so an
    /// interrupted rotation is finished by the next run.
    Rotate {
        #[arg(long)]
        new_key_file: std::path::PathBuf,
    },
    /// Checks that the configured master key opens every sealed signing key; exit 1 naming
    /// the first that does not open, or the missing key file (never created here).
    Check,
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

fn parse_operator_id(text: &str) -> anyhow::Result<OperatorId> {
    text.parse().map_err(|e| {
        anyhow::anyhow!("--operator-id must be SCHEME:VALUE (eori:... or lei:...): {e}")
    })
}

fn emit(value: &impl Serialize) -> anyhow::Result<()> {
    print_out(&serde_json::to_string_pretty(value).context("encode the answer")?)
}

/// Runs an admin command against the configured database.
/// Prints a fresh key; it is registered by whoever is configured with it.
fn generate_key() -> anyhow::Result<()> {
    print_out(&reetrace_core::domain::NewApiKey::generate().secret)
}

pub async fn run(config: &Config, command: AdminCommand) -> anyhow::Result<ExitCode> {
    if let AdminCommand::Key {
        command: KeyCommand::Generate,
    } = command
    {
        // No database needed (nor created).
        return generate_key().map(|()| ExitCode::SUCCESS);
    }
    let db = app::open_database(config).await?;
    let result = match command {
        // Not through `Services::open`: that opens the custody log's key with the configured
        // master key, which a half-done rotation must not stop.
        AdminCommand::MasterKey { command } => master_key(config, &db, command).await,
        AdminCommand::Instance { command } => instance(config, &db, command)
            .await
            .map(|()| ExitCode::SUCCESS),
        AdminCommand::Org { command } => {
            org(config, &db, command).await.map(|()| ExitCode::SUCCESS)
        }
        AdminCommand::Key { command } => {
            key(config, &db, command).await.map(|()| ExitCode::SUCCESS)
        }
    };
    db.close().await;
    result
}

/// `reetrace admin org ...`.
async fn org(config: &Config, db: &Db, command: OrgCommand) -> anyhow::Result<()> {
    let services = app::Services::open(db, config).await?;
    let accounts = &services.accounts;
    match command {
        OrgCommand::Create {
            name,
            role,
            operator_id,
            gs1_prefixes,
        } => {
            let operator_id = operator_id.as_deref().map(parse_operator_id).transpose()?;
            let gs1_prefixes: Vec<NewGs1Prefix> = gs1_prefixes
                .into_iter()
                .map(|prefix| NewGs1Prefix {
                    prefix: Some(prefix),
                    ..NewGs1Prefix::default()
                })
                .collect();
            // Malformed prefixes are refused before anything is created.
            for new in &gs1_prefixes {
                new.parse()
                    .map_err(|e| anyhow::anyhow!("--gs1-prefix: {}", e.detail))?;
            }
            let created = accounts
                .create_org(NewOrg {
                    name,
                    role,
                    operator_id,
                })
                .await?;
            let mut held = Vec::new();
            for new in &gs1_prefixes {
                let entry = accounts
                    .add_gs1_prefix(created.org_id, new)
                    .await
                    .map_err(|e| anyhow::anyhow!("--gs1-prefix: {}", Problem::from(e)))?;
                held.push(entry);
            }
            let mut out = serde_json::to_value(&created)?;
            if !held.is_empty() {
                out["gs1_prefixes"] = serde_json::to_value(held)?;
            }
            emit(&out)
        }
        OrgCommand::List { role } => {
            let mut all = Vec::new();
            let mut after = None;
            loop {
                let page = accounts.list_orgs(role, after, 1000).await?;
                after = page.last().map(|o| o.id);
                let done = page.len() < 1000;
                all.extend(page);
                if done {
                    break;
                }
            }
            emit(&all)
        }
    }
}

/// `reetrace admin key ...`.
async fn key(config: &Config, db: &Db, command: KeyCommand) -> anyhow::Result<()> {
    let services = app::Services::open(db, config).await?;
    let accounts = &services.accounts;
    match command {
        KeyCommand::Generate => generate_key(),
        KeyCommand::Create { org, label } => emit(&accounts.create_key(org, label).await?),
        KeyCommand::List { org } => emit(&accounts.list_keys(org).await?),
        KeyCommand::Revoke { key_prefix } => {
            let prefix = key_prefix.trim_start_matches("rtk_");
            let prefix = prefix.split('_').next().unwrap_or(prefix);
            emit(&accounts.revoke_key_by_prefix(prefix).await?)
        }
        KeyCommand::Rotate {
            org,
            revoke_previous,
        } => {
            let found = accounts.org(org).await?;
            if found.role != Role::Manufacturer {
                anyhow::bail!(
                    "organisation {org} is a {}; only manufacturers have signing keys",
                    found.role
                );
            }
            let rotation = if revoke_previous {
                Rotation::Revoke
            } else {
                Rotation::Retire
            };
            let key = services.issuing.create_key(org, rotation).await?;
            emit(&serde_json::json!({
                "org_id": org,
                "key_id": key.key_id,
                "did": services.issuing.org_did(org),
                "previous": if revoke_previous { "revoked" } else { "retired" },
            }))
        }
    }
}

/// `reetrace admin instance ...`, on the store directly (a move is what a refused start asks
/// for, so it must not need a start).
async fn instance(config: &Config, db: &Db, command: InstanceCommand) -> anyhow::Result<()> {
    let store = reetrace_core::store::instance::InstanceStore::new(db);
    match command {
        InstanceCommand::Show => match store.identity().await? {
            Some(identity) => emit(&identity),
            None => emit(&serde_json::json!({
                "recorded": false,
                "first_start_adopts": config.public_base_url(),
            })),
        },
        InstanceCommand::Move { to } => {
            let parsed =
                url::Url::parse(&to).with_context(|| format!("--to {to:?} is not a URL"))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
                anyhow::bail!("--to must be an http(s) URL with a host, got {to:?}");
            }
            let to = reetrace_core::domain::instance::normalize_base_url(&to);
            let moved = store
                .move_to(&to, reetrace_core::domain::account::now())
                .await?;
            emit(&serde_json::json!({
                "identity": moved,
                "next": format!(
                    "restart the servers with public_base_url (REETRACE_PUBLIC_BASE_URL) set to {to} or unset; keep the former hosts ({}) pointed at this instance so that what was issued under them keeps resolving",
                    moved.aliases.join(", ")
                ),
            }))
        }
    }
}

/// `reetrace admin master-key ...`, on the stores directly. Nothing here creates the current
/// master key: a missing one is reported, not replaced.
async fn master_key(
    config: &Config,
    db: &Db,
    command: MasterKeyCommand,
) -> anyhow::Result<ExitCode> {
    let sealed = crate::instance::sealed_keys(db).await?;
    let count = |kind: &str| sealed.iter().filter(|(k, _, _)| *k == kind).count();
    let Some(current) = crate::instance::read_master_key(config)? else {
        let path = crate::config::resolve(&config.master_key_file);
        if let MasterKeyCommand::Check = command {
            emit(&serde_json::json!({
                "ok": false,
                "error": format!(
                    "the master key file {} does not exist (REETRACE_MASTER_KEY_FILE); nothing was created",
                    path.display()
                ),
                "signing_keys": count("signing key"),
                "custody_log_keys": count("custody log key"),
            }))?;
            return Ok(ExitCode::FAILURE);
        }
        anyhow::bail!(
            "the master key file {} does not exist (REETRACE_MASTER_KEY_FILE): configure the master key in use",
            path.display()
        );
    };
    match command {
        MasterKeyCommand::Check => {
            if let Some((kind, id)) = crate::instance::first_unopened(&current, &sealed) {
                emit(&serde_json::json!({
                    "ok": false,
                    "error": format!("the {kind} {id:?} does not open with the configured master key"),
                }))?;
                return Ok(ExitCode::FAILURE);
            }
            emit(&serde_json::json!({
                "ok": true,
                "signing_keys": count("signing key"),
                "custody_log_keys": count("custody log key"),
            }))?;
            Ok(ExitCode::SUCCESS)
        }
        MasterKeyCommand::Rotate { new_key_file } => {
            let issuing = reetrace_core::store::issuing::open(db);
            let custody = reetrace_custody::store::open(db);
            let keys = issuing.sealed_keys().await?;
            let log_keys = custody.sealed_log_keys().await?;
            let new = reetrace_core::crypto::MasterKey::load_or_create(&new_key_file)
                .with_context(|| format!("new master key file {}", new_key_file.display()))?;
            if new.same_as(&current) {
                anyhow::bail!(
                    "{} holds the master key in use: give a new file (it is created when missing)",
                    new_key_file.display()
                );
            }
            // Plan everything before writing anything: a key that opens with neither master
            // key stops the rotation with nothing changed.
            let keys = current
                .plan_reseal(&new, keys)
                .context("signing keys: nothing was changed")?;
            let log_keys = current
                .plan_reseal(&new, log_keys)
                .context("custody log keys: nothing was changed")?;
            issuing.reseal_keys(&keys.changes).await.context(
                "re-seal the signing keys (nothing of them was changed; run the command again)",
            )?;
            custody.reseal_log_keys(&log_keys.changes).await.context(
                "re-seal the custody log keys (the signing keys were moved; run the command again to finish)",
            )?;
            emit(&serde_json::json!({
                "signing_keys": {"resealed": keys.changes.len(), "already": keys.already},
                "custody_log_keys": {"resealed": log_keys.changes.len(), "already": log_keys.already},
                "master_key_file": new_key_file,
                "next": format!(
                    "restart the servers with REETRACE_MASTER_KEY_FILE={} (and REETRACE_MASTER_KEY unset); keep the old key until `reetrace admin master-key check` passes with the new one",
                    new_key_file.display()
                ),
            }))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
