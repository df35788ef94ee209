//! Building and signing passport credentials: status list indexes for each, then subject,
//! envelope, JCS, SHA-256 and Ed25519, in parallel off the async runtime.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use reetrace_core::crypto::{ProofOptions, data_integrity};
use reetrace_core::domain::account::Org;
use serde_json::Value;
use uuid::Uuid;

use super::PassportService;
use super::error::{PassportError, Result};
use super::signing_keys::ActiveKey;
use crate::domain::credential::{self, Envelope, StatusPurpose, StatusRef};
use crate::domain::passport::NewPassport;
use crate::domain::registration::Registration;
use crate::domain::subject::{self, Manufacturer, SubjectContext};

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
    /// Allocates one index in each status list purpose for each of `count` credentials.
    pub async fn allocate_status(&self, org_id: Uuid, count: usize) -> Result<Vec<[StatusRef; 3]>> {
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
                    return Err(PassportError::internal(
                        "status list allocation returned too few indexes",
                    ));
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
    ) -> Result<Vec<NewPassport>> {
        let prepared = registrations
            .into_iter()
            .map(|registration| {
                let id = Uuid::now_v7();
                Prepared {
                    subject_id: self.registration_uri(id, &registration),
                    model_uri: None,
                    registration,
                    id,
                    version: 1,
                    previous_version: None,
                }
            })
            .collect();
        let key = self.keys.active(org.id).await?;
        self.sign_rows(org, key, prepared, status).await
    }

    /// Builds and signs credentials for `prepared`, in parallel off the async runtime.
    pub(crate) async fn sign_all(
        &self,
        org: &Org,
        key: Arc<ActiveKey>,
        prepared: Vec<Prepared>,
        status: Vec<[StatusRef; 3]>,
    ) -> Result<Vec<Signed>> {
        self.sign_each(org, key, prepared, status, |signed| signed)
            .await
    }

    /// Builds and signs credentials for `prepared` and keeps only the rows to store: the
    /// credential's JSON tree is dropped as soon as it is signed and written out as text (it is
    /// several times the text's size, and a bulk request signs up to 100,000).
    pub(crate) async fn sign_rows(
        &self,
        org: &Org,
        key: Arc<ActiveKey>,
        prepared: Vec<Prepared>,
        status: Vec<[StatusRef; 3]>,
    ) -> Result<Vec<NewPassport>> {
        self.sign_each(org, key, prepared, status, |signed| signed.row)
            .await
    }

    async fn sign_each<T: Send + 'static>(
        &self,
        org: &Org,
        key: Arc<ActiveKey>,
        prepared: Vec<Prepared>,
        status: Vec<[StatusRef; 3]>,
        keep: fn(Signed) -> T,
    ) -> Result<Vec<T>> {
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
            // Each thread owns its part and drops each registration once it is signed, so a
            // bulk request does not hold its registrations and their rows both at the peak.
            let mut parts: Vec<Vec<(Prepared, [StatusRef; 3])>> = Vec::with_capacity(threads);
            for pair in prepared.into_iter().zip(status) {
                match parts.last_mut() {
                    Some(part) if part.len() < chunk => part.push(pair),
                    _ => {
                        let mut part = Vec::with_capacity(chunk);
                        part.push(pair);
                        parts.push(part);
                    }
                }
            }
            let signer = Signer {
                base_url: &base_url,
                issuer: &issuer,
                manufacturer: &manufacturer,
                org_id,
                key: &key,
                now,
            };
            std::thread::scope(|scope| {
                let signer = &signer;
                let handles: Vec<_> = parts
                    .into_iter()
                    .map(|part| {
                        scope.spawn(move || {
                            part.into_iter()
                                .map(|(p, s)| signer.sign(&p, &s).map(keep))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            vec![Err(PassportError::internal("a signing thread panicked"))]
                        })
                    })
                    .collect::<Vec<_>>()
            })
        };
        let results = tokio::task::spawn_blocking(job)
            .await
            .map_err(|e| PassportError::internal(format_args!("signing task failed: {e}")))?;
        results.into_iter().flatten().collect()
    }
}

fn undecodable(err: serde_json::Error) -> PassportError {
    PassportError::internal(format_args!("a credential does not serialise: {err}"))
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
    fn sign(&self, p: &Prepared, status: &[StatusRef; 3]) -> Result<Signed> {
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
        .map_err(|e| PassportError::internal(format_args!("signing failed: {e}")))?;
        let text = serde_json::to_string(&signed).map_err(undecodable)?;
        let r = &p.registration;
        let confidential = r
            .confidential
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(undecodable)?;
        Ok(Signed {
            row: NewPassport {
                id: p.id,
                org_id: self.org_id,
                version: p.version,
                granularity: r.granularity,
                gtin: r.product.gtin,
                serial: r.product.serial.clone(),
                lot: r.product.lot.clone(),
                category: r.product.category,
                country: r.product.placed_on_market.country,
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
