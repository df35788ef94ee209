//! The page renderer: escaping, numbers, the chart, and what each tier sees.

use chrono::{TimeZone, Utc};
use reetrace_core::domain::Share;
use serde_json::json;
use uuid::Uuid;

use super::chart::{bar_chart, nice_step, ticks};
use super::sections::{percent, safe_href};
use super::*;
use crate::domain::passport::PassportStatus;
use crate::domain::registration::Registration;
use crate::domain::subject::{self, Manufacturer, SubjectContext};
use crate::domain::view::PassportLinks;

fn view_of(registration: serde_json::Value, tier: Tier) -> PassportView {
    let registration: Registration = serde_json::from_value(registration).unwrap();
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
        format: crate::domain::passport::CredentialFormat::V1,
        passport: None,
        placement: None,
        component_details: tier.sees_components().then_some(details),
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
    assert!(html.contains("Shown at the <strong>public</strong> access tier"));
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
