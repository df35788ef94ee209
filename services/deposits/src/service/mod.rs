//! The deposits service's use cases: record a deposit, record a new version of it, withdraw it,
//! read and list them. Each version is a credential signed with the recording organisation's
//! key (core's issuing capability) and carrying a revocation entry in its status list.

pub mod views;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use reetrace_core::db::StoreError;
use reetrace_core::domain::FieldError;
use reetrace_core::domain::idempotency::{Answer, Idempotency};
use reetrace_core::domain::issuing::StatusPurpose;
use reetrace_core::domain::issuing::status_list::status_entry;
use reetrace_core::service::issuing::{Issuing, IssuingError, SecureError};
use serde_json::Value;
use uuid::Uuid;

use crate::domain::credential::{Issue, unsigned};
use crate::domain::deposit::{Deposit, DepositInput};
use crate::domain::exact::ExactError;
use crate::store::{
    DepositFilter, DepositStore, KeptAnswer, NewVersion, StoredVersion, VersionRefused,
};
use views::DepositView;

/// Deposits a list answers at most.
pub const MAX_PAGE: u32 = 500;

/// Why a use case failed, in terms the API answers.
#[derive(Debug, thiserror::Error)]
pub enum DepositError {
    /// The record breaks rules; every field named.
    #[error("the deposit record is invalid")]
    Invalid(Vec<FieldError>),
    /// The figures cannot be computed exactly (a concentration times a tonnage past 10^38).
    #[error("the content cannot be computed exactly: {0}")]
    Figures(ExactError),
    #[error("no deposit {0}")]
    NotFound(Uuid),
    #[error("deposit {0} is recorded by another organisation")]
    NotOwner(Uuid),
    #[error("deposit {0} was withdrawn")]
    Revoked(Uuid),
    #[error(transparent)]
    Issuing(#[from] IssuingError),
    #[error("the credential could not be secured: {0}")]
    Secure(#[from] SecureError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<VersionRefused> for DepositError {
    fn from(e: VersionRefused) -> Self {
        match e {
            VersionRefused::NotFound(id) => DepositError::NotFound(id),
            VersionRefused::NotOwner(id) => DepositError::NotOwner(id),
            VersionRefused::Revoked(id) => DepositError::Revoked(id),
            VersionRefused::Store(e) => DepositError::Store(e),
        }
    }
}

/// A version as read: the stored row, its record checked again, and its credential.
#[derive(Debug, Clone)]
pub struct DepositVersion {
    pub stored: StoredVersion,
    pub deposit: Deposit,
    pub credential: Value,
}

/// The deposits service.
#[derive(Clone)]
pub struct DepositService {
    store: Arc<dyn DepositStore>,
    issuing: Arc<Issuing>,
}

impl DepositService {
    pub fn new(store: Arc<dyn DepositStore>, issuing: Arc<Issuing>) -> Self {
        Self { store, issuing }
    }

    /// The store (for the feed).
    pub fn store(&self) -> &Arc<dyn DepositStore> {
        &self.store
    }

    /// Records a new deposit for `org_id`; its first version. With an `Idempotency-Key`, the
    /// answer is kept with the write, and a retry gets it back instead of a second deposit.
    pub async fn create(
        &self,
        org_id: Uuid,
        input: &DepositInput,
        at: DateTime<Utc>,
        idem: &Idempotency,
    ) -> Result<Answer<DepositVersion>, DepositError> {
        if let Some(key) = &idem.key
            && let Some(stored) = self.store.kept_answer(org_id, key.as_str()).await?
        {
            return Ok(Answer::Replay(stored));
        }
        let deposit_id = Uuid::now_v7();
        let version = self.issue(org_id, deposit_id, 1, input, at).await?;
        let made = view(StoredVersion {
            deposit_id,
            org_id,
            version: 1,
            credential_id: version.credential_id,
            record: version.record.clone(),
            credential: version.credential.clone(),
            revocation_list: version.revocation_list.clone(),
            revocation_index: version.revocation_index,
            created_at: at,
            revoked_at: None,
        })?;
        let kept = match &idem.key {
            Some(key) => {
                let body = serde_json::to_string(&DepositView::of(&made))
                    .map_err(|e| DepositError::Store(StoreError::Corrupt(e.to_string())))?;
                Some(KeptAnswer {
                    key: key.as_str().to_owned(),
                    response: idem.response(201, body),
                })
            }
            None => None,
        };
        match self.store.insert_deposit(&version, kept.as_ref()).await {
            Ok(()) => Ok(Answer::Fresh(made)),
            // The same key raced with this request and won: its answer is the one.
            Err(StoreError::Conflict { .. }) if kept.is_some() => {
                match self.store.kept_answer(org_id, idem_key(idem)).await? {
                    Some(stored) => Ok(Answer::Replay(stored)),
                    None => Err(DepositError::Store(StoreError::Conflict {
                        constraint: "deposit_idempotency".into(),
                    })),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Records the next version of `deposit_id`, which `org_id` must have recorded.
    pub async fn update(
        &self,
        org_id: Uuid,
        deposit_id: Uuid,
        input: &DepositInput,
        at: DateTime<Utc>,
    ) -> Result<DepositVersion, DepositError> {
        let current = self
            .store
            .version(deposit_id, None)
            .await?
            .ok_or(DepositError::NotFound(deposit_id))?;
        if current.org_id != org_id {
            return Err(DepositError::NotOwner(deposit_id));
        }
        if current.revoked_at.is_some() {
            return Err(DepositError::Revoked(deposit_id));
        }
        // The same record again (a retried PUT) changes nothing and answers the current version.
        let record = record_text(input)?;
        if record == current.record {
            return view(current);
        }
        // A writer that raced to the same number is refused by the primary key (a conflict
        // the caller may retry), so a credential never states a number another one has.
        let next = current.version + 1;
        let version = self.issue(org_id, deposit_id, next, input, at).await?;
        self.store.insert_version(&version).await?;
        self.read(deposit_id, Some(next)).await
    }

    /// Withdraws a deposit: every version's credential is revoked. Withdrawing twice changes
    /// nothing and answers the deposit as it is.
    pub async fn revoke(
        &self,
        org_id: Uuid,
        deposit_id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<DepositVersion, DepositError> {
        let versions = self.store.versions(deposit_id).await?;
        let first = versions.first().ok_or(DepositError::NotFound(deposit_id))?;
        if first.org_id != org_id {
            return Err(DepositError::NotOwner(deposit_id));
        }
        let statuses: Vec<_> = versions
            .iter()
            .map(|v| reetrace_core::domain::issuing::StatusRef {
                purpose: StatusPurpose::Revocation,
                list_id: v.revocation_list.clone(),
                index: v.revocation_index,
            })
            .collect();
        // Bits first: a crash between the two leaves the credentials revoked and the deposit
        // still listed, and withdrawing again completes it.
        self.issuing.set_status(&statuses, true).await?;
        self.store.mark_revoked(deposit_id, at).await?;
        self.read(deposit_id, None).await
    }

    /// One version (the newest when `version` is `None`).
    pub async fn read(
        &self,
        deposit_id: Uuid,
        version: Option<i64>,
    ) -> Result<DepositVersion, DepositError> {
        let stored = self
            .store
            .version(deposit_id, version)
            .await?
            .ok_or(DepositError::NotFound(deposit_id))?;
        view(stored)
    }

    /// Every version of a deposit, oldest first.
    pub async fn history(&self, deposit_id: Uuid) -> Result<Vec<DepositVersion>, DepositError> {
        let versions = self.store.versions(deposit_id).await?;
        if versions.is_empty() {
            return Err(DepositError::NotFound(deposit_id));
        }
        versions.into_iter().map(view).collect()
    }

    /// The newest version of each deposit matching `filter`, after the cursor `after`.
    pub async fn list(
        &self,
        filter: &DepositFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<DepositVersion>, DepositError> {
        let rows = self
            .store
            .latest(filter, after, limit.clamp(1, MAX_PAGE))
            .await?;
        rows.into_iter().map(view).collect()
    }

    /// Checks `input` and signs its credential as version `version` of `deposit_id`.
    async fn issue(
        &self,
        org_id: Uuid,
        deposit_id: Uuid,
        version: i64,
        input: &DepositInput,
        at: DateTime<Utc>,
    ) -> Result<NewVersion, DepositError> {
        let deposit = Deposit::parse(input, at.date_naive()).map_err(DepositError::Invalid)?;
        let record = record_text(input)?;
        let status = self
            .issuing
            .allocate(org_id, StatusPurpose::Revocation, 1)
            .await?
            .pop()
            .ok_or_else(|| IssuingError::internal("no status index allocated"))?;
        let key = self.issuing.issuer_key(org_id).await?;
        let credential_id = Uuid::now_v7();
        let issue = Issue {
            credential_id,
            deposit_id,
            version,
            base_url: self.issuing.base_url(),
            issuer: key.issuer(),
            at,
            status: vec![status_entry(self.issuing.base_url(), &status)],
        };
        let document = unsigned(&deposit, &issue).map_err(DepositError::Figures)?;
        let credential = key.sign_text(&document, at)?;
        Ok(NewVersion {
            deposit_id,
            version,
            org_id,
            credential_id,
            name: deposit.name.clone(),
            deposit_type: deposit.deposit_type.as_str().to_owned(),
            status: deposit.status.as_str().to_owned(),
            country: deposit.country.code().to_owned(),
            record,
            credential,
            revocation_list: status.list_id,
            revocation_index: status.index,
            at,
        })
    }
}

fn idem_key(idem: &Idempotency) -> &str {
    idem.key.as_ref().map(|k| k.as_str()).unwrap_or_default()
}

/// The record as stored: the input's own serialisation (field order and numbers fixed), so two
/// requests stating the same record give the same text.
fn record_text(input: &DepositInput) -> Result<String, DepositError> {
    serde_json::to_string(input)
        .map_err(|e| DepositError::Store(StoreError::Corrupt(e.to_string())))
}

fn view(stored: StoredVersion) -> Result<DepositVersion, DepositError> {
    let corrupt = |what: String| {
        DepositError::Store(StoreError::Corrupt(format!(
            "deposit {} version {}: {what}",
            stored.deposit_id, stored.version
        )))
    };
    let input: DepositInput =
        serde_json::from_str(&stored.record).map_err(|e| corrupt(e.to_string()))?;
    let deposit = Deposit::stored(&input, stored.created_at.date_naive())
        .map_err(|e| corrupt(format!("{e:?}")))?;
    let credential =
        serde_json::from_str(&stored.credential).map_err(|e| corrupt(e.to_string()))?;
    Ok(DepositVersion {
        stored,
        deposit,
        credential,
    })
}
