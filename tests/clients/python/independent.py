"""Checks of reetrace's credentials with code nobody here wrote: the eddsa-jcs-2022 Data
Integrity proof with `rfc8785` (JCS) and `cryptography` (Ed25519), and the JOSE form
(`application/vc+jwt`) with `joserfc`. The issuer's key comes from its did:web document, read
over HTTP like any verifier would. Each function raises AssertionError with a reason."""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.parse
import urllib.request
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from joserfc import jws
from joserfc.jwk import OKPKey

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58btc(text: str) -> bytes:
    number = 0
    for char in text:
        number = number * 58 + B58.index(char)
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * zeros + raw


def did_web_url(did: str) -> str:
    """did:web:host%3Aport:orgs:id -> http(s)://host:port/orgs/id/did.json"""
    parts = did.removeprefix("did:web:").split(":")
    host = urllib.parse.unquote(parts[0])
    scheme = "http" if host.startswith(("127.0.0.1", "localhost")) else "https"
    path = "/".join(parts[1:]) if len(parts) > 1 else ".well-known"
    return f"{scheme}://{host}/{path}/did.json"


def public_key(method: str) -> bytes:
    """The raw Ed25519 key of a did:web verification method, from its DID document."""
    did = method.split("#")[0]
    with urllib.request.urlopen(did_web_url(did), timeout=10) as answer:
        document = json.load(answer)
    assert method in document.get("assertionMethod", []), f"{method} is not an assertion method"
    for vm in document["verificationMethod"]:
        if vm["id"] == method:
            decoded = base58btc(vm["publicKeyMultibase"].removeprefix("z"))
            assert decoded[:2] == b"\xed\x01", "not an Ed25519 multikey"
            return decoded[2:]
    raise AssertionError(f"{method} is not in the DID document of {did}")


def verify_data_integrity(credential: dict[str, Any]) -> None:
    """W3C vc-di-eddsa, eddsa-jcs-2022: verify the embedded proof."""
    unsecured = {k: v for k, v in credential.items() if k != "proof"}
    proof = dict(credential["proof"])
    assert proof["type"] == "DataIntegrityProof" and proof["cryptosuite"] == "eddsa-jcs-2022"
    signature = base58btc(proof.pop("proofValue").removeprefix("z"))
    if "@context" in proof:
        assert proof["@context"] == unsecured["@context"], "proof @context differs"
    hash_data = hashlib.sha256(rfc8785.dumps(proof)).digest() + hashlib.sha256(
        rfc8785.dumps(unsecured)
    ).digest()
    key = Ed25519PublicKey.from_public_bytes(public_key(proof["verificationMethod"]))
    key.verify(signature, hash_data)  # raises InvalidSignature


def verify_jwt(token: str, credential: dict[str, Any]) -> None:
    """W3C VC-JOSE-COSE: the compact JWS verifies with the issuer's key and its payload is the
    credential without its proof."""
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header.get("typ") == "vc+jwt", f"typ {header.get('typ')}"
    assert header.get("alg") == "EdDSA", f"alg {header.get('alg')}"
    raw = public_key(header["kid"])
    key = OKPKey.import_key(
        {"kty": "OKP", "crv": "Ed25519", "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode()}
    )
    verified = jws.deserialize_compact(token, key, algorithms=["EdDSA"])
    payload = json.loads(verified.payload)
    unsecured = {k: v for k, v in credential.items() if k != "proof"}
    assert payload == unsecured, "the JWS payload is not the credential without its proof"
    assert payload["issuer"]["id"] == header["kid"].split("#")[0], "kid is not the issuer's"
