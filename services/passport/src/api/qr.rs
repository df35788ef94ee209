//! QR codes of a passport's resolver URL, to print on the product or its label.
//!
//! The `qrcode` crate makes the module matrix (error correction level M) and the SVG; the PNG
//! is drawn here from the same matrix as a 1-bit grayscale image. Both keep the 4-module quiet
//! zone the QR standard asks for.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use qrcode::{Color, QrCode};
use reetrace_core::api::codes::{
    BAD_REQUEST, INVALID_ID, INVALID_QUERY, NOT_FOUND, PUBLIC, listed,
};
use reetrace_core::api::extract::{ApiQuery, parse_uuid};
use reetrace_core::api::problem::{FieldError, Problem};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::PassportState;
use super::page::escape_html;

/// Light modules around the symbol on each side.
pub const QUIET_ZONE: u32 = 4;
/// Pixels per module when no size is asked for.
pub const DEFAULT_SCALE: u32 = 8;
/// The smallest and largest `size` a caller may ask for, in pixels.
pub const MIN_SIZE: u32 = 64;
pub const MAX_SIZE: u32 = 2048;

const CACHE: &str = "public, max-age=86400";

pub fn router() -> OpenApiRouter<PassportState> {
    OpenApiRouter::new()
        .routes(routes!(qr_svg))
        .routes(routes!(qr_png))
}

/// The QR code of `text` (error correction level M).
pub fn encode(text: &str) -> Result<QrCode, Problem> {
    QrCode::new(text.as_bytes()).map_err(|e| {
        tracing::error!(error = %e, "resolver URL does not fit a QR code");
        Problem::internal()
    })
}

/// How a code is drawn: whole pixels per module, and the image's side in pixels (the extra
/// pixels widen the quiet zone evenly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QrLayout {
    pub scale: u32,
    pub side: u32,
}

/// The layout of `code` at `size` pixels: exactly `size` wide, with as many whole pixels per
/// module as fit (at least one; a code too wide for one pixel a module is wider than `size`).
/// Default: [`DEFAULT_SCALE`] pixels per module.
pub fn layout(code: &QrCode, size: Option<u32>) -> QrLayout {
    let modules = code.width() as u32 + 2 * QUIET_ZONE;
    match size {
        None => QrLayout {
            scale: DEFAULT_SCALE,
            side: modules * DEFAULT_SCALE,
        },
        Some(size) => {
            let scale = (size / modules).max(1);
            QrLayout {
                scale,
                side: size.max(scale * modules),
            }
        }
    }
}

/// The SVG of `code` drawn at `layout` (its `width` and `height`; the vector image scales),
/// titled with the encoded text for screen readers.
pub fn svg(code: &QrCode, layout: QrLayout, text: &str) -> String {
    let image = code
        .render::<qrcode::render::svg::Color<'_>>()
        .quiet_zone(true)
        .module_dimensions(1, 1)
        .build();
    let modules = code.width() as u32 + 2 * QUIET_ZONE;
    let image = image.replacen(
        &format!("width=\"{modules}\" height=\"{modules}\""),
        &format!("width=\"{0}\" height=\"{0}\"", layout.side),
        1,
    );
    // Give the image a name: insert a title right after the opening <svg ...> tag.
    let title = format!("<title>QR code of {}</title>", escape_html(text));
    match image
        .find("<svg")
        .and_then(|start| image[start..].find('>').map(|end| start + end + 1))
    {
        Some(at) => {
            let mut out = String::with_capacity(image.len() + title.len() + 16);
            out.push_str(&image[..at - 1]);
            out.push_str(" role=\"img\">");
            out.push_str(&title);
            out.push_str(&image[at..]);
            out
        }
        None => image,
    }
}

