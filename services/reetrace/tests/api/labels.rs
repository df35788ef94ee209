//! The magnet label of CRMA art. 28(1): the QR code (and the Data Matrix) read back from the SVG
//! (rasterised here) and from the PDF (rendered by poppler's `pdftoppm`, which CI installs: these
//! tests fail when it is missing), the text, the size in millimetres, and the A4 sheet.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::api_test;
use crate::helpers::{TestApp, assert_problem};
use crate::magnets::magnet_motor;

/// A NiMH battery pack: rare earths, no permanent magnets.
fn battery(serial: &str) -> Value {
    json!({"granularity": "item",
     "product": {"gtin": "04012345000023", "serial": serial, "name": "NiMH battery pack 7.2 V",
       "category": "nimh_battery", "net_mass_g": 1200, "placed_on_market": {"date": "2026-04-15", "country": "DE"}},
     "ree_content": {"components": [{"name": "cells", "material": "NiMH-anode", "mass_g": 900,
       "elements": [{"element": "La", "mass_g": 60}, {"element": "Ce", "mass_g": 25}]}]}})
}

/// The words of an SVG label or of `pdftotext`'s output, single spaces between them (lines
/// broken by the layout joined again).
fn words(text: &str) -> String {
    let text = if text.contains("<svg") {
        text.split("<text")
            .skip(1)
            .map(|t| t.split('>').nth(1).unwrap().split("</text").next().unwrap())
            .collect::<Vec<_>>()
            .join(" ")
            .replace("&amp;", "&")
    } else {
        text.to_owned()
    };
    text.split(|c: char| c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Dark pixels of the SVG's black rectangles at `per_mm` pixels per millimetre (a pixel is dark
/// when its centre is inside a rectangle); the text is not drawn.
fn rasterise(svg: &str, per_mm: f64) -> (usize, usize, Vec<bool>) {
    let attribute = |tag: &str, name: &str| -> f64 {
        tag.split(&format!(" {name}=\""))
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let root = svg.split("<svg").nth(1).unwrap().split('>').next().unwrap();
    let mm = |value: &str| -> f64 {
        root.split(&format!(" {value}=\""))
            .nth(1)
            .unwrap()
            .split("mm\"")
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let (width, height) = (
        (mm("width") * per_mm).round() as usize,
        (mm("height") * per_mm).round() as usize,
    );
    let mut dark = vec![false; width * height];
    let black = svg.split("<g fill=\"#000\"").nth(1).unwrap();
    let black = black.split("</g>").next().unwrap();
    let pixel = |v: f64| (v * per_mm - 0.5).ceil().max(0.0) as usize;
    for tag in black.split("<rect").skip(1) {
        let (x, y) = (attribute(tag, "x"), attribute(tag, "y"));
        let (w, h) = (attribute(tag, "width"), attribute(tag, "height"));
        for row in pixel(y)..pixel(y + h).min(height) {
            for col in pixel(x)..pixel(x + w).min(width) {
                dark[row * width + col] = true;
            }
        }
    }
    (width, height, dark)
}

/// Every QR code rqrr finds in the image, decoded.
fn decode_all(width: usize, height: usize, dark: impl Fn(usize, usize) -> bool) -> Vec<String> {
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| {
        if dark(x, y) { 0 } else { 255 }
    });
    image
        .detect_grids()
        .iter()
        .map(|grid| grid.decode().unwrap().1)
        .collect()
}

/// The Data Matrix in the code square of a label `height_mm` high (left of the text, inside the
/// frame), at `per_mm` pixels per millimetre, decoded: its bounding box is the symbol (the L of
/// its finder pattern on the left and bottom, the clock track on top), the dark runs of the clock
/// track count its modules, and each module is read at its centre.
fn decode_data_matrix(per_mm: f64, height_mm: f64, dark: impl Fn(usize, usize) -> bool) -> String {
    let (from, to) = (
        per_mm.ceil() as usize,
        ((height_mm - 1.0) * per_mm) as usize,
    );
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for y in from..to {
        for x in from..to {
            if dark(x, y) {
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            }
        }
    }
    assert!(x0 < x1 && y0 < y1, "no symbol");
    // Along the clock track, a little below its top edge.
    let clock_y = y0 + 2;
    let mut runs = 0;
    let mut previous = false;
    for x in x0..=x1 {
        let now = dark(x, clock_y);
        if now && !previous {
            runs += 1;
        }
        previous = now;
    }
    let n = runs * 2;
    let unit = (x1 - x0 + 1) as f64 / n as f64;
    let mut bits = Vec::with_capacity(n * n);
    for row in 0..n {
        for col in 0..n {
            let x = x0 + ((col as f64 + 0.5) * unit) as usize;
            let y = y0 + ((row as f64 + 0.5) * unit) as usize;
            bits.push(dark(x, y));
        }
    }
    String::from_utf8(datamatrix::DataMatrix::decode(&bits, n).unwrap()).unwrap()
}

/// Runs a poppler tool; panics (never skips) when it is not installed.
fn poppler(tool: &str, args: &[&str]) -> Vec<u8> {
    let output = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!("{tool} failed to start ({e}): install Debian's poppler-utils (.ci/run does)")
    });
    assert!(
        output.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Page `page` of the PDF at `dpi`, in grey (a PGM from `pdftoppm`): (width, height, pixels).
fn render_page(pdf: &Path, page: u32, dpi: u32) -> (usize, usize, Vec<u8>) {
    let dir = pdf.parent().unwrap();
    let prefix = dir.join(format!("page{page}"));
    let (page, dpi) = (page.to_string(), dpi.to_string());
    poppler(
        "pdftoppm",
        &[
            "-gray",
            "-r",
            &dpi,
            "-f",
            &page,
            "-l",
            &page,
            "-singlefile",
            pdf.to_str().unwrap(),
            prefix.to_str().unwrap(),
        ],
    );
    let pgm = std::fs::read(prefix.with_extension("pgm")).unwrap();
    // "P5\n<width> <height>\n255\n" then one byte per pixel.
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8(pgm[start..at].to_vec()).unwrap());
    }
    assert_eq!(fields[0], "P5");
    let (width, height): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let pixels = pgm[at + 1..].to_vec();
    assert_eq!(pixels.len(), width * height);
    (width, height, pixels)
}

/// A field of `pdfinfo`'s answer (`Pages`, `Page size`).
fn info_field(info: &str, name: &str) -> String {
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in {info}"))
        .trim()
        .to_owned()
}

/// Writes `bytes` to a temporary PDF file.
fn pdf_file(dir: &tempfile::TempDir, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.path().join("label.pdf");
    std::fs::write(&path, bytes).unwrap();
    path
}

async fn fetch(app: &TestApp, path: &str, content_type: &str) -> reqwest::Response {
    let response = app.get(path).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    assert_eq!(response.headers()["content-type"], content_type);
    response
}

api_test!(
    labels_name_the_magnets_and_carry_the_digital_link,
    |app: TestApp| async move {
        let (_, key) = app
            .create_org("Elektromotoren Rhein GmbH", "manufacturer")
            .await;
        let issued = app.register(&key, &magnet_motor("EVM-2026-000001")).await;
        let id = issued["id"].as_str().unwrap();
        let uri = issued["uri"].as_str().unwrap();
        assert!(uri.ends_with("/01/04012345000016/21/EVM-2026-000001"));

        let svg = fetch(
            &app,
            &format!("/api/v1/passports/{id}/label.svg?width_mm=100&height_mm=50"),
            "image/svg+xml",
        )
        .await
        .text()
        .await
        .unwrap();
        assert!(svg.contains("width=\"100mm\" height=\"50mm\" viewBox=\"0 0 100 50\""));
        let text = words(&svg);
        for expected in [
            "Contains permanent magnets",
            "Neodymium-iron-boron (NdFeB)",
            "(01) 04012345000016 (21) EVM-2026-000001",
            "Manufacturer: Elektromotoren Rhein GmbH",
            "Industriestraße 12",
            "55411 Bingen am Rhein, Germany",
        ] {
            assert!(text.contains(expected), "{expected} missing from {text}");
        }
        assert!(!text.contains("Ferrite") && !text.contains("Samarium"));
        let (width, height, dark) = rasterise(&svg, 10.0);
        assert_eq!((width, height), (1000, 500));
        assert_eq!(decode_all(width, height, |x, y| dark[y * width + x]), [uri]);

        let pdf = fetch(
            &app,
            &format!("/api/v1/passports/{id}/label.pdf?width_mm=100&height_mm=50"),
            "application/pdf",
        )
        .await
        .bytes()
        .await
        .unwrap();
        assert!(pdf.starts_with(b"%PDF-1.4"));
        // 100 × 50 mm in points.
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("/MediaBox [0 0 283.465 141.732]"), "{text}");
        let dir = tempfile::tempdir().unwrap();
        let file = pdf_file(&dir, &pdf);
        let info = String::from_utf8(poppler("pdfinfo", &[file.to_str().unwrap()])).unwrap();
        assert_eq!(info_field(&info, "Pages"), "1");
        assert_eq!(info_field(&info, "Page size"), "283.465 x 141.732 pts");
        let text = words(
            &String::from_utf8(poppler("pdftotext", &[file.to_str().unwrap(), "-"])).unwrap(),
        );
        for expected in [
            "Contains permanent magnets",
            "Neodymium-iron-boron (NdFeB)",
            "(01) 04012345000016 (21) EVM-2026-000001",
            "Industriestraße 12",
        ] {
            assert!(text.contains(expected), "{expected} missing from {text}");
        }
        let (w, h, pixels) = render_page(&file, 1, 300);
        // pdftoppm rounds the pixel size up.
        assert_eq!((w, h), (1182, 591), "100 × 50 mm at 300 dpi");
        assert_eq!(decode_all(w, h, |x, y| pixels[y * w + x] < 128), [uri]);

        // Only the width: the height follows; the QR code still reads.
        let small = fetch(
            &app,
            &format!("/api/v1/passports/{id}/label.svg?width_mm=40"),
            "image/svg+xml",
        )
        .await
        .text()
        .await
        .unwrap();
        assert!(small.contains("width=\"40mm\" height=\"20mm\""));
        let (width, height, dark) = rasterise(&small, 20.0);
        assert_eq!(decode_all(width, height, |x, y| dark[y * width + x]), [uri]);
    }
);

