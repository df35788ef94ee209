//! Designs of the demo's products with a refrigerant circuit (CRMA art. 28(1): cooling
//! generators, heat pumps, tumble driers): NdFeB in the compressor motors, ferrite in the fans
//! and drum motors; the circuit is emptied before the compressor is cut open.

use serde_json::{Value, json};

use super::appliances::{part, set};
use super::magnets::{Design, FERRITE_SR, NDFEB_GBD, noted, step, tool};

const REFRIGERANT: &str = "Recover the refrigerant with a certified recovery unit before \
                           opening the circuit.";

/// The first steps into a refrigerant circuit: recover it, open the casing.
fn open_circuit(casing_screws: u32, torx: &str) -> [Value; 2] {
    [
        noted(
            step(
                "other",
                None,
                vec![json!({"tool": "other", "detail": "refrigerant recovery unit"})],
                1800,
                &[],
            ),
            "Recover the refrigerant.",
            REFRIGERANT,
        ),
        step(
            "unscrew",
            Some(("cover", casing_screws, "casing panels")),
            vec![tool("screwdriver", Some("torx"), Some(torx))],
            600,
            &[],
        ),
    ]
}

/// Cutting a hermetic compressor open and pressing out its rotor magnets.
fn compressor_steps(reference: &'static str) -> [Value; 3] {
    [
        step(
            "cut",
            Some(("component", 1, "compressor, cut off its pipes")),
            vec![tool("cutting_tool", None, None)],
            600,
            &[],
        ),
        noted(
            step(
                "cut",
                Some(("cover", 1, "hermetic compressor shell")),
                vec![tool("cutting_tool", None, None)],
                900,
                &[],
            ),
            "",
            "Oil residue: wear gloves and goggles.",
        ),
        step(
            "press_out",
            None,
            vec![tool("press", None, None)],
            600,
            &[reference],
        ),
    ]
}

/// Air-cooled scroll chiller, 120 kW: two inverter compressors (0.66 kg of NdFeB) and four EC
/// fans with ferrite.
pub(super) fn chiller() -> Design {
    let [recover, casing] = open_circuit(8, "T30");
    let [pipes, shell, press] = compressor_steps("compressor");
    Design {
        group: Some("cooling_generator"),
        exemption: None,
        rated_output_kw: None,
        parts: vec![
            part(
                "inverter compressor motors",
                "NdFeB-sintered",
                700.0,
                "two scroll compressors in the base",
                "Cut the compressors out of the circuit, cut the shells open, press the rotor magnets out.",
                set(
                    "compressor",
                    &NDFEB_GBD,
                    "N45SH",
                    12,
                    55.0,
                    "interior-magnet rotors, 6 per compressor",
                    Some(("phosphate", 0.0)),
                    None,
                    Some(("grain_boundary_diffusion_tb", 0.0)),
                ),
            ),
            part(
                "EC condenser fan motors",
                "ferrite",
                1_100.0,
                "four fans on top",
                "Unscrew the fan guards, unplug and lift the fans out; the magnets are on the outer rotors.",
                set(
                    "fan",
                    &FERRITE_SR,
                    "Y30",
                    32,
                    30.0,
                    "outer rotors, 8 segments per fan",
                    None,
                    Some(("epoxy", 0.5)),
                    None,
                ),
            ),
        ],
        dismantling: "Recover the refrigerant, cut the compressors out, open their shells and \
                      press the rotor magnets out; lift out the fans.",
        steps: json!([
            recover,
            casing,
            pipes,
            shell,
            press,
            step(
                "unscrew",
                Some(("fastener", 16, "fan guard screws")),
                vec![tool("socket_wrench", None, Some("10 mm"))],
                900,
                &[]
            ),
            step(
                "separate",
                None,
                vec![tool("pry_tool", None, None)],
                1200,
                &["fan"]
            ),
        ]),
    }
}

