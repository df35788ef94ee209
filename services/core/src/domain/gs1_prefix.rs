//! GS1 identities held by organisations: company prefixes and single GTINs, and which GTINs
//! may name a product at all.
//!
//! Every entry is kept in one canonical form: its digits as they stand in the GTIN-13 form of
//! the GTINs it covers (digits 2 to 13 of the GTIN-14, after the indicator digit, without the
//! check digit). A GTIN is under an entry when those 12 digits start with it:
//!
//! - a GS1 Company Prefix (4 to 12 digits) is stored as given: `4012345`;
//! - a U.P.C. Company Prefix (6 to 11 digits, the GTIN-12 form) gets the leading zero of the
//!   GTIN-13 form: U.P.C. `0614141` is stored `00614141`;
//! - a single GTIN (a GTIN-8, which GS1 allocates one by one, or one GTIN an organisation was
//!   given or registered before prefixes existed) is stored as its 12 digits: GTIN-8
//!   `96385074` is `000009638507`. Like a 12-digit company prefix it covers that item and the
//!   GTIN-14s of its groupings (indicators 1 to 9), which only the item's brand owner may form
//!   (GS1 General Specifications, GTIN allocation: a GTIN-14 is an indicator digit, the
//!   contained item's GTIN-13 without its check digit, and a check digit of its own).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Gtin;

/// What kind of GS1 identity an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Gs1PrefixKind {
    /// A GS1 Company Prefix, as it stands in a GTIN-13.
    CompanyPrefix,
    /// A U.P.C. Company Prefix (GTIN-12), stored in its GTIN-13 form.
    UpcCompanyPrefix,
    /// One GTIN (a GTIN-8, or a GTIN held on its own).
    Gtin,
}

impl Gs1PrefixKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Gs1PrefixKind::CompanyPrefix => "company_prefix",
            Gs1PrefixKind::UpcCompanyPrefix => "upc_company_prefix",
            Gs1PrefixKind::Gtin => "gtin",
        }
    }
}

impl std::str::FromStr for Gs1PrefixKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "company_prefix" => Ok(Gs1PrefixKind::CompanyPrefix),
            "upc_company_prefix" => Ok(Gs1PrefixKind::UpcCompanyPrefix),
            "gtin" => Ok(Gs1PrefixKind::Gtin),
            other => Err(format!("unknown GS1 prefix kind {other:?}")),
        }
    }
}

/// The canonical digits of a held GS1 identity (see the module documentation): 4 to 12 digits
/// of the GTIN-13 form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gs1Prefix(String);

/// The digits of the GTIN-13 form of `gtin`, without its check digit.
fn body(gtin: &Gtin) -> &str {
    &gtin.as_str()[1..13]
}

/// Why `digits` (the GTIN-13 form, from its start) lie in restricted circulation, if they do.
///
/// GS1 General Specifications, the GS1 Prefix table and Restricted Circulation Numbers:
/// GTIN-13s under GS1 Prefixes 02 and 04 (GTIN-12s starting 2 or 4) and 20 to 29 are numbers
/// for use inside a company or a geographic region, never product identities; GTIN-8s
/// (stored after `00000`, the GTIN-8 space of the 13-digit form) starting 0 or 2 are RCN-8s.
fn restricted(digits: &str) -> Option<&'static str> {
    if let Some(gtin8) = digits.strip_prefix("00000") {
        return match gtin8.as_bytes().first() {
            Some(b'0' | b'2') => {
                Some("a GTIN-8 starting with 0 or 2 is a restricted circulation number (RCN-8)")
            }
            _ => None,
        };
    }
    if digits.starts_with("02") || digits.starts_with("04") {
        return Some(
            "GS1 Prefixes 02 and 04 (U.P.C. numbers starting 2 or 4) are restricted circulation numbers",
        );
    }
    if digits.starts_with('2') {
        return Some("GS1 Prefixes 20 to 29 are restricted circulation numbers");
    }
    None
}

/// Why `gtin` may not name a product (a restricted circulation number), if it may not.
pub fn restricted_circulation(gtin: &Gtin) -> Option<&'static str> {
    restricted(body(gtin))
}

