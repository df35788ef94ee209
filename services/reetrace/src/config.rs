//! Configuration: defaults in code, then an optional TOML file, then `REETRACE_*` environment
//! variables, then command-line flags. Secrets never appear in `Debug` output, and an unknown
//! `REETRACE_*` variable is warned about (it is usually a typo).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use reetrace_core::api::auth::{RateLimit, RateLimits};
use reetrace_core::service::idempotency_retention;
use reetrace_custody::domain::reservation::ReservationCap;
use serde::{Deserialize, Serialize};

mod env;
use env::{ENV_KEYS, Kind, OTHER_ENV};

/// A configured secret (a key, a database URL with its password): `Debug` never shows it, and
/// its memory is zeroed when it is dropped. (Core's `crypto::Secret` holds key bytes.)
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretText(String);

impl SecretText {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Drop for SecretText {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretText(***)")
    }
}

/// How logs are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Everything `reetrace` can be configured with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// A PEM certificate chain to serve HTTPS with (with `tls_key`; neither: plain HTTP).
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// `sqlite://PATH` (the embedded default) or `postgres://...`.
    pub database_url: SecretText,
    /// The URL the outside world reaches this instance at; used in DIDs, Digital Link URIs and
    /// QR codes. Defaults to `http://<listen>` (`https://` with `tls_cert`).
    pub public_base_url: Option<String>,
    /// Log format.
    pub log_format: LogFormat,
    /// Largest request body on ordinary routes, in bytes.
    pub body_limit_bytes: usize,
    /// Largest request body on bulk routes, in bytes.
    pub bulk_body_limit_bytes: usize,
    /// Bulk requests (bulk registration, EPCIS capture) in flight at once across the process;
    /// more are answered 503 with `Retry-After`.
    pub bulk_in_flight: usize,
    /// Connections per database pool.
    pub db_max_connections: u32,
    /// Requests per organisation (all its keys together).
    pub rate_limit: RateLimit,
    /// Requests without an API key, per client address.
    pub address_rate_limit: RateLimit,
    /// Requests whose API key is refused, per client address.
    pub failed_auth_rate_limit: RateLimit,
    /// Photos decoded by `POST /api/v1/scan/decode`, per API key (decoding is CPU work).
    pub scan_rate_limit: RateLimit,
    /// Proxies (addresses or CIDR blocks) whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<String>,
    /// The master key that seals organisations' signing keys (32 bytes, base64 or hex). When
    /// unset, `master_key_file` is used; it is created (mode 0600) only for a database that
    /// has no sealed key yet (see `crate::instance`).
    pub master_key: Option<SecretText>,
    /// Where the master key is kept when `master_key` is unset.
    pub master_key_file: PathBuf,
    /// Hosts (besides our own) whose did:web DID documents the verifier may fetch.
    pub did_web_allowlist: Vec<String>,
    /// The services this process runs: any of passport, custody, stock, deposits (`--services`).
    pub services: Vec<String>,
    /// Where the passport service runs, when not here.
    pub passport_url: Option<String>,
    /// Where the custody service runs, when not here.
    pub custody_url: Option<String>,
    /// Where the stock service runs, when not here.
    pub stock_url: Option<String>,
    /// Where the deposits service runs, when not here (the stock service reads its feed).
    pub deposits_url: Option<String>,
    /// The API key (role `service`) this process reads other services' feeds with; `reetrace
    /// migrate` and `serve` register it.
    pub service_key: Option<SecretText>,
    /// The published statistics withhold a cell built from fewer than this many distinct
    /// organisations.
    pub disclosure_k: u32,
    /// The share (per cent) of a lot's unclaimed content one organisation's open reservations
    /// may hold (1 to 100).
    pub reservation_cap_percent: u8,
    /// How long (ms) the resolver may answer a product's credential from memory; 0: never.
    pub resolver_cache_ms: u64,
    /// Connection and request-head limits of the HTTP server.
    pub connections: crate::serve::ConnectionLimits,
    /// Days the audit trail of authority reads keeps an entry before it is pruned.
    pub audit_retention_days: u32,
    /// Hours the answers to idempotent requests (`Idempotency-Key`) are kept (at least 24).
    pub idempotency_retention_hours: u32,
    /// When CRMA art. 28 and 29 apply (dates `YYYY-MM-DD`).
    pub crma: reetrace_passport::domain::crma::CrmaDates,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            tls_cert: None,
            tls_key: None,
            database_url: SecretText::new("sqlite://reetrace.db"),
            public_base_url: None,
            log_format: LogFormat::Text,
            body_limit_bytes: 1024 * 1024,
            bulk_body_limit_bytes: 16 * 1024 * 1024,
            bulk_in_flight: 1,
            db_max_connections: 16,
            rate_limit: RateLimits::default().organisation,
            address_rate_limit: RateLimits::default().address,
            failed_auth_rate_limit: RateLimits::default().failed_auth,
            scan_rate_limit: RateLimit {
                per_second: 1,
                burst: 10,
            },
            trusted_proxies: Vec::new(),
            master_key: None,
            master_key_file: PathBuf::from("reetrace.master.key"),
            did_web_allowlist: Vec::new(),
            services: vec![
                "passport".into(),
                "custody".into(),
                "stock".into(),
                "deposits".into(),
            ],
            passport_url: None,
            custody_url: None,
            deposits_url: None,
            stock_url: None,
            service_key: None,
            disclosure_k: reetrace_stock::service::DEFAULT_DISCLOSURE_K,
            reservation_cap_percent: ReservationCap::DEFAULT_PERCENT,
            resolver_cache_ms: 60_000,
            connections: crate::serve::ConnectionLimits::default(),
            audit_retention_days: reetrace_core::service::audit::DEFAULT_RETENTION_DAYS,
            idempotency_retention_hours: idempotency_retention::DEFAULT_RETENTION_HOURS,
            crma: Default::default(),
        }
    }
}

