//! The CRMA conformity of the product on its page: each rule of art. 28 and 29 that the
//! conformity check answers (`GET /api/v1/passports/{id}/conformity`), in words, with what is
//! missing. The rules on the details document are left out for a tier that may not read it, and
//! the page says so.

use std::fmt::Write as _;

use super::escape_html;
use crate::domain::crma::{ConformityStatus, CrmaRule};
use crate::service::conformity::PassportConformity;

/// A rule in words.
fn rule_words(rule: CrmaRule) -> &'static str {
    match rule {
        CrmaRule::Label => "label: permanent magnets and their types",
        CrmaRule::ResponsiblePerson => "responsible person's name and addresses",
        CrmaRule::MagnetDetail => "weight, location and composition of each magnet",
        CrmaRule::RemovalSequence => "removal steps and tools",
        CrmaRule::RecycledContent => "recycled content of the magnets published",
    }
}

/// Renders the section (nothing for a passport the check has no rule for).
pub(super) fn conformity(out: &mut String, c: &PassportConformity) {
    let check = &c.conformity;
    if check.rules.is_empty() && c.withheld.is_empty() {
        return;
    }
    let group = check.scope.product_group.map_or_else(
        || "no CRMA product group".to_owned(),
        |g| g.as_str().replace('_', " "),
    );
    let _ = write!(
        out,
        "<section aria-labelledby=\"crma-h\"><h2 id=\"crma-h\">CRMA conformity</h2>\n\
         <p>Regulation (EU) 2024/1252, art. 28 and 29: {}, checked on {}.</p>\n<ul class=\"rules\">\n",
        escape_html(&group),
        check.evaluated_on
    );
    for rule in &check.rules {
        // The class names the status; the words add the date when there is one.
        let (class, status) = match (rule.status, rule.applies_from) {
            (ConformityStatus::Met, _) => ("met", "met".to_owned()),
            (ConformityStatus::Missing, _) => ("missing", "missing".to_owned()),
            (ConformityStatus::NotApplicable, _) => ("not-applicable", "not applicable".to_owned()),
            (ConformityStatus::NotYetApplicable, from) => (
                "not-yet-applicable",
                from.map_or_else(
                    || "not yet applicable".to_owned(),
                    |d| format!("applies from {d}"),
                ),
            ),
        };
        let _ = write!(
            out,
            "<li><strong>Art. {} ({})</strong>: <span class=\"conformity-{class}\">{}</span>. {}",
            rule.rule.code(),
            rule_words(rule.rule),
            escape_html(&status),
            escape_html(&rule.reason)
        );
        if !rule.missing.is_empty() {
            out.push_str("<ul>");
            for gap in &rule.missing {
                let _ = write!(
                    out,
                    "<li>{} (<code>{}</code>)</li>",
                    escape_html(&gap.detail),
                    escape_html(&gap.pointer)
                );
            }
            out.push_str("</ul>");
        }
        out.push_str("</li>\n");
    }
    out.push_str("</ul>\n");
    if !c.withheld.is_empty() {
        let codes: Vec<&str> = c.withheld.iter().map(|r| r.code()).collect();
        let _ = writeln!(
            out,
            "<p>Art. {} are checked on the magnets' details, which this manufacturer shows to \
             recyclers, repairers and authorities: enter a key to see them.</p>",
            codes.join(" and ")
        );
    }
    out.push_str("</section>\n");
}