impl Gs1Prefix {
    /// A GS1 Company Prefix as it stands in a GTIN-13: 4 to 12 digits, outside the GTIN-8
    /// space (`00000`) and restricted circulation.
    pub fn company(digits: &str) -> Result<Gs1Prefix, String> {
        if !(4..=12).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("a GS1 Company Prefix has 4 to 12 digits".into());
        }
        if digits.starts_with("00000") || "00000".starts_with(digits) {
            return Err(
                "GTIN-13s starting 00000 are GTIN-8s, which GS1 allocates one by one: enter each as `gtin`".into(),
            );
        }
        if let Some(why) = restricted(digits) {
            return Err(format!("{why}, not a company prefix"));
        }
        Ok(Gs1Prefix(digits.to_owned()))
    }

    /// A U.P.C. Company Prefix as it stands in a GTIN-12 (6 to 11 digits); stored with the
    /// leading zero of the GTIN-13 form.
    pub fn upc(digits: &str) -> Result<Gs1Prefix, String> {
        if !(6..=11).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("a U.P.C. Company Prefix has 6 to 11 digits".into());
        }
        Gs1Prefix::company(&format!("0{digits}"))
    }

    /// The entry of one GTIN: its 12 digits, covering it and its groupings' GTIN-14s.
    pub fn gtin(gtin: &Gtin) -> Result<Gs1Prefix, String> {
        if let Some(why) = restricted_circulation(gtin) {
            return Err(why.into());
        }
        Ok(Gs1Prefix(body(gtin).to_owned()))
    }

    /// Reads a stored entry.
    pub fn stored(digits: &str) -> Result<Gs1Prefix, String> {
        if (4..=12).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Gs1Prefix(digits.to_owned()))
        } else {
            Err(format!(
                "stored GS1 prefix {digits:?} is not 4 to 12 digits"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `gtin` is under this entry.
    pub fn covers(&self, gtin: &Gtin) -> bool {
        body(gtin).starts_with(&self.0)
    }

    /// Whether the two entries cover a GTIN in common (one starts with the other).
    pub fn overlaps(&self, other: &Gs1Prefix) -> bool {
        self.0.starts_with(&other.0) || other.0.starts_with(&self.0)
    }

    /// The GTIN of a 12-digit entry (indicator 0), as a `gtin` entry shows it.
    pub fn as_gtin(&self) -> Option<Gtin> {
        let bytes = self.0.as_bytes();
        if bytes.len() != 12 {
            return None;
        }
        let mut digits = [0u8; 13];
        for (slot, b) in digits[1..].iter_mut().zip(bytes) {
            *slot = b - b'0';
        }
        Gtin::from_digits_without_check(digits)
    }
}

impl std::fmt::Display for Gs1Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A GS1 identity an organisation holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"org_id": "0190f1c2-7a4b-7c3d-9e5f-1a2b3c4d5e6f", "prefix": "4012345", "kind": "company_prefix", "grandfathered": false, "created_at": "2026-05-04T10:00:00Z"}))]
pub struct Gs1PrefixEntry {
    pub org_id: Uuid,
    /// The canonical digits: as they stand in the GTIN-13 form of the GTINs covered, without
    /// the check digit (a U.P.C. prefix with its leading zero, a single GTIN as 12 digits). The
    /// path of `DELETE .../gs1-prefixes/{prefix}`.
    #[schema(pattern = r"^\d{4,12}$", example = "4012345")]
    pub prefix: String,
    pub kind: Gs1PrefixKind,
    /// For a `gtin` entry, the GTIN it holds (indicator 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtin: Option<Gtin>,
    /// Recorded from passports or lots registered before organisations held prefixes (the
    /// GTIN's first registrant keeps it).
    pub grandfathered: bool,
    pub created_at: DateTime<Utc>,
}

impl Gs1PrefixEntry {
    /// The entry's canonical digits.
    pub fn digits(&self) -> Gs1Prefix {
        Gs1Prefix(self.prefix.clone())
    }
}

/// Whether any of `held` covers `gtin`.
pub fn holds(held: &[Gs1PrefixEntry], gtin: &Gtin) -> bool {
    held.iter().any(|entry| entry.digits().covers(gtin))
}

/// Refuses `gtin` (at `pointer` in a request) unless one of `held` covers it.
pub fn require_held(
    held: &[Gs1PrefixEntry],
    gtin: &Gtin,
    pointer: &str,
) -> Result<(), super::Denied> {
    if holds(held, gtin) {
        Ok(())
    } else {
        Err(super::Denied::GtinNotYours {
            gtin: *gtin,
            pointer: pointer.to_owned(),
            held: held.iter().map(|e| e.prefix.clone()).collect(),
        })
    }
}

/// What adding a GS1 identity to an organisation takes: exactly one of the three.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"prefix": "4012345"}))]
pub struct NewGs1Prefix {
    /// A GS1 Company Prefix as it stands in a GTIN-13 (4 to 12 digits).
    #[serde(default)]
    #[schema(pattern = r"^\d{4,12}$")]
    pub prefix: Option<String>,
    /// A U.P.C. Company Prefix as it stands in a GTIN-12 (6 to 11 digits); stored with the
    /// leading zero of the GTIN-13 form.
    #[serde(default)]
    #[schema(pattern = r"^\d{6,11}$")]
    pub upc_prefix: Option<String>,
    /// One GTIN (8, 12, 13 or 14 digits): a GTIN-8, or a GTIN held on its own.
    #[serde(default)]
    #[schema(pattern = r"^(\d{8}|\d{12,14})$")]
    pub gtin: Option<String>,
}

