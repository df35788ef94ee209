//! The passport service's operations: issue (one or many), new versions, status changes, and
//! reads in the caller's tier. Handlers call these; these call the domain and the stores.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use reetrace_core::api::problem::{FieldError, Problem};
use reetrace_core::crypto::{ProofOptions, data_integrity};
use reetrace_core::domain::DigitalLinkPath;
use reetrace_core::domain::account::Org;
use reetrace_core::domain::recycled_content::RecycledClaim;
use reetrace_core::domain::{Principal, Role};
use reetrace_core::service::recycled_content::RecycledClaims;
use reetrace_core::store::accounts::AccountStore;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::credential::{self, Envelope, StatusPurpose, StatusRef};
use crate::domain::did;
use crate::domain::registration::{Granularity, Registration};
use crate::domain::subject::{
    self, ComponentDetails, CredentialSubject, Manufacturer, SubjectContext,
};
use crate::keys::{ActiveKey, Keys};
use crate::store::{IdempotentWrite, NewPassport, PassportRow, PassportStores, VersionRow};

/// Settings of the passport service.
#[derive(Debug, Clone)]
pub struct PassportConfig {
    /// The public base URL, without a trailing slash.
    pub base_url: String,
    /// did:web hosts (besides our own) whose DID documents the verifier may fetch.
    pub did_web_allowlist: Vec<String>,
    /// How long the resolver may serve a product's credential from memory (zero: never).
    pub resolver_cache: std::time::Duration,
}

/// The passport service.
#[derive(Clone)]
pub struct PassportService {
    pub(crate) store: Arc<dyn PassportStores>,
    pub(crate) accounts: Arc<dyn AccountStore>,
    pub(crate) keys: Arc<Keys>,
    pub(crate) config: Arc<PassportConfig>,
    /// The custody service's claim checking, set once the services are composed.
    pub(crate) claims: Arc<std::sync::OnceLock<Arc<dyn RecycledClaims>>>,
    pub(crate) verify: Arc<crate::verify::server::VerifyContext>,
    /// The resolver's credentials in memory (see [`crate::credential_cache`]).
    pub(crate) credentials: Arc<crate::credential_cache::CredentialCache>,
}

impl std::fmt::Debug for PassportService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassportService").finish_non_exhaustive()
    }
}

/// Who may see how much of a passport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Anyone: identity, category, REE totals, dismantling information.
    Public,
    /// Recyclers: plus full component detail.
    Professional,
    /// Regulators: plus full component detail.
    Authority,
    /// The manufacturer: everything, confidential fields included.
    Owner,
}

impl Tier {
    pub fn of(caller: Option<&Principal>, owner: Uuid) -> Tier {
        match caller {
            None => Tier::Public,
            Some(p) if p.org_id == owner => Tier::Owner,
            Some(p) => match p.role {
                Role::Recycler => Tier::Professional,
                Role::Regulator | Role::Admin | Role::Service => Tier::Authority,
                Role::Manufacturer => Tier::Public,
            },
        }
    }

    pub fn sees_components(self) -> bool {
        self >= Tier::Professional
    }
}

/// A passport as a caller of some tier sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PassportView {
    pub id: Uuid,
    /// The product's resolver URL (GS1 Digital Link, or `/p/{id}`).
    pub uri: String,
    pub version: u32,
    pub status: crate::store::PassportStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub granularity: Granularity,
    /// The tier this view was cut for.
    pub tier: Tier,
    /// The issuing organisation.
    pub org_id: Uuid,
    /// The issuer's DID.
    pub issuer: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The signed subject of the current version.
    pub subject: CredentialSubject,
    /// Component detail (professional tiers and the owner); its digest is
    /// `subject.ree_content.components_digest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_details: Option<ComponentDetails>,
    /// The owner's confidential fields (owner only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub confidential: Option<serde_json::Map<String, Value>>,
    pub links: PassportLinks,
}

/// Where to get more.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PassportLinks {
    pub credential: String,
    pub versions: String,
    pub qr_svg: String,
    pub did_document: String,
}

/// The answer to a registration.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Issued {
    pub id: Uuid,
    pub uri: String,
    pub version: u32,
    pub status: crate::store::PassportStatus,
    /// The signed credential.
    #[schema(value_type = Object)]
    pub credential: Value,
}

/// A registration ready to sign: validated, with its identity fixed.
pub(crate) struct Prepared {
    pub registration: Registration,
    pub id: Uuid,
    pub version: u32,
    pub subject_id: String,
    pub model_uri: Option<String>,
    pub previous_version: Option<String>,
}

