//! Closed vocabularies of the registration (magnet types, coatings, removal actions, tools...).
//!
//! Each is a Rust enum written as its code in JSON. Reading one refuses an unknown code with a
//! message that names the vocabulary and lists its codes ("unknown magnet type \"neodymium\";
//! expected ndfeb, smco, alnico, ferrite"), which the API answers as a 422 naming the field's
//! JSON pointer.

/// Declares a vocabulary: the enum (its `ToSchema` a string enum of the codes), `ALL`,
/// `as_str`, `Display`, `FromStr` and `Deserialize` with the message above. The codes are `tt`,
/// not `literal`: utoipa reads `#[serde(rename = ...)]` only from a bare literal token.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $code:tt, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize,
            utoipa::ToSchema,
        )]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $code)] $variant, )+
        }

        impl $name {
            /// Every code, in the order of the vocabulary.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The code, as written in JSON.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $code,)+
                }
            }

            /// The codes, comma-separated, for messages.
            pub fn codes() -> String {
                $name::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| format!("unknown {} \"{s}\"; expected {}", $what, $name::codes()))
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Codes;

                impl serde::de::Visitor<'_> for Codes {
                    type Value = $name;

                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        write!(f, "a {} ({})", $what, $name::codes())
                    }

                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        v.parse().map_err(E::custom)
                    }
                }

                deserializer.deserialize_str(Codes)
            }
        }
    };
}

pub(crate) use vocabulary;
