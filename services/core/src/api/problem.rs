//! RFC 9457 problem details: the one error shape every reetrace endpoint answers with.
//!
//! Services keep their own `thiserror` enums and convert them into a [`Problem`]; the
//! [`problem_layer`] middleware turns every other error response (axum's own rejections, an
//! unknown route, a wrong method, a body that is too large) into the same shape, so a client only
//! ever has to parse one kind of error.

use axum::Json;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::codes::{self, Code};
pub use crate::domain::FieldError;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The prefix of our problem type URIs; the stable machine code follows it.
const TYPE_PREFIX: &str = "urn:reetrace:problem:";

/// An RFC 9457 problem details object.
///
/// `code` is the stable machine-readable identifier clients should branch on; `type` carries the
/// same code as a URI, as RFC 9457 asks.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:reetrace:problem:validation_failed",
    "title": "The request is not valid",
    "status": 422,
    "detail": "element mass exceeds its component's mass",
    "code": "validation_failed",
    "errors": [{"pointer": "/ree_content/components/0/elements/1/mass_g", "detail": "105 g of Pr exceeds the component's 100 g"}]
}))]
pub struct Problem {
    /// A URI naming the problem type (`urn:reetrace:problem:<code>`).
    #[serde(rename = "type")]
    pub type_uri: String,
    /// A short, human-readable summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    /// What went wrong with this request, for a human.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The stable machine-readable error code.
    pub code: String,
    /// Field-level errors, each naming the JSON pointer of the offending field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Further members specific to the problem type (such as `allowed` actions).
    #[serde(flatten)]
    #[schema(additional_properties)]
    pub extensions: Map<String, Value>,
}

impl Problem {
    /// A problem of a registered code, with the code's status and title.
    pub fn new(code: Code) -> Self {
        Self {
            type_uri: format!("{TYPE_PREFIX}{}", code.code),
            title: code.title.to_owned(),
            status: code.status.as_u16(),
            detail: None,
            code: code.code.to_owned(),
            errors: Vec::new(),
            extensions: Map::new(),
        }
    }

    /// Answers with another status than the code's usual one (only for codes whose registry
    /// entry says their status varies).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status.as_u16();
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    /// Adds an extension member (RFC 9457 section 3.2).
    pub fn with(mut self, key: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.extensions.insert(key.to_owned(), value);
        self
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// A 400 of `code` with a detail.
    pub fn bad_request(code: Code, detail: impl Into<String>) -> Self {
        Self::new(code).with_detail(detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(codes::UNAUTHORIZED).with_detail(detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(codes::FORBIDDEN).with_detail(detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(codes::NOT_FOUND).with_detail(detail)
    }

    /// A 409 of `code` with a detail.
    pub fn conflict(code: Code, detail: impl Into<String>) -> Self {
        Self::new(code).with_detail(detail)
    }

    /// 422 with one error per invalid field.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.pointer, one.detail),
            many => format!("{} fields are invalid", many.len()),
        };
        Self::new(codes::VALIDATION_FAILED)
            .with_detail(detail)
            .with_errors(errors)
    }

    /// A bare 500: the cause is logged by the caller, never echoed.
    pub fn internal() -> Self {
        Self::new(codes::INTERNAL)
            .with_detail("The server could not complete the request; it has been logged.")
    }

    pub fn service_unavailable(detail: impl Into<String>) -> Self {
        Self::new(codes::UNAVAILABLE).with_detail(detail)
    }

    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        Self::new(codes::RATE_LIMITED)
            .with_detail(format!(
                "The rate limit for this API key is exceeded; retry in {retry_after_secs} s."
            ))
            .with("retry_after", retry_after_secs)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.code)?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = self
            .extensions
            .get("retry_after")
            .and_then(Value::as_u64)
            .map(|s| s.to_string());
        let mut response = (status, Json(self)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = retry_after.and_then(|s| HeaderValue::from_str(&s).ok()) {
            headers.insert(header::RETRY_AFTER, secs);
        }
        response
    }
}

/// The largest plain-text error body we quote back as a problem's `detail`.
const MAX_QUOTED_BODY: usize = 512;

/// Middleware: any error response that is not already problem+json becomes one.
///
/// axum's extractors, its 404 fallback and its 405 answers produce `text/plain` or empty
/// bodies; this keeps their status and headers (such as `Allow`) and replaces the body.
pub async fn problem_layer(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_structured(&response) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = match body.collect().await {
        Ok(collected) => {
            let bytes = collected.to_bytes();
            String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_QUOTED_BODY)]).into_owned()
        }
        Err(_) => String::new(),
    };
    let problem = problem_for_status(status, text.trim());
    let fresh = problem.into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    let (_, body) = fresh.into_parts();
    Response::from_parts(parts, body)
}

