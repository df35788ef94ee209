//! The free-access page as HTML: the passport page's style sheet (embedded, pinned by the same
//! Content-Security-Policy), no script, one card per product with its eight shares in a
//! two-column table (readable at 360 px). Every text goes through `escape_html`.

use std::fmt::Write as _;

use reetrace_core::api::pagination::Page;
use reetrace_core::api::problem::Problem;
use reetrace_core::domain::account::Org;

use crate::api::page::{CSS, escape_html};
use crate::domain::passport::PassportStatus;
use crate::domain::registration::Granularity;
use crate::service::PassportService;
use crate::service::free_access::{PublishedProduct, PublishedShare, ShareStatus};

fn head(out: &mut String, title: &str) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{CSS}</style>\n\
         <link rel=\"icon\" href=\"/assets/favicon.svg\" type=\"image/svg+xml\">\n</head>\n<body>\n\
         <a class=\"skip\" href=\"#main\">Skip to the content</a>\n\
         <header class=\"site\"><p>reetrace · Recycled content of permanent magnets</p></header>\n\
         <main id=\"main\">\n"
    );
}

fn foot(out: &mut String) {
    out.push_str("</main>\n</body>\n</html>\n");
}

/// A share as people read it: a percentage, or why there is none.
pub fn share_text(share: &PublishedShare) -> String {
    match (share.status, share.share) {
        (ShareStatus::Computed, Some(v)) => {
            let pct = v * 100.0;
            if pct > 0.0 && pct < 0.01 {
                "< 0.01 %".to_owned()
            } else {
                format!("{} %", (pct * 100.0).round() / 100.0)
            }
        }
        (ShareStatus::Computed, None) => "computed, not stated".to_owned(),
        (ShareStatus::NotApplicable, _) => "not applicable (none in the magnets)".to_owned(),
        (ShareStatus::NotPublished, _) => "not published".to_owned(),
    }
}

fn identifier(p: &PublishedProduct) -> String {
    let gtin = p.gtin.as_deref().map(|g| format!("(01) {g}"));
    let own = match p.granularity {
        Granularity::Model => None,
        Granularity::Batch => p.lot.as_deref().map(|l| format!("(10) {l}")),
        Granularity::Item => p.serial.as_deref().map(|s| format!("(21) {s}")),
    };
    let text = [gtin, own]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if text.is_empty() {
        format!("Passport {}", p.passport_id)
    } else {
        text
    }
}

fn granularity_word(g: Granularity) -> &'static str {
    match g {
        Granularity::Model => "model",
        Granularity::Batch => "batch",
        Granularity::Item => "item",
    }
}

fn product(out: &mut String, p: &PublishedProduct) {
    let name = escape_html(&p.name);
    let _ = write!(
        out,
        "<section class=\"card\" id=\"p-{id}\">\n<h2>{name}</h2>\n<dl>\n\
         <dt>Identifier</dt><dd>{ident}</dd>\n<dt>Passport for a</dt><dd>{gran}</dd>\n",
        id = p.passport_id,
        ident = escape_html(&identifier(p)),
        gran = granularity_word(p.granularity),
    );
    if let Some(model) = &p.model {
        let _ = writeln!(out, "<dt>Model</dt><dd>{}</dd>", escape_html(model));
    }
    let _ = writeln!(
        out,
        "<dt>Product group (art. 28(1))</dt><dd>{}</dd>",
        escape_html(&p.product_group.to_string().replace('_', " "))
    );
    if p.status == PassportStatus::Suspended {
        out.push_str(
            "<dt>Status</dt><dd class=\"warn\">suspended: its credential does not verify \
             while suspended</dd>\n",
        );
    }
    out.push_str(
        "</dl>\n<table>\n<caption>Share recovered from post-consumer waste, in the \
                  permanent magnets</caption>\n<thead><tr><th scope=\"col\">Element</th>\
                  <th scope=\"col\" class=\"num\">Share</th></tr></thead>\n<tbody>\n",
    );
    for s in &p.shares {
        let text = escape_html(&share_text(s));
        let cell = match &s.pointer {
            Some(pointer) => format!(
                "<a href=\"{}\" title=\"{}\">{text}</a>",
                escape_html(&s.credential),
                escape_html(&format!("In the signed credential at {pointer}"))
            ),
            None => text,
        };
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\">{}</th><td class=\"num\">{cell}</td></tr>",
            escape_html(&s.element)
        );
    }
    let _ = write!(
        out,
        "</tbody>\n</table>\n<p>Evidence: <a href=\"{page}\">the passport page</a> · \
         <a href=\"{cred}\">the signed credential</a> (each share links to it).</p>\n</section>\n",
        page = escape_html(&p.page),
        cred = escape_html(&p.credential),
    );
}

