//! What a decoded code names, and where on this server to open it: the passport page for a
//! Digital Link, a GS1 element string or a passport URL this server resolves; the lot page for
//! a lot's URL, EPC or Digital Link.

use reetrace_core::domain::{DigitalLink, DigitalLinkPath, Gtin, Lgtin, LotNumber, SerialNumber};
use reetrace_passport::domain::passport::{Identity, Lookup};
use uuid::Uuid;

use crate::app::Services;

/// What the text of a code names, before anything is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    /// A GS1 identity: from a Digital Link (any host), an EPC URN or a GS1 element string.
    Gs1(DigitalLinkPath),
    /// `<base>/p/{id}` of this server.
    Passport(Uuid),
    /// `<base>/lots/{id}` of this server.
    Lot(Uuid),
    /// A bare UUID: a passport's or a lot's id.
    Id(Uuid),
}

/// The symbology identifier a scanner may put first (`]d2` GS1 Data Matrix, `]Q3` GS1 QR...).
fn without_symbology_id(text: &str) -> &str {
    match text.as_bytes() {
        [b']', _, _, ..] => text.get(3..).unwrap_or(text),
        _ => text,
    }
}

/// The id in `<base>/<collection>/<uuid>` for one of `bases`.
fn own_id(text: &str, bases: &[&str], collection: &str) -> Option<Uuid> {
    bases.iter().find_map(|base| {
        let rest = text.strip_prefix(base.trim_end_matches('/'))?;
        let rest = rest.strip_prefix('/')?.strip_prefix(collection)?;
        let id = rest.strip_prefix('/')?;
        let id = id.split(['?', '#']).next().unwrap_or(id);
        id.trim_end_matches('/').parse().ok()
    })
}

/// Reads what `text` names; `bases` are this server's base URLs (current and former).
pub fn named(text: &str, bases: &[&str]) -> Option<Named> {
    let text = without_symbology_id(text.trim());
    if let Some(id) = own_id(text, bases, "p") {
        return Some(Named::Passport(id));
    }
    if let Some(id) = own_id(text, bases, "lots") {
        return Some(Named::Lot(id));
    }
    if let Ok(link) = DigitalLink::parse(text) {
        return Some(Named::Gs1(link.into_path()));
    }
    if text.starts_with("urn:epc:") {
        if let Ok(lgtin) = Lgtin::from_epc_urn(text) {
            let path = DigitalLinkPath::new(*lgtin.gtin()).with_lot(lgtin.lot().clone());
            return Some(Named::Gs1(path));
        }
        if let Ok(sgtin) = reetrace_core::domain::Sgtin::from_epc_urn(text) {
            let path = DigitalLinkPath::new(*sgtin.gtin()).with_serial(sgtin.serial().clone());
            return Some(Named::Gs1(path));
        }
        return None;
    }
    if let Ok(id) = text.parse::<Uuid>() {
        return Some(Named::Id(id));
    }
    element_string(text).map(Named::Gs1)
}

/// The GS1 Application Identifiers of fixed length this reader steps over, with their length.
fn fixed_length(ai: &str) -> Option<usize> {
    match ai {
        "00" => Some(18),
        "01" | "02" => Some(14),
        "11" | "12" | "13" | "15" | "16" | "17" => Some(6),
        "20" => Some(2),
        _ => None,
    }
}

/// A GS1 element string: `01{gtin}[10{lot}][21{serial}]...`, its variable-length fields ended
/// by the group separator (ASCII 29) as GS1 Data Matrix and GS1 QR carry them, or the
/// human-readable form with each AI in parentheses. Only the GTIN, lot and serial are kept;
/// other fixed-length fields are stepped over, and an AI not known here ends the reading.
pub fn element_string(text: &str) -> Option<DigitalLinkPath> {
    let fields = if text.starts_with('(') {
        parenthesised(text)?
    } else {
        raw(text)?
    };
    let mut gtin = None;
    let mut lot = None;
    let mut serial = None;
    for (ai, value) in fields {
        match ai.as_str() {
            "01" => gtin = Some(Gtin::parse(&value).ok()?),
            "10" => lot = Some(LotNumber::parse(&value).ok()?),
            "21" => serial = Some(SerialNumber::parse(&value).ok()?),
            _ => {}
        }
    }
    let mut path = DigitalLinkPath::new(gtin?);
    if let Some(lot) = lot {
        path = path.with_lot(lot);
    }
    if let Some(serial) = serial {
        path = path.with_serial(serial);
    }
    Some(path)
}

fn parenthesised(text: &str) -> Option<Vec<(String, String)>> {
    let mut fields = Vec::new();
    for part in text.split('(').skip(1) {
        let (ai, value) = part.split_once(')')?;
        if ai.len() < 2 || !ai.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        fields.push((ai.to_owned(), value.to_owned()));
    }
    Some(fields)
}

