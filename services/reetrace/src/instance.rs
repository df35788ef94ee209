//! What a start checks before it opens the services: that this is the instance the database
//! belongs to (its recorded public base URL) and that the master key is the one its keys were
//! sealed under. Either one wrong used to be silently "fixed" (a fresh master key, a second
//! custody log key, credentials issued under a second name); now it is a refusal to start,
//! exit code 2, with a message that says what to do.

use std::path::PathBuf;

use anyhow::Context;
use reetrace_core::crypto::MasterKey;
use reetrace_core::db::Db;
use reetrace_core::domain::instance::{self, BaseUrlMoved, InstanceIdentity};
use reetrace_core::store::instance::InstanceStore;
use reetrace_custody::domain::transparency_log::origin_for;
use reetrace_custody::service::transparency_log::OpenLogError;

use crate::config::{Config, resolve};

/// A start refused because of what the database says about the instance: the process exits
/// with code 2 (see [`exit_code`]) and the message names what to configure or run.
#[derive(Debug, thiserror::Error)]
pub enum StartRefused {
    #[error("{0}")]
    Moved(#[from] BaseUrlMoved),
    #[error(
        "the master key file {path} does not exist (REETRACE_MASTER_KEY_FILE, master_key_file), \
         but this database holds {sealed} keys sealed under a master key: configure the file or \
         REETRACE_MASTER_KEY that holds it. A new key would open none of them, so none is made"
    )]
    MasterKeyMissing { path: PathBuf, sealed: usize },
    #[error(
        "the master key from {from} does not open the {kind} {id:?}: this database's keys \
         were sealed under another master key; configure that one (`reetrace admin master-key \
         check` tells when it fits)"
    )]
    MasterKeyWrong {
        from: String,
        kind: &'static str,
        id: String,
    },
    #[error("{0}")]
    Log(String),
}

/// Exit code 2 for a refused start, anywhere in the error's chain; `None` otherwise.
pub fn exit_code(error: &anyhow::Error) -> Option<std::process::ExitCode> {
    error
        .chain()
        .any(|e| e.downcast_ref::<StartRefused>().is_some())
        .then(|| std::process::ExitCode::from(2))
}

/// The instance as a start opens it.
#[derive(Debug)]
pub struct Opened {
    pub master: MasterKey,
    pub identity: InstanceIdentity,
}

/// Checks the master key and the identity, and records the identity on a database that has
/// none (its first start adopts the configured base URL, or `http://<listen>`).
pub async fn open(db: &Db, config: &Config) -> anyhow::Result<Opened> {
    let master = master_key(db, config).await?;
    let store = InstanceStore::new(db);
    let identity = match store.identity().await? {
        Some(stored) => {
            instance::base_url_for_start(
                Some(&stored),
                config.public_base_url.as_deref(),
                &config.derived_base_url(),
            )
            .map_err(StartRefused::from)?;
            stored
        }
        None => {
            let base = config
                .public_base_url
                .as_deref()
                .map_or_else(|| config.derived_base_url(), instance::normalize_base_url);
            let origin = origin_for(&base);
            // A database served before identities were recorded: its log's key tells the URL
            // it was served under; another one would start a second log.
            let custody = reetrace_custody::store::open(db);
            let names: Vec<String> = custody
                .log_public_keys()
                .await?
                .into_iter()
                .map(|(name, _)| name)
                .collect();
            if !names.is_empty() && !names.contains(&origin) {
                return Err(log_refused(OpenLogError::OtherName {
                    expected: origin,
                    found: names.join(", "),
                }));
            }
            store
                .record(&base, &origin, reetrace_core::domain::account::now())
                .await?
        }
    };
    Ok(Opened { master, identity })
}

/// The base URL a start on `db` would run under: the recorded one, the configured one on a
/// database without identity, else `http://<listen>`; refused when a configured one differs
/// from the recorded one.
pub async fn base_url(db: &Db, config: &Config) -> anyhow::Result<String> {
    let stored = InstanceStore::new(db).identity().await?;
    Ok(instance::base_url_for_start(
        stored.as_ref(),
        config.public_base_url.as_deref(),
        &config.derived_base_url(),
    )
    .map_err(StartRefused::from)?)
}

/// The custody log's refusal to open as a start's error (a database error stays one).
pub fn log_refused(error: OpenLogError) -> anyhow::Error {
    match error {
        OpenLogError::Store(e) => anyhow::Error::from(e).context("open the custody log"),
        refused => StartRefused::Log(refused.to_string()).into(),
    }
}

/// Where the master key comes from, as a message names it.
fn source_name(config: &Config) -> String {
    match &config.master_key {
        Some(_) => "REETRACE_MASTER_KEY (master_key)".to_owned(),
        None => format!(
            "the master key file {} (REETRACE_MASTER_KEY_FILE)",
            resolve(&config.master_key_file).display()
        ),
    }
}

/// The configured master key, read without writing anything; `None` when its file is missing.
pub fn read_master_key(config: &Config) -> anyhow::Result<Option<MasterKey>> {
    match &config.master_key {
        Some(key) => MasterKey::parse(key.expose())
            .map(Some)
            .map_err(|e| anyhow::anyhow!("master_key (REETRACE_MASTER_KEY): {e}")),
        None => {
            let path = resolve(&config.master_key_file);
            MasterKey::load(&path).with_context(|| format!("master key file {}", path.display()))
        }
    }
}

/// Every key sealed under the master key: (kind, id, sealed bytes).
pub async fn sealed_keys(db: &Db) -> anyhow::Result<Vec<(&'static str, String, Vec<u8>)>> {
    let signing = reetrace_core::store::issuing::open(db)
        .sealed_keys()
        .await?;
    let log = reetrace_custody::store::open(db).sealed_log_keys().await?;
    Ok(signing
        .into_iter()
        .map(|(id, secret)| ("signing key", id, secret))
        .chain(
            log.into_iter()
                .map(|(id, secret)| ("custody log key", id, secret)),
        )
        .collect())
}

/// The first sealed key `master` does not open: (kind, id).
pub fn first_unopened<'a>(
    master: &MasterKey,
    sealed: &'a [(&'static str, String, Vec<u8>)],
) -> Option<(&'static str, &'a str)> {
    sealed
        .iter()
        .find(|(_, id, secret)| master.unseal(secret, id.as_bytes()).is_err())
        .map(|(kind, id, _)| (*kind, id.as_str()))
}

/// The master key for a start: the configured one, which must open every sealed key; a
/// missing key file is created only for a database that has no sealed key yet.
async fn master_key(db: &Db, config: &Config) -> anyhow::Result<MasterKey> {
    let sealed = sealed_keys(db).await?;
    let master = match read_master_key(config)? {
        Some(master) => master,
        None if sealed.is_empty() => {
            let path = resolve(&config.master_key_file);
            MasterKey::load_or_create(&path)
                .with_context(|| format!("master key file {}", path.display()))?
        }
        None => {
            return Err(StartRefused::MasterKeyMissing {
                path: resolve(&config.master_key_file),
                sealed: sealed.len(),
            }
            .into());
        }
    };
    if let Some((kind, id)) = first_unopened(&master, &sealed) {
        return Err(StartRefused::MasterKeyWrong {
            from: source_name(config),
            kind,
            id: id.to_owned(),
        }
        .into());
    }
    Ok(master)
}
