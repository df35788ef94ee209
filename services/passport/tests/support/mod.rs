//! Rows for the passport store tests: passports with random ids and identities, their status
//! entries handed out by core's issuing store (as the service gets them), a stand-in
//! credential.

#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use reetrace_core::db::{Db, PoolOptions};
use reetrace_core::domain::issuing::{StatusPurpose, StatusRef};
use reetrace_core::domain::{Category, Country, Gtin, LotNumber, SerialNumber};
use reetrace_core::store::issuing::{self, IssuingStores};
use reetrace_core::testing::TestDatabase;
use reetrace_passport::domain::passport::{CredentialFormat, NewPassport};
use reetrace_passport::domain::registration::Granularity;
use reetrace_passport::store::{self, PassportStores};
use uuid::Uuid;

/// The passport stores (`store.insert_passports(...)`), and the issuing stores beside them
/// (`store.issuing.allocate(...)`) on the same database.
#[derive(Clone)]
pub struct Stores {
    pub passports: Arc<dyn PassportStores>,
    pub issuing: Arc<dyn IssuingStores>,
}

impl std::ops::Deref for Stores {
    type Target = dyn PassportStores;

    fn deref(&self) -> &Self::Target {
        &*self.passports
    }
}

/// The passport and issuing migrations, in the order the binary applies them.
pub async fn migrate(conn: &Db) {
    conn.migrate(&store::MIGRATIONS).await.unwrap();
    conn.migrate(&issuing::MIGRATIONS).await.unwrap();
}

/// The passport stores on a freshly migrated test database.
pub async fn open(db: &TestDatabase) -> Stores {
    let conn = Db::connect(&db.url, &PoolOptions::default()).await.unwrap();
    migrate(&conn).await;
    // Migrating again is harmless.
    migrate(&conn).await;
    Stores {
        passports: store::open(&conn),
        issuing: issuing::open(&conn),
    }
}

/// Now, to the microsecond (what PostgreSQL keeps), so stored times compare exactly.
pub fn now() -> DateTime<Utc> {
    reetrace_core::domain::account::now()
}

/// `seconds` after `at`.
pub fn later(at: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    at + Duration::seconds(seconds)
}

/// A serial number (GS1 AI 21).
pub fn serial(text: &str) -> SerialNumber {
    SerialNumber::parse(text).unwrap()
}

/// A lot number (GS1 AI 10).
pub fn lot(text: &str) -> LotNumber {
    LotNumber::parse(text).unwrap()
}

/// A country by its ISO 3166-1 alpha-2 code.
pub fn country(code: &str) -> Country {
    Country::parse(code).unwrap()
}

/// What identifies a product: the columns the uniqueness indexes look at.
#[derive(Debug, Clone)]
pub struct Ident {
    pub granularity: Granularity,
    pub gtin: Option<Gtin>,
    pub serial: Option<SerialNumber>,
    pub lot: Option<LotNumber>,
}

pub fn item(gtin: &Gtin, number: &str) -> Ident {
    Ident {
        granularity: Granularity::Item,
        gtin: Some(*gtin),
        serial: Some(serial(number)),
        lot: None,
    }
}

pub fn batch(gtin: &Gtin, number: &str) -> Ident {
    Ident {
        granularity: Granularity::Batch,
        gtin: Some(*gtin),
        serial: None,
        lot: Some(lot(number)),
    }
}

pub fn model(gtin: &Gtin) -> Ident {
    Ident {
        granularity: Granularity::Model,
        gtin: Some(*gtin),
        serial: None,
        lot: None,
    }
}

/// An item known by the organisation's own serial number (no GTIN).
pub fn own_item(number: &str) -> Ident {
    Ident {
        granularity: Granularity::Item,
        gtin: None,
        serial: Some(serial(number)),
        lot: None,
    }
}

/// A batch known by the organisation's own lot number (no GTIN).
pub fn own_batch(number: &str) -> Ident {
    Ident {
        granularity: Granularity::Batch,
        gtin: None,
        serial: None,
        lot: Some(lot(number)),
    }
}

/// A random GTIN-14 (its check digit computed).
pub fn random_gtin() -> Gtin {
    let mut n = Uuid::new_v4().as_u128();
    let mut digits = [0u8; 13];
    for digit in digits.iter_mut() {
        *digit = (n % 10) as u8;
        n /= 10;
    }
    Gtin::from_digits_without_check(digits).unwrap()
}

