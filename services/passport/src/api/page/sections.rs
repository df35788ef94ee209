//! The sections of the passport page, in the order they appear.

use std::fmt::Write as _;

use reetrace_core::domain::{Mass, Share, UseType};

use super::{
    DisplayStatus, ProductLinks, SignatureCheck, Verification, chart, escape_html, magnets,
};
use crate::domain::registration::{Component, Method};
use crate::domain::view::PassportView;

/// An escaped link target, or `None` for anything but an http(s) URL (no `javascript:`).
pub(super) fn safe_href(url: &str) -> Option<String> {
    let lower = url.trim_start().to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then(|| escape_html(url))
}

/// An exact share as a percentage: `0.05` is `5 %`, `0.125` is `12.5 %`.
pub(super) fn percent(share: Share) -> String {
    let ppm = share.ppm();
    let whole = ppm / 10_000;
    let fraction = ppm % 10_000;
    if fraction == 0 {
        format!("{whole} %")
    } else {
        let digits = format!("{fraction:04}");
        format!("{whole}.{} %", digits.trim_end_matches('0'))
    }
}

pub(super) fn grams(mass: Mass) -> String {
    mass.to_grams_string()
}

fn method_word(method: Method) -> &'static str {
    match method {
        Method::Declared => "declared",
        Method::Measured => "measured",
        Method::Calculated => "calculated",
    }
}

fn use_word(use_type: UseType) -> &'static str {
    match use_type {
        UseType::Concentrated => "concentrated (in parts that can be taken out whole)",
        UseType::Dispersed => "dispersed (spread through a material)",
    }
}

/// One `<dt>`/`<dd>` pair; `value` is already HTML.
pub(super) fn row(out: &mut String, term: &str, value: &str) {
    let _ = write!(out, "<dt>{term}</dt><dd>{value}</dd>");
}

pub(super) fn status_banner(out: &mut String, v: &Verification) {
    let text = match v.status {
        DisplayStatus::Active => return,
        DisplayStatus::Revoked => "The issuer revoked this passport: it is no longer valid.",
        DisplayStatus::Suspended => {
            "The issuer suspended this passport: do not rely on it until it is reinstated."
        }
        DisplayStatus::Superseded => "A newer version of this passport replaces this one.",
    };
    let _ = write!(
        out,
        "<div class=\"banner banner-{word}\" role=\"alert\"><strong>{word}</strong> · {text}",
        word = v.status.word()
    );
    if let Some(reason) = &v.status_reason {
        let _ = write!(out, " Reason: {}", escape_html(reason));
    }
    out.push_str("</div>\n");
}

pub(super) fn badge(out: &mut String, v: &Verification) {
    let (mark, class, signature) = match &v.signature {
        SignatureCheck::Valid {
            verification_method,
        } => (
            "✓",
            "ok",
            format!(
                "Signature valid (eddsa-jcs-2022, key <code>{}</code>)",
                escape_html(verification_method.rsplit('#').next().unwrap_or(""))
            ),
        ),
        SignatureCheck::KeyWithdrawn {
            verification_method,
        } => (
            "✗",
            "bad",
            format!(
                "Signature not trusted: the signing key <code>{}</code> was withdrawn by the issuer",
                escape_html(verification_method.rsplit('#').next().unwrap_or(""))
            ),
        ),
        SignatureCheck::Invalid { reason } => (
            "✗",
            "bad",
            format!("Signature invalid: {}", escape_html(reason)),
        ),
    };
    let (status_mark, status_class) = match v.status {
        DisplayStatus::Active => ("✓", "ok"),
        DisplayStatus::Superseded | DisplayStatus::Suspended => ("!", "warn"),
        DisplayStatus::Revoked => ("✗", "bad"),
    };
    let _ = writeln!(
        out,
        "<section class=\"badge\" aria-labelledby=\"verification-h\">\
         <h2 id=\"verification-h\">Verification</h2><ul>\
         <li><span class=\"mark {class}\" aria-hidden=\"true\">{mark}</span>{signature}</li>\
         <li><span class=\"mark\" aria-hidden=\"true\">·</span>Issuer <code>{issuer}</code></li>\
         <li><span class=\"mark {status_class}\" aria-hidden=\"true\">{status_mark}</span>\
         Status: <strong class=\"{status_class}\">{status}</strong></li></ul></section>",
        issuer = escape_html(&v.issuer),
        status = v.status.word(),
    );
}

