//! Passport and version rows as the database returns them, decoded into domain types; a value
//! that does not parse is corrupt.

use chrono::{DateTime, NaiveDate, Utc};
use reetrace_core::db::StoreError;
use reetrace_core::domain::issuing::{StatusPurpose, StatusRef};
use reetrace_core::domain::{Category, Country, Gtin, LotNumber, SerialNumber};
use uuid::Uuid;

use super::super::{corrupt, to_u32};
use crate::domain::passport::{CredentialFormat, Passport, PassportStatus, PassportVersion};
use crate::domain::registration::Granularity;

pub(super) const PASSPORT_COLUMNS: &str = "id, org_id, version, status, status_reason, \
     granularity, gtin, serial, lot, category, country, placed_on_market, model_passport, \
     created_at, updated_at";
pub(super) const VERSION_COLUMNS: &str = "passport_id, version, credential_id, format, credential, \
     credential_jws, placement, component_details, confidential, key_id, revocation_list, \
     revocation_index, suspension_list, suspension_index, message_list, message_index, \
     created_at, superseded_at, registration_fingerprint";

/// [`PASSPORT_COLUMNS`] qualified with the `p` alias, for joins.
pub(super) fn passport_columns_of_p() -> &'static str {
    static COLUMNS: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| qualified(PASSPORT_COLUMNS, "p"));
    &COLUMNS
}

/// [`VERSION_COLUMNS`] qualified with the `v` alias, for joins.
pub(super) fn version_columns_of_v() -> &'static str {
    static COLUMNS: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| qualified(VERSION_COLUMNS, "v"));
    &COLUMNS
}

fn qualified(columns: &str, alias: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) struct PassportDb {
    id: Uuid,
    org_id: Uuid,
    version: i64,
    status: String,
    status_reason: Option<String>,
    granularity: String,
    gtin: Option<String>,
    serial: Option<String>,
    lot: Option<String>,
    category: String,
    country: String,
    placed_on_market: NaiveDate,
    model_passport: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

reetrace_core::record!(PassportDb {
    id,
    org_id,
    version,
    status,
    status_reason,
    granularity,
    gtin,
    serial,
    lot,
    category,
    country,
    placed_on_market,
    model_passport,
    created_at,
    updated_at,
});

/// A passport row with its current version's credential (one join).
pub(super) struct PassportCredentialDb {
    pub passport: PassportDb,
    pub current_credential: String,
}

reetrace_core::record!(PassportCredentialDb {
    passport: flatten,
    current_credential,
});

/// Parses an optional stored text with `parse`.
fn optional<T, E: std::fmt::Display>(
    what: &str,
    value: Option<String>,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, StoreError> {
    value
        .map(|v| parse(&v).map_err(|e| corrupt(what, &v, e)))
        .transpose()
}

fn granularity(s: &str) -> Result<Granularity, StoreError> {
    match s {
        "model" => Ok(Granularity::Model),
        "batch" => Ok(Granularity::Batch),
        "item" => Ok(Granularity::Item),
        other => Err(corrupt("granularity", other, "not a granularity")),
    }
}

impl TryFrom<PassportDb> for Passport {
    type Error = StoreError;

    fn try_from(r: PassportDb) -> Result<Self, StoreError> {
        Ok(Passport {
            id: r.id,
            org_id: r.org_id,
            version: to_u32(r.version)?,
            status: PassportStatus::parse(&r.status)
                .ok_or_else(|| corrupt("passport status", &r.status, "not a status"))?,
            status_reason: r.status_reason,
            granularity: granularity(&r.granularity)?,
            gtin: optional("GTIN", r.gtin, Gtin::parse)?,
            serial: optional("serial number", r.serial, SerialNumber::parse)?,
            lot: optional("lot number", r.lot, LotNumber::parse)?,
            category: r
                .category
                .parse::<Category>()
                .map_err(|e| corrupt("category", &r.category, e))?,
            country: Country::parse(&r.country).map_err(|e| corrupt("country", &r.country, e))?,
            placed_on_market: r.placed_on_market,
            model_passport: r.model_passport,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

pub(super) struct VersionDb {
    passport_id: Uuid,
    version: i64,
    credential_id: Uuid,
    format: Option<i64>,
    credential: String,
    credential_jws: Option<String>,
    placement: Option<String>,
    component_details: String,
    confidential: Option<String>,
    key_id: String,
    revocation_list: String,
    revocation_index: i64,
    suspension_list: String,
    suspension_index: i64,
    message_list: String,
    message_index: i64,
    created_at: DateTime<Utc>,
    superseded_at: Option<DateTime<Utc>>,
    registration_fingerprint: Option<Vec<u8>>,
}

reetrace_core::record!(VersionDb {
    passport_id,
    version,
    credential_id,
    format,
    credential,
    credential_jws,
    placement,
    component_details,
    confidential,
    key_id,
    revocation_list,
    revocation_index,
    suspension_list,
    suspension_index,
    message_list,
    message_index,
    created_at,
    superseded_at,
    registration_fingerprint,
});

fn status_ref(
    purpose: StatusPurpose,
    list_id: String,
    index: i64,
) -> Result<StatusRef, StoreError> {
    Ok(StatusRef {
        purpose,
        list_id,
        index: to_u32(index)?,
    })
}

impl TryFrom<VersionDb> for PassportVersion {
    type Error = StoreError;

    fn try_from(r: VersionDb) -> Result<Self, StoreError> {
        Ok(PassportVersion {
            passport_id: r.passport_id,
            version: to_u32(r.version)?,
            credential_id: r.credential_id,
            // NULL: issued before the forms were told apart, so v1.
            format: match r.format {
                None => CredentialFormat::V1,
                Some(n) => CredentialFormat::from_number(n)
                    .ok_or_else(|| corrupt("credential format", &n.to_string(), "not 1 or 2"))?,
            },
            credential: r.credential,
            credential_jws: r.credential_jws,
            placement: r.placement,
            component_details: r.component_details,
            confidential: r.confidential,
            key_id: r.key_id,
            status: [
                status_ref(
                    StatusPurpose::Revocation,
                    r.revocation_list,
                    r.revocation_index,
                )?,
                status_ref(
                    StatusPurpose::Suspension,
                    r.suspension_list,
                    r.suspension_index,
                )?,
                status_ref(StatusPurpose::Message, r.message_list, r.message_index)?,
            ],
            created_at: r.created_at,
            superseded_at: r.superseded_at,
            registration_fingerprint: r
                .registration_fingerprint
                .map(|bytes| {
                    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
                        corrupt(
                            "registration fingerprint",
                            &hex::encode(&bytes),
                            "not 32 bytes",
                        )
                    })
                })
                .transpose()?,
        })
    }
}
