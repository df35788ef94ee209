//! The page renderer: escaping, numbers, the chart, and what each tier sees.

use chrono::{TimeZone, Utc};
use reetrace_core::domain::Share;
use serde_json::json;
use uuid::Uuid;

use super::chart::{bar_chart, nice_step, ticks};
use super::sections::{percent, safe_href};
use super::*;
use crate::domain::passport::PassportStatus;
use crate::domain::registration::{DetailsAccess, Registration};
use crate::domain::subject::{self, Manufacturer, SubjectContext};
use crate::domain::untp;
use crate::domain::view::PassportLinks;

/// `registration` issued as a v2 passport, as a caller of `tier` sees it: the details document
/// only for the tiers that read component detail, or for everyone when it was registered
/// public.
fn view_of(registration: serde_json::Value, tier: Tier) -> PassportView {
    let mut registration: Registration = serde_json::from_value(registration).unwrap();
    registration.derive_from_magnets();
    let org_id = Uuid::now_v7();
    let (subject, details, _) = subject::build(
        &registration,
        SubjectContext {
            subject_id: "https://p.example/01/04012345000016/21/EVM-1".into(),
            passport_id: Uuid::now_v7(),
            version: 1,
            manufacturer: Manufacturer {
                id: format!("did:web:p.example:orgs:{org_id}"),
                org_id,
                name: "Acme <Motors> & Sons".into(),
                operator_id: None,
            },
            model_passport_uri: None,
            previous_version: None,
        },
    );
    let issuer = untp::Issuer {
        id: subject.manufacturer.id.clone(),
        org_id,
        name: subject.manufacturer.name.clone(),
        operator_id: None,
    };
    let passport = untp::subject(
        &registration,
        untp::PassportContext {
            base_url: "https://p.example",
            subject_id: subject.id.clone(),
            passport_id: subject.passport_id,
            version: 1,
            issuer: &issuer,
            model_passport_uri: None,
            previous_version: None,
            component_count: subject.ree_content.component_count,
            details_digest: subject.ree_content.components_digest.clone(),
        },
    );
    let sees_details =
        tier.sees_components() || registration.details_access() == DetailsAccess::Public;
    let at = Utc.with_ymd_and_hms(2026, 4, 15, 10, 0, 0).unwrap();
    PassportView {
        id: subject.passport_id,
        uri: subject.id.clone(),
        version: 1,
        status: PassportStatus::Active,
        status_reason: None,
        granularity: registration.granularity,
        tier,
        org_id,
        issuer: subject.manufacturer.id.clone(),
        created_at: at,
        updated_at: at,
        format: crate::domain::passport::CredentialFormat::V2,
        passport: Some(passport),
        placement: None,
        component_details: sees_details.then_some(details),
        confidential: None,
        links: PassportLinks {
            credential: "c".into(),
            versions: "v".into(),
            qr_svg: "q".into(),
            did_document: "d".into(),
        },
        subject,
    }
}

fn links() -> ProductLinks {
    let p = "https://p.example/01/04012345000016/21/EVM-1";
    ProductLinks {
        product: p.into(),
        page: format!("{p}?linkType=gs1:pip"),
        credential: "https://p.example/api/v1/passports/x/credential".into(),
        versions: "https://p.example/api/v1/passports/x/versions".into(),
        qr_svg: "https://p.example/api/v1/passports/x/qr.svg".into(),
        qr_png: "https://p.example/api/v1/passports/x/qr.png".into(),
        label_svg: "https://p.example/api/v1/passports/x/label.svg".into(),
        label_pdf: "https://p.example/api/v1/passports/x/label.pdf".into(),
        linkset: format!("{p}?linkType=linkset"),
        did_document: "https://p.example/orgs/o/did.json".into(),
        custody: "https://p.example/api/v1/custody/x".into(),
        model: None,
    }
}

fn verified(status: DisplayStatus) -> Verification {
    Verification {
        signature: SignatureCheck::Valid {
            verification_method: "did:web:p.example:orgs:o#z6MkKey".into(),
        },
        issuer: "did:web:p.example:orgs:o".into(),
        status,
        status_reason: None,
    }
}

fn render_with(passport: &PassportView, verification: &Verification) -> String {
    render(&PageView {
        passport,
        verification,
        links: &links(),
        free_access: None,
        conformity: None,
    })
}

