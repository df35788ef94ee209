//! The permanent magnets on the page (CRMA art. 28).
//!
//! Two kinds of content, with different readers. What the v2 credential states publicly (the
//! magnet types with their counts and masses, the label's content; the responsible economic
//! operator) is shown to everyone. Each magnet's own facts and the removal sequence are in the
//! details document, so they appear only where the view carries it: for the tiers that read
//! component detail, or for everyone when the manufacturer registered `details_access: public`
//! (the view decides, as for the component cards). The script (`passport.js`) renders the same
//! detail when a key is entered.

use std::fmt::Write as _;

use reetrace_core::domain::{Country, Mass};

use super::escape_html;
use super::sections::{grams, mass_table, row, safe_href};
use crate::domain::registration::{
    Magnet, MagnetSubtype, MagnetType, RemovalStep, RemovedPart, TemperatureClass, Tool,
};
use crate::domain::view::PassportView;

/// A vocabulary code in words: `nickel_copper_nickel` reads "nickel copper nickel"; the
/// additive codes that name an element or a polymer read as a phrase.
fn words(code: &str) -> String {
    match code {
        "grain_boundary_diffusion_dy" => "grain-boundary diffusion of dysprosium".into(),
        "grain_boundary_diffusion_tb" => "grain-boundary diffusion of terbium".into(),
        "polymer_binder_epoxy" => "polymer binder: epoxy".into(),
        "polymer_binder_polyamide" => "polymer binder: polyamide".into(),
        "polymer_binder_pps" => "polymer binder: PPS".into(),
        other => other.replace('_', " "),
    }
}

fn type_word(kind: MagnetType) -> &'static str {
    match kind {
        MagnetType::Ndfeb => "NdFeB (neodymium-iron-boron)",
        MagnetType::Smco => "SmCo (samarium-cobalt)",
        MagnetType::Alnico => "AlNiCo (aluminium-nickel-cobalt)",
        MagnetType::Ferrite => "hard ferrite",
    }
}

fn subtype_word(subtype: MagnetSubtype) -> &'static str {
    match subtype {
        MagnetSubtype::Sintered => "sintered",
        MagnetSubtype::Bonded => "bonded",
        MagnetSubtype::HotDeformed => "hot-deformed",
        MagnetSubtype::SmCo1_5 => "SmCo5 (1:5)",
        MagnetSubtype::SmCo2_17 => "Sm2Co17 (2:17)",
    }
}

/// The type with its subtype, as one phrase.
fn kind_phrase(kind: MagnetType, subtype: Option<MagnetSubtype>) -> String {
    match subtype {
        Some(subtype) => format!("{}, {}", type_word(kind), subtype_word(subtype)),
        None => type_word(kind).to_owned(),
    }
}

/// `count` × `unit` as one mass (saturating: the registration rules bound it far below).
fn times(count: u32, unit: Mass) -> Mass {
    let micrograms = i128::from(count) * i128::from(unit.micrograms());
    i64::try_from(micrograms)
        .ok()
        .and_then(|m| Mass::from_micrograms(m).ok())
        .unwrap_or(Mass::MAX)
}