api_test!(
    a_product_without_magnets_gets_a_label_saying_so,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Akku Werke AG", "manufacturer").await;
        let issued = app.register(&key, &battery("B-1")).await;
        let id = issued["id"].as_str().unwrap();
        let svg = fetch(
            &app,
            &format!("/api/v1/passports/{id}/label.svg"),
            "image/svg+xml",
        )
        .await
        .text()
        .await
        .unwrap();
        assert!(
            svg.contains("width=\"80mm\" height=\"40mm\""),
            "the default size"
        );
        let text = words(&svg);
        assert!(text.contains("No permanent magnets"));
        assert!(text.contains("This product contains no permanent magnets."));
        assert!(!text.contains("Contains permanent magnets"));
        assert!(text.contains("Manufacturer: Akku Werke AG"));

        // A component whose material names a magnet, registered without magnet records, is
        // not a product "without magnets".
        let mut legacy = battery("B-2");
        legacy["ree_content"]["components"][0]["material"] = json!("SmCo");
        let legacy = app.register(&key, &legacy).await;
        let svg = fetch(
            &app,
            &format!(
                "/api/v1/passports/{}/label.svg",
                legacy["id"].as_str().unwrap()
            ),
            "image/svg+xml",
        )
        .await
        .text()
        .await
        .unwrap();
        assert!(words(&svg).contains("Samarium-cobalt (SmCo)"), "{svg}");

        // Revoked, the passport keeps its label as it keeps its QR code.
        let revoke = app
            .post(&format!("/api/v1/passports/{id}/revoke"))
            .bearer_auth(&key)
            .json(&json!({"reason": "recalled"}))
            .send()
            .await
            .unwrap();
        assert_eq!(revoke.status(), 200);
        fetch(
            &app,
            &format!("/api/v1/passports/{id}/label.pdf"),
            "application/pdf",
        )
        .await;
    }
);

