//! The instance's identity: the public base URL everything it issues is named under (issuer
//! DIDs, credential and status list ids, product URIs, the custody log's origin), recorded on
//! the first start. A base URL is part of every signed credential, so it may not change by
//! accident (a restored backup served at another host, a changed `--listen`): a start with
//! another one is refused, and a deliberate move keeps the old URL as an alias under which
//! what was issued keeps resolving and verifying.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// What the instance recorded about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceIdentity {
    /// The public base URL new things are issued under, without a trailing slash.
    pub public_base_url: String,
    /// The custody log's origin, which is also the name of its signing key. It stays when the
    /// instance moves: a log keeps one name for life.
    pub log_origin: String,
    /// Former base URLs (oldest first): still accepted as our own.
    pub aliases: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub moved_at: Option<DateTime<Utc>>,
}

impl InstanceIdentity {
    /// The current base URL, then the aliases.
    pub fn base_urls(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.public_base_url.as_str())
            .chain(self.aliases.iter().map(String::as_str))
    }
}

/// A base URL as it is stored and compared: without a trailing slash.
pub fn normalize_base_url(url: &str) -> String {
    url.trim_end_matches('/').to_owned()
}

/// The `host[:port]` a request for `base_url` carries in its `Host` header (the port only when
/// it is not the scheme's default), lowercased; `None` when it is not an http(s) URL.
pub fn authority_of(base_url: &str) -> Option<String> {
    let url = url::Url::parse(base_url).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

/// Why a start with a configured base URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "this database belongs to the instance at {stored}, but public_base_url \
     (REETRACE_PUBLIC_BASE_URL) is {configured}: every credential, DID and custody identifier \
     it holds names {stored}. Configure {stored} (or leave public_base_url unset), or move the \
     instance deliberately with `reetrace admin instance move --to {configured}` (the old URL \
     stays an alias that keeps resolving and verifying)"
)]
pub struct BaseUrlMoved {
    pub stored: String,
    pub configured: String,
}

/// The base URL a start runs under: the stored one, which a configured URL must equal; the
/// configured or else the `derived` one (from the listen address) for a database that has no
/// identity yet.
pub fn base_url_for_start(
    stored: Option<&InstanceIdentity>,
    configured: Option<&str>,
    derived: &str,
) -> Result<String, BaseUrlMoved> {
    let configured = configured.map(normalize_base_url);
    match (stored, configured) {
        (Some(stored), Some(configured)) if configured != stored.public_base_url => {
            Err(BaseUrlMoved {
                stored: stored.public_base_url.clone(),
                configured,
            })
        }
        (Some(stored), _) => Ok(stored.public_base_url.clone()),
        (None, Some(configured)) => Ok(configured),
        (None, None) => Ok(normalize_base_url(derived)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn identity(url: &str) -> InstanceIdentity {
        InstanceIdentity {
            public_base_url: url.into(),
            log_origin: "a.example/custody-log".into(),
            aliases: vec!["http://old.example".into()],
            created_at: Utc::now(),
            moved_at: None,
        }
    }

    #[test]
    fn the_stored_url_wins_and_another_configured_one_is_refused() {
        let stored = identity("https://a.example");
        assert_eq!(
            base_url_for_start(Some(&stored), None, "http://127.0.0.1:8081").unwrap(),
            "https://a.example"
        );
        assert_eq!(
            base_url_for_start(Some(&stored), Some("https://a.example/"), "x").unwrap(),
            "https://a.example"
        );
        let refused =
            base_url_for_start(Some(&stored), Some("https://b.example"), "x").unwrap_err();
        let text = refused.to_string();
        assert!(text.contains("https://a.example") && text.contains("https://b.example"));
        assert!(text.contains("reetrace admin instance move --to https://b.example"));
        // An alias is a former URL, not the current one.
        assert!(base_url_for_start(Some(&stored), Some("http://old.example"), "x").is_err());
    }

    #[test]
    fn a_fresh_database_adopts_the_configured_or_derived_url() {
        assert_eq!(
            base_url_for_start(None, Some("https://b.example/"), "http://x").unwrap(),
            "https://b.example"
        );
        assert_eq!(
            base_url_for_start(None, None, "http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
    }

    #[test]
    fn authorities_are_what_a_host_header_says() {
        assert_eq!(
            authority_of("http://127.0.0.1:8081").unwrap(),
            "127.0.0.1:8081"
        );
        assert_eq!(authority_of("https://P.Example/base").unwrap(), "p.example");
        assert_eq!(authority_of("https://p.example:443").unwrap(), "p.example");
        assert_eq!(authority_of("not a url"), None);
    }
}
