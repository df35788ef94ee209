//! How to reach and take out the magnets (CRMA art. 28(4)): the sequence of removal steps,
//! what each removes and with which tools; and who answers for the product (art. 28(3)).

use reetrace_core::domain::Country;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::vocabulary::vocabulary;

vocabulary! {
    /// What a removal step does.
    pub enum RemovalAction("removal action") {
        Unscrew = "unscrew",
        Unclip = "unclip",
        Unplug = "unplug",
        Cut = "cut",
        Desolder = "desolder",
        Drill = "drill",
        PullOut = "pull_out",
        PressOut = "press_out",
        LiftOut = "lift_out",
        Heat = "heat",
        Demagnetise = "demagnetise",
        HydrogenDecrepitate = "hydrogen_decrepitate",
        Separate = "separate",
        /// Described in `detail`.
        Other = "other",
    }
}

vocabulary! {
    /// A kind of part a removal step takes off or undoes.
    pub enum PartKind("removed part") {
        Fastener = "fastener",
        Sealing = "sealing",
        Cover = "cover",
        Cable = "cable",
        Adhesive = "adhesive",
        Component = "component",
        /// Described in `description`.
        Other = "other",
    }
}

vocabulary! {
    /// A tool or technology a removal step needs.
    pub enum ToolKind("tool") {
        Screwdriver = "screwdriver",
        Wrench = "wrench",
        SocketWrench = "socket_wrench",
        Pliers = "pliers",
        PryTool = "pry_tool",
        CuttingTool = "cutting_tool",
        BearingPuller = "bearing_puller",
        Press = "press",
        InductionHeater = "induction_heater",
        Oven = "oven",
        DemagnetisationOven = "demagnetisation_oven",
        HydrogenDecrepitation = "hydrogen_decrepitation",
        LiftingGear = "lifting_gear",
        /// Described in `detail`.
        Other = "other",
    }
}

impl ToolKind {
    /// Whether the tool comes in sizes (`T30`, `13 mm`).
    pub fn has_size(self) -> bool {
        matches!(
            self,
            ToolKind::Screwdriver | ToolKind::Wrench | ToolKind::SocketWrench
        )
    }
}

vocabulary! {
    /// A screwdriver's drive type.
    pub enum Drive("drive type") {
        Slotted = "slotted",
        Phillips = "phillips",
        Pozidriv = "pozidriv",
        Torx = "torx",
        TorxTamperResistant = "torx_tamper_resistant",
        Hex = "hex",
        TriWing = "tri_wing",
        /// Described in the tool's `detail`.
        Other = "other",
    }
}

/// One step of the removal sequence, in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemovalStep {
    pub action: RemovalAction,
    /// What the step takes off or undoes (at most 20).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removes: Vec<RemovedPart>,
    /// The tools or technologies it needs (at most 10).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    /// At most 1000 characters; required for the action `other`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Estimated duration, 1 to 604,800 seconds (a week).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 604_800)]
    pub estimated_seconds: Option<u32>,
    /// Safety notes, at most 1000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety: Option<String>,
    /// The `ref`s of the magnets this step frees.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub releases: Vec<String>,
}

/// A part a removal step takes off or undoes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemovedPart {
    pub part: PartKind,
    /// How many (1 to 10,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 10_000)]
    pub count: Option<u32>,
    /// At most 200 characters; required for `other`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A tool or technology a removal step needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    pub tool: ToolKind,
    /// Required for a screwdriver, and only there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drive: Option<Drive>,
    /// At most 20 characters (`T30`, `PH2`, `13 mm`); for screwdrivers, wrenches and socket
    /// wrenches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// At most 200 characters; required for the tool `other` and the drive `other`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

vocabulary! {
    /// Who may read a passport's details document (each magnet, the removal steps).
    pub enum DetailsAccess("details access") {
        /// Professionals, authorities and the owner (the default).
        Restricted = "restricted",
        /// Anyone.
        Public = "public",
    }
}

/// The economic operator responsible for the product in the Union (CRMA art. 28(3)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponsiblePerson {
    /// At most 200 characters.
    pub name: String,
    pub address: PostalAddress,
    /// An email address; give it or `url` (or both) as electronic contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// A telephone number (`+`, digits, spaces, `-`, `(`, `)`, `/`; at most 30 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// An http(s) contact page; give it or `email` (or both) as electronic contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostalAddress {
    /// Street and number, at most 200 characters.
    pub street: String,
    /// At most 20 characters.
    pub postal_code: String,
    /// Town or city, at most 100 characters.
    pub locality: String,
    /// ISO 3166-1 alpha-2.
    pub country: Country,
    /// State, province or county, at most 100 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}
