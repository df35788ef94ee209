//! The bulk rate with magnets in full as a share of the rate without, measured so that neither
//! form is favoured: each registration run gets a fresh database and a fresh server (the second
//! form of a round does not write into a database the first one filled), and the order
//! alternates from round to round (without first, then with first, ...), so that a drift of
//! the machine's load during the run weighs on both forms alike. Prints every run, the ratio
//! of each round and the medians.

use reetrace_core::db::Backend;
use tokio_util::sync::CancellationToken;

use crate::{register, settle, support};

/// `rounds` rounds of one bulk run of each form, `count` passports in batches of `batch`,
/// `clients` requests in flight.
pub async fn rounds(backend: Backend, rounds: usize, (count, batch, clients): (u64, u64, usize)) {
    let mut without = Vec::new();
    let mut with = Vec::new();
    let mut ratios = Vec::new();
    for round in 0..rounds {
        let order = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        let mut rate = [0.0; 2];
        for magnets in order {
            rate[usize::from(magnets)] = fresh_run(backend, (count, batch, clients), magnets).await;
        }
        let ratio = rate[1] / rate[0];
        println!(
            "  round {} ({} first): without {:.0}/s, with magnets in full {:.0}/s: {:.0} %",
            round + 1,
            if order[0] { "with magnets" } else { "without" },
            rate[0],
            rate[1],
            100.0 * ratio
        );
        without.push(rate[0]);
        with.push(rate[1]);
        ratios.push(ratio);
    }
    println!(
        "  medians of {rounds} round(s): without {:.0}/s, with magnets in full {:.0}/s; ratio of the rounds: median {:.0} % (lowest {:.0} %, highest {:.0} %)",
        median(&mut without),
        median(&mut with),
        100.0 * median(&mut ratios),
        100.0 * ratios.iter().copied().fold(f64::INFINITY, f64::min),
        100.0 * ratios.iter().copied().fold(0.0, f64::max),
    );
}

/// One bulk run of one form on a fresh database and server: passports a second.
async fn fresh_run(backend: Backend, sizes: (u64, u64, usize), magnets: bool) -> f64 {
    let (app, listener, db, address, _config) = support::fresh_app_config(backend).await;
    let org = crate::manufacturer(&app).await;
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.run(listener, shutdown.clone()));
    let client = crate::reads::client(sizes.2);
    let registered = register::over_http(&client, &address, &org.api_key, sizes, magnets).await;
    // The feed consumers finish before the next run starts.
    settle().await;
    shutdown.cancel();
    let _ = server.await;
    drop(db);
    registered.rate
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}
