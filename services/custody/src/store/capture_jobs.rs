//! Capture jobs (`custody_capture_jobs`): queued by the REST binding, claimed by workers of any
//! instance with a lease, finished once.
//!
//! A worker claims with a conditional `UPDATE` (the job is unfinished and its lease lapsed),
//! which works alike on both backends: of two instances racing for one job, one updates the row
//! and the other finds nothing to update and tries the next.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reetrace_core::db::{Sql, StoreError};
use reetrace_core::domain::{Principal, Role};
use uuid::Uuid;

use super::SqlCustody;
use super::codec::{json_text, parsed, word};
use crate::domain::capture::ErrorBehaviour;
use crate::domain::capture_job::{CaptureJob, ClaimedJob, JobOutcome, NewCaptureJob};

/// Candidates a claim looks at before giving up for now (others may be taking them).
const CANDIDATES: i64 = 8;

/// Queues, claims and finishes capture jobs.
#[async_trait]
pub trait CaptureJobStore: Send + Sync {
    /// Queues a job.
    async fn enqueue_capture(&self, job: &NewCaptureJob) -> Result<(), StoreError>;
    /// Takes the oldest unfinished job whose lease lapsed before `now_ms`, leased to `owner`
    /// until `until_ms`; `None` when there is none.
    async fn claim_capture(
        &self,
        owner: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<Option<ClaimedJob>, StoreError>;
    /// Extends `owner`'s lease; false when it lost the job (finished, or claimed by another).
    async fn renew_capture(
        &self,
        capture_id: Uuid,
        owner: &str,
        until_ms: i64,
    ) -> Result<bool, StoreError>;
    /// Gives the job back, to be tried again from `retry_at_ms`.
    async fn release_capture(
        &self,
        capture_id: Uuid,
        owner: &str,
        retry_at_ms: i64,
    ) -> Result<(), StoreError>;
    /// Records what became of the job; false when it was finished already.
    async fn finish_capture(
        &self,
        capture_id: Uuid,
        finished_at: DateTime<Utc>,
        outcome: &JobOutcome,
    ) -> Result<bool, StoreError>;
    /// One job.
    async fn capture_job(&self, capture_id: Uuid) -> Result<Option<CaptureJob>, StoreError>;
    /// The newest `limit` jobs of an organisation, newest first.
    async fn capture_jobs_of(
        &self,
        org_id: Uuid,
        limit: i64,
    ) -> Result<Vec<CaptureJob>, StoreError>;
}

const JOB_COLUMNS: &str =
    "capture_id, org_id, behaviour, created_at, finished_at, success, errors, report";

struct JobDb {
    capture_id: Uuid,
    org_id: Uuid,
    behaviour: String,
    created_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    success: Option<bool>,
    errors: Option<String>,
    report: Option<String>,
}

reetrace_core::record!(JobDb {
    capture_id,
    org_id,
    behaviour,
    created_at,
    finished_at,
    success,
    errors,
    report,
});

fn json(column: &str, text: &str) -> Result<serde_json::Value, StoreError> {
    parsed(column, text, |t| {
        serde_json::from_str::<serde_json::Value>(t)
    })
}

impl TryFrom<JobDb> for CaptureJob {
    type Error = StoreError;

    fn try_from(r: JobDb) -> Result<Self, StoreError> {
        let outcome = match (r.finished_at, r.success) {
            (Some(_), Some(success)) => Some(JobOutcome {
                success,
                errors: json("errors", r.errors.as_deref().unwrap_or("[]"))?,
                report: r.report.as_deref().map(|t| json("report", t)).transpose()?,
            }),
            _ => None,
        };
        Ok(CaptureJob {
            capture_id: r.capture_id,
            org_id: r.org_id,
            behaviour: word("behaviour", &r.behaviour, ErrorBehaviour::parse)?,
            created_at: r.created_at,
            finished_at: r.finished_at,
            outcome,
        })
    }
}

struct ClaimedDb {
    capture_id: Uuid,
    org_id: Uuid,
    org_name: String,
    role: String,
    key_id: Uuid,
    behaviour: String,
    document: String,
    attempts: i64,
}

reetrace_core::record!(ClaimedDb {
    capture_id,
    org_id,
    org_name,
    role,
    key_id,
    behaviour,
    document,
    attempts,
});

impl TryFrom<ClaimedDb> for ClaimedJob {
    type Error = StoreError;

