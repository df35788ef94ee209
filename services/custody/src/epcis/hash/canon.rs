//! Normalising single values for the pre-hash string: CURIEs, CBV vocabulary, numbers,
//! timestamps and GS1 identifiers (CBV 2.0 event hash rules 5 to 9 and 14 to 18).

use std::collections::HashMap;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::Value;

use super::{HashVersion, gs1};
use crate::epcis::vocab::{REE_PREFIX, REE_VOCAB};

/// Compact-IRI prefixes in scope for one event: the standard ones of the EPCIS context, ours,
/// and those the document and the event declare in `@context`; with the hash version whose
/// spelling of namespaces and identifiers [`Prefixes::key`] and [`value`] follow.
#[derive(Debug, Clone)]
pub(crate) struct Prefixes {
    iris: HashMap<String, String>,
    version: HashVersion,
    /// The namespace version 2 writes for `cbvmda:` names: what the context in scope makes
    /// of the prefix (see [`Prefixes::declare`]).
    mda_namespace: String,
}

/// The CBV master-data namespace as the EPCIS 2.0.0 JSON-LD context defines the `cbvmda`
/// prefix (with a trailing colon), and as the current context and the XML binding write it.
const MDA_2_0_0: &str = "urn:epcglobal:cbv:mda:";
const MDA: &str = "urn:epcglobal:cbv:mda";
const EPCIS_CONTEXT_2_0_0: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

impl Prefixes {
    /// The prefixes every EPCIS 2.0 event may use without declaring them, plus `ree`.
    pub(crate) fn standard() -> Prefixes {
        let iris = [
            ("cbv", "https://ref.gs1.org/cbv/"),
            ("epcis", "https://ref.gs1.org/epcis/"),
            ("gs1", "https://ref.gs1.org/voc/"),
            ("cbvmda", MDA_2_0_0),
            (REE_PREFIX, REE_VOCAB),
        ]
        .into_iter()
        .map(|(p, iri)| (p.to_owned(), iri.to_owned()))
        .collect();
        // Index and query keys (`epcis::query`) keep the forms they were first stored with.
        Prefixes {
            iris,
            version: HashVersion::V1,
            mda_namespace: MDA.to_owned(),
        }
    }

    /// The same prefixes, spelling names and identifiers as hash `version` does.
    pub(crate) fn for_hash(mut self, version: HashVersion) -> Prefixes {
        self.version = version;
        self
    }

    /// Adds the prefixes of a JSON-LD `@context` (a URL, an object or an array of both);
    /// later definitions win, as in JSON-LD. Of the contexts a URL names only the `cbvmda`
    /// prefix matters here: the EPCIS 2.0.0 context gives it a trailing colon, the current
    /// one (and no context at all) does not.
    pub(crate) fn declare(&mut self, context: &Value) {
        match context {
            Value::Array(items) => items.iter().for_each(|c| self.declare(c)),
            Value::String(url) => {
                self.mda_namespace = if url.trim() == EPCIS_CONTEXT_2_0_0 {
                    MDA_2_0_0.to_owned()
                } else {
                    MDA.to_owned()
                };
            }
            Value::Object(terms) => {
                for (term, definition) in terms {
                    // A term defined as a string, or by an expanded definition with an
                    // `@id`, maps to that IRI.
                    let iri = match definition {
                        Value::String(iri) => Some(iri.as_str()),
                        Value::Object(d) => d.get("@id").and_then(Value::as_str),
                        _ => None,
                    };
                    if let Some(iri) = iri.filter(|iri| !term.starts_with('@') && !iri.is_empty()) {
                        if term == "cbvmda" {
                            self.mda_namespace = iri.to_owned();
                        }
                        self.iris.insert(term.clone(), iri.to_owned());
                    }
                }
            }
            _ => {}
        }
    }

    /// `prefix:local` with a known prefix, expanded; anything else `None`.
    pub(crate) fn expand(&self, curie: &str) -> Option<String> {
        let (prefix, local) = curie.split_once(':')?;
        if local.starts_with("//") {
            return None;
        }
        self.iris.get(prefix).map(|iri| format!("{iri}{local}"))
    }

    /// A property name as the pre-hash string writes it: `{namespace}local` for a compact
    /// name with a known prefix, the name itself otherwise.
    pub(crate) fn key(&self, name: &str) -> String {
        match name.split_once(':') {
            Some((prefix, local)) if !local.starts_with("//") => match self.iris.get(prefix) {
                Some(iri) => match self.version {
                    HashVersion::V1 => format!("{{{}}}{local}", xml_namespace(iri)),
                    HashVersion::V2 if prefix == "cbvmda" => {
                        format!("{{{}}}{local}", self.mda_namespace)
                    }
                    HashVersion::V2 => format!("{{{iri}}}{local}"),
                },
                None => name.to_owned(),
            },
            _ => name.to_owned(),
        }
    }
}

