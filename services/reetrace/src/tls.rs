//! HTTPS: the certificate and key of `--tls-cert`/`--tls-key`, loaded once at start.
//!
//! Phones need a secure context for the camera and for service workers, and a secure context
//! off `localhost` means HTTPS. The certificate and key are checked before anything else starts:
//! a file that cannot be read, holds no PEM item of its kind, or a key that does not belong to
//! the certificate stops the start with the file named.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use rustls::ServerConfig;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::Config;

/// The acceptor of the configured certificate and key; `None` for plain HTTP (the
/// configuration has checked that both or neither are set).
pub fn configured(config: &Config) -> anyhow::Result<Option<TlsAcceptor>> {
    match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => acceptor(cert, key).map(Some),
        _ => Ok(None),
    }
}

/// The acceptor for `cert` (a PEM chain, the server's certificate first) and `key` (its PEM
/// private key: PKCS#8, PKCS#1 or SEC1), with the ring provider and TLS 1.2 and 1.3.
pub fn acceptor(cert: &Path, key: &Path) -> anyhow::Result<TlsAcceptor> {
    let chain = certificates(cert)?;
    let private_key = private_key(key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(|err| match err {
            rustls::Error::InconsistentKeys(_) => anyhow!(
                "TLS key {} does not match the certificate {} (its public key is another one)",
                key.display(),
                cert.display()
            ),
            rustls::Error::InvalidCertificate(why) => {
                anyhow!("TLS certificate {}: not usable: {why:?}", cert.display())
            }
            other => anyhow!(
                "TLS key {}: not usable with the certificate {}: {other}",
                key.display(),
                cert.display()
            ),
        })?;
    // The connection speaks HTTP/2 or HTTP/1.1, whichever the client chose.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn certificates(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let text = std::fs::read(path)
        .with_context(|| format!("TLS certificate {}: cannot read it", path.display()))?;
    let chain = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| anyhow!("TLS certificate {}: not PEM: {err}", path.display()))?;
    if chain.is_empty() {
        return Err(anyhow!(
            "TLS certificate {}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(chain)
}

fn private_key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    let text = std::fs::read(path)
        .with_context(|| format!("TLS key {}: cannot read it", path.display()))?;
    PrivateKeyDer::from_pem_slice(&text).map_err(|err| match err {
        pem::Error::NoItemsFound => anyhow!(
            "TLS key {}: holds no PEM private key (-----BEGIN PRIVATE KEY-----, or an RSA or EC \
             one)",
            path.display()
        ),
        other => anyhow!("TLS key {}: not PEM: {other}", path.display()),
    })
}