api_test!(
    bad_label_requests_are_refused_by_name,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Akku Werke AG", "manufacturer").await;
        let issued = app.register(&key, &battery("B-1")).await;
        let id = issued["id"].as_str().unwrap();
        for (query, parameter) in [
            ("width_mm=10", "width_mm"),
            ("width_mm=301", "width_mm"),
            ("width_mm=abc", "width_mm"),
            ("width_mm=inf", "width_mm"),
            ("width_mm=100&height_mm=61", "height_mm"),
            ("width_mm=100&height_mm=5", "height_mm"),
            ("height_mm=1000", "height_mm"),
            ("code=aztec", "code"),
            ("code=QR", "code"),
        ] {
            for kind in ["svg", "pdf"] {
                let response = app
                    .get(&format!("/api/v1/passports/{id}/label.{kind}?{query}"))
                    .send()
                    .await
                    .unwrap();
                let body = assert_problem(response, 400, "invalid_query").await;
                assert_eq!(body["errors"][0]["pointer"], parameter, "{query}: {body}");
            }
        }
        let unknown = uuid::Uuid::now_v7();
        assert_problem(
            app.get(&format!("/api/v1/passports/{unknown}/label.pdf"))
                .send()
                .await
                .unwrap(),
            404,
            "not_found",
        )
        .await;
        assert_problem(
            app.get("/api/v1/passports/not-a-uuid/label.svg")
                .send()
                .await
                .unwrap(),
            400,
            "invalid_id",
        )
        .await;
    }
);

