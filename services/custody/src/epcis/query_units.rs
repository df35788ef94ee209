//! Units of measure of the query parameters that name one (`GE_value_CEL`, `LT_quantity_KGM`,
//! ...): UN/CEFACT Recommendation 20 codes, as EPCIS 2.0 writes `uom`.
//!
//! A value in another unit of the same quantity kind is compared after conversion (GS1's
//! EPCIS conformance test TCR-53 asks for `GE_value_KEL` to find a temperature captured in
//! `CEL`). This table holds the units our sensor and quantity data use and their common
//! neighbours; a unit outside it matches only values in that same unit.

use super::query::QueryError;

/// A unit: its kind, and `base = value × factor + offset` into the kind's base unit.
struct Unit {
    code: &'static str,
    kind: &'static str,
    factor: f64,
    offset: f64,
}

const fn unit(code: &'static str, kind: &'static str, factor: f64, offset: f64) -> Unit {
    Unit {
        code,
        kind,
        factor,
        offset,
    }
}

const UNITS: [Unit; 34] = [
    // Temperature, base kelvin.
    unit("KEL", "temperature", 1.0, 0.0),
    unit("CEL", "temperature", 1.0, 273.15),
    unit("FAH", "temperature", 5.0 / 9.0, 273.15 - 32.0 * 5.0 / 9.0),
    // Mass, base kilogram.
    unit("KGM", "mass", 1.0, 0.0),
    unit("GRM", "mass", 1e-3, 0.0),
    unit("MGM", "mass", 1e-6, 0.0),
    unit("MC", "mass", 1e-9, 0.0),
    unit("TNE", "mass", 1e3, 0.0),
    unit("LBR", "mass", 0.453_592_37, 0.0),
    unit("ONZ", "mass", 0.028_349_523_125, 0.0),
    // Length, base metre.
    unit("MTR", "length", 1.0, 0.0),
    unit("KMT", "length", 1e3, 0.0),
    unit("CMT", "length", 1e-2, 0.0),
    unit("MMT", "length", 1e-3, 0.0),
    unit("INH", "length", 0.0254, 0.0),
    unit("FOT", "length", 0.3048, 0.0),
    // Volume, base cubic metre.
    unit("MTQ", "volume", 1.0, 0.0),
    unit("LTR", "volume", 1e-3, 0.0),
    unit("MLT", "volume", 1e-6, 0.0),
    unit("CMQ", "volume", 1e-6, 0.0),
    // Pressure, base pascal.
    unit("PAL", "pressure", 1.0, 0.0),
    unit("A97", "pressure", 1e2, 0.0),
    unit("KPA", "pressure", 1e3, 0.0),
    unit("BAR", "pressure", 1e5, 0.0),
    unit("MBR", "pressure", 1e2, 0.0),
    // Time, base second.
    unit("SEC", "time", 1.0, 0.0),
    unit("MIN", "time", 60.0, 0.0),
    unit("HUR", "time", 3600.0, 0.0),
    unit("DAY", "time", 86_400.0, 0.0),
    // Ratio, base one.
    unit("C62", "ratio", 1.0, 0.0),
    unit("P1", "ratio", 1e-2, 0.0),
    unit("59", "ratio", 1e-6, 0.0),
    // Energy, base joule.
    unit("JOU", "energy", 1.0, 0.0),
    unit("KWH", "energy", 3.6e6, 0.0),
];

fn find(code: &str) -> Option<&'static Unit> {
    UNITS.iter().find(|u| u.code == code)
}

/// The bound of a parameter comparing a measure in unit `uom` (none: no unit): a finite
/// number, the unit a Recommendation 20 code; otherwise the error names the parameter.
pub(crate) fn bound(param: &str, uom: Option<&str>, raw: &str) -> Result<f64, QueryError> {
    let malformed = |value: &str, reason| QueryError::Malformed {
        param: param.to_owned(),
        value: value.to_owned(),
        reason,
    };
    if let Some(uom) = uom
        && !is_code(uom)
    {
        return Err(malformed(
            uom,
            "the unit is a UN/CEFACT Recommendation 20 code (2 to 4 capitals or digits)",
        ));
    }
    raw.trim()
        .parse::<f64>()
        .ok()
        .filter(|b| b.is_finite())
        .ok_or_else(|| malformed(raw, "expected a number"))
}

/// Whether `code` has the form of a Recommendation 20 code (two to four capitals or digits).
pub fn is_code(code: &str) -> bool {
    (2..=4).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// How a value is converted: a level (`value`, `minValue`, ...) with the unit's offset, a
/// spread (`sDev`) without it (a difference of temperatures has no offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    Level,
    Spread,
}

/// `value` in unit `from`, expressed in unit `to`: itself when the units are the same, `None`
/// when they are not of one kind in the table. The flag says whether it was converted.
pub fn convert(value: f64, from: &str, to: &str, scale: Scale) -> Option<(f64, bool)> {
    if from == to {
        return Some((value, false));
    }
    let (from, to) = (find(from)?, find(to)?);
    if from.kind != to.kind {
        return None;
    }
    let offset = |u: &Unit| match scale {
        Scale::Level => u.offset,
        Scale::Spread => 0.0,
    };
    let base = value * from.factor + offset(from);
    Some(((base - offset(to)) / to.factor, true))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * a.abs().max(1.0)
    }

    #[test]
    fn converts_within_a_kind_only() {
        assert_eq!(
            convert(13.2, "CEL", "CEL", Scale::Level),
            Some((13.2, false))
        );
        assert!(close(
            convert(13.2, "CEL", "KEL", Scale::Level).unwrap().0,
            286.35
        ));
        assert!(close(
            convert(212.0, "FAH", "CEL", Scale::Level).unwrap().0,
            100.0
        ));
        // A standard deviation of 0.41 °C is one of 0.41 K, and 0.738 °F.
        assert!(close(
            convert(0.41, "CEL", "KEL", Scale::Spread).unwrap().0,
            0.41
        ));
        assert!(close(
            convert(0.41, "CEL", "FAH", Scale::Spread).unwrap().0,
            0.738
        ));
        assert!(close(
            convert(2.5, "KGM", "GRM", Scale::Level).unwrap().0,
            2500.0
        ));
        assert_eq!(convert(1.0, "KGM", "CEL", Scale::Level), None);
        assert_eq!(convert(1.0, "A93", "KGM", Scale::Level), None);
        assert!(is_code("CEL") && is_code("P1") && is_code("A93"));
        assert!(!is_code("cel") && !is_code("C") && !is_code("KELVIN"));
    }
}
