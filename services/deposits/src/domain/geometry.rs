//! Where a deposit lies: a GeoJSON point or polygon in WGS84 (RFC 7946).
//!
//! Positions are `[longitude, latitude]` in decimal degrees, optionally with an altitude in
//! metres. A polygon is a list of linear rings, the first its outline and the others holes:
//! each ring closed (its last position equals its first), at least four positions, no edge
//! crossing or touching another except its neighbours at their shared corner, holes inside the
//! outline and apart from each other. A ring may be given in either winding; it is stored and
//! written by the right-hand rule (outline counterclockwise, holes clockwise; RFC 7946 §3.1.6),
//! since the RFC asks parsers not to refuse the other. A ring with an edge spanning more than
//! 180 degrees of longitude crosses the antimeridian and must be cut there (§3.1.9).

use reetrace_core::domain::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Positions a polygon may hold in all its rings: the simplicity check compares edges pairwise.
pub const MAX_POSITIONS: usize = 5_000;

/// One position: longitude, latitude (degrees, WGS84), optional altitude (metres).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    pub lon: f64,
    pub lat: f64,
    pub alt: Option<f64>,
}

/// How much of a geometry to check: all of it when received; when read back from the store, where
/// it was checked when written, not the pairwise simplicity of its edges (quadratic in its
/// positions), which cannot have changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checks {
    Full,
    Stored,
}

/// A validated geometry, polygons in right-hand winding.
#[derive(Debug, Clone, PartialEq)]
pub enum Geometry {
    Point(Position),
    Polygon(Vec<Vec<Position>>),
}

/// A GeoJSON geometry object (RFC 7946, WGS84): a `Point` or a `Polygon`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum GeometryInput {
    /// `coordinates`: `[longitude, latitude]` or `[longitude, latitude, altitude]`.
    Point {
        #[schema(min_items = 2, max_items = 3, example = json!([17.48, 47.085]))]
        coordinates: Vec<f64>,
    },
    /// `coordinates`: the outline ring, then any holes; each ring closed (last position = first),
    /// at least 4 positions, not crossing itself.
    Polygon {
        #[schema(min_items = 1, example = json!([[[17.47, 47.08], [17.49, 47.08], [17.49, 47.09], [17.47, 47.08]]]))]
        coordinates: Vec<Vec<Vec<f64>>>,
    },
}

impl Geometry {
    /// Checks a received geometry; problems are reported under `pointer` (the geometry
    /// object's JSON pointer).
    pub fn parse(input: &GeometryInput, pointer: &str) -> Result<Geometry, Vec<FieldError>> {
        Self::parse_with(input, pointer, Checks::Full)
    }

    /// As [`Geometry::parse`], with `checks` of it.
    pub fn parse_with(
        input: &GeometryInput,
        pointer: &str,
        checks: Checks,
    ) -> Result<Geometry, Vec<FieldError>> {
        let at = format!("{pointer}/coordinates");
        match input {
            GeometryInput::Point { coordinates } => position(coordinates, &at)
                .map(Geometry::Point)
                .map_err(|e| vec![e]),
            GeometryInput::Polygon { coordinates } => polygon(coordinates, &at, checks),
        }
    }

    /// The GeoJSON geometry object.
    pub fn to_geojson(&self) -> serde_json::Value {
        match self {
            Geometry::Point(p) => serde_json::json!({"type": "Point", "coordinates": p.array()}),
            Geometry::Polygon(rings) => {
                let coordinates: Vec<Vec<Vec<f64>>> = rings
                    .iter()
                    .map(|ring| ring.iter().map(Position::array).collect())
                    .collect();
                serde_json::json!({"type": "Polygon", "coordinates": coordinates})
            }
        }
    }

    /// The bounding box `[west, south, east, north]`.
    pub fn bbox(&self) -> [f64; 4] {
        let positions: Vec<&Position> = match self {
            Geometry::Point(p) => vec![p],
            Geometry::Polygon(rings) => rings.iter().flatten().collect(),
        };
        positions.iter().fold(
            [
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ],
            |[w, s, e, n], p| [w.min(p.lon), s.min(p.lat), e.max(p.lon), n.max(p.lat)],
        )
    }
}

