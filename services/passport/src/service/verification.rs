//! Verifying credentials on the server: the verifier ([`crate::verify`]) with our own
//! organisations' keys and status lists from the store (never over the network), other
//! `did:web` issuers only when their host is on the allowlist.

use async_trait::async_trait;
use reetrace_core::crypto::VerifyingKey;
use reetrace_core::domain::issuing::did;
use reetrace_core::service::issuing::IssuingError;
use serde_json::Value;
use uuid::Uuid;

use super::PassportService;
use crate::client::lookup::{Allowlist, DID_DOCUMENT_LIMIT, Fetcher, STATUS_LIST_LIMIT};
use crate::verify::{
    CredentialVerifier, DidKeys, DidResolver, StatusListSource, VerificationResult, VerifyCache,
};

/// What the server's verifier keeps between requests.
#[derive(Debug)]
pub struct VerifyContext {
    cache: VerifyCache,
    allowlist: Allowlist,
    /// `None` when no client could be built; remote issuers are then unresolvable.
    fetcher: Option<Fetcher>,
    /// `did:web:<our host>[:<path>]:orgs:`: the DIDs of our own organisations, under the
    /// current base URL and each former one.
    own_did_prefixes: Vec<String>,
    /// `(<base URL>/status-lists/, base URL)`: our own status lists, current and former.
    own_list_prefixes: Vec<(String, String)>,
}

impl VerifyContext {
    /// The context for an instance at `base_url` (formerly at `aliases`) that may fetch from
    /// `allowlist`.
    pub fn new(base_url: &str, aliases: &[String], allowlist: &[String]) -> Self {
        let nil = Uuid::nil().to_string();
        let bases: Vec<&str> = std::iter::once(base_url)
            .chain(aliases.iter().map(String::as_str))
            .collect();
        let fetcher = Fetcher::new()
            .inspect_err(|e| tracing::warn!(error = %e, "remote did:web resolution disabled"))
            .ok();
        Self {
            cache: VerifyCache::default(),
            allowlist: Allowlist::new(allowlist),
            fetcher,
            own_did_prefixes: bases
                .iter()
                .map(|base| {
                    let own = did::org_did(base, Uuid::nil());
                    own.strip_suffix(&nil).unwrap_or(&own).to_owned()
                })
                .collect(),
            own_list_prefixes: bases
                .iter()
                .map(|base| (format!("{base}/status-lists/"), (*base).to_owned()))
                .collect(),
        }
    }

    /// The verifier's cache (cleared of status lists when a status changes here).
    pub fn cache(&self) -> &VerifyCache {
        &self.cache
    }

    /// The organisation of one of our own DIDs: our host and path, then `orgs:<uuid>`.
    fn own_org(&self, did: &str) -> Option<Uuid> {
        self.own_did_prefixes.iter().find_map(|prefix| {
            let rest = did.strip_prefix(prefix.as_str())?;
            let org_id: Uuid = rest.parse().ok()?;
            // Only the spelling we issue: Uuid also parses braced, simple and urn forms.
            (org_id.to_string() == rest).then_some(org_id)
        })
    }

    /// The id of one of our own status lists, and the base URL it was issued under.
    fn own_list<'u>(&self, url: &'u str) -> Option<(&'u str, &str)> {
        self.own_list_prefixes.iter().find_map(|(prefix, base)| {
            url.strip_prefix(prefix.as_str())
                .filter(|id| !id.is_empty() && id.len() <= 64 && !id.contains(['/', '#', '?']))
                .map(|id| (id, base.as_str()))
        })
    }
}

impl PassportService {
    /// Verifies a credential: its proof, issuer, validity period and status.
    pub async fn verify_credential(&self, credential: &Value) -> VerificationResult {
        let sources = ServerSources { service: self };
        CredentialVerifier {
            resolver: &sources,
            status: &sources,
            cache: &self.verify.cache,
        }
        .verify(credential, reetrace_core::domain::account::now())
        .await
    }

    /// Tells the verifier that status bits changed, so it reads the lists again.
    pub(crate) fn status_changed(&self) {
        self.verify.cache.forget_status_lists();
    }
}

struct ServerSources<'a> {
    service: &'a PassportService,
}

impl ServerSources<'_> {
    fn context(&self) -> &VerifyContext {
        &self.service.verify
    }

    fn fetcher(&self) -> Result<&Fetcher, String> {
        self.context()
            .fetcher
            .as_ref()
            .ok_or_else(|| "remote lookups are unavailable on this server".to_owned())
    }

    async fn own_keys(&self, did: &str, org_id: Uuid) -> Result<DidKeys, String> {
        let rows = self.service.issuing().org_keys(org_id).await.map_err(|e| {
            tracing::error!(error = %e, %org_id, "cannot read signing keys to verify");
            "the issuer's keys cannot be read right now".to_owned()
        })?;
        if rows.is_empty() {
            return Err(format!(
                "issuer {did} is not an organisation of this instance"
            ));
        }
        let methods = rows
            .into_iter()
            .filter(|row| row.revoked_at.is_none())
            .filter_map(|row| {
                let bytes: [u8; 32] = row.public_key.as_slice().try_into().ok()?;
                let key = VerifyingKey::from_bytes(&bytes).ok()?;
                Some((format!("{did}#{}", row.id), key))
            })
            .collect();
        Ok(DidKeys::new(did, methods))
    }
}

#[async_trait]
impl DidResolver for ServerSources<'_> {
    async fn resolve(&self, did: &str) -> Result<DidKeys, String> {
        if let Some(org_id) = self.context().own_org(did) {
            return self.own_keys(did, org_id).await;
        }
        let allowed =
            did::did_web_host(did).is_some_and(|h| self.context().allowlist.allows_host(&h));
        if !allowed {
            return Err(format!(
                "issuer not resolvable (host not on the allowlist): {did}"
            ));
        }
        let url = did::did_web_url(did)
            .ok_or_else(|| format!("issuer not resolvable: {did} is not a valid did:web"))?;
        let document = self.fetcher()?.json(&url, DID_DOCUMENT_LIMIT).await?;
        DidKeys::from_document(did, &document)
    }
}

#[async_trait]
impl StatusListSource for ServerSources<'_> {
    async fn status_list(&self, url: &str) -> Result<Option<Value>, String> {
        if let Some((list_id, base)) = self.context().own_list(url) {
            let text = self
                .service
                .issuing()
                .status_list_credential_at(list_id, base)
                .await
                .map_err(|err| match err {
                    IssuingError::NoStatusList(_) => format!("no status list {url}"),
                    other => {
                        tracing::error!(error = %other, %url, "cannot read a status list to verify");
                        format!("the status list {url} cannot be read right now")
                    }
                })?;
            return serde_json::from_str(&text)
                .map(Some)
                .map_err(|_| format!("the status list {url} is not JSON"));
        }
        if !self.context().allowlist.allows_url(url) {
            return Err(format!(
                "status list not resolvable (host not on the allowlist): {url}"
            ));
        }
        self.fetcher()?.json(url, STATUS_LIST_LIMIT).await.map(Some)
    }
}
