//! From a photo's bytes to the text of the code in it: the image decoded to grey levels (PNG,
//! JPEG, WebP; pure-Rust decoders), bounded in pixels before anything large is allocated, then
//! searched for a QR code or a Data Matrix.

use std::collections::HashSet;
use std::io::Cursor;

use rxing::{BarcodeFormat, DecodeHints};

/// The image types the route takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    Png,
    Jpeg,
    Webp,
}

impl MediaType {
    /// Every type taken, as `Content-Type` names it.
    pub const ACCEPTED: &'static str = "image/png, image/jpeg or image/webp";

    /// The type a `Content-Type` header names (parameters ignored), if taken.
    pub fn of(content_type: &str) -> Option<MediaType> {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "image/png" => Some(MediaType::Png),
            "image/jpeg" | "image/jpg" => Some(MediaType::Jpeg),
            "image/webp" => Some(MediaType::Webp),
            _ => None,
        }
    }
}

/// The most pixels decoded: a 48-megapixel phone photo. A larger declared size is refused
/// before its pixels are allocated (a small file may declare a huge image).
pub const MAX_PIXELS: u64 = 48_000_000;

/// Photos are searched at most this many pixels on their longer side: a code that fills a
/// reasonable part of a phone photo stays tens of pixels per module, and the search's time
/// stays bounded (a 48-megapixel photo is reduced 4 times on each side, not searched whole).
const SEARCH_SIDE: u32 = 2_000;

/// Grey levels, one byte per pixel, row by row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Luma {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

/// Why an image gave no code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// The bytes are not an image of the declared type (or one its decoder does not read).
    #[error("the body is not a readable {kind} image: {reason}")]
    Unreadable { kind: &'static str, reason: String },
    /// More pixels than [`MAX_PIXELS`].
    #[error("the image is {width} x {height} pixels; at most {MAX_PIXELS} pixels are read")]
    TooManyPixels { width: u32, height: u32 },
}

fn kind(media: MediaType) -> &'static str {
    match media {
        MediaType::Png => "PNG",
        MediaType::Jpeg => "JPEG",
        MediaType::Webp => "WebP",
    }
}

fn unreadable(media: MediaType, reason: impl std::fmt::Display) -> ImageError {
    ImageError::Unreadable {
        kind: kind(media),
        reason: reason.to_string(),
    }
}

fn check_size(width: u32, height: u32) -> Result<(), ImageError> {
    if width == 0 || height == 0 {
        return Err(ImageError::Unreadable {
            kind: "image",
            reason: "it has no pixels".to_owned(),
        });
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ImageError::TooManyPixels { width, height });
    }
    Ok(())
}

/// Weighs red, green and blue as ITU-R BT.601 does (integers: no rounding drift).
fn grey(r: u8, g: u8, b: u8) -> u8 {
    ((299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b) + 500) / 1000) as u8
}

/// Grey levels of interleaved samples of `channels` (1 grey, 2 grey and alpha, 3 RGB, 4 RGBA);
/// transparent pixels are read as on white paper.
fn to_luma(samples: &[u8], channels: usize) -> Vec<u8> {
    let over_white = |value: u8, alpha: u8| {
        let (v, a) = (u32::from(value), u32::from(alpha));
        ((v * a + 255 * (255 - a) + 127) / 255) as u8
    };
    samples
        .chunks_exact(channels)
        .map(|p| match p {
            [v] => *v,
            [v, a] => over_white(*v, *a),
            [r, g, b] => grey(*r, *g, *b),
            [r, g, b, a] => over_white(grey(*r, *g, *b), *a),
            _ => 255,
        })
        .collect()
}

/// Decodes `bytes` of `media` to grey levels.
pub fn decode(media: MediaType, bytes: &[u8]) -> Result<Luma, ImageError> {
    match media {
        MediaType::Png => png_luma(bytes),
        MediaType::Jpeg => jpeg_luma(bytes),
        MediaType::Webp => webp_luma(bytes),
    }
}

fn png_luma(bytes: &[u8]) -> Result<Luma, ImageError> {
    let media = MediaType::Png;
    let mut decoder = png::Decoder::new_with_limits(
        Cursor::new(bytes),
        png::Limits {
            bytes: (MAX_PIXELS * 4) as usize,
        },
    );
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|e| unreadable(media, e))?;
    let (width, height) = reader.info().size();
    check_size(width, height)?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| unreadable(media, "its size overflows"))?;
    let mut buffer = vec![0; size];
    let frame = reader
        .next_frame(&mut buffer)
        .map_err(|e| unreadable(media, e))?;
    buffer.truncate(frame.buffer_size());
    let channels = frame.color_type.samples();
    Ok(Luma {
        width,
        height,
        pixels: to_luma(&buffer, channels),
    })
}

fn jpeg_luma(bytes: &[u8]) -> Result<Luma, ImageError> {
    use zune_jpeg::zune_core::bytestream::ZCursor;
    use zune_jpeg::zune_core::colorspace::ColorSpace;
    use zune_jpeg::zune_core::options::DecoderOptions;
    let media = MediaType::Jpeg;
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::Luma)
        .set_max_width(1 << 16)
        .set_max_height(1 << 16);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder.decode_headers().map_err(|e| unreadable(media, e))?;
    let (width, height) = decoder
        .dimensions()
        .ok_or_else(|| unreadable(media, "no frame header"))?;
    let (width, height) = (
        u32::try_from(width).unwrap_or(u32::MAX),
        u32::try_from(height).unwrap_or(u32::MAX),
    );
    check_size(width, height)?;
    let pixels = decoder.decode().map_err(|e| unreadable(media, e))?;
    let channels = decoder
        .output_colorspace()
        .map(|c| c.num_components())
        .unwrap_or(1);
    let pixels = if channels == 1 {
        pixels
    } else {
        to_luma(&pixels, channels)
    };
    Ok(Luma {
        width,
        height,
        pixels,
    })
}

