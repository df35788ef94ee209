//! Designs of the demo's larger equipment: MRI devices with and without permanent magnets,
//! direct-drive wind generators (650 kg of NdFeB per MW), robots, cars and mopeds, with their
//! removal sequences.

use serde_json::json;

use super::machines::{HOT_EPOXY, MAGNETISED, PULL, rotor_magnets, segments};
use super::magnets::{
    Design, FERRITE_SR, MagnetSet, NDFEB_COLD, NDFEB_GBD, NDFEB_WIND, Part, noted, step, tool,
};

/// 1.5 T superconducting MRI scanner: no permanent magnet; the rare earths are in the
/// cryocooler's regenerator (HoCu2 and Er3Ni spheres, 200 g each).
pub(super) fn mri_superconducting() -> Design {
    Design {
        group: Some("mri_device"),
        exemption: None,
        rated_output_kw: None,
        parts: vec![Part {
            name: "cold head regenerator (4 K stage)",
            material: "HoCu2 and Er3Ni spheres",
            mass_g: 420.0,
            location: "cryocooler cold head, on the turret of the magnet cryostat",
            removal: "Warm the cold head up, unscrew it from the turret and pour the spheres out \
                      of the second stage.",
            electric_motor: false,
            magnets: Vec::new(),
            elements: &[("Ho", 113.0), ("Er", 179.0)],
        }],
        dismantling: "Ramp the magnet down and recover the helium before any work; the main \
                      magnet is superconducting (NbTi), not permanent.",
        steps: json!([]),
    }
}

/// Extremity MRI, 0.3 T, with permanent NdFeB poles: 200 blocks of 1.5 kg.
pub(super) fn mri_permanent() -> Design {
    Design {
        group: Some("mri_device"),
        exemption: None,
        rated_output_kw: None,
        parts: vec![Part {
            name: "pole magnets",
            material: "NdFeB-sintered",
            mass_g: 301_000.0,
            location: "upper and lower pole, under the pole pieces",
            removal: "Lift the pole pieces off, demagnetise the poles in place, take the blocks \
                      out.",
            electric_motor: false,
            magnets: vec![MagnetSet {
                reference: "block",
                material: &NDFEB_COLD,
                grade: "N45",
                count: 200,
                unit_mass_g: 1_500.0,
                position: "100 blocks per pole, glued to the yoke plate",
                coating: Some(("nickel", 3.0)),
                glue: Some(("epoxy", 2.0)),
                additive: None,
            }],
            elements: &[],
        }],
        dismantling: "A 0.3 T field: only trained staff with non-magnetic tools. Remove the \
                      covers, lift the pole pieces, demagnetise, then take the blocks out.",
        steps: json!([
            step(
                "unscrew",
                Some(("cover", 6, "magnet covers")),
                vec![tool("screwdriver", Some("torx"), Some("T30"))],
                1800,
                &[]
            ),
            noted(
                step(
                    "unscrew",
                    Some(("fastener", 48, "pole piece bolts")),
                    vec![tool("socket_wrench", None, Some("24 mm"))],
                    7200,
                    &[]
                ),
                "",
                "Non-magnetic tools only: the field pulls steel tools in."
            ),
            step(
                "lift_out",
                Some(("component", 2, "pole pieces")),
                vec![tool("lifting_gear", None, None)],
                14400,
                &[]
            ),
            step(
                "demagnetise",
                None,
                vec![tool("demagnetisation_oven", None, None)],
                86400,
                &[]
            ),
            step(
                "separate",
                None,
                vec![tool("press", None, None)],
                172800,
                &["block"]
            ),
        ]),
    }
}

