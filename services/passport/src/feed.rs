//! The passport feed's producer: `org.reetrace.passport.issued`, `.versioned` and
//! `.status_changed` events, in commit order, as CloudEvents for the custody and stock services
//! (read in process through [`PassportFeed`], or over HTTP through core's feed routes).

use std::sync::Arc;

use async_trait::async_trait;
use reetrace_core::domain::feed::{CloudEvent, SPEC_VERSION};
use reetrace_core::domain::passport_event::V2SubjectFacts;
use reetrace_core::service::feed::{FeedError, FeedSource};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::domain::passport::FeedRow;
use crate::store::PassportStores;

/// The stream name.
pub const STREAM: &str = "passport";
/// The `source` of our events.
pub const SOURCE: &str = "/reetrace/passport";

/// Reads the passport feed from the store.
pub struct PassportFeed {
    store: Arc<dyn PassportStores>,
}

impl PassportFeed {
    pub fn new(store: Arc<dyn PassportStores>) -> Self {
        Self { store }
    }
}

/// What an event takes from a stored credential: the rest (context, status entries, proof) is
/// skipped by the parser rather than built.
#[derive(Deserialize)]
struct CredentialParts<S> {
    id: Value,
    #[serde(rename = "credentialSubject")]
    subject: S,
}

fn malformed(e: serde_json::Error) -> FeedError {
    FeedError::Malformed(e.to_string())
}

/// The id and subject of a v2 credential as the feed carries them: the subject's members its
/// consumers read ([`V2SubjectFacts`]), or, for a subject of another shape, the whole of it,
/// for the consumers to refuse with their reason.
fn v2_parts(credential: &str) -> Result<(Value, Value), FeedError> {
    match serde_json::from_str::<CredentialParts<V2SubjectFacts>>(credential) {
        Ok(parts) => Ok((
            parts.id,
            serde_json::to_value(parts.subject).map_err(malformed)?,
        )),
        Err(_) => {
            let parts: CredentialParts<Value> =
                serde_json::from_str(credential).map_err(malformed)?;
            Ok((parts.id, parts.subject))
        }
    }
}

/// The event a stored feed row stands for. Issued and versioned events carry the status and
/// the credential's `format` (1 or 2): for a v1 credential its whole subject (public data), for
/// a v2 credential the members of its subject that the consumers read ([`V2SubjectFacts`]) and
/// the placement declaration's subject (`placement`); status changes carry the new status.
pub fn to_event(row: FeedRow) -> Result<CloudEvent, FeedError> {
    let mut data = json!({
        "passport_id": row.passport_id,
        "version": row.version,
        "org_id": row.org_id,
    });
    if let Some(text) = &row.data {
        let extra: Map<String, Value> = serde_json::from_str(text).map_err(malformed)?;
        if let Some(target) = data.as_object_mut() {
            target.extend(extra);
        }
    }
    if let Some(credential) = &row.credential {
        data["status"] = json!("active");
        // v2: the subject is UNTP's and says nothing of the market; the placement
        // declaration's subject does (the feed is for services only).
        match &row.placement {
            Some(placement) => {
                let (id, subject) = v2_parts(credential)?;
                let declaration: CredentialParts<Value> =
                    serde_json::from_str(placement).map_err(malformed)?;
                data["credential_id"] = id;
                data["subject"] = subject;
                data["format"] = json!(2);
                data["placement"] = declaration.subject;
            }
            None => {
                let parts: CredentialParts<Value> =
                    serde_json::from_str(credential).map_err(malformed)?;
                data["credential_id"] = parts.id;
                data["subject"] = parts.subject;
                data["format"] = json!(1);
            }
        }
    }
    Ok(CloudEvent {
        specversion: SPEC_VERSION.to_owned(),
        id: row.event_id.to_string(),
        source: SOURCE.to_owned(),
        kind: format!("org.reetrace.{}", row.kind.as_str()),
        subject: Some(row.passport_id.to_string()),
        time: row.occurred_at,
        datacontenttype: "application/json".to_owned(),
        sequence: row.seq.to_string(),
        data,
    })
}

#[async_trait]
impl FeedSource for PassportFeed {
    fn stream(&self) -> &str {
        STREAM
    }

    async fn read(&self, after: i64, limit: u32) -> Result<Vec<CloudEvent>, FeedError> {
        let rows = self.store.feed_after(after, limit).await?;
        rows.into_iter().map(to_event).collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::passport::FeedEventKind;
    use uuid::Uuid;

    fn issued(subject: Value) -> FeedRow {
        let credential = json!({"id": "urn:uuid:1", "credentialSubject": subject,
            "proof": {"proofValue": "z"}});
        let placement = json!({"id": "urn:uuid:2", "credentialSubject": {
            "ree:marketCountry": "FR", "ree:placementDate": "2026-04-15", "ree:units": 1}});
        FeedRow {
            seq: 1,
            event_id: Uuid::now_v7(),
            kind: FeedEventKind::Issued,
            passport_id: Uuid::now_v7(),
            version: 1,
            org_id: Uuid::now_v7(),
            occurred_at: chrono::Utc::now(),
            data: None,
            credential: Some(credential.to_string()),
            placement: Some(placement.to_string()),
        }
    }

    #[test]
    fn a_v2_event_carries_the_members_read_and_an_unreadable_subject_whole() {
        let subject = json!({"granularityLevel": "item", "ree:detailsDigest": "sha256-x",
            "product": {"name": "Motor", "productCategory": [{"code": "ev_traction_motor"}],
                "ree:netMassGrams": 48000, "dimensions": {"weight": 48}}});
        let event = to_event(issued(subject)).unwrap();
        assert_eq!(event.data["format"], 2);
        assert_eq!(event.data["credential_id"], "urn:uuid:1");
        assert_eq!(event.data["placement"]["ree:marketCountry"], "FR");
        assert_eq!(
            event.data["subject"],
            json!({"granularityLevel": "item", "product": {"name": "Motor",
                "productCategory": [{"code": "ev_traction_motor"}], "ree:netMassGrams": 48000}})
        );
        // A subject the consumers cannot read goes whole, for them to refuse with a reason.
        let odd = json!({"granularityLevel": "item", "product": "a motor"});
        let event = to_event(issued(odd.clone())).unwrap();
        assert_eq!(event.data["subject"], odd);
        assert!(reetrace_core::domain::passport_event::facts(&event.data).is_err());
    }
}
