//! A table's disclosure pattern kept with what it was computed for, so that a restart reuses it
//! instead of protecting the table again.
//!
//! Protection ([`super::disclosure`], [`super::linked`]) is deterministic: the same rows under
//! the same rule and the same method give the same pattern. A table's rows are fixed by its
//! revision (every write that touches a table moves it), and a linked group's pattern depends on
//! the rows of every table of the group. A [`Pattern`] therefore names its *basis*: the
//! protection method, the rule, and the revision and a digest of the cells of every table of
//! the group it was protected with. A pattern is reused only when its basis is exactly
//! today's, and only after
//! [`restore`] has checked it against the rebuilt table: every cell it names exists, the table
//! has as many cells as the protected one had, and every sensitive cell is withheld. Anything
//! else protects the table again.

use reetrace_core::domain::{Category, Country, TrackedElement};

use super::disclosure::DisclosureRule;
use super::flow::Flow;
use super::table::{Key, Materials, Table};

/// The version of the protection method (line rules, LP audit and repair, linked groups). A
/// change to what protection withholds bumps it, so that patterns of the earlier method are
/// protected again rather than reused. 2: the recycling flows' patterns mirrored, repairs
/// withholding more cells at once for a cell found exposed again.
pub const PROTECTION_METHOD: u32 = 2;

/// A table's pattern: the cells withheld, and what they were computed for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    pub flow: Flow,
    pub year: i32,
    /// The method, the rule and the revisions and digests of the group's tables ([`basis`]).
    pub basis: String,
    /// The table's number of cells at all grains.
    pub cells: usize,
    /// The withheld cells.
    pub withheld: Vec<Key>,
}

impl Pattern {
    /// The pattern of a protected table.
    pub fn of(flow: Flow, year: i32, basis: String, table: &Table) -> Pattern {
        Pattern {
            flow,
            year,
            basis,
            cells: table.stats.len(),
            withheld: table
                .keys
                .iter()
                .zip(&table.stats)
                .filter(|(_, s)| s.suppressed)
                .map(|(k, _)| *k)
                .collect(),
        }
    }
}

/// What a group's patterns were computed for: the method, the rule, the year, and each table of
/// the group with its revision (`None` for a table without rows) and the [`digest`] of its
/// cells. The digest makes a pattern safe to reuse even where revisions could repeat (a
/// projection replayed from the feeds into emptied tables).
pub fn basis(rule: DisclosureRule, year: i32, tables: &[(Flow, Option<i64>, &Table)]) -> String {
    let mut out = format!("m{PROTECTION_METHOD} k{} p{} y{year}", rule.k, rule.p);
    for (flow, revision, table) in tables {
        let revision = revision.map_or_else(|| "-".to_owned(), |r| r.to_string());
        out += &format!(" {flow}={revision}:{}", digest(table));
    }
    out
}