/// Direct-drive PMSG, 3 MW: 1,950 kg of N38SH in 6,000 magnets (650 kg per MW).
pub(super) fn wind_generator() -> Design {
    Design {
        group: None,
        exemption: None,
        rated_output_kw: None,
        parts: vec![Part {
            name: "generator magnet poles",
            material: "NdFeB-sintered",
            mass_g: 1_968_000.0,
            location: "outer rotor, 120 poles of 50 magnets",
            removal: "Lower the generator, unbolt the pole modules, demagnetise them and separate \
                      the magnets.",
            electric_motor: false,
            magnets: vec![MagnetSet {
                reference: "pole",
                material: &NDFEB_WIND,
                grade: "N38SH",
                count: 6_000,
                unit_mass_g: 325.0,
                position: "pole modules bolted to the rotor rim",
                coating: Some(("epoxy", 1.5)),
                glue: Some(("epoxy", 3.0)),
                additive: None,
            }],
            elements: &[],
        }],
        dismantling: "Lower the generator from the nacelle, unbolt the 120 pole modules, \
                      demagnetise them and separate the magnets.",
        steps: json!([
            noted(
                step(
                    "unplug",
                    Some(("cable", 12, "power and sensor cables")),
                    vec![tool("wrench", None, Some("36 mm"))],
                    3600,
                    &[]
                ),
                "",
                "Lock the rotor and earth the generator first: it generates while turning."
            ),
            step(
                "lift_out",
                Some(("component", 1, "generator")),
                vec![tool("lifting_gear", None, None)],
                28800,
                &[]
            ),
            step(
                "unscrew",
                Some(("fastener", 2_400, "pole module bolts")),
                vec![tool("socket_wrench", None, Some("24 mm"))],
                43200,
                &[]
            ),
            step(
                "demagnetise",
                None,
                vec![tool("demagnetisation_oven", None, None)],
                86400,
                &[]
            ),
            step(
                "separate",
                None,
                vec![tool("press", None, None)],
                172800,
                &["pole"]
            ),
        ]),
    }
}

/// Six-axis robot, 210 kg payload: every magnet in one of its six servo motors (art. 28(5)).
pub(super) fn industrial_robot() -> Design {
    let servo = |reference, count, unit_mass_g, position| MagnetSet {
        reference,
        material: &NDFEB_GBD,
        grade: "N45SH",
        count,
        unit_mass_g,
        position,
        coating: Some(("nickel", 0.05)),
        glue: Some(("epoxy", 0.1)),
        additive: Some(("grain_boundary_diffusion_tb", 0.0)),
    };
    let motor = |name, mass_g, location, magnets| Part {
        name,
        material: "servo motors (PMSM)",
        mass_g,
        location,
        removal: "Unplug the motor, unscrew its flange (4 x M10, hex 8 mm) and pull it off the \
                  gearbox.",
        electric_motor: true,
        magnets: vec![magnets],
        elements: &[],
    };
    Design {
        group: Some("industrial_robot"),
        exemption: None,
        rated_output_kw: None,
        parts: vec![
            motor(
                "axis 1-3 servo motors",
                75_000.0,
                "base, turntable and lower arm",
                servo("servo-a13", 48, 12.5, "rotor surface, 16 per motor"),
            ),
            motor(
                "axis 4-6 servo motors",
                24_000.0,
                "upper arm and wrist",
                servo("servo-a46", 36, 5.0, "rotor surface, 12 per motor"),
            ),
        ],
        dismantling: "Unplug and unscrew the six servo motors; their magnets are taken out by \
                      the motor recycler.",
        steps: json!([
            step(
                "unplug",
                Some(("cable", 6, "motor power and encoder cables")),
                vec![tool("pliers", None, None)],
                600,
                &[]
            ),
            step(
                "unscrew",
                Some(("fastener", 24, "motor flange screws")),
                vec![tool("screwdriver", Some("hex"), Some("8 mm"))],
                1200,
                &[]
            ),
            step(
                "pull_out",
                Some(("component", 6, "servo motors")),
                vec![tool("lifting_gear", None, None)],
                1800,
                &[]
            ),
        ]),
    }
}

