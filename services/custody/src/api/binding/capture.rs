//! Asynchronous capture as the EPCIS 2.0 REST binding defines it: `POST /capture` answers
//! `202 Accepted` with the `Location` of a capture job; `GET /capture/{captureID}` tells whether
//! it is still running, whether it succeeded, and why events failed.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use reetrace_core::api::auth::Auth;
use reetrace_core::api::codes::{
    AUTHENTICATED, BAD_REQUEST, BODY_TOO_LARGE, FORBIDDEN, INVALID_TEXT, MALFORMED_JSON, NOT_FOUND,
    UNSUPPORTED_MEDIA_TYPE, VALIDATION_FAILED, listed,
};
use reetrace_core::api::extract::{parse_json, require_json_content_type};
use reetrace_core::api::problem::Problem;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use super::super::CustodyState;
use super::super::epcis::{
    CaptureReport, EpcisDocument, EventError, capture_example, error_behaviour_of, gs1_headers,
};
use super::super::error::{CAPTURE_LIMIT, INVALID_HEADER};
use super::BASE;
use crate::domain::CustodyError;
use crate::domain::capture::{CaptureOutcome, EventStatus};
use crate::domain::capture_job::{CaptureJob, JobOutcome};
use crate::service::{CAPTURERS, JobRendering};

/// The problem type of a refused event, as the binding names its exceptions.
const VALIDATION_EXCEPTION: &str = "epcisException:ValidationException";
/// The problem type of a capture that failed for another reason.
const IMPLEMENTATION_EXCEPTION: &str = "epcisException:ImplementationException";

/// Why (part of) a capture job failed: one per refused event, or one for the whole document.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CaptureJobError {
    /// The EPCIS exception (`epcisException:ValidationException` for a refused event).
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    /// The HTTP status this error alone would have.
    pub status: u16,
    pub detail: String,
    /// A stable machine code (`schema`, `step_not_allowed`, ...).
    pub code: String,
    /// The event's position in `epcisBody.eventList`, for an event's error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// A JSON pointer into the captured document, for an event's error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
}

impl From<&EventError> for CaptureJobError {
    fn from(e: &EventError) -> Self {
        CaptureJobError {
            type_uri: VALIDATION_EXCEPTION.to_owned(),
            title: "Event refused".to_owned(),
            status: e.status,
            detail: e.detail.clone(),
            code: e.code.clone(),
            index: Some(e.index),
            pointer: Some(e.pointer.clone()),
        }
    }
}

/// A capture job, as the binding's `captureJob` schema has it (with our capture report).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EpcisCaptureJob {
    #[serde(rename = "captureID")]
    pub capture_id: Uuid,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: String,
    /// When it finished; absent while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, format = DateTime)]
    pub finished_at: Option<String>,
    /// Queued or being captured.
    pub running: bool,
    /// Finished, and the document (with `proceed`, its valid events) captured.
    pub success: bool,
    /// `rollback` or `proceed`.
    #[schema(pattern = "^(rollback|proceed)$")]
    pub capture_error_behaviour: String,
    /// Why events (or the whole document) failed; empty while it runs.
    pub errors: Vec<CaptureJobError>,
    /// What became of each event, once captured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<CaptureReport>,
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl From<CaptureJob> for EpcisCaptureJob {
    fn from(job: CaptureJob) -> Self {
        let running = job.running();
        let (success, errors, report) = match job.outcome {
            Some(outcome) => (
                outcome.success,
                serde_json::from_value(outcome.errors).unwrap_or_default(),
                outcome.report.and_then(|r| serde_json::from_value(r).ok()),
            ),
            None => (false, Vec::new(), None),
        };
        EpcisCaptureJob {
            capture_id: job.capture_id,
            created_at: time(job.created_at),
            finished_at: job.finished_at.map(time),
            running,
            success,
            capture_error_behaviour: job.behaviour.as_str().to_owned(),
            errors,
            report,
        }
    }
}

fn report_text(outcome: &CaptureOutcome) -> String {
    serde_json::to_string(&CaptureReport::from(outcome.clone())).unwrap_or_default()
}

fn kept(body: &str) -> JobOutcome {
    match serde_json::from_str::<CaptureReport>(body) {
        Ok(report) => {
            let errors: Vec<CaptureJobError> = report
                .events
                .iter()
                .filter(|e| e.status == EventStatus::Refused)
                .flat_map(|e| e.errors.iter().map(CaptureJobError::from))
                .collect();
            JobOutcome {
                success: true,
                errors: json!(errors),
                report: serde_json::to_value(&report).ok(),
            }
        }
        Err(e) => failure(CustodyError::internal("kept capture report", e)),
    }
}

fn failure(err: CustodyError) -> JobOutcome {
    let problem = Problem::from(err);
    let per_event: Option<Vec<EventError>> = problem
        .extensions
        .get("event_errors")
        .and_then(|e| serde_json::from_value(e.clone()).ok());
    let errors: Vec<CaptureJobError> = match per_event {
        Some(events) => events.iter().map(CaptureJobError::from).collect(),
        None => vec![CaptureJobError {
            type_uri: if problem.status >= 500 {
                IMPLEMENTATION_EXCEPTION
            } else {
                VALIDATION_EXCEPTION
            }
            .to_owned(),
            title: problem.title.clone(),
            status: problem.status,
            detail: problem
                .detail
                .clone()
                .unwrap_or_else(|| problem.title.clone()),
            code: problem.code.clone(),
            index: None,
            pointer: None,
        }],
    };
    JobOutcome {
        success: false,
        errors: json!(errors),
        report: None,
    }
}