#[test]
fn escaping_neutralises_hostile_text() {
    assert_eq!(
        escape_html("<script>alert('x')</script>"),
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
    );
    assert_eq!(
        escape_html("\" onmouseover=\"alert(1)"),
        "&quot; onmouseover=&quot;alert(1)"
    );
    assert_eq!(escape_html("a & b &amp; c"), "a &amp; b &amp;amp; c");
    assert_eq!(
        escape_html("<img src=x onerror=alert(1)>"),
        "&lt;img src=x onerror=alert(1)&gt;"
    );
    assert_eq!(
        escape_html("Nd–Pr 5 µg ✓"),
        "Nd–Pr 5 µg ✓",
        "other text is kept"
    );
    for hostile in [
        "</title><script>",
        "'><svg onload=x>",
        "]]><!--",
        "</style>",
    ] {
        let escaped = escape_html(hostile);
        assert!(
            !escaped.contains(['<', '>', '"', '\'']),
            "{hostile} -> {escaped}"
        );
    }
}

#[test]
fn only_http_links_are_rendered_as_links() {
    assert_eq!(
        safe_href("https://a.example/x?a=1&b=2").as_deref(),
        Some("https://a.example/x?a=1&amp;b=2")
    );
    assert_eq!(safe_href("javascript:alert(1)"), None);
    assert_eq!(safe_href(" JaVaScRiPt:alert(1)"), None);
    assert_eq!(safe_href("data:text/html,<b>"), None);
}

#[test]
fn shares_are_shown_as_exact_percentages() {
    assert_eq!(percent(Share::from_decimal_str("0.05").unwrap()), "5 %");
    assert_eq!(percent(Share::from_decimal_str("0.125").unwrap()), "12.5 %");
    assert_eq!(
        percent(Share::from_decimal_str("0.000001").unwrap()),
        "0.0001 %"
    );
    assert_eq!(percent(Share::ZERO), "0 %");
    assert_eq!(percent(Share::ONE), "100 %");
}

#[test]
fn axis_ticks_are_round_and_cover_the_data() {
    assert_eq!(nice_step(337.5), 100.0);
    assert_eq!(nice_step(40.0), 10.0);
    assert_eq!(nice_step(0.9), 0.5);
    let (values, decimals) = ticks(337.5);
    assert_eq!(values, [0.0, 100.0, 200.0, 300.0, 400.0]);
    assert_eq!(decimals, 0);
    let (values, decimals) = ticks(0.012);
    assert_eq!(decimals, 3);
    assert!(*values.last().unwrap() >= 0.012);
    assert_eq!(
        ticks(400.0).0.last().copied(),
        Some(400.0),
        "no empty extra tick"
    );
    assert_eq!(
        ticks(0.0).0,
        [0.0, 0.5, 1.0],
        "an empty chart still has an axis"
    );
}

#[test]
fn the_chart_draws_a_bar_per_element_with_labels_and_units() {
    let view = view_of(crate::domain::tests::motor(), Tier::Public);
    let svg = bar_chart(&view.subject.ree_content.elements);
    assert_eq!(svg.matches("class=\"bar\"").count(), 4);
    assert!(svg.contains("Mass (g)"), "axis title with unit");
    assert!(svg.contains(">337.5 g</text>"));
    assert!(svg.contains("<title id=\"chart-title\">"));
    assert!(
        svg.contains("Neodymium 337.5 g, "),
        "text alternative lists the values"
    );
    // The longest bar (Nd) spans the axis up to its value: 337.5 of 400 g, of 200 units.
    assert!(svg.contains("width=\"168.8\""), "{svg}");
    assert!(svg.contains(">400</text>"));
}

