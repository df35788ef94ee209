//! What a resolver request asks for: its `linkType`, else its `Accept` header.
//!
//! Clause numbers are those of the GS1-Conformant Resolver Standard, release 1.2.0 (ratified
//! January 2026), <https://ref.gs1.org/standards/resolver/1.2.0>; "item n" is the n-th statement
//! of its conformance statement (section 5).

use axum::http::{HeaderMap, Uri};
use reetrace_core::api::problem::{FieldError, Problem};

use super::super::page::ProductLinks;
use super::{LinkType, Representation, accept, linkset, negotiate};

/// What a request asked for.
pub(super) enum Choice {
    Answer(Representation),
    Redirect(String),
}

/// The `linkType` of a query string as written, and what it names if this resolver knows it;
/// `None` without one (or with an empty one).
pub(super) fn link_type(uri: &Uri, ree_namespace: &str) -> Option<(String, Option<LinkType>)> {
    let query = uri.query()?;
    let (_, value) = url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, value)| name == "linkType" && !value.trim().is_empty())?;
    let known = LinkType::parse(&value, ree_namespace);
    Some((value.into_owned(), known))
}

/// 404 for a link type the product has no link of: section 2.6.2 and item 18, "SHALL return a
/// 404 Not Found message if a link of the requested type is not available", rather than the
/// default answer. The standard lets the answer list the links; the problem names the linkset.
fn no_link(requested: &str, linkset: &str) -> Problem {
    let hint = match requested.trim() {
        "gs1:recyclingInfo" | "https://gs1.org/voc/recyclingInfo" => {
            " gs1:recyclingInfo is not a GS1 Web Vocabulary link type; the end-of-life \
             section is gs1:sustainabilityInfo."
        }
        _ => "",
    };
    Problem::not_found(format!(
        "This product has no link of type {requested}.{hint} Its links are listed at {linkset}."
    ))
    .with_errors(vec![FieldError::new(
        "linkType",
        "no link of this type for this product",
    )])
}

/// `target` with the request's query string passed on, as section 2.12 and item 19 require of
/// a redirect ("by default, SHALL pass on all key=value pairs in the query string"): the pairs
/// as written, in their order, before any fragment of the target. `linkType` itself stays
/// behind: it was this resolver's instruction, and a target that is a resolver URI in turn (the
/// model passport) would otherwise answer for the link type asked of the item.
fn pass_on_query(target: &str, query: Option<&str>) -> String {
    let pairs: Vec<&str> = query
        .unwrap_or("")
        .split('&')
        .filter(|pair| {
            let name = pair.split_once('=').map_or(*pair, |(name, _)| name);
            !pair.is_empty() && name != "linkType"
        })
        .collect();
    if pairs.is_empty() {
        return target.to_owned();
    }
    let (base, fragment) = target
        .split_once('#')
        .map_or((target, None), |(base, fragment)| (base, Some(fragment)));
    let separator = if base.contains('?') { '&' } else { '?' };
    let mut passed = format!("{base}{separator}{}", pairs.join("&"));
    if let Some(fragment) = fragment {
        passed.push('#');
        passed.push_str(fragment);
    }
    passed
}

/// What to answer: with a `linkType`, the link of that type (items 17 and 18); without one,
/// what `Accept` asks for (section 2.6.1: the default link unless the request says better).
pub(super) fn choose(
    uri: &Uri,
    headers: &HeaderMap,
    links: &ProductLinks,
    ree_namespace: &str,
) -> Result<Choice, Problem> {
    let accept = accept(headers);
    // Section 2.6.1: "SHALL redirect to the default link unless there is information in
    // the request that can be used to determine a better response". `Accept` is such information (section 2.6.3): `text/html` matches the page's
    // link, `application/linkset+json` the linkset (section 2.9); with nothing to match (`*/*`
    // or no `Accept`) the answer is the default link's target, the credential. The resolver
    // serves the targets it hosts itself in place of a redirect to them.
    let by_accept = || {
        negotiate(accept, &Representation::ALL)
            .map(Choice::Answer)
            .ok_or_else(super::accept::not_acceptable)
    };
    let Some((requested, known)) = link_type(uri, ree_namespace) else {
        return by_accept();
    };
    let choice = match known {
        // Section 2.9: `linkType=linkset` is the linkset, never a redirect (`all`,
        // its older name, is honoured too).
        Some(LinkType::Linkset) => Some(Choice::Answer(Representation::Linkset)),
        Some(LinkType::Page) => Some(Choice::Answer(Representation::Html)),
        // gs1:dpp and its aliases: the credential link's own content negotiation.
        Some(LinkType::Credential) => Some(Choice::Answer(
            negotiate(accept, &Representation::CREDENTIAL).unwrap_or(Representation::Json),
        )),
        Some(other) => linkset::href(links, other)
            .map(|target| Choice::Redirect(pass_on_query(&target, uri.query()))),
        None => None,
    };
    choice.ok_or_else(|| no_link(&requested, &links.linkset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirect_passes_the_query_string_on_but_not_the_link_type() {
        let custody = "https://p.example/api/v1/custody/1";
        assert_eq!(
            pass_on_query(
                custody,
                Some("linkType=gs1:traceability&17=261231&ref=card")
            ),
            format!("{custody}?17=261231&ref=card")
        );
        // Pairs as written, percent-encoding and all.
        assert_eq!(
            pass_on_query(custody, Some("ref=a%20b&linkType=gs1%3Atraceability")),
            format!("{custody}?ref=a%20b")
        );
        // Into a target with a query and a fragment of its own.
        assert_eq!(
            pass_on_query(
                "https://p.example/01/1?linkType=gs1:pip#end-of-life",
                Some("linkType=gs1:sustainabilityInfo&lang=de")
            ),
            "https://p.example/01/1?linkType=gs1:pip&lang=de#end-of-life"
        );
        assert_eq!(
            pass_on_query(custody, Some("linkType=gs1:traceability")),
            custody
        );
        assert_eq!(pass_on_query(custody, None), custody);
    }
}
