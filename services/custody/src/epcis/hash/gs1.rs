//! GS1 identifiers in the one form the event hash uses: a constrained canonical GS1 Digital
//! Link (CBV 2.0 event hash rules 17 and 18).
//!
//! EPC URIs (`urn:epc:id:...`), EPC class URIs (`urn:epc:class:lgtin:...`) and EPC pattern URIs
//! (`urn:epc:idpat:...`) become the Digital Link of the same key, following the EPC Tag Data
//! Standard (company prefix and reference digits rearranged, check digit computed). A Digital
//! Link under any host becomes one under `https://id.gs1.org`, without query string, with
//! AI numbers instead of short names, a GTIN padded to 14 digits, no consumer product variant
//! (AI 22) and no lot when there is a serial. Anything else is not a GS1 identifier and is
//! left to the caller (`None`).

use reetrace_core::domain::gs1_check_digit;

/// How the characters an EPC URI may carry raw (`! ( ) * + , :`) are written in the Digital
/// Link's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Escaping {
    /// Percent-encoded: event hash version 1, and the keys the EPC index and queries use.
    Percent,
    /// As the EPC URI writes them (RFC 3986 allows them in a path segment), as the reference
    /// implementation does: event hash version 2.
    AsGiven,
}

/// The canonical constrained Digital Link of `uri`, or `None` when it names no GS1 key; the
/// form the EPC index and queries key on.
pub(crate) fn normalise(uri: &str) -> Option<String> {
    normalise_with(uri, Escaping::Percent)
}

/// [`normalise`], with a choice of how EPC URI characters are escaped.
pub(crate) fn normalise_with(uri: &str, esc: Escaping) -> Option<String> {
    // Every form this module knows carries a dot (in the URN body or the host name); the
    // reference implementation gives up on the rest early and so do we.
    if !uri.contains('.') {
        return None;
    }
    if let Some(rest) = uri.strip_prefix("urn:epc:id:") {
        epc_id(rest, esc)
    } else if let Some(rest) = uri.strip_prefix("urn:epc:class:lgtin:") {
        let (gtin, lot) = gtin_and_rest(rest)?;
        let lot = gs3a3(lot, 1, 20)?;
        Some(format!("{RESOLVER}/01/{gtin}/10/{}", web_encode(lot, esc)))
    } else if let Some(rest) = uri.strip_prefix("urn:epc:idpat:") {
        epc_pattern(rest, esc)
    } else if uri.starts_with("https://") || uri.starts_with("http://") {
        digital_link(uri)
    } else {
        None
    }
}

const RESOLVER: &str = "https://id.gs1.org";

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn check_digit(s: &str) -> u8 {
    let values: Vec<u8> = s.bytes().map(|b| b - b'0').collect();
    gs1_check_digit(&values)
}

/// `body` followed by its check digit; `body` must be digits.
fn with_check(body: &str) -> String {
    format!("{body}{}", check_digit(body))
}

/// A value of the EPC "GS3A3" character set (`%XX` escapes count as one character) of
/// `min..=max` characters.
fn gs3a3(s: &str, min: usize, max: usize) -> Option<&str> {
    let bytes = s.as_bytes();
    let (mut i, mut count) = (0, 0);
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            i += 3;
        } else if b.is_ascii_alphanumeric() || b"!'()*+,-.:;=_".contains(&b) {
            i += 1;
        } else {
            return None;
        }
        count += 1;
    }
    (min..=max).contains(&count).then_some(s)
}

/// Writes an EPC URI value into a Digital Link path segment, escaped as `esc` says.
fn web_encode(s: &str, esc: Escaping) -> String {
    if esc == Escaping::AsGiven {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '!' => out.push_str("%21"),
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '*' => out.push_str("%2A"),
            '+' => out.push_str("%2B"),
            ',' => out.push_str("%2C"),
            ':' => out.push_str("%3A"),
            c => out.push(c),
        }
    }
    out
}

