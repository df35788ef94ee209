//! Generic credentials (VC-API `POST /credentials/issue`): any W3C VC 2.0 credential a
//! manufacturer wants signed by its organisation, checked and completed here before it is
//! signed. They are handed back, not stored as passports (they get no status list entries).

use chrono::{DateTime, Utc};
use reetrace_core::crypto::data_integrity::parse_date_time_stamp;
use reetrace_core::domain::FieldError;
use reetrace_core::domain::issuing::{VC_CONTEXT, timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// How the issuer of a generic credential is identified.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum IssuerForm {
    /// The organisation's `did:web`, the key one of its DID document's methods (the default).
    #[default]
    #[serde(rename = "did:web")]
    DidWeb,
    /// The organisation's active key as a `did:key`, for tools that cannot resolve `did:web`.
    #[serde(rename = "did:key")]
    DidKey,
}

/// Checks an unsigned credential and fills in `issuer` (with `issuer`, when it names one of
/// `own`, the caller's identifiers, or is absent) and `validFrom` (now, when absent).
pub fn prepare(
    credential: Value,
    issuer: &str,
    own: &[&str],
    now: DateTime<Utc>,
) -> Result<Value, Vec<FieldError>> {
    let Value::Object(mut document) = credential else {
        return Err(vec![FieldError::new(
            "/credential",
            "must be a JSON object",
        )]);
    };
    let mut errors = Vec::new();
    let context_ok = match document.get("@context") {
        Some(Value::String(c)) => c == VC_CONTEXT,
        Some(Value::Array(list)) => list.first().and_then(Value::as_str) == Some(VC_CONTEXT),
        _ => false,
    };
    if !context_ok {
        errors.push(FieldError::new(
            "/credential/@context",
            format!("must start with {VC_CONTEXT}"),
        ));
    }
    let typed = match document.get("type") {
        Some(Value::String(t)) => t == "VerifiableCredential",
        Some(Value::Array(list)) => list.iter().any(|t| t == "VerifiableCredential"),
        _ => false,
    };
    if !typed {
        errors.push(FieldError::new(
            "/credential/type",
            "must contain VerifiableCredential",
        ));
    }
    let subject_ok = match document.get("credentialSubject") {
        Some(Value::Object(_)) => true,
        Some(Value::Array(list)) => !list.is_empty() && list.iter().all(Value::is_object),
        _ => false,
    };
    if !subject_ok {
        errors.push(FieldError::new(
            "/credential/credentialSubject",
            "must be an object (or a non-empty array of objects)",
        ));
    }
    if document.contains_key("proof") {
        errors.push(FieldError::new(
            "/credential/proof",
            "an unsigned credential has no proof",
        ));
    }
    if let Err(e) = set_issuer(&mut document, issuer, own) {
        errors.push(e);
    }
    let valid_from = match document.get("validFrom") {
        None => {
            document.insert("validFrom".into(), timestamp(now).into());
            Some(now)
        }
        Some(value) => date(value, "/credential/validFrom", &mut errors),
    };
    if let Some(value) = document.get("validUntil")
        && let Some(until) = date(value, "/credential/validUntil", &mut errors)
        && valid_from.is_some_and(|from| until <= from)
    {
        errors.push(FieldError::new(
            "/credential/validUntil",
            "must be after validFrom",
        ));
    }
    if errors.is_empty() {
        Ok(Value::Object(document))
    } else {
        Err(errors)
    }
}

/// Sets the issuer's id, keeping an issuer object's other properties.
fn set_issuer(
    document: &mut Map<String, Value>,
    issuer: &str,
    own: &[&str],
) -> Result<(), FieldError> {
    let refuse = |found: &str| {
        FieldError::new(
            "/credential/issuer",
            format!("must be the caller's organisation ({issuer}), not {found}"),
        )
    };
    match document.get_mut("issuer") {
        None => {
            document.insert("issuer".into(), issuer.into());
            Ok(())
        }
        Some(Value::String(id)) if own.contains(&id.as_str()) => {
            *id = issuer.to_owned();
            Ok(())
        }
        Some(Value::String(id)) => Err(refuse(id)),
        Some(Value::Object(object)) => match object.get("id").and_then(Value::as_str) {
            Some(id) if own.contains(&id) => {
                object.insert("id".into(), issuer.into());
                Ok(())
            }
            Some(id) => Err(refuse(id)),
            None => {
                object.insert("id".into(), issuer.into());
                Ok(())
            }
        },
        Some(_) => Err(FieldError::new(
            "/credential/issuer",
            "must be a DID or an object with an id",
        )),
    }
}

fn date(value: &Value, pointer: &str, errors: &mut Vec<FieldError>) -> Option<DateTime<Utc>> {
    let parsed = value
        .as_str()
        .and_then(parse_date_time_stamp)
        .map(|t| t.with_timezone(&Utc));
    if parsed.is_none() {
        errors.push(FieldError::new(
            pointer,
            "must be an XML Schema dateTimeStamp, e.g. 2026-04-15T10:00:00Z",
        ));
    }
    parsed
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-05-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn pointers(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.pointer.as_str()).collect()
    }

    #[test]
    fn fills_in_issuer_and_valid_from() {
        let out = prepare(
            json!({"@context": [VC_CONTEXT], "type": ["VerifiableCredential", "X"],
                   "credentialSubject": {"id": "urn:x"}}),
            "did:web:p.example:orgs:1",
            &["did:web:p.example:orgs:1"],
            at(),
        )
        .unwrap();
        assert_eq!(out["issuer"], "did:web:p.example:orgs:1");
        assert_eq!(out["validFrom"], "2026-05-01T12:00:00Z");
        // An issuer object keeps its name; one of the caller's own DIDs becomes the chosen form.
        let out = prepare(
            json!({"@context": VC_CONTEXT, "type": "VerifiableCredential",
                   "issuer": {"id": "did:web:p.example:orgs:1", "name": "Acme"},
                   "validFrom": "2026-01-01T00:00:00Z", "credentialSubject": {}}),
            "did:key:z6Mk1",
            &["did:web:p.example:orgs:1", "did:key:z6Mk1"],
            at(),
        )
        .unwrap();
        assert_eq!(
            out["issuer"],
            json!({"id": "did:key:z6Mk1", "name": "Acme"})
        );
        assert_eq!(out["validFrom"], "2026-01-01T00:00:00Z");
    }

    #[test]
    fn refuses_what_is_not_an_unsigned_vc_naming_each_field() {
        let errors = prepare(
            json!({"@context": ["https://www.w3.org/2018/credentials/v1"], "type": ["Other"],
                   "issuer": "did:web:evil.example", "proof": {}, "validFrom": "yesterday",
                   "credentialSubject": []}),
            "did:web:p.example:orgs:1",
            &["did:web:p.example:orgs:1"],
            at(),
        )
        .unwrap_err();
        assert_eq!(
            pointers(&errors),
            [
                "/credential/@context",
                "/credential/type",
                "/credential/credentialSubject",
                "/credential/proof",
                "/credential/issuer",
                "/credential/validFrom"
            ]
        );
        let errors = prepare(json!([1]), "did:x", &[], at()).unwrap_err();
        assert_eq!(pointers(&errors), ["/credential"]);
        let errors = prepare(
            json!({"@context": [VC_CONTEXT], "type": "VerifiableCredential", "credentialSubject": {},
                   "validFrom": "2026-01-02T00:00:00Z", "validUntil": "2026-01-01T00:00:00Z"}),
            "did:x",
            &["did:x"],
            at(),
        )
        .unwrap_err();
        assert_eq!(pointers(&errors), ["/credential/validUntil"]);
    }
}
