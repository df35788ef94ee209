//! Designs of the demo's electric motors: magnets from the usual grades and masses of the
//! literature (1.5 kg of N42SH in 48 segments per EV traction motor), with their removal
//! sequences; and the rotor helpers the vehicles share (`equipment`).

use serde_json::{Value, json};

use super::magnets::{ALNICO_5, Design, MagnetSet, NDFEB_HOT, Part, SMCO_2_17, noted, step, tool};

pub(super) const HOT_EPOXY: &str = "Heat the rotor to 350 °C: the epoxy softens and the magnets lose their \
                         magnetisation (NdFeB Curie point 310-340 °C).";
pub(super) const PULL: &str = "The rotor is pulled towards the stator: use a guided extraction rig and keep \
                    hands clear.";
pub(super) const MAGNETISED: &str = "Magnets are magnetised: take one at a time, keep them away from steel \
                          and from each other.";

/// Opening a motor's end shield, pulling its rotor, heating it and pressing out the magnets.
fn rotor_steps(bolts: u32, socket: &str, refs: &[&str]) -> Value {
    json!([
        step(
            "unscrew",
            Some(("fastener", bolts, "end shield bolts")),
            vec![tool("socket_wrench", None, Some(socket))],
            300,
            &[]
        ),
        step(
            "cut",
            Some(("sealing", 1, "end shield gasket")),
            vec![tool("cutting_tool", None, None)],
            120,
            &[]
        ),
        noted(
            step(
                "pull_out",
                Some(("component", 1, "rotor with shaft")),
                vec![
                    tool("bearing_puller", None, None),
                    tool("lifting_gear", None, None)
                ],
                600,
                &[]
            ),
            "",
            PULL
        ),
        noted(
            step(
                "heat",
                None,
                vec![tool("induction_heater", None, None)],
                1200,
                &[]
            ),
            HOT_EPOXY,
            "Hot parts and epoxy fumes: use extraction."
        ),
        noted(
            step(
                "press_out",
                None,
                vec![tool("press", None, None)],
                900,
                refs
            ),
            "",
            MAGNETISED
        ),
    ])
}

/// A rotor of `count` sintered NdFeB segments, Ni-Cu-Ni coated and epoxy-bonded.
pub(super) fn segments(
    grade: &'static str,
    count: u32,
    unit_mass_g: f64,
    position: &'static str,
) -> MagnetSet {
    MagnetSet {
        reference: "segment",
        material: &NDFEB_HOT,
        grade,
        count,
        unit_mass_g,
        position,
        coating: Some(("nickel_copper_nickel", 0.12)),
        glue: Some(("epoxy", 0.25)),
        additive: None,
    }
}

pub(super) fn rotor_magnets(mass_g: f64, location: &'static str, set: MagnetSet) -> Part {
    Part {
        name: "rotor magnet set",
        material: "NdFeB-sintered",
        mass_g,
        location,
        removal: "Take off the rear end shield, pull the rotor, heat it to 350 °C and press the \
                  segments out.",
        electric_motor: false,
        magnets: vec![set],
        elements: &[],
    }
}

/// PMSM traction motor, 150 kW: 1.5 kg of N42SH in 48 segments (8 poles, 24 V-slots).
pub(super) fn ev_traction_motor() -> Design {
    Design {
        group: None,
        exemption: None,
        rated_output_kw: Some(150.0),
        parts: vec![rotor_magnets(
            1_512.0,
            "rotor, inside the stator",
            segments("N42SH", 48, 31.25, "rotor V-slots, 6 segments per pole"),
        )],
        dismantling: "Take off the rear end shield and pull the rotor; the magnets are glued: \
                      heat the rotor to 350 °C, then press them out.",
        steps: rotor_steps(8, "13 mm", &["segment"]),
    }
}

/// Hybrid drive motor, 60 kW: 1.25 kg of N38UH in 40 segments.
pub(super) fn hev_traction_motor() -> Design {
    Design {
        group: None,
        exemption: None,
        rated_output_kw: Some(60.0),
        parts: vec![rotor_magnets(
            1_260.0,
            "rotor, between engine and gearbox",
            segments("N38UH", 40, 31.25, "rotor V-slots, 5 segments per pole"),
        )],
        dismantling: "Separate the motor from the gearbox, pull the rotor, heat it to 350 °C and \
                      press the segments out.",
        steps: rotor_steps(12, "15 mm", &["segment"]),
    }
}

