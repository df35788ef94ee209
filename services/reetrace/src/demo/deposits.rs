//! The demo's residue deposits: coal ash, bauxite residue, phosphogypsum, mine tailings and
//! slag in fourteen EU countries, recorded by a geological survey the demo creates, through
//! `POST /api/v1/deposits` as any surveyor's client would.
//!
//! Every record is made up and says so (`illustrative: true`, and in its name): the places are
//! regions where such residues lie (their NUTS 2021 codes are real), not surveys of them, and no
//! operator is named. The concentrations follow the ranges of the literature; each type has an
//! element profile, scaled per deposit within the range:
//!
//! - coal fly ash about 400-600 ppm of rare earths and yttrium, shaped like the world coal-ash
//!   averages (Ketris & Yudovich 2009, as compiled by Seredin & Dai 2012, Int. J. Coal Geol. 94,
//!   67-93: about 400 ppm REY, Ce the largest, Sc about 20-25 ppm); bottom ash of the same coal
//!   somewhat lower, since the rare earths gather in the finest fraction (same source);
//! - bauxite residue about 1,000 ppm with Sc 100-150 ppm in Greece (the red mud of Aluminium of
//!   Greece: Ochsenkühn-Petropulu et al. 1994, Anal. Chim. Acta 296, 305-313; Borra et al. 2016,
//!   J. Sustain. Metall. 2, 365-386; Deady et al. 2016, Mineral. Mag. 80, 43-61), lower from the
//!   lateritic bauxites refined elsewhere in Europe (same reviews);
//! - phosphogypsum 0.05-0.5 % of rare earths, the upper end from igneous (Kola) apatite, the
//!   lower from sedimentary phosphate rock (Binnemans et al. 2015, J. Clean. Prod. 99, 17-38);
//! - tailings of apatite-bearing iron ore and of a carbonatite phosphate mine, a few hundred to
//!   over a thousand ppm, light rare earths first (Goodenough et al. 2016, Ore Geol. Rev. 72,
//!   838-856);
//! - steel slag of the order of 100 ppm (Binnemans et al. 2015).
//!
//! Nothing here draws from the demo's random streams, so the products and their chains stay the
//! world they were.

use serde_json::{Value, json};

use super::{Api, Org};

/// Coal ash: ppm per element (REY about 440 with Sc), after the world averages.
const COAL_ASH: &[(&str, f64)] = &[
    ("Sc", 23.0),
    ("Y", 51.0),
    ("La", 76.0),
    ("Ce", 140.0),
    ("Pr", 26.0),
    ("Nd", 75.0),
    ("Sm", 14.0),
    ("Eu", 2.6),
    ("Gd", 16.0),
    ("Tb", 2.1),
    ("Dy", 15.0),
    ("Ho", 4.8),
    ("Er", 6.4),
    ("Tm", 2.2),
    ("Yb", 6.9),
    ("Lu", 1.3),
];

/// Greek bauxite residue: ppm per element (about 900 with Sc 121).
const BAUXITE_RESIDUE: &[(&str, f64)] = &[
    ("Sc", 121.0),
    ("Y", 76.0),
    ("La", 114.0),
    ("Ce", 368.0),
    ("Pr", 28.0),
    ("Nd", 99.0),
    ("Sm", 21.0),
    ("Eu", 5.0),
    ("Gd", 22.0),
    ("Tb", 3.5),
    ("Dy", 17.0),
    ("Ho", 3.7),
    ("Er", 13.0),
    ("Yb", 14.0),
    ("Lu", 2.4),
];

/// Phosphogypsum: ppm per element for 1,000 ppm (0.1 %) in all.
const PHOSPHOGYPSUM: &[(&str, f64)] = &[
    ("Y", 110.0),
    ("La", 230.0),
    ("Ce", 400.0),
    ("Pr", 45.0),
    ("Nd", 160.0),
    ("Sm", 22.0),
    ("Eu", 6.0),
    ("Gd", 17.0),
    ("Tb", 2.0),
    ("Dy", 8.0),
];

/// Apatite-bearing tailings: ppm per element for 1,000 ppm in all.
const TAILINGS: &[(&str, f64)] = &[
    ("Y", 150.0),
    ("La", 200.0),
    ("Ce", 390.0),
    ("Pr", 45.0),
    ("Nd", 160.0),
    ("Sm", 25.0),
    ("Eu", 5.0),
    ("Gd", 15.0),
    ("Dy", 10.0),
];

/// Steel slag: ppm per element for 100 ppm in all.
const SLAG: &[(&str, f64)] = &[
    ("Sc", 12.0),
    ("Y", 18.0),
    ("La", 20.0),
    ("Ce", 30.0),
    ("Nd", 14.0),
    ("Sm", 3.0),
    ("Gd", 3.0),
];

