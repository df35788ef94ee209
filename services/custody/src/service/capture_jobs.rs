//! Capture jobs of the EPCIS 2.0 REST binding: a document is accepted (checked as a whole,
//! queued, `202`), then captured by a worker of any instance holding the job's lease, exactly
//! once (see [`crate::domain::capture_job`]): the capture keeps the job's answer with its write,
//! and a worker finding that answer finishes the job with it instead of capturing again.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use reetrace_core::domain::Principal;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::CustodyService;
use super::capture::{CAPTURERS, KeepAnswer};
use crate::domain::CustodyError;
use crate::domain::capture::{CaptureOutcome, ErrorBehaviour, prepare};
use crate::domain::capture_job::{CaptureJob, ClaimedJob, JobOutcome, MAX_ATTEMPTS, NewCaptureJob};

/// How long a claimed job is a worker's without renewal: a job of an instance that died is
/// taken over after at most this long.
pub const JOB_LEASE: Duration = Duration::from_secs(10);
/// How often a worker renews the lease of the job it captures.
const RENEW_EVERY: Duration = Duration::from_secs(3);
/// How often an idle worker looks for jobs queued elsewhere (or whose lease lapsed).
const POLL: Duration = Duration::from_secs(1);
/// How long a job that failed for a passing reason waits before it is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(2);
/// The most jobs one listing returns.
pub const MAX_LISTED_JOBS: i64 = 100;

/// How a job's answers are written: the API's forms of a capture report and of a failure,
/// handed to the worker by whoever starts it (the service speaks no HTTP).
#[derive(Clone, Copy)]
pub struct JobRendering {
    /// The capture report kept with the write (JSON text).
    pub report: fn(&CaptureOutcome) -> String,
    /// A finished job from a kept capture report.
    pub kept: fn(&str) -> JobOutcome,
    /// A finished job that captured nothing.
    pub failure: fn(CustodyError) -> JobOutcome,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

/// Failures that say nothing about the document: tried again, up to [`MAX_ATTEMPTS`].
fn passing(err: &CustodyError) -> bool {
    matches!(
        err,
        CustodyError::Store(_)
            | CustodyError::Internal { .. }
            | CustodyError::Contended(_)
            | CustodyError::ConcurrentRequest
    )
}

impl CustodyService {
    /// Accepts a document for asynchronous capture: the caller must be a capturer, and the
    /// document an `EPCISDocument` within the capture limit (its events are checked when it
    /// is captured). Returns the job's id.
    pub async fn accept_capture(
        &self,
        caller: &Principal,
        document: Value,
        behaviour: ErrorBehaviour,
    ) -> Result<Uuid, CustodyError> {
        caller.require(CAPTURERS)?;
        let text = serde_json::to_string(&document)
            .map_err(|e| CustodyError::internal("capture document", e))?;
        prepare(document, &self.config.bases(), Utc::now())?;
        let job = NewCaptureJob {
            capture_id: Uuid::new_v4(),
            caller: caller.clone(),
            behaviour,
            document: text,
            created_at: Utc::now(),
        };
        self.store.enqueue_capture(&job).await?;
        self.capture_wake.notify_one();
        Ok(job.capture_id)
    }

    /// One job of the caller's organisation.
    pub async fn capture_job(
        &self,
        caller: &Principal,
        capture_id: Uuid,
    ) -> Result<CaptureJob, CustodyError> {
        match self.store.capture_job(capture_id).await? {
            Some(job) if job.org_id == caller.org_id => Ok(job),
            _ => Err(CustodyError::NoCaptureJob(capture_id)),
        }
    }

    /// The newest jobs of the caller's organisation, newest first.
    pub async fn capture_jobs(&self, caller: &Principal) -> Result<Vec<CaptureJob>, CustodyError> {
        Ok(self
            .store
            .capture_jobs_of(caller.org_id, MAX_LISTED_JOBS)
            .await?)
    }

