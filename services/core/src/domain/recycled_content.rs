//! Recycled-content claims: a passport that declares recycled content sourced from recycled
//! lots claims the recovered material it uses, so that what all passports claim from a lot never
//! exceeds what was recovered into it.

use uuid::Uuid;

use super::{Mass, TrackedElement};

/// A claim of recycled content on recycled lots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecycledClaim {
    pub claim_id: Uuid,
    pub passport_id: Uuid,
    /// The manufacturer issuing the passport.
    pub org_id: Uuid,
    /// Per lot, the element masses claimed from it: rare earths, and the magnet materials B,
    /// Co and Ni.
    pub sources: Vec<(Uuid, Vec<(TrackedElement, Mass)>)>,
}
