//! Idempotent requests: the answer to a request with an `Idempotency-Key` is stored with the
//! write it made, with a fingerprint of the request, and replayed to a retry.

use sha2::{Digest, Sha256};

/// A validated `Idempotency-Key`: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Reads a header value; structured-field strings arrive quoted, and both forms are taken.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let text = text
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .unwrap_or(text);
        if text.is_empty() || text.len() > 255 || !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("Idempotency-Key must be 1 to 255 visible ASCII characters.");
        }
        Ok(IdempotencyKey(text.to_owned()))
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
    let mut hash = Fingerprinting::start(method, path);
    hash.update(body);
    hash.finish()
}

/// The [`fingerprint`] of a request whose body is read in pieces (a streamed bulk body).
#[derive(Clone)]
pub struct Fingerprinting(Sha256);

impl Fingerprinting {
    pub fn start(method: &str, path: &str) -> Self {
        let mut hash = Sha256::new();
        hash.update(method.as_bytes());
        hash.update([0]);
        hash.update(path.as_bytes());
        hash.update([0]);
        Self(hash)
    }

    /// The next piece of the body.
    pub fn update(&mut self, piece: &[u8]) {
        self.0.update(piece);
    }

    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

/// An answer stored for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub fingerprint: [u8; 32],
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

/// The stored form of a fingerprint column.
pub fn fingerprint_from_bytes(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    if bytes.len() == 32 {
        out.copy_from_slice(bytes);
    }
    out
}