/// E-bike hub motor, 250 W: 40 blocks of N40SH, 0.34 kg.
pub(super) fn e_bike_motor() -> Design {
    Design {
        group: None,
        exemption: None,
        rated_output_kw: Some(0.25),
        parts: vec![rotor_magnets(
            352.0,
            "outer rotor (hub shell), 40 blocks",
            segments(
                "N40SH",
                40,
                8.5,
                "inside of the hub shell, one block per pole",
            ),
        )],
        dismantling: "Open the hub, press out the stator, heat the shell and lift the blocks out.",
        steps: json!([
            step(
                "unscrew",
                Some(("fastener", 6, "side cover screws")),
                vec![tool("screwdriver", Some("hex"), Some("4 mm"))],
                120,
                &[]
            ),
            noted(
                step(
                    "press_out",
                    Some(("component", 1, "stator with axle")),
                    vec![tool("press", None, None)],
                    300,
                    &[]
                ),
                "",
                PULL
            ),
            noted(
                step("heat", None, vec![tool("oven", None, None)], 1800, &[]),
                HOT_EPOXY,
                ""
            ),
            noted(
                step(
                    "lift_out",
                    None,
                    vec![tool("pry_tool", None, None)],
                    600,
                    &["segment"]
                ),
                "",
                MAGNETISED
            ),
        ]),
    }
}

/// IE5 permanent-magnet motor, 30 kW: 2 kg of N45SH in 64 segments.
pub(super) fn industrial_motor() -> Design {
    Design {
        group: None,
        exemption: None,
        rated_output_kw: Some(30.0),
        parts: vec![rotor_magnets(
            2_020.0,
            "rotor",
            segments("N45SH", 64, 31.25, "rotor slots, 8 segments per pole"),
        )],
        dismantling: "Take off the non-drive end shield, pull the rotor, heat it and press the \
                      segments out.",
        steps: rotor_steps(8, "17 mm", &["segment"]),
    }
}

/// Brushed DC motor, 1.1 kW, with four cast AlNiCo 5 field poles (no rare earth).
pub(super) fn alnico_dc_motor() -> Design {
    Design {
        group: Some("electric_motor"),
        exemption: None,
        rated_output_kw: Some(1.1),
        parts: vec![Part {
            name: "field poles",
            material: "AlNiCo 5",
            mass_g: 760.0,
            location: "inside the yoke, around the armature",
            removal: "Pull the armature, then unscrew the pole clamps.",
            electric_motor: false,
            magnets: vec![MagnetSet {
                reference: "pole",
                material: &ALNICO_5,
                grade: "LNG37",
                count: 4,
                unit_mass_g: 180.0,
                position: "field poles, clamped to the yoke",
                coating: None,
                glue: None,
                additive: None,
            }],
            elements: &[],
        }],
        dismantling: "Pull the armature, unscrew the pole clamps; AlNiCo demagnetises easily, \
                      no heating needed.",
        steps: json!([
            step(
                "unscrew",
                Some(("fastener", 4, "brush holder and end shield screws")),
                vec![tool("screwdriver", Some("phillips"), Some("PH2"))],
                240,
                &[]
            ),
            step(
                "pull_out",
                Some(("component", 1, "armature")),
                vec![tool("bearing_puller", None, None)],
                300,
                &[]
            ),
            step(
                "unscrew",
                Some(("fastener", 8, "pole clamp screws")),
                vec![tool("screwdriver", Some("hex"), Some("5 mm"))],
                240,
                &["pole"]
            ),
        ]),
    }
}

/// Satellite reaction wheel with a Sm2Co17 motor: a space product, exempt (art. 28(9)).
pub(super) fn reaction_wheel() -> Design {
    Design {
        group: Some("electric_motor"),
        exemption: Some("space"),
        rated_output_kw: Some(0.15),
        parts: vec![Part {
            name: "brushless motor rotor",
            material: "SmCo",
            mass_g: 160.0,
            location: "hub of the flywheel, inside the sealed housing",
            removal: "Open the sealed housing, unscrew the flywheel, lift out the rotor ring.",
            electric_motor: false,
            magnets: vec![MagnetSet {
                reference: "rotor",
                material: &SMCO_2_17,
                grade: "YXG-28",
                count: 24,
                unit_mass_g: 6.0,
                position: "rotor ring, 24 arc segments",
                coating: None,
                glue: Some(("epoxy", 0.05)),
                additive: None,
            }],
            elements: &[],
        }],
        dismantling: "Vent and open the housing, unscrew the flywheel, lift out the rotor ring.",
        steps: json!([
            step(
                "unscrew",
                Some(("cover", 1, "sealed housing lid")),
                vec![tool("screwdriver", Some("torx"), Some("T10"))],
                600,
                &[]
            ),
            step(
                "lift_out",
                Some(("component", 1, "flywheel with rotor ring")),
                vec![tool("pliers", None, None)],
                300,
                &["rotor"]
            ),
        ]),
    }
}
