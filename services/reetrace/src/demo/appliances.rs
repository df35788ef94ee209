//! Designs of the demo's household appliances without a refrigerant circuit (CRMA art. 28(1):
//! washing machines, microwaves, vacuum cleaners, dishwashers): ferrite in drum motors, pumps
//! and magnetrons, bonded NdFeB in high-speed motors; and the helpers `cooling` shares.

use serde_json::json;

use super::magnets::{
    Declared, Design, FERRITE_LACO, FERRITE_SR, MagnetSet, Material, NDFEB_BONDED, Part, noted,
    step, tool,
};

#[allow(
    clippy::too_many_arguments,
    reason = "one line per fact of a magnet set"
)]
pub(super) fn set(
    reference: &'static str,
    material: &'static Material,
    grade: &'static str,
    count: u32,
    unit_mass_g: f64,
    position: &'static str,
    coating: Declared,
    glue: Declared,
    additive: Declared,
) -> MagnetSet {
    MagnetSet {
        reference,
        material,
        grade,
        count,
        unit_mass_g,
        position,
        coating,
        glue,
        additive,
    }
}

pub(super) fn part(
    name: &'static str,
    material: &'static str,
    mass_g: f64,
    location: &'static str,
    removal: &'static str,
    magnets: MagnetSet,
) -> Part {
    Part {
        name,
        material,
        mass_g,
        location,
        removal,
        electric_motor: false,
        magnets: vec![magnets],
        elements: &[],
    }
}

/// Front-loading washing machine with a direct-drive motor: 1.8 kg of La-Co ferrite.
pub(super) fn washing_machine() -> Design {
    Design {
        group: Some("automatic_washing_machine"),
        exemption: None,
        rated_output_kw: None,
        parts: vec![part(
            "direct-drive motor rotor",
            "ferrite",
            2_100.0,
            "behind the drum, on the back panel",
            "Take the back panel off, unscrew the rotor bolt, pull the rotor; pry the segments off.",
            set(
                "segment",
                &FERRITE_LACO,
                "FB9B",
                36,
                50.0,
                "outer rotor cup, 36 segments",
                None,
                Some(("epoxy", 1.5)),
                None,
            ),
        )],
        dismantling: "Take the back panel off, pull the rotor and pry the ferrite segments off.",
        steps: json!([
            step(
                "unscrew",
                Some(("cover", 1, "back panel, 10 screws")),
                vec![tool("screwdriver", Some("torx"), Some("T20"))],
                300,
                &[]
            ),
            step(
                "unscrew",
                Some(("fastener", 1, "rotor bolt")),
                vec![tool("socket_wrench", None, Some("16 mm"))],
                120,
                &[]
            ),
            step(
                "pull_out",
                Some(("component", 1, "rotor")),
                vec![tool("bearing_puller", None, None)],
                300,
                &[]
            ),
            step(
                "separate",
                None,
                vec![tool("pry_tool", None, None)],
                900,
                &["segment"]
            ),
        ]),
    }
}

/// Microwave oven, 25 l: two ferrite rings on the magnetron, a ferrite turntable motor.
pub(super) fn microwave() -> Design {
    Design {
        group: Some("microwave"),
        exemption: None,
        rated_output_kw: None,
        parts: vec![
            part(
                "magnetron",
                "ferrite",
                900.0,
                "behind the right-hand control panel",
                "Unscrew the cover, discharge the capacitor, unscrew the magnetron, lift the rings off.",
                set(
                    "magnetron",
                    &FERRITE_SR,
                    "Y30",
                    2,
                    95.0,
                    "rings above and below the anode",
                    None,
                    None,
                    None,
                ),
            ),
            part(
                "turntable motor",
                "ferrite",
                60.0,
                "under the cavity floor",
                "Unscrew the bottom plate and the motor (2 screws).",
                set(
                    "turntable",
                    &FERRITE_SR,
                    "Y25",
                    1,
                    6.0,
                    "rotor ring",
                    None,
                    None,
                    None,
                ),
            ),
        ],
        dismantling: "Discharge the high-voltage capacitor before anything else; the magnetron's \
                      ferrite rings come off by hand.",
        steps: json!([
            step(
                "unscrew",
                Some(("cover", 1, "outer casing")),
                vec![tool("screwdriver", Some("phillips"), Some("PH2"))],
                180,
                &[]
            ),
            noted(
                step(
                    "other",
                    None,
                    vec![json!({"tool": "other", "detail": "insulated discharge probe"})],
                    60,
                    &[]
                ),
                "Discharge the high-voltage capacitor.",
                "Up to 2 kV stored: discharge and check before touching."
            ),
            step(
                "unscrew",
                Some(("fastener", 4, "magnetron screws")),
                vec![tool("screwdriver", Some("phillips"), Some("PH2"))],
                180,
                &[]
            ),
            step("lift_out", None, Vec::new(), 60, &["magnetron"]),
            step(
                "unscrew",
                Some(("fastener", 2, "turntable motor screws")),
                vec![tool("screwdriver", Some("phillips"), Some("PH1"))],
                120,
                &["turntable"]
            ),
        ]),
    }
}