fn webp_luma(bytes: &[u8]) -> Result<Luma, ImageError> {
    let media = MediaType::Webp;
    let mut decoder =
        image_webp::WebPDecoder::new(Cursor::new(bytes)).map_err(|e| unreadable(media, e))?;
    let (width, height) = decoder.dimensions();
    check_size(width, height)?;
    let size = decoder
        .output_buffer_size()
        .ok_or_else(|| unreadable(media, "its size overflows"))?;
    let mut buffer = vec![0; size];
    decoder
        .read_image(&mut buffer)
        .map_err(|e| unreadable(media, e))?;
    let channels = if decoder.has_alpha() { 4 } else { 3 };
    Ok(Luma {
        width,
        height,
        pixels: to_luma(&buffer, channels),
    })
}

/// `luma` reduced by whole factors (each output pixel the mean of a square of inputs) until
/// its longer side is at most [`SEARCH_SIDE`].
fn reduced(luma: Luma) -> Luma {
    let longer = luma.width.max(luma.height);
    let factor = longer.div_ceil(SEARCH_SIDE);
    if factor <= 1 {
        return luma;
    }
    let (width, height) = (luma.width / factor, luma.height / factor);
    let (f, w) = (factor as usize, luma.width as usize);
    let mut pixels = Vec::with_capacity(width as usize * height as usize);
    for y in 0..height as usize {
        for x in 0..width as usize {
            let mut sum = 0u32;
            for dy in 0..f {
                let row = (y * f + dy) * w + x * f;
                sum += luma.pixels[row..row + f]
                    .iter()
                    .map(|p| u32::from(*p))
                    .sum::<u32>();
            }
            pixels.push((sum / (factor * factor)) as u8);
        }
    }
    Luma {
        width,
        height,
        pixels,
    }
}

/// What kind of symbol was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Symbology {
    QrCode,
    DataMatrix,
}

impl Symbology {
    pub fn as_str(self) -> &'static str {
        match self {
            Symbology::QrCode => "qr_code",
            Symbology::DataMatrix => "data_matrix",
        }
    }
}

/// The first QR code or Data Matrix found in `luma`, with its text; `None` when there is none
/// (or none that decodes).
pub fn find_code(luma: Luma) -> Option<(Symbology, String)> {
    let luma = reduced(luma);
    let mut hints = DecodeHints {
        PossibleFormats: Some(HashSet::from([
            BarcodeFormat::QR_CODE,
            BarcodeFormat::DATA_MATRIX,
        ])),
        ..DecodeHints::default()
    };
    let found = rxing::helpers::detect_in_luma_with_hints(
        luma.pixels,
        luma.width,
        luma.height,
        None,
        &mut hints,
    )
    .ok()?;
    let symbology = match found.getBarcodeFormat() {
        BarcodeFormat::QR_CODE => Symbology::QrCode,
        BarcodeFormat::DATA_MATRIX => Symbology::DataMatrix,
        _ => return None,
    };
    Some((symbology, found.getText().to_owned()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn content_types_are_read_by_their_essence() {
        assert_eq!(MediaType::of("image/png"), Some(MediaType::Png));
        assert_eq!(MediaType::of("IMAGE/JPEG; q=1"), Some(MediaType::Jpeg));
        assert_eq!(MediaType::of("image/webp"), Some(MediaType::Webp));
        assert_eq!(MediaType::of("image/gif"), None);
        assert_eq!(MediaType::of(""), None);
    }

    #[test]
    fn colour_and_transparency_become_grey_on_white() {
        assert_eq!(to_luma(&[255, 0, 0], 3), vec![76]);
        assert_eq!(to_luma(&[0, 0, 0, 0], 4), vec![255], "transparent is paper");
        assert_eq!(to_luma(&[0, 255], 2), vec![0]);
    }

    #[test]
    fn large_photos_are_reduced_by_whole_factors() {
        let luma = Luma {
            width: 4_100,
            height: 10,
            pixels: vec![200; 41_000],
        };
        let small = reduced(luma);
        assert_eq!((small.width, small.height), (1_366, 3));
        assert!(small.pixels.iter().all(|p| *p == 200));
    }

    #[test]
    fn declared_sizes_beyond_the_bound_are_refused_before_decoding() {
        assert!(matches!(
            check_size(10_000, 10_000),
            Err(ImageError::TooManyPixels { .. })
        ));
        assert!(check_size(8_000, 6_000).is_ok());
        assert!(check_size(0, 5).is_err());
    }

    #[test]
    fn garbage_is_unreadable_for_every_type() {
        for media in [MediaType::Png, MediaType::Jpeg, MediaType::Webp] {
            assert!(matches!(
                decode(media, b"not an image"),
                Err(ImageError::Unreadable { .. })
            ));
        }
    }
}
