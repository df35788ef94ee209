//! Validation against the official GS1 EPCIS 2.0 JSON Schema.
//!
//! The schema (draft-07, one file with every definition inlined) is embedded and compiled once,
//! on first use, into three validators that share its definitions:
//!
//! - the schema's own root, which dispatches on `type`: an `EPCISDocument` or
//!   `EPCISQueryDocument`, or a single event that must then carry its own `@context`;
//! - `#/definitions/EPCIS-Document-Event`, the schema's per-type dispatch for a member of an
//!   `eventList` (no `@context` needed: the document carries it);
//! - the same plus `#/definitions/required-ld-context`, which is what the root applies to a
//!   standalone event.
//!
//! `format` is asserted (draft-07 leaves it to the validator): `uri` is what refuses a bare
//! word such as `recycling` as a `bizStep` while accepting the CURIE `ree:recycling`, and
//! `date-time` what refuses a time without a zone. Nothing is fetched: the schema only refers
//! to itself.

use std::fmt;
use std::sync::LazyLock;

use jsonschema::{Draft, Validator};
use serde_json::{Value, json};

/// The GS1 EPCIS 2.0 JSON Schema, as published in `gs1/EPCIS` (`JSON-Schema/`).
pub const EPCIS_JSON_SCHEMA: &str = include_str!("EPCIS-JSON-Schema.json");

/// One way an instance breaks the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// JSON pointer (RFC 6901) to the offending value in the instance, `""` for the root.
    pub pointer: String,
    /// What is wrong, in words.
    pub message: String,
    /// JSON pointer to the schema keyword that failed, for whoever debugs the schema.
    pub schema_path: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{at}: {}", self.message)
    }
}

struct Validators {
    root: Validator,
    list_event: Validator,
    standalone_event: Validator,
}

static VALIDATORS: LazyLock<Validators> = LazyLock::new(|| {
    let schema: Value =
        serde_json::from_str(EPCIS_JSON_SCHEMA).expect("the embedded EPCIS schema is JSON");
    let with_root = |root: Value| {
        let mut derived = root;
        derived["$schema"] = schema["$schema"].clone();
        derived["definitions"] = schema["definitions"].clone();
        derived
    };
    let list_event = with_root(json!({
        "allOf": [{ "$ref": "#/definitions/EPCIS-Document-Event" }]
    }));
    let standalone_event = with_root(json!({
        "allOf": [
            { "$ref": "#/definitions/EPCIS-Document-Event" },
            { "$ref": "#/definitions/required-ld-context" }
        ]
    }));
    Validators {
        root: compile(&schema),
        list_event: compile(&list_event),
        standalone_event: compile(&standalone_event),
    }
});

fn compile(schema: &Value) -> Validator {
    jsonschema::options()
        .with_draft(Draft::Draft7)
        .should_validate_formats(true)
        .build(schema)
        .expect("the embedded EPCIS schema compiles")
}

/// Compiles the validators now rather than on the first capture.
pub fn warm_up() {
    LazyLock::force(&VALIDATORS);
}

/// Validates an `EPCISDocument` or `EPCISQueryDocument` (capture bodies, query responses).
/// A lone event is refused here: use [`validate_event`].
pub fn validate_document(document: &Value) -> Result<(), Vec<SchemaError>> {
    match document.get("type").and_then(Value::as_str) {
        Some("EPCISDocument" | "EPCISQueryDocument") => run(&VALIDATORS.root, document),
        _ => Err(vec![SchemaError {
            pointer: "/type".into(),
            message: "a document has the type \"EPCISDocument\" or \"EPCISQueryDocument\"".into(),
            schema_path: "/properties/type".into(),
        }]),
    }
}

/// Validates one standalone event, as the schema's root does for a single event: the
/// definition of its `type` (`ObjectEvent`, `TransformationEvent`, ..., or an extension event
/// type written as a URI) and a `@context` of its own.
pub fn validate_event(event: &Value) -> Result<(), Vec<SchemaError>> {
    refuse_documents(event)?;
    run(&VALIDATORS.standalone_event, event)
}

