//! `POST /api/v1/scan/decode`: a photo in, the QR code or GS1 Data Matrix in it out, with the
//! page to open; and its refusals (no code, unreadable, too large, wrong type, no key, rate).

use reetrace_core::api::auth::RateLimit;
use serde_json::Value;

use crate::api_test;
use crate::helpers::{TestApp, assert_problem, spawn_app_with};
use crate::passports::motor;

/// A greyscale PNG of `modules` (row by row, `width` wide; dark true), `scale` pixels a module,
/// with a quiet zone of `quiet` modules.
pub fn png_of(modules: &[bool], width: usize, scale: usize, quiet: usize) -> Vec<u8> {
    let height = modules.len() / width;
    let (w, h) = ((width + 2 * quiet) * scale, (height + 2 * quiet) * scale);
    let mut pixels = vec![255u8; w * h];
    for (i, dark) in modules.iter().enumerate() {
        if !dark {
            continue;
        }
        let (col, row) = (i % width + quiet, i / width + quiet);
        for y in row * scale..(row + 1) * scale {
            for x in col * scale..(col + 1) * scale {
                pixels[y * w + x] = 0;
            }
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w as u32, h as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&pixels).unwrap();
    writer.finish().unwrap();
    out
}

/// A GS1 Data Matrix (FNC1 first) of the element string `data`, as a PNG.
pub fn gs1_data_matrix(data: &str) -> Vec<u8> {
    let code =
        datamatrix::DataMatrix::encode_gs1(data.as_bytes(), datamatrix::SymbolList::default())
            .unwrap();
    let bitmap = code.bitmap();
    png_of(bitmap.bits(), bitmap.width(), 8, 2)
}

/// Posts `body` as `content_type` to the decode route with `key`.
pub async fn decode(
    app: &TestApp,
    key: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut request = app
        .post("/api/v1/scan/decode")
        .header("content-type", content_type)
        .body(body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.unwrap()
}

async fn decoded(app: &TestApp, key: &str, content_type: &str, body: Vec<u8>) -> Value {
    let response = decode(app, Some(key), content_type, body).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

api_test!(
    the_qr_code_of_a_passport_decodes_to_its_page,
    |app: TestApp| async move {
        let (_, maker) = app.create_org("Motors SA", "manufacturer").await;
        let (_, recycler) = app.create_org("Urban Mine", "recycler").await;
        let issued = app.register(&maker, &motor("SN-0001")).await;
        let id = issued["id"].as_str().unwrap();
        let uri = issued["uri"].as_str().unwrap();
        let qr = app
            .get(&format!("/api/v1/passports/{id}/qr.png"))
            .send()
            .await
            .unwrap();
        assert_eq!(qr.status(), 200);
        let image = qr.bytes().await.unwrap().to_vec();
        let body = decoded(&app, &recycler, "image/png", image).await;
        assert_eq!(body["format"], "qr_code");
        assert_eq!(body["text"], uri);
        assert_eq!(body["target"], "/01/04012345000016/21/SN-0001");
        // The target opens the passport page.
        let page = app
            .get(body["target"].as_str().unwrap())
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
    }
);

api_test!(
    a_gs1_data_matrix_decodes_to_the_item_it_names,
    |app: TestApp| async move {
        let (_, maker) = app.create_org("Motors SA", "manufacturer").await;
        app.register(&maker, &motor("SN-0002")).await;
        // Any key will do: a manufacturer's.
        let body = decoded(
            &app,
            &maker,
            "image/png",
            gs1_data_matrix("010401234500001621SN-0002"),
        )
        .await;
        assert_eq!(body["format"], "data_matrix");
        assert_eq!(body["text"], "010401234500001621SN-0002");
        assert_eq!(body["target"], "/01/04012345000016/21/SN-0002");
        // A code naming nothing this server knows: its text, no target.
        let body = decoded(
            &app,
            &maker,
            "image/png",
            gs1_data_matrix("010401234500001621SN-9999"),
        )
        .await;
        assert_eq!(body["target"], Value::Null);
    }
);

api_test!(refusals_name_what_is_wrong, |app: TestApp| async move {
    let (_, key) = app.create_org("Urban Mine", "recycler").await;
    // No key: 401, before anything else.
    let blank = png_of(&[false; 400], 20, 10, 0);
    assert_problem(
        decode(&app, None, "image/png", blank.clone()).await,
        401,
        "unauthorized",
    )
    .await;
    // An image with no code.
    assert_problem(
        decode(&app, Some(&key), "image/png", blank).await,
        422,
        "no_code_found",
    )
    .await;
    // Bytes that are no image of their type.
    for kind in ["image/png", "image/jpeg", "image/webp"] {
        let problem = assert_problem(
            decode(&app, Some(&key), kind, b"not an image at all".to_vec()).await,
            422,
            "unreadable_image",
        )
        .await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("not a readable")
        );
    }
    // A type that is not taken.
    let problem = assert_problem(
        decode(&app, Some(&key), "image/gif", b"GIF89a".to_vec()).await,
        415,
        "unsupported_media_type",
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("image/gif"));
    // Over 8 MiB: 413 from the declared length, answered after 1 KiB of the body was sent.
    let head = format!("Content-Length: {}\r\n", 8 * 1024 * 1024 + 1);
    let (status, body) = raw_post(&app, &key, &head, 1, 1024).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("\"body_too_large\""), "{body}");
    // Without a length (chunked), 413 as soon as the body grows past 8 MiB.
    let (status, body) = raw_post(&app, &key, "Transfer-Encoding: chunked\r\n", 9, 1 << 20).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("\"body_too_large\""), "{body}");
});

