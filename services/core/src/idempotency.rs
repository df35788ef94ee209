//! `Idempotency-Key` on POSTs: a retried request gets the first answer, never a second write.
//!
//! Each service stores the answer to an idempotent request in the same transaction as the write
//! it made, keyed by the caller's organisation and the key, with a fingerprint of the request.
//! A retry with the same fingerprint replays the stored answer; the same key with another
//! request is refused (422), as the IETF draft on the header recommends.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::problem::Problem;

/// The request header.
pub const HEADER: &str = "idempotency-key";

/// A validated `Idempotency-Key`: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The key of a request, if it has one; a malformed key is a 400.
    pub fn from_headers(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, Problem> {
        let Some(value) = headers.get(HEADER) else {
            return Ok(None);
        };
        let text = value.to_str().unwrap_or("");
        // Structured-field strings arrive quoted; accept both forms.
        let text = text
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .unwrap_or(text);
        if text.is_empty() || text.len() > 255 || !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Problem::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 255 visible ASCII characters.",
            ));
        }
        Ok(Some(IdempotencyKey(text.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The idempotency context of a request: its key (if any) and its fingerprint.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key: Option<IdempotencyKey>,
    pub fingerprint: [u8; 32],
}

impl Idempotency {
    /// The context of a request with these headers and body.
    pub fn of(method: &str, path: &str, headers: &HeaderMap, body: &[u8]) -> Result<Self, Problem> {
        Ok(Self {
            key: IdempotencyKey::from_headers(headers)?,
            fingerprint: fingerprint(method, path, body),
        })
    }

    /// The JSON answer to keep for this request.
    pub fn response(&self, status: u16, body: String) -> StoredResponse {
        StoredResponse {
            fingerprint: self.fingerprint,
            status,
            content_type: "application/json".into(),
            body,
        }
    }
}

/// What a request that may be a retry returned: fresh, or the replay of a stored answer.
pub enum Answer<T> {
    Fresh(T),
    Replay(StoredResponse),
}

/// What identifies a request beside its key: method, path and body.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(method.as_bytes());
    hash.update([0]);
    hash.update(path.as_bytes());
    hash.update([0]);
    hash.update(body);
    hash.finalize().into()
}

/// An answer stored for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub fingerprint: [u8; 32],
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl StoredResponse {
    /// The stored answer for a retry with `fingerprint`, or 422 if the key was used for a
    /// different request.
    pub fn replay(self, fingerprint: &[u8; 32]) -> Result<Response, Problem> {
        if &self.fingerprint != fingerprint {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "Idempotency-Key reused",
            )
            .with_detail("This Idempotency-Key was used for a different request; use a new key."));
        }
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        let content_type = HeaderValue::from_str(&self.content_type)
            .unwrap_or(HeaderValue::from_static("application/json"));
        let mut response = (status, self.body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type);
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
        Ok(response)
    }
}

/// The stored form of a fingerprint column.
pub fn fingerprint_from_bytes(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    if bytes.len() == 32 {
        out.copy_from_slice(bytes);
    }
    out
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
        assert!(
            IdempotencyKey::from_headers(&HeaderMap::new())
                .unwrap()
                .is_none()
        );
        let key =
            IdempotencyKey::from_headers(&headers("\"8e03978e-40d5-43e8-bc93-6894a57f9324\""))
                .unwrap();
        assert_eq!(
            key.unwrap().as_str(),
            "8e03978e-40d5-43e8-bc93-6894a57f9324"
        );
        assert_eq!(
            IdempotencyKey::from_headers(&headers("a b"))
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(
            IdempotencyKey::from_headers(&headers(&"x".repeat(256)))
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
        let response = stored
            .clone()
            .replay(&fingerprint("POST", "/a", b"{}"))
            .unwrap();
        assert_eq!(response.status(), 201);
        assert_eq!(response.headers()["idempotent-replayed"], "true");
        let err = stored
            .replay(&fingerprint("POST", "/a", b"{\"x\":1}"))
            .unwrap_err();
        assert_eq!(err.code, "idempotency_key_reused");
    }
}