/// Battery-electric car: every magnet in an electric motor (art. 28(5)): the rear drive
/// unit's 1.5 kg of NdFeB, the steering motor's, and ferrite in the small motors.
pub(super) fn electric_car() -> Design {
    let motor = |name, material, mass_g, location, removal, set| Part {
        name,
        material,
        mass_g,
        location,
        removal,
        electric_motor: true,
        magnets: vec![set],
        elements: &[],
    };
    Design {
        group: Some("motor_vehicle"),
        exemption: None,
        rated_output_kw: None,
        parts: vec![
            motor(
                "rear drive unit",
                "electric motor (PMSM)",
                78_000.0,
                "rear axle, between the wheels",
                "Lower the rear subframe, unbolt the drive unit (6 x M12) and lift it out.",
                segments("N42SH", 48, 31.25, "rotor V-slots, 6 segments per pole"),
            ),
            motor(
                "power steering motor",
                "electric motor (BLDC)",
                2_400.0,
                "on the steering rack",
                "Unplug it and unbolt it from the rack housing (3 x M8).",
                MagnetSet {
                    reference: "eps",
                    material: &NDFEB_GBD,
                    grade: "N45SH",
                    count: 8,
                    unit_mass_g: 6.0,
                    position: "rotor surface",
                    coating: Some(("epoxy", 0.02)),
                    glue: Some(("epoxy", 0.02)),
                    additive: None,
                },
            ),
            motor(
                "small motors",
                "electric motors (ferrite DC)",
                9_000.0,
                "doors (window lifters), wipers, seats, pumps",
                "Take out with their modules when the car is dismantled (doors, wiper linkage, seats).",
                MagnetSet {
                    reference: "aux",
                    material: &FERRITE_SR,
                    grade: "Y30",
                    count: 40,
                    unit_mass_g: 25.0,
                    position: "stator shells",
                    coating: None,
                    glue: Some(("epoxy", 0.2)),
                    additive: None,
                },
            ),
        ],
        dismantling: "Depollute the car, take the high-voltage battery out, then the drive unit; \
                      its magnets are taken out by the motor recycler.",
        steps: json!([
            noted(
                step(
                    "unplug",
                    Some(("cable", 2, "high-voltage cables of the drive unit")),
                    vec![tool("pliers", None, None)],
                    900,
                    &[]
                ),
                "",
                "High voltage: disconnect the service plug and check for zero voltage."
            ),
            step(
                "unscrew",
                Some(("fastener", 6, "drive unit mounts")),
                vec![tool("socket_wrench", None, Some("18 mm"))],
                1800,
                &[]
            ),
            step(
                "lift_out",
                Some(("component", 1, "rear drive unit")),
                vec![tool("lifting_gear", None, None)],
                1200,
                &[]
            ),
            step(
                "unscrew",
                Some(("fastener", 3, "steering motor bolts")),
                vec![tool("socket_wrench", None, Some("13 mm"))],
                600,
                &[]
            ),
        ]),
    }
}

/// Electric moped (L1e), 3 kW hub motor: 0.6 kg of N38UH, every magnet described.
pub(super) fn electric_moped() -> Design {
    Design {
        group: Some("light_means_of_transport"),
        exemption: None,
        rated_output_kw: None,
        parts: vec![rotor_magnets(
            610.0,
            "rear wheel hub motor",
            segments(
                "N38UH",
                40,
                15.0,
                "inside of the hub shell, one block per pole",
            ),
        )],
        dismantling: "Take the rear wheel off, open the hub, press out the stator, heat the shell \
                      and lift the blocks out.",
        steps: json!([
            step(
                "unscrew",
                Some(("fastener", 2, "axle nuts")),
                vec![tool("socket_wrench", None, Some("19 mm"))],
                600,
                &[]
            ),
            step(
                "unscrew",
                Some(("fastener", 9, "hub cover screws")),
                vec![tool("screwdriver", Some("hex"), Some("5 mm"))],
                300,
                &[]
            ),
            noted(
                step(
                    "press_out",
                    Some(("component", 1, "stator with axle")),
                    vec![tool("press", None, None)],
                    600,
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
                    900,
                    &["segment"]
                ),
                "",
                MAGNETISED
            ),
        ]),
    }
}
