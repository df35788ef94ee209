//! Recycled content claimed from lots: checked and recorded by the custody service (through
//! the [`RecycledClaims`] port) before a passport is issued, released when it is not stored.

use std::collections::BTreeMap;
use std::sync::Arc;

use reetrace_core::domain::recycled_content::RecycledClaim;
use reetrace_core::domain::{FieldError, Mass, TrackedElement};
use reetrace_core::service::recycled_content::{ClaimError, RecycledClaims};
use uuid::Uuid;

use super::PassportService;
use super::error::PassportError;
use crate::domain::registration::{Granularity, Registration};

/// Why recycled content could not be claimed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimFailure {
    /// A source names no lot of the custody service.
    #[error("a recycled-content source is not valid")]
    Invalid(Vec<FieldError>),
    /// The custody service is not connected.
    #[error("the custody service is not reachable")]
    Unreachable,
    /// The custody service refused the claim or could not be asked.
    #[error(transparent)]
    Claim(#[from] ClaimError),
}

impl From<ClaimFailure> for PassportError {
    fn from(failure: ClaimFailure) -> Self {
        match failure {
            ClaimFailure::Invalid(errors) => PassportError::Invalid(errors),
            ClaimFailure::Unreachable => PassportError::ClaimsUnreachable,
            ClaimFailure::Claim(err) => PassportError::Claim(err),
        }
    }
}

impl PassportService {
    /// Connects the custody service that checks recycled-content claims.
    pub fn set_claims(&self, claims: Arc<dyn RecycledClaims>) {
        let _ = self.claims.set(claims);
    }

    /// Refuses a batch registration whose GTIN and lot number a lot carries already (a
    /// recycled lot named with a GTIN and a lot number by its transformation): its Digital
    /// Link would name two things. Asked of the custody service; a process not connected to
    /// one (no custody URL) cannot check it.
    pub(crate) async fn refuse_lot_identity(
        &self,
        registration: &Registration,
    ) -> Result<(), PassportError> {
        let (Granularity::Batch, Some(gtin), Some(lot)) = (
            registration.granularity,
            &registration.product.gtin,
            &registration.product.lot,
        ) else {
            return Ok(());
        };
        match self.lot_with_identity(gtin, lot).await? {
            Some(lot_id) => Err(PassportError::LotIdentity { lot_id }),
            None => Ok(()),
        }
    }

    /// The lot that carries GTIN `gtin` with lot number `lot`, as the custody service knows
    /// it; `None` also when no custody service is connected.
    pub async fn lot_with_identity(
        &self,
        gtin: &reetrace_core::domain::Gtin,
        lot: &reetrace_core::domain::LotNumber,
    ) -> Result<Option<Uuid>, PassportError> {
        match self.claims.get() {
            Some(custody) => Ok(custody.lot_with_identity(gtin, lot).await?),
            None => Ok(None),
        }
    }

    /// Claims the recycled content a registration sources from lots, before it is issued;
    /// returns the claim id (to release if the passport is not stored).
    pub(crate) async fn claim_recycled(
        &self,
        org_id: Uuid,
        passport_id: Uuid,
        registration: &Registration,
    ) -> Result<Option<Uuid>, ClaimFailure> {
        let mut by_lot: Vec<(Uuid, Vec<(TrackedElement, Mass)>)> = Vec::new();
        let mut errors = Vec::new();
        for (i, component) in registration.ree_content.components.iter().enumerate() {
            let at = format!("/ree_content/components/{i}");
            let component_sources = component
                .recycled_content
                .iter()
                .flat_map(|r| r.sources.iter().enumerate())
                .map(|(k, source)| (format!("{at}/recycled_content/sources/{k}/lot"), source));
            // A magnet set's claims are on the same lots, for the same product unit.
            let magnet_sources = component
                .magnets
                .iter()
                .enumerate()
                .flat_map(|(m, magnet)| {
                    let at = &at;
                    magnet
                        .recycled_sources
                        .iter()
                        .enumerate()
                        .map(move |(k, source)| {
                            (format!("{at}/magnets/{m}/recycled_sources/{k}/lot"), source)
                        })
                });
            for (pointer, source) in component_sources.chain(magnet_sources) {
                let Ok(lot) = source.lot.parse::<Uuid>() else {
                    errors.push(FieldError::new(
                        pointer,
                        "not a lot id of the custody service",
                    ));
                    continue;
                };
                let elements = source.elements.iter().map(|e| (e.element, e.mass_g));
                match by_lot.iter_mut().find(|(l, _)| *l == lot) {
                    Some((_, named)) => named.extend(elements),
                    None => by_lot.push((lot, elements.collect())),
                }
            }
        }
        if !errors.is_empty() {
            return Err(ClaimFailure::Invalid(errors));
        }
        if by_lot.is_empty() {
            return Ok(None);
        }
        let claims = self.claims.get().ok_or(ClaimFailure::Unreachable)?;
        // Elements named twice for one lot (from two components) add up.
        for (_, elements) in &mut by_lot {
            let mut merged: BTreeMap<TrackedElement, i64> = BTreeMap::new();
            for (e, m) in elements.iter() {
                *merged.entry(*e).or_insert(0) += m.micrograms();
            }
            *elements = merged
                .into_iter()
                .filter_map(|(e, m)| Some((e, Mass::from_micrograms(m).ok()?)))
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
}