/// A declared list (coatings, glues, additives: each entry's code, mass per magnet and
/// description) as HTML: an absent list was not declared, a `none` entry declares the absence.
fn declared<'a>(
    entries: impl ExactSizeIterator<Item = (&'static str, Option<Mass>, &'a Option<String>)>,
) -> String {
    if entries.len() == 0 {
        return "Not declared".to_owned();
    }
    entries
        .map(|(code, mass, description)| {
            let mut text = match code {
                "none" => "none (declared absent)".to_owned(),
                code => words(code),
            };
            if let Some(description) = description {
                let _ = write!(text, ": {}", escape_html(description));
            }
            if let Some(mass) = mass {
                let _ = write!(text, " ({} g per magnet)", grams(mass));
            }
            text
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The magnets of component `index` (0-based): each set with its facts and the composition of
/// one magnet.
pub(super) fn magnets(out: &mut String, index: usize, magnets: &[Magnet]) {
    for m in magnets {
        let reference = escape_html(&m.reference);
        let _ = write!(
            out,
            "<div class=\"magnet\"><h4>{} <code>{reference}</code>: {} × {} g = {} g</h4><dl>",
            if m.count == 1 { "Magnet" } else { "Magnet set" },
            m.count,
            grams(m.unit_mass_g),
            grams(times(m.count, m.unit_mass_g)),
        );
        row(out, "Type", &kind_phrase(m.magnet_type, m.subtype));
        if let Some(grade) = &m.grade {
            row(out, "Grade", &escape_html(grade));
        }
        if let Some(class) = m.temperature_class {
            let class = match class {
                TemperatureClass::None => "none (a plain grade)",
                other => other.as_str(),
            };
            row(out, "Temperature class", class);
        }
        row(
            out,
            "Where it sits",
            &m.position
                .as_deref()
                .map_or_else(|| "Not stated".to_owned(), escape_html),
        );
        let declarations = [
            (
                "Coatings",
                declared(
                    m.coatings
                        .iter()
                        .map(|c| (c.kind.as_str(), c.mass_g, &c.description)),
                ),
            ),
            (
                "Glues",
                declared(
                    m.glues
                        .iter()
                        .map(|g| (g.kind.as_str(), g.mass_g, &g.description)),
                ),
            ),
            (
                "Additives",
                declared(
                    m.additives
                        .iter()
                        .map(|a| (a.kind.as_str(), a.mass_g, &a.description)),
                ),
            ),
        ];
        for (term, value) in declarations {
            row(out, term, &value);
        }
        row(
            out,
            "Magnetised at end of life",
            m.magnetised_at_end_of_life.as_str(),
        );
        out.push_str("</dl>");
        mass_table(
            out,
            &format!(
                "Composition of one magnet of <code>{reference}</code> (component {})",
                index + 1
            ),
            m.composition
                .iter()
                .map(|e| (e.element.name(), e.element.symbol(), e.mass_g, e.method)),
        );
        out.push_str("</div>");
    }
}

/// A duration in seconds, in the largest units that fit: `45 s`, `3 min`, `1 h 5 min`.
pub(super) fn duration(seconds: u32) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    let parts = [(h, "h"), (m, "min"), (s, "s")];
    let text: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n} {unit}"))
        .collect();
    if text.is_empty() {
        "0 s".to_owned()
    } else {
        text.join(" ")
    }
}

fn removed(part: &RemovedPart) -> String {
    let mut text = match part.count {
        Some(count) => format!("{count} × {}", words(part.part.as_str())),
        None => words(part.part.as_str()),
    };
    if let Some(description) = &part.description {
        let _ = write!(text, " ({description})");
    }
    escape_html(&text)
}

fn tool(tool: &Tool) -> String {
    let mut text = words(tool.tool.as_str());
    let fit: Vec<String> = tool
        .drive
        .map(|d| words(d.as_str()))
        .into_iter()
        .chain(tool.size.clone())
        .collect();
    if !fit.is_empty() {
        let _ = write!(text, ", {}", fit.join(" "));
    }
    if let Some(detail) = &tool.detail {
        let _ = write!(text, " ({detail})");
    }
    escape_html(&text)
}

/// The removal sequence (art. 28(4)), in the order registered.
pub(super) fn removal_sequence(out: &mut String, steps: &[RemovalStep]) {
    if steps.is_empty() {
        return;
    }
    out.push_str(
        "<h3 id=\"removal-h\">Removal sequence</h3>\
         <ol class=\"steps\" aria-labelledby=\"removal-h\">",
    );
    for step in steps {
        let mut action = words(step.action.as_str());
        if let Some(first) = action.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        let _ = write!(out, "<li><p><strong>{action}</strong>");
        if let Some(detail) = &step.detail {
            let _ = write!(out, ": {}", escape_html(detail));
        }
        out.push_str("</p><dl>");
        if !step.removes.is_empty() {
            let parts: Vec<String> = step.removes.iter().map(removed).collect();
            row(out, "Removes", &parts.join("; "));
        }
        if !step.tools.is_empty() {
            let tools: Vec<String> = step.tools.iter().map(tool).collect();
            row(out, "Tools", &tools.join("; "));
        }
        if let Some(seconds) = step.estimated_seconds {
            row(out, "Estimated time", &duration(seconds));
        }
        if !step.releases.is_empty() {
            let frees: Vec<String> = step
                .releases
                .iter()
                .map(|r| format!("<code>{}</code>", escape_html(r)))
                .collect();
            row(out, "Frees the magnets", &frees.join(", "));
        }
        if let Some(safety) = &step.safety {
            row(out, "Safety", &escape_html(safety));
        }
        out.push_str("</dl></li>");
    }
    out.push_str("</ol>");
}

/// The magnets by type as the signed v2 credential states them (`ree:permanentMagnets`, the
/// label's content): public.
pub(super) fn summary(out: &mut String, p: &PassportView) {
    let Some(magnets) = p
        .passport
        .as_ref()
        .map(|passport| &passport.permanent_magnets)
        .filter(|m| !m.is_empty())
    else {
        return;
    };
    out.push_str(
        "<section id=\"magnets\" aria-labelledby=\"magnets-h\"><h2 id=\"magnets-h\">\
         Permanent magnets</h2><table><caption>Permanent magnets by type, in one unit</caption>\
         <thead><tr><th scope=\"col\">Type</th><th scope=\"col\" class=\"num\">Magnets</th>\
         <th scope=\"col\" class=\"num\">Mass (g)</th></tr></thead><tbody>",
    );
    for m in magnets {
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            kind_phrase(m.magnet_type, m.magnet_subtype),
            m.count,
            grams(m.mass_g)
        );
    }
    out.push_str("</tbody></table></section>\n");
}

