//! Capture jobs of the EPCIS 2.0 REST binding: a document accepted for capture (`202` with the
//! job's location), captured later by a worker of any instance, and what became of it.
//!
//! A job is captured exactly once: its document is written together with the job's own
//! idempotent answer, in one transaction, so a worker that dies after the write leaves that
//! answer for the next one to find instead of capturing again.

use chrono::{DateTime, Utc};
use reetrace_core::domain::Principal;
use serde_json::Value;
use uuid::Uuid;

use super::capture::ErrorBehaviour;

/// How many times a job is tried before it is given up as failed (a worker dying counts).
pub const MAX_ATTEMPTS: i64 = 5;

/// A job as accepted.
#[derive(Debug, Clone)]
pub struct NewCaptureJob {
    pub capture_id: Uuid,
    /// Who sent the document: its organisation, role and key, as authenticated then.
    pub caller: Principal,
    pub behaviour: ErrorBehaviour,
    /// The `EPCISDocument` as received (JSON).
    pub document: String,
    pub created_at: DateTime<Utc>,
}

/// A job a worker holds the lease of.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub capture_id: Uuid,
    pub caller: Principal,
    pub behaviour: ErrorBehaviour,
    pub document: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
}

impl ClaimedJob {
    /// The key the job's answer is kept under, with the write that captures its document. It
    /// holds spaces, which no client's `Idempotency-Key` may, so no request can take it.
    pub fn answer_key(&self) -> String {
        answer_key(self.capture_id)
    }
}

/// The key a job's answer is kept under (see [`ClaimedJob::answer_key`]).
pub fn answer_key(capture_id: Uuid) -> String {
    format!("epcis capture job {capture_id}")
}

/// What became of a finished job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobOutcome {
    /// Whether the document (or with `proceed`, its valid events) was captured.
    pub success: bool,
    /// The job's errors (JSON array; per event where an event failed).
    pub errors: Value,
    /// The capture report (JSON), when the capture went through.
    pub report: Option<Value>,
}

/// A job as its sender reads it.
#[derive(Debug, Clone)]
pub struct CaptureJob {
    pub capture_id: Uuid,
    pub org_id: Uuid,
    pub behaviour: ErrorBehaviour,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Set once finished.
    pub outcome: Option<JobOutcome>,
}

impl CaptureJob {
    /// Whether it is still to be captured (queued, or being captured).
    pub fn running(&self) -> bool {
        self.finished_at.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_keys_cannot_be_sent_by_clients() {
        let key = answer_key(Uuid::nil());
        assert!(
            reetrace_core::domain::idempotency::IdempotencyKey::parse(&key).is_err(),
            "{key}"
        );
    }
}