/// A signed passport version, and the stored row it becomes.
pub(crate) struct Signed {
    pub row: NewPassport,
    pub credential: Value,
}

impl PassportService {
    pub fn new(
        store: Arc<dyn PassportStores>,
        accounts: Arc<dyn AccountStore>,
        keys: Arc<Keys>,
        config: PassportConfig,
    ) -> Self {
        let verify = Arc::new(crate::verify::server::VerifyContext::new(
            &config.base_url,
            &config.did_web_allowlist,
        ));
        let credentials = Arc::new(crate::credential_cache::CredentialCache::new(
            config.resolver_cache,
        ));
        Self {
            store,
            accounts,
            keys,
            credentials,
            config: Arc::new(config),
            claims: Arc::new(std::sync::OnceLock::new()),
            verify,
        }
    }

    /// Connects the custody service that checks recycled-content claims.
    pub fn set_claims(&self, claims: Arc<dyn RecycledClaims>) {
        let _ = self.claims.set(claims);
    }

    /// Claims the recycled content a registration sources from lots, before it is issued;
    /// returns the claim id (to release if the passport is not stored).
    pub(crate) async fn claim_recycled(
        &self,
        org_id: Uuid,
        passport_id: Uuid,
        registration: &Registration,
    ) -> Result<Option<Uuid>, Problem> {
        let mut by_lot: Vec<(
            Uuid,
            Vec<(reetrace_core::domain::Element, reetrace_core::domain::Mass)>,
        )> = Vec::new();
        let mut errors = Vec::new();
        for (i, component) in registration.ree_content.components.iter().enumerate() {
            let Some(recycled) = &component.recycled_content else {
                continue;
            };
            for (k, source) in recycled.sources.iter().enumerate() {
                let Ok(lot) = source.lot.parse::<Uuid>() else {
                    errors.push(FieldError::new(
                        format!("/ree_content/components/{i}/recycled_content/sources/{k}/lot"),
                        "not a lot id of the custody service",
                    ));
                    continue;
                };
                let entry = match by_lot.iter_mut().find(|(l, _)| *l == lot) {
                    Some(entry) => entry,
                    None => {
                        by_lot.push((lot, Vec::new()));
                        by_lot.last_mut().ok_or_else(Problem::internal)?
                    }
                };
                entry
                    .1
                    .extend(source.elements.iter().map(|e| (e.element, e.mass_g)));
            }
        }
        if !errors.is_empty() {
            return Err(Problem::validation(errors));
        }
        if by_lot.is_empty() {
            return Ok(None);
        }
        let claims = self.claims.get().ok_or_else(|| {
            Problem::service_unavailable("Recycled content from lots is checked by the custody service, which is not reachable.")
        })?;
        // Elements named twice for one lot (from two components) add up.
        for (_, elements) in &mut by_lot {
            let mut merged: std::collections::BTreeMap<reetrace_core::domain::Element, i64> =
                Default::default();
            for (e, m) in elements.iter() {
                *merged.entry(*e).or_insert(0) += m.micrograms();
            }
            *elements = merged
                .into_iter()
                .filter_map(|(e, m)| {
                    Some((e, reetrace_core::domain::Mass::from_micrograms(m).ok()?))
                })
                .collect();
        }
        let claim_id = Uuid::now_v7();
        claims
            .claim(&RecycledClaim {
                claim_id,
                passport_id,
                org_id,
                sources: by_lot,
            })
            .await?;
        Ok(Some(claim_id))
    }

    /// Releases claims of passports that were not stored.
    pub(crate) async fn release_claims(&self, claim_ids: impl IntoIterator<Item = Uuid>) {
        let Some(claims) = self.claims.get() else {
            return;
        };
        for id in claim_ids {
            if let Err(err) = claims.release(id).await {
                tracing::warn!(claim = %id, error = %err, "could not release a claim; it lapses on its own");
            }
        }
    }

    pub fn base_url(&self) -> &str {
        &self.config.base_url
    }

    pub fn keys(&self) -> &Arc<Keys> {
        &self.keys
    }

    pub fn store(&self) -> &Arc<dyn PassportStores> {
        &self.store
    }

    /// The DID of an organisation.
    pub fn org_did(&self, org_id: Uuid) -> String {
        did::org_did(&self.config.base_url, org_id)
    }

