//! The magnet label of CRMA art. 28(1): one passport's as SVG or PDF (public, like its QR
//! code), and a manufacturer's sheet of many as A4 PDF pages. The layout is `crate::label`'s.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use reetrace_core::api::auth::Auth;
use reetrace_core::api::codes::{
    AUTHENTICATED, BAD_REQUEST, FORBIDDEN, INVALID_ID, INVALID_QUERY, JSON_BODY, NOT_FOUND, PUBLIC,
    listed,
};
use reetrace_core::api::extract::{ApiQuery, parse_json, parse_uuid, require_json_content_type};
use reetrace_core::api::problem::{FieldError, Problem};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::PassportState;
use crate::label::pdf::PdfPage;
use crate::label::{
    self, DataCarrier, LabelContent, LabelDrawing, LabelSize, SizeError, pdf, sheet, svg,
};

/// The most labels one sheet request prints.
pub const MAX_SHEET_LABELS: usize = 500;

/// A label may change with a new version of its passport: cached briefly.
const CACHE: &str = "public, max-age=300";

pub fn router() -> OpenApiRouter<PassportState> {
    OpenApiRouter::new()
        .routes(routes!(label_svg))
        .routes(routes!(label_pdf))
        .routes(routes!(label_sheet))
}

/// A PDF document: in the OpenAPI document a binary string.
pub struct PdfDocument;

impl utoipa::PartialSchema for PdfDocument {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .content_media_type("application/pdf")
            .description(Some("A PDF document (binary)."))
            .into()
    }
}

impl utoipa::ToSchema for PdfDocument {}

/// How a label is printed.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct LabelQuery {
    /// Width in millimetres, 30 to 300 (default 80, or twice the height when only the height
    /// is given).
    #[param(minimum = 30, maximum = 300)]
    width_mm: Option<f64>,
    /// Height in millimetres, 0.3 to 0.6 times the width (default half the width).
    #[param(minimum = 9, maximum = 180)]
    height_mm: Option<f64>,
    /// The data carrier of the resolver URL: `qr` (the default; a QR code, error correction
    /// level M) or `datamatrix` (a square Data Matrix ECC 200 holding the GS1 Digital Link URI).
    #[param(pattern = "^(qr|datamatrix)$")]
    code: Option<String>,
}

/// The data carrier asked for.
fn carrier(code: Option<&str>) -> Result<DataCarrier, FieldError> {
    match code {
        None | Some("qr") => Ok(DataCarrier::Qr),
        Some("datamatrix") => Ok(DataCarrier::DataMatrix),
        Some(_) => Err(FieldError::new("code", "must be `qr` or `datamatrix`")),
    }
}

fn query_problem(error: FieldError) -> Problem {
    Problem::bad_request(
        INVALID_QUERY,
        format!("{}: {}", error.pointer, error.detail),
    )
    .with_errors(vec![error])
}

fn size_field(error: SizeError) -> FieldError {
    FieldError::new(error.parameter, error.detail)
}

impl LabelQuery {
    fn print(&self) -> Result<(LabelSize, DataCarrier), Problem> {
        let carrier = carrier(self.code.as_deref()).map_err(query_problem)?;
        let size = LabelSize::new(self.width_mm, self.height_mm)
            .map_err(|e| query_problem(size_field(e)))?;
        Ok((size, carrier))
    }
}

/// The content of passport `id`'s label, or not found.
async fn content(state: &PassportState, id: &str) -> Result<LabelContent, Problem> {
    let id = parse_uuid("id", id)?;
    match state.service.label(id).await? {
        Some((_, content)) => Ok(content),
        None => Err(Problem::not_found(format!("No passport {id}."))),
    }
}

fn drawing(
    content: &LabelContent,
    size: LabelSize,
    carrier: DataCarrier,
) -> Result<LabelDrawing, Problem> {
    label::lay_out(content, size, carrier).ok_or_else(|| {
        tracing::error!(uri = %content.uri, "resolver URL does not fit the data carrier");
        Problem::internal()
    })
}

