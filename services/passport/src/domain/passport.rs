//! A passport as the service keeps it: its lifecycle status, its identity, its versions, and the
//! rules over them (which status changes are allowed, what a new version may not change, what
//! identifies a product in a batch, the product's resolver URL).

use chrono::{DateTime, NaiveDate, Utc};
use reetrace_core::domain::issuing::StatusRef;
use reetrace_core::domain::{
    Category, Country, DigitalLinkPath, FieldError, Gtin, LotNumber, SerialNumber,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::registration::{Granularity, Registration};

/// The lifecycle state of a passport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PassportStatus {
    Active,
    Suspended,
    Revoked,
}

impl PassportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PassportStatus::Active => "active",
            PassportStatus::Suspended => "suspended",
            PassportStatus::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            PassportStatus::Active,
            PassportStatus::Suspended,
            PassportStatus::Revoked,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
    }

    /// Whether a passport in this status may move to `to`: revocation is final, suspension can
    /// be lifted, and nothing moves to where it already is.
    pub fn may_become(self, to: PassportStatus) -> bool {
        match (self, to) {
            (PassportStatus::Revoked, _) => false,
            (PassportStatus::Active, PassportStatus::Revoked | PassportStatus::Suspended) => true,
            (PassportStatus::Suspended, PassportStatus::Revoked | PassportStatus::Active) => true,
            _ => false,
        }
    }
}

/// A passport's current state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passport {
    pub id: Uuid,
    pub org_id: Uuid,
    pub version: u32,
    pub status: PassportStatus,
    pub status_reason: Option<String>,
    pub granularity: Granularity,
    pub gtin: Option<Gtin>,
    pub serial: Option<SerialNumber>,
    pub lot: Option<LotNumber>,
    pub category: Category,
    pub country: Country,
    pub placed_on_market: NaiveDate,
    pub model_passport: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The form of a passport version's credential (`docs/credential.md`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CredentialFormat {
    /// Our own subject under `<base>/contexts/reetrace/v1`; placement facts in it; Data
    /// Integrity only. Versions issued so stay served byte for byte.
    V1,
    /// The UNTP Digital Product Passport; placement facts in a separate declaration; Data
    /// Integrity and a JWS (`vc+jwt`).
    #[default]
    V2,
}

impl CredentialFormat {
    /// The number stored in `passport_versions.format`.
    pub fn number(self) -> i64 {
        match self {
            CredentialFormat::V1 => 1,
            CredentialFormat::V2 => 2,
        }
    }

    pub fn from_number(n: i64) -> Option<CredentialFormat> {
        match n {
            1 => Some(CredentialFormat::V1),
            2 => Some(CredentialFormat::V2),
            _ => None,
        }
    }
}

/// One version of a passport: its signed credential and where its status bits are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassportVersion {
    pub passport_id: Uuid,
    pub version: u32,
    pub credential_id: Uuid,
    pub format: CredentialFormat,
    /// The signed credential, byte for byte as issued.
    pub credential: String,
    /// v2: the credential's JWS without its payload (`<header>..<signature>`); the compact
    /// token is this with the JCS bytes of the credential minus its proof put back.
    pub credential_jws: Option<String>,
    /// v2: the signed placement declaration, byte for byte as issued.
    pub placement: Option<String>,
    /// The component detail document, byte for byte as its digest covers it.
    pub component_details: String,
    pub confidential: Option<String>,
    pub key_id: String,
    /// Revocation, suspension and message entries, in that order.
    pub status: [StatusRef; 3],
    pub created_at: DateTime<Utc>,
    pub superseded_at: Option<DateTime<Utc>>,
    /// [`Registration::fingerprint`] of what the version was made from; `None` for versions
    /// issued before it was kept.
    pub registration_fingerprint: Option<[u8; 32]>,
}

impl PassportVersion {
    /// The compact JWS (`application/vc+jwt`) of a v2 credential: its stored header and
    /// signature around the JCS bytes of the credential without its proof. `None` for a v1
    /// version (it has no JOSE form); an error when the stored credential does not decode.
    pub fn compact_jws(&self) -> Option<Result<String, String>> {
        let detached = self.credential_jws.as_deref()?;
        Some((|| {
            let mut credential: Value =
                serde_json::from_str(&self.credential).map_err(|e| e.to_string())?;
            if let Some(fields) = credential.as_object_mut() {
                fields.remove("proof");
            }
            let payload =
                reetrace_core::crypto::jcs::canonicalize(&credential).map_err(|e| e.to_string())?;
            reetrace_core::crypto::jose::attach(detached, &payload).map_err(|e| e.to_string())
        })())
    }
}