/// The PNG of `code` at `layout`: 1-bit grayscale, with the quiet zone (widened by the pixels
/// left over, half on each side).
pub fn png(code: &QrCode, layout: QrLayout) -> Result<Vec<u8>, png::EncodingError> {
    let modules = code.width();
    let scale = layout.scale.max(1) as usize;
    let drawn = (modules + 2 * QUIET_ZONE as usize) * scale;
    let side = (layout.side as usize).max(drawn);
    let margin = QUIET_ZONE as usize * scale + (side - drawn) / 2;
    let row_bytes = side.div_ceil(8);
    let colors = code.to_colors();
    // In 1-bit grayscale a set bit is white: start all white, clear the dark modules.
    let mut pixels = vec![0xFFu8; row_bytes * side];
    for (y, module_row) in colors.chunks(modules).enumerate() {
        let mut line = vec![0xFFu8; row_bytes];
        for (x, color) in module_row.iter().enumerate() {
            if *color == Color::Dark {
                let first = margin + x * scale;
                for px in first..first + scale {
                    line[px / 8] &= !(0x80 >> (px % 8));
                }
            }
        }
        let top = margin + y * scale;
        for py in top..top + scale {
            pixels[py * row_bytes..(py + 1) * row_bytes].copy_from_slice(&line);
        }
    }
    let side = u32::try_from(side).map_err(|_| png::EncodingError::LimitsExceeded)?;
    let mut out = Vec::with_capacity(pixels.len() / 4 + 128);
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&pixels)?;
    writer.finish()?;
    Ok(out)
}

/// A PNG image: in the document a binary string, not an array of numbers.
pub struct PngImage;

impl utoipa::PartialSchema for PngImage {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .content_media_type("image/png")
            .description(Some("A PNG image (binary)."))
            .into()
    }
}

impl utoipa::ToSchema for PngImage {}

/// Options of a QR image.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct QrQuery {
    /// The width in pixels (64 to 2048): the image is exactly that wide, whole pixels per
    /// module in the PNG, the quiet zone taking what is left over (only a code too wide for one
    /// pixel a module would be wider). Default: 8 pixels per module.
    #[param(minimum = 64, maximum = 2048)]
    size: Option<u32>,
}

impl QrQuery {
    fn size(&self) -> Result<Option<u32>, Problem> {
        match self.size {
            Some(size) if !(MIN_SIZE..=MAX_SIZE).contains(&size) => Err(Problem::bad_request(
                reetrace_core::api::codes::INVALID_QUERY,
                format!("size must be between {MIN_SIZE} and {MAX_SIZE} pixels, got {size}"),
            )
            .with_errors(vec![FieldError::new(
                "size",
                format!("must be between {MIN_SIZE} and {MAX_SIZE}"),
            )])),
            size => Ok(size),
        }
    }
}

/// The resolver URL of a passport.
async fn resolver_url(state: &PassportState, id: &str) -> Result<String, Problem> {
    let id = parse_uuid("id", id)?;
    let passport = state.service.passport(id).await?;
    Ok(state.service.product_uri(&passport))
}

/// The passport's QR code as SVG.
///
/// Public. Encodes the product's resolver URL (its GS1 Digital Link, or `/p/{id}`), error
/// correction level M, with a 4-module quiet zone. The identifier never changes, so the
/// image may be cached for a day.
#[utoipa::path(
    get, path = "/api/v1/passports/{id}/qr.svg", tag = "passports", operation_id = "getPassportQrSvg",
    params(("id" = String, Path, format = Uuid, description = "The passport id"), QrQuery),
    responses(
        (status = 200, description = "The QR code", body = String, content_type = "image/svg+xml",
            headers(("Cache-Control" = String, description = "`public, max-age=86400`"))),
        (status = 400, description = "The id is not a UUID or `size` is out of bounds", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such passport", body = Problem, content_type = "application/problem+json"),
    ),
    security(()),
    extensions(("x-problem-codes" = json!(listed(&[PUBLIC, &[BAD_REQUEST, INVALID_ID, INVALID_QUERY, NOT_FOUND]])))),
)]
async fn qr_svg(
    State(state): State<PassportState>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<QrQuery>,
) -> Result<Response, Problem> {
    let size = query.size()?;
    let url = resolver_url(&state, &id).await?;
    let code = encode(&url)?;
    let body = svg(&code, layout(&code, size), &url);
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, CACHE),
        ],
        body,
    )
        .into_response())
}

