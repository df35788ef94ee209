#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use super::*;

/// Every type of the issue has several deposits, in several countries.
#[test]
fn every_type_has_several_deposits_in_several_countries() {
    for kind in [
        "fly_ash",
        "bottom_ash",
        "bauxite_residue",
        "phosphogypsum",
        "mine_tailings",
        "slag",
    ] {
        let countries: BTreeSet<&str> = SITES
            .iter()
            .filter(|s| s.deposit_type == kind)
            .map(|s| s.country)
            .collect();
        assert!(countries.len() >= 2, "{kind}: {countries:?}");
    }
}

fn total(site: &Site, rare_earths_only: bool) -> f64 {
    site.profile
        .iter()
        .filter(|(e, _)| !rare_earths_only || *e != "Sc")
        .map(|(_, ppm)| tenth(ppm * site.scale))
        .sum()
}

/// The ranges the module's comment cites.
#[test]
fn concentrations_stay_in_the_literature_ranges() {
    for site in SITES {
        let (low, high) = match site.deposit_type {
            "fly_ash" => (400.0, 600.0),
            "bottom_ash" => (250.0, 400.0),
            "bauxite_residue" => (400.0, 1_100.0),
            "phosphogypsum" => (500.0, 5_000.0),
            "mine_tailings" => (300.0, 1_500.0),
            _ => (50.0, 150.0),
        };
        let rey = total(site, true);
        assert!((low..=high).contains(&rey), "{}: {rey} ppm", site.name());
    }
    let greek = SITES
        .iter()
        .find(|s| s.nuts == "EL642")
        .map(|s| tenth(s.profile[0].1 * s.scale))
        .unwrap_or_default();
    assert!((100.0..=150.0).contains(&greek), "Greek Sc {greek} ppm");
}

/// Outlines are closed and counterclockwise (positive shoelace area).
#[test]
fn outlines_follow_the_right_hand_rule() {
    for site in SITES.iter().filter(|s| s.half_side_km > 0.0) {
        let geometry = site.geometry();
        let ring = geometry["coordinates"][0]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(ring.first(), ring.last());
        let xy: Vec<(f64, f64)> = ring
            .iter()
            .map(|p| (p[0].as_f64().unwrap_or(0.0), p[1].as_f64().unwrap_or(0.0)))
            .collect();
        let area: f64 = xy
            .windows(2)
            .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
            .sum();
        assert!(area > 0.0, "{}", site.name());
    }
}