/// Values given on the command line; they override everything else.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub database_url: Option<String>,
    pub services: Option<Vec<String>>,
}

impl Config {
    /// Loads the layers: defaults, the TOML file (if any), the environment, the flags.
    pub fn load(
        file: Option<&Path>,
        overrides: &Overrides,
    ) -> anyhow::Result<(Config, Vec<String>)> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::from_layers(file, &env, overrides)
    }

    /// As [`Config::load`], with the environment given (for tests). Returns the config and the
    /// warnings to log once logging is up.
    pub fn from_layers(
        file: Option<&Path>,
        env: &[(String, String)],
        overrides: &Overrides,
    ) -> anyhow::Result<(Config, Vec<String>)> {
        let mut table = toml::Table::try_from(Config::default()).context("encode defaults")?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("read config file {}", path.display()))?;
            let from_file: toml::Table = toml::from_str(&text)
                .with_context(|| format!("parse config file {}", path.display()))?;
            merge(&mut table, from_file);
        }
        let mut warnings = Vec::new();
        for (name, value) in env {
            if !name.starts_with("REETRACE_") {
                continue;
            }
            let Some((_, key, kind)) = ENV_KEYS.iter().find(|(n, _, _)| n == name) else {
                if !OTHER_ENV.contains(&name.as_str()) {
                    warnings.push(format!("unknown environment variable {name} is ignored"));
                }
                continue;
            };
            let value =
                match kind {
                    Kind::Str => toml::Value::String(value.clone()),
                    Kind::List => toml::Value::Array(
                        value
                            .split(',')
                            .map(str::trim)
                            .filter(|v| !v.is_empty())
                            .map(|v| toml::Value::String(v.to_owned()))
                            .collect(),
                    ),
                    Kind::Int => toml::Value::Integer(value.trim().parse().with_context(|| {
                        format!("{name} must be a whole number, got {value:?}")
                    })?),
                };
            set(&mut table, key, value);
        }
        let mut config: Config = table.try_into().context("invalid configuration")?;
        if let Some(listen) = overrides.listen {
            config.listen = listen;
        }
        if let Some(cert) = &overrides.tls_cert {
            config.tls_cert = Some(cert.clone());
        }
        if let Some(key) = &overrides.tls_key {
            config.tls_key = Some(key.clone());
        }
        if let Some(url) = &overrides.database_url {
            config.database_url = SecretText::new(url.clone());
        }
        if let Some(services) = &overrides.services {
            config.services = services.clone();
        }
        config.check()?;
        Ok((config, warnings))
    }

    fn check(&self) -> anyhow::Result<()> {
        if reetrace_core::db::backend_of(self.database_url.expose()).is_none() {
            bail!(
                "database_url must be sqlite://PATH or postgres://..., got {:?}",
                reetrace_core::db::redact_url(self.database_url.expose())
            );
        }
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => bail!(
                "--tls-cert (REETRACE_TLS_CERT) is set but --tls-key (REETRACE_TLS_KEY) is not: \
                 HTTPS needs the certificate and its private key"
            ),
            (None, Some(_)) => bail!(
                "--tls-key (REETRACE_TLS_KEY) is set but --tls-cert (REETRACE_TLS_CERT) is not: \
                 HTTPS needs the certificate and its private key"
            ),
            _ => {}
        }
        if let Some(base) = &self.public_base_url {
            let url = url::Url::parse(base)
                .with_context(|| format!("public_base_url {base:?} is not a URL"))?;
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                bail!("public_base_url must be an http(s) URL with a host, got {base:?}");
            }
        }
        if self.body_limit_bytes == 0 || self.bulk_body_limit_bytes < self.body_limit_bytes {
            bail!("body limits must be positive and the bulk limit at least the ordinary one");
        }
        if self.bulk_in_flight == 0 {
            bail!("bulk_in_flight (REETRACE_BULK_IN_FLIGHT) must be at least 1");
        }
        if let Some(key) = &self.master_key {
            reetrace_core::crypto::MasterKey::parse(key.expose()).map_err(|e| {
                anyhow::anyhow!(
                    "master_key (REETRACE_MASTER_KEY) is not a 32-byte key in base64 or hex: {e}"
                )
            })?;
        }
        crate::selection::Selection::parse(&self.services)?;
        for (name, url) in [
            ("passport_url", &self.passport_url),
            ("custody_url", &self.custody_url),
            ("stock_url", &self.stock_url),
            ("deposits_url", &self.deposits_url),
        ] {
            if let Some(url) = url
                && !url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
            {
                bail!("{name} must be an http(s) URL, got {url:?}");
            }
        }
        if let Some(key) = &self.service_key
            && reetrace_core::domain::key_prefix(key.expose()).is_none()
        {
            bail!(
                "service_key (REETRACE_SERVICE_KEY) is not an API key (rtk_...): generate one with `reetrace admin key generate`"
            );
        }
        if self.db_max_connections == 0 {
            bail!("db_max_connections must be at least 1");
        }
        if self.audit_retention_days == 0 {
            bail!("audit_retention_days (REETRACE_AUDIT_RETENTION_DAYS) must be at least 1");
        }
        if self.idempotency_retention_hours < idempotency_retention::MIN_RETENTION_HOURS {
            bail!(
                "idempotency_retention_hours (REETRACE_IDEMPOTENCY_RETENTION_HOURS) must be at least {} (a day offline)",
                idempotency_retention::MIN_RETENTION_HOURS
            );
        }
        if self.disclosure_k == 0 {
            bail!("disclosure_k (REETRACE_DISCLOSURE_K) must be at least 1");
        }
        if ReservationCap::new(self.reservation_cap_percent).is_none() {
            bail!(
                "reservation_cap_percent (REETRACE_RESERVATION_CAP_PERCENT) must be between 1 and 100"
            );
        }
        Ok(())
    }

    /// Every rate limit of the API.
    pub fn rate_limits(&self) -> RateLimits {
        RateLimits {
            organisation: self.rate_limit,
            address: self.address_rate_limit,
            failed_auth: self.failed_auth_rate_limit,
            trusted_proxies: self.trusted_proxies.clone(),
        }
    }

    /// The configured public base URL without a trailing slash, else the one derived from the
    /// listen address. Only a database's first start adopts it: after that the instance's
    /// recorded base URL is the one in use (`reetrace admin instance show`).
    pub fn public_base_url(&self) -> String {
        match &self.public_base_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => self.derived_base_url(),
        }
    }

    /// `http://<listen>` (`https://` when serving TLS): the base URL a first start adopts when
    /// none is configured.
    pub fn derived_base_url(&self) -> String {
        let scheme = if self.tls_cert.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.listen)
    }
}

