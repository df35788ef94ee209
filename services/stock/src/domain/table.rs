//! One flow in one year as a table over country x category x element, with every margin.
//!
//! A [`Table`] holds the value of each cell at each of the eight grains (every subset of the
//! three dimensions: the finest cells, the subtotals and the grand total), and how many
//! distinct organisations contribute to it. Answers of any `group_by` and any single-value
//! filter are read straight from it, so a regulator answer never re-adds raw rows; and because
//! all grains live in one table, disclosure control ([`super::disclosure`]) can protect them
//! together.
//!
//! The element dimension ranges over one group of [`Materials`] at a time: a key's "all
//! elements" is the total of the rare earths, or of the other magnet materials (B, Co, Ni),
//! never of both. A rare-earth total therefore stays what it always was, and the two groups
//! are two separate hierarchies of cells in one table (no cell adds up cells of both).

use std::collections::HashMap;

use reetrace_core::domain::{Category, Country, Element, MAGNET_MATERIALS, TrackedElement};
use uuid::Uuid;

/// A dimension of a table (the year is the table itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dim {
    Country,
    Category,
    Element,
}

impl Dim {
    pub const ALL: [Dim; 3] = [Dim::Country, Dim::Category, Dim::Element];

    const fn bit(self) -> u8 {
        match self {
            Dim::Country => 1,
            Dim::Category => 2,
            Dim::Element => 4,
        }
    }
}

/// A set of dimensions: the grain of a cell (which dimensions it is broken down by).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Grain(u8);

impl Grain {
    /// The grand total.
    pub const TOTAL: Grain = Grain(0);
    /// Country x category x element.
    pub const FINEST: Grain = Grain(7);

    pub fn of(dims: &[Dim]) -> Grain {
        Grain(dims.iter().fold(0, |g, d| g | d.bit()))
    }

    pub fn has(self, dim: Dim) -> bool {
        self.0 & dim.bit() != 0
    }

    pub fn with(self, dim: Dim) -> Grain {
        Grain(self.0 | dim.bit())
    }

    pub fn without(self, dim: Dim) -> Grain {
        Grain(self.0 & !dim.bit())
    }

    pub fn dims(self) -> impl Iterator<Item = Dim> {
        Dim::ALL.into_iter().filter(move |d| self.has(*d))
    }

    /// All eight grains, finest last.
    pub fn all() -> impl Iterator<Item = Grain> {
        (0..8).map(Grain)
    }
}

/// The group of elements a key's element dimension ranges over (its "all").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Materials {
    /// The 17 rare earths: "all REE", the default of every answer.
    #[default]
    RareEarths,
    /// The magnet materials besides the rare earths: boron, cobalt and nickel.
    Magnet,
}

impl Materials {
    /// The group of `element`.
    pub const fn of(element: TrackedElement) -> Materials {
        match element {
            TrackedElement::Ree(_) => Materials::RareEarths,
            _ => Materials::Magnet,
        }
    }

    /// `ree` or `magnet`, as the `materials` query parameter names them.
    pub const fn as_str(self) -> &'static str {
        match self {
            Materials::RareEarths => "ree",
            Materials::Magnet => "magnet",
        }
    }

    pub fn parse(text: &str) -> Option<Materials> {
        match text {
            "ree" => Some(Materials::RareEarths),
            "magnet" => Some(Materials::Magnet),
            _ => None,
        }
    }

    /// The elements of the group, in order.
    pub fn elements(self) -> Vec<TrackedElement> {
        match self {
            Materials::RareEarths => Element::ALL.into_iter().map(TrackedElement::Ree).collect(),
            Materials::Magnet => MAGNET_MATERIALS.to_vec(),
        }
    }
}

/// A cell at some grain: `None` in a dimension means "all" (for the element: all of the key's
/// `materials`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Key {
    pub country: Option<Country>,
    pub category: Option<Category>,
    pub element: Option<TrackedElement>,
    /// The group the element is in, or that "all elements" sums: never summed over (set from
    /// the element when there is one).
    pub materials: Materials,
}

impl Key {
    pub fn finest(country: Country, category: Category, element: impl Into<TrackedElement>) -> Key {
        let element = element.into();
        Key {
            country: Some(country),
            category: Some(category),
            element: Some(element),
            materials: Materials::of(element),
        }
    }

