//! The OpenAPI document: the services' routes, plus what every operation shares (the
//! security scheme, and the problem+json answers any operation can give).
//!
//! **Problem codes.** Each operation lists the `code`s of the problems it may answer in its
//! `x-problem-codes` extension (a JSON array of strings, declared beside its handler in the
//! `#[utoipa::path]` attribute). The codes any operation may answer, whatever it does
//! ([`codes::UNIVERSAL`]: `internal`, `unavailable`, `timeout`, `uri_too_long`,
//! `headers_too_large`, `method_not_allowed`, `client_error`), are listed **once, at the
//! document level**, in `info.x-problem-codes`, and on no operation. Not a JSON Schema `enum`:
//! generated clients would make it a closed enum, and a new code would break them. In debug
//! builds [`crate::problem_check`] holds every answer to these lists.

use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{AdditionalProperties, ArrayItems, Schema, SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi as _};

use reetrace_core::api::codes;
use reetrace_core::api::problem::{FieldError, PROBLEM_JSON, Problem};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "reetrace",
        description = "Digital product passports for rare-earth elements: signed W3C Verifiable \
            Credentials of what REEs a product holds, the custody chain of each product through \
            collection, dismantling and recycling, and urban-mine aggregates for regulators.\n\n\
            Errors are RFC 9457 problem details (`application/problem+json`) with a stable `code`; \
            each operation lists the codes it may answer in `x-problem-codes`, and the codes any \
            operation may answer are listed once in this `info`'s `x-problem-codes`. \
            Strings never hold the NUL character (U+0000): a body holding one is refused (422), \
            as is a query parameter (400). Masses are grams with at most 15 significant digits \
            and 6 decimal places.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    servers((url = "http://127.0.0.1:8080", description = "The embedded default (`reetrace serve`)")),
    tags(
        (name = "accounts", description = "Organisations, API keys and the caller"),
        (name = "audit", description = "The audit trail of authority reads, for admins"),
        (name = "passports", description = "Product passports: register, read by tier, version, revoke"),
        (name = "resolver", description = "GS1 Digital Link resolution: the passport page, the credential or the linkset of a product"),
        (name = "credentials", description = "VC-API: verify any credential, issue generic credentials"),
        (name = "issuers", description = "What verifiers need: DID documents, status lists, the JSON-LD context"),
        (name = "scan", description = "Photos of labels: the QR code or Data Matrix in them, and where it leads"),
        (name = "custody", description = "Scan products, record custody steps and transformations, lots and recycled-content claims"),
        (name = "epcis", description = "GS1 EPCIS 2.0: capture event documents, query events (the simple event query of the REST binding)"),
        (name = "epcis-binding", description = "The GS1 EPCIS 2.0 REST binding at /epcis/2.0: asynchronous capture with capture jobs"),
        (name = "log", description = "The tamper-evident custody log: signed checkpoints and proofs"),
        (name = "feeds", description = "Ordered CloudEvents feeds between services"),
        (name = "stock", description = "The urban mine: observed and modelled flows, indicators, Sankey diagrams, exports for material-flow models, scenarios, model parameters"),
        (name = "deposits", description = "Mining and industrial residues (coal ash, bauxite residue, tailings...) with their assays, as signed records: open data"),
        (name = "ops", description = "Health, readiness, metrics, and the feed events kept in quarantine"),
    ),
    components(schemas(Problem, FieldError)),
    modifiers(&Shared),
)]
struct BaseDoc;

/// The base document every service's paths are merged into.
pub fn base() -> OpenApi {
    BaseDoc::openapi()
}

/// Adds what all operations share; run after every service's paths are merged.
pub fn finish(mut doc: OpenApi) -> OpenApi {
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.info.extensions = Some(
        ExtensionsBuilder::new()
            .add(
                codes::EXTENSION,
                serde_json::json!(codes::listed(&[codes::UNIVERSAL])),
            )
            .build(),
    );
    for item in doc.paths.paths.values_mut() {
        let has_path_params = item.parameters.as_ref().is_some_and(|p| !p.is_empty());
        for operation in operations(item) {
            add_error_responses(operation, has_path_params);
            refuse_control_characters(operation);
            mark_public(operation);
            open_operation_schemas(operation);
        }
    }
    if let Some(components) = &mut doc.components {
        components.schemas.values_mut().for_each(open_free_form);
    }
    doc
}

fn open_operation_schemas(operation: &mut Operation) {
    let bodies = operation
        .request_body
        .iter_mut()
        .filter_map(|b| match b {
            RefOr::T(body) => Some(body.content.values_mut()),
            RefOr::Ref(_) => None,
        })
        .flatten();
    let answers = operation
        .responses
        .responses
        .values_mut()
        .filter_map(|r| match r {
            RefOr::T(response) => Some(response.content.values_mut()),
            RefOr::Ref(_) => None,
        })
        .flatten();
    for content in bodies.chain(answers) {
        if let RefOr::T(content) = content
            && let Some(schema) = &mut content.schema
        {
            open_free_form(schema);
        }
    }
}

/// What every string query parameter matches: no control character (C0, DEL, C1), which the
/// server refuses in any query parameter (400 naming it).
const NO_CONTROL_CHARACTERS: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$";

