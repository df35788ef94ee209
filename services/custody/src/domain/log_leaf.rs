//! What the tamper-evident log commits to: each event's digest, its place in every chain it
//! joins, the stored columns the projections read (its record), and the Merkle leaf built from
//! them. `reetrace verify-log` recomputes all of this from the stored events.
//!
//! Leaves come in two forms. The first ([`leaf_data`]) commits to the event id, the digest of
//! the stored EPCIS document and the chain links only; logs written before the second form
//! keep those leaves. The covering form ([`covering_leaf_data`]) also commits to the
//! [`record_digest`] of every other stored column of the event: what the custody feed says of
//! it (`data`), who recorded it (`org_id`), its action, time, hash, type, business step and
//! location, and when the log recorded it. Every event appended now gets a covering leaf.

use chrono::{DateTime, SubsecRound, Utc};
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
/// This is the first form, which covers no other column.
pub fn leaf_data(event_id: &str, digest: &[u8; 32], joined: &[Joined]) -> Vec<u8> {
    let value =
        json!({"event_id": event_id, "digest": hex::encode(digest), "links": links_json(joined)});
    reetrace_core::crypto::jcs::canonicalize(&value).unwrap_or_default()
}

fn links_json(joined: &[Joined]) -> serde_json::Value {
    let mut sorted: Vec<&Joined> = joined.iter().collect();
    sorted.sort_by_key(|j| j.subject);
    sorted
        .into_iter()
        .map(|j| json!({"subject": j.subject.to_string(), "seq": j.seq, "link": hex::encode(j.link)}))
        .collect()
}

/// The stored columns of an event beside its document, which the covering leaf commits to.
#[derive(Debug, Clone, Copy)]
pub struct EventRecord<'a> {
    pub event_hash: &'a str,
    pub event_type: &'a str,
    pub action: &'a str,
    pub biz_step: Option<&'a str>,
    pub biz_location: Option<&'a str>,
    /// As stored: see [`stored_time`].
    pub event_time: DateTime<Utc>,
    /// The recording organisation (`org_id`).
    pub recorder: Uuid,
    /// The custody feed's payload, the exact stored text.
    pub data: &'a str,
    /// When the log recorded it (EPCIS `recordTime`), as stored.
    pub recorded_at: DateTime<Utc>,
    /// The event's random salt (none for events recorded before leaves were salted).
    pub salt: Option<&'a [u8]>,
}

/// Bytes of a new event's salt.
pub const SALT_BYTES: usize = 16;

/// A time as both backends store it exactly: whole microseconds.
pub fn stored_time(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// SHA-256 of the JCS of the record's columns (the feed's payload by its own SHA-256, so that
/// a large payload is hashed once and never copied).
pub fn record_digest(record: &EventRecord<'_>) -> [u8; 32] {
    let mut value = json!({
        "action": record.action,
        "biz_location": record.biz_location,
        "biz_step": record.biz_step,
        "data": hex::encode(Sha256::digest(record.data.as_bytes())),
        "event_hash": record.event_hash,
        "event_time": stored_time(record.event_time).timestamp_micros(),
        "event_type": record.event_type,
        "recorded_at": stored_time(record.recorded_at).timestamp_micros(),
        "recorder": record.recorder.to_string(),
    });
    // A salted record says so; one recorded before salts keeps its digest.
    if let (Some(salt), Some(fields)) = (record.salt, value.as_object_mut()) {
        fields.insert("salt".into(), hex::encode(salt).into());
    }
    let text = reetrace_core::crypto::jcs::canonicalize(&value).unwrap_or_default();
    Sha256::digest(&text).into()
}

/// The covering Merkle leaf input: JCS of the event id, its digest, its chain links and the
/// digest of its record.
pub fn covering_leaf_data(
    event_id: &str,
    digest: &[u8; 32],
    record: &[u8; 32],
    joined: &[Joined],
) -> Vec<u8> {
    let value = json!({
        "event_id": event_id,
        "digest": hex::encode(digest),
        "links": links_json(joined),
        "record": hex::encode(record),
    });
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

    #[test]
    fn the_covering_leaf_commits_to_every_column_of_the_record() {
        let at = DateTime::parse_from_rfc3339("2025-03-01T10:00:00.123456789Z")
            .unwrap()
            .with_timezone(&Utc);
        let record = EventRecord {
            event_hash: "ni:///sha-256;abc",
            event_type: "ObjectEvent",
            action: "collect",
            biz_step: Some("collecting"),
            biz_location: None,
            event_time: at,
            recorder: Uuid::from_u128(1),
            data: "{\"elements\":{\"Nd\":415840000}}",
            recorded_at: at,
            salt: Some(&[7; SALT_BYTES]),
        };
        let digest = record_digest(&record);
        assert_eq!(
            digest,
            record_digest(&EventRecord {
                event_time: stored_time(at),
                ..record
            }),
            "the time as stored (whole microseconds) is what is committed to"
        );
        let edits = [
            EventRecord {
                data: "{\"elements\":{\"Nd\":300415540000}}",
                ..record
            },
            EventRecord {
                recorder: Uuid::from_u128(2),
                ..record
            },
            EventRecord {
                action: "sort",
                ..record
            },
            EventRecord {
                event_time: at + chrono::TimeDelta::days(366),
                ..record
            },
            EventRecord {
                event_hash: "ni:///sha-256;abd",
                ..record
            },
            EventRecord {
                event_type: "AggregationEvent",
                ..record
            },
            EventRecord {
                biz_step: None,
                ..record
            },
            EventRecord {
                biz_location: Some("urn:epc:id:sgln:1"),
                ..record
            },
            EventRecord {
                recorded_at: at + chrono::TimeDelta::seconds(1),
                ..record
            },
        ];
        for edited in edits {
            assert_ne!(record_digest(&edited), digest, "{edited:?}");
        }
        let event = event_digest("{}");
        let covering = covering_leaf_data("urn:uuid:1", &event, &digest, &[]);
        assert_ne!(covering, leaf_data("urn:uuid:1", &event, &[]));
        assert_ne!(
            covering,
            covering_leaf_data("urn:uuid:1", &event, &record_digest(&edits[0]), &[])
        );
    }

    #[test]
    fn a_salted_record_differs_by_salt_and_an_unsalted_one_keeps_its_digest() {
        let at = chrono::DateTime::UNIX_EPOCH;
        let record = |salt: Option<&'static [u8]>| EventRecord {
            event_hash: "ni:///sha-256;x",
            event_type: "ObjectEvent",
            action: "collect",
            biz_step: Some("collecting"),
            biz_location: None,
            event_time: at,
            recorder: Uuid::nil(),
            data: "{}",
            recorded_at: at,
            salt,
        };
        let (a, b) = (
            record_digest(&record(Some(&[1; 16]))),
            record_digest(&record(Some(&[2; 16]))),
        );
        assert_ne!(a, b, "the same content under two salts");
        assert_ne!(a, record_digest(&record(None)));
        // The unsalted form is the digest leaves written before salts commit to.
        let unsalted = json!({"action": "collect", "biz_location": null, "biz_step": "collecting",
            "data": hex::encode(Sha256::digest(b"{}")), "event_hash": "ni:///sha-256;x",
            "event_time": 0, "event_type": "ObjectEvent", "recorded_at": 0,
            "recorder": Uuid::nil().to_string()});
        let text = reetrace_core::crypto::jcs::canonicalize(&unsalted).unwrap();
        assert_eq!(
            record_digest(&record(None)),
            <[u8; 32]>::from(Sha256::digest(&text))
        );
    }
}
