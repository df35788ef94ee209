//! GS1 link types and the RFC 9264 linkset of a product.
//!
//! Relation types follow the GS1 Web Vocabulary (`https://gs1.org/voc/dpp`, `pip`,
//! `certificationInfo`, `sustainabilityInfo`, `traceability`, `defaultLink`: each a
//! `gs1:linkType` of the vocabulary, checked against its release 1.19 of 2026-11-23) where one
//! fits, IANA's registry where one exists (`version-history`), and our own `ree:` terms
//! otherwise. A `linkType` query parameter may name any of them as a CURIE (`gs1:dpp`,
//! `ree:qrCode`) or in full, under any of the vocabulary's namespaces (`https://gs1.org/voc/`,
//! `https://ref.gs1.org/voc/`, `https://www.gs1.org/voc/`, `http://gs1.org/voc/`).
//!
//! The signed passport is offered as `gs1:dpp`, "a link to a digital product passport" (the
//! vocabulary added it after release 1.16; schema.org's `hasDigitalProductPassport` is declared
//! its equivalent). Earlier releases of this resolver offered it as `gs1:certificationInfo`,
//! which stays answered and listed: the credential is the issuer's signed statement of the
//! product's data and of its CRMA conformity, certification information in the vocabulary's
//! sense ("a link to certification information"), and clients written against those releases
//! ask for it. `ree:verifiableCredential`, our own term for the same link, is still answered
//! for those clients but no longer listed: the GS1-Conformant Resolver Standard (release 1.2.0,
//! section 2.14) says link types defined elsewhere SHALL NOT duplicate one GS1 defines.
//! `gs1:recyclingInfo`, which earlier releases served, is no GS1 term (the vocabulary's is
//! `gs1:sustainabilityInfo`, "Sustainability and recycling"): it is an unknown link type,
//! answered 404 as any other.
//!
//! The default link (`gs1:defaultLink`) is the credential: it is what a request with nothing to
//! match against the links gets (`Accept: */*` or none; section 2.6.1), while a browser's
//! `text/html` matches the page's link (`gs1:pip`, `type` `text/html`). As section 2.5.8 has it,
//! the default link carries its target and a title and nothing else (no media type, no
//! language), and its target is listed under a descriptive link type too (`gs1:dpp`).

use serde::ser::{Serialize, SerializeMap, Serializer};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::{RefOr, schema::AdditionalProperties};
use utoipa::{PartialSchema, ToSchema};

use super::super::page::ProductLinks;
use crate::domain::credential::REE_CONTEXT_PATH;

/// The GS1 Web Vocabulary namespace (link types are `https://gs1.org/voc/<term>`).
pub const GS1_VOC: &str = "https://gs1.org/voc/";
/// The prefixes a GS1 link type may come with: the CURIE, the namespace we write, the
/// vocabulary's own (`@prefix gs1: <https://ref.gs1.org/voc/>`) and its other equivalents.
const GS1_NAMESPACES: [&str; 5] = [
    "gs1:",
    GS1_VOC,
    "https://ref.gs1.org/voc/",
    "https://www.gs1.org/voc/",
    "http://gs1.org/voc/",
];
/// The JSON-LD context GS1-Conformant resolvers announce for their linksets.
pub const GS1_LINKSET_CONTEXT: &str = "https://ref.gs1.org/standards/resolver/linkset-context";

/// The namespace of our own link relation types: the terms of our JSON-LD context.
pub fn ree_namespace(base_url: &str) -> String {
    format!("{base_url}{REE_CONTEXT_PATH}#")
}

