//! Issuing: one registration or many, new versions, and status changes.
//!
//! The pipeline for a batch: check every registration (and its model link), fix identities,
//! reserve status list indexes, sign in parallel off the async runtime, then store everything
//! in one transaction, with the idempotent answer. Invalid lines never stop valid ones unless
//! the caller asks for all or nothing.

use std::collections::{HashMap, HashSet};

use axum::http::StatusCode;
use reetrace_core::api::problem::{FieldError, Problem};
use reetrace_core::db::StoreError;
use reetrace_core::domain::Principal;
use reetrace_core::domain::idempotency::StoredResponse;
pub use reetrace_core::domain::idempotency::{Answer, Idempotency};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::credential::credential_urn;
use crate::domain::registration::{Granularity, Registration};
use crate::service::{Issued, PassportService, Prepared};
use crate::store::{PassportStatus, StatusChange, VersionError};

/// One line's outcome in a bulk registration.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BulkLine {
    /// 1-based position of the registration in the request.
    pub line: usize,
    /// 201 when created; otherwise the status of the problem.
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
}

/// The outcome of a bulk registration.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BulkOutcome {
    pub created: usize,
    pub failed: usize,
    /// Whether the request asked for all or nothing.
    pub atomic: bool,
    pub results: Vec<BulkLine>,
}

impl BulkOutcome {
    /// One JSON object per line (for NDJSON answers).
    pub fn to_ndjson(&self) -> String {
        let mut out = String::with_capacity(self.results.len() * 96);
        for line in &self.results {
            if let Ok(text) = serde_json::to_string(line) {
                out.push_str(&text);
                out.push('\n');
            }
        }
        out
    }
}

/// What identifies a product among a batch (to refuse duplicates before touching the store).
fn identity_key(r: &Registration) -> Option<String> {
    let p = &r.product;
    let gtin = p.gtin.map(|g| g.as_str().to_owned());
    match (r.granularity, gtin) {
        (Granularity::Item, Some(g)) => p
            .serial
            .as_ref()
            .map(|s| format!("01/{g}/21/{}", s.as_str())),
        (Granularity::Batch, Some(g)) => {
            p.lot.as_ref().map(|l| format!("01/{g}/10/{}", l.as_str()))
        }
        (Granularity::Model, Some(g)) => Some(format!("01/{g}")),
        (Granularity::Item, None) => p.serial.as_ref().map(|s| format!("21/{}", s.as_str())),
        (Granularity::Batch, None) => p.lot.as_ref().map(|l| format!("10/{}", l.as_str())),
        (Granularity::Model, None) => None,
    }
}

fn conflict_problem() -> Problem {
    Problem::conflict(
        crate::api::error::PASSPORT_EXISTS,
        "A passport for this product identity (GTIN with serial, lot or model) already exists.",
    )
}