#[test]
fn the_public_page_shows_identity_content_and_links_but_no_component_detail() {
    let view = view_of(crate::domain::tests::motor(), Tier::Public);
    let html = render_with(&view, &verified(DisplayStatus::Active));
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(
        html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
    );
    assert!(html.contains("<h1>Traction motor PMSM 150 kW</h1>"));
    assert!(html.contains("Electric vehicle traction motor · model PM150"));
    assert!(html.contains("<code>04012345000016</code>"));
    assert!(html.contains("<code>EVM-2026-000001</code>"));
    assert!(html.contains("2026-04-15, France (FR)"));
    assert!(html.contains("Acme &lt;Motors&gt; &amp; Sons"));
    assert!(html.contains("<td>Neodymium</td><td class=\"num\">337.5</td>"));
    assert!(html.contains("<td class=\"num\">510</td>"), "the total");
    assert!(html.contains("heat to 350 C"));
    assert!(html.contains("Signature valid"));
    assert!(html.contains("<strong class=\"ok\">active</strong>"));
    assert!(!html.contains("role=\"alert\""), "no banner when active");
    assert!(
        !html.contains("48 segments"),
        "component detail is not public"
    );
    assert!(html.contains("shown to recyclers and authorities"));
    assert!(html.contains("href=\"https://p.example/api/v1/passports/x/credential\""));
    assert!(html.contains("href=\"https://p.example/api/v1/passports/x/qr.svg\""));
    assert!(html.contains("href=\"https://p.example/api/v1/passports/x/label.pdf\">Magnet label, CRMA art. 28(1) (PDF)</a>"));
    assert!(html.contains("href=\"https://p.example/api/v1/passports/x/versions\""));
    assert!(html.contains("Recycled mass of each element"));
    // 5 % post-consumer of 337.5 g Nd.
    assert!(html.contains(
        "<td>Neodymium (Nd)</td><td class=\"num\">16.875</td><td class=\"num\">5.0 %</td>"
    ));
    assert!(!html.contains("src=\"http"), "no external resources");
    assert_eq!(
        html.matches("<script").count(),
        1,
        "one script, the page's own"
    );
    assert!(html.contains("<script src=\"/assets/passport.js\" defer></script>"));
    assert!(html.contains("<form id=\"key-form\" class=\"key-form\" hidden>"));
    assert!(html.contains("id=\"components-note\""));
    assert!(html.contains("Shown at the <strong id=\"footer-tier\">public</strong> access tier"));
}

#[test]
fn professionals_see_where_each_magnet_is_and_how_to_take_it_out() {
    let mut registration = crate::domain::tests::motor();
    registration["ree_content"]["components"][0]["removal"] =
        json!("unbolt the end shield, press the rotor out");
    let view = view_of(registration, Tier::Professional);
    let html = render_with(&view, &verified(DisplayStatus::Active));
    assert!(html.contains("<dt>Where it is</dt><dd>rotor, 48 segments in V-slots</dd>"));
    assert!(html.contains(
        "<dt>How to take it out</dt><dd>unbolt the end shield, press the rotor out</dd>"
    ));
    assert!(html.contains("0 % pre-consumer, 5 % post-consumer"));
    assert!(html.contains("professional (recycler)"));
}

#[test]
fn a_revoked_passport_says_so_prominently() {
    let view = view_of(crate::domain::tests::motor(), Tier::Public);
    let mut verification = verified(DisplayStatus::Revoked);
    verification.status_reason = Some("recalled <b>now</b>".into());
    let html = render_with(&view, &verification);
    let banner = html.find("role=\"alert\"").expect("a banner");
    assert!(
        banner < html.find("<h1>").unwrap(),
        "above the product name"
    );
    assert!(html.contains("<strong>revoked</strong>"));
    assert!(html.contains("Reason: recalled &lt;b&gt;now&lt;/b&gt;"));
    let bad = Verification {
        signature: SignatureCheck::Invalid {
            reason: "signature <mismatch>".into(),
        },
        ..verified(DisplayStatus::Suspended)
    };
    let html = render_with(&view, &bad);
    assert!(html.contains("Signature invalid: signature &lt;mismatch&gt;"));
    assert!(html.contains("banner-suspended"));
}

#[test]
fn hostile_passport_text_is_escaped_everywhere() {
    let mut registration = crate::domain::tests::motor();
    registration["product"]["name"] = json!("<script>alert(1)</script>");
    registration["product"]["model"] = json!("\"><img src=x onerror=alert(2)>");
    registration["ree_content"]["components"][0]["location"] = json!("</td><script>x</script>");
    registration["end_of_life"]["hazards"] = json!(["<iframe src=//evil>"]);
    registration["documents"] = json!([
        {"title": "<b>manual</b>", "url": "javascript:alert(3)"},
        {"title": "ok", "url": "https://docs.example/a?x=1&y=\"2\""}
    ]);
    let view = view_of(registration, Tier::Owner);
    let html = render_with(&view, &verified(DisplayStatus::Active));
    assert!(!html.contains("<script>"), "{html}");
    assert!(!html.contains("<img"));
    assert!(!html.contains("<iframe"));
    assert!(!html.contains("javascript:"));
    assert!(
        html.contains("<title>&lt;script&gt;alert(1)&lt;/script&gt; · Product passport</title>")
    );
    assert!(html.contains("<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>"));
    assert!(
        html.contains("<li>&lt;b&gt;manual&lt;/b&gt;</li>"),
        "no link for javascript:"
    );
    assert!(html.contains("href=\"https://docs.example/a?x=1&amp;y=&quot;2&quot;\""));
}