/// What a `linkType` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    /// `linkset` or `all`: every link, as a linkset.
    Linkset,
    /// `gs1:pip`: the passport page.
    Page,
    /// `gs1:dpp`, `gs1:defaultLink`, and for earlier clients `gs1:certificationInfo` and
    /// `ree:verifiableCredential`: the signed credential.
    Credential,
    /// `gs1:sustainabilityInfo`: the page's dismantling and end-of-life section.
    SustainabilityInfo,
    /// `gs1:traceability`: the custody record.
    Traceability,
    /// `version-history` or `ree:versions`.
    Versions,
    /// `ree:qrCode`.
    QrCode,
    /// `ree:issuer`: the issuer's DID document.
    Issuer,
    /// `ree:modelPassport`: the model passport of an item or batch.
    ModelPassport,
}

impl LinkType {
    /// Reads a `linkType` value; `None` for a type this resolver does not know (which the
    /// resolver answers 404: no link of that type).
    pub fn parse(value: &str, ree_namespace: &str) -> Option<LinkType> {
        let value = value.trim();
        if value == "linkset" || value == "all" {
            return Some(LinkType::Linkset);
        }
        if value == "version-history" {
            return Some(LinkType::Versions);
        }
        let gs1 = GS1_NAMESPACES
            .iter()
            .find_map(|namespace| value.strip_prefix(namespace));
        if let Some(term) = gs1 {
            return match term {
                "pip" => Some(LinkType::Page),
                "dpp" | "defaultLink" | "certificationInfo" => Some(LinkType::Credential),
                "sustainabilityInfo" => Some(LinkType::SustainabilityInfo),
                "traceability" => Some(LinkType::Traceability),
                _ => None,
            };
        }
        let ree = value
            .strip_prefix("ree:")
            .or_else(|| value.strip_prefix(ree_namespace))?;
        match ree {
            "verifiableCredential" => Some(LinkType::Credential),
            "versions" => Some(LinkType::Versions),
            "qrCode" => Some(LinkType::QrCode),
            "issuer" => Some(LinkType::Issuer),
            "modelPassport" => Some(LinkType::ModelPassport),
            _ => None,
        }
    }
}

/// One link target (RFC 9264 section 4.2.4).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, ToSchema)]
pub struct LinkTarget {
    pub href: String,
    /// A title for people.
    pub title: String,
    /// The media type the target answers with.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The languages of the target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hreflang: Vec<String>,
}

/// The links of one anchor: relation type to targets, in the order they were added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkContext {
    /// The link context: the product's identifier.
    pub anchor: String,
    pub links: Vec<(String, Vec<LinkTarget>)>,
}

impl Serialize for LinkContext {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1 + self.links.len()))?;
        map.serialize_entry("anchor", &self.anchor)?;
        for (relation, targets) in &self.links {
            map.serialize_entry(relation, targets)?;
        }
        map.end()
    }
}

impl PartialSchema for LinkContext {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .description(Some(
                "The links of one anchor: `anchor` is the product's identifier; every other \
                 member is a link relation type (a GS1 Web Vocabulary URI, an IANA name or a \
                 `ree:` term URI) whose value lists its targets.",
            ))
            .property(
                "anchor",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(utoipa::openapi::SchemaFormat::Custom("uri".into()))),
            )
            .required("anchor")
            .additional_properties(Some(AdditionalProperties::RefOr(
                ArrayBuilder::new().items(LinkTarget::schema()).into(),
            )))
            .into()
    }
}

impl ToSchema for LinkContext {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push(("LinkTarget".into(), LinkTarget::schema()));
    }
}

/// An RFC 9264 linkset (`application/linkset+json`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ToSchema)]
pub struct Linkset {
    pub linkset: Vec<LinkContext>,
}

fn target(href: &str, title: impl Into<String>, media_type: &str) -> LinkTarget {
    LinkTarget {
        href: href.to_owned(),
        title: title.into(),
        media_type: Some(media_type.to_owned()),
        hreflang: Vec::new(),
    }
}

fn gs1(term: &str) -> String {
    format!("{GS1_VOC}{term}")
}

