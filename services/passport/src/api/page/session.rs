//! The parts of the page a browser fills in with the reader's API key: the key form, and the
//! sections only some tiers may read (component detail, the custody timeline).
//!
//! A page opened from a QR code carries no credentials, so the server renders the public tier;
//! the embedded script ([`super::SCRIPT`]) asks for a key once, keeps it in the tab's
//! `sessionStorage` and reads the JSON API with it, so the API's own tier rules decide what
//! appears. Without script, the sections say how to get the detail instead.

use std::fmt::Write as _;

use super::escape_html;
use crate::domain::view::PassportView;

/// The key form and where the script reports who the key belongs to.
pub(super) fn access(out: &mut String, p: &PassportView) {
    let _ = writeln!(
        out,
        "<section id=\"access\" aria-labelledby=\"access-h\"><h2 id=\"access-h\">Your access</h2>\
         <p>This page shows the <strong id=\"access-tier\">{tier}</strong> tier. Recyclers, \
         regulators and the manufacturer see more with their API key.</p>\
         <form id=\"key-form\" class=\"key-form\" hidden>\
         <label for=\"api-key\">API key</label>\
         <input id=\"api-key\" name=\"api-key\" type=\"password\" autocomplete=\"off\" \
         spellcheck=\"false\" required>\
         <button type=\"submit\">Use key</button></form>\
         <p id=\"key-status\" role=\"status\" aria-live=\"polite\"></p>\
         <p><button type=\"button\" id=\"key-forget\" hidden>Forget the key</button></p>\
         <noscript><p class=\"note\">With JavaScript off, send your key in an \
         <code>Authorization: Bearer</code> header to read the detail of your tier.</p></noscript>\
         </section>",
        tier = super::tier_word(p.tier),
    );
}

/// The custody timeline: filled in by the script for keys that may read custody.
pub(super) fn custody(out: &mut String, p: &PassportView) {
    let _ = writeln!(
        out,
        "<section id=\"custody\" aria-labelledby=\"custody-h\" data-passport-id=\"{id}\">\
         <h2 id=\"custody-h\">Custody timeline</h2>\
         <p id=\"custody-status\" class=\"note\">Collection, sorting, dismantling and recycling \
         of this product are shown to recyclers, regulators and administrators: enter an API \
         key above.</p>\
         <dl id=\"custody-state\" hidden></dl>\
         <ol id=\"custody-timeline\" class=\"timeline\" hidden></ol></section>",
        id = escape_html(&p.id.to_string()),
    );
}