/// Splits `{company prefix}.{reference}` off the front of an EPC body: the prefix has 6 to 12
/// digits and the reference, all digits, `total` minus the prefix length.
fn prefix_and_reference(body: &str, total: usize) -> Option<(&str, &str, &str)> {
    let (prefix, rest) = body.split_once('.')?;
    if !digits(prefix) || !(6..=12).contains(&prefix.len()) {
        return None;
    }
    let reference_len = total.checked_sub(prefix.len())?;
    let (reference, rest) = match rest.split_once('.') {
        Some((reference, rest)) => (reference, Some(rest)),
        None => (rest, None),
    };
    if reference.len() != reference_len || !(reference.is_empty() || digits(reference)) {
        return None;
    }
    Some((prefix, reference, rest.unwrap_or("")))
}

/// The GTIN-14 of `{company prefix}.{indicator + item reference}` and what follows it.
fn gtin_and_rest(body: &str) -> Option<(String, &str)> {
    let (prefix, item, rest) = prefix_and_reference(body, 13)?;
    Some((
        with_check(&format!("{}{prefix}{}", &item[..1], &item[1..])),
        rest,
    ))
}

fn epc_id(rest: &str, esc: Escaping) -> Option<String> {
    let (scheme, body) = rest.split_once(':')?;
    let dl = match scheme {
        "sgtin" => {
            let (gtin, serial) = gtin_and_rest(body)?;
            format!("01/{gtin}/21/{}", web_encode(gs3a3(serial, 1, 20)?, esc))
        }
        "sscc" => {
            let (prefix, serial, rest) = prefix_and_reference(body, 17)?;
            if !rest.is_empty() || body.matches('.').count() != 1 {
                return None;
            }
            format!(
                "00/{}",
                with_check(&format!("{}{prefix}{}", &serial[..1], &serial[1..]))
            )
        }
        "sgln" => {
            let (prefix, location, extension) = prefix_and_reference(body, 12)?;
            let gln = with_check(&format!("{prefix}{location}"));
            match gs3a3(extension, 1, 20)? {
                "0" => format!("414/{gln}"),
                extension => format!("414/{gln}/254/{}", web_encode(extension, esc)),
            }
        }
        "grai" => {
            let (prefix, asset_type, serial) = prefix_and_reference(body, 12)?;
            let grai = with_check(&format!("0{prefix}{asset_type}"));
            format!("8003/{grai}{}", web_encode(gs3a3(serial, 1, 16)?, esc))
        }
        "giai" => {
            let (prefix, asset) = body.split_once('.')?;
            let max = 30usize.checked_sub(prefix.len())?;
            if !digits(prefix) || !(6..=12).contains(&prefix.len()) {
                return None;
            }
            format!("8004/{prefix}{}", web_encode(gs3a3(asset, 1, max)?, esc))
        }
        "gsrn" | "gsrnp" => {
            let (prefix, service, rest) = prefix_and_reference(body, 17)?;
            if !rest.is_empty() || body.matches('.').count() != 1 {
                return None;
            }
            let ai = if scheme == "gsrn" { "8018" } else { "8017" };
            format!("{ai}/{}", with_check(&format!("{prefix}{service}")))
        }
        "gdti" => {
            // The serial may be empty, but its separator is not.
            if body.matches('.').count() < 2 {
                return None;
            }
            let (prefix, document_type, serial) = prefix_and_reference(body, 12)?;
            let serial = if serial.is_empty() {
                ""
            } else {
                gs3a3(serial, 1, 17)?
            };
            let gdti = with_check(&format!("{prefix}{document_type}"));
            format!("253/{gdti}{}", web_encode(serial, esc))
        }
        "sgcn" => {
            let (prefix, coupon, serial) = prefix_and_reference(body, 12)?;
            if !digits(serial) || serial.len() > 12 {
                return None;
            }
            format!("255/{}{serial}", with_check(&format!("{prefix}{coupon}")))
        }
        "ginc" => {
            let (prefix, reference) = body.split_once('.')?;
            let max = 30usize.checked_sub(prefix.len())?;
            if !digits(prefix) || !(6..=12).contains(&prefix.len()) {
                return None;
            }
            format!("401/{prefix}{}", web_encode(gs3a3(reference, 1, max)?, esc))
        }
        "gsin" => {
            let (prefix, shipper, rest) = prefix_and_reference(body, 16)?;
            if !rest.is_empty() || body.matches('.').count() != 1 {
                return None;
            }
            format!("402/{}", with_check(&format!("{prefix}{shipper}")))
        }
        "itip" => {
            let (gtin, rest) = gtin_and_rest(body)?;
            let mut parts = rest.splitn(3, '.');
            let (piece, total, serial) = (parts.next()?, parts.next()?, parts.next()?);
            if piece.len() != 2 || total.len() != 2 || !digits(piece) || !digits(total) {
                return None;
            }
            format!(
                "8006/{gtin}{piece}{total}/21/{}",
                web_encode(gs3a3(serial, 1, 20)?, esc)
            )
        }
        "upui" => {
            let (gtin, serial) = gtin_and_rest(body)?;
            format!("01/{gtin}/235/{}", web_encode(gs3a3(serial, 1, 28)?, esc))
        }
        "pgln" => {
            let (prefix, party, rest) = prefix_and_reference(body, 12)?;
            if !rest.is_empty() || body.matches('.').count() != 1 {
                return None;
            }
            format!("417/{}", with_check(&format!("{prefix}{party}")))
        }
        "cpi" => {
            let (prefix, rest) = body.split_once('.')?;
            let (component, serial) = rest.rsplit_once('.')?;
            let max = 30usize.checked_sub(prefix.len())?;
            if !digits(prefix)
                || !(6..=12).contains(&prefix.len())
                || !cpi_reference(component, max)
                || !digits(serial)
                || serial.len() > 12
            {
                return None;
            }
            format!(
                "8010/{}/8011/{serial}",
                web_encode(&format!("{prefix}{component}"), esc)
            )
        }
        _ => return None,
    };
    Some(format!("{RESOLVER}/{dl}"))
}