/// The linkset of a product: every link a client may follow from its identifier.
pub fn linkset(links: &ProductLinks, product_name: &str, ree_namespace: &str) -> Linkset {
    let page = LinkTarget {
        hreflang: vec!["en".to_owned()],
        ..target(
            &links.page,
            format!("Passport of {product_name}"),
            "text/html",
        )
    };
    let credential = target(
        &links.credential,
        "Signed digital product passport (W3C Verifiable Credential, eddsa-jcs-2022)",
        "application/vc",
    );
    let ree = |term: &str| format!("{ree_namespace}{term}");
    // Section 2.5.8: the default link has a target and a title only.
    let default = LinkTarget {
        href: links.credential.clone(),
        title: format!("Digital product passport of {product_name}"),
        media_type: None,
        hreflang: Vec::new(),
    };
    let mut entries = vec![
        (gs1("pip"), vec![page.clone()]),
        (gs1("dpp"), vec![credential.clone()]),
        (gs1("certificationInfo"), vec![credential]),
        (
            gs1("sustainabilityInfo"),
            vec![LinkTarget {
                href: format!("{}#end-of-life", links.page),
                title: "Dismantling, hazards and end of life".into(),
                ..page
            }],
        ),
        (
            gs1("traceability"),
            vec![target(
                &links.custody,
                "Custody: collection, sorting, dismantling and recycling events",
                "application/json",
            )],
        ),
        (
            "version-history".to_owned(),
            vec![target(
                &links.versions,
                "Every version of this passport",
                "application/json",
            )],
        ),
        (
            ree("qrCode"),
            vec![
                target(
                    &links.qr_svg,
                    "QR code of this identifier (SVG)",
                    "image/svg+xml",
                ),
                target(
                    &links.qr_png,
                    "QR code of this identifier (PNG)",
                    "image/png",
                ),
            ],
        ),
        (
            ree("issuer"),
            vec![target(
                &links.did_document,
                "The issuer's DID document (its signing keys)",
                "application/did+json",
            )],
        ),
    ];
    if let Some(model) = &links.model {
        entries.push((
            ree("modelPassport"),
            vec![LinkTarget {
                href: model.clone(),
                title: "The model passport this product belongs to".into(),
                media_type: None,
                hreflang: Vec::new(),
            }],
        ));
    }
    entries.push((gs1("defaultLink"), vec![default]));
    Linkset {
        linkset: vec![LinkContext {
            anchor: links.product.clone(),
            links: entries,
        }],
    }
}