impl Position {
    fn array(&self) -> Vec<f64> {
        let mut out = vec![self.lon, self.lat];
        out.extend(self.alt);
        out
    }

    fn same_place(&self, other: &Position) -> bool {
        self.lon == other.lon && self.lat == other.lat
    }
}

fn position(values: &[f64], pointer: &str) -> Result<Position, FieldError> {
    let [lon, lat, rest @ ..] = values else {
        return Err(FieldError::new(
            pointer,
            "a position is [longitude, latitude] or [longitude, latitude, altitude]",
        ));
    };
    if rest.len() > 1 {
        return Err(FieldError::new(
            pointer,
            "a position has at most three numbers: longitude, latitude, altitude",
        ));
    }
    if !(-180.0..=180.0).contains(lon) {
        return Err(FieldError::new(
            format!("{pointer}/0"),
            format!("longitude {lon} is outside -180 to 180 degrees"),
        ));
    }
    if !(-90.0..=90.0).contains(lat) {
        return Err(FieldError::new(
            format!("{pointer}/1"),
            format!(
                "latitude {lat} is outside -90 to 90 degrees (positions are [longitude, latitude])"
            ),
        ));
    }
    Ok(Position {
        lon: *lon,
        lat: *lat,
        alt: rest.first().copied(),
    })
}

