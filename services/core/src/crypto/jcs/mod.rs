//! RFC 8785 JSON Canonicalization Scheme (JCS).
//!
//! Two paths produce the same bytes:
//!
//! - [`canonicalize`] walks a [`serde_json::Value`] directly. It is the hot path of issuing and
//!   verifying (JCS was ~45% of the issuing pipeline): properties are sorted by UTF-16 code units
//!   in place, strings are escaped by `serde_json` (its escaping is exactly JCS's: `\b \t \n \f \r
//!   \" \\`, other controls as lowercase `\u00xx`, everything else literal), and numbers are
//!   formatted by `serde_json_canonicalizer` (ECMAScript `Number.prototype.toString`, the only
//!   subtle part of JCS). It is 4-8x faster than the crate's generic serializer, which buffers
//!   every property and re-parses every key (2.7 KB passport: ~7 us vs ~30 us, release build).
//! - [`canonicalize_serialize`] takes any `Serialize` type and writes it with `serde_json`'s
//!   serializer and our own formatter, which sorts each object's members in the output buffer
//!   when the object closes: issuing builds no `Value` tree (building, walking and freeing the
//!   trees was a large part of signing a v2 credential).
//!
//! The unit tests check the fast path against `serde_json_canonicalizer::to_vec` on tricky inputs.

use serde::Serialize;
use serde_json::{Map, Value};

use super::CryptoError;

mod serialize;

/// Canonical JSON bytes of `value` (RFC 8785).
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, CryptoError> {
    let mut out = Vec::with_capacity(1024);
    canonicalize_into(value, &mut out)?;
    Ok(out)
}

/// Appends the canonical JSON bytes of `value` to `out`, so a caller can reuse one buffer.
pub fn canonicalize_into(value: &Value, out: &mut Vec<u8>) -> Result<(), CryptoError> {
    write_value(value, out)
}

/// Canonical JSON bytes of an object given as a map (a proof configuration, for instance).
pub fn canonicalize_map(map: &Map<String, Value>) -> Result<Vec<u8>, CryptoError> {
    let mut out = Vec::with_capacity(512);
    write_entries(map.iter().map(|(k, v)| (k.as_str(), v)).collect(), &mut out)?;
    Ok(out)
}

/// Canonical JSON bytes of any serializable value, written straight from the value (no
/// `Value` tree): see [`serialize`](self::serialize). In debug builds every call is checked
/// against the `Value` path, so the whole test suite proves the two agree.
///
/// Non-finite floats have no JSON form: like `serde_json::to_value` (and, for nested values,
/// `serde_json_canonicalizer` itself) they come out as `null`, so keep them out of signed data
/// by construction.
pub fn canonicalize_serialize<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CryptoError> {
    let mut out = Vec::with_capacity(1024);
    serialize::write(value, &mut out)?;
    #[cfg(debug_assertions)]
    {
        let tree = serde_json::to_value(value)
            .map_err(|e| CryptoError::Canonicalization(e.to_string()))?;
        debug_assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&canonicalize(&tree)?),
            "the direct JCS writer disagrees with the Value path"
        );
    }
    Ok(out)
}

/// Writes a canonical object made of `entries` (unique keys), sorting them as JCS requires.
///
/// Taking the entries rather than a map lets Data Integrity canonicalize "the document without
/// `proof`" or "the proof without `proofValue`" without cloning the document.
pub(crate) fn write_entries(
    mut entries: Vec<(&str, &Value)>,
    out: &mut Vec<u8>,
) -> Result<(), CryptoError> {
    entries.sort_unstable_by(|a, b| utf16_cmp(a.0, b.0));
    out.push(b'{');
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(key, out);
        out.push(b':');
        write_value(value, out)?;
    }
    out.push(b'}');
    Ok(())
}

// Recursion depth is bounded by serde_json's parser (128 levels) for untrusted input; values
// built in code are ours.
pub(super) fn write_value(value: &Value, out: &mut Vec<u8>) -> Result<(), CryptoError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => serde_json_canonicalizer::to_writer(n, out)
            .map_err(|e| CryptoError::Canonicalization(e.to_string()))?,
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            write_entries(map.iter().map(|(k, v)| (k.as_str(), v)).collect(), out)?;
        }
    }
    Ok(())
}

pub(super) fn write_string(s: &str, out: &mut Vec<u8>) {
    // Serializing a &str into a Vec cannot fail: the writer is infallible and strings are valid.
    if serde_json::to_writer(&mut *out, s).is_err() {
        unreachable!("serializing a str into a Vec<u8> is infallible");
    }
}

