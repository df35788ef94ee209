//! The identifiers our events name products and lots by.

use reetrace_core::domain::{Lgtin, Mass, Sgtin};

use super::BuildError;

/// A product (one item) as events name it: the SGTIN Digital Link
/// `https://id.gs1.org/01/{gtin}/21/{serial}` when the product has a GS1 identity, else the
/// passport's URI `{base}/p/{passport_id}` under our own base URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProductEpc(String);

impl ProductEpc {
    /// A product with a GTIN and serial number.
    pub fn sgtin(sgtin: &Sgtin) -> ProductEpc {
        ProductEpc(sgtin.to_uri())
    }

    /// A product known by its passport only. `base` is our public base URL
    /// (`https://reetrace.example`); the id is percent-encoded as a path segment.
    pub fn passport(base: &str, passport_id: &str) -> Result<ProductEpc, BuildError> {
        Ok(ProductEpc(own_uri(base, "p", passport_id)?))
    }

    /// The URI written into events.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A lot (a quantity of material, measured by mass) as events name it: the LGTIN class
/// `https://id.gs1.org/01/{gtin}/10/{lot}` when the lot has a GTIN, else `{base}/lots/{lot_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LotEpc(String);

impl LotEpc {
    /// A lot of a GS1 trade item.
    pub fn lgtin(lgtin: &Lgtin) -> LotEpc {
        LotEpc(lgtin.to_uri())
    }

    /// A lot known by our own id.
    pub fn own(base: &str, lot_id: &str) -> Result<LotEpc, BuildError> {
        Ok(LotEpc(own_uri(base, "lots", lot_id)?))
    }

    /// The URI written into events.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A mass of a lot, written as a quantity element in kilograms (UN/CEFACT `KGM`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LotQuantity {
    /// Which lot.
    pub lot: LotEpc,
    /// How much of it.
    pub mass: Mass,
}

fn own_uri(base: &str, collection: &'static str, id: &str) -> Result<String, BuildError> {
    let base = base.trim_end_matches('/');
    let host = base
        .strip_prefix("https://")
        .or_else(|| base.strip_prefix("http://"));
    let valid =
        host.is_some_and(|h| !h.is_empty() && !h.contains(['?', '#', ' ']) && !h.starts_with('/'));
    if !valid {
        return Err(BuildError::BaseUrl(base.to_owned()));
    }
    if id.is_empty() {
        return Err(BuildError::EmptyId(collection));
    }
    Ok(format!("{base}/{collection}/{}", encode_segment(id)))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A mass in kilograms as a JSON number: the exact decimal of the microgram count, read as
/// the nearest double (exact up to 15 significant digits).
pub(super) fn kilograms(mass: Mass) -> serde_json::Value {
    let micrograms = mass.micrograms().unsigned_abs();
    let (whole, fraction) = (micrograms / 1_000_000_000, micrograms % 1_000_000_000);
    let text = format!("{whole}.{fraction:09}");
    let kg: f64 = text.parse().expect("a decimal literal parses as f64");
    serde_json::Number::from_f64(kg).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn own_identifiers_live_under_the_base_url() {
        let p = ProductEpc::passport("https://reetrace.example/", "0b7c/1 d").unwrap();
        assert_eq!(p.as_str(), "https://reetrace.example/p/0b7c%2F1%20d");
        let l = LotEpc::own("https://reetrace.example", "L-7").unwrap();
        assert_eq!(l.as_str(), "https://reetrace.example/lots/L-7");
        assert!(ProductEpc::passport("reetrace.example", "x").is_err());
        assert!(ProductEpc::passport("https://reetrace.example?a", "x").is_err());
        assert!(LotEpc::own("https://reetrace.example", "").is_err());
    }

    #[test]
    fn masses_become_kilograms() {
        let kg = |g: &str| kilograms(Mass::from_grams_str(g).unwrap()).to_string();
        assert_eq!(kg("1500"), "1.5");
        assert_eq!(kg("337.5"), "0.3375");
        assert_eq!(kg("0.000001"), "1e-9");
        assert_eq!(kg("2000000"), "2000.0");
    }
}
