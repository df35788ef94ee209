//! Issuing many passports at once.
//!
//! The pipeline for a batch: check every registration (and its model link), fix identities,
//! claim recycled content, reserve status list indexes, sign in parallel off the async runtime,
//! then store everything in one transaction, with the idempotent answer. Invalid lines never
//! stop valid ones unless the caller asks for all or nothing (`atomic`).
//!
//! Lines the caller could not read arrive as its own rejection (`R`) and come back as they
//! came; every other line's outcome is typed here and worded by the caller.

use std::collections::{HashMap, HashSet};

use reetrace_core::db::StoreError;
use reetrace_core::domain::gs1_prefix::require_held;
use reetrace_core::domain::idempotency::{Answer, Idempotency};
use reetrace_core::domain::{Denied, FieldError, Principal};
use uuid::Uuid;

use super::claims::ClaimFailure;
use super::error::{PassportError, Result};
use super::signing::Prepared;
use super::{Keep, PassportService};
use crate::domain::passport::identity_key;
use crate::domain::registration::Registration;

/// Why one line of a bulk registration was not stored.
#[derive(Debug, Clone)]
pub enum LineFailure<R> {
    /// The caller could not read the line: its own reason, passed through.
    Unreadable(R),
    /// The registration breaks a rule (or names a model passport it may not).
    Invalid(Vec<FieldError>),
    /// Its GTIN is not under a GS1 prefix the manufacturer holds.
    NotYours(Denied),
    /// An earlier line (`first_line`, 1-based) registers the same product.
    DuplicateInRequest { first_line: usize },
    /// Its recycled content could not be claimed.
    Claim(ClaimFailure),
    /// A passport with this product identity exists already.
    Exists,
    /// A lot carries this batch identity (GTIN with lot number) already.
    LotIdentity { lot_id: Uuid },
    /// Valid, but not stored: another line failed in an atomic request.
    NotCommitted,
}

/// What became of one line.
#[derive(Debug, Clone)]
pub enum LineOutcome<R> {
    Created { id: Uuid, uri: String },
    Failed(LineFailure<R>),
}

/// One line's outcome in a bulk registration.
#[derive(Debug, Clone)]
pub struct LineResult<R> {
    /// 1-based position of the registration in the request.
    pub line: usize,
    pub outcome: LineOutcome<R>,
}

impl<R> LineResult<R> {
    pub fn created(&self) -> bool {
        matches!(self.outcome, LineOutcome::Created { .. })
    }
}

/// The outcome of a bulk registration.
#[derive(Debug, Clone)]
pub struct BulkResult<R> {
    /// Whether the request asked for all or nothing.
    pub atomic: bool,
    /// Every line, in request order.
    pub lines: Vec<LineResult<R>>,
    /// An atomic request whose lines conflicted with stored passports: nothing was stored.
    pub conflicted: bool,
}

impl<R> BulkResult<R> {
    pub fn created(&self) -> usize {
        self.lines.iter().filter(|l| l.created()).count()
    }

    pub fn failed(&self) -> usize {
        self.lines.len() - self.created()
    }

    /// An atomic request that stored nothing: lines were invalid, or conflicted.
    pub fn refused(&self) -> bool {
        self.conflicted || (self.atomic && self.failed() > 0)
    }
}

/// A line on its way: its outcome once known.
type Pending<R> = Vec<Option<LineResult<R>>>;

fn fail<R>(results: &mut Pending<R>, i: usize, error: LineFailure<R>) {
    results[i] = Some(LineResult {
        line: i + 1,
        outcome: LineOutcome::Failed(error),
    });
}

/// Fills in the outcome of the lines that reached the store.
fn settle<R>(results: &mut Pending<R>, pending: &[(usize, Uuid, String)], created: &[bool]) {
    for ((i, id, uri), ok) in pending.iter().zip(created) {
        results[*i] = Some(LineResult {
            line: i + 1,
            outcome: if *ok {
                LineOutcome::Created {
                    id: *id,
                    uri: uri.clone(),
                }
            } else {
                LineOutcome::Failed(LineFailure::Exists)
            },
        });
    }
}

/// An atomic request refused before storing: the lines that did not fail themselves (`rest`)
/// are reported as not committed, so the answer gives every line.
fn not_committed<R>(
    mut results: Pending<R>,
    rest: impl IntoIterator<Item = usize>,
    atomic: bool,
) -> BulkResult<R> {
    for i in rest {
        if results[i].is_none() {
            fail(&mut results, i, LineFailure::NotCommitted);
        }
    }
    finish(results, atomic, false)
}

fn finish<R>(results: Pending<R>, atomic: bool, conflicted: bool) -> BulkResult<R> {
    BulkResult {
        atomic,
        lines: results.into_iter().flatten().collect(),
        conflicted,
    }
}