fn merge(into: &mut toml::Table, from: toml::Table) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(toml::Value::Table(existing)), toml::Value::Table(incoming)) => {
                merge(existing, incoming)
            }
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

fn set(table: &mut toml::Table, key: &[&str], value: toml::Value) {
    match key {
        [] => {}
        [last] => {
            table.insert((*last).to_owned(), value);
        }
        [first, rest @ ..] => {
            let entry = table
                .entry((*first).to_owned())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(inner) = entry {
                set(inner, rest, value);
            }
        }
    }
}

/// Where a relative path in the config is resolved.
pub fn resolve(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_owned())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_are_the_embedded_setup() {
        let (config, warnings) = Config::from_layers(None, &[], &Overrides::default()).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.database_url.expose(), "sqlite://reetrace.db");
        assert_eq!(config.public_base_url(), "http://127.0.0.1:8080");
        assert!(warnings.is_empty());
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("reetrace.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:9000\"\nbody_limit_bytes = 2048\n[rate_limit]\nper_second = 5\n",
        )
        .unwrap();
        let vars = env(&[
            ("REETRACE_RATE_LIMIT_BURST", "50"),
            ("REETRACE_LISTEN", "127.0.0.1:9100"),
            ("REETRACE_LISTN", "typo"),
            ("HOME", "/root"),
        ]);
        let overrides = Overrides {
            listen: None,
            tls_cert: None,
            tls_key: None,
            database_url: Some("postgres://postgres@localhost/x".into()),
            services: None,
        };
        let (config, warnings) = Config::from_layers(Some(&file), &vars, &overrides).unwrap();
        assert_eq!(
            config.listen.to_string(),
            "127.0.0.1:9100",
            "env beats file"
        );
        assert_eq!(config.body_limit_bytes, 2048, "file beats defaults");
        assert_eq!(
            config.rate_limit,
            RateLimit {
                per_second: 5,
                burst: 50
            }
        );
        assert_eq!(
            config.database_url.expose(),
            "postgres://postgres@localhost/x",
            "flag beats all"
        );
        assert_eq!(
            warnings,
            vec!["unknown environment variable REETRACE_LISTN is ignored"]
        );
    }

    #[test]
    fn the_audit_retention_is_two_years_unless_configured() {
        let (config, _) = Config::from_layers(None, &[], &Overrides::default()).unwrap();
        assert_eq!(config.audit_retention_days, 730);
        let (config, _) = Config::from_layers(
            None,
            &env(&[("REETRACE_AUDIT_RETENTION_DAYS", "3650")]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(config.audit_retention_days, 3650);
        let err = Config::from_layers(
            None,
            &env(&[("REETRACE_AUDIT_RETENTION_DAYS", "0")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("AUDIT_RETENTION_DAYS"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        let err = Config::from_layers(
            None,
            &env(&[("REETRACE_BODY_LIMIT_BYTES", "lots")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("REETRACE_BODY_LIMIT_BYTES"),
            "{err}"
        );
        let err = Config::from_layers(
            None,
            &env(&[("REETRACE_DATABASE_URL", "mysql://x")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("database_url"), "{err}");
    }

    #[test]
    fn crma_dates_default_to_the_law_and_take_the_environment() {
        let (config, _) = Config::from_layers(None, &[], &Overrides::default()).unwrap();
        assert_eq!(config.crma.art28_from, None);
        assert_eq!(config.crma.art29_from.to_string(), "2027-05-24");
        let vars = env(&[
            ("REETRACE_CRMA_ART28_FROM", "2028-03-01"),
            ("REETRACE_CRMA_ART29_FROM", "2028-01-01"),
        ]);
        let (config, warnings) = Config::from_layers(None, &vars, &Overrides::default()).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(config.crma.art28_from.unwrap().to_string(), "2028-03-01");
        assert_eq!(config.crma.art29_from.to_string(), "2028-01-01");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("reetrace.toml");
        std::fs::write(&file, "[crma]\nart28_from = \"2028-03-01\"\n").unwrap();
        let (config, _) = Config::from_layers(Some(&file), &[], &Overrides::default()).unwrap();
        assert_eq!(config.crma.art28_from.unwrap().to_string(), "2028-03-01");
        assert_eq!(
            config.crma.art28_vehicles_from.unwrap().to_string(),
            "2029-05-24",
            "the file sets one date, the others keep their defaults"
        );
        let vars = env(&[("REETRACE_CRMA_ART29_FROM", "soon")]);
        let err = Config::from_layers(None, &vars, &Overrides::default()).unwrap_err();
        assert!(format!("{err:#}").contains("art29_from"), "{err:#}");
    }

    #[test]
    fn tls_takes_a_certificate_and_its_key_or_neither() {
        let (config, _) = Config::from_layers(None, &[], &Overrides::default()).unwrap();
        assert_eq!((config.tls_cert, config.tls_key), (None, None));
        let vars = env(&[
            ("REETRACE_TLS_CERT", "/etc/reetrace/cert.pem"),
            ("REETRACE_TLS_KEY", "/etc/reetrace/key.pem"),
        ]);
        let (config, warnings) = Config::from_layers(None, &vars, &Overrides::default()).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(config.tls_key, Some(PathBuf::from("/etc/reetrace/key.pem")));
        assert_eq!(config.public_base_url(), "https://127.0.0.1:8080");
        let flag = Overrides {
            tls_cert: Some(PathBuf::from("lan-cert.pem")),
            ..Overrides::default()
        };
        let (config, _) = Config::from_layers(None, &vars, &flag).unwrap();
        assert_eq!(
            config.tls_cert,
            Some(PathBuf::from("lan-cert.pem")),
            "flag beats env"
        );
        let err = Config::from_layers(None, &vars[..1], &Overrides::default()).unwrap_err();
        assert!(
            err.to_string()
                .contains("--tls-key (REETRACE_TLS_KEY) is not"),
            "{err}"
        );
        let err = Config::from_layers(None, &vars[1..], &Overrides::default()).unwrap_err();
        assert!(
            err.to_string()
                .contains("--tls-cert (REETRACE_TLS_CERT) is not"),
            "{err}"
        );
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let (config, _) = Config::from_layers(
            None,
            &env(&[("REETRACE_DATABASE_URL", "postgres://u:hunter2@h/db")]),
            &Overrides::default(),
        )
        .unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