/// A body a handler chose on purpose (problem+json, a JSON document such as a bulk outcome,
/// or an HTML page for people, such as the free-access page's 404); axum's own rejections are
/// plain text or empty.
fn is_structured(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let essence = v.split(';').next().unwrap_or("").trim();
            essence.ends_with("json") || essence == "application/x-ndjson" || essence == "text/html"
        })
}

/// The problem we answer for an error status that carried no problem body.
fn problem_for_status(status: StatusCode, text: &str) -> Problem {
    let detail = |fallback: &str| {
        if text.is_empty() {
            fallback.to_owned()
        } else {
            text.to_owned()
        }
    };
    match status {
        StatusCode::NOT_FOUND => Problem::not_found(detail("No resource at this path.")),
        StatusCode::METHOD_NOT_ALLOWED => Problem::new(codes::METHOD_NOT_ALLOWED).with_detail(
            "This path does not support this method; the Allow header lists the ones it does.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => Problem::new(codes::BODY_TOO_LARGE).with_detail(detail(
            "The request body exceeds the size limit of this route.",
        )),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Problem::new(codes::UNSUPPORTED_MEDIA_TYPE)
            .with_detail(detail("The request body has an unsupported Content-Type.")),
        StatusCode::NOT_ACCEPTABLE => Problem::new(codes::NOT_ACCEPTABLE)
            .with_detail(detail("No representation matches the Accept header.")),
        StatusCode::UNPROCESSABLE_ENTITY => Problem::new(codes::VALIDATION_FAILED)
            .with_detail(detail("The request body does not have the expected shape.")),
        StatusCode::BAD_REQUEST => {
            Problem::bad_request(codes::BAD_REQUEST, detail("The request is malformed."))
        }
        StatusCode::REQUEST_TIMEOUT => Problem::new(codes::TIMEOUT),
        // Never echo what a server error body said: it may hold internals.
        s if s.is_server_error() => Problem::internal().with_status(s),
        s => {
            let mut problem = Problem::new(codes::CLIENT_ERROR)
                .with_status(s)
                .with_detail(detail("The request was refused."));
            // The registry's title is generic; the status's own reason says more.
            if let Some(reason) = s.canonical_reason() {
                problem.title = reason.to_owned();
            }
            problem
        }
    }
}

/// Answers every route that matches nothing.
pub async fn not_found_fallback() -> Problem {
    Problem::not_found("No resource at this path.")
}

/// Converts a panic inside a handler into a bare 500 problem (used with tower-http's
/// `CatchPanicLayer`).
pub fn panic_response(_payload: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    tracing::error!("a request handler panicked");
    Problem::internal().into_response()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn validation_problem_names_the_pointer() {
        let p = Problem::validation(vec![FieldError::new(
            "/product/gtin",
            "check digit should be 7",
        )]);
        assert_eq!(p.status, 422);
        assert_eq!(p.code, "validation_failed");
        assert_eq!(p.type_uri, "urn:reetrace:problem:validation_failed");
        assert!(p.detail.as_deref().unwrap().contains("/product/gtin"));
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["errors"][0]["pointer"], "/product/gtin");
    }

    #[test]
    fn server_errors_never_echo_their_body() {
        let p = problem_for_status(StatusCode::INTERNAL_SERVER_ERROR, "db password is hunter2");
        assert!(!serde_json::to_string(&p).unwrap().contains("hunter2"));
    }

    #[test]
    fn rate_limit_sets_retry_after() {
        let response = Problem::too_many_requests(3).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
    }
}