/// Cordless stick vacuum cleaner: a high-speed motor with a 9 g bonded NdFeB ring.
pub(super) fn vacuum_cleaner() -> Design {
    Design {
        group: Some("vacuum_cleaner"),
        exemption: None,
        rated_output_kw: None,
        parts: vec![part(
            "high-speed motor",
            "NdFeB-bonded",
            60.0,
            "motor head, behind the cyclone",
            "Unclip the battery, unscrew the motor housing, pull the motor, press the rotor ring off.",
            set(
                "rotor",
                &NDFEB_BONDED,
                "BNP-10",
                1,
                9.0,
                "rotor ring on the shaft",
                Some(("epoxy", 0.1)),
                None,
                Some(("polymer_binder_epoxy", 0.27)),
            ),
        )],
        dismantling: "Take the battery out first; the motor comes out of the head in one piece.",
        steps: json!([
            step(
                "unclip",
                Some(("component", 1, "battery pack")),
                Vec::new(),
                30,
                &[]
            ),
            step(
                "unscrew",
                Some(("fastener", 6, "motor housing screws")),
                vec![tool("screwdriver", Some("torx"), Some("T8"))],
                240,
                &[]
            ),
            step(
                "pull_out",
                Some(("component", 1, "motor")),
                vec![tool("pliers", None, None)],
                120,
                &[]
            ),
            step(
                "press_out",
                None,
                vec![tool("press", None, None)],
                120,
                &["rotor"]
            ),
        ]),
    }
}

/// Built-in dishwasher: a circulation pump with a bonded NdFeB rotor (35 g) and a ferrite
/// drain pump.
pub(super) fn dishwasher() -> Design {
    Design {
        group: Some("dishwasher"),
        exemption: None,
        rated_output_kw: None,
        parts: vec![
            part(
                "circulation pump motor",
                "NdFeB-bonded",
                120.0,
                "sump, under the tub",
                "Tilt the machine back, unplug the pump, turn it out of the sump (bayonet).",
                set(
                    "pump",
                    &NDFEB_BONDED,
                    "BNP-8",
                    1,
                    35.0,
                    "wet-rotor ring",
                    Some(("epoxy", 0.3)),
                    None,
                    Some(("polymer_binder_epoxy", 1.05)),
                ),
            ),
            part(
                "drain pump",
                "ferrite",
                90.0,
                "sump, beside the circulation pump",
                "Unplug it and turn it out of the sump (bayonet).",
                set(
                    "drain",
                    &FERRITE_SR,
                    "Y25",
                    1,
                    25.0,
                    "synchronous rotor",
                    None,
                    None,
                    None,
                ),
            ),
        ],
        dismantling: "Tilt the machine back; both pumps turn out of the sump; press the rotors out.",
        steps: json!([
            step(
                "unscrew",
                Some(("cover", 1, "base plate")),
                vec![tool("screwdriver", Some("torx"), Some("T20"))],
                300,
                &[]
            ),
            step(
                "unplug",
                Some(("cable", 2, "pump cables")),
                Vec::new(),
                60,
                &[]
            ),
            noted(
                step(
                    "other",
                    Some(("component", 2, "pumps")),
                    vec![tool("pliers", None, None)],
                    120,
                    &[]
                ),
                "Turn both pumps out of the sump (bayonet).",
                "Residual water: drain the sump first."
            ),
            step(
                "press_out",
                None,
                vec![tool("press", None, None)],
                300,
                &["pump", "drain"]
            ),
        ]),
    }
}
