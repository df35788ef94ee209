//! `reetrace demo`: loads a realistic synthetic world through the public API, so that every
//! page and regulator endpoint shows meaningful figures on a fresh install.
//!
//! Manufacturers in eight EU countries register products placed on the market from 2010 to
//! 2025 (`kinds`), with REE content from the literature figures of the reference table
//! (`shared/data/ree_content_reference.csv`: generic sintered NdFeB composition 20/5/5/1 wt%
//! Nd/Pr/Dy/Tb, 1.5 kg of magnets per EV motor, 650 kg NdFeB per MW of direct-drive wind, 4 g
//! Nd per hard drive, 0.25 g REE per phone, 2 kg REE per NiMH pack, 60 g Ce per
//! autocatalyst...). Motors, generators and the products of every group of CRMA art. 28(1)
//! register their magnets one set at a time (`magnets`; `machines`, `equipment`, `cooling`,
//! `appliances`): type,
//! grade, composition from wt % turned into masses, coatings, glues, additives, position, and
//! the removal sequence with its tools. Products that reached the end of their life are
//! collected, handed over, sorted, dismantled and recycled by recyclers (`recycling`); new
//! products claim recycled content from the oxide lots, magnet by magnet, so that the
//! free-access pages of art. 29 show shares. A geological survey records illustrative residue
//! deposits (coal ash, bauxite residue, phosphogypsum, tailings, slag) with assays in the ranges
//! of the literature (`deposits`). Everything goes through the HTTP API of a server started in
//! this process on the configured database, exactly as clients would do it.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use reetrace_core::domain::Role;
use reetrace_core::domain::account::NewOrg;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

mod appliances;
mod cooling;
mod deposits;
mod equipment;
mod kinds;
mod machines;
mod magnets;
mod recycling;
mod world;

use world::{Kind, MAKERS_PER_CATEGORY, MANUFACTURERS, RECYCLERS, registration, round6};

use crate::app;
use crate::cli::print_out;
use crate::config::Config;

/// A created organisation.
struct Org {
    id: String,
    key: String,
}

/// An HTTP client of the demo server.
struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        key: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(key);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("call {path}"))?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    async fn post(&self, path: &str, key: &str, body: &Value) -> anyhow::Result<Value> {
        let (status, answer) = self
            .send(reqwest::Method::POST, path, key, Some(body))
            .await?;
        if !(200..300).contains(&status) {
            bail!("{path} answered {status}: {answer}");
        }
        Ok(answer)
    }

    async fn org(
        &self,
        admin: &str,
        name: &str,
        role: &str,
        country: &str,
        n: usize,
    ) -> anyhow::Result<Org> {
        let eori = format!("{country}{:012}", 100_000_000 + n);
        let answer = self
            .post(
                "/api/v1/orgs",
                admin,
                &json!({"name": name, "role": role, "operator_id": {"scheme": "eori", "value": eori}}),
            )
            .await?;
        Ok(Org {
            id: answer["org_id"].as_str().unwrap_or_default().to_owned(),
            key: answer["api_key"].as_str().unwrap_or_default().to_owned(),
        })
    }
}

/// A product placed on the market, as the demo remembers it.
struct Placed {
    passport_id: String,
    kind: &'static Kind,
    year: i32,
    country: &'static str,
}

/// Seeds the random stream of the CRMA products (with the demo's seed).
const CRMA_STREAM: u64 = 0x0028_0029;

/// A registration on its way to the bulk endpoint.
type Pending = (Value, &'static Kind, i32, &'static str);

