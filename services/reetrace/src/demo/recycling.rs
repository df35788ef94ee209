//! The end of life of the demo's products (collected, handed over, sorted, dismantled,
//! recycled into oxide lots) and the loop closed for CRMA art. 29: new products whose magnets
//! claim rare earths recovered from those lots (post-consumer: from end-of-life products).

use anyhow::Context;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

use super::kinds;
use super::world::{Kind, MANUFACTURERS, registration, round6};
use super::{Api, Org, Placed};

/// One product's end of life: collected, handed over, accepted, sorted, dismantled into a magnet
/// lot, recycled into an oxide lot. Returns the oxide lot.
pub(super) async fn chain(
    api: &Api,
    p: &Placed,
    collector: &Org,
    processor: &Org,
    seed: u64,
) -> anyhow::Result<Option<String>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let eol_year = (f64::from(p.year) + p.kind.lifetime_years)
        .min(2025.0)
        .max(f64::from(p.year) + 1.0) as i32;
    let month: u32 = rng.random_range(1..=9);
    let at = |m: u32, d: u32| format!("{eol_year}-{:02}-{d:02}T09:00:00Z", month + m);
    let step = |action: &str, when: String, extra: Value| {
        let mut body = json!({"action": action, "at": when, "location": {"country": p.country}});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        body
    };
    let path = format!("/api/v1/custody/{}/events", p.passport_id);
    api.post(&path, &collector.key, &step("collect", at(0, 2), json!({})))
        .await?;
    api.post(
        &path,
        &collector.key,
        &step("handover", at(0, 9), json!({"to_org": processor.id})),
    )
    .await?;
    api.post(&path, &processor.key, &step("accept", at(0, 12), json!({})))
        .await?;
    api.post(&path, &processor.key, &step("sort", at(0, 15), json!({})))
        .await?;
    if rng.random_bool(0.1) {
        api.post(
            &path,
            &processor.key,
            &step("destroy", at(0, 20), json!({})),
        )
        .await?;
        return Ok(None);
    }
    let units = p.kind.units as f64;
    let dismantled = p.kind.dismantled();
    let lot_elements: Vec<Value> = dismantled
        .elements
        .iter()
        .map(|(e, g)| json!({"element": e, "mass_g": round6(g * units * 0.95)}))
        .collect();
    let lot = api
        .post(
            "/api/v1/custody/transformations",
            &processor.key,
            &json!({"process": "dismantling", "at": at(1, 5), "inputs": [{"passport": p.passport_id}],
                "outputs": [{"kind": "lot", "material": dismantled.material,
                    "mass_g": round6(dismantled.mass_g * units * 0.97), "elements": lot_elements}]}),
        )
        .await?;
    let lot = lot["lots"][0]["lot_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let recovered = |g: f64| g * units * 0.95 * p.kind.recovery;
    let oxide_elements: Vec<Value> = dismantled
        .elements
        .iter()
        .map(|(e, g)| json!({"element": e, "mass_g": round6(recovered(*g))}))
        .collect();
    let oxide_mass: f64 = dismantled
        .elements
        .iter()
        .map(|(_, g)| recovered(*g) * 1.17)
        .sum();
    let recycled = api
        .post(
            "/api/v1/custody/transformations",
            &processor.key,
            &json!({"process": "recycling", "at": at(2, 10), "inputs": [{"lot": lot}],
                "outputs": [{"kind": "oxide", "material": "mixed rare-earth oxide", "mass_g": round6(oxide_mass.max(0.000001)),
                    "elements": oxide_elements}]}),
        )
        .await?;
    Ok(recycled["lots"][0]["lot_id"].as_str().map(str::to_owned))
}

/// How many products claim recycled content for art. 29 (two per manufacturer).
const ART29_CLAIMS: usize = 16;

/// The share of a magnet set's element that a product claims at most: recycled content as
/// the better magnet makers reach it today.
const CLAIMED_SHARE: f64 = 0.3;

/// Item products whose largest NdFeB set holds more than art. 29's 0.2 kg by itself.
fn claiming_kinds() -> Vec<&'static Kind> {
    kinds::all()
        .filter(|k| k.units == 1)
        .filter(|k| {
            k.design().is_some_and(|d| {
                d.exemption.is_none()
                    && d.main_ndfeb()
                        .is_some_and(|(_, _, s)| f64::from(s.count) * s.unit_mass_g > 200.0)
            })
        })
        .collect()
}

/// New products of art. 28(1), placed at the end of 2025, whose main NdFeB magnets claim
/// recycled rare earths from the oxide lots (each a different lot, at most half of what is
/// left in it: the most one manufacturer may reserve). Returns their passport ids.
pub(super) async fn claim_for_art29(
    api: &Api,
    admin: &str,
    manufacturers: &[Org],
    lots: &[String],
    rng: &mut StdRng,
) -> anyhow::Result<Vec<String>> {
    let kinds = claiming_kinds();
    let mut claimed = Vec::new();
    for lot in lots {
        if claimed.len() == ART29_CLAIMS {
            break;
        }
        let (status, view) = api
            .send(
                reqwest::Method::GET,
                &format!("/api/v1/lots/{lot}"),
                admin,
                None,
            )
            .await?;
        if status != 200 {
            continue;
        }
        let n = claimed.len();
        let kind = kinds[n % kinds.len()];
        let Some(design) = kind.design() else {
            continue;
        };
        let Some((part, magnet, set)) = design.main_ndfeb() else {
            continue;
        };
        let claimable = |element: &str| {
            view["claimable"]
                .as_array()
                .and_then(|a| a.iter().find(|e| e["element"] == element))
                .and_then(|e| e["mass_g"].as_f64())
                .unwrap_or(0.0)
        };
        let elements: Vec<Value> = set
            .composition()
            .filter_map(|(element, grams)| {
                let held = grams * f64::from(set.count) * CLAIMED_SHARE;
                // To the microgram below: never more than half of what is left.
                let mass = ((claimable(element) / 2.0).min(held) * 1e6).floor() / 1e6;
                (mass >= 0.001).then(|| json!({"element": element, "mass_g": mass}))
            })
            .collect();
        if elements.is_empty() {
            continue;
        }
        let maker = n % manufacturers.len();
        let mut body = registration(
            kind,
            &MANUFACTURERS[maker],
            &format!("DEMO-RC-{n:04}"),
            2025,
            MANUFACTURERS[maker].country,
            rng,
        );
        body["product"]["manufactured_on"] = json!("2025-12-01");
        body["product"]["placed_on_market"]["date"] = json!("2025-12-15");
        body["ree_content"]["components"][part]["magnets"][magnet]["recycled_sources"] =
            json!([{"lot": lot, "elements": elements}]);
        let answer = api
            .post("/api/v1/passports", &manufacturers[maker].key, &body)
            .await
            .with_context(|| format!("register {} with recycled content", kind.name))?;
        claimed.push(answer["id"].as_str().unwrap_or_default().to_owned());
    }
    Ok(claimed)
}