/// A passport version to store (the first one, or a new one).
#[derive(Debug, Clone)]
pub struct NewPassport {
    pub id: Uuid,
    pub org_id: Uuid,
    pub version: u32,
    pub granularity: Granularity,
    pub gtin: Option<Gtin>,
    pub serial: Option<SerialNumber>,
    pub lot: Option<LotNumber>,
    pub category: Category,
    pub country: Country,
    pub placed_on_market: NaiveDate,
    pub model_passport: Option<Uuid>,
    pub credential_id: Uuid,
    pub format: CredentialFormat,
    pub credential: String,
    /// v2: the detached JWS (see [`PassportVersion::credential_jws`]).
    pub credential_jws: Option<String>,
    /// v2: the signed placement declaration.
    pub placement: Option<String>,
    pub component_details: String,
    pub confidential: Option<String>,
    pub key_id: String,
    /// Revocation, suspension and message entries, in that order.
    pub status: [StatusRef; 3],
    pub created_at: DateTime<Utc>,
    /// [`Registration::fingerprint`] of what the version is made from.
    pub registration_fingerprint: [u8; 32],
}

/// What identifies a product for the resolver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Item { gtin: Gtin, serial: SerialNumber },
    Batch { gtin: Gtin, lot: LotNumber },
    Model { gtin: Gtin },
}

/// How the resolver names a passport: by id (`/p/{id}`) or by its GS1 identity.
#[derive(Debug, Clone, Copy)]
pub enum Lookup<'a> {
    Id(Uuid),
    Identity(&'a Identity),
}

/// Filters of the passport list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only this organisation's passports.
    pub org_id: Option<Uuid>,
    pub category: Option<Category>,
    pub gtin: Option<Gtin>,
    pub country: Option<Country>,
}

/// A change of status.
#[derive(Debug, Clone)]
pub struct StatusChange {
    pub status: PassportStatus,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
    pub event_id: Uuid,
}

/// What happened to a passport, as the feed names it (`org.reetrace.<name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeedEventKind {
    Issued,
    Versioned,
    StatusChanged,
}

impl FeedEventKind {
    pub const ALL: [FeedEventKind; 3] = [
        FeedEventKind::Issued,
        FeedEventKind::Versioned,
        FeedEventKind::StatusChanged,
    ];

    /// The stored name, e.g. `passport.issued`.
    pub fn as_str(self) -> &'static str {
        match self {
            FeedEventKind::Issued => "passport.issued",
            FeedEventKind::Versioned => "passport.versioned",
            FeedEventKind::StatusChanged => "passport.status_changed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        FeedEventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
    }
}

/// One event of the passport feed as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedRow {
    pub seq: i64,
    pub event_id: Uuid,
    pub kind: FeedEventKind,
    pub passport_id: Uuid,
    pub version: u32,
    pub org_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    /// Further members of the event's data (a JSON object), for status changes.
    pub data: Option<String>,
    /// The version's credential for `passport.issued` / `passport.versioned`.
    pub credential: Option<String>,
    /// The version's placement declaration (v2), with the credential.
    pub placement: Option<String>,
}

/// The answer to a registration.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Issued {
    pub id: Uuid,
    pub uri: String,
    pub version: u32,
    pub status: PassportStatus,
    /// The signed credential.
    #[schema(value_type = Object)]
    pub credential: Value,
}

/// A product's GS1 identifiers, as a registration names them and a passport keeps them.
#[derive(Debug, Clone, Copy)]
pub struct ProductIds<'a> {
    pub granularity: Granularity,
    pub gtin: Option<Gtin>,
    pub serial: Option<&'a SerialNumber>,
    pub lot: Option<&'a LotNumber>,
}

impl Registration {
    /// The product identifiers this registration names.
    pub fn product_ids(&self) -> ProductIds<'_> {
        ProductIds {
            granularity: self.granularity,
            gtin: self.product.gtin,
            serial: self.product.serial.as_ref(),
            lot: self.product.lot.as_ref(),
        }
    }
}

impl Passport {
    /// The product identifiers of this passport.
    pub fn product_ids(&self) -> ProductIds<'_> {
        ProductIds {
            granularity: self.granularity,
            gtin: self.gtin,
            serial: self.serial.as_ref(),
            lot: self.lot.as_ref(),
        }
    }
}