/// A component/part reference: digits, upper-case letters, `-`, and `%23` / `%2F` escapes.
fn cpi_reference(s: &str, max: usize) -> bool {
    let bytes = s.as_bytes();
    let (mut i, mut count) = (0, 0);
    while i < bytes.len() {
        if bytes[i] == b'%' {
            match bytes.get(i + 1..i + 3) {
                Some(hex) if hex.iter().all(u8::is_ascii_hexdigit) => i += 3,
                _ => return false,
            }
        } else if bytes[i].is_ascii_digit() || bytes[i].is_ascii_uppercase() || bytes[i] == b'-' {
            i += 1;
        } else {
            return false;
        }
        count += 1;
    }
    (1..=max).contains(&count)
}

fn epc_pattern(rest: &str, esc: Escaping) -> Option<String> {
    let (scheme, body) = rest.split_once(':')?;
    let body = body.strip_suffix(".*")?;
    let dl = match scheme {
        "sgtin" | "upui" => format!("01/{}", gtin_and_rest(body)?.0),
        "grai" => {
            let (prefix, asset_type, _) = prefix_and_reference(body, 12)?;
            format!("8003/{}", with_check(&format!("0{prefix}{asset_type}")))
        }
        "gdti" => {
            let (prefix, document_type, _) = prefix_and_reference(body, 12)?;
            format!("253/{}", with_check(&format!("{prefix}{document_type}")))
        }
        "sgcn" => {
            let (prefix, coupon, _) = prefix_and_reference(body, 12)?;
            format!("255/{}", with_check(&format!("{prefix}{coupon}")))
        }
        "cpi" => {
            let (prefix, component) = body.split_once('.')?;
            let max = 30usize.checked_sub(prefix.len())?;
            if !digits(prefix) || !(6..=12).contains(&prefix.len()) {
                return None;
            }
            if !cpi_reference(component, max) {
                return None;
            }
            format!("8010/{}", web_encode(&format!("{prefix}{component}"), esc))
        }
        "itip" => {
            let (gtin, rest) = gtin_and_rest(body)?;
            let (piece, total) = rest.split_once('.')?;
            if piece.len() != 2 || total.len() != 2 || !digits(piece) || !digits(total) {
                return None;
            }
            format!("8006/{gtin}{piece}{total}")
        }
        _ => return None,
    };
    Some(format!("{RESOLVER}/{dl}"))
}