api_test!(
    a_sheet_prints_many_labels_on_a4_pages,
    |app: TestApp| async move {
        let (_, key) = app
            .create_org("Elektromotoren Rhein GmbH", "manufacturer")
            .await;
        let (_, other) = app.create_org("Akku Werke AG", "manufacturer").await;
        let motor = app.register(&key, &magnet_motor("EVM-2026-000001")).await;
        let battery_id = {
            let mut own = battery("B-9");
            own["product"]["gtin"] = json!(app.own_gtin(&key, "00002").await);
            app.register(&key, &own).await["id"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let theirs = {
            let mut theirs = battery("B-1");
            theirs["product"]["gtin"] = json!(app.own_gtin(&other, "00001").await);
            app.register(&other, &theirs).await["id"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let motor_id = motor["id"].as_str().unwrap();
        let sheet = |body: Value, key: &str| {
            app.post("/api/v1/labels")
                .bearer_auth(key)
                .json(&body)
                .send()
        };

        // 80 × 40 mm labels: 2 across and 6 down an A4 sheet, so 13 labels take 2 pages.
        let ids: Vec<&str> = (0..13)
            .map(|i| {
                if i % 2 == 0 {
                    motor_id
                } else {
                    battery_id.as_str()
                }
            })
            .collect();
        let response = sheet(json!({"passports": ids}), &key).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/pdf");
        let pdf = response.bytes().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = pdf_file(&dir, &pdf);
        let info = String::from_utf8(poppler("pdfinfo", &[file.to_str().unwrap()])).unwrap();
        assert_eq!(info_field(&info, "Pages"), "2");
        assert_eq!(info_field(&info, "Page size"), "595.276 x 841.89 pts (A4)");
        let motor_uri = motor["uri"].as_str().unwrap().to_owned();
        let battery_uri = app
            .get_json(&format!("/api/v1/passports/{battery_id}"), None)
            .await["uri"]
            .as_str()
            .unwrap()
            .to_owned();
        // Each cell of the grid (10 mm margin, 80 × 40 mm labels 3 mm apart) holds the label
        // listed at its place, row by row.
        let dpi = 200.0;
        let px = |mm: f64| (mm / 25.4 * dpi).round() as usize;
        let (w, _, pixels) = render_page(&file, 1, 200);
        let cell = |pixels: &[u8], w: usize, index: usize| {
            let (col, row) = ((index % 2) as f64, (index / 2) as f64);
            let (left, top) = (px(10.0 + col * 83.0), px(10.0 + row * 43.0));
            decode_all(px(80.0), px(40.0), |x, y| {
                pixels[(top + y) * w + left + x] < 128
            })
        };
        for (index, id) in ids.iter().enumerate().take(12) {
            let expected = if *id == motor_id {
                &motor_uri
            } else {
                &battery_uri
            };
            assert_eq!(
                cell(&pixels, w, index),
                [expected.as_str()],
                "label {index}"
            );
        }
        let (w, _, pixels) = render_page(&file, 2, 200);
        assert_eq!(
            cell(&pixels, w, 0),
            [motor_uri.as_str()],
            "the 13th on the second page"
        );
        assert!(cell(&pixels, w, 1).is_empty(), "and alone there");

        // Another organisation's passport, or an unknown one: refused by position.
        let unknown = uuid::Uuid::now_v7().to_string();
        let body = assert_problem(
            sheet(json!({"passports": [motor_id, theirs, unknown]}), &key)
                .await
                .unwrap(),
            404,
            "not_found",
        )
        .await;
        assert_eq!(body["errors"][0]["pointer"], "/passports/2");
        assert_eq!(body["errors"].as_array().unwrap().len(), 1);
        let body = assert_problem(
            sheet(json!({"passports": [motor_id, theirs]}), &key)
                .await
                .unwrap(),
            403,
            "forbidden",
        )
        .await;
        assert_eq!(body["errors"][0]["pointer"], "/passports/1");
        assert!(
            body["errors"][0]["detail"]
                .as_str()
                .unwrap()
                .contains(&theirs)
        );

        // Too many, none, a size that fits no sheet, a bad id, no key.
        let many = vec![motor_id; 501];
        let body = assert_problem(
            sheet(json!({"passports": many}), &key).await.unwrap(),
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(body["errors"][0]["pointer"], "/passports");
        for (request, pointer) in [
            (json!({"passports": []}), "/passports"),
            (
                json!({"passports": [motor_id], "width_mm": 200}),
                "/width_mm",
            ),
            (
                json!({"passports": [motor_id], "width_mm": 20}),
                "/width_mm",
            ),
            (
                json!({"passports": [motor_id], "width_mm": 100, "height_mm": 90}),
                "/height_mm",
            ),
            (json!({"passports": [motor_id], "code": "aztec"}), "/code"),
            (json!({"passports": [motor_id, "nope"]}), "/passports/1"),
        ] {
            let body = assert_problem(
                sheet(request.clone(), &key).await.unwrap(),
                422,
                "validation_failed",
            )
            .await;
            assert_eq!(body["errors"][0]["pointer"], pointer, "{request}: {body}");
        }
        let anonymous = app
            .post("/api/v1/labels")
            .json(&json!({"passports": [motor_id]}))
            .send()
            .await
            .unwrap();
        assert_problem(anonymous, 401, "unauthorized").await;
    }
);

api_test!(
    data_matrix_labels_carry_the_digital_link_too,
    |app: TestApp| async move {
        let (_, key) = app
            .create_org("Elektromotoren Rhein GmbH", "manufacturer")
            .await;
        let issued = app.register(&key, &magnet_motor("EVM-2026-000001")).await;
        let id = issued["id"].as_str().unwrap();
        let uri = issued["uri"].as_str().unwrap();
        let query = "width_mm=100&height_mm=50&code=datamatrix";

        let svg = fetch(
            &app,
            &format!("/api/v1/passports/{id}/label.svg?{query}"),
            "image/svg+xml",
        )
        .await
        .text()
        .await
        .unwrap();
        assert!(words(&svg).contains("Neodymium-iron-boron (NdFeB)"));
        let (width, height, dark) = rasterise(&svg, 10.0);
        assert!(
            decode_all(width, height, |x, y| dark[y * width + x]).is_empty(),
            "no QR code"
        );
        assert_eq!(
            decode_data_matrix(10.0, 50.0, |x, y| dark[y * width + x]),
            uri
        );

        let pdf = fetch(
            &app,
            &format!("/api/v1/passports/{id}/label.pdf?{query}"),
            "application/pdf",
        )
        .await
        .bytes()
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = pdf_file(&dir, &pdf);
        let (w, _, pixels) = render_page(&file, 1, 300);
        assert_eq!(
            decode_data_matrix(300.0 / 25.4, 50.0, |x, y| pixels[y * w + x] < 128),
            uri
        );

        // A sheet of them.
        let response = app
            .post("/api/v1/labels")
            .bearer_auth(&key)
            .json(&json!({"passports": [id, id], "code": "datamatrix"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let sheet = pdf_file(&dir, &response.bytes().await.unwrap());
        let info = String::from_utf8(poppler("pdfinfo", &[sheet.to_str().unwrap()])).unwrap();
        assert_eq!(info_field(&info, "Pages"), "1");
    }
);
