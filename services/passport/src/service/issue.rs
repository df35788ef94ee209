//! Issuing one passport, new versions, and status changes.
//!
//! The pipeline: check the registration (and its model link), claim its recycled content, fix
//! its identity, reserve status list indexes, sign off the async runtime, then store it in one
//! transaction with the idempotent answer.

use std::collections::HashMap;

use reetrace_core::db::StoreError;
use reetrace_core::domain::gs1_prefix::require_held;
use reetrace_core::domain::idempotency::{Answer, Idempotency};
use reetrace_core::domain::issuing::credential_urn;
use reetrace_core::domain::{Denied, FieldError, Principal};
use uuid::Uuid;

use super::error::{PassportError, Result};
use super::signing::Prepared;
use super::{Keep, PassportService};
use crate::domain::passport::{
    Issued, Passport, PassportStatus, PassportVersion, StatusChange, identity_changes,
};
use crate::domain::registration::{Granularity, Registration};
use crate::store::VersionError;

impl PassportService {
    /// Registers one product; with an idempotency key, `keep` makes the answer kept for replay.
    pub async fn issue_one(
        &self,
        caller: &Principal,
        mut registration: Registration,
        idem: &Idempotency,
        keep: Keep<Issued>,
    ) -> Result<Answer<Issued>> {
        let org = self.issuer_org(caller).await?;
        if let Some(stored) = self.stored(org.id, idem.key.as_ref()).await? {
            return Ok(Answer::Replay(stored));
        }
        registration.derive_from_magnets();
        registration.check().map_err(PassportError::Invalid)?;
        self.require_gtin_held(org.id, &registration).await?;
        self.refuse_lot_identity(&registration).await?;
        let (links, link_errors) = self.model_links(org.id, &[&registration]).await?;
        if let Some(err) = link_errors.into_values().next() {
            return Err(PassportError::Invalid(vec![err]));
        }
        let id = Uuid::now_v7();
        let claim = self.claim_recycled(org.id, id, &registration).await?;
        let prepared = Prepared {
            subject_id: self.registration_uri(id, &registration),
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
        let key = self.issuing.issuer_key(org.id).await?;
        let mut signed = self.sign_all(&org, key, vec![prepared], status).await?;
        let Some(one) = signed.pop() else {
            return Err(PassportError::internal("signing returned no credential"));
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
        let kept = idem.key.is_some().then(|| keep(&issued));
        let write = Self::idempotent_write(org.id, idem.key.as_ref(), move |created| {
            created
                .first()
                .copied()
                .unwrap_or(false)
                .then_some(kept)
                .flatten()
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
            Ok(_) => Err(PassportError::Exists),
            Err(StoreError::Conflict { .. }) => self.replay_after_race(org.id, idem).await,
            Err(e) => Err(e.into()),
        }
    }

    /// Refuses a registration whose GTIN is not under a GS1 prefix (or GTIN) the organisation
    /// holds; a product without a GTIN needs none.
    pub(crate) async fn require_gtin_held(
        &self,
        org_id: Uuid,
        registration: &Registration,
    ) -> Result<()> {
        if let Some(gtin) = &registration.product.gtin {
            let held = self.accounts.gs1_prefixes(org_id).await?;
            require_held(&held, gtin, "/product/gtin")?;
        }
        Ok(())
    }

    /// A concurrent request with the same idempotency key won: answer what it stored.
    pub(crate) async fn replay_after_race<T>(
        &self,
        org_id: Uuid,
        idem: &Idempotency,
    ) -> Result<Answer<T>> {
        match self.stored(org_id, idem.key.as_ref()).await? {
            Some(stored) => Ok(Answer::Replay(stored)),
            None => Err(PassportError::ConcurrentRequest),
        }
    }

    /// Checks model passport links: each must be a model passport of the same manufacturer.
    /// Returns the links' URIs by passport id, or the violations by index.
    pub(crate) async fn model_links(
        &self,
        org_id: Uuid,
        registrations: &[&Registration],
    ) -> Result<(HashMap<Uuid, String>, HashMap<usize, FieldError>)> {
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
        let found: HashMap<Uuid, Passport> = self
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
                    uris.insert(model, self.product_uri(p));
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

    /// Issues a new version of a passport (owner only): a new credential naming the previous
    /// one, which stays readable and verifiable, its status bit saying it was superseded.
    pub async fn issue_version(
        &self,
        caller: &Principal,
        id: Uuid,
        mut registration: Registration,
        idem: &Idempotency,
        keep: Keep<Issued>,
    ) -> Result<Answer<Issued>> {
        let org = self.issuer_org(caller).await?;
        if let Some(stored) = self.stored(org.id, idem.key.as_ref()).await? {
            return Ok(Answer::Replay(stored));
        }
        let (passport, current) = self.owned(caller, id).await?;
        if passport.status != PassportStatus::Active {
            return Err(PassportError::NotActive(passport.status));
        }
        registration.derive_from_magnets();
        registration.check().map_err(PassportError::Invalid)?;
        let errors = identity_changes(&passport, &registration);
        if !errors.is_empty() {
            return Err(PassportError::Invalid(errors));
        }
        let fingerprint = registration.fingerprint().map_err(|e| {
            PassportError::internal(format_args!("a registration does not canonicalize: {e}"))
        })?;
        if current.registration_fingerprint == Some(fingerprint) {
            return self
                .unchanged(org.id, &passport, current, idem, &keep)
                .await;
        }
        // A new version states the identity again: only while the GTIN is the manufacturer's.
        self.require_gtin_held(org.id, &registration).await?;
        let (links, link_errors) = self.model_links(org.id, &[&registration]).await?;
        if let Some(err) = link_errors.into_values().next() {
            return Err(PassportError::Invalid(vec![err]));
        }
        let version = passport.version + 1;
        let claim = self.claim_recycled(org.id, id, &registration).await?;
        let prepared = Prepared {
            subject_id: self.product_uri(&passport),
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
        let key = self.issuing.issuer_key(org.id).await?;
        let Some(one) = self
            .sign_all(&org, key, vec![prepared], status)
            .await?
            .pop()
        else {
            return Err(PassportError::internal("signing returned no credential"));
        };
        let issued = Issued {
            id,
            uri: self.product_uri(&passport),
            version,
            status: PassportStatus::Active,
            credential: one.credential,
        };
        let kept = idem.key.is_some().then(|| keep(&issued));
        let write = Self::idempotent_write(org.id, idem.key.as_ref(), move |_| kept);
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
            Err(VersionError::NotFound) => {
                Err(PassportError::NotFound(format!("No passport {id}.")))
            }
            Err(VersionError::Stale { current, .. }) => {
                // An identical PUT alongside this one made the version this one would have.
                match self.store.version(id, None).await? {
                    Some(now) if now.registration_fingerprint == Some(fingerprint) => {
                        self.unchanged(org.id, &passport, now, idem, &keep).await
                    }
                    _ => Err(PassportError::VersionConflict { current }),
                }
            }
            Err(VersionError::Store(StoreError::Conflict { .. })) => {
                self.replay_after_race(org.id, idem).await
            }
            Err(VersionError::Store(e)) => Err(e.into()),
        }
    }

    /// The answer to a new version made from the registration `current` was made from: that
    /// version, as its own PUT answered it. Nothing is signed, claimed or stored but the
    /// idempotent answer.
    async fn unchanged(
        &self,
        org_id: Uuid,
        passport: &Passport,
        current: PassportVersion,
        idem: &Idempotency,
        keep: &Keep<Issued>,
    ) -> Result<Answer<Issued>> {
        let credential = serde_json::from_str(&current.credential).map_err(|e| {
            PassportError::internal(format_args!(
                "the stored credential of passport {} version {} does not parse: {e}",
                passport.id, current.version
            ))
        })?;
        let issued = Issued {
            id: passport.id,
            uri: self.product_uri(passport),
            version: current.version,
            status: passport.status,
            credential,
        };
        let kept = idem.key.is_some().then(|| keep(&issued));
        if let Some(write) = Self::idempotent_write(org_id, idem.key.as_ref(), move |_| kept) {
            match self.store.keep_answer(write).await {
                Ok(()) => {}
                Err(StoreError::Conflict { .. }) => {
                    return self.replay_after_race(org_id, idem).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Answer::Fresh(issued))
    }

    /// The caller's own passport; another manufacturer's is refused (not found when there is
    /// none).
    pub(crate) async fn owned(
        &self,
        caller: &Principal,
        id: Uuid,
    ) -> Result<(Passport, PassportVersion)> {
        let (passport, version) = self.load(id).await?;
        if passport.org_id != caller.org_id {
            return Err(Denied::Rule(
                "Only the manufacturer that issued a passport may change it.".into(),
            )
            .into());
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
    ) -> Result<Passport> {
        self.issuer_org(caller).await?;
        let (passport, _) = self.owned(caller, id).await?;
        if !passport.status.may_become(to) {
            return Err(PassportError::StatusTransition {
                from: passport.status,
                to,
            });
        }
        let change = StatusChange {
            status: to,
            reason,
            at: reetrace_core::domain::account::now(),
            event_id: Uuid::now_v7(),
        };
        let row = self.store.set_status(id, &change).await?;
        self.status_changed();
        row.ok_or_else(|| PassportError::NotFound(format!("No passport {id}.")))
    }
}
