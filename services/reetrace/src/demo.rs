//! `reetrace demo`: loads a realistic synthetic world through the public API, so that every
//! page and regulator endpoint shows meaningful figures on a fresh install.
//!
//! Manufacturers in eight EU countries register products of twelve categories placed on the
//! market from 2010 to 2025, with REE content from the literature figures of the reference
//! table (`shared/data/ree_content_reference.csv`: generic sintered NdFeB composition 20/5/5/1
//! wt% Nd/Pr/Dy/Tb, 1.5 kg of magnets per EV motor, 650 kg NdFeB per MW of direct-drive wind,
//! 4 g Nd per hard drive, 0.25 g REE per phone, 2 kg REE per NiMH pack, 60 g Ce per
//! autocatalyst...). Products that reached the end of their life are collected, handed over,
//! sorted, dismantled and recycled by recyclers; a few new magnets claim recycled content from
//! the oxide lots. Everything goes through the HTTP API of a server started in this process on
//! the configured database, exactly as clients would do it.

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

mod world;

use world::{KINDS, Kind, MAKERS_PER_CATEGORY, MANUFACTURERS, RECYCLERS, registration, round6};

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
    for (i, (name, country)) in MANUFACTURERS.iter().enumerate() {
        manufacturers.push((
            api.org(admin, name, "manufacturer", country, i).await?,
            *country,
        ));
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

    // Passports per kind and year, by relative volume.
    let years: Vec<i32> = (2010..=2025).collect();
    let mut weights = Vec::new();
    for kind in KINDS {
        for (y, year) in years.iter().enumerate() {
            let t = y as f64 / (years.len() - 1) as f64;
            weights.push((
                kind,
                *year,
                kind.volume.0 + (kind.volume.1 - kind.volume.0) * t,
            ));
        }
    }
    let total: f64 = weights.iter().map(|w| w.2).sum();
    let bar = ProgressBar::new(products as u64).with_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message("passports");
    let mut by_maker: BTreeMap<usize, Vec<(Value, &'static Kind, i32, &'static str)>> =
        BTreeMap::new();
    let mut n = 0usize;
    for (kind, year, weight) in &weights {
        // Every category is made by at least three manufacturers every year, as in a real market:
        // a regulator's yearly figures are then built from enough organisations to be published
        // under disclosure control (one wind turbine holds as much Nd as thousands of motors, so
        // a year with a single turbine maker would withhold the whole year).
        let count = ((weight / total) * products as f64)
            .round()
            .max(MAKERS_PER_CATEGORY as f64) as usize;
        let first = rng.random_range(0..manufacturers.len());
        for i in 0..count {
            let maker = if i < MAKERS_PER_CATEGORY {
                (first + i) % manufacturers.len()
            } else {
                rng.random_range(0..manufacturers.len())
            };
            let country = if rng.random_bool(0.7) {
                manufacturers[maker].1
            } else {
                MANUFACTURERS[rng.random_range(0..MANUFACTURERS.len())].1
            };
            let serial = format!("DEMO-{}-{n:06}", &kind.category[..3].to_uppercase());
            n += 1;
            by_maker.entry(maker).or_default().push((
                registration(kind, &serial, *year, country, &mut rng),
                kind,
                *year,
                country,
            ));
        }
    }
    let mut placed = Vec::new();
    for (maker, items) in by_maker {
        let key = &manufacturers[maker].0.key;
        for chunk in items.chunks(2_000) {
            let body = Value::Array(chunk.iter().map(|(r, ..)| r.clone()).collect());
            let outcome = api.post("/api/v1/passports/bulk", key, &body).await?;
            for (line, (_, kind, year, country)) in outcome["results"]
                .as_array()
                .into_iter()
                .flatten()
                .zip(chunk)
            {
                if let Some(id) = line["id"].as_str() {
                    placed.push(Placed {
                        passport_id: id.to_owned(),
                        kind,
                        year: *year,
                        country,
                    });
                }
            }
            bar.inc(chunk.len() as u64);
        }
    }
    bar.finish_with_message("passports");

    // End of life: what reached it by 2025 is collected by a share, then recycled.
    let mut chains: Vec<&Placed> = Vec::new();
    for p in &placed {
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
            let result = chain(api, p, collector, processor, seed).await;
            bar.inc(1);
            result
        }
    });
    let results: Vec<anyhow::Result<Option<String>>> = futures::stream::iter(jobs)
        .buffer_unordered(8)
        .collect()
        .await;
    bar.finish_with_message("custody");
    let mut oxides = Vec::new();
    for r in results {
        if let Some(lot) = r? {
            oxides.push(lot);
        }
    }

    // Closing the loop: new magnets with recycled content from the oxide lots.
    let mut claimed = 0;
    for (i, lot) in oxides.iter().take(20).enumerate() {
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
        let maker = &manufacturers[i % manufacturers.len()].0;
        if api
            .post("/api/v1/passports", &maker.key, &body)
            .await
            .is_ok()
        {
            claimed += 1;
        }
    }

    Ok(json!({
        "passports": placed.len(),
        "custody_chains": chains.len(),
        "oxide_lots": oxides.len(),
        "recycled_content_passports": claimed,
        "keys": {
            "admin": admin,
            "regulator": regulator.key,
            "manufacturer": {"org_id": manufacturers[0].0.id, "api_key": manufacturers[0].0.key},
            "recycler": {"org_id": recyclers[0].0.id, "api_key": recyclers[0].0.key},
        },
        "note": "Keep these keys: they are shown once. Open /dashboard with the regulator key.",
    }))
}

/// One product's end of life: collected, handed over, accepted, sorted, dismantled into a magnet
/// lot, recycled into an oxide lot. Returns the oxide lot.
async fn chain(
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
    let lot_elements: Vec<Value> = p
        .kind
        .elements
        .iter()
        .map(|(e, g)| json!({"element": e, "mass_g": round6(g * units * 0.95)}))
        .collect();
    let dismantled = api
        .post(
            "/api/v1/custody/transformations",
            &processor.key,
            &json!({"process": "dismantling", "at": at(1, 5), "inputs": [{"passport": p.passport_id}],
                "outputs": [{"kind": "lot", "material": p.kind.material,
                    "mass_g": round6(p.kind.component_mass_g * units * 0.97), "elements": lot_elements}]}),
        )
        .await?;
    let lot = dismantled["lots"][0]["lot_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let oxide_elements: Vec<Value> = p
        .kind
        .elements
        .iter()
        .map(|(e, g)| json!({"element": e, "mass_g": round6(g * units * 0.95 * p.kind.recovery)}))
        .collect();
    let oxide_mass: f64 = p
        .kind
        .elements
        .iter()
        .map(|(_, g)| g * units * 0.95 * p.kind.recovery * 1.17)
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
