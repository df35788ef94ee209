//! Which services a process runs: all of them (the embedded default), or the ones named by
//! `reetrace serve --services` (the others are reached over HTTP).

/// Which services this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    pub passport: bool,
    pub custody: bool,
    pub stock: bool,
}

impl Selection {
    /// Every service (the embedded default).
    pub const ALL: Selection = Selection {
        passport: true,
        custody: true,
        stock: true,
    };

    /// Parses `passport,custody,stock` (any subset, at least one).
    pub fn parse(list: &[String]) -> anyhow::Result<Selection> {
        let mut s = Selection {
            passport: false,
            custody: false,
            stock: false,
        };
        for name in list {
            match name.trim() {
                "passport" => s.passport = true,
                "custody" => s.custody = true,
                "stock" => s.stock = true,
                other => anyhow::bail!(
                    "unknown service {other:?}: the services are passport, custody and stock"
                ),
            }
        }
        if !(s.passport || s.custody || s.stock) {
            anyhow::bail!("name at least one service: passport, custody or stock");
        }
        Ok(s)
    }
}
