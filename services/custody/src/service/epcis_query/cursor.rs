//! The binding's `nextPageToken`: where the next page starts (the order's time and log
//! position of the last event shown) and how many events earlier pages returned (for
//! `eventCountLimit`), followed by a SHA-256 check over these and the query itself.
//!
//! A token is accepted only for the query and order that produced it (any other parameter
//! than `perPage` and `nextPageToken` changed, or the token altered, and it is refused as a
//! `QueryParameterException`). The check makes a token tamper-evident, not secret: the
//! position is a place in the caller's own result, never an offset into the store, so even a
//! well-forged token shows no event the caller could not query anyway.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::DateTime;
use sha2::{Digest, Sha256};

use crate::domain::CustodyError;
use crate::domain::event::{EventValue, ScanKey, ScanOrder, ScanPosition};
use crate::epcis::EventQuery;
use crate::epcis::query_fields::SortKey;

const VERSION: &str = "c1";
/// The version of the tokens of queries ordered by an extension field.
const FIELD_VERSION: &str = "f1";

fn order_tag(order: ScanOrder) -> &'static str {
    match (order.key, order.descending) {
        (ScanKey::Log, false) => "la",
        (ScanKey::Log, true) => "ld",
        (ScanKey::EventTime, false) => "ea",
        (ScanKey::EventTime, true) => "ed",
        (ScanKey::RecordTime, false) => "ra",
        (ScanKey::RecordTime, true) => "rd",
    }
}

/// The check of `payload` for `query`: its parameters but the page's own.
fn check(payload: &str, query: &EventQuery) -> String {
    let query = EventQuery {
        per_page: 0,
        next_page_token: None,
        ..query.clone()
    };
    let digest = Sha256::new()
        .chain_update(b"reetrace epcis cursor\n")
        .chain_update(payload.as_bytes())
        .chain_update(b"\n")
        .chain_update(format!("{query:?}").as_bytes())
        .finalize();
    hex::encode(&digest[..16])
}

/// The token of the page after `position`, `returned` events having been shown in all.
pub(super) fn write(
    position: ScanPosition,
    returned: u64,
    query: &EventQuery,
    order: ScanOrder,
) -> String {
    let at = match position.at {
        Some(at) => format!("{}.{}", at.timestamp(), at.timestamp_subsec_nanos()),
        None => "_._".to_owned(),
    };
    let payload = format!(
        "{VERSION}.{}.{at}.{}.{returned}",
        order_tag(order),
        position.leaf
    );
    let check = check(&payload, query);
    format!("{payload}.{check}")
}

/// The position and count a token carries, if this server gave it for `query` in `order`.
pub(super) fn read(
    token: &str,
    query: &EventQuery,
    order: ScanOrder,
) -> Result<(ScanPosition, u64), CustodyError> {
    let refused = || CustodyError::InvalidPageToken;
    let (payload, given) = token.rsplit_once('.').ok_or_else(refused)?;
    if given != check(payload, query) {
        return Err(refused());
    }
    let parts: Vec<&str> = payload.split('.').collect();
    let [version, tag, secs, nanos, leaf, returned] = parts[..] else {
        return Err(refused());
    };
    if version != VERSION || tag != order_tag(order) {
        return Err(refused());
    }
    let at = match (order.key, secs, nanos) {
        (ScanKey::Log, "_", "_") => None,
        (ScanKey::Log, _, _) => return Err(refused()),
        (_, secs, nanos) => {
            let secs = secs.parse::<i64>().map_err(|_| refused())?;
            let nanos = nanos.parse::<u32>().map_err(|_| refused())?;
            Some(DateTime::from_timestamp(secs, nanos).ok_or_else(refused)?)
        }
    };
    let leaf = leaf
        .parse::<i64>()
        .ok()
        .filter(|l| *l >= 0)
        .ok_or_else(refused)?;
    let returned = returned.parse::<u64>().map_err(|_| refused())?;
    Ok((ScanPosition { at, leaf }, returned))
}

/// The token of the page after `(key, leaf)` of a query ordered by an extension field,
/// `returned` events having been shown in all.
pub(super) fn write_field(
    key: Option<&SortKey>,
    leaf: i64,
    returned: u64,
    query: &EventQuery,
) -> String {
    let key = match key {
        None => "_".to_owned(),
        Some(SortKey::Number(n)) => format!("n{:016x}", n.to_bits()),
        Some(SortKey::Time(t)) => format!("t{}~{}", t.timestamp(), t.timestamp_subsec_nanos()),
        Some(SortKey::Text(s)) => format!("s{}", URL_SAFE_NO_PAD.encode(s)),
    };
    let payload = format!("{FIELD_VERSION}.{key}.{leaf}.{returned}");
    let check = check(&payload, query);
    format!("{payload}.{check}")
}