/// One illustrative deposit.
struct Site {
    /// Where, for its name.
    place: &'static str,
    deposit_type: &'static str,
    status: &'static str,
    country: &'static str,
    nuts: &'static str,
    /// Longitude, latitude (WGS84).
    at: (f64, f64),
    /// Half the side of its outline in km; 0 records a point.
    half_side_km: f64,
    tonnes: f64,
    method: &'static str,
    years: (i32, Option<i32>),
    profile: &'static [(&'static str, f64)],
    /// The profile times this is the deposit's concentration.
    scale: f64,
}

#[rustfmt::skip]
const SITES: &[Site] = &[
    Site { place: "Stara Zagora", deposit_type: "fly_ash", status: "active", country: "BG", nuts: "BG344", at: (25.91, 42.15), half_side_km: 1.2, tonnes: 60e6, method: "production_model", years: (1962, None), profile: COAL_ASH, scale: 1.15 },
    Site { place: "Bełchatów", deposit_type: "fly_ash", status: "active", country: "PL", nuts: "PL713", at: (19.27, 51.25), half_side_km: 0.0, tonnes: 45e6, method: "operator_records", years: (1981, None), profile: COAL_ASH, scale: 1.0 },
    Site { place: "Kozani", deposit_type: "fly_ash", status: "closed", country: "GR", nuts: "EL531", at: (21.75, 40.45), half_side_km: 0.8, tonnes: 38e6, method: "survey", years: (1959, Some(2021)), profile: COAL_ASH, scale: 1.3 },
    Site { place: "Spree-Neiße", deposit_type: "bottom_ash", status: "active", country: "DE", nuts: "DE40G", at: (14.46, 51.84), half_side_km: 0.0, tonnes: 9e6, method: "operator_records", years: (1976, None), profile: COAL_ASH, scale: 0.8 },
    Site { place: "Ústí nad Labem region", deposit_type: "bottom_ash", status: "closed", country: "CZ", nuts: "CZ042", at: (13.6, 50.5), half_side_km: 0.5, tonnes: 6.5e6, method: "survey", years: (1965, Some(2016)), profile: COAL_ASH, scale: 0.75 },
    Site { place: "Trenčín region", deposit_type: "bottom_ash", status: "abandoned", country: "SK", nuts: "SK022", at: (18.56, 48.72), half_side_km: 0.0, tonnes: 2.8e6, method: "expert_judgement", years: (1953, Some(1996)), profile: COAL_ASH, scale: 0.7 },
    Site { place: "Boeotia", deposit_type: "bauxite_residue", status: "active", country: "GR", nuts: "EL642", at: (22.66, 38.36), half_side_km: 0.7, tonnes: 12e6, method: "survey", years: (1966, None), profile: BAUXITE_RESIDUE, scale: 1.1 },
    Site { place: "Veszprém county", deposit_type: "bauxite_residue", status: "closed", country: "HU", nuts: "HU213", at: (17.49, 47.085), half_side_km: 0.9, tonnes: 30e6, method: "survey", years: (1942, Some(2010)), profile: BAUXITE_RESIDUE, scale: 0.75 },
    Site { place: "Shannon estuary", deposit_type: "bauxite_residue", status: "active", country: "IE", nuts: "IE051", at: (-9.06, 52.62), half_side_km: 0.0, tonnes: 25e6, method: "production_model", years: (1983, None), profile: BAUXITE_RESIDUE, scale: 0.55 },
    Site { place: "Lower Elbe", deposit_type: "bauxite_residue", status: "closed", country: "DE", nuts: "DE939", at: (9.5, 53.62), half_side_km: 0.0, tonnes: 7e6, method: "operator_records", years: (1973, Some(2006)), profile: BAUXITE_RESIDUE, scale: 0.6 },
    Site { place: "Huelva", deposit_type: "phosphogypsum", status: "closed", country: "ES", nuts: "ES615", at: (-6.93, 37.26), half_side_km: 1.5, tonnes: 100e6, method: "survey", years: (1968, Some(2010)), profile: PHOSPHOGYPSUM, scale: 0.6 },
    Site { place: "Szczecin lagoon", deposit_type: "phosphogypsum", status: "active", country: "PL", nuts: "PL428", at: (14.55, 53.57), half_side_km: 0.0, tonnes: 40e6, method: "production_model", years: (1969, None), profile: PHOSPHOGYPSUM, scale: 1.5 },
    Site { place: "Kaunas county", deposit_type: "phosphogypsum", status: "active", country: "LT", nuts: "LT022", at: (23.97, 55.28), half_side_km: 0.6, tonnes: 20e6, method: "operator_records", years: (1963, None), profile: PHOSPHOGYPSUM, scale: 4.5 },
    Site { place: "Norrbotten", deposit_type: "mine_tailings", status: "active", country: "SE", nuts: "SE332", at: (20.15, 67.83), half_side_km: 1.0, tonnes: 250e6, method: "production_model", years: (1964, None), profile: TAILINGS, scale: 1.2 },
    Site { place: "Northern Savonia", deposit_type: "mine_tailings", status: "active", country: "FI", nuts: "FI1D2", at: (27.73, 63.12), half_side_km: 0.0, tonnes: 120e6, method: "survey", years: (1979, None), profile: TAILINGS, scale: 0.6 },
    Site { place: "Duisburg", deposit_type: "slag", status: "closed", country: "DE", nuts: "DEA12", at: (6.74, 51.48), half_side_km: 0.0, tonnes: 4e6, method: "expert_judgement", years: (1900, Some(1985)), profile: SLAG, scale: 1.0 },
    Site { place: "Taranto", deposit_type: "slag", status: "active", country: "IT", nuts: "ITF43", at: (17.2, 40.51), half_side_km: 0.4, tonnes: 8e6, method: "operator_records", years: (1965, None), profile: SLAG, scale: 1.4 },
    Site { place: "Linz-Wels", deposit_type: "slag", status: "abandoned", country: "AT", nuts: "AT312", at: (14.33, 48.28), half_side_km: 0.0, tonnes: 1.5e6, method: "expert_judgement", years: (1947, Some(1979)), profile: SLAG, scale: 0.8 },
];