/// A serialised item with a random GTIN and serial.
pub fn random_item() -> Ident {
    item(&random_gtin(), &Uuid::new_v4().simple().to_string()[..12])
}

/// `count` revocation, suspension and message entries from the store, one triple per passport.
pub async fn status_refs(store: &Stores, org_id: Uuid, count: usize) -> Vec<[StatusRef; 3]> {
    let mut by_purpose = Vec::new();
    for purpose in StatusPurpose::ALL {
        let refs = store
            .issuing
            .allocate(org_id, purpose, count, now())
            .await
            .unwrap();
        assert_eq!(refs.len(), count);
        assert!(refs.iter().all(|r| r.purpose == purpose));
        by_purpose.push(refs);
    }
    let [revocation, suspension, message]: [Vec<StatusRef>; 3] = by_purpose.try_into().unwrap();
    revocation
        .into_iter()
        .zip(suspension)
        .zip(message)
        .map(|((r, s), m)| [r, s, m])
        .collect()
}

/// A stand-in for the signed credential: only stored and served back, but valid JSON.
pub fn credential(passport_id: Uuid, credential_id: Uuid, version: u32) -> String {
    serde_json::json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": format!("urn:uuid:{credential_id}"),
        "type": ["VerifiableCredential", "DigitalProductPassport"],
        "issuer": "did:web:passports.example",
        "credentialSubject": {"id": format!("urn:uuid:{passport_id}"), "version": version},
    })
    .to_string()
}

/// The first version of a passport with a random id.
pub fn passport(org_id: Uuid, ident: Ident, status: [StatusRef; 3]) -> NewPassport {
    let id = Uuid::new_v4();
    let credential_id = Uuid::new_v4();
    NewPassport {
        id,
        org_id,
        version: 1,
        granularity: ident.granularity,
        gtin: ident.gtin,
        serial: ident.serial,
        lot: ident.lot,
        category: Category::NdfebMagnet,
        country: country("DE"),
        placed_on_market: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        model_passport: None,
        credential_id,
        format: CredentialFormat::V1,
        credential: credential(id, credential_id, 1),
        credential_jws: None,
        placement: None,
        component_details: r#"{"components":[{"element":"Nd","massKg":0.31}]}"#.into(),
        confidential: None,
        key_id: "z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH".into(),
        status,
        created_at: now(),
        registration_fingerprint: [0; 32],
    }
}

/// First versions for `idents`, with fresh status entries.
pub async fn passports(store: &Stores, org_id: Uuid, idents: Vec<Ident>) -> Vec<NewPassport> {
    let refs = status_refs(store, org_id, idents.len()).await;
    idents
        .into_iter()
        .zip(refs)
        .map(|(ident, status)| passport(org_id, ident, status))
        .collect()
}

/// `count` items with random identities.
pub async fn random_items(store: &Stores, org_id: Uuid, count: usize) -> Vec<NewPassport> {
    passports(store, org_id, (0..count).map(|_| random_item()).collect()).await
}

/// The version after `previous`, a second later, with new status entries.
pub async fn next_version(store: &Stores, previous: &NewPassport) -> NewPassport {
    let status = status_refs(store, previous.org_id, 1).await.remove(0);
    let credential_id = Uuid::new_v4();
    let version = previous.version + 1;
    NewPassport {
        version,
        credential_id,
        credential: credential(previous.id, credential_id, version),
        status,
        created_at: later(previous.created_at, 1),
        ..previous.clone()
    }
}

/// Bit `index` of a Bitstring Status List bitmap: index 0 is the left-most bit of the first
/// byte (W3C Bitstring Status List v1.0, bitstring generation algorithm).
pub fn bit(bits: &[u8], index: u32) -> bool {
    bits[(index / 8) as usize] & (0x80 >> (index % 8)) != 0
}

/// The stored status bit behind a status entry.
pub async fn status_bit(store: &Stores, status: &StatusRef) -> bool {
    let list = store
        .issuing
        .status_list(&status.list_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(list.purpose, status.purpose);
    bit(&list.bits, status.index)
}
