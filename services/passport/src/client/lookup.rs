//! Fetching DID documents and status lists of other hosts over HTTP(S), for the verifier: only
//! from where the caller allows (the did:web allowlist, or the one instance a
//! `reetrace verify --online` names), with a short timeout, no redirects (they could leave the
//! allowed host) and a bound on the body size.

use std::time::Duration;

use serde_json::Value;

/// Whole-request timeout of a fetch.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Connection timeout of a fetch.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Largest DID document we read.
pub const DID_DOCUMENT_LIMIT: usize = 64 * 1024;
/// Largest status list credential we read (a 131,072-entry list gzips to a few hundred bytes;
/// a busy 16-million-entry one stays well under this).
pub const STATUS_LIST_LIMIT: usize = 2 * 1024 * 1024;

/// An HTTP client for verifier lookups.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
}

impl Fetcher {
    /// A client with the verifier's timeouts and no redirects.
    pub fn new() -> Result<Fetcher, String> {
        super::install_crypto_provider();
        reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("reetrace-verifier/", env!("CARGO_PKG_VERSION")))
            .build()
            .map(|client| Fetcher { client })
            .map_err(|e| format!("cannot build the HTTP client: {e}"))
    }

    /// GETs `url` as JSON, refusing bodies over `limit` bytes.
    pub async fn json(&self, url: &str, limit: usize) -> Result<Value, String> {
        let failed = |e: &dyn std::fmt::Display| format!("cannot fetch {url}: {e}");
        let mut response = self
            .client
            .get(url)
            .header(
                reqwest::header::ACCEPT,
                "application/did+json, application/json",
            )
            .send()
            .await
            .map_err(|e| failed(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(failed(&format!("HTTP {status}")));
        }
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(failed(&format!("the body exceeds {limit} bytes")));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| failed(&e))? {
            if body.len() + chunk.len() > limit {
                return Err(failed(&format!("the body exceeds {limit} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| failed(&format!("not JSON: {e}")))
    }
}

/// Hosts (`name` or `name:port`, as in a did:web) whose documents may be fetched.
#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    hosts: Vec<String>,
}

impl Allowlist {
    pub fn new<S: AsRef<str>>(hosts: &[S]) -> Self {
        Self {
            hosts: hosts
                .iter()
                .map(|h| h.as_ref().trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        }
    }

    /// Whether `host` (a did:web host, port decoded) is listed.
    pub fn allows_host(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.hosts.contains(&host)
    }

    /// Whether `url` is an `https` URL of a listed host.
    pub fn allows_url(&self, url: &str) -> bool {
        let Ok(url) = url::Url::parse(url) else {
            return false;
        };
        if url.scheme() != "https" || !url.username().is_empty() || url.password().is_some() {
            return false;
        }
        let Some(host) = url.host_str() else {
            return false;
        };
        match url.port() {
            Some(port) => self.allows_host(&format!("{host}:{port}")),
            None => self.allows_host(host),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn the_allowlist_matches_hosts_and_https_urls_only() {
        let list = Allowlist::new(&["Issuer.example", "other.example:8443", " "]);
        assert!(list.allows_host("issuer.example"));
        assert!(list.allows_host("other.example:8443"));
        assert!(!list.allows_host("other.example"));
        assert!(!list.allows_host("evil.example"));
        assert!(list.allows_url("https://issuer.example/status/1"));
        assert!(list.allows_url("https://other.example:8443/s"));
        assert!(
            !list.allows_url("http://issuer.example/status/1"),
            "https only"
        );
        assert!(!list.allows_url("https://issuer.example.evil.example/s"));
        assert!(!list.allows_url("https://user@issuer.example/s"));
        assert!(!list.allows_url("not a url"));
    }

    /// Serves one canned HTTP answer on a loopback port.
    async fn serve_once(body: Vec<u8>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 1024];
            let _ = socket.read(&mut request).await;
            let head =
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n";
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(&body).await;
        });
        format!("http://{address}/doc.json")
    }

    #[tokio::test]
    async fn fetches_json_within_the_size_limit_only() {
        let fetcher = Fetcher::new().unwrap();
        let url = serve_once(br#"{"id": "did:web:x"}"#.to_vec()).await;
        assert_eq!(fetcher.json(&url, 1024).await.unwrap()["id"], "did:web:x");

        // No Content-Length: the limit is enforced while reading.
        let big = format!("{{\"pad\": \"{}\"}}", "a".repeat(10_000)).into_bytes();
        let url = serve_once(big).await;
        let err = fetcher.json(&url, 1024).await.unwrap_err();
        assert!(err.contains("exceeds 1024 bytes"), "{err}");

        let url = serve_once(b"<html>".to_vec()).await;
        assert!(
            fetcher
                .json(&url, 1024)
                .await
                .unwrap_err()
                .contains("not JSON")
        );
    }
}