/// Version 1 wrote the XML namespace that corresponds to a JSON-LD prefix IRI. They coincide
/// except for the CBV master-data attributes, whose XML namespace has no trailing colon: even a
/// document that declared `cbvmda` as `urn:epcglobal:cbv:mda:` got none. Version 2 writes the
/// namespace the context in scope gives the prefix, as the reference implementation does.
fn xml_namespace(iri: &str) -> &str {
    if iri == "urn:epcglobal:cbv:mda:" {
        "urn:epcglobal:cbv:mda"
    } else {
        iri
    }
}

/// Which web vocabulary a bare (unprefixed) value of a standard field belongs to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Vocabulary {
    BizStep,
    Disposition,
    BizTransactionType,
    SourceDestinationType,
    /// GS1 Web Vocabulary terms: measurement types and sensor alert types.
    Gs1,
    Component,
}

impl Vocabulary {
    /// The canonical IRI of a value of this vocabulary (see [`vocabulary_value`]).
    pub(crate) fn canonical(self, prefixes: &Prefixes, text: &str) -> String {
        vocabulary_value(prefixes, self, text)
    }

    fn prefix(self) -> &'static str {
        match self {
            Vocabulary::BizStep => "https://ref.gs1.org/cbv/BizStep-",
            Vocabulary::Disposition => "https://ref.gs1.org/cbv/Disp-",
            Vocabulary::BizTransactionType => "https://ref.gs1.org/cbv/BTT-",
            Vocabulary::SourceDestinationType => "https://ref.gs1.org/cbv/SDT-",
            Vocabulary::Gs1 => "https://ref.gs1.org/voc/",
            Vocabulary::Component => "https://ref.gs1.org/cbv/Comp-",
        }
    }
}

/// CBV 1.x URNs and the web URIs that replace them (rule 14).
const CBV_URNS: [(&str, &str); 5] = [
    (
        "urn:epcglobal:cbv:bizstep:",
        "https://ref.gs1.org/cbv/BizStep-",
    ),
    ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
    ("urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
    ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
    ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"),
];

/// The text of a JSON scalar, before normalisation; `None` for arrays and objects.
pub(crate) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        Value::Array(_) | Value::Object(_) => None,
    }
}

/// The normalised form of any value: trimmed, CURIE expanded, CBV URN replaced, number
/// without trailing zeros, GS1 identifier as a constrained Digital Link.
pub(crate) fn value(prefixes: &Prefixes, text: &str) -> String {
    let text = text.trim();
    let mut out = prefixes.expand(text).unwrap_or_else(|| text.to_owned());
    if let Some((urn, web)) = CBV_URNS.iter().find(|(urn, _)| out.starts_with(urn)) {
        out = format!("{web}{}", &out[urn.len()..]);
    }
    if let Some(number) = number(&out) {
        return number;
    }
    let escaping = match prefixes.version {
        HashVersion::V1 => gs1::Escaping::Percent,
        HashVersion::V2 => gs1::Escaping::AsGiven,
    };
    gs1::normalise_with(&out, escaping).unwrap_or(out)
}

/// A standard vocabulary field: a bare word is a term of `vocabulary` (rule 16).
pub(crate) fn vocabulary_value(prefixes: &Prefixes, vocabulary: Vocabulary, text: &str) -> String {
    let trimmed = text.trim();
    if !trimmed.is_empty() && !trimmed.contains(':') {
        return format!("{}{trimmed}", vocabulary.prefix());
    }
    value(prefixes, trimmed)
}

/// A decimal number written without trailing zeros, as the reference implementation prints a
/// double: integers in full, fractions in the shortest form that reads back the same.
pub(crate) fn number(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut i = usize::from(matches!(bytes.first(), Some(b'+' | b'-')));
    let int_start = i;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    let mut mantissa_digits = i - int_start;
    if i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        mantissa_digits += i - frac_start;
    }
    if mantissa_digits == 0 {
        return None;
    }
    if i < bytes.len() && matches!(bytes[i], b'e' | b'E') {
        i += 1;
        if i < bytes.len() && matches!(bytes[i], b'+' | b'-') {
            i += 1;
        }
        let exp_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return None;
        }
    }
    if i != bytes.len() {
        return None;
    }
    let x: f64 = text.parse().ok()?;
    if !x.is_finite() {
        return None;
    }
    Some(format_double(x))
}