#[test]
fn the_policy_pins_the_embedded_style_sheet() {
    let policy = content_security_policy();
    assert!(policy.starts_with("default-src 'none'; style-src 'sha256-"));
    assert!(!policy.contains("unsafe-inline"));
    assert!(!policy.contains("unsafe-eval"));
    assert!(
        policy.contains("; script-src 'self';"),
        "the page's own script only"
    );
    assert!(
        policy.contains("; connect-src 'self';"),
        "the API of this origin only"
    );
}

#[test]
fn the_custody_timeline_names_the_passport_for_the_script() {
    let view = view_of(crate::domain::tests::motor(), Tier::Public);
    let html = render_with(&view, &verified(DisplayStatus::Active));
    let section = format!(
        "<section id=\"custody\" aria-labelledby=\"custody-h\" data-passport-id=\"{}\">",
        view.id
    );
    assert!(html.contains(&section), "{html}");
    assert!(html.contains("<ol id=\"custody-timeline\" class=\"timeline\" hidden></ol>"));
    assert!(html.contains("shown to recyclers, regulators and administrators"));
    assert!(html.contains("<strong id=\"access-tier\">public</strong>"));
    // The sections a key fills in come after what everyone sees and before the links.
    let order = [
        "id=\"ree-content\"",
        "id=\"access\"",
        "id=\"components\"",
        "id=\"custody\"",
        "class=\"links\"",
    ];
    let positions: Vec<usize> = order.iter().map(|s| html.find(s).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
}

/// The motor of docs/credential.md section 5: two NdFeB sets, five removal steps.
fn magnet_motor() -> serde_json::Value {
    crate::domain::tests::magnets::magnet_motor()
}

#[test]
fn professionals_see_each_magnet_and_the_removal_sequence() {
    let view = view_of(magnet_motor(), Tier::Professional);
    let html = render_with(&view, &verified(DisplayStatus::Active));
    for expected in [
        "<h4>Magnet set <code>outer</code>: 8 × 120 g = 960 g</h4>",
        "<h4>Magnet set <code>inner</code>: 16 × 45 g = 720 g</h4>",
        "<dt>Type</dt><dd>NdFeB (neodymium-iron-boron), sintered</dd>",
        "<dt>Grade</dt><dd>N42SH</dd><dt>Temperature class</dt><dd>SH</dd>",
        "<dt>Where it sits</dt><dd>outer layer, one per pole</dd>",
        "<dt>Coatings</dt><dd>nickel copper nickel (0.5 g per magnet)</dd>",
        "<dt>Glues</dt><dd>epoxy</dd>",
        "<dt>Additives</dt><dd>grain-boundary diffusion of terbium</dd>",
        "<dt>Additives</dt><dd>none (declared absent)</dd>",
        "<dt>Magnetised at end of life</dt><dd>magnetised</dd>",
        "<caption>Composition of one magnet of <code>outer</code> (component 1)</caption>",
        "<tr><td>Terbium (Tb)</td><td class=\"num\">0.6</td><td>measured</td></tr>",
        "<tr><td>Iron (Fe)</td><td class=\"num\">77.6</td><td>declared</td></tr>",
        // The component's rare earths, derived from the two sets: 8 × 26.4 + 16 × 10.575 g.
        "<tr><td>Neodymium (Nd)</td><td class=\"num\">380.4</td><td>declared</td></tr>",
        "<ol class=\"steps\" aria-labelledby=\"removal-h\">",
        "<dt>Removes</dt><dd>6 × fastener (rear end shield screws)</dd>",
        "<dt>Tools</dt><dd>screwdriver, torx T30</dd><dt>Estimated time</dt><dd>3 min</dd>",
        "<dt>Tools</dt><dd>bearing puller; lifting gear</dd>",
        "<strong>Heat</strong>: Heat the rotor to 350 °C to soften the epoxy.",
        "<dt>Tools</dt><dd>press (hydraulic, 20 kN)</dd><dt>Estimated time</dt><dd>15 min</dd>",
        "<dt>Frees the magnets</dt><dd><code>outer</code>, <code>inner</code></dd>",
        "<dt>Safety</dt><dd>Hot parts and epoxy fumes: use extraction.</dd>",
    ] {
        assert!(html.contains(expected), "{expected}\n{html}");
    }
    // The steps in the order registered, inside the component section.
    let steps = html.find("class=\"steps\"").unwrap();
    let order: Vec<usize> = [
        "<strong>Unscrew</strong>",
        "<strong>Cut</strong>",
        "<strong>Pull out</strong>",
        "<strong>Heat</strong>",
        "<strong>Press out</strong>",
    ]
    .iter()
    .map(|s| html[steps..].find(s).unwrap())
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    assert!(html.find("id=\"components\"").unwrap() < steps);
    assert!(steps < html.find("id=\"custody\"").unwrap());
}

#[test]
fn the_public_sees_the_magnet_label_and_the_responsible_person_but_no_magnet_detail() {
    let view = view_of(magnet_motor(), Tier::Public);
    let html = render_with(&view, &verified(DisplayStatus::Active));
    // The label's content and the responsible person are public in the credential.
    assert!(html.contains(
        "<tr><th scope=\"row\">NdFeB (neodymium-iron-boron), sintered</th>\
         <td class=\"num\">24</td><td class=\"num\">1680</td></tr>"
    ));
    assert!(html.contains("<dt>Name</dt><dd>Elektromotoren Rhein GmbH</dd>"));
    assert!(
        html.contains("<address>Industriestraße 12<br>55411 Bingen am Rhein<br>Germany</address>")
    );
    assert!(html.contains("<a href=\"mailto:crma@emr.example\">crma@emr.example</a>"));
    assert!(html.contains("href=\"https://emr.example/contact\""));
    // Each magnet and the removal sequence are in the restricted details document.
    for detail in [
        "N42SH",
        "outer layer",
        "Composition of one magnet",
        "nickel copper nickel",
        "Removal sequence",
        "class=\"steps\"",
        "rear end shield screws",
        "guided extraction rig",
        "<h4>",
    ] {
        assert!(!html.contains(detail), "{detail} is not public");
    }
    assert!(html.contains("<div id=\"components-list\"></div>"));

    // Unless the manufacturer made the details public.
    let mut open = magnet_motor();
    open["details_access"] = json!("public");
    let html = render_with(
        &view_of(open, Tier::Public),
        &verified(DisplayStatus::Active),
    );
    assert!(html.contains("<dt>Grade</dt><dd>N42SH</dd>"));
    assert!(html.contains("<h3 id=\"removal-h\">Removal sequence</h3>"));
}

#[test]
fn hostile_magnet_and_removal_text_is_escaped() {
    let mut registration = magnet_motor();
    let magnet = &mut registration["ree_content"]["components"][0]["magnets"][0];
    magnet["position"] = json!("</dd><script>x</script>");
    magnet["coatings"] = json!([{"type": "other", "description": "<img src=x onerror=y>"}]);
    let step = &mut registration["end_of_life"]["removal_steps"][0];
    step["safety"] = json!("<iframe src=//evil>");
    step["tools"][0]["size"] = json!("<b>T30</b>");
    registration["responsible_person"]["name"] = json!("<svg onload=z>");
    registration["responsible_person"]["url"] = json!("javascript:alert(1)");
    registration["responsible_person"]["email"] = json!("\"><script>a@b.example");
    let view = view_of(registration, Tier::Authority);
    let html = render_with(&view, &verified(DisplayStatus::Active));
    for raw in [
        "<script>",
        "<img",
        "<iframe",
        "<b>T30",
        "<svg onload",
        "href=\"javascript:",
    ] {
        assert!(!html.contains(raw), "{raw}");
    }
    assert!(html.contains("&lt;/dd&gt;&lt;script&gt;x&lt;/script&gt;"));
    assert!(html.contains("other: &lt;img src=x onerror=y&gt;"));
    assert!(html.contains("href=\"mailto:&quot;&gt;&lt;script&gt;a@b.example\""));
}

#[test]
fn durations_read_in_the_largest_units() {
    use super::magnets::duration;
    assert_eq!(duration(45), "45 s");
    assert_eq!(duration(180), "3 min");
    assert_eq!(duration(150), "2 min 30 s");
    assert_eq!(duration(3900), "1 h 5 min");
    assert_eq!(duration(604_800), "168 h");
}
