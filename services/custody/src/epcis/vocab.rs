//! The vocabulary our events speak: the JSON-LD context, the `ree:` terms and the CBV 2.0
//! business steps and dispositions we use.

use serde_json::{Value, json};

/// The GS1 EPCIS 2.0 JSON-LD context.
pub const EPCIS_CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

/// The compact prefix of our own terms.
pub const REE_PREFIX: &str = "ree";

/// What `ree:` expands to.
pub const REE_VOCAB: &str = "https://w3id.org/reetrace/vocab#";

/// The `@context` of every document and event we write: the EPCIS context, then the `ree`
/// prefix for our extension fields and business steps.
pub fn context() -> Value {
    json!([EPCIS_CONTEXT, { REE_PREFIX: REE_VOCAB }])
}

/// A custody step recorded as an `ObjectEvent` with action `OBSERVE`.
///
/// CBV 2.0 has `collecting`, `receiving`, `departing`, `accepting` and `destroying`. It has no
/// step for sorting or exporting, so these are our own terms, written as `ree:` CURIEs (the
/// EPCIS schema refuses a bare word that is not a CBV value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObservationStep {
    /// A collector picks the product up for recycling or disposal (CBV `collecting`).
    Collect,
    /// A facility books the product into its stock (CBV `receiving`).
    Receive,
    /// The product is sorted into a treatment stream (`ree:sorting`).
    Sort,
    /// The holder hands the product over to another holder; it leaves for them (CBV
    /// `departing`, the specific activity of an object leaving on its way to a destination;
    /// `shipping` is the umbrella process that would also cover the acceptance).
    Handover,
    /// The new holder accepts a handover: possession changes (CBV `accepting`).
    Accept,
    /// The product is destroyed (CBV `destroying`).
    Destroy,
    /// The product leaves the territory the registry covers (`ree:exporting`: CBV has no
    /// export step, and `departing` already means a handover here).
    Export,
}

impl ObservationStep {
    /// The `bizStep` value: a bare CBV 2.0 word or a `ree:` CURIE.
    pub fn biz_step(self) -> &'static str {
        match self {
            ObservationStep::Collect => "collecting",
            ObservationStep::Receive => "receiving",
            ObservationStep::Sort => "ree:sorting",
            ObservationStep::Handover => "departing",
            ObservationStep::Accept => "accepting",
            ObservationStep::Destroy => "destroying",
            ObservationStep::Export => "ree:exporting",
        }
    }

    /// The CBV 2.0 `disposition` the step leaves the product in.
    pub fn disposition(self) -> &'static str {
        match self {
            ObservationStep::Handover | ObservationStep::Export => "in_transit",
            ObservationStep::Destroy => "destroyed",
            _ => "in_progress",
        }
    }
}

/// A custody step recorded as a `TransformationEvent`: inputs are consumed, outputs made.
///
/// CBV 2.0 `disassembling` takes an object apart into identified components; dismantling an
/// end-of-life product into parts and mass lots, and recycling lots into recovered material,
/// are our own terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransformationStep {
    /// Products are dismantled into parts and lots (`ree:dismantling`).
    Dismantle,
    /// Lots are recycled into recovered material (`ree:recycling`).
    Recycle,
}

impl TransformationStep {
    /// The `bizStep` value, a `ree:` CURIE.
    pub fn biz_step(self) -> &'static str {
        match self {
            TransformationStep::Dismantle => "ree:dismantling",
            TransformationStep::Recycle => "ree:recycling",
        }
    }

    /// The CBV 2.0 `disposition` of the outputs.
    pub fn disposition(self) -> &'static str {
        "in_progress"
    }
}