    /// The single-value filters of an answer: an element fixes its own group, otherwise the
    /// group is `materials`.
    pub fn filter(
        country: Option<Country>,
        category: Option<Category>,
        element: Option<TrackedElement>,
        materials: Materials,
    ) -> Key {
        Key {
            country,
            category,
            element,
            materials: element.map_or(materials, Materials::of),
        }
    }

    pub fn grain(&self) -> Grain {
        let mut g = Grain::TOTAL;
        if self.country.is_some() {
            g = g.with(Dim::Country);
        }
        if self.category.is_some() {
            g = g.with(Dim::Category);
        }
        if self.element.is_some() {
            g = g.with(Dim::Element);
        }
        g
    }

    /// The same cell with `dim` summed over ("all").
    pub fn without(mut self, dim: Dim) -> Key {
        match dim {
            Dim::Country => self.country = None,
            Dim::Category => self.category = None,
            Dim::Element => self.element = None,
        }
        self
    }

    /// Coarsened to `grain`: the dimensions outside it become "all".
    pub fn at(self, grain: Grain) -> Key {
        Dim::ALL
            .into_iter()
            .filter(|d| !grain.has(*d))
            .fold(self, Key::without)
    }
}

/// What a table knows of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Exact mass in micrograms.
    pub value_ug: i128,
    /// Distinct contributing organisations.
    pub contributors: u32,
    /// The two largest contributions of single organisations (the second is 0 for a lone
    /// contributor): what the p%-rule of disclosure control weighs.
    pub largest: [i128; 2],
    /// Withheld from regulator answers.
    pub suppressed: bool,
    /// Withheld because of too few contributors (rather than to protect another cell).
    pub primary: bool,
}

/// One finest-grain contribution of one organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contribution {
    pub country: Country,
    pub category: Category,
    pub element: TrackedElement,
    pub org: Uuid,
    pub value_ug: i128,
}

/// A flow in a year, at every grain.
///
/// Cells are stored flat, ordered by grain then key, with an index by key: lookups are one hash
/// probe and a grain is one contiguous slice.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub(crate) keys: Vec<Key>,
    pub(crate) stats: Vec<Stat>,
    index: HashMap<Key, usize>,
    /// The start of each grain's cells in `keys`; `grains[8]` is the end.
    grains: [usize; 9],
}

impl Table {
    /// Sums the rows into every grain, counts the distinct organisations of each cell and keeps
    /// its two largest contributions.
    pub fn build(rows: impl IntoIterator<Item = Contribution>) -> Table {
        Table::build_keyed(rows.into_iter().map(|row| {
            (
                Key::finest(row.country, row.category, row.element),
                row.org,
                row.value_ug,
            )
        }))
    }

    /// [`Table::build`] from contributions keyed at any grain: each is summed into the grains
    /// its key has (a table of keys without an element has no element grains; the products'
    /// net mass is such a table, over country x category).
    pub fn build_keyed(rows: impl IntoIterator<Item = (Key, Uuid, i128)>) -> Table {
        let mut orgs: HashMap<Uuid, u32> = HashMap::new();
        let mut sums: HashMap<Key, (i128, Vec<(u32, i128)>)> = HashMap::new();
        for (finest, org, value_ug) in rows {
            let next = u32::try_from(orgs.len()).unwrap_or(u32::MAX);
            let org = *orgs.entry(org).or_insert(next);
            let own = finest.grain();
            for grain in Grain::all().filter(|g| g.dims().all(|d| own.has(d))) {
                let slot = sums.entry(finest.at(grain)).or_default();
                slot.0 += value_ug;
                slot.1.push((org, value_ug));
            }
        }
        let mut cells: Vec<(Grain, Key, Stat)> = sums
            .into_iter()
            .map(|(key, (value_ug, parts))| {
                let (contributors, largest) = by_organisation(parts);
                let stat = Stat {
                    value_ug,
                    contributors,
                    largest,
                    suppressed: false,
                    primary: false,
                };
                (key.grain(), key, stat)
            })
            .collect();
        cells.sort_by_key(|(grain, key, _)| (*grain, *key));
        let mut table = Table::default();
        for (i, (grain, key, stat)) in cells.into_iter().enumerate() {
            table.index.insert(key, i);
            table.keys.push(key);
            table.stats.push(stat);
            for g in usize::from(grain.0) + 1..9 {
                table.grains[g] = i + 1;
            }
        }
        table
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The position of a cell.
    pub(crate) fn position(&self, key: &Key) -> Option<usize> {
        self.index.get(key).copied()
    }

    /// A cell, if anything was counted in it (an absent cell is a known zero).
    pub fn get(&self, key: &Key) -> Option<&Stat> {
        self.position(key).map(|i| &self.stats[i])
    }

    /// The positions of the cells at `grain`.
    pub(crate) fn range(&self, grain: Grain) -> std::ops::Range<usize> {
        let g = usize::from(grain.0);
        self.grains[g]..self.grains[g + 1]
    }

    /// The cells at `grain`, in key order.
    pub fn at(&self, grain: Grain) -> impl Iterator<Item = (&Key, &Stat)> {
        let range = self.range(grain);
        self.keys[range.clone()].iter().zip(&self.stats[range])
    }

    /// The cells at `grain` whose dimensions outside the grain are "all" except those fixed by
    /// `filter` (a dimension fixed by the filter is part of the looked-up grain), in the
    /// filter's group of materials.
    pub fn select<'a>(
        &'a self,
        grain: Grain,
        filter: &'a Key,
    ) -> impl Iterator<Item = (&'a Key, &'a Stat)> + 'a {
        let lookup = Dim::ALL
            .into_iter()
            .filter(|d| grain.has(*d) || filter.grain().has(*d))
            .fold(Grain::TOTAL, Grain::with);
        self.at(lookup).filter(move |(key, _)| {
            key.materials == filter.materials
                && (filter.country.is_none() || key.country == filter.country)
                && (filter.category.is_none() || key.category == filter.category)
                && (filter.element.is_none() || key.element == filter.element)
        })
    }

    /// Number of suppressed cells at all grains.
    pub fn suppressed(&self) -> usize {
        self.stats.iter().filter(|s| s.suppressed).count()
    }
}