pub(super) fn identity(out: &mut String, p: &PassportView) {
    let product = &p.subject.product;
    out.push_str("<section aria-labelledby=\"product-h\"><h2 id=\"product-h\">Product</h2><dl>");
    row(out, "Name", &escape_html(&product.name));
    if let Some(model) = &product.model {
        row(out, "Model", &escape_html(model));
    }
    row(out, "Category", &escape_html(product.category.label()));
    row(out, "Passport level", p.granularity.as_str());
    if let Some(gtin) = &product.gtin {
        row(out, "GTIN", &format!("<code>{gtin}</code>"));
    }
    if let Some(serial) = &product.serial {
        row(
            out,
            "Serial number",
            &format!("<code>{}</code>", escape_html(serial.as_str())),
        );
    }
    if let Some(lot) = &product.lot {
        row(
            out,
            "Lot number",
            &format!("<code>{}</code>", escape_html(lot.as_str())),
        );
    }
    if let Some(units) = product.units {
        row(out, "Units in the batch", &units.to_string());
    }
    let manufacturer = &p.subject.manufacturer;
    let mut who = escape_html(&manufacturer.name);
    if let Some(operator) = &manufacturer.operator_id {
        let _ = write!(
            who,
            " (<code>{}</code>)",
            escape_html(&operator.to_string())
        );
    }
    row(out, "Manufacturer", &who);
    if let Some(facility) = &product.facility {
        row(
            out,
            "Made at",
            &format!(
                "{}, {}",
                escape_html(&facility.name),
                escape_html(facility.country.name())
            ),
        );
    }
    if let Some(date) = product.manufactured_on {
        row(out, "Manufactured on", &date.to_string());
    }
    if let Some(market) = &product.placed_on_market {
        let mut placed = format!(
            "{}, {} ({})",
            market.date,
            escape_html(market.country.name()),
            market.country.code()
        );
        if let Some(nuts) = &market.nuts {
            let _ = write!(placed, ", region {}", escape_html(nuts));
        }
        row(out, "Placed on the market", &placed);
    }
    row(out, "Net mass", &format!("{} g", grams(product.net_mass_g)));
    if let Some(years) = product.expected_lifetime_years {
        row(out, "Expected lifetime", &format!("{years} years"));
    }
    out.push_str("</dl></section>\n");
}

pub(super) fn ree_content(out: &mut String, p: &PassportView) {
    let ree = &p.subject.ree_content;
    let per = if p.subject.product.units.is_some() {
        "per unit"
    } else {
        "in this product"
    };
    let _ = write!(
        out,
        "<section id=\"ree-content\" aria-labelledby=\"ree-h\"><h2 id=\"ree-h\">Rare-earth content</h2>\
         <p>{} g of rare-earth elements {per}, in {} component{}.",
        grams(ree.total_mass_g),
        ree.component_count,
        if ree.component_count == 1 { "" } else { "s" },
    );
    if let Some(use_type) = ree.use_type {
        let _ = write!(out, " Use: {}.", use_word(use_type));
    }
    out.push_str("</p>");
    out.push_str(
        "<table><caption>Mass of each rare-earth element</caption><thead><tr>\
         <th scope=\"col\">Symbol</th><th scope=\"col\">Element</th>\
         <th scope=\"col\" class=\"num\">Mass (g)</th></tr></thead><tbody>",
    );
    for total in &ree.elements {
        let _ = write!(
            out,
            "<tr><td><abbr title=\"{name}\">{symbol}</abbr></td><td>{name}</td><td class=\"num\">{mass}</td></tr>",
            symbol = total.element.symbol(),
            name = total.element.name(),
            mass = grams(total.mass_g),
        );
    }
    let _ = write!(
        out,
        "</tbody><tfoot><tr><th scope=\"row\" colspan=\"2\">Total</th><td class=\"num\">{}</td></tr></tfoot></table>",
        grams(ree.total_mass_g)
    );
    if !ree.elements.is_empty() {
        out.push_str("<figure class=\"chart\">");
        out.push_str(&chart::bar_chart(&ree.elements));
        out.push_str("<figcaption>The same masses as a bar chart, in grams.</figcaption></figure>");
    }
    out.push_str("</section>\n");
}