impl PassportService {
    /// Registers one product.
    pub async fn issue_one(
        &self,
        caller: &Principal,
        registration: Registration,
        idem: &Idempotency,
    ) -> Result<Answer<Issued>, Problem> {
        let org = self.issuer_org(caller).await?;
        if let Some(stored) = self.stored(org.id, idem.key.as_ref()).await? {
            return Ok(Answer::Replay(stored));
        }
        registration.check().map_err(Problem::validation)?;
        let (links, link_errors) = self.model_links(org.id, &[&registration]).await?;
        if let Some(err) = link_errors.into_values().next() {
            return Err(Problem::validation(vec![err]));
        }
        let id = Uuid::now_v7();
        let claim = self.claim_recycled(org.id, id, &registration).await?;
        let prepared = Prepared {
            subject_id: self.product_uri(id, &registration),
            model_uri: registration
                .product
                .model_passport
                .and_then(|m| links.get(&m).cloned()),
            registration,
            id,
            version: 1,
            previous_version: None,
        };
        let status = self.allocate_status(org.id, 1).await?;
        let key = self.keys.active(org.id).await?;
        let mut signed = self.sign_all(&org, key, vec![prepared], status).await?;
        let Some(one) = signed.pop() else {
            return Err(Problem::internal());
        };
        let issued = Issued {
            id,
            uri: one.credential["credentialSubject"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            version: 1,
            status: PassportStatus::Active,
            credential: one.credential,
        };
        let body = serde_json::to_string(&issued).map_err(|_| Problem::internal())?;
        let fingerprint = idem.fingerprint;
        let write = Self::idempotent_write(org.id, idem.key.as_ref(), move |created| {
            created
                .first()
                .copied()
                .unwrap_or(false)
                .then(|| StoredResponse {
                    fingerprint,
                    status: 201,
                    content_type: "application/json".into(),
                    body,
                })
        });
        let outcome = self
            .store
            .insert_passports(std::slice::from_ref(&one.row), true, write)
            .await;
        if !matches!(&outcome, Ok(created) if created.first() == Some(&true)) {
            self.release_claims(claim).await;
        }
        match outcome {
            Ok(created) if created.first() == Some(&true) => Ok(Answer::Fresh(issued)),
            Ok(_) => Err(conflict_problem()),
            Err(StoreError::Conflict { .. }) => self.replay_after_race(org.id, idem).await,
            Err(e) => Err(e.into()),
        }
    }

    /// A concurrent request with the same Idempotency-Key won: answer what it stored.
    async fn replay_after_race<T>(
        &self,
        org_id: Uuid,
        idem: &Idempotency,
    ) -> Result<Answer<T>, Problem> {
        match self.stored(org_id, idem.key.as_ref()).await? {
            Some(stored) => Ok(Answer::Replay(stored)),
            None => Err(Problem::conflict(
                crate::api::error::CONCURRENT_REQUEST,
                "A concurrent request with this Idempotency-Key is in progress; retry.",
            )),
        }
    }

    /// Registers many products; each line succeeds or fails on its own unless `atomic`.
    pub async fn issue_bulk(
        &self,
        caller: &Principal,
        lines: Vec<Result<Registration, Problem>>,
        atomic: bool,
        idem: &Idempotency,
    ) -> Result<Answer<(StatusCode, BulkOutcome)>, Problem> {
        let org = self.issuer_org(caller).await?;
        if let Some(stored) = self.stored(org.id, idem.key.as_ref()).await? {
            return Ok(Answer::Replay(stored));
        }
        let mut results: Vec<Option<BulkLine>> = vec![None; lines.len()];
        let fail = |results: &mut Vec<Option<BulkLine>>, i: usize, problem: Problem| {
            results[i] = Some(BulkLine {
                line: i + 1,
                status: problem.status,
                id: None,
                uri: None,
                problem: Some(problem),
            });
        };
        let mut valid: Vec<(usize, Registration)> = Vec::with_capacity(lines.len());
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, line) in lines.into_iter().enumerate() {
            match line.and_then(|r| r.check().map(|()| r).map_err(Problem::validation)) {
                Err(problem) => fail(&mut results, i, problem),
                Ok(r) => {
                    if let Some(key) = identity_key(&r)
                        && let Some(first) = seen.insert(key, i)
                    {
                        fail(
                            &mut results,
                            i,
                            Problem::conflict(
                                crate::api::error::DUPLICATE_IN_REQUEST,
                                format!("Line {} registers the same product identity.", first + 1),
                            ),
                        );
                        continue;
                    }
                    valid.push((i, r));
                }
            }
        }
        let refs: Vec<&Registration> = valid.iter().map(|(_, r)| r).collect();
        let (links, link_errors) = self.model_links(org.id, &refs).await?;
        let bad_links: HashSet<usize> = link_errors.keys().copied().collect();
        for (k, err) in link_errors {
            fail(&mut results, valid[k].0, Problem::validation(vec![err]));
        }
        let valid: Vec<(usize, Registration)> = valid
            .into_iter()
            .enumerate()
            .filter(|(k, _)| !bad_links.contains(k))
            .map(|(_, v)| v)
            .collect();
        if atomic && results.iter().any(Option::is_some) {
            return Ok(Answer::Fresh((
                StatusCode::UNPROCESSABLE_ENTITY,
                finish(results, atomic),
            )));
        }
        let mut pending: Vec<(usize, Uuid, String)> = Vec::with_capacity(valid.len());
        let mut prepared = Vec::with_capacity(valid.len());
        let mut claims: HashMap<Uuid, Uuid> = HashMap::new();
        for (i, registration) in valid {
            let id = Uuid::now_v7();
            match self.claim_recycled(org.id, id, &registration).await {
                Ok(Some(claim)) => {
                    claims.insert(id, claim);
                }
                Ok(None) => {}
                Err(problem) => {
                    fail(&mut results, i, problem);
                    continue;
                }
            }
            let subject_id = self.product_uri(id, &registration);
            pending.push((i, id, subject_id.clone()));
            prepared.push(Prepared {
                subject_id,
                model_uri: registration
                    .product
                    .model_passport
                    .and_then(|m| links.get(&m).cloned()),
                registration,
                id,
                version: 1,
                previous_version: None,
            });
        }
        if !prepared.is_empty() {
            let status = self.allocate_status(org.id, prepared.len()).await?;
            let key = self.keys.active(org.id).await?;
            let signed = self.sign_all(&org, key, prepared, status).await?;
            let rows: Vec<_> = signed.into_iter().map(|s| s.row).collect();
            let before = results.clone();
            let fingerprint = idem.fingerprint;
            let pending_for_reply = pending.clone();
            let write = Self::idempotent_write(org.id, idem.key.as_ref(), move |created| {
                let mut results = before;
                settle(&mut results, &pending_for_reply, created);
                let outcome = finish(results, atomic);
                let status = bulk_status(&outcome, atomic);
                Some(StoredResponse {
                    fingerprint,
                    status: status.as_u16(),
                    content_type: "application/json".into(),
                    body: serde_json::to_string(&outcome).unwrap_or_default(),
                })
            });
            let outcome = self.store.insert_passports(&rows, atomic, write).await;
            let unstored: Vec<Uuid> = match &outcome {
                Ok(created) if !(atomic && created.iter().any(|c| !c)) => rows
                    .iter()
                    .zip(created)
                    .filter(|(_, ok)| !**ok)
                    .filter_map(|(r, _)| claims.get(&r.id).copied())
                    .collect(),
                _ => claims.values().copied().collect(),
            };
            self.release_claims(unstored).await;
            let created = match outcome {
                Ok(created) => created,
                Err(StoreError::Conflict { .. }) => {
                    return self.replay_after_race(org.id, idem).await;
                }
                Err(e) => return Err(e.into()),
            };
            if atomic && created.iter().any(|c| !c) {
                // Nothing was stored: report which lines conflicted.
                settle(&mut results, &pending, &created);
                for line in results.iter_mut().flatten() {
                    if line.status == 201 {
                        line.status = 424;
                        line.id = None;
                        line.uri = None;
                        line.problem = Some(Problem::new(crate::api::error::NOT_COMMITTED));
                    }
                }
                return Ok(Answer::Fresh((
                    StatusCode::CONFLICT,
                    finish(results, atomic),
                )));
            }
            settle(&mut results, &pending, &created);
        }
        let outcome = finish(results, atomic);
        let status = bulk_status(&outcome, atomic);
        Ok(Answer::Fresh((status, outcome)))
    }