/// A value to one decimal place, as a laboratory reports it.
fn tenth(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// A value to five decimal places (a metre or so in degrees).
fn degrees(x: f64) -> f64 {
    (x * 1e5).round() / 1e5
}

impl Site {
    fn name(&self) -> String {
        let what = match self.deposit_type {
            "fly_ash" => "Fly ash lagoon",
            "bottom_ash" => "Bottom ash landfill",
            "bauxite_residue" => "Bauxite residue pond",
            "phosphogypsum" => "Phosphogypsum stack",
            "mine_tailings" => "Tailings facility",
            _ => "Slag heap",
        };
        format!("{what}, {} (illustrative)", self.place)
    }

    /// A point, or a square outline counterclockwise (the right-hand rule of RFC 7946).
    fn geometry(&self) -> Value {
        let (lon, lat) = self.at;
        if self.half_side_km == 0.0 {
            return json!({"type": "Point", "coordinates": [lon, lat]});
        }
        let dlat = self.half_side_km / 111.0;
        let dlon = dlat / lat.to_radians().cos();
        let (w, e) = (degrees(lon - dlon), degrees(lon + dlon));
        let (s, n) = (degrees(lat - dlat), degrees(lat + dlat));
        json!({"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]})
    }

    /// An ICP-MS campaign over the whole profile and, for every other deposit, an XRF check of
    /// the elements above its detection limit (about 50 ppm) reading a little higher, so that
    /// the deposit's concentration is a weighted mean of two assays.
    fn assays(&self, index: usize) -> Vec<Value> {
        let line = |(element, ppm): &(&str, f64), scale: f64, relative: f64| {
            let ppm = tenth(ppm * scale);
            json!({"element": element, "ppm": ppm, "uncertainty_ppm": tenth(ppm * relative).max(0.1)})
        };
        let icp: Vec<Value> = self
            .profile
            .iter()
            .map(|e| line(e, self.scale, 0.05))
            .collect();
        let mut assays = vec![json!({
            "sampled_on": format!("2024-{:02}-15", 3 + index % 8),
            "method": "ICP-MS",
            "laboratory": "Demo survey laboratory",
            "sample_count": 8 + (index % 5) * 4,
            "concentrations": icp,
        })];
        if index.is_multiple_of(2) {
            let xrf: Vec<Value> = self
                .profile
                .iter()
                .filter(|(_, ppm)| ppm * self.scale >= 50.0)
                .map(|e| line(e, self.scale * 1.06, 0.1))
                .collect();
            if !xrf.is_empty() {
                assays.push(json!({
                    "sampled_on": format!("2025-{:02}-02", 2 + index % 9),
                    "method": "XRF",
                    "laboratory": "Demo university laboratory",
                    "sample_count": 4,
                    "concentrations": xrf,
                }));
            }
        }
        assays
    }

    fn record(&self, index: usize) -> Value {
        let (from, to) = self.years;
        let mut deposition = json!({"from": from});
        if let Some(to) = to {
            deposition["to"] = json!(to);
        }
        json!({
            "name": self.name(),
            "type": self.deposit_type,
            "status": self.status,
            "location": {"geometry": self.geometry(), "country": self.country, "nuts": self.nuts},
            "tonnage": {"tonnes": self.tonnes, "uncertainty_tonnes": self.tonnes * 0.15, "method": self.method},
            "deposition": deposition,
            "assays": self.assays(index),
            "illustrative": true,
        })
    }
}

/// Creates the demo's surveyor and records every deposit; returns the surveyor and how many.
pub(super) async fn record(api: &Api, admin: &str) -> anyhow::Result<(Org, usize)> {
    let surveyor = api
        .org(admin, "Demo Geological Survey", "surveyor", "BE", 300)
        .await?;
    for (i, site) in SITES.iter().enumerate() {
        api.post("/api/v1/deposits", &surveyor.key, &site.record(i))
            .await?;
    }
    Ok((surveyor, SITES.len()))
}

#[cfg(test)]
#[path = "deposits_tests.rs"]
mod tests;