    /// The resolver URL of a product.
    pub fn product_uri(&self, id: Uuid, registration: &Registration) -> String {
        let p = &registration.product;
        match (p.gtin, registration.granularity) {
            (Some(gtin), Granularity::Item) => match &p.serial {
                Some(serial) => format!(
                    "{}{}",
                    self.config.base_url,
                    DigitalLinkPath::new(gtin).with_serial(serial.clone())
                ),
                None => self.own_uri(id),
            },
            (Some(gtin), Granularity::Batch) => match &p.lot {
                Some(lot) => format!(
                    "{}{}",
                    self.config.base_url,
                    DigitalLinkPath::new(gtin).with_lot(lot.clone())
                ),
                None => self.own_uri(id),
            },
            (Some(gtin), Granularity::Model) => {
                format!("{}{}", self.config.base_url, DigitalLinkPath::new(gtin))
            }
            (None, _) => self.own_uri(id),
        }
    }

    /// The resolver's credentials kept in memory.
    pub fn credentials(&self) -> &crate::credential_cache::CredentialCache {
        &self.credentials
    }

    /// The resolver URL of a stored passport.
    pub fn row_uri(&self, row: &PassportRow) -> String {
        let gtin = row
            .gtin
            .as_deref()
            .and_then(|g| reetrace_core::domain::Gtin::parse(g).ok());
        match (gtin, row.granularity) {
            (Some(gtin), Granularity::Item) => match row
                .serial
                .as_deref()
                .and_then(|s| reetrace_core::domain::SerialNumber::parse(s).ok())
            {
                Some(serial) => format!(
                    "{}{}",
                    self.config.base_url,
                    DigitalLinkPath::new(gtin).with_serial(serial)
                ),
                None => self.own_uri(row.id),
            },
            (Some(gtin), Granularity::Batch) => match row
                .lot
                .as_deref()
                .and_then(|l| reetrace_core::domain::LotNumber::parse(l).ok())
            {
                Some(lot) => format!(
                    "{}{}",
                    self.config.base_url,
                    DigitalLinkPath::new(gtin).with_lot(lot)
                ),
                None => self.own_uri(row.id),
            },
            (Some(gtin), Granularity::Model) => {
                format!("{}{}", self.config.base_url, DigitalLinkPath::new(gtin))
            }
            (None, _) => self.own_uri(row.id),
        }
    }

    fn own_uri(&self, id: Uuid) -> String {
        format!("{}/p/{id}", self.config.base_url)
    }

    /// The issuing organisation of `caller`, checked to be a manufacturer.
    pub(crate) async fn issuer_org(&self, caller: &Principal) -> Result<Org, Problem> {
        caller.require(&[Role::Manufacturer])?;
        self.accounts
            .org(caller.org_id)
            .await?
            .ok_or_else(|| Problem::forbidden("The caller's organisation no longer exists."))
    }

    /// Checks model passport links: each must be a model passport of the same manufacturer.
    /// Returns the links' URIs by passport id, or the violations by index.
    pub(crate) async fn model_links(
        &self,
        org_id: Uuid,
        registrations: &[&Registration],
    ) -> Result<(HashMap<Uuid, String>, HashMap<usize, FieldError>), Problem> {
        let wanted: Vec<Uuid> = registrations
            .iter()
            .filter_map(|r| r.product.model_passport)
            .collect();
        if wanted.is_empty() {
            return Ok((HashMap::new(), HashMap::new()));
        }
        let mut unique = wanted.clone();
        unique.sort_unstable();
        unique.dedup();
        let found: HashMap<Uuid, PassportRow> = self
            .store
            .passports(&unique)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let mut uris = HashMap::new();
        let mut errors = HashMap::new();
        for (i, r) in registrations.iter().enumerate() {
            let Some(model) = r.product.model_passport else {
                continue;
            };
            match found.get(&model) {
                Some(p) if p.org_id == org_id && p.granularity == Granularity::Model => {
                    uris.insert(model, self.row_uri(p));
                }
                Some(p) if p.org_id == org_id => {
                    errors.insert(
                        i,
                        FieldError::new(
                            "/product/model_passport",
                            format!("passport {model} is not a model passport"),
                        ),
                    );
                }
                _ => {
                    errors.insert(
                        i,
                        FieldError::new(
                            "/product/model_passport",
                            format!("no model passport {model} of this manufacturer"),
                        ),
                    );
                }
            }
        }
        Ok((uris, errors))
    }

