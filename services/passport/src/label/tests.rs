use super::*;

fn content(kinds: Vec<MagnetType>) -> LabelContent {
    LabelContent {
        magnet_types: kinds,
        uri: "https://p.example/01/04012345000016/21/EVM-2026-000001".into(),
        identifier: human_readable("04012345000016", Some("EVM-2026-000001"), None),
        manufacturer: "Elektromotoren Rhein GmbH".into(),
        responsible: Some((
            "EMR Vertrieb (EU) GmbH".into(),
            vec![
                "Rheinstraße 12".into(),
                "55411 Bingen am Rhein, Germany".into(),
            ],
        )),
    }
}

#[test]
fn sizes_default_follow_each_other_and_stay_in_range() {
    let size = |w, h| LabelSize::new(w, h);
    assert_eq!(
        size(None, None).unwrap(),
        LabelSize {
            width_mm: 80.0,
            height_mm: 40.0
        }
    );
    assert_eq!(size(Some(50.0), None).unwrap().height_mm, 25.0);
    assert_eq!(size(None, Some(30.0)).unwrap().width_mm, 60.0);
    assert_eq!(size(Some(100.0), Some(60.0)).unwrap().height_mm, 60.0);
    assert_eq!(size(Some(29.9), None).unwrap_err().parameter, "width_mm");
    assert_eq!(size(Some(301.0), None).unwrap_err().parameter, "width_mm");
    assert_eq!(size(None, Some(10.0)).unwrap_err().parameter, "height_mm");
    assert_eq!(
        size(Some(100.0), Some(61.0)).unwrap_err().parameter,
        "height_mm"
    );
    assert_eq!(
        size(Some(100.0), Some(29.0)).unwrap_err().parameter,
        "height_mm"
    );
    assert_eq!(
        size(Some(f64::NAN), None).unwrap_err().parameter,
        "width_mm"
    );
    assert_eq!(
        size(Some(80.0), Some(-1.0)).unwrap_err().parameter,
        "height_mm"
    );
}

#[test]
fn numbers_print_short() {
    assert_eq!(fmt(1.0), "1");
    assert_eq!(fmt(0.25), "0.25");
    assert_eq!(fmt(2.83464567), "2.835");
    assert_eq!(fmt(-0.0001), "0");
}

#[test]
fn identifiers_read_as_gs1_hri() {
    assert_eq!(
        human_readable("04012345000016", Some("A1"), None),
        "(01)\u{a0}04012345000016 (21)\u{a0}A1"
    );
    assert_eq!(
        human_readable("04012345000016", None, Some("L-7")),
        "(01)\u{a0}04012345000016 (10)\u{a0}L-7"
    );
}

#[test]
fn types_are_listed_once_in_the_order_of_the_act() {
    assert_eq!(
        distinct_types([MagnetType::Ferrite, MagnetType::Ndfeb, MagnetType::Ferrite]),
        [MagnetType::Ndfeb, MagnetType::Ferrite]
    );
}

#[test]
fn every_mark_stays_on_the_label_and_every_line_fits() {
    for (w, h) in [(30.0, 9.0), (30.0, 18.0), (80.0, 40.0), (300.0, 180.0)] {
        let size = LabelSize::new(Some(w), Some(h)).unwrap();
        for kinds in [vec![], vec![MagnetType::Ndfeb, MagnetType::Ferrite]] {
            let drawing = lay_out(&content(kinds), size, DataCarrier::Qr).unwrap();
            for mark in &drawing.marks {
                match mark {
                    Mark::Rect { x, y, w: rw, h: rh } => {
                        assert!(*x >= 0.0 && *y >= 0.0, "{mark:?}");
                        assert!(x + rw <= w + 1e-9 && y + rh <= h + 1e-9, "{mark:?}");
                    }
                    Mark::Text {
                        x,
                        y,
                        size,
                        bold,
                        text,
                    } => {
                        let right = x + size * metrics::width_em(text, *bold);
                        assert!(right <= w + 1e-9, "{text} ends at {right} of {w}");
                        assert!(*y > 0.0 && *y < h, "{text} at {y} of {h}");
                    }
                }
            }
        }
    }
}

#[test]
fn the_text_says_what_the_product_holds() {
    let size = LabelSize::new(None, None).unwrap();
    let texts = |drawing: LabelDrawing| -> Vec<String> {
        drawing
            .marks
            .into_iter()
            .filter_map(|m| match m {
                Mark::Text { text, .. } => Some(text),
                Mark::Rect { .. } => None,
            })
            .collect()
    };
    let with = texts(lay_out(&content(vec![MagnetType::Ndfeb]), size, DataCarrier::Qr).unwrap());
    assert_eq!(with[0], "Contains permanent magnets");
    assert!(with[1].ends_with("Neodymium-iron-boron (NdFeB)"));
    assert!(
        with.join(" ")
            .contains("(01)\u{a0}04012345000016 (21)\u{a0}EVM-2026-000001"),
        "{with:?}"
    );
    assert!(
        with.join(" ")
            .contains("Responsible: EMR Vertrieb (EU) GmbH")
    );
    let without = texts(lay_out(&content(vec![]), size, DataCarrier::Qr).unwrap());
    assert_eq!(without[0], "No permanent magnets");
}