impl NewGs1Prefix {
    /// The canonical entry and its kind, or the field that is wrong.
    pub fn parse(&self) -> Result<(Gs1Prefix, Gs1PrefixKind), super::FieldError> {
        use super::FieldError;
        match (&self.prefix, &self.upc_prefix, &self.gtin) {
            (Some(p), None, None) => Gs1Prefix::company(p)
                .map(|p| (p, Gs1PrefixKind::CompanyPrefix))
                .map_err(|why| FieldError::new("/prefix", why)),
            (None, Some(p), None) => Gs1Prefix::upc(p)
                .map(|p| (p, Gs1PrefixKind::UpcCompanyPrefix))
                .map_err(|why| FieldError::new("/upc_prefix", why)),
            (None, None, Some(g)) => Gtin::parse(g)
                .map_err(|e| e.to_string())
                .and_then(|g| Gs1Prefix::gtin(&g))
                .map(|p| (p, Gs1PrefixKind::Gtin))
                .map_err(|why| FieldError::new("/gtin", why)),
            _ => Err(FieldError::new(
                "",
                "give exactly one of prefix, upc_prefix and gtin",
            )),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn gtin(s: &str) -> Gtin {
        Gtin::parse(s).unwrap()
    }

    #[test]
    fn a_company_prefix_covers_the_gtins_after_the_indicator() {
        let p = Gs1Prefix::company("4012345").unwrap();
        assert!(p.covers(&gtin("4012345000016")));
        assert!(p.covers(&gtin("04012345000016")));
        // A case of the same item (indicator 1, its own check digit).
        assert!(p.covers(
            &Gtin::from_digits_without_check([1, 4, 0, 1, 2, 3, 4, 5, 0, 0, 0, 0, 1]).unwrap()
        ));
        assert!(!p.covers(&gtin("04012346000022")));
    }

    #[test]
    fn upc_prefixes_take_the_leading_zero_of_the_gtin13_form() {
        let p = Gs1Prefix::upc("0614141").unwrap();
        assert_eq!(p.as_str(), "00614141");
        // GTIN-12 0614141 00001 2 → GTIN-14 00 0614141 00001 2.
        let upc = Gtin::from_digits_without_check([0, 0, 0, 6, 1, 4, 1, 4, 1, 0, 0, 0, 0]).unwrap();
        let twelve = &upc.as_str()[2..];
        assert!(p.covers(&gtin(twelve)));
        assert_eq!(Gs1Prefix::upc("614141").unwrap().as_str(), "0614141");
        assert!(Gs1Prefix::upc("12345").is_err());
    }

    #[test]
    fn gtin8s_are_held_one_by_one() {
        let p = Gs1Prefix::gtin(&gtin("96385074")).unwrap();
        assert_eq!(p.as_str(), "000009638507");
        assert!(p.covers(&gtin("96385074")));
        assert_eq!(p.as_gtin().unwrap().as_str(), "00000096385074");
        assert!(Gs1Prefix::company("00000963").is_err());
        assert!(Gs1Prefix::company("0000").is_err());
    }

    #[test]
    fn restricted_circulation_numbers_are_refused() {
        // GTIN-13 prefixes 02, 04, 20-29.
        for rcn in [
            "0212345000019",
            "0412345000017",
            "2012345000010",
            "2912345000017",
        ] {
            let g = Gtin::from_digits_without_check(std::array::from_fn(|i| {
                if i == 0 {
                    0
                } else {
                    rcn.as_bytes()[i - 1] - b'0'
                }
            }))
            .unwrap();
            assert!(restricted_circulation(&g).is_some(), "{rcn}");
        }
        // GTIN-12 starting 2 (U.P.C. number system 2), RCN-8s starting 0 or 2.
        assert!(restricted_circulation(&gtin("212345678909")).is_some());
        assert!(restricted_circulation(&gtin("20123451")).is_some());
        assert!(restricted_circulation(&gtin("01234565")).is_some());
        // 04012345000016 is GTIN-13 4012345000016 (Germany): not restricted.
        assert!(restricted_circulation(&gtin("04012345000016")).is_none());
        assert!(restricted_circulation(&gtin("96385074")).is_none());
        assert!(Gs1Prefix::company("2012345").is_err());
        assert!(Gs1Prefix::company("0412345").is_err());
        assert!(Gs1Prefix::upc("212345").is_err());
    }

    #[test]
    fn overlaps_are_one_prefix_starting_the_other() {
        let short = Gs1Prefix::company("401234").unwrap();
        let long = Gs1Prefix::company("4012345").unwrap();
        let other = Gs1Prefix::company("4012346").unwrap();
        assert!(short.overlaps(&long) && long.overlaps(&short));
        assert!(!long.overlaps(&other));
    }

    #[test]
    fn a_new_entry_names_exactly_one_field() {
        let both = NewGs1Prefix {
            prefix: Some("4012345".into()),
            gtin: Some("96385074".into()),
            ..NewGs1Prefix::default()
        };
        assert_eq!(both.parse().unwrap_err().pointer, "");
        let bad = NewGs1Prefix {
            gtin: Some("96385075".into()),
            ..NewGs1Prefix::default()
        };
        assert_eq!(bad.parse().unwrap_err().pointer, "/gtin");
    }
}
