//! `Idempotency-Key` on POSTs: a retried request gets the first answer, never a second write.
//!
//! Each service stores the answer to an idempotent request in the same transaction as the write
//! it made, keyed by the caller's organisation and the key, with a fingerprint of the request.
//! A retry with the same fingerprint replays the stored answer; the same key with another
//! request is refused (422), as the IETF draft on the header recommends.

use super::codes;
use super::problem::Problem;
pub use crate::domain::idempotency::{
    Answer, Idempotency, IdempotencyKey, StoredResponse, fingerprint, fingerprint_from_bytes,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The request header.
pub const HEADER: &str = "idempotency-key";

/// The key of a request, if it has one; a malformed key is a 400.
pub fn key_from_headers(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, Problem> {
    let Some(value) = headers.get(HEADER) else {
        return Ok(None);
    };
    IdempotencyKey::parse(value.to_str().unwrap_or(""))
        .map(Some)
        .map_err(|why| Problem::bad_request(codes::INVALID_IDEMPOTENCY_KEY, why))
}

/// The idempotency context of a request with these headers and body.
pub fn of(
    method: &str,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Idempotency, Problem> {
    Ok(Idempotency {
        key: key_from_headers(headers)?,
        fingerprint: fingerprint(method, path, body),
    })
}

/// The request's idempotency, its body's fingerprint computed by the caller as the body was
/// read ([`crate::domain::idempotency::Fingerprinting`]).
pub fn of_fingerprint(headers: &HeaderMap, fingerprint: [u8; 32]) -> Result<Idempotency, Problem> {
    Ok(Idempotency {
        key: key_from_headers(headers)?,
        fingerprint,
    })
}

/// The answer to a request that may be a retry: a fresh value as JSON with `status`, or the
/// replay of the stored answer.
pub fn respond<T: serde::Serialize>(
    answer: Answer<T>,
    status: StatusCode,
    idem: &Idempotency,
) -> Result<Response, Problem> {
    match answer {
        Answer::Fresh(value) => Ok((status, axum::Json(value)).into_response()),
        Answer::Replay(stored) => replay(stored, &idem.fingerprint),
    }
}

/// The stored answer for a retry with `fingerprint`, or 422 if the key was used for a
/// different request.
pub fn replay(stored: StoredResponse, fingerprint: &[u8; 32]) -> Result<Response, Problem> {
    if &stored.fingerprint != fingerprint {
        return Err(Problem::new(codes::IDEMPOTENCY_KEY_REUSED)
            .with_detail("This Idempotency-Key was used for a different request; use a new key."));
    }
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let content_type = HeaderValue::from_str(&stored.content_type)
        .unwrap_or(HeaderValue::from_static("application/json"));
    let mut response = (status, stored.body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    Ok(response)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(HEADER, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn keys_are_validated() {
        assert!(key_from_headers(&HeaderMap::new()).unwrap().is_none());
        let key = key_from_headers(&headers("\"8e03978e-40d5-43e8-bc93-6894a57f9324\"")).unwrap();
        assert_eq!(
            key.unwrap().as_str(),
            "8e03978e-40d5-43e8-bc93-6894a57f9324"
        );
        assert_eq!(key_from_headers(&headers("a b")).unwrap_err().status, 400);
        assert_eq!(
            key_from_headers(&headers(&"x".repeat(256)))
                .unwrap_err()
                .status,
            400
        );
    }

    #[test]
    fn replay_checks_the_fingerprint() {
        let stored = StoredResponse {
            fingerprint: fingerprint("POST", "/a", b"{}"),
            status: 201,
            content_type: "application/json".into(),
            body: "{\"id\":1}".into(),
        };
        let response = replay(stored.clone(), &fingerprint("POST", "/a", b"{}")).unwrap();
        assert_eq!(response.status(), 201);
        assert_eq!(response.headers()["idempotent-replayed"], "true");
        let err = replay(stored, &fingerprint("POST", "/a", b"{\"x\":1}")).unwrap_err();
        assert_eq!(err.code, "idempotency_key_reused");
    }
}