/// Says in the document that string query parameters hold no control character, unless the
/// parameter already has a pattern or a closed set of values.
fn refuse_control_characters(operation: &mut Operation) {
    let Some(parameters) = &mut operation.parameters else {
        return;
    };
    for parameter in parameters.iter_mut() {
        let RefOr::T(parameter) = parameter else {
            continue;
        };
        if parameter.parameter_in != ParameterIn::Query {
            continue;
        }
        let Some(RefOr::T(Schema::Object(object))) = &mut parameter.schema else {
            continue;
        };
        let is_string = match &object.schema_type {
            SchemaType::Type(t) => *t == Type::String,
            SchemaType::Array(types) => types.contains(&Type::String),
            SchemaType::AnyValue => false,
        };
        if is_string && object.pattern.is_none() && object.enum_values.is_none() {
            object.pattern = Some(NO_CONTROL_CHARACTERS.to_owned());
        }
    }
}

/// Free-form objects (a credential, an EPCIS event, a DID document) say
/// `additionalProperties: true`. JSON Schema already allows any member in a bare
/// `{"type": "object"}`, but generators read it as an object with no members at all
/// (openapi-typescript types it `Record<string, never>`, so a client could not send a credential).
fn open_free_form(schema: &mut RefOr<Schema>) {
    let RefOr::T(schema) = schema else {
        return;
    };
    match schema {
        Schema::Object(object) => {
            let is_object = match &object.schema_type {
                SchemaType::Type(t) => *t == Type::Object,
                SchemaType::Array(types) => types.contains(&Type::Object),
                SchemaType::AnyValue => false,
            };
            if is_object && object.properties.is_empty() && object.additional_properties.is_none() {
                object.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(true)));
            }
            object.properties.values_mut().for_each(open_free_form);
            if let Some(extra) = &mut object.additional_properties
                && let AdditionalProperties::RefOr(extra) = extra.as_mut()
            {
                open_free_form(extra);
            }
        }
        Schema::Array(array) => {
            if let ArrayItems::RefOrSchema(items) = &mut array.items {
                open_free_form(items);
            }
        }
        Schema::OneOf(one_of) => one_of.items.iter_mut().for_each(open_free_form),
        Schema::AllOf(all_of) => all_of.items.iter_mut().for_each(open_free_form),
        Schema::AnyOf(any_of) => any_of.items.iter_mut().for_each(open_free_form),
        _ => {}
    }
}

struct Shared;

impl Modify for Shared {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("rtk_<prefix>_<secret>")
                    .description(Some(
                        "An organisation's API key: `Authorization: Bearer rtk_...`",
                    ))
                    .build(),
            ),
        );
    }
}

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
        item.head.as_mut(),
        item.options.as_mut(),
    ]
    .into_iter()
    .flatten()
}

fn problem(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                PROBLEM_JSON,
                Content::new(Some(Ref::from_schema_name("Problem"))),
            )
            .build(),
    )
}

/// Documents the error statuses any operation of this shape can answer, unless the operation
/// documents them itself.
fn add_error_responses(operation: &mut Operation, has_path_params: bool) {
    let secured = operation
        .security
        .as_ref()
        .is_some_and(|reqs| reqs.iter().any(|r| !is_empty_requirement(r)));
    let has_body = operation.request_body.is_some();
    let has_params =
        has_path_params || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let mut wanted: Vec<(&str, &str)> = Vec::new();
    if has_params || has_body {
        wanted.push((
            "400",
            "The request is malformed (a parameter or the JSON syntax)",
        ));
    }
    if has_params {
        wanted.push((
            "414",
            "The request target (path and query) is longer than the server takes (8 KiB)",
        ));
    }
    if secured {
        wanted.push(("401", "No valid API key"));
        wanted.push(("403", "The caller's role or organisation may not do this"));
        wanted.push((
            "429",
            "The API key's rate limit is exceeded; see Retry-After",
        ));
    }
    if has_body {
        wanted.push(("413", "The request body is too large"));
        wanted.push(("415", "The request body is not of a supported media type"));
        wanted.push((
            "422",
            "The request body is not valid; `errors` name the fields",
        ));
    }
    wanted.push(("500", "Internal error (logged, never detailed)"));
    wanted.push((
        "503",
        "The database is unavailable or a write conflicted; retry",
    ));
    let responses = &mut operation.responses.responses;
    for (status, description) in wanted {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| problem(description));
    }
}

/// A public operation says so with `security: []` (no requirement), rather than `[{}]` (one
/// empty alternative): both mean "no key needed", but generators read only the first as public
/// (openapi-python-client, for one, would otherwise demand an authenticated client).
fn mark_public(operation: &mut Operation) {
    if let Some(requirements) = &mut operation.security
        && !requirements.is_empty()
        && requirements.iter().all(is_empty_requirement)
    {
        requirements.clear();
    }
}

fn is_empty_requirement(requirement: &utoipa::openapi::security::SecurityRequirement) -> bool {
    serde_json::to_value(requirement).is_ok_and(|v| v.as_object().is_some_and(|o| o.is_empty()))
}