fn polygon(
    rings: &[Vec<Vec<f64>>],
    pointer: &str,
    checks: Checks,
) -> Result<Geometry, Vec<FieldError>> {
    if rings.is_empty() {
        return Err(vec![FieldError::new(
            pointer,
            "a polygon needs its outline ring (and optionally holes)",
        )]);
    }
    let total: usize = rings.iter().map(Vec::len).sum();
    if total > MAX_POSITIONS {
        return Err(vec![FieldError::new(
            pointer,
            format!(
                "a polygon may hold at most {MAX_POSITIONS} positions; this one has {total} (simplify it)"
            ),
        )]);
    }
    let mut errors = Vec::new();
    let mut parsed = Vec::with_capacity(rings.len());
    for (i, ring) in rings.iter().enumerate() {
        let at = format!("{pointer}/{i}");
        match linear_ring(ring, &at, checks) {
            Ok(r) => parsed.push(r),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let holes = if checks == Checks::Full {
        parsed.len()
    } else {
        0
    };
    for (i, ring) in parsed.iter().enumerate().take(holes).skip(1) {
        let at = format!("{pointer}/{i}");
        if rings_cross(&parsed[0], ring) || !inside(&ring[0], &parsed[0]) {
            errors.push(FieldError::new(
                &at,
                "a hole must lie inside the outline (ring 0) without touching it",
            ));
        }
        for (j, other) in parsed.iter().enumerate().take(i).skip(1) {
            if rings_cross(other, ring) || inside(&ring[0], other) || inside(&other[0], ring) {
                errors.push(FieldError::new(
                    &at,
                    format!("holes must not overlap or touch; this one meets hole {j}"),
                ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let oriented = parsed
        .into_iter()
        .enumerate()
        .map(|(i, mut ring)| {
            let counterclockwise = signed_area(&ring) > 0.0;
            // Outline counterclockwise, holes clockwise.
            if counterclockwise != (i == 0) {
                ring.reverse();
            }
            ring
        })
        .collect();
    Ok(Geometry::Polygon(oriented))
}

fn linear_ring(
    values: &[Vec<f64>],
    pointer: &str,
    checks: Checks,
) -> Result<Vec<Position>, FieldError> {
    let ring = values
        .iter()
        .enumerate()
        .map(|(i, v)| position(v, &format!("{pointer}/{i}")))
        .collect::<Result<Vec<_>, _>>()?;
    if ring.len() < 4 {
        return Err(FieldError::new(
            pointer,
            format!(
                "a linear ring needs at least 4 positions (3 corners and the first repeated); it has {}",
                ring.len()
            ),
        ));
    }
    let (first, last) = (&ring[0], &ring[ring.len() - 1]);
    if !first.same_place(last) {
        return Err(FieldError::new(
            pointer,
            "the ring does not close: its last position must equal its first",
        ));
    }
    for (i, pair) in ring.windows(2).enumerate() {
        if pair[0].same_place(&pair[1]) {
            return Err(FieldError::new(
                format!("{pointer}/{}", i + 1),
                "repeats the position before it (an edge of length zero)",
            ));
        }
        if (pair[0].lon - pair[1].lon).abs() > 180.0 {
            return Err(FieldError::new(
                format!("{pointer}/{}", i + 1),
                "this edge spans more than 180 degrees of longitude: cut the polygon at the antimeridian (RFC 7946 section 3.1.9)",
            ));
        }
    }
    if checks == Checks::Full
        && let Some((a, b)) = self_crossing(&ring)
    {
        return Err(FieldError::new(
            pointer,
            format!("the ring crosses itself: edges {a} and {b} meet"),
        ));
    }
    if signed_area(&ring) == 0.0 {
        return Err(FieldError::new(pointer, "the ring encloses no area"));
    }
    Ok(ring)
}

/// Twice the signed area in the longitude-latitude plane (shoelace): positive when
/// counterclockwise.
fn signed_area(ring: &[Position]) -> f64 {
    ring.windows(2)
        .map(|w| w[0].lon * w[1].lat - w[1].lon * w[0].lat)
        .sum()
}

fn orientation(a: &Position, b: &Position, c: &Position) -> f64 {
    (b.lon - a.lon) * (c.lat - a.lat) - (b.lat - a.lat) * (c.lon - a.lon)
}

fn on_segment(a: &Position, b: &Position, p: &Position) -> bool {
    p.lon >= a.lon.min(b.lon)
        && p.lon <= a.lon.max(b.lon)
        && p.lat >= a.lat.min(b.lat)
        && p.lat <= a.lat.max(b.lat)
}

/// Whether segments `ab` and `cd` share any point (touching counts).
fn segments_meet(a: &Position, b: &Position, c: &Position, d: &Position) -> bool {
    let (d1, d2) = (orientation(c, d, a), orientation(c, d, b));
    let (d3, d4) = (orientation(a, b, c), orientation(a, b, d));
    if ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0))
        && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0))
    {
        return true;
    }
    (d1 == 0.0 && on_segment(c, d, a))
        || (d2 == 0.0 && on_segment(c, d, b))
        || (d3 == 0.0 && on_segment(a, b, c))
        || (d4 == 0.0 && on_segment(a, b, d))
}

/// The first pair of edges (numbered from 0) that meet other than neighbours at their shared
/// corner.
fn self_crossing(ring: &[Position]) -> Option<(usize, usize)> {
    let edges = ring.len() - 1;
    for i in 0..edges {
        for j in (i + 1)..edges {
            let neighbours = j == i + 1 || (i == 0 && j == edges - 1);
            let (a, b, c, d) = (&ring[i], &ring[i + 1], &ring[j], &ring[j + 1]);
            if neighbours {
                // Neighbours share one corner; they may not fold back over each other.
                let (shared, x, y) = if j == i + 1 { (b, a, d) } else { (a, b, c) };
                if orientation(x, shared, y) == 0.0
                    && (x.lon - shared.lon) * (y.lon - shared.lon)
                        + (x.lat - shared.lat) * (y.lat - shared.lat)
                        > 0.0
                {
                    return Some((i, j));
                }
            } else if segments_meet(a, b, c, d) {
                return Some((i, j));
            }
        }
    }
    None
}

fn rings_cross(r: &[Position], s: &[Position]) -> bool {
    r.windows(2).any(|e| {
        s.windows(2)
            .any(|f| segments_meet(&e[0], &e[1], &f[0], &f[1]))
    })
}

/// Whether `p` lies strictly inside the ring (even-odd rule; callers have ruled out touching).
fn inside(p: &Position, ring: &[Position]) -> bool {
    let mut crossings = false;
    for w in ring.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        if (a.lat > p.lat) != (b.lat > p.lat) {
            let lon_at = a.lon + (p.lat - a.lat) / (b.lat - a.lat) * (b.lon - a.lon);
            if p.lon < lon_at {
                crossings = !crossings;
            }
        }
    }
    crossings
}

#[cfg(test)]
#[path = "geometry_tests.rs"]
mod tests;
