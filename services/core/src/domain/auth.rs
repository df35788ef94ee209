//! Who calls: organisations' roles, the authenticated principal, API keys.
//!
//! A key looks like `rtk_<prefix>_<secret>`: the prefix identifies it (it is what listings show
//! and what `admin key revoke --key-prefix` takes), the secret is 256 random bits. Only the
//! SHA-256 of the whole key is stored; a slow password hash would add nothing for a secret of
//! that entropy and would cost every request.

use base64::Engine;
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

/// What an organisation is, and so what its keys may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Registers products and issues their passports.
    Manufacturer,
    /// Collects, sorts, dismantles and recycles products.
    Recycler,
    /// Reads urban-mine aggregates.
    Regulator,
    /// Manages organisations and keys.
    Admin,
    /// Another reetrace service reading feeds.
    Service,
    /// Records residue deposits and their assays (geological surveys, plant operators,
    /// researchers).
    Surveyor,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Manufacturer,
        Role::Recycler,
        Role::Regulator,
        Role::Admin,
        Role::Service,
        Role::Surveyor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Manufacturer => "manufacturer",
            Role::Recycler => "recycler",
            Role::Regulator => "regulator",
            Role::Admin => "admin",
            Role::Service => "service",
            Role::Surveyor => "surveyor",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!("unknown role {s:?}: expected one of manufacturer, recycler, regulator, admin, service, surveyor")
            })
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub org_id: Uuid,
    pub org_name: String,
    pub role: Role,
    pub key_id: Uuid,
}

impl Principal {
    /// Refuses (403 at the API) unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), Denied> {
        if roles.contains(&self.role) {
            return Ok(());
        }
        Err(Denied::Role {
            required: roles.to_vec(),
            role: self.role,
        })
    }
}

const KEY_TAG: &str = "rtk";
const PREFIX_LEN: usize = 10;
const PREFIX_ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyz23456789";

/// A freshly made API key: shown once, then only its hash is kept.
#[derive(Clone)]
pub struct NewApiKey {
    pub prefix: String,
    pub secret: String,
    pub hash: [u8; 32],
}

impl std::fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewApiKey")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl NewApiKey {
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let prefix: String = (0..PREFIX_LEN)
            .map(|_| PREFIX_ALPHABET[rng.random_range(0..PREFIX_ALPHABET.len())] as char)
            .collect();
        let mut secret_bytes = [0u8; 32];
        rng.fill_bytes(&mut secret_bytes);
        let secret = format!(
            "{KEY_TAG}_{prefix}_{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret_bytes)
        );
        let hash = hash_key(&secret);
        Self {
            prefix,
            secret,
            hash,
        }
    }
}

/// SHA-256 of a presented key.
pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// The prefix of a well-formed key, or `None`.
pub fn key_prefix(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(KEY_TAG)?.strip_prefix('_')?;
    let (prefix, secret) = rest.split_once('_')?;
    (prefix.len() == PREFIX_LEN && !secret.is_empty()).then_some(prefix)
}

/// What the key store knows about a key.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    pub key_id: Uuid,
    pub org_id: Uuid,
    pub org_name: String,
    pub role: Role,
    pub hash: [u8; 32],
    pub revoked: bool,
}

/// Why a caller may not do something (403 at the API).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The operation needs another role.
    #[error(
        "This operation needs the role {}; the caller's organisation is a {role}.",
        roles_text(required)
    )]
    Role { required: Vec<Role>, role: Role },
    /// The rule is about the record, not the role (its detail says which).
    #[error("{0}")]
    Rule(String),
    /// A GTIN (at `pointer` in the request) outside every GS1 prefix and GTIN the caller's
    /// organisation holds (`held`, canonical digits).
    #[error(
        "GTIN {gtin} (at {pointer}) is not under a GS1 prefix of this organisation, which holds {}.",
        held_text(held)
    )]
    GtinNotYours {
        gtin: super::Gtin,
        pointer: String,
        held: Vec<String>,
    },
}

fn held_text(held: &[String]) -> String {
    if held.is_empty() {
        "no GS1 prefix (an admin adds them)".into()
    } else {
        format!("the prefixes {}", held.join(", "))
    }
}

fn roles_text(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(" or ")
}
