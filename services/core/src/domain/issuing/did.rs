//! Organisations as `did:web` issuers: their DIDs and DID documents.

use serde_json::{Value, json};
use uuid::Uuid;

/// The DID of an organisation under the public base URL: `did:web:<host>[%3A<port>][:<path>]:orgs:<id>`,
/// which a did:web resolver turns into `<base>/orgs/<id>/did.json`.
pub fn org_did(base_url: &str, org_id: Uuid) -> String {
    let (host, path) = match url::Url::parse(base_url) {
        Ok(url) => {
            let mut host = url.host_str().unwrap_or("localhost").to_owned();
            if let Some(port) = url.port() {
                host.push_str(&format!("%3A{port}"));
            }
            let path: Vec<String> = url
                .path_segments()
                .map(|s| s.filter(|p| !p.is_empty()).map(str::to_owned).collect())
                .unwrap_or_default();
            (host, path)
        }
        Err(_) => ("localhost".to_owned(), Vec::new()),
    };
    let mut did = format!("did:web:{host}");
    for segment in path {
        did.push(':');
        did.push_str(&segment);
    }
    did.push_str(&format!(":orgs:{org_id}"));
    did
}

/// The organisation id of one of our DIDs (`...:orgs:<id>`), whatever host it names.
pub fn org_of_did(did: &str) -> Option<Uuid> {
    let did = did.split('#').next()?;
    if !did.starts_with("did:web:") {
        return None;
    }
    let (rest, id) = did.rsplit_once(':')?;
    rest.ends_with(":orgs").then(|| id.parse().ok()).flatten()
}

/// The host part of a did:web (decoded port), e.g. `example.com:8443`.
pub fn did_web_host(did: &str) -> Option<String> {
    let rest = did.strip_prefix("did:web:")?;
    let host = rest.split([':', '#']).next()?;
    Some(host.replace("%3A", ":").replace("%3a", ":"))
}

/// The URL a did:web resolves to (`https://host/.../did.json`, or `/.well-known/did.json`
/// for a bare host).
pub fn did_web_url(did: &str) -> Option<String> {
    let rest = did.strip_prefix("did:web:")?.split('#').next()?;
    let mut parts = rest.split(':');
    let host = parts.next()?.replace("%3A", ":").replace("%3a", ":");
    let path: Vec<&str> = parts.collect();
    if host.is_empty() || path.iter().any(|p| p.is_empty() || *p == ".." || *p == ".") {
        return None;
    }
    Some(if path.is_empty() {
        format!("https://{host}/.well-known/did.json")
    } else {
        format!("https://{host}/{}/did.json", path.join("/"))
    })
}

/// A verification method of a DID document.
#[derive(Debug, Clone)]
pub struct MethodKey {
    pub key_id: String,
    pub public_key_multibase: String,
    /// Still listed under `assertionMethod`.
    pub asserts: bool,
}

/// The DID document of an organisation: every key it ever signed with as a Multikey
/// verification method; those that may still assert under `assertionMethod`.
pub fn document(did: &str, keys: &[MethodKey]) -> Value {
    let methods: Vec<Value> = keys
        .iter()
        .map(|k| {
            json!({
                "id": format!("{did}#{}", k.key_id),
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": k.public_key_multibase,
            })
        })
        .collect();
    let asserting: Vec<String> = keys
        .iter()
        .filter(|k| k.asserts)
        .map(|k| format!("{did}#{}", k.key_id))
        .collect();
    json!({
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": asserting,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn dids_follow_the_did_web_rules() {
        let id = Uuid::nil();
        assert_eq!(
            org_did("https://passports.example.eu", id),
            format!("did:web:passports.example.eu:orgs:{id}")
        );
        assert_eq!(
            org_did("http://127.0.0.1:8080", id),
            format!("did:web:127.0.0.1%3A8080:orgs:{id}")
        );
        let with_path = org_did("https://example.eu/reetrace/", id);
        assert_eq!(with_path, format!("did:web:example.eu:reetrace:orgs:{id}"));
        assert_eq!(
            did_web_url(&with_path).unwrap(),
            format!("https://example.eu/reetrace/orgs/{id}/did.json")
        );
        assert_eq!(org_of_did(&format!("{with_path}#z6Mk")), Some(id));
        assert_eq!(
            did_web_host("did:web:127.0.0.1%3A8080:orgs:x").unwrap(),
            "127.0.0.1:8080"
        );
        assert_eq!(
            did_web_url("did:web:example.com").unwrap(),
            "https://example.com/.well-known/did.json"
        );
        assert!(did_web_url("did:web:example.com:..:x").is_none());
    }

    #[test]
    fn documents_list_every_key_and_the_asserting_ones() {
        let doc = document(
            "did:web:x:orgs:1",
            &[
                MethodKey {
                    key_id: "z6MkOld".into(),
                    public_key_multibase: "z6MkOld".into(),
                    asserts: false,
                },
                MethodKey {
                    key_id: "z6MkNew".into(),
                    public_key_multibase: "z6MkNew".into(),
                    asserts: true,
                },
            ],
        );
        assert_eq!(doc["verificationMethod"].as_array().unwrap().len(), 2);
        assert_eq!(
            doc["verificationMethod"][0]["controller"],
            "did:web:x:orgs:1"
        );
        assert_eq!(doc["assertionMethod"], json!(["did:web:x:orgs:1#z6MkNew"]));
    }
}
