//! The proofs of a credential: a single proof, or a proof set or chain (W3C VC Data Integrity
//! 1.0, "Verify Proof Sets and Chains"), each checked against the key of its verification
//! method.
//!
//! A credential's `proof` check passes when every proof is valid (a chain link only verifies
//! over the proofs it names, see [`reetrace_core::crypto::proof_set`]); its `issuer` check when
//! one of the valid proofs is the issuer's, its key controlled by the issuer's DID. Each proof's
//! own result is reported, so that a countersigned credential shows both signers and a failed
//! set names the proof that failed.

use reetrace_core::crypto::proof_set::{self, SetMember};
use reetrace_core::crypto::{ASSERTION_METHOD, CRYPTOSUITE, EmbeddedProof};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{CredentialVerifier, issuer_binding, issuer_id};

/// The result of one Data Integrity proof of a credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "verificationMethod": "did:web:passports.example:orgs:0190c4d2-8a4e-7c1f-9a4b-2f6d1e0c3b5a#0190c4d2-8a4f-7000-8000-000000000001",
    "cryptosuite": "eddsa-jcs-2022",
    "issuer": true,
    "valid": true
}))]
pub struct ProofReport {
    /// The proof's `id`, when it has one (proof chains name their links by it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The key that made the proof, as the proof names it (absent when the proof names none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_method: Option<String>,
    /// The proof's cryptosuite, as the proof names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cryptosuite: Option<String>,
    /// The ids of the proofs this one chains to (`previousProof`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous_proof: Vec<String>,
    /// Whether the key is controlled by the credential's issuer (its DID is the issuer's).
    pub issuer: bool,
    /// Whether the proof verified.
    pub valid: bool,
    /// Why it did not verify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// How the proofs of a document fared.
pub(super) struct ProofCheck<'d> {
    pub issuer: Option<&'d str>,
    /// Every proof valid, or one message per proof that is not.
    pub proof: Result<(), Vec<String>>,
    /// One valid proof is the issuer's, or why none is.
    pub issuer_bound: Result<(), String>,
    pub proofs: Vec<ProofReport>,
}

impl CredentialVerifier<'_> {
    /// Checks the proof or proofs of `document`. `Err` when there is nothing to check (no
    /// proof, an empty list, a lone proof too malformed to say more).
    pub(super) async fn check_proof<'d>(
        &self,
        document: &'d Value,
    ) -> Result<ProofCheck<'d>, String> {
        if document.get("proof").is_some_and(Value::is_array) {
            return self.check_set(document).await;
        }
        let proof = EmbeddedProof::parse(document).map_err(|e| e.to_string())?;
        let issuer = issuer_id(document);
        let method = proof.verification_method();
        let mut issuer_bound = issuer_binding(issuer, method);
        let mut proof_result = proof
            .check_purpose(ASSERTION_METHOD)
            .map_err(|e| e.to_string());
        match self.assertion_key(method).await {
            Ok(key) => {
                if proof_result.is_ok() {
                    proof_result = proof.verify_with_key(&key).map_err(|e| e.to_string());
                }
            }
            Err(e) => {
                if issuer_bound.is_ok() {
                    issuer_bound = Err(e);
                }
                if proof_result.is_ok() {
                    proof_result =
                        Err("the signature could not be checked without the issuer's key".into());
                }
            }
        }
        let report = ProofReport {
            id: proof.id().map(str::to_owned),
            verification_method: Some(method.to_owned()),
            cryptosuite: Some(CRYPTOSUITE.to_owned()),
            previous_proof: Vec::new(),
            issuer: issuer_binding(issuer, method).is_ok(),
            valid: proof_result.is_ok(),
            error: proof_result.as_ref().err().cloned(),
        };
        Ok(ProofCheck {
            issuer,
            proof: proof_result.map_err(|e| vec![e]),
            issuer_bound,
            proofs: vec![report],
        })
    }

    /// Checks every member of a proof set or chain.
    async fn check_set<'d>(&self, document: &'d Value) -> Result<ProofCheck<'d>, String> {
        let members = proof_set::members(document).map_err(|e| e.to_string())?;
        let issuer = issuer_id(document);
        let total = members.len();
        let mut failures = Vec::new();
        let mut proofs = Vec::with_capacity(total);
        let mut issuer_signed = false;
        for (n, member) in members.iter().enumerate() {
            let method = member.property("verificationMethod");
            let by_issuer = method.is_some_and(|m| issuer_binding(issuer, m).is_ok());
            let outcome = match &member.proof {
                Ok(proof) => self.check_member(proof).await,
                Err(malformed) => Err(malformed.to_string()),
            };
            match &outcome {
                Ok(()) => issuer_signed |= by_issuer,
                Err(why) => failures.push(format!(
                    "proof {} of {total} ({}): {why}",
                    n + 1,
                    method.unwrap_or("no verificationMethod")
                )),
            }
            proofs.push(report(member, by_issuer, outcome));
        }
        let issuer_bound = match issuer {
            None => Err("the credential names no issuer".to_owned()),
            Some(_) if issuer_signed => Ok(()),
            Some(issuer) => Err(format!(
                "none of the {total} proofs is a valid proof by the issuer {issuer}"
            )),
        };
        Ok(ProofCheck {
            issuer,
            proof: if failures.is_empty() {
                Ok(())
            } else {
                Err(failures)
            },
            issuer_bound,
            proofs,
        })
    }

    /// One member of a set: its purpose, its key (an assertion method of its DID) and its
    /// signature.
    async fn check_member(&self, proof: &EmbeddedProof<'_>) -> Result<(), String> {
        proof
            .check_purpose(ASSERTION_METHOD)
            .map_err(|e| e.to_string())?;
        let key = self
            .assertion_key(proof.verification_method())
            .await
            .map_err(|e| format!("the signature could not be checked: {e}"))?;
        proof.verify_with_key(&key).map_err(|e| e.to_string())
    }
}

fn report(member: &SetMember<'_>, by_issuer: bool, outcome: Result<(), String>) -> ProofReport {
    let owned = |name: &str| member.property(name).map(str::to_owned);
    ProofReport {
        id: owned("id"),
        verification_method: owned("verificationMethod"),
        cryptosuite: owned("cryptosuite"),
        previous_proof: member
            .previous_proof()
            .into_iter()
            .map(str::to_owned)
            .collect(),
        issuer: by_issuer,
        valid: outcome.is_ok(),
        error: outcome.err(),
    }
}