/// Primary keys a Digital Link path may start with, with their short names.
const PRIMARY_KEYS: [(&str, &str); 14] = [
    ("00", "sscc"),
    ("01", "gtin"),
    ("253", "gdti"),
    ("255", "gcn"),
    ("401", "ginc"),
    ("402", "gsin"),
    ("414", "gln"),
    ("417", "party"),
    ("8003", "grai"),
    ("8004", "giai"),
    ("8006", "itip"),
    ("8010", "cpid"),
    ("8017", "gsrnp"),
    ("8018", "gsrn"),
];

/// Short names of key qualifiers.
const QUALIFIERS: [(&str, &str); 3] = [("22", "cpv"), ("10", "lot"), ("21", "ser")];

fn ai_of(segment: &str) -> &str {
    PRIMARY_KEYS
        .iter()
        .chain(QUALIFIERS.iter())
        .find(|(_, short)| *short == segment)
        .map_or(segment, |(ai, _)| ai)
}

fn digital_link(uri: &str) -> Option<String> {
    let without_query = uri.split_once('?').map_or(uri, |(before, _)| before);
    let after_scheme = without_query.split_once("://")?.1;
    let path = after_scheme.split_once('/')?.1;
    let segments: Vec<&str> = path.split('/').map(ai_of).collect();
    // The first primary key followed by a value that starts with four digits (a company
    // prefix) starts the identifier; whatever comes before it is the resolver's own path.
    let start = (0..segments.len().saturating_sub(1)).find(|&i| {
        PRIMARY_KEYS.iter().any(|(ai, _)| *ai == segments[i]) && {
            let value = segments[i + 1];
            value.len() > 4 && value.bytes().take(4).all(|b| b.is_ascii_digit())
        }
    })?;
    let key = segments[start];
    let mut value = segments[start + 1].to_owned();
    if key == "01" && digits(&value) && matches!(value.len(), 8 | 12 | 13) {
        value = format!("{value:0>14}");
    }
    let mut qualifiers: Vec<(&str, &str)> = Vec::new();
    let mut rest = segments[start + 2..].iter();
    while let Some(ai) = rest.next() {
        // An odd trailing segment (a trailing slash, say) is not a valid Digital Link.
        qualifiers.push((ai, rest.next()?));
    }
    qualifiers.retain(|(ai, _)| *ai != "22");
    if qualifiers.iter().any(|(ai, _)| *ai == "21") {
        qualifiers.retain(|(ai, _)| *ai != "10");
    }
    if !constrained_shape(key, &value, &qualifiers) {
        return None;
    }
    let mut out = format!("{RESOLVER}/{key}/{value}");
    for (ai, v) in qualifiers {
        out.push('/');
        out.push_str(ai);
        out.push('/');
        out.push_str(v);
    }
    Some(out)
}

/// GS1 AI "set 82" characters as the constrained form allows them raw (no `%`, `:`, `/`).
fn plain(s: &str, max: usize) -> bool {
    s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"\"'-.;<=>?_".contains(&b))
}

fn all_digits(s: &str, len: usize) -> bool {
    s.len() == len && digits(s)
}

/// Whether key, value and qualifiers form one of the identification levels the event hash
/// keeps (CBV 2.0 rule 18 III).
fn constrained_shape(key: &str, value: &str, qualifiers: &[(&str, &str)]) -> bool {
    let digits_then = |len: usize, max: usize| {
        value.len() >= len && digits(&value[..len]) && plain(&value[len..], max)
    };
    match (key, qualifiers) {
        ("00", []) => all_digits(value, 18),
        ("01", []) => all_digits(value, 14),
        ("01", [("21" | "10", v)]) => all_digits(value, 14) && plain(v, 20),
        ("01", [("235", v)]) => all_digits(value, 14) && plain(v, 28),
        ("253", []) => digits_then(13, 17),
        ("255", []) => value.len() <= 25 && digits_then(13, 12) && digits(value),
        ("401", []) => plain(value, 30),
        ("402", []) => all_digits(value, 17),
        ("414", []) | ("417", []) => all_digits(value, 13),
        ("414", [("254", v)]) => all_digits(value, 13) && plain(v, 20),
        ("8003", []) => digits_then(14, 16),
        ("8004", []) => plain(value, 30),
        ("8006", []) => all_digits(value, 18),
        ("8006", [("21" | "10", v)]) => all_digits(value, 18) && plain(v, 20),
        ("8010", []) => cpid(value),
        ("8010", [("8011", v)]) => {
            cpid(value) && v.len() <= 12 && v.bytes().all(|b| b.is_ascii_digit())
        }
        ("8017", []) | ("8018", []) => all_digits(value, 18),
        _ => false,
    }
}

