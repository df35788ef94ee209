//! The price series: stoichiometry, mixes, nearest points, currencies, validation, defaults.
#![allow(clippy::unwrap_used)]

use super::*;

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn point(material: &str, date: &str, price: f64, currency: &str, form: PriceForm) -> PricePoint {
    PricePoint {
        material: material.to_owned(),
        shares: None,
        date: day(date),
        price_per_kg: price,
        currency: currency.to_owned(),
        form,
        source: "test".to_owned(),
    }
}

#[test]
fn oxide_fractions_are_the_stoichiometric_ones() {
    for (element, want) in [
        (Element::Nd, 0.857),
        (Element::Dy, 0.871),
        (Element::Tb, 0.850),
        (Element::Ce, 0.814),
        (Element::Pr, 0.828),
        (Element::La, 0.853),
    ] {
        let got = oxide_fraction(element);
        assert!((got - want).abs() < 5e-4, "{element}: {got}");
    }
}

#[test]
fn an_oxide_price_is_divided_by_the_element_fraction() {
    let p = point("Dy", "2024-05-31", 300.0, "USD", PriceForm::Oxide);
    assert!((element_price(&p) - 300.0 / oxide_fraction(Element::Dy)).abs() < 1e-9);
    let metal = point("Dy", "2024-05-31", 300.0, "USD", PriceForm::Metal);
    assert_eq!(element_price(&metal), 300.0);
}

#[test]
fn a_prnd_price_applies_to_both_elements_by_their_shares() {
    let mut mix = point("PrNd", "2024-04-18", 54.0, "USD", PriceForm::Oxide);
    mix.shares = Some([(Element::Nd, 0.75), (Element::Pr, 0.25)].into());
    let prices = Prices {
        points: vec![mix],
        exchange_rates: vec![],
    };
    prices.validate().unwrap();
    let contained = 0.75 * oxide_fraction(Element::Nd) + 0.25 * oxide_fraction(Element::Pr);
    for element in [Element::Nd, Element::Pr] {
        let price = prices.price(element, day("2024-06-30"), "USD").unwrap();
        assert!((price.per_kg - 54.0 / contained).abs() < 1e-9);
        assert!(!price.nearest);
    }
    assert!(
        prices
            .price(Element::Dy, day("2024-06-30"), "USD")
            .is_none()
    );
}

#[test]
fn the_nearest_point_is_used_and_flagged_and_the_range_covers_the_series() {
    let prices = Prices {
        points: vec![
            point("Dy", "2020-07-01", 258.0, "USD", PriceForm::Metal),
            point("Dy", "2024-05-31", 300.0, "USD", PriceForm::Metal),
        ],
        exchange_rates: vec![],
    };
    let in_2021 = prices.price(Element::Dy, day("2021-07-01"), "USD").unwrap();
    assert_eq!(in_2021.per_kg, 258.0);
    assert!(in_2021.nearest);
    assert_eq!((in_2021.low, in_2021.high), (258.0, 300.0));
    let in_2024 = prices.price(Element::Dy, day("2024-07-01"), "USD").unwrap();
    assert_eq!(in_2024.per_kg, 300.0);
    assert!(!in_2024.nearest);
}

#[test]
fn other_currencies_convert_at_the_rate_nearest_to_the_point() {
    let prices = Prices {
        points: vec![point("Tb", "2024-05-24", 910.0, "USD", PriceForm::Metal)],
        exchange_rates: vec![
            ExchangeRate {
                from: "EUR".into(),
                to: "USD".into(),
                date: day("2020-07-01"),
                rate: 1.1422,
                source: "test".into(),
            },
            ExchangeRate {
                from: "EUR".into(),
                to: "USD".into(),
                date: day("2024-07-01"),
                rate: 1.0824,
                source: "test".into(),
            },
        ],
    };
    let eur = prices.price(Element::Tb, day("2024-07-01"), "EUR").unwrap();
    assert!((eur.per_kg - 910.0 / 1.0824).abs() < 1e-9);
    // No rate to CNY: the point cannot be used, so Tb has no price in CNY.
    assert!(
        prices
            .price(Element::Tb, day("2024-07-01"), "CNY")
            .is_none()
    );
}

#[test]
fn bad_series_name_each_field() {
    let mut mix = point("PrNd", "2024-04-18", 54.0, "USD", PriceForm::Oxide);
    mix.shares = Some([(Element::Nd, 0.75), (Element::Dy, 0.5)].into());
    let bad = Prices {
        points: vec![
            point("Fe", "2024-01-01", 1.0, "USD", PriceForm::Metal),
            point("Nd", "2024-01-01", 0.0, "usd", PriceForm::Metal),
            PricePoint {
                source: " ".into(),
                ..point("Nd", "2024-01-01", f64::NAN, "USD", PriceForm::Oxide)
            },
            mix,
            point("PrNd", "2024-01-01", 50.0, "USD", PriceForm::Oxide),
        ],
        exchange_rates: vec![ExchangeRate {
            from: "EUR".into(),
            to: "EUR".into(),
            date: day("2024-01-01"),
            rate: -1.0,
            source: String::new(),
        }],
    };
    let pointers: Vec<String> = bad
        .validate()
        .unwrap_err()
        .into_iter()
        .map(|e| e.pointer)
        .collect();
    for want in [
        "/points/0/material",
        "/points/1/price_per_kg",
        "/points/1/currency",
        "/points/2/price_per_kg",
        "/points/2/source",
        "/points/3/shares/Dy",
        "/points/3/shares",
        "/points/4/shares",
        "/exchange_rates/0/to",
        "/exchange_rates/0/rate",
        "/exchange_rates/0/source",
    ] {
        assert!(pointers.iter().any(|p| p == want), "{want} in {pointers:?}");
    }
}

#[test]
fn the_defaults_are_valid_and_price_the_magnet_elements() {
    let prices = defaults();
    prices.validate().unwrap();
    for element in [Element::Nd, Element::Pr, Element::Dy, Element::Tb] {
        let price = prices.price(element, day("2024-07-01"), "EUR").unwrap();
        assert!(price.per_kg > 0.0 && price.low <= price.per_kg && price.per_kg <= price.high);
    }
    // Dy: 258 (2020) and 300 (2024) USD per kg of oxide.
    let dy = prices.price(Element::Dy, day("2022-01-01"), "USD").unwrap();
    let f = oxide_fraction(Element::Dy);
    assert!((dy.low - 258.0 / f).abs() < 1e-9 && (dy.high - 300.0 / f).abs() < 1e-9);
    // Elements without a price have no value.
    assert!(
        prices
            .price(Element::Ho, day("2024-07-01"), "USD")
            .is_none()
    );
}