    /// Captures queued jobs until `cancel`: claims one under `owner`'s lease, captures it,
    /// looks again; idle, waits for a job accepted here or polls for others.
    pub async fn run_capture_jobs(
        self,
        owner: String,
        rendering: JobRendering,
        cancel: CancellationToken,
    ) {
        loop {
            if cancel.is_cancelled() {
                return;
            }
            let now = Utc::now().timestamp_millis();
            match self
                .store
                .claim_capture(&owner, now, now + millis(JOB_LEASE))
                .await
            {
                Ok(Some(job)) => {
                    self.run_job(job, &owner, rendering).await;
                    continue;
                }
                Ok(None) => {}
                Err(err) => tracing::warn!(error = %err, "claiming a capture job failed"),
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = self.capture_wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// Captures one claimed job, renewing its lease meanwhile, and records the outcome (or
    /// gives the job back to be tried again).
    #[tracing::instrument(skip_all, fields(capture_id = %job.capture_id, attempt = job.attempts))]
    async fn run_job(&self, job: ClaimedJob, owner: &str, rendering: JobRendering) {
        let capture_id = job.capture_id;
        let work = self.job_outcome(&job, rendering);
        tokio::pin!(work);
        let mut renew = tokio::time::interval(RENEW_EVERY);
        renew.tick().await;
        let outcome = loop {
            tokio::select! {
                outcome = &mut work => break outcome,
                _ = renew.tick() => {
                    let until = Utc::now().timestamp_millis() + millis(JOB_LEASE);
                    if let Err(err) = self.store.renew_capture(capture_id, owner, until).await {
                        tracing::warn!(error = %err, "renewing a capture job's lease failed");
                    }
                }
            }
        };
        let result = match outcome {
            Ok(Some(outcome)) => self
                .store
                .finish_capture(capture_id, Utc::now(), &outcome)
                .await
                .map(|_| ()),
            Ok(None) => {
                let retry = Utc::now().timestamp_millis() + millis(RETRY_AFTER);
                self.store.release_capture(capture_id, owner, retry).await
            }
            Err(err) => {
                tracing::warn!(error = %err, "a capture job will be tried again");
                let retry = Utc::now().timestamp_millis() + millis(RETRY_AFTER);
                self.store.release_capture(capture_id, owner, retry).await
            }
        };
        if let Err(err) = result {
            // The lease lapses and the job is taken again.
            tracing::warn!(error = %err, "recording a capture job's outcome failed");
        }
    }

    /// What became of a job: `None` when it should be tried again.
    async fn job_outcome(
        &self,
        job: &ClaimedJob,
        rendering: JobRendering,
    ) -> Result<Option<JobOutcome>, CustodyError> {
        let key = job.answer_key();
        let org = job.caller.org_id;
        // A kept answer means an earlier attempt captured the document.
        if let Some(kept) = self.store.stored_response(org, &key).await? {
            return Ok(Some((rendering.kept)(&kept.body)));
        }
        let document: Value = match serde_json::from_str(&job.document) {
            Ok(document) => document,
            Err(e) => {
                let err = CustodyError::internal("queued capture document", e);
                return Ok(Some((rendering.failure)(err)));
            }
        };
        let keep = KeepAnswer {
            key: key.clone(),
            render: Arc::new(rendering.report),
        };
        let result = self
            .capture_keeping(&job.caller, document, job.behaviour, Some(keep))
            .await;
        // Another worker may have captured it meanwhile; its answer is the job's.
        if let Some(kept) = self.store.stored_response(org, &key).await? {
            return Ok(Some((rendering.kept)(&kept.body)));
        }
        Ok(match result {
            Ok(outcome) => Some((rendering.kept)(&(rendering.report)(&outcome))),
            Err(err) if passing(&err) && job.attempts < MAX_ATTEMPTS => {
                tracing::warn!(error = %err, "a capture job failed for now");
                None
            }
            Err(err) => Some((rendering.failure)(err)),
        })
    }
}