pub(super) fn recycled(out: &mut String, p: &PassportView) {
    let ree = &p.subject.ree_content;
    out.push_str(
        "<section id=\"recycled-content\" aria-labelledby=\"recycled-h\">\
         <h2 id=\"recycled-h\">Recycled content</h2>",
    );
    if ree.recycled.is_empty() {
        out.push_str("<p>No recycled rare-earth content is declared.</p></section>\n");
        return;
    }
    out.push_str(
        "<table><caption>Recycled mass of each element</caption><thead><tr>\
         <th scope=\"col\">Element</th><th scope=\"col\" class=\"num\">Recycled (g)</th>\
         <th scope=\"col\" class=\"num\">Of the element</th></tr></thead><tbody>",
    );
    for r in &ree.recycled {
        let held = ree
            .elements
            .iter()
            .find(|t| t.element == r.element)
            .map(|t| t.mass_g.micrograms())
            .unwrap_or(0);
        let share = if held > 0 {
            // Per mille with one decimal, exact integer arithmetic.
            let tenths = (i128::from(r.mass_g.micrograms()) * 1000 + i128::from(held) / 2)
                / i128::from(held);
            format!("{}.{} %", tenths / 10, tenths % 10)
        } else {
            "–".to_owned()
        };
        let _ = write!(
            out,
            "<tr><td>{} ({})</td><td class=\"num\">{}</td><td class=\"num\">{share}</td></tr>",
            r.element.name(),
            r.element.symbol(),
            grams(r.mass_g),
        );
    }
    out.push_str("</tbody></table></section>\n");
}