/// Air-to-water heat pump, 8 kW: a rotary compressor with 0.27 kg of NdFeB, and a bonded
/// ferrite fan motor.
pub(super) fn heat_pump() -> Design {
    let [recover, casing] = open_circuit(12, "T25");
    let [pipes, shell, press] = compressor_steps("compressor");
    Design {
        group: Some("heat_pump"),
        exemption: None,
        rated_output_kw: None,
        parts: vec![
            part(
                "rotary compressor motor",
                "NdFeB-sintered",
                290.0,
                "compressor, outdoor unit",
                "Cut the compressor out of the circuit, cut its shell open and press the rotor magnets out.",
                set(
                    "compressor",
                    &NDFEB_GBD,
                    "N42SH",
                    6,
                    45.0,
                    "interior-magnet rotor, one per pole",
                    Some(("phosphate", 0.0)),
                    None,
                    Some(("grain_boundary_diffusion_tb", 0.0)),
                ),
            ),
            part(
                "outdoor fan motor",
                "ferrite (bonded)",
                170.0,
                "behind the fan of the outdoor unit",
                "Unscrew the fan grille, unplug the motor, pull the rotor ring off.",
                set(
                    "fan",
                    &FERRITE_SR,
                    "Y10T",
                    1,
                    150.0,
                    "moulded ring on the rotor",
                    None,
                    None,
                    Some(("polymer_binder_polyamide", 15.0)),
                ),
            ),
        ],
        dismantling: "Recover the refrigerant, open the outdoor unit, cut the compressor out and \
                      press its rotor magnets out; pull the fan motor's ring off.",
        steps: json!([
            recover,
            casing,
            pipes,
            shell,
            press,
            step(
                "unscrew",
                Some(("fastener", 4, "fan motor screws")),
                vec![tool("screwdriver", Some("phillips"), Some("PH2"))],
                300,
                &[]
            ),
            step(
                "pull_out",
                None,
                vec![tool("pliers", None, None)],
                120,
                &["fan"]
            ),
        ]),
    }
}

/// Heat-pump tumble drier: 0.15 kg of NdFeB in the compressor (art. 29 does not apply) and a
/// ferrite drum motor.
pub(super) fn tumble_drier() -> Design {
    let [recover, casing] = open_circuit(9, "T20");
    let [pipes, shell, press] = compressor_steps("compressor");
    Design {
        group: Some("tumble_drier"),
        exemption: None,
        rated_output_kw: None,
        parts: vec![
            part(
                "heat-pump compressor motor",
                "NdFeB-sintered",
                160.0,
                "compressor at the bottom rear",
                "Cut the compressor out of the circuit, cut its shell open and press the rotor magnets out.",
                set(
                    "compressor",
                    &NDFEB_GBD,
                    "N40SH",
                    4,
                    37.5,
                    "interior-magnet rotor, one per pole",
                    Some(("nickel", 0.05)),
                    None,
                    Some(("grain_boundary_diffusion_tb", 0.0)),
                ),
            ),
            part(
                "drum motor",
                "ferrite",
                600.0,
                "under the drum, front left",
                "Unhook the belt, unscrew the motor bracket, pull the rotor out.",
                set(
                    "drum",
                    &FERRITE_SR,
                    "Y30",
                    8,
                    40.0,
                    "rotor surface",
                    None,
                    Some(("epoxy", 0.3)),
                    None,
                ),
            ),
        ],
        dismantling: "Recover the refrigerant, cut the compressor out and open it; take the drum \
                      motor out and pry its segments off.",
        steps: json!([
            recover,
            casing,
            pipes,
            shell,
            press,
            step(
                "unscrew",
                Some(("fastener", 3, "motor bracket screws")),
                vec![tool("screwdriver", Some("torx"), Some("T20"))],
                300,
                &[]
            ),
            step(
                "separate",
                None,
                vec![tool("pry_tool", None, None)],
                300,
                &["drum"]
            ),
        ]),
    }
}
