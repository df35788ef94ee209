//! Plumbing shared by the domain types: deserializing through `FromStr` (so that every value
//! read from JSON passes the same validating constructor as one built in code) and the
//! OpenAPI schema builders used by the hand-written `ToSchema` impls.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use serde::Deserializer;
use serde::de::{self, Visitor};
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// Deserializes a string through `T::from_str`, reporting the parse error's message verbatim.
///
/// A visitor (rather than `String::deserialize`) avoids an allocation for borrowed input and
/// works for map keys, path parameters and query strings alike.
pub(crate) fn deserialize_from_str<'de, D, T>(
    deserializer: D,
    expecting: &'static str,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: fmt::Display,
{
    struct FromStrVisitor<T> {
        expecting: &'static str,
        target: PhantomData<T>,
    }

    impl<T> Visitor<'_> for FromStrVisitor<T>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.expecting)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            v.parse().map_err(E::custom)
        }
    }

    deserializer.deserialize_str(FromStrVisitor {
        expecting,
        target: PhantomData,
    })
}

/// A `string` schema with a description, an optional regular expression and one example.
pub(crate) fn string_schema(
    description: &str,
    pattern: Option<&str>,
    example: &str,
) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .pattern(pattern)
        .examples([Value::from(example)])
        .build()
        .into()
}

/// A `string` schema restricted to a closed list of values.
pub(crate) fn enum_schema<'a>(
    description: &str,
    values: impl IntoIterator<Item = &'a str>,
    example: &str,
) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .enum_values(Some(values))
        .examples([Value::from(example)])
        .build()
        .into()
}

/// A `number` schema bounded by `minimum` and `maximum` (inclusive).
pub(crate) fn number_schema(
    description: &str,
    minimum: f64,
    maximum: f64,
    example: f64,
) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Number)
        .description(Some(description))
        .minimum(Some(minimum))
        .maximum(Some(maximum))
        .examples([Value::from(example)])
        .build()
        .into()
}