fn cpid(s: &str) -> bool {
    s.len() <= 30
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase() || b"#-/".contains(&b))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::normalise;

    #[test]
    fn epc_uris_from_the_reference_vectors() {
        // Inputs and outputs as they appear in the pre-hash strings of the CBV 2.0 reference
        // implementation's test vectors (RalphTro/epcis-event-hash-generator).
        for (urn, dl) in [
            (
                "urn:epc:id:sgtin:0614141.107346.2018",
                "https://id.gs1.org/01/10614141073464/21/2018",
            ),
            (
                "urn:epc:id:sscc:4012345.0000000333",
                "https://id.gs1.org/00/040123450000003338",
            ),
            (
                "urn:epc:id:sgln:4012345.00011.987",
                "https://id.gs1.org/414/4012345000115/254/987",
            ),
            (
                "urn:epc:id:sgln:0012345.11111.0",
                "https://id.gs1.org/414/0012345111112",
            ),
            (
                "urn:epc:id:pgln:4012345.00225",
                "https://id.gs1.org/417/4012345002256",
            ),
            (
                "urn:epc:id:gdti:0614141.00001.1618034",
                "https://id.gs1.org/253/06141410000121618034",
            ),
            (
                "urn:epc:id:gsrn:0614141.0000010253",
                "https://id.gs1.org/8018/061414100000102534",
            ),
            (
                "urn:epc:id:giai:4000001.111",
                "https://id.gs1.org/8004/4000001111",
            ),
            (
                "urn:epc:class:lgtin:4012345.012345.998877",
                "https://id.gs1.org/01/04012345123456/10/998877",
            ),
            (
                "urn:epc:idpat:sgtin:4012345.066666.*",
                "https://id.gs1.org/01/04012345666663",
            ),
            (
                "urn:epc:id:gdti:0614141.12345.400",
                "https://id.gs1.org/253/0614141123452400",
            ),
        ] {
            assert_eq!(normalise(urn).as_deref(), Some(dl), "{urn}");
        }
    }

    #[test]
    fn digital_links_are_constrained() {
        for (input, dl) in [
            (
                "https://id.gs1.de/00/040123451111111110",
                "https://id.gs1.org/00/040123451111111110",
            ),
            (
                "https://example.org/8004/401234599999",
                "https://id.gs1.org/8004/401234599999",
            ),
            (
                "https://example.com/253/4012345000054987",
                "https://id.gs1.org/253/4012345000054987",
            ),
            (
                "https://example.com/shop/gtin/9506000134352/lot/A1/ser/7?x=1",
                "https://id.gs1.org/01/09506000134352/21/7",
            ),
            (
                "http://id.gs1.org/01/09506000134352/22/v2/10/L1",
                "https://id.gs1.org/01/09506000134352/10/L1",
            ),
        ] {
            assert_eq!(normalise(input).as_deref(), Some(dl), "{input}");
        }
        for other in [
            "https://www.ncbi.nlm.nih.gov/taxonomy/1126011",
            "https://reetrace.example/p/0b7c1d2e",
            "https://id.gs1.org/01/09506000134352/21/A%2FB",
            "geo:50.94,6.92",
            "urn:epc:id:sgtin:0614141.10734.2017",
        ] {
            assert_eq!(normalise(other), None, "{other}");
        }
    }
}
