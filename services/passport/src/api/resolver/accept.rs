//! Content negotiation on the `Accept` header (RFC 9110 section 12.5.1), for the resolver's
//! handful of representations.
//!
//! Each representation takes the weight of the most specific media range that matches it. The
//! highest weight wins; among equals, a range that names the type beats a wildcard, then the
//! range written first wins. When only wildcards are left (`*/*` from curl and most HTTP
//! libraries), the credential as `application/json` is the answer: a browser names
//! `text/html` explicitly and so gets the page.

use reetrace_core::api::codes::NOT_ACCEPTABLE;
use reetrace_core::api::problem::Problem;
use reetrace_core::crypto::jose;

/// 406: no representation matches the `Accept` header.
pub(super) fn not_acceptable() -> Problem {
    Problem::new(NOT_ACCEPTABLE).with_detail(
        "The resolver answers text/html, application/vc, application/ld+json, \
         application/vc+ld+json, application/json, application/vc+jwt or \
         application/linkset+json.",
    )
}

/// What the resolver can answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Representation {
    /// The passport page.
    Html,
    /// The credential as `application/vc` (VC Data Model 2.0 media type).
    Vc,
    /// The credential as `application/ld+json`.
    LdJson,
    /// The credential as `application/vc+ld+json`, the media type of the VC Data Model 1.1 era,
    /// honoured for the clients that still ask for it: the same bytes as [`Representation::Vc`].
    VcLdJson,
    /// The credential as `application/json`.
    Json,
    /// The credential as a compact JWS, `application/vc+jwt` (VC-JOSE-COSE): v2 passports only.
    Jwt,
    /// The RFC 9264 linkset, `application/linkset+json`.
    Linkset,
}

impl Representation {
    /// Every representation, in the order the server prefers them when only wildcards decide.
    pub const ALL: [Representation; 7] = [
        Representation::Json,
        Representation::Vc,
        Representation::LdJson,
        Representation::VcLdJson,
        Representation::Jwt,
        Representation::Html,
        Representation::Linkset,
    ];

    /// The credential representations, in the server's order of preference.
    pub const CREDENTIAL: [Representation; 5] = [
        Representation::Json,
        Representation::Vc,
        Representation::LdJson,
        Representation::VcLdJson,
        Representation::Jwt,
    ];

    /// Whether this is the stored credential bytes as they are (the embedded proof), what the
    /// resolver keeps in memory; the JOSE form is rebuilt from the version.
    pub fn is_stored_bytes(self) -> bool {
        matches!(
            self,
            Representation::Json
                | Representation::Vc
                | Representation::LdJson
                | Representation::VcLdJson
        )
    }

    /// The media type this representation is served as.
    pub fn media_type(self) -> &'static str {
        match self {
            Representation::Html => "text/html",
            Representation::Vc => "application/vc",
            Representation::LdJson => "application/ld+json",
            Representation::VcLdJson => "application/vc+ld+json",
            Representation::Json => "application/json",
            Representation::Jwt => jose::MEDIA_TYPE,
            Representation::Linkset => "application/linkset+json",
        }
    }

    fn split(self) -> (&'static str, &'static str) {
        self.media_type()
            .split_once('/')
            .unwrap_or((self.media_type(), ""))
    }
}

/// One media range of an `Accept` header.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MediaRange {
    kind: String,
    subtype: String,
    /// The weight in thousandths (0 to 1000).
    q: u16,
}

impl MediaRange {
    /// How specifically this range names `offer`: 2 exactly, 1 by `type/*`, 0 by `*/*`;
    /// `None` when it does not match.
    fn specificity(&self, offer: Representation) -> Option<u8> {
        let (kind, subtype) = offer.split();
        match (self.kind.as_str(), self.subtype.as_str()) {
            ("*", "*") => Some(0),
            (k, "*") if k == kind => Some(1),
            (k, s) if k == kind && s == subtype => Some(2),
            _ => None,
        }
    }
}