/// The passport's QR code as PNG.
///
/// Public. The same code as the SVG, as a 1-bit grayscale PNG, 8 pixels per module unless
/// `size` asks for a width.
#[utoipa::path(
    get, path = "/api/v1/passports/{id}/qr.png", tag = "passports", operation_id = "getPassportQrPng",
    params(("id" = String, Path, format = Uuid, description = "The passport id"), QrQuery),
    responses(
        (status = 200, description = "The QR code", body = PngImage, content_type = "image/png",
            headers(("Cache-Control" = String, description = "`public, max-age=86400`"))),
        (status = 400, description = "The id is not a UUID or `size` is out of bounds", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such passport", body = Problem, content_type = "application/problem+json"),
    ),
    security(()),
    extensions(("x-problem-codes" = json!(listed(&[PUBLIC, &[BAD_REQUEST, INVALID_ID, INVALID_QUERY, NOT_FOUND]])))),
)]
async fn qr_png(
    State(state): State<PassportState>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<QrQuery>,
) -> Result<Response, Problem> {
    let size = query.size()?;
    let url = resolver_url(&state, &id).await?;
    let code = encode(&url)?;
    let layout = layout(&code, size);
    let body = tokio::task::spawn_blocking(move || png(&code, layout))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "PNG task failed");
            Problem::internal()
        })?
        .map_err(|e| {
            tracing::error!(error = %e, "PNG encoding failed");
            Problem::internal()
        })?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, CACHE),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const URL: &str = "https://p.example/01/04012345000016/21/EVM-2026-000001";

    fn decode_png(bytes: &[u8]) -> (png::OutputInfo, Vec<u8>) {
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info, buf)
    }

    #[test]
    fn the_png_is_the_module_matrix_with_a_quiet_zone() {
        let code = encode(URL).unwrap();
        let side = (code.width() + 8) * 3;
        let bytes = png(
            &code,
            QrLayout {
                scale: 3,
                side: side as u32,
            },
        )
        .unwrap();
        let (info, data) = decode_png(&bytes);
        assert_eq!((info.width as usize, info.height as usize), (side, side));
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        assert_eq!(info.bit_depth, png::BitDepth::One);
        let dark = |x: usize, y: usize| data[y * info.line_size + x / 8] & (0x80 >> (x % 8)) == 0;
        let colors = code.to_colors();
        for y in 0..code.width() + 8 {
            for x in 0..code.width() + 8 {
                let inside =
                    (4..code.width() + 4).contains(&x) && (4..code.width() + 4).contains(&y);
                let expected = inside && colors[(y - 4) * code.width() + (x - 4)] == Color::Dark;
                // Every pixel of the module, not just its centre.
                for (dx, dy) in [(0, 0), (1, 1), (2, 2), (2, 0)] {
                    assert_eq!(dark(x * 3 + dx, y * 3 + dy), expected, "module {x},{y}");
                }
            }
        }
    }

    #[test]
    fn a_size_is_the_exact_width_with_whole_modules() {
        let code = encode(URL).unwrap();
        let modules = code.width() as u32 + 8;
        let at = |size| layout(&code, size);
        assert_eq!(
            at(None),
            QrLayout {
                scale: DEFAULT_SCALE,
                side: modules * DEFAULT_SCALE
            }
        );
        assert_eq!(
            at(Some(modules * 5)),
            QrLayout {
                scale: 5,
                side: modules * 5
            }
        );
        assert_eq!(
            at(Some(modules * 5 + 1)),
            QrLayout {
                scale: 5,
                side: modules * 5 + 1
            }
        );
        assert_eq!(
            at(Some(512)),
            QrLayout {
                scale: 512 / modules,
                side: 512
            }
        );
        // The extra pixels widen the quiet zone on both sides; the symbol stays centred.
        let layout = at(Some(512));
        let (info, data) = decode_png(&png(&code, layout).unwrap());
        assert_eq!((info.width, info.height), (512, 512));
        let dark = |x: usize, y: usize| data[y * info.line_size + x / 8] & (0x80 >> (x % 8)) == 0;
        let margin = (4 * layout.scale + (512 - modules * layout.scale) / 2) as usize;
        // The finder pattern's top-left module is dark; the pixel before it is not.
        assert!(dark(margin, margin));
        assert!(!dark(margin - 1, margin));
        assert!(!dark(margin, margin - 1));
    }

    #[test]
    fn the_svg_is_titled_and_keeps_its_shape() {
        let code = encode("https://p.example/01/04012345000016/21/A%26B").unwrap();
        let image = svg(
            &code,
            layout(&code, Some(300)),
            "https://p.example/01/04012345000016/21/A%26B",
        );
        assert!(image.contains("width=\"300\" height=\"300\""));
        assert!(image.contains("shape-rendering=\"crispEdges\" role=\"img\"><title>QR code of https://p.example/01/04012345000016/21/A%26B</title><rect"));
        let side = code.width() + 8;
        assert!(image.contains(&format!("viewBox=\"0 0 {side} {side}\"")));
        assert!(image.ends_with("\"/></svg>"));
    }
}