/// Validates one member of an `eventList`: like [`validate_event`] but without `@context`,
/// which the enclosing document provides.
pub fn validate_document_event(event: &Value) -> Result<(), Vec<SchemaError>> {
    refuse_documents(event)?;
    run(&VALIDATORS.list_event, event)
}

fn refuse_documents(event: &Value) -> Result<(), Vec<SchemaError>> {
    match event.get("type").and_then(Value::as_str) {
        Some("EPCISDocument" | "EPCISQueryDocument") => Err(vec![SchemaError {
            pointer: "/type".into(),
            message: "expected an event, got a document".into(),
            schema_path: "/properties/type".into(),
        }]),
        _ => Ok(()),
    }
}

fn run(validator: &Validator, instance: &Value) -> Result<(), Vec<SchemaError>> {
    // The cheap boolean check first: valid input, the usual case, never builds error values.
    if validator.is_valid(instance) {
        return Ok(());
    }
    let mut errors: Vec<SchemaError> = validator
        .iter_errors(instance)
        .map(|e| {
            let schema_path = e.schema_path().to_string();
            let mut pointer = e.instance_path().to_string();
            // A bad property name is reported on its object; point at the property itself.
            if let Some(name) = bad_property_name(&e) {
                pointer = format!("{pointer}/{}", name.replace('~', "~0").replace('/', "~1"));
                let message = format!(
                    "\"{name}\" is not a property of this type; an extension property is named \
                     by a URI or a CURIE such as \"ree:holder\""
                );
                return SchemaError {
                    pointer,
                    message,
                    schema_path,
                };
            }
            let message = readable(&e, &schema_path, e.instance().as_ref());
            SchemaError {
                pointer,
                message,
                schema_path,
            }
        })
        .collect();
    errors.sort_by(|a, b| a.pointer.cmp(&b.pointer));
    errors.dedup();
    Err(errors)
}

fn bad_property_name(error: &jsonschema::ValidationError<'_>) -> Option<String> {
    use jsonschema::error::ValidationErrorKind as Kind;
    match error.kind() {
        Kind::PropertyNames { error } => error.instance().as_str().map(str::to_owned),
        _ => None,
    }
}

/// The library's message, except where it only says "not valid under any of the schemas":
/// there the schema location tells what was expected.
fn readable(
    error: &jsonschema::ValidationError<'_>,
    schema_path: &str,
    instance: &Value,
) -> String {
    use jsonschema::error::ValidationErrorKind as Kind;
    if !matches!(
        error.kind(),
        Kind::AnyOf { .. } | Kind::OneOfNotValid { .. }
    ) {
        return shorten(error.to_string());
    }
    for (definition, what) in [
        ("/bizStep/", "a CBV 2.0 business step"),
        ("/disposition/", "a CBV 2.0 disposition"),
        ("/persistentDisposition/", "a CBV 2.0 disposition"),
        ("/error-reason/", "a CBV 2.0 error reason"),
    ] {
        if schema_path.contains(definition) {
            return format!(
                "{instance} is neither {what} nor a URI or CURIE such as \"ree:recycling\" \
                 (extension values must not use the CBV namespaces)"
            );
        }
    }
    let what = if instance.is_string() || instance.is_number() {
        format!("{instance} matches")
    } else {
        "the value matches".to_owned()
    };
    format!("{what} none of the alternatives the schema allows at {schema_path}")
}

/// Keeps messages that quote a large instance readable.
fn shorten(message: String) -> String {
    const MAX: usize = 300;
    if message.len() <= MAX {
        return message;
    }
    let cut = (0..=MAX)
        .rev()
        .find(|&i| message.is_char_boundary(i))
        .unwrap_or(0);
    format!("{}...", &message[..cut])
}