/// Splits a header value on `sep`, ignoring separators inside quoted strings.
fn split_unquoted(value: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            parts.push(&value[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&value[start..]);
    parts
}

/// Parses a weight: `0` to `1` with up to three decimals. A missing leading zero (`.5`, as
/// some old clients send) is tolerated; anything else makes the range unusable.
fn parse_q(value: &str) -> Option<u16> {
    let value = value.trim();
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 3
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || (whole.is_empty() && fraction.is_empty())
    {
        return None;
    }
    let whole: u16 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut thousandths: u16 = 0;
    for (i, b) in fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .enumerate()
    {
        let digit = u16::from(b - b'0');
        thousandths += digit * [100, 10, 1][i];
    }
    let q = whole.checked_mul(1000)?.checked_add(thousandths)?;
    (q <= 1000).then_some(q)
}

/// Parses an `Accept` header into its usable media ranges, in order. Malformed elements are
/// skipped rather than failing the request; a bare `*` is read as `*/*`.
fn parse(header: &str) -> Vec<MediaRange> {
    let mut ranges = Vec::new();
    for element in split_unquoted(header, ',') {
        let mut parts = split_unquoted(element, ';').into_iter();
        let range = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let (kind, subtype) = match range.split_once('/') {
            Some((k, s)) if !k.is_empty() && !s.is_empty() => (k.to_owned(), s.to_owned()),
            None if range == "*" => ("*".to_owned(), "*".to_owned()),
            _ => continue,
        };
        if kind == "*" && subtype != "*" {
            continue;
        }
        let mut q = Some(1000);
        for parameter in parts {
            if let Some((name, value)) = parameter.split_once('=')
                && name.trim().eq_ignore_ascii_case("q")
            {
                q = parse_q(value);
                // Parameters after the weight are accept-extensions, not media type parameters.
                break;
            }
        }
        if let Some(q) = q {
            ranges.push(MediaRange { kind, subtype, q });
        }
    }
    ranges
}

/// The representation among `offers` that `accept` prefers, or `None` when it accepts none of
/// them (a 406). No header at all, or an empty one, accepts anything.
pub fn negotiate(accept: Option<&str>, offers: &[Representation]) -> Option<Representation> {
    let ranges = match accept.map(str::trim) {
        None | Some("") => vec![MediaRange {
            kind: "*".into(),
            subtype: "*".into(),
            q: 1000,
        }],
        Some(header) => parse(header),
    };
    // For each offer: the weight of its most specific matching range, that range's
    // specificity and position.
    let scored = offers.iter().enumerate().filter_map(|(rank, &offer)| {
        let (position, range, specificity) = ranges
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.specificity(offer).map(|s| (i, r, s)))
            .max_by_key(|&(i, _, s)| (s, std::cmp::Reverse(i)))?;
        (range.q > 0).then_some((offer, range.q, specificity == 2, position, rank))
    });
    scored
        .max_by_key(|&(_, q, explicit, position, rank)| {
            (
                q,
                explicit,
                std::cmp::Reverse(position),
                std::cmp::Reverse(rank),
            )
        })
        .map(|(offer, ..)| offer)
}

#[cfg(test)]
mod tests {
    use super::Representation::*;
    use super::*;

    const BROWSER: &str =
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

    fn pick(accept: &str) -> Option<Representation> {
        negotiate(Some(accept), &Representation::ALL)
    }