pub(super) fn end_of_life(out: &mut String, p: &PassportView) {
    out.push_str(
        "<section id=\"end-of-life\" aria-labelledby=\"eol-h\">\
         <h2 id=\"eol-h\">Dismantling and end of life</h2>",
    );
    let Some(eol) = &p.subject.end_of_life else {
        out.push_str("<p>The manufacturer gives no dismantling information.</p></section>\n");
        return;
    };
    match &eol.dismantling {
        Some(text) => {
            let _ = write!(out, "<p>{}</p>", escape_html(text));
        }
        None => out.push_str("<p>No dismantling instructions are given.</p>"),
    }
    if let Some(use_type) = eol.use_type {
        let _ = write!(out, "<p>Use: {}.</p>", use_word(use_type));
    }
    out.push_str("<h3>Hazards</h3>");
    if eol.hazards.is_empty() {
        out.push_str("<p>None declared.</p>");
    } else {
        out.push_str("<ul>");
        for hazard in &eol.hazards {
            let _ = write!(out, "<li>{}</li>", escape_html(hazard));
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>\n");
}

pub(super) fn components(out: &mut String, p: &PassportView) {
    out.push_str(
        "<section id=\"components\" aria-labelledby=\"components-h\">\
         <h2 id=\"components-h\">Components</h2>",
    );
    let Some(details) = &p.component_details else {
        out.push_str(
            "<p class=\"note\" id=\"components-note\">Where each magnet sits and how to take \
             it out is shown to recyclers and authorities who present an API key.</p>\
             <div id=\"components-list\"></div></section>\n",
        );
        return;
    };
    for (i, component) in details.components.iter().enumerate() {
        component_card(out, i, component);
    }
    magnets::removal_sequence(out, &details.removal_steps);
    out.push_str("</section>\n");
}

fn component_card(out: &mut String, index: usize, c: &Component) {
    let _ = write!(
        out,
        "<div class=\"card\"><h3>{}</h3><dl>",
        escape_html(&c.name)
    );
    row(out, "Material", &escape_html(&c.material));
    row(out, "Mass", &format!("{} g", grams(c.mass_g)));
    row(
        out,
        "Where it is",
        &c.location
            .as_deref()
            .map_or_else(|| "Not stated".to_owned(), escape_html),
    );
    row(
        out,
        "How to take it out",
        &c.removal
            .as_deref()
            .map_or_else(|| "Not stated".to_owned(), escape_html),
    );
    if let Some(rc) = &c.recycled_content {
        row(
            out,
            "Recycled content",
            &format!(
                "{} pre-consumer, {} post-consumer",
                percent(rc.pre_consumer),
                percent(rc.post_consumer)
            ),
        );
    }
    out.push_str("</dl>");
    mass_table(
        out,
        &format!("Elements in component {}", index + 1),
        c.elements
            .iter()
            .map(|e| (e.element.name(), e.element.symbol(), e.mass_g, e.method)),
    );
    magnets::magnets(out, index, &c.magnets);
    out.push_str("</div>");
}

/// A table of element masses: `caption` is HTML, each row (name, symbol, mass, method).
pub(super) fn mass_table(
    out: &mut String,
    caption: &str,
    rows: impl Iterator<Item = (&'static str, &'static str, Mass, Method)>,
) {
    let _ = write!(
        out,
        "<table><caption>{caption}</caption><thead><tr>\
         <th scope=\"col\">Element</th><th scope=\"col\" class=\"num\">Mass (g)</th>\
         <th scope=\"col\">Method</th></tr></thead><tbody>"
    );
    for (name, symbol, mass, method) in rows {
        let _ = write!(
            out,
            "<tr><td>{name} ({symbol})</td><td class=\"num\">{}</td><td>{}</td></tr>",
            grams(mass),
            method_word(method)
        );
    }
    out.push_str("</tbody></table>");
}

pub(super) fn confidential(out: &mut String, p: &PassportView) {
    let Some(fields) = &p.confidential else {
        return;
    };
    out.push_str(
        "<section aria-labelledby=\"confidential-h\"><h2 id=\"confidential-h\">\
         Confidential fields</h2><p class=\"note\">Only your organisation sees these; they are \
         not part of the signed credential.</p><dl>",
    );
    for (key, value) in fields {
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        row(out, &escape_html(key), &escape_html(&text));
    }
    out.push_str("</dl></section>\n");
}

pub(super) fn documents(out: &mut String, p: &PassportView) {
    if p.subject.documents.is_empty() {
        return;
    }
    out.push_str(
        "<section aria-labelledby=\"documents-h\"><h2 id=\"documents-h\">Documents</h2><ul>",
    );
    for doc in &p.subject.documents {
        let title = escape_html(&doc.title);
        match safe_href(&doc.url) {
            Some(href) => {
                let _ = write!(
                    out,
                    "<li><a href=\"{href}\" rel=\"noopener noreferrer nofollow\">{title}</a></li>"
                );
            }
            None => {
                let _ = write!(out, "<li>{title}</li>");
            }
        }
    }
    out.push_str("</ul></section>\n");
}

pub(super) fn links(out: &mut String, l: &ProductLinks) {
    let mut items: Vec<(String, &str)> = vec![
        (
            escape_html(&l.credential),
            "Signed credential (W3C Verifiable Credential)",
        ),
        (escape_html(&l.versions), "All versions of this passport"),
        (escape_html(&l.qr_svg), "QR code (SVG)"),
        (escape_html(&l.qr_png), "QR code (PNG)"),
        (
            escape_html(&l.label_svg),
            "Magnet label, CRMA art. 28(1) (SVG)",
        ),
        (
            escape_html(&l.label_pdf),
            "Magnet label, CRMA art. 28(1) (PDF)",
        ),
        (
            escape_html(&l.linkset),
            "Every link about this product (linkset)",
        ),
        (
            escape_html(&l.did_document),
            "The issuer's keys (DID document)",
        ),
        (
            escape_html(&l.custody),
            "Custody: collection, dismantling, recycling",
        ),
    ];
    if let Some(model) = &l.model {
        items.push((escape_html(model), "The model passport"));
    }
    out.push_str(
        "<section class=\"links\" aria-labelledby=\"links-h\"><h2 id=\"links-h\">\
         Data and verification</h2><ul>",
    );
    for (href, text) in items {
        let _ = write!(out, "<li><a href=\"{href}\">{text}</a></li>");
    }
    let _ = writeln!(
        out,
        "</ul><p class=\"note\">Product identifier: <code>{}</code></p></section>",
        escape_html(&l.product)
    );
}
