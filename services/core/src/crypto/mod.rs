//! The cryptographic kernel for passports: W3C VC 2.0 credentials secured with the Data
//! Integrity `eddsa-jcs-2022` cryptosuite, Ed25519 keys as Multikey / `did:key`, Bitstring
//! Status Lists for revocation, and private keys sealed at rest under a master key.
//!
//! - [`jcs`]: RFC 8785 canonical JSON (fast path over `serde_json::Value`).
//! - [`multikey`]: Ed25519 key generation, `publicKeyMultibase`, `secretKeyMultibase`, `did:key`.
//! - [`data_integrity`]: create and verify `eddsa-jcs-2022` proofs.
//! - [`proof_set`]: proof sets and proof chains (several proofs in a `proof` array).
//! - [`jose`]: the VC-JOSE-COSE form: a compact JWS (`vc+jwt`, EdDSA), kept detached.
//! - [`status_list`]: W3C Bitstring Status List v1.0.
//! - [`sealed`]: XChaCha20-Poly1305 sealing of private keys; the [`MasterKey`].

mod base58;
pub mod data_integrity;
mod error;
pub mod jcs;
pub mod jose;
pub mod multikey;
pub mod proof_set;
pub mod sealed;
mod secret;
pub mod status_list;

pub use data_integrity::{
    ASSERTION_METHOD, CRYPTOSUITE, EmbeddedProof, KeyResolver, PROOF_TYPE, ProofOptions,
    VerifiedProof, create_proof, sign, verify,
};
pub use ed25519_dalek::{SigningKey, VerifyingKey};
pub use error::{BoxError, CryptoError, ProofError};
pub use jcs::canonicalize;
pub use multikey::{
    did_key, did_key_verification_method, generate_signing_key, parse_did_key,
    parse_public_key_jwk, parse_public_key_multibase, public_key_multibase,
};
pub use sealed::{MasterKey, Reseal, ResealPlan};
pub use secret::{Secret, SecretBytes, SecretString};
pub use status_list::{StatusList, pick_random_index};