    fn try_from(r: ClaimedDb) -> Result<Self, StoreError> {
        Ok(ClaimedJob {
            capture_id: r.capture_id,
            caller: Principal {
                org_id: r.org_id,
                org_name: r.org_name,
                role: parsed("role", &r.role, str::parse::<Role>)?,
                key_id: r.key_id,
            },
            behaviour: word("behaviour", &r.behaviour, ErrorBehaviour::parse)?,
            document: r.document,
            attempts: r.attempts,
        })
    }
}

#[async_trait]
impl CaptureJobStore for SqlCustody {
    async fn enqueue_capture(&self, job: &NewCaptureJob) -> Result<(), StoreError> {
        Sql::new(
            "INSERT INTO custody_capture_jobs (capture_id, org_id, org_name, role, key_id, \
             behaviour, document, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(job.capture_id)
        .bind(job.caller.org_id)
        .bind(&job.caller.org_name)
        .bind(job.caller.role.as_str())
        .bind(job.caller.key_id)
        .bind(job.behaviour.as_str())
        .bind(&job.document)
        .bind(job.created_at)
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    async fn claim_capture(
        &self,
        owner: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<Option<ClaimedJob>, StoreError> {
        let candidates: Vec<Uuid> = Sql::new(
            "SELECT capture_id FROM custody_capture_jobs \
             WHERE finished_at IS NULL AND lease_until_ms < $1 \
             ORDER BY created_at, capture_id LIMIT $2",
        )
        .bind(now_ms)
        .bind(CANDIDATES)
        .scalars(self.db.reader())
        .await?;
        for capture_id in candidates {
            let taken = Sql::new(
                "UPDATE custody_capture_jobs \
                 SET lease_owner = $1, lease_until_ms = $2, attempts = attempts + 1 \
                 WHERE capture_id = $3 AND finished_at IS NULL AND lease_until_ms < $4",
            )
            .bind(owner)
            .bind(until_ms)
            .bind(capture_id)
            .bind(now_ms)
            .execute(self.db.writer())
            .await?;
            if taken == 1 {
                let row: ClaimedDb = Sql::new(
                    "SELECT capture_id, org_id, org_name, role, key_id, behaviour, document, \
                     attempts FROM custody_capture_jobs WHERE capture_id = $1",
                )
                .bind(capture_id)
                .fetch_one(self.db.writer())
                .await?;
                return row.try_into().map(Some);
            }
        }
        Ok(None)
    }

    async fn renew_capture(
        &self,
        capture_id: Uuid,
        owner: &str,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        let renewed = Sql::new(
            "UPDATE custody_capture_jobs SET lease_until_ms = $1 \
             WHERE capture_id = $2 AND lease_owner = $3 AND finished_at IS NULL",
        )
        .bind(until_ms)
        .bind(capture_id)
        .bind(owner)
        .execute(self.db.writer())
        .await?;
        Ok(renewed == 1)
    }

    async fn release_capture(
        &self,
        capture_id: Uuid,
        owner: &str,
        retry_at_ms: i64,
    ) -> Result<(), StoreError> {
        Sql::new(
            "UPDATE custody_capture_jobs SET lease_owner = NULL, lease_until_ms = $1 \
             WHERE capture_id = $2 AND lease_owner = $3 AND finished_at IS NULL",
        )
        .bind(retry_at_ms)
        .bind(capture_id)
        .bind(owner)
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    async fn finish_capture(
        &self,
        capture_id: Uuid,
        finished_at: DateTime<Utc>,
        outcome: &JobOutcome,
    ) -> Result<bool, StoreError> {
        let report = outcome
            .report
            .as_ref()
            .map(|r| json_text("capture report", r))
            .transpose()?;
        let finished = Sql::new(
            "UPDATE custody_capture_jobs SET finished_at = $1, success = $2, errors = $3, \
             report = $4, lease_owner = NULL, document = '' \
             WHERE capture_id = $5 AND finished_at IS NULL",
        )
        .bind(finished_at)
        .bind(outcome.success)
        .bind(json_text("capture errors", &outcome.errors)?)
        .bind(report)
        .bind(capture_id)
        .execute(self.db.writer())
        .await?;
        Ok(finished == 1)
    }

    async fn capture_job(&self, capture_id: Uuid) -> Result<Option<CaptureJob>, StoreError> {
        let row: Option<JobDb> = Sql::new(format!(
            "SELECT {JOB_COLUMNS} FROM custody_capture_jobs WHERE capture_id = $1"
        ))
        .bind(capture_id)
        .fetch_optional(self.db.reader())
        .await?;
        row.map(CaptureJob::try_from).transpose()
    }

    async fn capture_jobs_of(
        &self,
        org_id: Uuid,
        limit: i64,
    ) -> Result<Vec<CaptureJob>, StoreError> {
        let rows: Vec<JobDb> = Sql::new(format!(
            "SELECT {JOB_COLUMNS} FROM custody_capture_jobs WHERE org_id = $1 \
             ORDER BY created_at DESC, capture_id LIMIT $2"
        ))
        .bind(org_id)
        .bind(limit)
        .fetch_all(self.db.reader())
        .await?;
        rows.into_iter().map(CaptureJob::try_from).collect()
    }
}