/// A SHA-256 of everything protection reads of a table: each cell's key, value, number of
/// contributors and two largest contributions, in table order.
pub fn digest(table: &Table) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for (key, stat) in table.keys.iter().zip(&table.stats) {
        hash.update(key_text(key).as_bytes());
        hash.update([0]);
        hash.update(stat.value_ug.to_le_bytes());
        hash.update(stat.contributors.to_le_bytes());
        hash.update(stat.largest[0].to_le_bytes());
        hash.update(stat.largest[1].to_le_bytes());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Sets `table`'s pattern to `withheld` if it fits (see the module documentation); returns
/// whether it did. A pattern that does not fit leaves the table unprotected, to be protected.
pub fn restore(table: &mut Table, rule: DisclosureRule, pattern: &Pattern) -> bool {
    if pattern.cells != table.stats.len() {
        return false;
    }
    let mut withheld = vec![false; table.stats.len()];
    for key in &pattern.withheld {
        match table.position(key) {
            Some(i) => withheld[i] = true,
            None => return false,
        }
    }
    let fits = table
        .stats
        .iter()
        .zip(&withheld)
        .all(|(stat, &w)| w || !rule.is_sensitive(stat));
    if !fits {
        return false;
    }
    for (stat, w) in table.stats.iter_mut().zip(withheld) {
        stat.primary = rule.is_sensitive(stat);
        stat.suppressed = w;
    }
    true
}

/// The stored element part of "all magnet materials" (`*` alone is all rare earths).
const ALL_MAGNET: &str = "*magnet";

/// A key as stored: `country/category/element`, `*` for "all" (`*magnet` for all magnet
/// materials).
pub fn key_text(key: &Key) -> String {
    let country = key
        .country
        .map_or_else(|| "*".to_owned(), |c| c.to_string());
    let category = key.category.map_or("*", Category::as_str);
    let element = match (key.element, key.materials) {
        (Some(e), _) => e.to_string(),
        (None, Materials::RareEarths) => "*".to_owned(),
        (None, Materials::Magnet) => ALL_MAGNET.to_owned(),
    };
    format!("{country}/{category}/{element}")
}

/// A stored key read back; `None` when it does not parse.
pub fn parse_key(text: &str) -> Option<Key> {
    let mut parts = text.split('/');
    let (country, category, element) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let all = |s: &str| s == "*";
    Some(Key {
        country: if all(country) {
            None
        } else {
            Some(Country::parse(country).ok()?)
        },
        category: if all(category) {
            None
        } else {
            Some(category.parse::<Category>().ok()?)
        },
        element: match element {
            "*" | ALL_MAGNET => None,
            symbol => Some(symbol.parse::<TrackedElement>().ok()?),
        },
        materials: match element {
            "*" => Materials::RareEarths,
            ALL_MAGNET => Materials::Magnet,
            symbol => Materials::of(symbol.parse::<TrackedElement>().ok()?),
        },
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::disclosure::protect_with;
    use crate::domain::table::Grain;
    use crate::domain::table::tests::row;
    use reetrace_core::domain::Element;

    fn table() -> Table {
        let mut rows = vec![
            row("IT", Category::Smartphone, Element::Nd, 1, 50),
            // A magnet material: its totals ("all magnet materials") are keys of their own.
            row("IT", Category::Smartphone, TrackedElement::Co, 1, 20),
        ];
        for org in 2..=7 {
            let country = if org % 2 == 0 { "FR" } else { "DE" };
            rows.push(row(
                country,
                Category::Laptop,
                Element::Dy,
                org,
                40 + org as i128,
            ));
        }
        Table::build(rows)
    }

    #[test]
    fn keys_round_trip_at_every_grain() {
        let t = table();
        for grain in Grain::all() {
            for (key, _) in t.at(grain) {
                assert_eq!(parse_key(&key_text(key)), Some(*key), "{}", key_text(key));
            }
        }
        assert_eq!(
            parse_key("*/*/*magnet").map(|k| k.materials),
            Some(Materials::Magnet)
        );
        assert_eq!(parse_key("FR/laptop"), None);
        assert_eq!(parse_key("FR/laptop/Dy/x"), None);
        assert_eq!(parse_key("XX/laptop/Dy"), None);
    }

    #[test]
    fn a_pattern_is_restored_only_when_it_fits_the_table() {
        let rule = DisclosureRule::new(3);
        let mut protected = table();
        protect_with(&mut protected, rule);
        let pattern = Pattern::of(Flow::PlacedOnMarket, 2024, "b".into(), &protected);
        assert!(!pattern.withheld.is_empty());

        let mut fresh = table();
        assert!(restore(&mut fresh, rule, &pattern));
        assert_eq!(fresh, protected);

        // A pattern that publishes a sensitive cell is not restored.
        let mut leaky = pattern.clone();
        let it = Key {
            country: Some(Country::parse("IT").unwrap()),
            ..Key::default()
        };
        leaky.withheld.retain(|k| *k != it);
        let mut fresh = table();
        assert!(!restore(&mut fresh, rule, &leaky));
        assert_eq!(fresh.suppressed(), 0);

        // Nor one of a table with other cells.
        let mut other = pattern.clone();
        other.cells += 1;
        assert!(!restore(&mut table(), rule, &other));
        let mut unknown = pattern;
        unknown.withheld.push(Key::finest(
            it.country.unwrap(),
            Category::Laptop,
            Element::La,
        ));
        assert!(!restore(&mut table(), rule, &unknown));
    }
}