impl PassportService {
    /// Registers many products; each line succeeds or fails on its own unless `atomic`. With
    /// an idempotency key, `keep` makes the answer kept for replay.
    pub async fn issue_bulk<R>(
        &self,
        caller: &Principal,
        lines: Vec<std::result::Result<Registration, R>>,
        atomic: bool,
        idem: &Idempotency,
        keep: Keep<BulkResult<R>>,
    ) -> Result<Answer<BulkResult<R>>>
    where
        R: Clone + Send + 'static,
    {
        let org = self.issuer_org(caller).await?;
        if let Some(stored) = self.stored(org.id, idem.key.as_ref()).await? {
            return Ok(Answer::Replay(stored));
        }
        let held = self.accounts.gs1_prefixes(org.id).await?;
        let mut results: Pending<R> = vec![None; lines.len()];
        let mut valid: Vec<(usize, Registration)> = Vec::with_capacity(lines.len());
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, line) in lines.into_iter().enumerate() {
            let registration = match line {
                Err(unreadable) => {
                    fail(&mut results, i, LineFailure::Unreadable(unreadable));
                    continue;
                }
                Ok(r) => r,
            };
            let mut registration = registration;
            registration.derive_from_magnets();
            if let Err(errors) = registration.check() {
                fail(&mut results, i, LineFailure::Invalid(errors));
                continue;
            }
            if let Some(gtin) = &registration.product.gtin
                && let Err(denied) = require_held(&held, gtin, "/product/gtin")
            {
                fail(&mut results, i, LineFailure::NotYours(denied));
                continue;
            }
            match self.refuse_lot_identity(&registration).await {
                Ok(()) => {}
                Err(PassportError::LotIdentity { lot_id }) => {
                    fail(&mut results, i, LineFailure::LotIdentity { lot_id });
                    continue;
                }
                Err(other) => return Err(other),
            }
            if let Some(key) = identity_key(&registration)
                && let Some(first) = seen.insert(key, i)
            {
                let first_line = first + 1;
                fail(
                    &mut results,
                    i,
                    LineFailure::DuplicateInRequest { first_line },
                );
                continue;
            }
            valid.push((i, registration));
        }
        let refs: Vec<&Registration> = valid.iter().map(|(_, r)| r).collect();
        let (links, link_errors) = self.model_links(org.id, &refs).await?;
        let bad_links: HashSet<usize> = link_errors.keys().copied().collect();
        for (k, err) in link_errors {
            fail(&mut results, valid[k].0, LineFailure::Invalid(vec![err]));
        }
        let valid: Vec<(usize, Registration)> = valid
            .into_iter()
            .enumerate()
            .filter(|(k, _)| !bad_links.contains(k))
            .map(|(_, v)| v)
            .collect();
        if atomic && results.iter().any(Option::is_some) {
            let rest = valid.iter().map(|(i, _)| *i);
            return Ok(Answer::Fresh(not_committed(results, rest, atomic)));
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
                Err(failure) => {
                    fail(&mut results, i, LineFailure::Claim(failure));
                    continue;
                }
            }
            let subject_id = self.registration_uri(id, &registration);
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
        if atomic && results.iter().any(Option::is_some) {
            // A claim failed: the claims made for the other lines go back, nothing is stored.
            self.release_claims(claims.values().copied()).await;
            let rest = pending.iter().map(|(i, _, _)| *i);
            return Ok(Answer::Fresh(not_committed(results, rest, atomic)));
        }
        if prepared.is_empty() {
            return Ok(Answer::Fresh(finish(results, atomic, false)));
        }
        // From the reserve: no write, so no wait for the request before, which may hold
        // SQLite's writer while it signs and stores.
        let status = self
            .issuing
            .allocate_reserved(org.id, prepared.len())
            .await?;
        let key = self.issuing.issuer_key(org.id).await?;
        let before = results.clone();
        let pending_for_reply = pending.clone();
        let write = Self::idempotent_write(org.id, idem.key.as_ref(), move |created| {
            let mut results = before;
            settle(&mut results, &pending_for_reply, created);
            Some(keep(&finish(results, atomic, false)))
        });
        // Signing and storing overlap: each chunk is stored while the next ones are signed.
        let (rows, signing) = self.sign_stream(&org, key, prepared, status);
        let outcome = self
            .store
            .insert_passports_streamed(rows, atomic, write)
            .await;
        let signed = signing
            .await
            .map_err(|e| PassportError::internal(format_args!("signing task failed: {e}")));
        let unstored: Vec<Uuid> = match &outcome {
            Ok(Some(created)) if !(atomic && created.iter().any(|c| !c)) => pending
                .iter()
                .zip(created)
                .filter(|(_, ok)| !**ok)
                .filter_map(|((_, id, _), _)| claims.get(id).copied())
                .collect(),
            _ => claims.values().copied().collect(),
        };
        self.release_claims(unstored).await;
        let created = match outcome {
            Ok(Some(created)) => created,
            // The signer stopped short: its error says why (nothing was stored).
            Ok(None) => {
                signed??;
                return Err(PassportError::internal("signing stopped without an error"));
            }
            Err(StoreError::Conflict { .. }) => {
                return self.replay_after_race(org.id, idem).await;
            }
            Err(e) => return Err(e.into()),
        };
        settle(&mut results, &pending, &created);
        if atomic && created.iter().any(|c| !c) {
            // Nothing was stored: the lines that would have been are not committed.
            for line in results.iter_mut().flatten() {
                if line.created() {
                    line.outcome = LineOutcome::Failed(LineFailure::NotCommitted);
                }
            }
            return Ok(Answer::Fresh(finish(results, atomic, true)));
        }
        Ok(Answer::Fresh(finish(results, atomic, false)))
    }
}
