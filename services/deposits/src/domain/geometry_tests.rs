#![allow(clippy::unwrap_used)]

use super::*;

fn parse(json: serde_json::Value) -> Result<Geometry, Vec<FieldError>> {
    let input: GeometryInput = serde_json::from_value(json).expect("geometry object");
    Geometry::parse(&input, "/location/geometry")
}

fn pointer_of(json: serde_json::Value) -> (String, String) {
    let errors = parse(json).expect_err("refused");
    (errors[0].pointer.clone(), errors[0].detail.clone())
}

#[test]
fn a_point_is_longitude_then_latitude() {
    let g = parse(serde_json::json!({"type": "Point", "coordinates": [14.5, 46.05]})).unwrap();
    assert_eq!(
        g,
        Geometry::Point(Position {
            lon: 14.5,
            lat: 46.05,
            alt: None
        })
    );
    assert_eq!(
        g.to_geojson()["coordinates"],
        serde_json::json!([14.5, 46.05])
    );
    let (at, why) = pointer_of(serde_json::json!({"type": "Point", "coordinates": [14.5, 96.0]}));
    assert_eq!(at, "/location/geometry/coordinates/1");
    assert!(why.contains("latitude 96"), "{why}");
    let (at, _) = pointer_of(serde_json::json!({"type": "Point", "coordinates": [-181.0, 0.0]}));
    assert_eq!(at, "/location/geometry/coordinates/0");
    let (at, _) = pointer_of(serde_json::json!({"type": "Point", "coordinates": [1.0]}));
    assert_eq!(at, "/location/geometry/coordinates");
}

#[test]
fn polygons_are_stored_by_the_right_hand_rule() {
    // Clockwise outline, as many tools write it.
    let cw = serde_json::json!({"type": "Polygon", "coordinates": [
        [[0.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.0], [0.0, 0.0]],
        [[0.2, 0.2], [0.4, 0.2], [0.4, 0.4], [0.2, 0.4], [0.2, 0.2]]
    ]});
    let Geometry::Polygon(rings) = parse(cw).unwrap() else {
        panic!("a polygon")
    };
    assert!(signed_area(&rings[0]) > 0.0, "outline counterclockwise");
    assert!(signed_area(&rings[1]) < 0.0, "hole clockwise");
    assert_eq!(rings[0][0], rings[0][4]);
}

#[test]
fn open_short_crossing_and_antimeridian_rings_are_refused_by_pointer() {
    let open = serde_json::json!({"type": "Polygon", "coordinates": [
        [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
    ]});
    let (at, why) = pointer_of(open);
    assert_eq!(at, "/location/geometry/coordinates/0");
    assert!(why.contains("does not close"), "{why}");

    let short = serde_json::json!({"type": "Polygon", "coordinates": [
        [[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]]
    ]});
    assert!(pointer_of(short).1.contains("at least 4 positions"));

    // A bow tie: edges 0 and 2 cross at (0.5, 0.5).
    let bow = serde_json::json!({"type": "Polygon", "coordinates": [
        [[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]
    ]});
    let (at, why) = pointer_of(bow);
    assert_eq!(at, "/location/geometry/coordinates/0");
    assert!(why.contains("crosses itself: edges 0 and 2"), "{why}");

    // An edge folding back over the one before it.
    let spike = serde_json::json!({"type": "Polygon", "coordinates": [
        [[0.0, 0.0], [2.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]
    ]});
    assert!(pointer_of(spike).1.contains("crosses itself"));

    let dateline = serde_json::json!({"type": "Polygon", "coordinates": [
        [[179.0, 0.0], [-179.0, 0.0], [-179.0, 1.0], [179.0, 1.0], [179.0, 0.0]]
    ]});
    let (at, why) = pointer_of(dateline);
    assert_eq!(at, "/location/geometry/coordinates/0/1");
    assert!(why.contains("antimeridian"), "{why}");

    let flat = serde_json::json!({"type": "Polygon", "coordinates": [
        [[0.0, 0.0], [1.0, 0.0], [0.5, 0.0], [0.0, 0.0]]
    ]});
    assert!(parse(flat).is_err());
}

#[test]
fn holes_stay_inside_and_apart() {
    let outside = serde_json::json!({"type": "Polygon", "coordinates": [
        [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]],
        [[2.0, 2.0], [3.0, 2.0], [3.0, 3.0], [2.0, 2.0]]
    ]});
    let (at, why) = pointer_of(outside);
    assert_eq!(at, "/location/geometry/coordinates/1");
    assert!(why.contains("inside the outline"), "{why}");

    let overlapping = serde_json::json!({"type": "Polygon", "coordinates": [
        [[0.0, 0.0], [4.0, 0.0], [4.0, 4.0], [0.0, 4.0], [0.0, 0.0]],
        [[1.0, 1.0], [2.0, 1.0], [2.0, 2.0], [1.0, 2.0], [1.0, 1.0]],
        [[1.5, 1.5], [3.0, 1.5], [3.0, 3.0], [1.5, 3.0], [1.5, 1.5]]
    ]});
    let (at, why) = pointer_of(overlapping);
    assert_eq!(at, "/location/geometry/coordinates/2");
    assert!(why.contains("hole 1"), "{why}");
}

#[test]
fn polygons_are_capped_before_the_pairwise_check() {
    let ring: Vec<Vec<f64>> = (0..=MAX_POSITIONS)
        .map(|i| {
            let t = i as f64 / MAX_POSITIONS as f64 * std::f64::consts::TAU;
            vec![t.cos(), t.sin()]
        })
        .collect();
    let input = GeometryInput::Polygon {
        coordinates: vec![ring],
    };
    let errors = Geometry::parse(&input, "/g").expect_err("too many");
    assert!(
        errors[0].detail.contains("at most 5000"),
        "{}",
        errors[0].detail
    );
}

#[test]
fn a_stored_polygon_is_read_back_without_the_pairwise_check() {
    // A valid polygon of 4,000 positions, given clockwise: read back, it is the same geometry.
    let mut ring: Vec<Vec<f64>> = (0..4_000)
        .map(|i| {
            let t = -(i as f64) / 4_000.0 * std::f64::consts::TAU;
            vec![10.0 + t.cos(), 45.0 + t.sin()]
        })
        .collect();
    ring.push(ring[0].clone());
    let input = GeometryInput::Polygon {
        coordinates: vec![ring],
    };
    let checked = Geometry::parse(&input, "/g").unwrap();
    assert_eq!(
        Geometry::parse_with(&input, "/g", Checks::Stored).unwrap(),
        checked
    );
    // What only the pairwise check sees is not looked for again: a bow tie (which no store
    // holds, since it is refused when received) is read back as given.
    let bow_tie = GeometryInput::Polygon {
        coordinates: vec![vec![
            vec![0.0, 0.0],
            vec![2.0, 2.0],
            vec![2.0, 0.0],
            vec![0.0, 1.0],
            vec![0.0, 0.0],
        ]],
    };
    assert!(Geometry::parse(&bow_tie, "/g").is_err());
    assert!(Geometry::parse_with(&bow_tie, "/g", Checks::Stored).is_ok());
}