    /// Allocates one index in each status list purpose for each of `count` credentials.
    pub async fn allocate_status(
        &self,
        org_id: Uuid,
        count: usize,
    ) -> Result<Vec<[StatusRef; 3]>, Problem> {
        let now = reetrace_core::domain::account::now();
        let mut per_purpose = Vec::with_capacity(3);
        for purpose in StatusPurpose::ALL {
            per_purpose.push(self.store.allocate(org_id, purpose, count, now).await?);
        }
        let mut message = per_purpose.pop().unwrap_or_default().into_iter();
        let mut suspension = per_purpose.pop().unwrap_or_default().into_iter();
        let mut revocation = per_purpose.pop().unwrap_or_default().into_iter();
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            match (revocation.next(), suspension.next(), message.next()) {
                (Some(r), Some(s), Some(m)) => out.push([r, s, m]),
                _ => {
                    tracing::error!("status list allocation returned too few indexes");
                    return Err(Problem::internal());
                }
            }
        }
        Ok(out)
    }

    /// Builds and signs new passports of `org` exactly as the bulk path does before its
    /// transaction (subject, envelope, JCS, SHA-256, Ed25519, in parallel off the async
    /// runtime), with status indexes from [`Self::allocate_status`], without storing them.
    /// Model passport links are not resolved (the subject names none). The benchmark
    /// measures the signing stage with it, apart from the database.
    pub async fn sign_new(
        &self,
        org: &Org,
        registrations: Vec<Registration>,
        status: Vec<[StatusRef; 3]>,
    ) -> Result<Vec<NewPassport>, Problem> {
        let prepared = registrations
            .into_iter()
            .map(|registration| {
                let id = Uuid::now_v7();
                Prepared {
                    subject_id: self.product_uri(id, &registration),
                    model_uri: None,
                    registration,
                    id,
                    version: 1,
                    previous_version: None,
                }
            })
            .collect();
        let key = self.keys.active(org.id).await?;
        let signed = self.sign_all(org, key, prepared, status).await?;
        Ok(signed.into_iter().map(|s| s.row).collect())
    }

    /// Builds and signs credentials for `prepared`, in parallel off the async runtime.
    pub(crate) async fn sign_all(
        &self,
        org: &Org,
        key: Arc<ActiveKey>,
        prepared: Vec<Prepared>,
        status: Vec<[StatusRef; 3]>,
    ) -> Result<Vec<Signed>, Problem> {
        let base_url = self.config.base_url.clone();
        let issuer = self.org_did(org.id);
        let manufacturer = Manufacturer {
            id: issuer.clone(),
            org_id: org.id,
            name: org.name.clone(),
            operator_id: org.operator_id.clone(),
        };
        let org_id = org.id;
        let now = reetrace_core::domain::account::now();
        let job = move || {
            let threads = std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(8);
            let chunk = prepared.len().div_ceil(threads).max(64);
            let work: Vec<(Prepared, [StatusRef; 3])> = prepared.into_iter().zip(status).collect();
            let signer = Signer {
                base_url: &base_url,
                issuer: &issuer,
                manufacturer: &manufacturer,
                org_id,
                key: &key,
                now,
            };
            std::thread::scope(|scope| {
                let handles: Vec<_> = work
                    .chunks(chunk)
                    .map(|part| {
                        scope.spawn(|| {
                            part.iter()
                                .map(|(p, s)| signer.sign(p, s))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|_| vec![Err(Problem::internal())]))
                    .collect::<Vec<_>>()
            })
        };
        let results = tokio::task::spawn_blocking(job).await.map_err(|e| {
            tracing::error!(error = %e, "signing task failed");
            Problem::internal()
        })?;
        results.into_iter().flatten().collect()
    }

    /// Rejects a stored answer keyed by the same Idempotency-Key for another request, or
    /// returns it for replay.
    pub(crate) async fn stored(
        &self,
        org_id: Uuid,
        key: Option<&reetrace_core::domain::idempotency::IdempotencyKey>,
    ) -> Result<Option<reetrace_core::domain::idempotency::StoredResponse>, Problem> {
        match key {
            Some(key) => Ok(self.store.stored_response(org_id, key.as_str()).await?),
            None => Ok(None),
        }
    }

    /// The idempotent write for a request, if it carries a key.
    pub(crate) fn idempotent_write(
        org_id: Uuid,
        key: Option<&reetrace_core::domain::idempotency::IdempotencyKey>,
        respond: impl FnOnce(&[bool]) -> Option<reetrace_core::domain::idempotency::StoredResponse>
        + Send
        + 'static,
    ) -> Option<IdempotentWrite> {
        key.map(|k| IdempotentWrite {
            org_id,
            key: k.as_str().to_owned(),
            respond: Box::new(respond),
        })
    }

    /// A passport and its current version, or 404.
    pub async fn load(&self, id: Uuid) -> Result<(PassportRow, VersionRow), Problem> {
        let not_found = || Problem::not_found(format!("No passport {id}."));
        let passport = self.store.passport(id).await?.ok_or_else(not_found)?;
        let version = self.store.version(id, None).await?.ok_or_else(not_found)?;
        Ok((passport, version))
    }

    /// The view of a passport for `caller`.
    pub fn view(
        &self,
        caller: Option<&Principal>,
        passport: &PassportRow,
        version: &VersionRow,
    ) -> Result<PassportView, Problem> {
        let tier = Tier::of(caller, passport.org_id);
        let credential: Value = serde_json::from_str(&version.credential).map_err(corrupt)?;
        let subject: CredentialSubject = serde_json::from_value(
            credential
                .get("credentialSubject")
                .cloned()
                .unwrap_or(Value::Null),
        )
        .map_err(corrupt)?;
        let component_details = if tier.sees_components() {
            Some(serde_json::from_str(&version.component_details).map_err(corrupt)?)
        } else {
            None
        };
        let confidential = match (&version.confidential, tier) {
            (Some(text), Tier::Owner) => Some(serde_json::from_str(text).map_err(corrupt)?),
            _ => None,
        };
        let base = &self.config.base_url;
        let id = passport.id;
        Ok(PassportView {
            id,
            uri: self.row_uri(passport),
            version: passport.version,
            status: passport.status,
            status_reason: passport.status_reason.clone(),
            granularity: passport.granularity,
            tier,
            org_id: passport.org_id,
            issuer: self.org_did(passport.org_id),
            created_at: passport.created_at,
            updated_at: passport.updated_at,
            subject,
            component_details,
            confidential,
            links: PassportLinks {
                credential: format!("{base}/api/v1/passports/{id}/credential"),
                versions: format!("{base}/api/v1/passports/{id}/versions"),
                qr_svg: format!("{base}/api/v1/passports/{id}/qr.svg"),
                did_document: format!("{base}/orgs/{}/did.json", passport.org_id),
            },
        })
    }
}

fn corrupt(err: serde_json::Error) -> Problem {
    tracing::error!(error = %err, "stored passport does not decode");
    Problem::internal()
}

/// Builds and signs one credential.
struct Signer<'a> {
    base_url: &'a str,
    issuer: &'a str,
    manufacturer: &'a Manufacturer,
    org_id: Uuid,
    key: &'a ActiveKey,
    now: DateTime<Utc>,
}