/// The page of one manufacturer.
pub fn render(service: &PassportService, org: &Org, page: &Page<PublishedProduct>) -> String {
    let name = escape_html(&org.name);
    let base = service.base_url();
    let mut out = String::with_capacity(8 * 1024 + page.items.len() * 2048);
    head(
        &mut out,
        &format!("{name} · Recycled content (CRMA art. 29)"),
    );
    let _ = write!(
        out,
        "<h1>{name}</h1>\n<p class=\"subtitle\">Recycled content of permanent magnets, \
         Regulation (EU) 2024/1252 art. 29(1)</p>\n\
         <section>\n<p>For each product of art. 28(1) whose neodymium-iron-boron, \
         samarium-cobalt and aluminium-nickel-cobalt magnets weigh more than 0.2 kg, the share \
         of neodymium, dysprosium, praseodymium, terbium, boron, samarium, nickel and cobalt in \
         those magnets that was recovered from post-consumer waste. The shares are computed \
         from recycled-content claims on recycled lots and signed in each product's \
         credential; \"not applicable\" means the magnets hold none of the element.</p>\n\
         <p>For machines: <a href=\"{base}/api/v1/orgs/{id}/recycled-content\">JSON</a> · \
         <a href=\"{base}/api/v1/orgs/{id}/recycled-content?format=csv\">CSV</a></p>\n</section>\n",
        id = org.id,
    );
    if page.items.is_empty() {
        out.push_str(
            "<section><p>No product of this manufacturer is listed on this page.</p></section>\n",
        );
    }
    for p in &page.items {
        product(&mut out, p);
    }
    if let Some(cursor) = &page.next_cursor {
        let _ = writeln!(
            out,
            "<nav class=\"links\"><p><a rel=\"next\" href=\"{base}/crma/{}?cursor={}\">Next \
             products</a></p></nav>",
            org.id,
            escape_html(cursor)
        );
    }
    foot(&mut out);
    out
}

/// A page for a 400 or a 404, naming what is wrong.
pub fn error(problem: &Problem) -> String {
    let mut out = String::with_capacity(4096);
    let title = escape_html(&problem.title);
    head(&mut out, &title);
    let _ = writeln!(out, "<h1>{title}</h1>");
    if let Some(detail) = &problem.detail {
        let _ = writeln!(out, "<p>{}</p>", escape_html(detail));
    }
    if !problem.errors.is_empty() {
        out.push_str("<ul>\n");
        for e in &problem.errors {
            let _ = writeln!(
                out,
                "<li><code>{}</code>: {}</li>",
                escape_html(&e.pointer),
                escape_html(&e.detail)
            );
        }
        out.push_str("</ul>\n");
    }
    foot(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share(status: ShareStatus, share: Option<f64>) -> PublishedShare {
        PublishedShare {
            element: "Nd".into(),
            status,
            share,
            credential: "https://example.org/c".into(),
            pointer: None,
        }
    }

    #[test]
    fn shares_read_as_percentages_or_say_why_there_is_none() {
        assert_eq!(
            share_text(&share(ShareStatus::Computed, Some(0.0555205))),
            "5.55 %"
        );
        assert_eq!(share_text(&share(ShareStatus::Computed, Some(0.0))), "0 %");
        assert_eq!(
            share_text(&share(ShareStatus::Computed, Some(1.0))),
            "100 %"
        );
        assert_eq!(
            share_text(&share(ShareStatus::Computed, Some(0.00001))),
            "< 0.01 %"
        );
        assert!(share_text(&share(ShareStatus::NotApplicable, None)).starts_with("not applicable"));
        assert_eq!(
            share_text(&share(ShareStatus::NotPublished, None)),
            "not published"
        );
    }
}