#[test]
fn the_pdf_cross_reference_points_at_each_object() {
    let size = LabelSize::new(None, None).unwrap();
    let drawing = lay_out(&content(vec![MagnetType::Smco]), size, DataCarrier::Qr).unwrap();
    let labels = vec![drawing.clone(); 30];
    let pages = sheet::pages(size, &labels);
    let (across, down) = sheet::grid(size).unwrap();
    assert_eq!(pages.len(), 30_usize.div_ceil(across * down));
    let bytes = pdf::render("Labels (test)", &pages).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    // The trailer is ASCII: read it from the bytes (the lossy text has other offsets).
    let tail = bytes.len() - 64;
    let trailer = std::str::from_utf8(&bytes[tail..]).unwrap();
    let start: usize = trailer
        .rsplit("startxref\n")
        .next()
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let xref = std::str::from_utf8(&bytes[start..]).unwrap();
    assert!(xref.starts_with("xref\n0 "));
    let table: Vec<&str> = xref.lines().skip(3).collect();
    let objects = 5 + 2 * pages.len();
    for (i, entry) in table.iter().take(objects).enumerate() {
        assert_eq!(
            entry.len(),
            19,
            "{entry}: entries are 20 bytes with the line end"
        );
        let offset: usize = entry[..10].parse().unwrap();
        let head = format!("{} 0 obj\n", i + 1);
        assert_eq!(&bytes[offset..offset + head.len()], head.as_bytes());
    }
    assert!(text.contains(&format!("/Count {}", pages.len())));
    assert!(text.contains("/MediaBox [0 0 595.276 841.89]"));
    assert!(text.ends_with("%%EOF\n"));
}

#[test]
fn pdf_text_is_win_ansi_and_escaped() {
    assert!(pdf::render("a", &[]).is_ok());
    let size = LabelSize::new(None, None).unwrap();
    let mut odd = content(vec![]);
    odd.manufacturer = "Ströme (Nord) \\ Süd \u{4e2d}".into();
    let drawing = lay_out(&odd, size, DataCarrier::Qr).unwrap();
    let page = pdf::PdfPage {
        width_mm: size.width_mm,
        height_mm: size.height_mm,
        labels: vec![(0.0, 0.0, &drawing)],
    };
    let stream = pdf::content(&page);
    assert!(stream.contains("(Manufacturer: Str\\366me \\(Nord\\) \\\\ S\\374d ?) Tj"));
}

#[test]
fn magnet_materials_name_their_type() {
    assert_eq!(material_type("NdFeB-sintered"), Some(MagnetType::Ndfeb));
    assert_eq!(material_type("NdFeB-bonded"), Some(MagnetType::Ndfeb));
    assert_eq!(material_type("SmCo"), Some(MagnetType::Smco));
    assert_eq!(material_type("AlNiCo 5"), Some(MagnetType::Alnico));
    assert_eq!(
        material_type("hard ferrite (Sr)"),
        Some(MagnetType::Ferrite)
    );
    assert_eq!(material_type("NiMH-anode"), None);
    assert_eq!(material_type("phosphor"), None);
}

#[test]
fn long_lines_break_at_spaces_and_keep_one_size() {
    let mut long = content(vec![MagnetType::Ndfeb]);
    long.manufacturer =
        "Vereinigte Elektromotorenwerke Rheinhessen-Pfalz und Saarland GmbH & Co. KG".into();
    let size = LabelSize::new(Some(60.0), Some(30.0)).unwrap();
    let drawing = lay_out(&long, size, DataCarrier::DataMatrix).unwrap();
    let texts: Vec<(f64, bool, &str)> = drawing
        .marks
        .iter()
        .filter_map(|m| match m {
            Mark::Text {
                size, bold, text, ..
            } => Some((*size, *bold, text.as_str())),
            Mark::Rect { .. } => None,
        })
        .collect();
    let at = texts
        .iter()
        .position(|t| t.2.starts_with("Manufacturer:"))
        .unwrap();
    assert!(texts[at + 1].2.contains("Saarland") || texts[at + 2].2.contains("Saarland"));
    // Every regular line that was not shrunk for a long word has one size.
    let regular: Vec<f64> = texts.iter().filter(|t| !t.1).map(|t| t.0).collect();
    let largest = regular.iter().cloned().fold(0.0, f64::max);
    assert!(
        regular
            .iter()
            .filter(|s| (*s - largest).abs() < 1e-9)
            .count()
            >= 4,
        "{texts:?}"
    );
}

#[test]
fn wrapping_keeps_words_whole() {
    assert_eq!(wrap("a bb ccc", false, 1.0, 100.0), ["a bb ccc"]);
    assert_eq!(wrap("a bb ccc", false, 10.0, 20.0), ["a bb", "ccc"]);
    assert_eq!(wrap("unbreakable", false, 10.0, 1.0), ["unbreakable"]);
}

#[test]
fn a_data_matrix_label_reads_back_to_the_uri() {
    let size = LabelSize::new(Some(80.0), Some(40.0)).unwrap();
    let c = content(vec![MagnetType::Ndfeb]);
    let drawing = lay_out(&c, size, DataCarrier::DataMatrix).unwrap();
    // The symbol's modules from the rectangles inside the code square (not the frame).
    let code = DataCarrier::DataMatrix.modules(&c.uri).unwrap();
    let n = code.width;
    let frame = (40.0_f64 * 0.008).max(0.25);
    let unit = (40.0 - 2.0 * frame) / (n + 4) as f64;
    let mut bits = vec![false; n * n];
    for mark in &drawing.marks {
        if let Mark::Rect { x, y, w, h } = mark {
            if *w >= 80.0 - 1e-9 || *h >= 40.0 - 1e-9 {
                continue;
            }
            let row = ((y - frame) / unit).round() as usize - 2;
            let first = ((x - frame) / unit).round() as usize - 2;
            let count = (w / unit).round() as usize;
            assert!((h - unit).abs() < 1e-9);
            for col in first..first + count {
                bits[row * n + col] = true;
            }
        }
    }
    let data = datamatrix::DataMatrix::decode(&bits, n).unwrap();
    assert_eq!(data, c.uri.as_bytes());
}