fn raw(text: &str) -> Option<Vec<(String, String)>> {
    if !text.starts_with("01") {
        return None;
    }
    let mut fields = Vec::new();
    let mut rest = text;
    while rest.len() >= 2 {
        let ai = rest.get(..2)?;
        if !ai.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let value;
        if let Some(length) = fixed_length(ai) {
            value = rest.get(2..2 + length)?;
            rest = rest.get(2 + length..)?.trim_start_matches('\u{1d}');
        } else if matches!(ai, "10" | "21") {
            let body = &rest[2..];
            let end = body.find('\u{1d}').unwrap_or(body.len());
            value = &body[..end];
            rest = body[end..].trim_start_matches('\u{1d}');
        } else {
            break;
        }
        fields.push((ai.to_owned(), value.to_owned()));
    }
    Some(fields)
}

/// Where on this server `named` opens, if this server knows it: the resolver path of a
/// passport, `/p/{id}`, or `/lots/{id}`. A batch identity that no passport has opens the lot
/// that carries it, if one does.
pub async fn target(services: &Services, named: &Named) -> anyhow::Result<Option<String>> {
    let passports = &services.passport;
    let custody = &services.custody;
    Ok(match named {
        Named::Gs1(path) => {
            let identity = match (path.serial(), path.lot()) {
                (Some(serial), _) => Identity::Item {
                    gtin: *path.gtin(),
                    serial: serial.clone(),
                },
                (None, Some(lot)) => Identity::Batch {
                    gtin: *path.gtin(),
                    lot: lot.clone(),
                },
                (None, None) => Identity::Model { gtin: *path.gtin() },
            };
            if passports
                .resolve(Lookup::Identity(&identity))
                .await?
                .is_some()
            {
                Some(path.to_string())
            } else if let (None, Some(lot)) = (path.serial(), path.lot()) {
                custody
                    .lot_by_identity(path.gtin(), lot)
                    .await?
                    .map(|id| format!("/lots/{id}"))
            } else {
                None
            }
        }
        Named::Passport(id) => passport_path(services, *id).await?,
        Named::Lot(id) => lot_path(services, *id).await?,
        Named::Id(id) => match passport_path(services, *id).await? {
            Some(path) => Some(path),
            None => lot_path(services, *id).await?,
        },
    })
}

async fn passport_path(services: &Services, id: Uuid) -> anyhow::Result<Option<String>> {
    let found = services.passport.resolve(Lookup::Id(id)).await?;
    Ok(found.map(|_| format!("/p/{id}")))
}

async fn lot_path(services: &Services, id: Uuid) -> anyhow::Result<Option<String>> {
    let found = services.custody.store().lot(id).await?;
    Ok(found.map(|_| format!("/lots/{id}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const BASE: &str = "https://reetrace.example";

    fn path(text: &str) -> DigitalLinkPath {
        DigitalLinkPath::parse(text).unwrap()
    }

    #[test]
    fn digital_links_on_any_host_name_their_gs1_identity() {
        assert_eq!(
            named("https://id.gs1.org/01/04012345000016/21/A1", &[BASE]),
            Some(Named::Gs1(path("/01/04012345000016/21/A1")))
        );
        assert_eq!(
            named(&format!("{BASE}/01/4012345000016/10/L%2F7"), &[BASE]),
            Some(Named::Gs1(path("/01/04012345000016/10/L%2F7")))
        );
    }

    #[test]
    fn own_passport_and_lot_urls_name_their_ids() {
        let id = Uuid::now_v7();
        assert_eq!(
            named(&format!("{BASE}/p/{id}"), &[BASE]),
            Some(Named::Passport(id))
        );
        assert_eq!(
            named(&format!("{BASE}/lots/{id}/"), &[BASE]),
            Some(Named::Lot(id))
        );
        assert_eq!(
            named(&format!("https://other.example/p/{id}"), &[BASE]),
            None
        );
        assert_eq!(named(&id.to_string(), &[BASE]), Some(Named::Id(id)));
    }

    #[test]
    fn gs1_element_strings_read_raw_or_parenthesised() {
        let item = path("/01/04012345000016/21/A1");
        assert_eq!(
            named("010401234500001621A1", &[BASE]),
            Some(Named::Gs1(item.clone()))
        );
        assert_eq!(
            named("]d2010401234500001621A1", &[BASE]),
            Some(Named::Gs1(item.clone()))
        );
        assert_eq!(
            named("(01)04012345000016(21)A1", &[BASE]),
            Some(Named::Gs1(item))
        );
        assert_eq!(
            named("010401234500001610L7\u{1d}17270101", &[BASE]),
            Some(Named::Gs1(path("/01/04012345000016/10/L7")))
        );
        assert_eq!(
            named("01040123450000161727010110L7", &[BASE]),
            Some(Named::Gs1(path("/01/04012345000016/10/L7")))
        );
        assert_eq!(named("0104012345000017", &[BASE]), None, "bad check digit");
        assert_eq!(named("hello", &[BASE]), None);
    }

    #[test]
    fn lot_epcs_name_their_identity() {
        assert_eq!(
            named("urn:epc:class:lgtin:4012345.000001.L7", &[BASE]),
            Some(Named::Gs1(path("/01/04012345000016/10/L7")))
        );
    }
}
