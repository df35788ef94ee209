//! Art. 28(4)(b) and (c) in detail: every magnet's weight, location, composition, coatings,
//! glues and additives, and the removal sequence; or, where the magnets sit only in electric
//! motors, the motors' location and removal (art. 28(5)).

use super::super::registration::Component;
use super::rules::{ConformityGap, Content, named_type};

fn gap(pointer: String, detail: &str) -> ConformityGap {
    ConformityGap {
        pointer,
        detail: detail.to_owned(),
    }
}

/// The components holding permanent magnets (registered, or named by their material).
fn holders<'a>(content: &Content<'a>) -> Vec<(usize, &'a Component)> {
    content
        .components
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.magnets.is_empty() || named_type(&c.material).is_some())
        .collect()
}

/// Whether every magnet sits in a component that is an electric motor (art. 28(5)).
fn only_in_motors(content: &Content<'_>) -> bool {
    let holders = holders(content);
    !holders.is_empty() && holders.iter().all(|(_, c)| c.electric_motor)
}

/// Art. 28(4)(b): how it is met, and what is missing. `unregistered` are the gaps of
/// components whose magnets are not registered.
pub(super) fn magnet_detail(
    content: &Content<'_>,
    unregistered: Vec<ConformityGap>,
) -> (&'static str, Vec<ConformityGap>) {
    if only_in_motors(content) {
        let mut gaps = Vec::new();
        for (i, c) in holders(content) {
            let at = format!("/ree_content/components/{i}");
            if c.location.is_none() {
                gaps.push(gap(
                    format!("{at}/location"),
                    "where the electric motor sits in the product (art. 28(5))",
                ));
            }
            if c.removal.is_none() && content.removal_steps.is_empty() {
                gaps.push(gap(
                    format!("{at}/removal"),
                    "how to reach and take out the electric motor (art. 28(5))",
                ));
            }
        }
        return (
            "art. 28(5): the magnets sit only in electric motors, whose location and removal \
             are registered in place of the magnet detail",
            gaps,
        );
    }
    let mut gaps = unregistered;
    for (i, c) in content.components.iter().enumerate() {
        for (j, m) in c.magnets.iter().enumerate() {
            let at = format!("/ree_content/components/{i}/magnets/{j}");
            if m.position.is_none() && c.location.is_none() {
                gaps.push(gap(
                    format!("{at}/position"),
                    "where the magnet sits (or the component's location)",
                ));
            }
            for (name, declared) in [
                ("coatings", !m.coatings.is_empty()),
                ("glues", !m.glues.is_empty()),
                ("additives", !m.additives.is_empty()),
            ] {
                if !declared {
                    gaps.push(gap(
                        format!("{at}/{name}"),
                        "not declared; [{\"type\": \"none\"}] declares that there are none",
                    ));
                }
            }
        }
    }
    (
        "weight, location and composition of every magnet are registered, with its coatings, \
         glues and additives",
        gaps,
    )
}

/// Art. 28(4)(c): how it is met, and what is missing.
pub(super) fn removal(content: &Content<'_>) -> (&'static str, Vec<ConformityGap>) {
    let steps = content.removal_steps;
    if only_in_motors(content) {
        let motors_removed = holders(content).iter().all(|(_, c)| c.removal.is_some());
        return if !steps.is_empty() || motors_removed {
            (
                "art. 28(5): the removal of the electric motors holding the magnets is \
                 registered",
                Vec::new(),
            )
        } else {
            (
                "",
                vec![gap(
                    "/end_of_life/removal_steps".into(),
                    "the steps that take out the electric motors, with tools (art. 28(5))",
                )],
            )
        };
    }
    if steps.is_empty() {
        return (
            "",
            vec![gap(
                "/end_of_life/removal_steps".into(),
                "the sequence of steps that frees the magnets, with the tools or technologies \
                 each needs",
            )],
        );
    }
    let released: std::collections::HashSet<&str> = steps
        .iter()
        .flat_map(|s| &s.releases)
        .map(String::as_str)
        .collect();
    let gaps = content
        .components
        .iter()
        .flat_map(|c| &c.magnets)
        .filter(|m| !released.contains(m.reference.as_str()))
        .map(|m| ConformityGap {
            pointer: "/end_of_life/removal_steps".into(),
            detail: format!("no step releases magnet `{}`", m.reference),
        })
        .collect();
    (
        "the removal sequence frees every magnet, with the tools or technologies each step needs",
        gaps,
    )
}