    #[test]
    fn browsers_get_the_page_and_libraries_the_json_credential() {
        assert_eq!(pick(BROWSER), Some(Html));
        // Safari and older Firefox.
        assert_eq!(
            pick("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            Some(Html)
        );
        assert_eq!(pick("*/*"), Some(Json), "curl");
        assert_eq!(negotiate(None, &Representation::ALL), Some(Json));
        assert_eq!(pick(""), Some(Json));
        assert_eq!(pick("application/*"), Some(Json));
        assert_eq!(pick("text/*"), Some(Html));
    }

    #[test]
    fn each_media_type_gets_its_representation() {
        assert_eq!(pick("application/vc"), Some(Vc));
        assert_eq!(pick("application/ld+json"), Some(LdJson));
        assert_eq!(
            pick("application/vc+ld+json"),
            Some(VcLdJson),
            "the VC 1.1 media type is honoured"
        );
        assert_eq!(
            pick("application/vc+ld+json;q=0.9, application/vc"),
            Some(Vc)
        );
        assert_eq!(pick("application/json"), Some(Json));
        assert_eq!(pick("application/linkset+json"), Some(Linkset));
        assert_eq!(pick("application/vc+jwt"), Some(Jwt));
        assert_eq!(
            pick("application/vc+jwt;q=0.5, application/json"),
            Some(Json)
        );
        assert_eq!(
            pick("application/vc, application/vc+jwt;q=0.9"),
            Some(Vc),
            "application/vc and application/vc+jwt are two types"
        );
        assert_eq!(
            pick("APPLICATION/VC"),
            Some(Vc),
            "media types are case-insensitive"
        );
        assert_eq!(pick("image/png"), None);
        assert_eq!(pick("text/html;q=0"), None);
    }

    #[test]
    fn the_highest_weight_wins_and_ties_go_by_order() {
        assert_eq!(pick("text/html;q=0.5, application/json"), Some(Json));
        assert_eq!(pick("application/json;q=0.5, text/html;q=0.9"), Some(Html));
        assert_eq!(pick("application/json, text/html"), Some(Json));
        assert_eq!(pick("text/html, application/json"), Some(Html));
        assert_eq!(
            pick("application/vc;q=0.8, application/ld+json;q=0.8"),
            Some(Vc)
        );
        // An explicit type beats a wildcard of the same weight...
        assert_eq!(pick("*/*, text/html"), Some(Html));
        assert_eq!(pick("application/*, application/vc"), Some(Vc));
        // ...but not a heavier one.
        assert_eq!(pick("application/vc;q=0.2, */*"), Some(Json));
    }

    #[test]
    fn the_most_specific_range_sets_the_weight() {
        // text/html is excluded even though */* accepts everything.
        assert_eq!(pick("text/html;q=0, */*"), Some(Json));
        assert_eq!(pick("application/json;q=0, */*;q=0.5"), Some(Vc));
        assert_eq!(
            negotiate(
                Some("application/*;q=0, text/html;q=0.1"),
                &Representation::ALL
            ),
            Some(Html)
        );
    }

    #[test]
    fn weights_and_oddities_are_parsed_leniently_but_correctly() {
        assert_eq!(parse_q("1"), Some(1000));
        assert_eq!(parse_q("1.000"), Some(1000));
        assert_eq!(parse_q("0.125"), Some(125));
        assert_eq!(parse_q(".2"), Some(200));
        assert_eq!(parse_q("0."), Some(0));
        assert_eq!(parse_q("1.5"), None);
        assert_eq!(parse_q("0.1234"), None);
        assert_eq!(parse_q("abc"), None);
        assert_eq!(parse_q("-1"), None);
        assert_eq!(parse_q(""), None);
        // Java's old default header, with a bare `*`.
        assert_eq!(
            pick("text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2"),
            Some(Html)
        );
        // Parameters, quoted commas and junk elements.
        assert_eq!(
            pick(r#"application/ld+json; profile="a,b", garbage, /x, text/html;q=0.1"#),
            Some(LdJson)
        );
        // A range with an invalid weight is dropped, not read as q=1.
        assert_eq!(
            pick("application/vc;q=2, application/json;q=0.5"),
            Some(Json)
        );
        assert_eq!(pick("*/html"), None);
    }

    #[test]
    fn offers_limit_the_choice() {
        assert_eq!(
            negotiate(Some(BROWSER), &Representation::CREDENTIAL),
            Some(Json),
            "*/*;q=0.8 is all a browser accepts of the credential types"
        );
        assert_eq!(
            negotiate(Some("application/vc"), &Representation::CREDENTIAL),
            Some(Vc)
        );
        assert_eq!(
            negotiate(Some("text/html"), &Representation::CREDENTIAL),
            None
        );
        assert_eq!(
            negotiate(Some("application/vc+jwt"), &Representation::CREDENTIAL),
            Some(Jwt)
        );
        assert_eq!(
            negotiate(Some("application/*"), &Representation::CREDENTIAL),
            Some(Json),
            "a wildcard gets the embedded proof, readable without JOSE"
        );
        assert!(
            Representation::CREDENTIAL[..4]
                .iter()
                .all(|r| r.is_stored_bytes())
        );
        assert!(!Jwt.is_stored_bytes());
    }
}
