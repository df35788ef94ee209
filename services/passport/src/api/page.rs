//! The passport page: what a person sees after scanning a product's QR code.
//!
//! Server-rendered HTML with no external resource (the style sheet is embedded and pinned by
//! hash in the Content-Security-Policy), readable on a 360 px wide phone. Everything public is
//! in the HTML; one small script served by this same server ([`SCRIPT`] at [`SCRIPT_PATH`], no
//! build step) lets a reader enter an API key once and fills in what that key's tier may read
//! (component detail, the custody timeline) from the JSON API. The renderer takes a
//! [`PageView`] and does no I/O. Every text that comes from a passport goes through
//! [`escape_html`].

mod chart;
mod crma;
mod magnets;
mod sections;
mod session;

use std::fmt::Write as _;
use std::sync::LazyLock;

use crate::domain::view::{PassportView, Tier};
use crate::service::conformity::PassportConformity;

/// The page's style sheet.
pub const CSS: &str = include_str!("../../assets/passport.css");

/// The page's script: the API key form, component detail and the custody timeline.
pub const SCRIPT: &str = include_str!("../../assets/passport.js");

/// Where the server serves [`SCRIPT`].
pub const SCRIPT_PATH: &str = "/assets/passport.js";

/// The `Content-Security-Policy` of the page: only the embedded style sheet (pinned by its
/// SHA-256) and scripts of this origin apply; the script talks to this origin only.
pub fn content_security_policy() -> &'static str {
    static POLICY: LazyLock<String> = LazyLock::new(|| {
        format!(
            "default-src 'none'; style-src '{}'; script-src 'self'; connect-src 'self'; \
             img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            crate::domain::subject::sri_sha256(CSS.as_bytes())
        )
    });
    &POLICY
}

/// Where the page (and the resolver's linkset) points to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductLinks {
    /// The product's identifier: its resolver URL.
    pub product: String,
    /// This page.
    pub page: String,
    /// The signed credential.
    pub credential: String,
    pub versions: String,
    pub qr_svg: String,
    pub qr_png: String,
    /// The CRMA art. 28(1) magnet label, to print (SVG and PDF).
    pub label_svg: String,
    pub label_pdf: String,
    pub linkset: String,
    pub did_document: String,
    /// The custody record of the product (collection, dismantling, recycling).
    pub custody: String,
    /// The model passport this item or batch belongs to.
    pub model: Option<String>,
}

/// What checking the stored credential's proof found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureCheck {
    /// The proof verifies under the issuer's key.
    Valid { verification_method: String },
    /// The key that signed is withdrawn (compromised): the signature proves nothing any more.
    KeyWithdrawn { verification_method: String },
    /// The proof is malformed, is not the issuer's, or does not verify.
    Invalid { reason: String },
}

/// The lifecycle state shown on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisplayStatus {
    Active,
    Suspended,
    Revoked,
    /// A newer version replaced the one shown.
    Superseded,
}

impl DisplayStatus {
    fn word(self) -> &'static str {
        match self {
            DisplayStatus::Active => "active",
            DisplayStatus::Suspended => "suspended",
            DisplayStatus::Revoked => "revoked",
            DisplayStatus::Superseded => "superseded",
        }
    }
}

/// The verification badge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub signature: SignatureCheck,
    /// The issuer's DID.
    pub issuer: String,
    pub status: DisplayStatus,
    pub status_reason: Option<String>,
}

/// Everything the page shows.
#[derive(Debug, Clone, Copy)]
pub struct PageView<'a> {
    /// The passport, cut to the caller's tier.
    pub passport: &'a PassportView,
    pub verification: &'a Verification,
    pub links: &'a ProductLinks,
    /// The manufacturer's free-access page of CRMA art. 29(1), when the product is on it.
    pub free_access: Option<&'a str>,
    /// The product's CRMA conformity, as the caller's tier may see it.
    pub conformity: Option<&'a PassportConformity>,
}

/// Escapes text for HTML element content and double- or single-quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn tier_word(tier: Tier) -> &'static str {
    match tier {
        Tier::Public => "public",
        Tier::Professional => "professional (recycler)",
        Tier::Authority => "authority",
        Tier::Owner => "owner (the manufacturer)",
    }
}

/// Renders the page.
pub fn render(view: &PageView<'_>) -> String {
    let p = view.passport;
    let name = escape_html(&p.subject.product.name);
    let mut out = String::with_capacity(16 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{name} · Product passport</title>\n<style>{CSS}</style>\n\
         <link rel=\"icon\" href=\"/assets/favicon.svg\" type=\"image/svg+xml\">\n\
         <script src=\"{SCRIPT_PATH}\" defer></script>\n</head>\n<body>\n\
         <a class=\"skip\" href=\"#main\">Skip to the passport</a>\n\
         <header class=\"site\"><p>reetrace · Digital product passport</p></header>\n\
         <main id=\"main\">\n"
    );
    sections::status_banner(&mut out, view.verification);
    let subtitle = match &p.subject.product.model {
        Some(model) => format!(
            "{} · model {}",
            escape_html(p.subject.product.category.label()),
            escape_html(model)
        ),
        None => escape_html(p.subject.product.category.label()),
    };
    let _ = write!(
        out,
        "<h1>{name}</h1>\n<p class=\"subtitle\">{subtitle}</p>\n<div class=\"hero\">\n"
    );
    sections::badge(&mut out, view.verification);
    out.push_str("</div>\n");
    sections::identity(&mut out, p);
    magnets::responsible_person(&mut out, p);
    sections::ree_content(&mut out, p);
    magnets::summary(&mut out, p);
    if let Some(url) = view.free_access {
        let _ = writeln!(
            out,
            "<section aria-labelledby=\"crma29-h\"><h2 id=\"crma29-h\">Recycled content \
             (CRMA art. 29)</h2><p>The share of each element recovered from post-consumer \
             waste in this product's magnets is published on <a href=\"{}\">the \
             manufacturer's free-access page</a>.</p></section>",
            escape_html(url)
        );
    }
    if let Some(conformity) = view.conformity {
        crma::conformity(&mut out, conformity);
    }
    sections::recycled(&mut out, p);
    sections::end_of_life(&mut out, p);
    session::access(&mut out, p);
    sections::components(&mut out, p);
    session::custody(&mut out, p);
    sections::confidential(&mut out, p);
    sections::documents(&mut out, p);
    sections::links(&mut out, view.links);
    let _ = write!(
        out,
        "</main>\n<footer><p>Shown at the <strong id=\"footer-tier\">{}</strong> access tier. Passport <code>{}</code>, \
         version {}. The signed credential is the same for everyone; the tier decides what is \
         shown beside it.</p></footer>\n</body>\n</html>\n",
        tier_word(p.tier),
        p.id,
        p.version
    );
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
