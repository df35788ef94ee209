//! The `REETRACE_*` environment variables and the config key each sets.

/// How an environment value is typed before it joins the TOML table.
#[derive(Clone, Copy)]
pub(super) enum Kind {
    Str,
    Int,
    /// Comma-separated.
    List,
}

/// The environment variables we read, and the config key each sets.
pub(super) const ENV_KEYS: &[(&str, &[&str], Kind)] = &[
    ("REETRACE_LISTEN", &["listen"], Kind::Str),
    ("REETRACE_TLS_CERT", &["tls_cert"], Kind::Str),
    ("REETRACE_TLS_KEY", &["tls_key"], Kind::Str),
    ("REETRACE_DATABASE_URL", &["database_url"], Kind::Str),
    ("REETRACE_PUBLIC_BASE_URL", &["public_base_url"], Kind::Str),
    ("REETRACE_LOG_FORMAT", &["log_format"], Kind::Str),
    (
        "REETRACE_BODY_LIMIT_BYTES",
        &["body_limit_bytes"],
        Kind::Int,
    ),
    (
        "REETRACE_BULK_BODY_LIMIT_BYTES",
        &["bulk_body_limit_bytes"],
        Kind::Int,
    ),
    ("REETRACE_BULK_IN_FLIGHT", &["bulk_in_flight"], Kind::Int),
    (
        "REETRACE_DB_MAX_CONNECTIONS",
        &["db_max_connections"],
        Kind::Int,
    ),
    (
        "REETRACE_RATE_LIMIT_PER_SECOND",
        &["rate_limit", "per_second"],
        Kind::Int,
    ),
    (
        "REETRACE_RATE_LIMIT_BURST",
        &["rate_limit", "burst"],
        Kind::Int,
    ),
    (
        "REETRACE_ADDRESS_RATE_LIMIT_PER_SECOND",
        &["address_rate_limit", "per_second"],
        Kind::Int,
    ),
    (
        "REETRACE_ADDRESS_RATE_LIMIT_BURST",
        &["address_rate_limit", "burst"],
        Kind::Int,
    ),
    (
        "REETRACE_FAILED_AUTH_RATE_LIMIT_PER_SECOND",
        &["failed_auth_rate_limit", "per_second"],
        Kind::Int,
    ),
    (
        "REETRACE_FAILED_AUTH_RATE_LIMIT_BURST",
        &["failed_auth_rate_limit", "burst"],
        Kind::Int,
    ),
    (
        "REETRACE_SCAN_RATE_LIMIT_PER_SECOND",
        &["scan_rate_limit", "per_second"],
        Kind::Int,
    ),
    (
        "REETRACE_SCAN_RATE_LIMIT_BURST",
        &["scan_rate_limit", "burst"],
        Kind::Int,
    ),
    ("REETRACE_TRUSTED_PROXIES", &["trusted_proxies"], Kind::List),
    ("REETRACE_MASTER_KEY", &["master_key"], Kind::Str),
    ("REETRACE_MASTER_KEY_FILE", &["master_key_file"], Kind::Str),
    (
        "REETRACE_DID_WEB_ALLOWLIST",
        &["did_web_allowlist"],
        Kind::List,
    ),
    ("REETRACE_SERVICES", &["services"], Kind::List),
    ("REETRACE_PASSPORT_URL", &["passport_url"], Kind::Str),
    ("REETRACE_CUSTODY_URL", &["custody_url"], Kind::Str),
    ("REETRACE_DEPOSITS_URL", &["deposits_url"], Kind::Str),
    ("REETRACE_STOCK_URL", &["stock_url"], Kind::Str),
    ("REETRACE_SERVICE_KEY", &["service_key"], Kind::Str),
    ("REETRACE_DISCLOSURE_K", &["disclosure_k"], Kind::Int),
    (
        "REETRACE_RESERVATION_CAP_PERCENT",
        &["reservation_cap_percent"],
        Kind::Int,
    ),
    (
        "REETRACE_RESOLVER_CACHE_MS",
        &["resolver_cache_ms"],
        Kind::Int,
    ),
    (
        "REETRACE_AUDIT_RETENTION_DAYS",
        &["audit_retention_days"],
        Kind::Int,
    ),
    (
        "REETRACE_IDEMPOTENCY_RETENTION_HOURS",
        &["idempotency_retention_hours"],
        Kind::Int,
    ),
    (
        "REETRACE_CRMA_ART28_FROM",
        &["crma", "art28_from"],
        Kind::Str,
    ),
    (
        "REETRACE_CRMA_ART28_VEHICLES_FROM",
        &["crma", "art28_vehicles_from"],
        Kind::Str,
    ),
    (
        "REETRACE_CRMA_ART29_FROM",
        &["crma", "art29_from"],
        Kind::Str,
    ),
    (
        "REETRACE_MAX_CONNECTIONS",
        &["connections", "max"],
        Kind::Int,
    ),
    (
        "REETRACE_HEADER_READ_TIMEOUT_MS",
        &["connections", "header_read_timeout_ms"],
        Kind::Int,
    ),
    (
        "REETRACE_IDLE_TIMEOUT_MS",
        &["connections", "idle_timeout_ms"],
        Kind::Int,
    ),
    (
        "REETRACE_MAX_URI_BYTES",
        &["connections", "max_uri_bytes"],
        Kind::Int,
    ),
    (
        "REETRACE_MAX_HEADER_BYTES",
        &["connections", "max_header_bytes"],
        Kind::Int,
    ),
    (
        "REETRACE_MAX_HEADERS",
        &["connections", "max_headers"],
        Kind::Int,
    ),
];

/// `REETRACE_*` variables that are not config keys but are known (not typos).
pub(super) const OTHER_ENV: &[&str] = &[
    "REETRACE_CONFIG",
    "REETRACE_LOG",
    "REETRACE_TEST_POSTGRES_URL",
];

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::{Config, Overrides};

    #[test]
    fn idempotent_answers_are_kept_three_days_unless_configured_never_under_a_day() {
        let retention = |v: &str| {
            let vars = vec![(
                "REETRACE_IDEMPOTENCY_RETENTION_HOURS".to_owned(),
                v.to_owned(),
            )];
            Config::from_layers(None, &vars, &Overrides::default())
                .map(|(c, _)| c.idempotency_retention_hours)
                .map_err(|e| e.to_string())
        };
        let (config, _) = Config::from_layers(None, &[], &Overrides::default()).unwrap();
        assert_eq!(config.idempotency_retention_hours, 72);
        assert_eq!(retention("24"), Ok(24));
        assert_eq!(retention("720"), Ok(720));
        let err = retention("23").unwrap_err();
        assert!(
            err.contains("IDEMPOTENCY_RETENTION_HOURS") && err.contains("24"),
            "{err}"
        );
    }
}