/// The number of distinct organisations among `parts` and their two largest totals.
fn by_organisation(mut parts: Vec<(u32, i128)>) -> (u32, [i128; 2]) {
    parts.sort_unstable_by_key(|(org, _)| *org);
    let mut count = 0u32;
    let mut largest = [0i128; 2];
    let mut i = 0;
    while i < parts.len() {
        let org = parts[i].0;
        let mut total = 0;
        while i < parts.len() && parts[i].0 == org {
            total += parts[i].1;
            i += 1;
        }
        count = count.saturating_add(1);
        if total > largest[0] {
            largest = [total, largest[0]];
        } else if total > largest[1] {
            largest[1] = total;
        }
    }
    (count, largest)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn row(
        country: &str,
        category: Category,
        element: impl Into<TrackedElement>,
        org: u128,
        value: i128,
    ) -> Contribution {
        Contribution {
            country: Country::parse(country).unwrap(),
            category,
            element: element.into(),
            org: Uuid::from_u128(org),
            value_ug: value,
        }
    }

    #[test]
    fn every_grain_sums_and_counts_distinct_contributors() {
        let table = Table::build([
            row("FR", Category::EvTractionMotor, Element::Nd, 1, 10),
            row("FR", Category::EvTractionMotor, Element::Nd, 2, 5),
            row("FR", Category::HardDiskDrive, Element::Nd, 1, 3),
            row("DE", Category::HardDiskDrive, Element::Dy, 3, 7),
        ]);
        let total = table.get(&Key::default()).unwrap();
        assert_eq!((total.value_ug, total.contributors), (25, 3));
        let fr = Key {
            country: Some(Country::parse("FR").unwrap()),
            ..Key::default()
        };
        let stat = table.get(&fr).unwrap();
        assert_eq!((stat.value_ug, stat.contributors), (18, 2));
        // Organisation 1 gives 13 to France (two rows), organisation 2 gives 5.
        assert_eq!(stat.largest, [13, 5]);
        assert_eq!(total.largest, [13, 7]);
        let nd = Key {
            element: Some(Element::Nd.into()),
            ..Key::default()
        };
        assert_eq!(table.get(&nd).unwrap().value_ug, 18);
        assert_eq!(table.at(Grain::FINEST).count(), 3);
        // Grouped by category with the country fixed to FR.
        let by_category: Vec<i128> = table
            .select(Grain::of(&[Dim::Category]), &fr)
            .map(|(_, s)| s.value_ug)
            .collect();
        assert_eq!(by_category, [15, 3]);
        assert!(
            table
                .get(&Key::finest(
                    Country::parse("IT").unwrap(),
                    Category::Other,
                    Element::La
                ))
                .is_none()
        );
    }
}