/// How capture jobs' answers are written (for the worker, see [`JobRendering`]).
pub const JOB_RENDERING: JobRendering = JobRendering {
    report: report_text,
    kept,
    failure,
};

/// Accepts an EPCIS 2.0 document for capture (EPCIS 2.0 REST binding).
///
/// Recyclers only, with the same keys and rules as `POST /api/v1/epcis/capture`: the
/// document is checked as a whole now (JSON, an `EPCISDocument`, at most 10,000 events) and
/// queued; its events are captured by a worker of any instance, exactly once, and what became
/// of them is read from the job at `Location` (`GET /epcis/2.0/capture/{captureID}`). The
/// error behaviour is `GS1-Capture-Error-Behaviour` (`rollback` by default, or `proceed`; the
/// spelling `GS1-EPCIS-Capture-Error-Behaviour` is accepted too). A job accepted survives a
/// restart of the server. Counts against the bound on bulk requests in flight (503 over it).
#[utoipa::path(
    post, path = "/epcis/2.0/capture", tag = "epcis-binding", operation_id = "captureEpcisAsync",
    summary = "Capture an EPCIS 2.0 document asynchronously",
    params(
        ("GS1-Capture-Error-Behaviour" = Option<String>, Header, nullable = false,
            pattern = "^(rollback|proceed)$",
            description = "`rollback` (default: all or nothing) or `proceed` (store the valid events)"),
        ("GS1-EPCIS-Capture-Error-Behaviour" = Option<String>, Header, nullable = false,
            pattern = "^(rollback|proceed)$",
            description = "The same, as this service spelled it first; if both are sent they must agree"),
    ),
    request_body(content(
        (EpcisDocument = "application/ld+json", example = capture_example),
        (EpcisDocument = "application/json", example = capture_example),
    )),
    responses(
        (status = 202, description = "Accepted; the capture job is at `Location`", body = EpcisCaptureJob,
         headers(("Location" = String, description = "The capture job's URL"))),
        (status = 400, description = "Not JSON, or a bad header", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a recycler", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "More than 10,000 events, or a body over the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a JSON body", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an EPCISDocument", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[
        BAD_REQUEST, BODY_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, INVALID_HEADER, FORBIDDEN, MALFORMED_JSON,
        VALIDATION_FAILED, CAPTURE_LIMIT,
    ]])))),
)]
pub(super) async fn capture(
    State(state): State<CustodyState>,
    Auth(caller): Auth,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    require_json_content_type(&headers)?;
    let behaviour = error_behaviour_of(&headers)?;
    caller.require(CAPTURERS)?;
    let document: Value = parse_json(&body)?;
    let id = state
        .service
        .accept_capture(&caller, document, behaviour)
        .await?;
    let job = state.service.capture_job(&caller, id).await?;
    let mut response = (
        StatusCode::ACCEPTED,
        gs1_headers(),
        Json(EpcisCaptureJob::from(job)),
    )
        .into_response();
    let location = format!("{}{BASE}/capture/{id}", state.service.base_url());
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// Reads a capture job of the caller's organisation (EPCIS 2.0 REST binding).
///
/// `running` while it is queued or being captured; then `success`, `finishedAt`, and in
/// `errors` why events failed (with `index` and `pointer` into the document): with
/// `rollback`, a failing event fails the job and nothing is stored; with `proceed`, the valid
/// events are stored and the others listed. `report` has the outcome of every event.
#[utoipa::path(
    get, path = "/epcis/2.0/capture/{captureID}", tag = "epcis-binding", operation_id = "getCaptureJob",
    summary = "Read a capture job",
    params(("captureID" = Uuid, Path, description = "The job's id, from `Location`")),
    responses(
        (status = 200, description = "The job", body = EpcisCaptureJob),
        (status = 400, description = "Not a capture id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No job of the caller's organisation has this id", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[BAD_REQUEST, INVALID_TEXT, NOT_FOUND]])))),
)]
pub(super) async fn capture_job(
    State(state): State<CustodyState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let Ok(id) = id.parse::<Uuid>() else {
        return Err(Problem::not_found(format!(
            "No capture job {id:?}: capture ids are UUIDs."
        )));
    };
    let job = state.service.capture_job(&caller, id).await?;
    Ok((gs1_headers(), Json(EpcisCaptureJob::from(job))).into_response())
}

/// Lists capture jobs.
///
/// The capture jobs of the caller's organisation, newest first (at most 100), each as
/// `GET /epcis/2.0/capture/{captureID}` answers it.
#[utoipa::path(
    get, path = "/epcis/2.0/capture", tag = "epcis-binding", operation_id = "listCaptureJobs",
    summary = "List capture jobs",
    responses(
        (status = 200, description = "The jobs, newest first", body = Vec<EpcisCaptureJob>),
        (status = 401, description = "No API key", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[]])))),
)]
pub(super) async fn capture_jobs(
    State(state): State<CustodyState>,
    Auth(caller): Auth,
) -> Result<Response, Problem> {
    let jobs: Vec<EpcisCaptureJob> = state
        .service
        .capture_jobs(&caller)
        .await?
        .into_iter()
        .map(EpcisCaptureJob::from)
        .collect();
    Ok((gs1_headers(), Json(jobs)).into_response())
}