    /// Issues a new version of a passport (owner only): a new credential naming the previous
    /// one, which stays readable and verifiable, its status bit saying it was superseded.
    pub async fn issue_version(
        &self,
        caller: &Principal,
        id: Uuid,
        registration: Registration,
        idem: &Idempotency,
    ) -> Result<Answer<Issued>, Problem> {
        let org = self.issuer_org(caller).await?;
        if let Some(stored) = self.stored(org.id, idem.key.as_ref()).await? {
            return Ok(Answer::Replay(stored));
        }
        let (passport, current) = self.owned(caller, id).await?;
        if passport.status != PassportStatus::Active {
            return Err(Problem::conflict(
                crate::api::error::PASSPORT_NOT_ACTIVE,
                format!(
                    "The passport is {}; only an active passport gets new versions.",
                    passport.status.as_str()
                ),
            ));
        }
        registration.check().map_err(Problem::validation)?;
        let mut errors = Vec::new();
        let p = &registration.product;
        if registration.granularity != passport.granularity {
            errors.push(FieldError::new(
                "/granularity",
                "a new version keeps the passport's granularity",
            ));
        }
        if p.gtin.map(|g| g.as_str().to_owned()) != passport.gtin {
            errors.push(FieldError::new(
                "/product/gtin",
                "a new version keeps the product's GTIN",
            ));
        }
        if p.serial.as_ref().map(|s| s.as_str().to_owned()) != passport.serial {
            errors.push(FieldError::new(
                "/product/serial",
                "a new version keeps the product's serial number",
            ));
        }
        if p.lot.as_ref().map(|l| l.as_str().to_owned()) != passport.lot {
            errors.push(FieldError::new(
                "/product/lot",
                "a new version keeps the batch's lot number",
            ));
        }
        if !errors.is_empty() {
            return Err(Problem::validation(errors));
        }
        let (links, link_errors) = self.model_links(org.id, &[&registration]).await?;
        if let Some(err) = link_errors.into_values().next() {
            return Err(Problem::validation(vec![err]));
        }
        let version = passport.version + 1;
        let claim = self.claim_recycled(org.id, id, &registration).await?;
        let prepared = Prepared {
            subject_id: self.row_uri(&passport),
            model_uri: registration
                .product
                .model_passport
                .and_then(|m| links.get(&m).cloned()),
            registration,
            id,
            version,
            previous_version: Some(credential_urn(current.credential_id)),
        };
        let status = self.allocate_status(org.id, 1).await?;
        let key = self.keys.active(org.id).await?;
        let Some(one) = self
            .sign_all(&org, key, vec![prepared], status)
            .await?
            .pop()
        else {
            return Err(Problem::internal());
        };
        let issued = Issued {
            id,
            uri: self.row_uri(&passport),
            version,
            status: PassportStatus::Active,
            credential: one.credential,
        };
        let body = serde_json::to_string(&issued).map_err(|_| Problem::internal())?;
        let fingerprint = idem.fingerprint;
        let write = Self::idempotent_write(org.id, idem.key.as_ref(), move |_| {
            Some(StoredResponse {
                fingerprint,
                status: 200,
                content_type: "application/json".into(),
                body,
            })
        });
        let outcome = self.store.add_version(&one.row, write).await;
        if outcome.is_err() {
            self.release_claims(claim).await;
        }
        match outcome {
            Ok(()) => {
                self.credentials.clear();
                self.status_changed();
                Ok(Answer::Fresh(issued))
            }
            Err(VersionError::NotFound) => Err(Problem::not_found(format!("No passport {id}."))),
            Err(VersionError::Stale { current, .. }) => Err(Problem::conflict(
                crate::api::error::VERSION_CONFLICT,
                format!("The passport moved to version {current} meanwhile; read it and retry."),
            )),
            Err(VersionError::Store(StoreError::Conflict { .. })) => {
                self.replay_after_race(org.id, idem).await
            }
            Err(VersionError::Store(e)) => Err(e.into()),
        }
    }

