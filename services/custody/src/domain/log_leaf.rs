//! What the tamper-evident log commits to: each event's digest, its place in every chain it
//! joins, and the Merkle leaf built from both. `reetrace verify-log` recomputes all of this
//! from the stored events.

use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// SHA-256 of the exact stored event bytes.
pub fn event_digest(document: &str) -> [u8; 32] {
    Sha256::digest(document.as_bytes()).into()
}

/// The link before a subject's first event.
pub fn genesis(subject: Uuid) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"reetrace:chain:");
    h.update(subject.as_bytes());
    h.finalize().into()
}

/// Link n = SHA-256(link n-1 || event digest).
pub fn next_link(previous: &[u8], digest: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(previous);
    h.update(digest);
    h.finalize().into()
}

/// One chain an event joins: the subject, the event's position in its chain, the new link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    pub subject: Uuid,
    pub seq: i64,
    pub link: [u8; 32],
}

/// The Merkle leaf input of an event: JCS of its id, digest and chain links (by subject id).
pub fn leaf_data(event_id: &str, digest: &[u8; 32], joined: &[Joined]) -> Vec<u8> {
    let mut sorted: Vec<&Joined> = joined.iter().collect();
    sorted.sort_by_key(|j| j.subject);
    let links: Vec<_> = sorted
        .into_iter()
        .map(|j| json!({"subject": j.subject.to_string(), "seq": j.seq, "link": hex::encode(j.link)}))
        .collect();
    let value = json!({"event_id": event_id, "digest": hex::encode(digest), "links": links});
    reetrace_core::crypto::jcs::canonicalize(&value).unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn leaves_commit_to_event_and_links() {
        let subject = Uuid::nil();
        let digest = event_digest("{\"a\":1}");
        let link = next_link(&genesis(subject), &digest);
        let joined = [Joined {
            subject,
            seq: 1,
            link,
        }];
        let data = leaf_data("urn:uuid:1", &digest, &joined);
        let text = String::from_utf8(data.clone()).unwrap();
        assert!(text.starts_with("{\"digest\":"), "JCS sorts keys: {text}");
        let tampered = leaf_data("urn:uuid:1", &event_digest("{\"a\":2}"), &joined);
        assert_ne!(data, tampered);
        assert_ne!(next_link(&link, &digest), link);
    }
}
