//! The page's verification badge: does the stored credential's proof verify under the
//! issuer's key, and what state is the passport in.
//!
//! A direct check of the one proof we issued, enough for a badge; `reetrace verify` and the
//! VC-API verifier do the full job (status lists, any issuer).

use reetrace_core::api::problem::Problem;
use reetrace_core::crypto::VerifyingKey;
use reetrace_core::crypto::data_integrity::{ASSERTION_METHOD, EmbeddedProof};
use serde_json::Value;

use super::super::page::{DisplayStatus, SignatureCheck, Verification};
use crate::domain::passport::{Passport, PassportStatus, PassportVersion};
use crate::service::PassportService;

/// What the issuer says about the key a proof names.
#[derive(Debug, Clone)]
pub(super) enum KeyState {
    /// The key may assert: verify with it.
    Asserting(VerifyingKey),
    /// The issuer withdrew the key.
    Withdrawn,
    /// The issuer has no such key.
    Unknown,
}

/// The key id (the DID URL fragment) a stored credential's proof names, if the credential is
/// the issuer's; otherwise why it cannot be.
pub(super) fn key_id(credential: &str, issuer: &str) -> Result<String, String> {
    let credential: Value =
        serde_json::from_str(credential).map_err(|_| "the stored credential is not JSON")?;
    // v1 names its issuer as a string, v2 (UNTP) as `{id, name}`.
    if crate::verify::issuer_id(&credential) != Some(issuer) {
        return Err("the credential names another issuer".into());
    }
    let proof = EmbeddedProof::parse(&credential).map_err(|e| e.to_string())?;
    proof
        .verification_method()
        .strip_prefix(issuer)
        .and_then(|rest| rest.strip_prefix('#'))
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| "the proof's key is not one of the issuer's".to_owned())
}

/// Checks a stored credential's proof, given what the issuer says about its key.
pub(super) fn check_signature(credential: &str, issuer: &str, key: &KeyState) -> SignatureCheck {
    let invalid = |reason: String| SignatureCheck::Invalid { reason };
    if let Err(reason) = key_id(credential, issuer) {
        return invalid(reason);
    }
    let Ok(credential) = serde_json::from_str::<Value>(credential) else {
        return invalid("the stored credential is not JSON".into());
    };
    let proof = match EmbeddedProof::parse(&credential) {
        Ok(proof) => proof,
        Err(e) => return invalid(e.to_string()),
    };
    if let Err(e) = proof.check_purpose(ASSERTION_METHOD) {
        return invalid(e.to_string());
    }
    let verification_method = proof.verification_method().to_owned();
    match key {
        KeyState::Asserting(key) => match proof.verify_with_key(key) {
            Ok(()) => SignatureCheck::Valid {
                verification_method,
            },
            Err(e) => invalid(e.to_string()),
        },
        KeyState::Withdrawn => SignatureCheck::KeyWithdrawn {
            verification_method,
        },
        KeyState::Unknown => invalid("the issuer has no such key".into()),
    }
}

/// The badge of a passport's current version.
pub(super) async fn verification(
    service: &PassportService,
    row: &Passport,
    version: &PassportVersion,
) -> Result<Verification, Problem> {
    // The credential names the DID of the base URL it was issued under: the current one, or a
    // former one the instance moved from (still the organisation's).
    let named = serde_json::from_str::<Value>(&version.credential)
        .ok()
        .and_then(|c| crate::verify::issuer_id(&c).map(str::to_owned));
    let issuing = service.issuing();
    let issuer = named
        .and_then(|named| issuing.own_did_of(row.org_id, &named))
        .unwrap_or_else(|| issuing.org_did(row.org_id));
    let key = match key_id(&version.credential, &issuer) {
        Ok(id) => match issuing.asserting_key(row.org_id, &id).await? {
            Some(key) => KeyState::Asserting(key),
            None if issuing
                .method_keys(row.org_id)
                .await?
                .iter()
                .any(|k| k.key_id == id) =>
            {
                KeyState::Withdrawn
            }
            None => KeyState::Unknown,
        },
        // check_signature reports why.
        Err(_) => KeyState::Unknown,
    };
    let signature = check_signature(&version.credential, &issuer, &key);
    let status = match row.status {
        PassportStatus::Revoked => DisplayStatus::Revoked,
        PassportStatus::Suspended => DisplayStatus::Suspended,
        PassportStatus::Active if version.superseded_at.is_some() => DisplayStatus::Superseded,
        PassportStatus::Active => DisplayStatus::Active,
    };
    Ok(Verification {
        signature,
        issuer,
        status,
        status_reason: row.status_reason.clone(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::{TimeZone, Utc};
    use reetrace_core::crypto::data_integrity::{ProofOptions, sign};
    use reetrace_core::crypto::generate_signing_key;
    use serde_json::json;

    use super::*;

    const ISSUER: &str = "did:web:p.example:orgs:acme";

    fn signed(issuer: &str, method: &str) -> (String, VerifyingKey) {
        let key = generate_signing_key().unwrap();
        let document = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential"],
            "issuer": issuer,
            "credentialSubject": {"name": "Motor", "nd_g": 337.5},
        });
        let at = Utc.with_ymd_and_hms(2026, 4, 15, 10, 0, 0).unwrap();
        let credential = sign(document, &ProofOptions::assertion(method, at), &key).unwrap();
        (credential.to_string(), key.verifying_key())
    }

    #[test]
    fn a_proof_under_the_issuers_key_is_valid() {
        let method = format!("{ISSUER}#z6MkKey");
        let (credential, key) = signed(ISSUER, &method);
        assert_eq!(key_id(&credential, ISSUER).unwrap(), "z6MkKey");
        assert_eq!(
            check_signature(&credential, ISSUER, &KeyState::Asserting(key)),
            SignatureCheck::Valid {
                verification_method: method
            }
        );
    }

    #[test]
    fn tampering_another_key_or_another_issuer_is_caught() {
        let method = format!("{ISSUER}#z6MkKey");
        let (credential, key) = signed(ISSUER, &method);
        let tampered = credential.replace("337.5", "337.6");
        assert!(matches!(
            check_signature(&tampered, ISSUER, &KeyState::Asserting(key)),
            SignatureCheck::Invalid { .. }
        ));
        let (_, other) = signed(ISSUER, &method);
        assert!(matches!(
            check_signature(&credential, ISSUER, &KeyState::Asserting(other)),
            SignatureCheck::Invalid { .. }
        ));
        assert_eq!(
            check_signature(&credential, ISSUER, &KeyState::Withdrawn),
            SignatureCheck::KeyWithdrawn {
                verification_method: method.clone()
            }
        );
        assert!(matches!(
            check_signature(&credential, "did:web:p.example:orgs:rival", &KeyState::Asserting(key)),
            SignatureCheck::Invalid { reason } if reason.contains("another issuer")
        ));
        // A key of someone else, even under the right issuer name.
        let (foreign, foreign_key) = signed(ISSUER, "did:key:z6MkOther#z6MkOther");
        assert!(key_id(&foreign, ISSUER).is_err());
        assert!(matches!(
            check_signature(&foreign, ISSUER, &KeyState::Asserting(foreign_key)),
            SignatureCheck::Invalid { .. }
        ));
        assert!(matches!(
            check_signature("{not json", ISSUER, &KeyState::Unknown),
            SignatureCheck::Invalid { .. }
        ));
    }
}