    /// The caller's own passport, or 404 (a passport of another manufacturer is not revealed
    /// to exist for writing).
    pub(crate) async fn owned(
        &self,
        caller: &Principal,
        id: Uuid,
    ) -> Result<(crate::store::PassportRow, crate::store::VersionRow), Problem> {
        let (passport, version) = self.load(id).await?;
        if passport.org_id != caller.org_id {
            return Err(Problem::forbidden(
                "Only the manufacturer that issued a passport may change it.",
            ));
        }
        Ok((passport, version))
    }

    /// Revokes, suspends or reinstates a passport (owner only).
    pub async fn change_status(
        &self,
        caller: &Principal,
        id: Uuid,
        to: PassportStatus,
        reason: Option<String>,
    ) -> Result<crate::store::PassportRow, Problem> {
        self.issuer_org(caller).await?;
        let (passport, _) = self.owned(caller, id).await?;
        let allowed = match (passport.status, to) {
            (PassportStatus::Revoked, _) => false,
            (PassportStatus::Active, PassportStatus::Revoked | PassportStatus::Suspended) => true,
            (PassportStatus::Suspended, PassportStatus::Revoked | PassportStatus::Active) => true,
            _ => false,
        };
        if !allowed {
            return Err(Problem::conflict(crate::api::error::STATUS_TRANSITION,
                format!(
                    "A passport that is {} cannot become {}: revocation is final, suspension can be lifted.",
                    passport.status.as_str(),
                    to.as_str()
                ),
            )
            .with("current_status", passport.status));
        }
        let change = StatusChange {
            status: to,
            reason,
            at: reetrace_core::domain::account::now(),
            event_id: Uuid::now_v7(),
        };
        let row = self.store.set_status(id, &change).await?;
        self.status_changed();
        row.ok_or_else(|| Problem::not_found(format!("No passport {id}.")))
    }
}

/// Fills in the outcome of the lines that reached the store.
fn settle(results: &mut [Option<BulkLine>], pending: &[(usize, Uuid, String)], created: &[bool]) {
    for ((i, id, uri), ok) in pending.iter().zip(created) {
        results[*i] = Some(if *ok {
            BulkLine {
                line: i + 1,
                status: 201,
                id: Some(*id),
                uri: Some(uri.clone()),
                problem: None,
            }
        } else {
            let problem = conflict_problem();
            BulkLine {
                line: i + 1,
                status: problem.status,
                id: None,
                uri: None,
                problem: Some(problem),
            }
        });
    }
}

fn finish(results: Vec<Option<BulkLine>>, atomic: bool) -> BulkOutcome {
    let results: Vec<BulkLine> = results.into_iter().flatten().collect();
    let created = results.iter().filter(|l| l.status == 201).count();
    BulkOutcome {
        created,
        failed: results.len() - created,
        atomic,
        results,
    }
}

/// 200 when the request was processed (even with failed lines), 422 when an atomic request
/// was refused.
fn bulk_status(outcome: &BulkOutcome, atomic: bool) -> StatusCode {
    if atomic && outcome.failed > 0 {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    }
}