/// A double the way Python's `str()` writes it after an integral value is made an `int`.
fn format_double(x: f64) -> String {
    if x == x.trunc() {
        // Exact: every integral double is an integer with a finite decimal expansion.
        return if x == 0.0 {
            "0".to_owned()
        } else {
            format!("{x:.0}")
        };
    }
    if x.abs() < 1e-4 {
        // Python switches to scientific notation below 1e-4: `1e-05`, `2.5e-07`.
        let sci = format!("{x:e}");
        if let Some((mantissa, exponent)) = sci.split_once('e') {
            let (sign, digits) = match exponent.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exponent),
            };
            return format!("{mantissa}e{sign}{digits:0>2}");
        }
    }
    x.to_string()
}

/// An `xsd:dateTimeStamp` in UTC with exactly three decimals and `Z` (rules 8 and 9); a
/// fourth decimal of 5 or more rounds the third up.
pub(crate) fn timestamp(text: &str) -> Option<String> {
    let parsed = DateTime::parse_from_rfc3339(text.trim()).ok()?;
    let utc = parsed.with_timezone(&Utc);
    let nanos = i64::from(utc.timestamp_subsec_nanos());
    let millis = (nanos + 500_000) / 1_000_000;
    let rounded = utc - Duration::nanoseconds(nanos) + Duration::milliseconds(millis);
    Some(rounded.to_rfc3339_opts(SecondsFormat::Millis, true))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn numbers_lose_trailing_zeros() {
        for (input, out) in [
            ("452.0", "452"),
            ("23.0", "23"),
            ("0.1", "0.1"),
            ("26.20", "26.2"),
            ("+7", "7"),
            ("-0.0", "0"),
            ("1e3", "1000"),
            ("0.00001", "1e-05"),
            ("12345678901234567890", "12345678901234567168"),
        ] {
            assert_eq!(number(input).as_deref(), Some(out), "{input}");
        }
        for text in [
            "",
            ".",
            "A93",
            "1.2.3",
            "2013-06-08",
            "+01:00",
            "1e",
            "nan",
            "inf",
        ] {
            assert_eq!(number(text), None, "{text}");
        }
    }

    #[test]
    fn timestamps_become_utc_milliseconds() {
        for (input, out) in [
            ("2020-04-01T15:00:00+01:00", "2020-04-01T14:00:00.000Z"),
            (
                "2005-04-03T20:33:31.116000-06:00",
                "2005-04-04T02:33:31.116Z",
            ),
            ("2023-02-02T11:04:03.1415Z", "2023-02-02T11:04:03.142Z"),
            ("2023-02-02T11:04:03.1414Z", "2023-02-02T11:04:03.141Z"),
            ("2023-12-31T23:59:59.9996Z", "2024-01-01T00:00:00.000Z"),
        ] {
            assert_eq!(timestamp(input).as_deref(), Some(out), "{input}");
        }
        assert_eq!(timestamp("2020-04-01T15:00:00"), None);
    }

    #[test]
    fn vocabulary_and_curies_expand() {
        let mut prefixes = Prefixes::standard();
        prefixes.declare(&serde_json::json!(["x", {"example": "https://ns.example.com/epcis/"}]));
        let bare = vocabulary_value(&prefixes, Vocabulary::BizStep, "receiving");
        assert_eq!(bare, "https://ref.gs1.org/cbv/BizStep-receiving");
        let urn = vocabulary_value(
            &prefixes,
            Vocabulary::BizStep,
            "urn:epcglobal:cbv:bizstep:receiving",
        );
        assert_eq!(urn, bare);
        assert_eq!(
            vocabulary_value(&prefixes, Vocabulary::BizStep, "cbv:BizStep-receiving"),
            bare
        );
        assert_eq!(
            vocabulary_value(&prefixes, Vocabulary::BizStep, "ree:sorting"),
            "https://w3id.org/reetrace/vocab#sorting"
        );
        assert_eq!(
            prefixes.key("example:myField"),
            "{https://ns.example.com/epcis/}myField"
        );
        assert_eq!(
            prefixes.key("cbvmda:lotNumber"),
            "{urn:epcglobal:cbv:mda}lotNumber"
        );
        let mut v2 = Prefixes::standard().for_hash(HashVersion::V2);
        assert_eq!(
            v2.key("cbvmda:lotNumber"),
            "{urn:epcglobal:cbv:mda}lotNumber"
        );
        v2.declare(&serde_json::json!(EPCIS_CONTEXT_2_0_0));
        assert_eq!(
            v2.key("cbvmda:lotNumber"),
            "{urn:epcglobal:cbv:mda:}lotNumber"
        );
        v2.declare(&serde_json::json!({"cbvmda": "https://example.com/mda/"}));
        assert_eq!(
            v2.key("cbvmda:lotNumber"),
            "{https://example.com/mda/}lotNumber"
        );
        assert_eq!(prefixes.key("unknown:x"), "unknown:x");
        assert_eq!(
            value(&prefixes, "https://example.com/a"),
            "https://example.com/a"
        );
    }
}