/// Runs the demo: prints the keys it made and what it loaded.
pub async fn run(config: &Config, products: usize, seed: u64) -> anyhow::Result<ExitCode> {
    if products == 0 || products > 1_000_000 {
        bail!("--products must be between 1 and 1000000");
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("listen for the demo server")?;
    let address = listener.local_addr()?;
    let mut config = config.clone();
    // Credentials name the instance's public URL (the one its database recorded, else the
    // configured or default one), not the demo server's temporary port.
    let db = app::open_database(&config).await?;
    let base_url = crate::instance::base_url(&db, &config).await;
    db.close().await;
    config.public_base_url = Some(base_url?);
    config.listen = address;
    // Demo data loads faster than any client would call; no rate limit for it.
    config.rate_limit.per_second = 0;
    config.address_rate_limit.per_second = 0;
    let built = app::build(&config).await?;
    let admin = built
        .accounts()
        .create_org(NewOrg {
            name: "Demo administrator".into(),
            role: Role::Admin,
            operator_id: None,
        })
        .await
        .map_err(|p| anyhow::anyhow!("create the demo admin: {p}"))?;
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(built.run(listener, shutdown.clone()));
    let result = load(
        &Api {
            client: {
                reetrace_passport::client::install_crypto_provider();
                reqwest::Client::new()
            },
            base: format!("http://{address}"),
        },
        &admin.api_key,
        products,
        seed,
    )
    .await;
    shutdown.cancel();
    let _ = server.await;
    let summary = result?;
    print_out(&serde_json::to_string_pretty(&summary)?)?;
    Ok(ExitCode::SUCCESS)
}

async fn load(api: &Api, admin: &str, products: usize, seed: u64) -> anyhow::Result<Value> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut manufacturers = Vec::new();
    for (i, maker) in MANUFACTURERS.iter().enumerate() {
        manufacturers.push(
            api.org(admin, maker.name, "manufacturer", maker.country, i)
                .await?,
        );
    }
    let mut recyclers = Vec::new();
    for (i, (name, country)) in RECYCLERS.iter().enumerate() {
        recyclers.push((
            api.org(admin, name, "recycler", country, 100 + i).await?,
            *country,
        ));
    }
    let regulator = api
        .org(
            admin,
            "European Raw Materials Observatory",
            "regulator",
            "BE",
            200,
        )
        .await?;

    // Passports per kind and year, by relative volume; the products of CRMA art. 28(1) that
    // the reference figures lack scale with the same total, from their own random stream.
    let reference = weights(kinds::REFERENCE);
    let total: f64 = reference.iter().map(|w| w.2).sum();
    let bar = ProgressBar::new(products as u64).with_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message("passports");
    let mut by_maker: BTreeMap<usize, Vec<Pending>> = BTreeMap::new();
    let mut n = 0usize;
    let share = (total, products as f64);
    place(&reference, share, &mut rng, &mut by_maker, &mut n);
    let mut crma_rng = StdRng::seed_from_u64(seed ^ CRMA_STREAM);
    place(
        &weights(kinds::CRMA),
        share,
        &mut crma_rng,
        &mut by_maker,
        &mut n,
    );
    let mut placed = Vec::new();
    for (maker, items) in by_maker {
        let key = &manufacturers[maker].key;
        for chunk in items.chunks(2_000) {
            let body = Value::Array(chunk.iter().map(|(r, ..)| r.clone()).collect());
            let outcome = api.post("/api/v1/passports/bulk", key, &body).await?;
            for (line, (_, kind, year, country)) in outcome["results"]
                .as_array()
                .into_iter()
                .flatten()
                .zip(chunk)
            {
                // A refused line is a fault of the demo's world: say which.
                let Some(id) = line["id"].as_str() else {
                    bail!("the demo's {} was refused: {line}", kind.name);
                };
                placed.push(Placed {
                    passport_id: id.to_owned(),
                    kind,
                    year: *year,
                    country,
                });
            }
            bar.inc(chunk.len() as u64);
        }
    }
    bar.finish_with_message("passports");

    // End of life: what reached it by 2025 is collected by a share, then recycled (the kinds
    // never collected draw nothing, so they leave the reference world's chains as they were).
    let mut chains: Vec<&Placed> = Vec::new();
    for p in &placed {
        if p.kind.collection == 0.0 {
            continue;
        }
        let end_of_life =
            f64::from(p.year) + p.kind.lifetime_years <= 2025.0 || rng.random_bool(0.03);
        if end_of_life && rng.random_bool(p.kind.collection) {
            chains.push(p);
        }
    }
    let bar = ProgressBar::new(chains.len() as u64).with_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message("custody");
    let recyclers = Arc::new(recyclers);
    let jobs = chains.iter().enumerate().map(|(i, p)| {
        let collector = &recyclers[i % recyclers.len()].0;
        let processor = &recyclers[(i + 1) % recyclers.len()].0;
        let seed = rng.random_range(0..u64::MAX);
        let bar = bar.clone();
        async move {
            let result = recycling::chain(api, p, collector, processor, seed).await;
            bar.inc(1);
            result
        }
    });
    let results: Vec<anyhow::Result<Option<String>>> =
        futures::stream::iter(jobs).buffered(8).collect().await;
    bar.finish_with_message("custody");
    let mut oxides = Vec::new();
    for r in results {
        if let Some(lot) = r? {
            oxides.push(lot);
        }
    }

    // Closing the loop: new magnets with recycled content from the first oxide lots...
    let magnet_lots = oxides.len().min(20);
    let mut claimed = 0;
    for (i, lot) in oxides[..magnet_lots].iter().enumerate() {
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
        let Some(nd) = view["claimable"]
            .as_array()
            .and_then(|a| a.iter().find(|e| e["element"] == "Nd"))
        else {
            continue;
        };
        // Half of what is left, to the microgram below: the most one manufacturer may hold
        // in reservations on a lot.
        let nd_g = (nd["mass_g"].as_f64().unwrap_or(0.0) * 1e6 / 2.0).floor() / 1e6;
        if nd_g < 0.001 {
            continue;
        }
        let magnet_nd = round6(nd_g * 4.0);
        let body = json!({"granularity": "item",
            "product": {"serial": format!("DEMO-MAG-{i:04}"), "name": "Sintered NdFeB magnet block with recycled content",
                "category": "ndfeb_magnet", "net_mass_g": round6(magnet_nd * 5.0),
                "placed_on_market": {"date": "2025-06-01", "country": "DE"}, "expected_lifetime_years": 15},
            "ree_content": {"components": [{"name": "magnet block", "material": "NdFeB-sintered", "mass_g": round6(magnet_nd * 5.0),
                "elements": [{"element": "Nd", "mass_g": magnet_nd}],
                "recycled_content": {"post_consumer": 0.25, "sources": [{"lot": lot, "elements": [{"element": "Nd", "mass_g": round6(nd_g)}]}]}}]}});
        let maker = &manufacturers[i % manufacturers.len()];
        if api
            .post("/api/v1/passports", &maker.key, &body)
            .await
            .is_ok()
        {
            claimed += 1;
        }
    }
    // ...and products of art. 28(1) whose magnets claim from the next ones (art. 29 shares).
    let art29 =
        recycling::claim_for_art29(api, admin, &manufacturers, &oxides[magnet_lots..], &mut rng)
            .await?;
    // The second secondary resource beside the urban mine: residue deposits with their assays.
    let (surveyor, deposits) = deposits::record(api, admin).await?;

    Ok(json!({
        "passports": placed.len() + claimed + art29.len(),
        "custody_chains": chains.len(),
        "oxide_lots": oxides.len(),
        "recycled_content_passports": claimed + art29.len(),
        "deposits": deposits,
        "crma": {
            "samples": samples(&placed),
            "recycled_content_claims": art29,
        },
        "manufacturers": manufacturers.iter().zip(MANUFACTURERS).map(|(org, maker)| {
            json!({"org_id": org.id, "name": maker.name})
        }).collect::<Vec<_>>(),
        "keys": {
            "admin": admin,
            "regulator": regulator.key,
            "manufacturer": {"org_id": manufacturers[0].id, "api_key": manufacturers[0].key},
            "recycler": {"org_id": recyclers[0].0.id, "api_key": recyclers[0].0.key},
            "surveyor": {"org_id": surveyor.id, "api_key": surveyor.key},
        },
        "note": "Keep these keys: they are shown once. Open /dashboard with the regulator key.",
    }))
}