fn pdf_bytes(title: &str, pages: &[PdfPage<'_>]) -> Result<Vec<u8>, Problem> {
    pdf::render(title, pages).map_err(|e| {
        tracing::error!(error = %e, "PDF writing failed");
        Problem::internal()
    })
}

/// The passport's magnet label (CRMA art. 28(1)) as SVG.
///
/// Public, like the QR code. Says whether the product holds permanent magnets and of which
/// types (neodymium-iron-boron, samarium-cobalt, aluminium-nickel-cobalt, ferrite), with a QR
/// code (or, with `code=datamatrix`, a Data Matrix) of the resolver URL (GS1 Digital Link, or
/// `/p/{id}`), the GTIN with serial or lot in
/// GS1 human-readable form, the manufacturer and the responsible person's postal address. The
/// SVG's `width` and `height` are in millimetres, one user unit per millimetre.
#[utoipa::path(
    get, path = "/api/v1/passports/{id}/label.svg", tag = "passports", operation_id = "getPassportLabelSvg",
    params(("id" = String, Path, format = Uuid, description = "The passport id"), LabelQuery),
    responses(
        (status = 200, description = "The label", body = String, content_type = "image/svg+xml",
            headers(("Cache-Control" = String, description = "`public, max-age=300`"))),
        (status = 400, description = "The id is not a UUID, or a size or `code` is not valid (`errors` names the parameter)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such passport", body = Problem, content_type = "application/problem+json"),
    ),
    security(()),
    extensions(("x-problem-codes" = json!(listed(&[PUBLIC, &[BAD_REQUEST, INVALID_ID, INVALID_QUERY, NOT_FOUND]])))),
)]
async fn label_svg(
    State(state): State<PassportState>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<LabelQuery>,
) -> Result<Response, Problem> {
    let (size, carrier) = query.print()?;
    let content = content(&state, &id).await?;
    let body = svg::render(&drawing(&content, size, carrier)?);
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, CACHE),
        ],
        body,
    )
        .into_response())
}

/// The passport's magnet label (CRMA art. 28(1)) as PDF.
///
/// Public. The label of `label.svg` on one PDF page of the label's size (the MediaBox is the
/// size in points): vector shapes, Helvetica text.
#[utoipa::path(
    get, path = "/api/v1/passports/{id}/label.pdf", tag = "passports", operation_id = "getPassportLabelPdf",
    params(("id" = String, Path, format = Uuid, description = "The passport id"), LabelQuery),
    responses(
        (status = 200, description = "The label", body = PdfDocument, content_type = "application/pdf",
            headers(("Cache-Control" = String, description = "`public, max-age=300`"))),
        (status = 400, description = "The id is not a UUID, or a size or `code` is not valid (`errors` names the parameter)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such passport", body = Problem, content_type = "application/problem+json"),
    ),
    security(()),
    extensions(("x-problem-codes" = json!(listed(&[PUBLIC, &[BAD_REQUEST, INVALID_ID, INVALID_QUERY, NOT_FOUND]])))),
)]
async fn label_pdf(
    State(state): State<PassportState>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<LabelQuery>,
) -> Result<Response, Problem> {
    let (size, carrier) = query.print()?;
    let content = content(&state, &id).await?;
    let drawing = drawing(&content, size, carrier)?;
    let page = PdfPage {
        width_mm: size.width_mm,
        height_mm: size.height_mm,
        labels: vec![(0.0, 0.0, &drawing)],
    };
    let body = pdf_bytes(&drawing.title, &[page])?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf"),
            (header::CACHE_CONTROL, CACHE),
        ],
        body,
    )
        .into_response())
}

/// A sheet of labels to print.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"passports": ["0196a6f2-5a1b-7cc3-9a53-5b0f5b1c9e21"], "width_mm": 80}))]
pub struct LabelSheetRequest {
    /// 1 to 500 passport ids of the caller's organisation, printed in this order (an id listed
    /// twice is printed twice).
    #[schema(min_items = 1, max_items = 500)]
    pub passports: Vec<Uuid>,
    /// Width of each label in millimetres, 30 to 190 (so that one fits across an A4 sheet);
    /// default 80.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 30, maximum = 190)]
    pub width_mm: Option<f64>,
    /// Height of each label in millimetres, 0.3 to 0.6 times the width; default half the width.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 9, maximum = 114)]
    pub height_mm: Option<f64>,
    /// The data carrier of the resolver URL: `qr` (the default) or `datamatrix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(qr|datamatrix)$")]
    pub code: Option<String>,
}

