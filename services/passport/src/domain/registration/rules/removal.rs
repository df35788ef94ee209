//! The rules of the removal steps (tools that fit, magnets that exist) and of the responsible
//! person (a postal address and an electronic contact).

use std::collections::BTreeMap;
use std::fmt;

use super::super::{
    Drive, PartKind, PostalAddress, RemovalAction, RemovalStep, RemovedPart, ResponsiblePerson,
    Tool, ToolKind,
};
use super::Violations;

const MAX_STEPS: usize = 50;
const MAX_TOOLS: usize = 10;
const MAX_REMOVED: usize = 20;
const MAX_SECONDS: u32 = 604_800;
const MAX_PART_COUNT: u32 = 10_000;
/// As many as a registration may hold magnet entries.
const MAX_RELEASES: usize = 1_000;

/// Checks the removal sequence; `refs` are the registration's magnets by `ref`.
pub(super) fn check_steps(
    v: &mut Violations,
    steps: &[RemovalStep],
    refs: &BTreeMap<String, String>,
) {
    let at = "/end_of_life/removal_steps";
    if steps.len() > MAX_STEPS {
        v.add(at, format!("at most {MAX_STEPS} removal steps"));
    }
    for (s, step) in steps.iter().enumerate() {
        let sat = format!("{at}/{s}");
        match &step.detail {
            None if step.action == RemovalAction::Other => {
                v.add(format!("{sat}/detail"), "describe the other action");
            }
            detail => v.opt_text(format_args!("{sat}/detail"), detail.as_deref(), 1000),
        }
        v.opt_text(format_args!("{sat}/safety"), step.safety.as_deref(), 1000);
        if let Some(seconds) = step.estimated_seconds
            && !(1..=MAX_SECONDS).contains(&seconds)
        {
            v.add(
                format!("{sat}/estimated_seconds"),
                format!("must be 1 to {MAX_SECONDS} (a week)"),
            );
        }
        if step.removes.len() > MAX_REMOVED {
            v.add(
                format!("{sat}/removes"),
                format!("at most {MAX_REMOVED} removed parts per step"),
            );
        }
        for (r, part) in step.removes.iter().enumerate() {
            check_removed(v, format_args!("{sat}/removes/{r}"), part);
        }
        if step.tools.len() > MAX_TOOLS {
            v.add(
                format!("{sat}/tools"),
                format!("at most {MAX_TOOLS} tools per step"),
            );
        }
        for (t, tool) in step.tools.iter().enumerate() {
            check_tool(v, format_args!("{sat}/tools/{t}"), tool);
        }
        if step.releases.len() > MAX_RELEASES {
            v.add(
                format!("{sat}/releases"),
                format!("at most {MAX_RELEASES} magnets per step"),
            );
        }
        for (r, released) in step.releases.iter().enumerate() {
            if !refs.contains_key(released) {
                v.add(
                    format!("{sat}/releases/{r}"),
                    format!("no magnet \"{released}\" in this registration"),
                );
            }
        }
    }
}

fn check_removed(v: &mut Violations, at: fmt::Arguments<'_>, part: &RemovedPart) {
    if let Some(count) = part.count
        && !(1..=MAX_PART_COUNT).contains(&count)
    {
        v.add(
            format!("{at}/count"),
            format!("must be 1 to {MAX_PART_COUNT}"),
        );
    }
    match &part.description {
        None if part.part == PartKind::Other => {
            v.add(format!("{at}/description"), "describe the other part");
        }
        description => v.opt_text(
            format_args!("{at}/description"),
            description.as_deref(),
            200,
        ),
    }
}

fn check_tool(v: &mut Violations, at: fmt::Arguments<'_>, tool: &Tool) {
    match (tool.tool, tool.drive) {
        (ToolKind::Screwdriver, None) => {
            v.add(format!("{at}/drive"), "a screwdriver needs its drive type");
        }
        (kind, Some(_)) if kind != ToolKind::Screwdriver => {
            v.add(
                format!("{at}/drive"),
                format!("only a screwdriver has a drive type, not a {kind}"),
            );
        }
        _ => {}
    }
    if let Some(size) = &tool.size {
        if tool.tool.has_size() {
            v.text(format_args!("{at}/size"), size, 20);
        } else {
            v.add(
                format!("{at}/size"),
                "only a screwdriver, wrench or socket wrench has a size",
            );
        }
    }
    let other = tool.tool == ToolKind::Other || tool.drive == Some(Drive::Other);
    match &tool.detail {
        None if other => v.add(format!("{at}/detail"), "describe the other tool or drive"),
        detail => v.opt_text(format_args!("{at}/detail"), detail.as_deref(), 200),
    }
}

pub(super) fn check_responsible_person(v: &mut Violations, person: &ResponsiblePerson) {
    let at = "/responsible_person";
    v.text(format_args!("{at}/name"), &person.name, 200);
    let PostalAddress {
        street,
        postal_code,
        locality,
        country: _,
        region,
    } = &person.address;
    v.text(format_args!("{at}/address/street"), street, 200);
    v.text(format_args!("{at}/address/postal_code"), postal_code, 20);
    v.text(format_args!("{at}/address/locality"), locality, 100);
    v.opt_text(format_args!("{at}/address/region"), region.as_deref(), 100);
    if let Some(email) = &person.email
        && !is_email(email)
    {
        v.add(
            format!("{at}/email"),
            "must be an email address such as crma@example.com (at most 254 characters)",
        );
    }
    if let Some(url) = &person.url
        && !is_http_url(url)
    {
        v.add(
            format!("{at}/url"),
            "must be an http(s) URL of at most 2000 characters",
        );
    }
    if let Some(phone) = &person.phone
        && !is_phone(phone)
    {
        v.add(
            format!("{at}/phone"),
            "must be a telephone number: +, digits, spaces, - ( ) /, at most 30 characters",
        );
    }
    if person.email.is_none() && person.url.is_none() {
        v.add(at, "give an email or a url as electronic contact");
    }
}

/// `local@domain.tld`, no spaces or control characters: what a person can write to, not RFC
/// 5322's every corner.
fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    text.len() <= 254
        && (1..=64).contains(&local.len())
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn is_http_url(text: &str) -> bool {
    url::Url::parse(text)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        && text.len() <= 2000
}

fn is_phone(text: &str) -> bool {
    text.chars().count() <= 30
        && text.chars().filter(char::is_ascii_digit).count() >= 3
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '/'))
}