/// The `(key, leaf)` and count a token of [`write_field`] carries, if this server gave it for
/// `query`.
pub(super) fn read_field(
    token: &str,
    query: &EventQuery,
) -> Result<(Option<SortKey>, i64, u64), CustodyError> {
    let refused = || CustodyError::InvalidPageToken;
    let (payload, given) = token.rsplit_once('.').ok_or_else(refused)?;
    if given != check(payload, query) {
        return Err(refused());
    }
    let parts: Vec<&str> = payload.split('.').collect();
    let [version, key, leaf, returned] = parts[..] else {
        return Err(refused());
    };
    if version != FIELD_VERSION {
        return Err(refused());
    }
    let key = match key.split_at_checked(1) {
        Some(("_", "")) => None,
        Some(("n", bits)) => Some(SortKey::Number(f64::from_bits(
            u64::from_str_radix(bits, 16).map_err(|_| refused())?,
        ))),
        Some(("t", at)) => {
            let (secs, nanos) = at.split_once('~').ok_or_else(refused)?;
            let secs = secs.parse::<i64>().map_err(|_| refused())?;
            let nanos = nanos.parse::<u32>().map_err(|_| refused())?;
            let at = DateTime::from_timestamp(secs, nanos).ok_or_else(refused)?;
            Some(SortKey::Time(at.fixed_offset()))
        }
        Some(("s", text)) => {
            let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| refused())?;
            Some(SortKey::Text(
                String::from_utf8(bytes).map_err(|_| refused())?,
            ))
        }
        _ => return Err(refused()),
    };
    let leaf = leaf
        .parse::<i64>()
        .ok()
        .filter(|l| *l >= 0)
        .ok_or_else(refused)?;
    let returned = returned.parse::<u64>().map_err(|_| refused())?;
    Ok((key, leaf, returned))
}

/// The token of a listing's (`/epcis/2.0/bizSteps`, ...) next page: after `value`.
pub(super) fn write_value(kind: EventValue, value: &str) -> String {
    let payload = format!("v1.{}.{}", kind.name(), URL_SAFE_NO_PAD.encode(value));
    let check = value_check(&payload);
    format!("{payload}.{check}")
}

/// The value a listing's token carries, if this server gave it for `kind`.
pub(super) fn read_value(kind: EventValue, token: &str) -> Result<String, CustodyError> {
    let refused = || CustodyError::InvalidPageToken;
    let (payload, given) = token.rsplit_once('.').ok_or_else(refused)?;
    if given != value_check(payload) {
        return Err(refused());
    }
    let mut parts = payload.split('.');
    if parts.next() != Some("v1") || parts.next() != Some(kind.name()) {
        return Err(refused());
    }
    let value = parts.next().ok_or_else(refused)?;
    let value = URL_SAFE_NO_PAD.decode(value).map_err(|_| refused())?;
    String::from_utf8(value).map_err(|_| refused())
}

fn value_check(payload: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"reetrace epcis listing\n")
        .chain_update(payload.as_bytes())
        .finalize();
    hex::encode(&digest[..16])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn query(raw: &str) -> EventQuery {
        EventQuery::from_binding_query_string(raw).unwrap()
    }

    const BY_TIME: ScanOrder = ScanOrder {
        key: ScanKey::EventTime,
        descending: true,
    };

    #[test]
    fn a_token_reads_back_for_its_query_only() {
        let q = query("orderBy=eventTime&EQ_bizStep=receiving");
        let position = ScanPosition {
            at: DateTime::from_timestamp(1_780_000_000, 123_456_789),
            leaf: 42,
        };
        let token = write(position, 7, &q, BY_TIME);
        assert_eq!(read(&token, &q, BY_TIME).unwrap(), (position, 7));
        // perPage may change between pages.
        let mut other_page = q.clone();
        other_page.per_page = 5;
        assert_eq!(read(&token, &other_page, BY_TIME).unwrap(), (position, 7));
        // Another query, another order, an altered token: refused.
        let other = query("orderBy=eventTime&EQ_bizStep=shipping");
        assert!(read(&token, &other, BY_TIME).is_err());
        assert!(read(&token, &q, ScanOrder::LOG).is_err());
        let altered = token.replacen(".42.", ".41.", 1);
        assert_ne!(altered, token);
        assert!(read(&altered, &q, BY_TIME).is_err());
        assert!(read("42", &q, BY_TIME).is_err());
        assert!(read("", &q, BY_TIME).is_err());
    }

    #[test]
    fn a_field_token_reads_back_for_its_query_only() {
        let q = query("orderBy=example:grade&orderDirection=ASC");
        let time = DateTime::parse_from_rfc3339("2026-09-01T10:00:00.123456789+02:00").unwrap();
        for key in [
            None,
            Some(SortKey::Number(-2.75)),
            Some(SortKey::Time(time)),
            Some(SortKey::Text("grade A. (ü)".to_owned())),
        ] {
            let token = write_field(key.as_ref(), 9, 4, &q);
            assert_eq!(read_field(&token, &q).unwrap(), (key.clone(), 9, 4));
            let other = query("orderBy=example:grade&orderDirection=DESC");
            assert!(read_field(&token, &other).is_err());
            assert!(read(&token, &q, BY_TIME).is_err());
        }
        assert!(read_field("f1._.9.4.00", &q).is_err());
    }

    #[test]
    fn a_listing_token_reads_back_for_its_listing_only() {
        let token = write_value(EventValue::Epc, "urn:epc:id:sgtin:0614141.107346.2017");
        assert_eq!(
            read_value(EventValue::Epc, &token).unwrap(),
            "urn:epc:id:sgtin:0614141.107346.2017"
        );
        assert!(read_value(EventValue::BizStep, &token).is_err());
        assert!(read_value(EventValue::Epc, &token.replacen("v1.epcs.", "v1.epcs.A", 1)).is_err());
        assert!(read_value(EventValue::Epc, "shipping").is_err());
    }
}