/// Where a link type leads for this product (`None`: not available here).
pub fn href(links: &ProductLinks, link_type: LinkType) -> Option<String> {
    match link_type {
        LinkType::Linkset => Some(links.linkset.clone()),
        LinkType::Page => Some(links.page.clone()),
        LinkType::Credential => Some(links.credential.clone()),
        LinkType::SustainabilityInfo => Some(format!("{}#end-of-life", links.page)),
        LinkType::Traceability => Some(links.custody.clone()),
        LinkType::Versions => Some(links.versions.clone()),
        LinkType::QrCode => Some(links.qr_svg.clone()),
        LinkType::Issuer => Some(links.did_document.clone()),
        LinkType::ModelPassport => links.model.clone(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const NS: &str = "https://p.example/contexts/reetrace/v1#";

    #[test]
    fn link_types_are_read_as_curies_and_uris() {
        assert_eq!(LinkType::parse("gs1:pip", NS), Some(LinkType::Page));
        assert_eq!(
            LinkType::parse("https://gs1.org/voc/pip", NS),
            Some(LinkType::Page)
        );
        // The signed passport: GS1's term for it, the default link, and the term earlier
        // releases offered, in every namespace spelling of the vocabulary.
        for value in [
            "gs1:dpp",
            "https://gs1.org/voc/dpp",
            "https://ref.gs1.org/voc/dpp",
            "https://www.gs1.org/voc/dpp",
            "http://gs1.org/voc/dpp",
            "gs1:defaultLink",
            "gs1:certificationInfo",
        ] {
            assert_eq!(
                LinkType::parse(value, NS),
                Some(LinkType::Credential),
                "{value}"
            );
        }
        assert_eq!(
            LinkType::parse("ree:verifiableCredential", NS),
            Some(LinkType::Credential)
        );
        assert_eq!(
            LinkType::parse(&format!("{NS}verifiableCredential"), NS),
            Some(LinkType::Credential)
        );
        assert_eq!(LinkType::parse("linkset", NS), Some(LinkType::Linkset));
        assert_eq!(LinkType::parse("all", NS), Some(LinkType::Linkset));
        assert_eq!(
            LinkType::parse("gs1:traceability", NS),
            Some(LinkType::Traceability)
        );
        assert_eq!(
            LinkType::parse("gs1:sustainabilityInfo", NS),
            Some(LinkType::SustainabilityInfo)
        );
        assert_eq!(
            LinkType::parse("https://ref.gs1.org/voc/sustainabilityInfo", NS),
            Some(LinkType::SustainabilityInfo)
        );
        // Not a term of the GS1 Web Vocabulary.
        assert_eq!(LinkType::parse("gs1:recyclingInfo", NS), None);
        assert_eq!(LinkType::parse("gs1:epil", NS), None);
        assert_eq!(LinkType::parse("ree:nothing", NS), None);
        assert_eq!(LinkType::parse("pip", NS), None);
    }

    #[test]
    fn the_linkset_is_rfc_9264_json_with_the_anchor_first() {
        let links = ProductLinks {
            product: "https://p.example/01/04012345000016".into(),
            page: "https://p.example/01/04012345000016?linkType=gs1:pip".into(),
            credential: "https://p.example/c".into(),
            versions: "https://p.example/v".into(),
            qr_svg: "https://p.example/q.svg".into(),
            qr_png: "https://p.example/q.png".into(),
            label_svg: "https://p.example/l.svg".into(),
            label_pdf: "https://p.example/l.pdf".into(),
            linkset: "https://p.example/01/04012345000016?linkType=linkset".into(),
            did_document: "https://p.example/d".into(),
            custody: "https://p.example/custody".into(),
            model: None,
        };
        let set = linkset(&links, "Motor", NS);
        let text = serde_json::to_string(&set).unwrap();
        assert!(text.starts_with(r#"{"linkset":[{"anchor":"https://p.example/01/04012345000016","https://gs1.org/voc/pip":[{"href":"#));
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let context = &json["linkset"][0];
        assert_eq!(context["https://gs1.org/voc/pip"][0]["type"], "text/html");
        assert_eq!(context["https://gs1.org/voc/pip"][0]["hreflang"][0], "en");
        for relation in [
            "https://gs1.org/voc/dpp",
            "https://gs1.org/voc/certificationInfo",
        ] {
            assert_eq!(context[relation][0]["href"], links.credential);
            assert_eq!(context[relation][0]["type"], "application/vc");
        }
        // Our own term would duplicate gs1:dpp (Resolver 1.2.0, section 2.14).
        assert!(context.get(format!("{NS}verifiableCredential")).is_none());
        // The default link: the credential, with a title and nothing else (section 2.5.8).
        let default = context["https://gs1.org/voc/defaultLink"][0]
            .as_object()
            .unwrap();
        assert_eq!(default["href"], links.credential.as_str());
        let mut members: Vec<&str> = default.keys().map(String::as_str).collect();
        members.sort_unstable();
        assert_eq!(members, ["href", "title"]);
        assert_eq!(context[format!("{NS}qrCode")].as_array().unwrap().len(), 2);
        assert!(context.get(format!("{NS}modelPassport")).is_none());
        for (relation, targets) in context.as_object().unwrap() {
            if relation == "anchor" {
                continue;
            }
            for t in targets.as_array().unwrap() {
                assert!(t["href"].as_str().unwrap().starts_with("https://"));
                assert!(t["title"].is_string(), "{relation} has a title");
            }
        }
    }
}
