//! Which services a process runs: all of them (the embedded default), or the ones named by
//! `reetrace serve --services` (the others are reached over HTTP).

use anyhow::Context;

use crate::config::Config;

/// Which services this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    pub passport: bool,
    pub custody: bool,
    pub stock: bool,
    pub deposits: bool,
}

impl Selection {
    /// Every service (the embedded default).
    pub const ALL: Selection = Selection {
        passport: true,
        custody: true,
        stock: true,
        deposits: true,
    };

    /// Parses `passport,custody,stock,deposits` (any subset, at least one).
    pub fn parse(list: &[String]) -> anyhow::Result<Selection> {
        let mut s = Selection {
            passport: false,
            custody: false,
            stock: false,
            deposits: false,
        };
        for name in list {
            match name.trim() {
                "passport" => s.passport = true,
                "custody" => s.custody = true,
                "stock" => s.stock = true,
                "deposits" => s.deposits = true,
                other => anyhow::bail!(
                    "unknown service {other:?}: the services are passport, custody, stock and \
                     deposits"
                ),
            }
        }
        if !(s.passport || s.custody || s.stock || s.deposits) {
            anyhow::bail!("name at least one service: passport, custody, stock or deposits");
        }
        Ok(s)
    }
}

/// The base URL and service key to reach a service running elsewhere.
pub(crate) fn remote<'a>(
    config: &'a Config,
    url: &'a Option<String>,
    name: &str,
) -> anyhow::Result<(&'a str, &'a str)> {
    let url = url.as_deref().with_context(|| {
        format!(
            "the {name} service is not run here: set REETRACE_{}_URL to where it runs",
            name.to_uppercase()
        )
    })?;
    let key = config.service_key.as_ref().map(|k| k.expose()).context(
        "services in other processes are reached with a service key: set REETRACE_SERVICE_KEY",
    )?;
    Ok((url, key))
}