/// The resolver URL of product `id`: its GS1 Digital Link under `base_url` when it has a GTIN
/// (with the serial of an item or the lot of a batch), `<base_url>/p/{id}` otherwise.
pub fn product_uri(base_url: &str, id: Uuid, ids: ProductIds<'_>) -> String {
    let own = || format!("{base_url}/p/{id}");
    let Some(gtin) = ids.gtin else {
        return own();
    };
    let path = match ids.granularity {
        Granularity::Item => match ids.serial {
            Some(serial) => DigitalLinkPath::new(gtin).with_serial(serial.clone()),
            None => return own(),
        },
        Granularity::Batch => match ids.lot {
            Some(lot) => DigitalLinkPath::new(gtin).with_lot(lot.clone()),
            None => return own(),
        },
        Granularity::Model => DigitalLinkPath::new(gtin),
    };
    format!("{base_url}{path}")
}

/// What identifies a product among the lines of one batch (to refuse duplicates before the
/// store does): the GS1 identity, or the organisation's own serial or lot.
pub fn identity_key(registration: &Registration) -> Option<String> {
    let p = &registration.product;
    let gtin = p.gtin.map(|g| g.as_str().to_owned());
    match (registration.granularity, gtin) {
        (Granularity::Item, Some(g)) => p
            .serial
            .as_ref()
            .map(|s| format!("01/{g}/21/{}", s.as_str())),
        (Granularity::Batch, Some(g)) => {
            p.lot.as_ref().map(|l| format!("01/{g}/10/{}", l.as_str()))
        }
        (Granularity::Model, Some(g)) => Some(format!("01/{g}")),
        (Granularity::Item, None) => p.serial.as_ref().map(|s| format!("21/{}", s.as_str())),
        (Granularity::Batch, None) => p.lot.as_ref().map(|l| format!("10/{}", l.as_str())),
        (Granularity::Model, None) => None,
    }
}

/// What a new version may not change: the granularity and the product's identifiers.
pub fn identity_changes(passport: &Passport, registration: &Registration) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let p = &registration.product;
    if registration.granularity != passport.granularity {
        errors.push(FieldError::new(
            "/granularity",
            "a new version keeps the passport's granularity",
        ));
    }
    if p.gtin != passport.gtin {
        errors.push(FieldError::new(
            "/product/gtin",
            "a new version keeps the product's GTIN",
        ));
    }
    if p.serial != passport.serial {
        errors.push(FieldError::new(
            "/product/serial",
            "a new version keeps the product's serial number",
        ));
    }
    if p.lot != passport.lot {
        errors.push(FieldError::new(
            "/product/lot",
            "a new version keeps the batch's lot number",
        ));
    }
    errors
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn revocation_is_final_and_suspension_can_be_lifted() {
        use PassportStatus::*;
        assert!(Active.may_become(Suspended));
        assert!(Active.may_become(Revoked));
        assert!(Suspended.may_become(Active));
        assert!(Suspended.may_become(Revoked));
        assert!(!Active.may_become(Active));
        assert!(!Suspended.may_become(Suspended));
        for to in [Active, Suspended, Revoked] {
            assert!(!Revoked.may_become(to));
            assert_eq!(PassportStatus::parse(to.as_str()), Some(to));
        }
        assert_eq!(PassportStatus::parse("gone"), None);
    }

    #[test]
    fn product_uris_are_digital_links_when_the_identity_allows() {
        let base = "https://p.example";
        let id = Uuid::nil();
        let gtin = Gtin::parse("04012345000016").ok();
        let serial = SerialNumber::parse("A/1").unwrap();
        let lot = LotNumber::parse("L1").unwrap();
        let ids = |granularity, gtin, serial, lot| ProductIds {
            granularity,
            gtin,
            serial,
            lot,
        };
        assert_eq!(
            product_uri(base, id, ids(Granularity::Item, gtin, Some(&serial), None)),
            "https://p.example/01/04012345000016/21/A%2F1"
        );
        assert_eq!(
            product_uri(base, id, ids(Granularity::Batch, gtin, None, Some(&lot))),
            "https://p.example/01/04012345000016/10/L1"
        );
        assert_eq!(
            product_uri(base, id, ids(Granularity::Model, gtin, None, None)),
            "https://p.example/01/04012345000016"
        );
        let own = format!("https://p.example/p/{id}");
        assert_eq!(
            product_uri(base, id, ids(Granularity::Item, gtin, None, Some(&lot))),
            own
        );
        assert_eq!(
            product_uri(base, id, ids(Granularity::Batch, gtin, Some(&serial), None)),
            own
        );
        assert_eq!(
            product_uri(base, id, ids(Granularity::Item, None, Some(&serial), None)),
            own
        );
    }

    #[test]
    fn feed_event_names_round_trip() {
        for kind in FeedEventKind::ALL {
            assert_eq!(FeedEventKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(FeedEventKind::parse("passport.other"), None);
    }
}