impl Signer<'_> {
    fn sign(&self, p: &Prepared, status: &[StatusRef; 3]) -> Result<Signed, Problem> {
        let (subject, _, details_text) = subject::build(
            &p.registration,
            SubjectContext {
                subject_id: p.subject_id.clone(),
                passport_id: p.id,
                version: p.version,
                manufacturer: self.manufacturer.clone(),
                model_passport_uri: p.model_uri.clone(),
                previous_version: p.previous_version.clone(),
            },
        );
        let credential_id = Uuid::now_v7();
        let unsigned = credential::unsigned(
            &subject,
            &Envelope {
                base_url: self.base_url,
                issuer: self.issuer,
                credential_id,
                valid_from: self.now,
                status,
            },
        );
        let method = format!("{}#{}", self.issuer, self.key.key_id);
        let signed = data_integrity::sign(
            unsigned,
            &ProofOptions::assertion(&method, self.now),
            &self.key.signing,
        )
        .map_err(|e| {
            tracing::error!(error = %e, "signing failed");
            Problem::internal()
        })?;
        let text = serde_json::to_string(&signed).map_err(corrupt)?;
        let r = &p.registration;
        let confidential = r
            .confidential
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(corrupt)?;
        Ok(Signed {
            row: NewPassport {
                id: p.id,
                org_id: self.org_id,
                version: p.version,
                granularity: r.granularity,
                gtin: r.product.gtin.map(|g| g.as_str().to_owned()),
                serial: r.product.serial.as_ref().map(|s| s.as_str().to_owned()),
                lot: r.product.lot.as_ref().map(|l| l.as_str().to_owned()),
                category: r.product.category.as_str().to_owned(),
                country: r.product.placed_on_market.country.code().to_owned(),
                placed_on_market: r.product.placed_on_market.date,
                model_passport: r.product.model_passport,
                credential_id,
                credential: text,
                component_details: details_text,
                confidential,
                key_id: self.key.key_id.clone(),
                status: status.clone(),
                created_at: self.now,
            },
            credential: signed,
        })
    }
}
