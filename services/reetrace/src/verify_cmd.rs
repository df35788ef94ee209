//! `reetrace verify FILE`: checks a credential as `POST /credentials/verify` does, with the
//! same verifier, and prints the same report. The file holds a credential with its embedded
//! proof, an `EnvelopedVerifiableCredential`, or a compact JWS (`application/vc+jwt`) as text. Offline by default: `did:key` needs nothing,
//! a `did:web` needs its DID document (`--did-doc`), status needs the lists (`--status-list`);
//! `--online BASE_URL` fetches both from that reetrace instance (and from nowhere else).
//!
//! Exit status: 0 verified, 1 not verified, 2 the input could not be read.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use async_trait::async_trait;
use clap::Args;
use reetrace_core::domain::issuing::did::org_did;
use reetrace_passport::client::lookup::{DID_DOCUMENT_LIMIT, Fetcher, STATUS_LIST_LIMIT};
use reetrace_passport::verify::{
    CredentialVerifier, DidKeys, DidResolver, StatusListSource, VerifyCache,
};
use serde_json::Value;
use uuid::Uuid;

use crate::cli::print_out;

/// Arguments of `reetrace verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The credential (JSON with its proof, an EnvelopedVerifiableCredential, or a compact JWS
    /// as text), or `-` for standard input.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// A DID document (JSON) that resolves its `did:web` offline; repeatable.
    #[arg(long = "did-doc", value_name = "FILE")]
    did_docs: Vec<PathBuf>,
    /// A status list credential (JSON) to check status offline; repeatable.
    #[arg(long = "status-list", value_name = "FILE")]
    status_lists: Vec<PathBuf>,
    /// Fetch DID documents and status lists from this reetrace instance (its public base URL).
    #[arg(long, value_name = "BASE_URL")]
    online: Option<String>,
}

/// Runs `reetrace verify`.
pub async fn run(args: VerifyArgs) -> ExitCode {
    match verify(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "error: {err:#}");
            ExitCode::from(2)
        }
    }
}

async fn verify(args: VerifyArgs) -> anyhow::Result<bool> {
    let text = read_text(&args.file)?;
    // A compact JWS is three base64url parts; JSON starts with `{`.
    let compact = text.trim();
    let credential = if !compact.starts_with('{') && compact.split('.').count() == 3 {
        serde_json::json!({
            "@context": "https://www.w3.org/ns/credentials/v2",
            "type": "EnvelopedVerifiableCredential",
            "id": format!("{}{compact}", reetrace_core::crypto::jose::DATA_URL_PREFIX),
        })
    } else {
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON (nor a compact JWS)", args.file.display()))?
    };
    let mut sources = FileSources::default();
    for path in &args.did_docs {
        let document = read_json(path)?;
        let Some(id) = document.get("id").and_then(Value::as_str) else {
            bail!("{} is not a DID document (no id)", path.display());
        };
        sources.documents.insert(id.to_owned(), document);
    }
    for path in &args.status_lists {
        let list = read_json(path)?;
        let Some(id) = list.get("id").and_then(Value::as_str) else {
            bail!(
                "{} is not a status list credential (no id: its URL)",
                path.display()
            );
        };
        sources.lists.insert(id.to_owned(), list);
    }
    if let Some(base) = &args.online {
        sources.online = Some(Online::new(base)?);
    }
    let cache = VerifyCache::default();
    let result = CredentialVerifier {
        resolver: &sources,
        status: &sources,
        cache: &cache,
    }
    .verify(&credential, reetrace_core::domain::account::now())
    .await;
    let text = serde_json::to_string_pretty(&result).context("encode the report")?;
    print_out(&text)?;
    Ok(result.verified)
}

fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text = read_text(path)?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    Ok(if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("read standard input")?;
        text
    } else {
        std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?
    })
}

/// The DID documents and status lists given as files, and the instance `--online` names.
#[derive(Default)]
struct FileSources {
    documents: HashMap<String, Value>,
    lists: HashMap<String, Value>,
    online: Option<Online>,
}

/// One reetrace instance: its organisations' DIDs and its status lists.
struct Online {
    base: String,
    did_prefix: String,
    list_prefix: String,
    fetcher: Fetcher,
}

impl Online {
    fn new(base: &str) -> anyhow::Result<Online> {
        let base = base.trim_end_matches('/').to_owned();
        let url = url::Url::parse(&base).with_context(|| format!("--online {base:?}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            bail!("--online takes an http(s) URL, not {base:?}");
        }
        let nil = Uuid::nil().to_string();
        let own = org_did(&base, Uuid::nil());
        Ok(Online {
            did_prefix: own.strip_suffix(&nil).unwrap_or(&own).to_owned(),
            list_prefix: format!("{base}/status-lists/"),
            fetcher: Fetcher::new().map_err(anyhow::Error::msg)?,
            base,
        })
    }

    /// The organisation of a DID of this instance.
    fn org(&self, did: &str) -> Option<Uuid> {
        let rest = did.strip_prefix(&self.did_prefix)?;
        let org: Uuid = rest.parse().ok()?;
        (org.to_string() == rest).then_some(org)
    }
}

#[async_trait]
impl DidResolver for FileSources {
    async fn resolve(&self, did: &str) -> Result<DidKeys, String> {
        if let Some(document) = self.documents.get(did) {
            return DidKeys::from_document(did, document);
        }
        match &self.online {
            Some(online) => match online.org(did) {
                Some(org) => {
                    let url = format!("{}/orgs/{org}/did.json", online.base);
                    let document = online.fetcher.json(&url, DID_DOCUMENT_LIMIT).await?;
                    DidKeys::from_document(did, &document)
                }
                None => Err(format!(
                    "issuer not resolvable: {did} is not an organisation of {}",
                    online.base
                )),
            },
            None => Err(format!(
                "issuer not resolvable offline: give the DID document of {did} with --did-doc FILE, or use --online BASE_URL"
            )),
        }
    }
}

#[async_trait]
impl StatusListSource for FileSources {
    async fn status_list(&self, url: &str) -> Result<Option<Value>, String> {
        if let Some(list) = self.lists.get(url) {
            return Ok(Some(list.clone()));
        }
        match &self.online {
            Some(online) if url.starts_with(&online.list_prefix) => {
                online.fetcher.json(url, STATUS_LIST_LIMIT).await.map(Some)
            }
            Some(online) => Err(format!(
                "the status list {url} is not served by {}",
                online.base
            )),
            None => Ok(None),
        }
    }
}