/// JCS orders property names by their UTF-16 code units, not by UTF-8 bytes: the two differ
/// when a name holds a character above U+FFFF and another one in U+E000..=U+FFFF.
pub(super) fn utf16_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.as_bytes().cmp(b.as_bytes())
    } else {
        a.encode_utf16().cmp(b.encode_utf16())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reference(value: &Value) -> Vec<u8> {
        serde_json_canonicalizer::to_vec(value).unwrap()
    }

    fn assert_same_as_crate(value: &Value) {
        let fast = canonicalize(value).unwrap();
        assert_eq!(
            String::from_utf8(fast).unwrap(),
            String::from_utf8(reference(value)).unwrap()
        );
    }

    #[test]
    fn rfc8785_section_3_2_2_example() {
        // The example of RFC 8785 section 3.2.2 (numbers, literals and string escapes).
        let input = r#"{
          "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#;
        let value: Value = serde_json::from_str(input).unwrap();
        let expected = r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#;
        assert_eq!(
            String::from_utf8(canonicalize(&value).unwrap()).unwrap(),
            expected
        );
    }

    #[test]
    fn sorts_keys_by_utf16_code_units() {
        // RFC 8785 section 3.2.3: U+1F600 (surrogates D83D DE00) sorts before U+FB33 in UTF-16,
        // after it in UTF-8.
        let value = json!({
            "\u{20ac}": "Euro Sign", "\r": "Carriage Return", "\u{fb33}": "Hebrew Letter Dalet With Dagesh",
            "1": "One", "\u{1f600}": "Emoji: Grinning Face", "\u{0080}": "Control", "\u{00f6}": "Latin Small Letter O With Diaeresis"
        });
        let out = String::from_utf8(canonicalize(&value).unwrap()).unwrap();
        let expected = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{0080}\":\"Control\",\"\u{00f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
        assert_eq!(out, expected);
        assert_same_as_crate(&value);
    }

    #[test]
    fn matches_the_crate_on_tricky_values() {
        let values = [
            json!(null),
            json!([]),
            json!({}),
            json!({"a": {}, "b": [], "c": [{}], "": ""}),
            json!([
                0,
                -0.0,
                1.0,
                -1,
                1e21,
                1e-7,
                123456789012345680000.0,
                5e-324,
                1.7976931348623157e308
            ]),
            json!([
                u64::MAX,
                i64::MIN,
                9007199254740993_u64,
                0.1,
                100,
                1e20,
                1.5e-6
            ]),
            json!({"ctl": "\u{0}\u{1}\u{1f}\u{7f}\t\n\r\u{8}\u{c}", "slash": "/\\", "q": "\"'"}),
            json!({"z": 1, "a": {"y": [3, {"b": 2, "a": 1}], "x": "\u{10ffff}"}, "\u{e000}": 0, "\u{10000}": 1}),
            json!({"credentialSubject": {"massFraction": 0.0312, "massKg": 12.5, "count": 3}}),
        ];
        for v in &values {
            assert_same_as_crate(v);
        }
    }

    #[test]
    fn parsed_numbers_are_reformatted() {
        let value: Value = serde_json::from_str("[1.000, 10E2, -0, 0.50e1, 1E-7]").unwrap();
        assert_eq!(canonicalize(&value).unwrap(), b"[1,1000,0,5,1e-7]");
    }

    #[test]
    fn serialize_variant_matches_the_crate() {
        #[derive(Serialize)]
        struct Subject<'a> {
            name: &'a str,
            mass_kg: f64,
            tags: Vec<&'a str>,
        }
        let s = Subject {
            name: "rotor",
            mass_kg: 12.5,
            tags: vec!["Nd", "Dy"],
        };
        let ours = canonicalize_serialize(&s).unwrap();
        assert_eq!(ours, serde_json_canonicalizer::to_vec(&s).unwrap());
        assert_eq!(
            ours,
            br#"{"mass_kg":12.5,"name":"rotor","tags":["Nd","Dy"]}"#
        );
    }

    #[test]
    fn serialize_variant_rejects_maps_with_non_string_keys() {
        let map: std::collections::BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into();
        assert!(matches!(
            canonicalize_serialize(&map),
            Err(CryptoError::Canonicalization(_))
        ));
    }

    #[test]
    fn map_variant_and_appending() {
        let value = json!({"b": 1, "a": [true]});
        let map = value.as_object().unwrap();
        assert_eq!(canonicalize_map(map).unwrap(), br#"{"a":[true],"b":1}"#);
        let mut buf = b"prefix:".to_vec();
        canonicalize_into(&value, &mut buf).unwrap();
        assert_eq!(buf, br#"prefix:{"a":[true],"b":1}"#);
    }
}
