//! Issuing credentials as an organisation: what any service that signs W3C Verifiable
//! Credentials with an organisation's key shares, whatever the credentials say.
//!
//! - [`did`]: organisations as `did:web` issuers, their DIDs and DID documents;
//! - [`signing_key`]: their Ed25519 keys as kept, and what a new key does to the others;
//! - [`status_list`]: Bitstring Status Lists: purposes, a credential's entries, the lists as
//!   kept and their credential.
//!
//! No I/O here: the keys and lists are kept by `store::issuing` and used through
//! `service::issuing::Issuing`.

pub mod did;
pub mod signing_key;
pub mod status_list;

use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

pub use did::MethodKey;
pub use signing_key::{Rotation, SigningKeyRow};
pub use status_list::{StatusListRow, StatusPurpose, StatusRef};

/// The W3C VC 2.0 base context.
pub const VC_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";

/// The URN of a credential id.
pub fn credential_urn(id: Uuid) -> String {
    format!("urn:uuid:{id}")
}

/// XML Schema dateTimeStamp, seconds precision, `Z`: how credentials state their times.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_date_time_stamps() {
        let at = DateTime::parse_from_rfc3339("2026-04-15T10:00:00.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(timestamp(at), "2026-04-15T10:00:00Z");
    }
}