impl LabelSheetRequest {
    /// The label size and carrier, or the 422 errors of the request's fields.
    fn print(&self) -> Result<(LabelSize, DataCarrier), Problem> {
        let mut errors = Vec::new();
        match self.passports.len() {
            0 => errors.push(FieldError::new("/passports", "list at least one passport")),
            n if n > MAX_SHEET_LABELS => errors.push(FieldError::new(
                "/passports",
                format!("at most {MAX_SHEET_LABELS} passports per sheet (got {n})"),
            )),
            _ => {}
        }
        let carrier = carrier(self.code.as_deref())
            .map_err(|mut e| {
                e.pointer = "/code".into();
                errors.push(e);
            })
            .ok();
        let size = LabelSize::new(self.width_mm, self.height_mm)
            .map_err(|e| {
                let mut field = size_field(e);
                field.pointer = format!("/{}", field.pointer);
                errors.push(field);
            })
            .ok();
        if let Some(size) = size.filter(|s| s.width_mm > sheet::MAX_SHEET_WIDTH_MM) {
            errors.push(FieldError::new(
                "/width_mm",
                format!(
                    "an A4 sheet holds labels up to {} mm wide (got {} mm)",
                    label::fmt(sheet::MAX_SHEET_WIDTH_MM),
                    label::fmt(size.width_mm)
                ),
            ));
        }
        match (size, carrier) {
            (Some(size), Some(carrier)) if errors.is_empty() => Ok((size, carrier)),
            _ => Err(Problem::validation(errors)),
        }
    }
}

/// Prints the labels of many passports on A4 sheets.
///
/// For the passports' owner: every passport listed must be the caller organisation's. Labels of
/// one size, row by row in a grid inside a 10 mm margin, as many pages as needed. Unknown
/// passports are a 404 and other organisations' passports a 403, each listing the ids at
/// fault (`errors`, by JSON pointer into `passports`); nothing is printed then.
#[utoipa::path(
    post, path = "/api/v1/labels", tag = "passports", operation_id = "printLabelSheet",
    request_body = LabelSheetRequest,
    responses(
        (status = 200, description = "The sheet", body = PdfDocument, content_type = "application/pdf"),
        (status = 403, description = "Passports of another organisation (`errors` lists them)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown passports (`errors` lists them)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No passports, more than 500, or a size or `code` that is not valid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, JSON_BODY, &[FORBIDDEN, NOT_FOUND]])))),
)]
async fn label_sheet(
    State(state): State<PassportState>,
    Auth(caller): Auth,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    require_json_content_type(&headers)?;
    let request: LabelSheetRequest = parse_json(&body)?;
    let (size, carrier) = request.print()?;
    let mut contents = Vec::with_capacity(request.passports.len());
    let (mut unknown, mut foreign) = (Vec::new(), Vec::new());
    for (i, id) in request.passports.iter().enumerate() {
        let pointer = format!("/passports/{i}");
        match state.service.label(*id).await? {
            None => unknown.push(FieldError::new(pointer, format!("no passport {id}"))),
            Some((passport, _)) if passport.org_id != caller.org_id => foreign.push(
                FieldError::new(pointer, format!("passport {id} is another organisation's")),
            ),
            Some((_, content)) => contents.push(content),
        }
    }
    if !unknown.is_empty() {
        return Err(Problem::not_found(format!(
            "{} of the passports listed do not exist.",
            unknown.len()
        ))
        .with_errors(unknown));
    }
    if !foreign.is_empty() {
        return Err(Problem::forbidden(format!(
            "{} of the passports listed are not the caller's organisation's: only their \
             owner prints a sheet of them.",
            foreign.len()
        ))
        .with_errors(foreign));
    }
    let body = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, Problem> {
        let drawings = contents
            .iter()
            .map(|content| drawing(content, size, carrier))
            .collect::<Result<Vec<_>, _>>()?;
        let title = format!("Magnet labels ({})", drawings.len());
        pdf_bytes(&title, &sheet::pages(size, &drawings))
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "label sheet task failed");
        Problem::internal()
    })??;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], body).into_response())
}