/// The responsible economic operator (art. 28(3)): public in the v2 credential.
pub(super) fn responsible_person(out: &mut String, p: &PassportView) {
    let Some(person) = p
        .passport
        .as_ref()
        .and_then(|passport| passport.responsible_person.as_ref())
    else {
        return;
    };
    out.push_str(
        "<section id=\"responsible\" aria-labelledby=\"responsible-h\"><h2 id=\"responsible-h\">\
         Responsible economic operator</h2><dl>",
    );
    row(out, "Name", &escape_html(&person.name));
    let a = &person.address;
    let mut lines = vec![
        escape_html(&a.street_address),
        format!(
            "{} {}",
            escape_html(&a.postal_code),
            escape_html(&a.address_locality)
        ),
    ];
    lines.extend(a.address_region.as_deref().map(escape_html));
    lines.push(
        a.address_country
            .parse::<Country>()
            .map_or_else(|_| escape_html(&a.address_country), |c| c.name().to_owned()),
    );
    row(
        out,
        "Postal address",
        &format!("<address>{}</address>", lines.join("<br>")),
    );
    if let Some(email) = &person.email {
        let email = escape_html(email);
        row(
            out,
            "Email",
            &format!("<a href=\"mailto:{email}\">{email}</a>"),
        );
    }
    if let Some(phone) = &person.telephone {
        row(out, "Telephone", &escape_html(phone));
    }
    if let Some(url) = &person.url {
        let text = escape_html(url);
        let value = match safe_href(url) {
            Some(href) => {
                format!("<a href=\"{href}\" rel=\"noopener noreferrer nofollow\">{text}</a>")
            }
            None => text,
        };
        row(out, "Contact page", &value);
    }
    out.push_str("</dl></section>\n");
}