/// Passports per year of each kind, relative: `(kind, year, weight)`, linear from the first
/// year's volume to the last's.
fn weights(kinds: &'static [Kind]) -> Vec<(&'static Kind, i32, f64)> {
    let mut weights = Vec::new();
    for kind in kinds {
        let (first, last) = kind.years;
        for year in first..=last {
            let t = f64::from(year - first) / f64::from((last - first).max(1));
            weights.push((
                kind,
                year,
                kind.volume.0 + (kind.volume.1 - kind.volume.0) * t,
            ));
        }
    }
    weights
}

/// Draws the registrations of `weights` (`share`: the weight of `share.1` passports), each to
/// its manufacturer.
fn place(
    weights: &[(&'static Kind, i32, f64)],
    share: (f64, f64),
    rng: &mut StdRng,
    by_maker: &mut BTreeMap<usize, Vec<Pending>>,
    n: &mut usize,
) {
    for (kind, year, weight) in weights {
        // Every category is made by at least three manufacturers every year, as in a real market:
        // a regulator's yearly figures are then built from enough organisations to be published
        // under disclosure control (one wind turbine holds as much Nd as thousands of motors, so
        // a year with a single turbine maker would withhold the whole year). So is every product
        // of CRMA art. 28(1): each of its groups has three manufacturers or more.
        let count = ((weight / share.0) * share.1)
            .round()
            .max(MAKERS_PER_CATEGORY as f64) as usize;
        let first = rng.random_range(0..MANUFACTURERS.len());
        for i in 0..count {
            let maker = if i < MAKERS_PER_CATEGORY {
                (first + i) % MANUFACTURERS.len()
            } else {
                rng.random_range(0..MANUFACTURERS.len())
            };
            let country = if rng.random_bool(0.7) {
                MANUFACTURERS[maker].country
            } else {
                MANUFACTURERS[rng.random_range(0..MANUFACTURERS.len())].country
            };
            let serial = format!("DEMO-{}-{:06}", &kind.category[..3].to_uppercase(), *n);
            *n += 1;
            let registration =
                registration(kind, &MANUFACTURERS[maker], &serial, *year, country, rng);
            by_maker
                .entry(maker)
                .or_default()
                .push((registration, kind, *year, country));
        }
    }
}

/// One passport of each kind registered with its magnets, placed in the last year: a product
/// to open for each case of the CRMA conformity check.
fn samples(placed: &[Placed]) -> Vec<Value> {
    kinds::all()
        .filter(|kind| kind.design().is_some())
        .filter_map(|kind| {
            placed
                .iter()
                .find(|p| p.kind.name == kind.name && p.year == kind.years.1)
                .map(|p| json!({"name": kind.name, "category": kind.category, "passport_id": p.passport_id}))
        })
        .collect()
}