/// Posts a PNG body to the decode route over a bare connection: the request head with
/// `framing` (a `Content-Length` or chunked encoding header), then `chunks` chunks of `size`
/// bytes written while the answer is read (the server may answer before it has read them all);
/// returns the answer's status and text.
async fn raw_post(
    app: &TestApp,
    key: &str,
    framing: &str,
    chunks: usize,
    size: usize,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.address.trim_start_matches("http://").to_owned();
    let stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let chunked = framing.contains("chunked");
    let head = format!(
        "POST /api/v1/scan/decode HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: image/png\r\n{framing}\r\n"
    );
    let writing = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        let chunk = vec![0u8; size];
        for _ in 0..chunks {
            if chunked {
                writer.write_all(format!("{size:x}\r\n").as_bytes()).await?;
                writer.write_all(&chunk).await?;
                writer.write_all(b"\r\n").await?;
            } else {
                writer.write_all(&chunk).await?;
            }
        }
        writer.flush().await
    });
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let read =
            tokio::time::timeout(std::time::Duration::from_secs(30), reader.read(&mut buffer))
                .await
                .expect("no answer within 30 s");
        match read {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
        }
        let text = String::from_utf8_lossy(&answer);
        if let Some((head, body)) = text.split_once("\r\n\r\n")
            && body.contains('}')
            && head.starts_with("HTTP/1.1")
        {
            break;
        }
    }
    writing.abort();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text:?}"));
    (status, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decoding_is_rate_limited_per_key() {
    let app = spawn_app_with(reetrace_core::db::Backend::Sqlite, |config| {
        config.scan_rate_limit = RateLimit {
            per_second: 1,
            burst: 2,
        };
    })
    .await
    .unwrap();
    let (org, first) = app.create_org("Urban Mine", "recycler").await;
    let blank = png_of(&[false; 100], 10, 4, 0);
    for _ in 0..2 {
        let response = decode(&app, Some(&first), "image/png", blank.clone()).await;
        assert_eq!(response.status(), 422);
    }
    let limited = decode(&app, Some(&first), "image/png", blank.clone()).await;
    assert!(limited.headers().get("retry-after").is_some());
    assert_problem(limited, 429, "rate_limited").await;
    // Another key (of the same organisation) has its own budget.
    let second: Value = app
        .post(&format!("/api/v1/orgs/{org}/api-keys"))
        .bearer_auth(&app.admin_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second = second["api_key"].as_str().unwrap();
    assert_eq!(
        decode(&app, Some(second), "image/png", blank)
            .await
            .status(),
        422
    );
}
