"""HTTP signatures as RFC 9421 writes them (what Mastodon 4.5+ sends and verifies):
signing, and every check of a received one that needs no key. Their fields are RFC 8941
Structured Fields, parsed and serialised by http_sf. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import http_sf
from cryptography.hazmat.primitives.asymmetric import rsa
from http_sf.innerlist import ser_innerlist

from commonsfed.signatures_common import (
    HASHES,
    ParsedSignature,
    Request,
    SignatureError,
    ascii_bytes,
    b64,
    check_fresh,
    compare_digest,
    content_digest_header,
    header_value,
    lower_headers,
    require_covered,
    rsa_sign,
    split_url,
    unix_time,
    utc,
)

RFC9421_ALGORITHM = "rsa-v1_5-sha256"
RFC9421_LABEL = "sig1"

# http_sf's shapes: an item is (value, params), an inner list is ([items], params).
_SfParams = dict[str, Any]
SfInnerList = tuple[list[tuple[Any, _SfParams]], _SfParams]
_SfMember = tuple[Any, _SfParams]  # an item or an inner list
# Strings, tokens, integers, byte sequences and booleans (a bool is an int); decimals,
# dates and display strings are refused: no signature field uses them.
_SF_ACCEPTED = (str, http_sf.Token, int, bytes)


# --- Signing ----------------------------------------------------------------------------


def sign_rfc9421(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    key_id: str,
    private_key: rsa.RSAPrivateKey,
    now: datetime | None = None,
) -> dict[str, str]:
    """Sign as Mastodon 4.7+ does; return the headers to add (Content-Digest, Signature-*)."""
    scheme, authority, path_qs = split_url(url)
    present = lower_headers(headers)
    added = _rfc9421_digest(present, body) if body is not None else {}
    covered = ("@method", "@target-uri") + (("content-digest",) if body is not None else ())
    params = {"created": int(utc(now).timestamp()), "keyid": key_id, "alg": RFC9421_ALGORITHM}
    inner: SfInnerList = ([(name, {}) for name in covered], params)
    request = Request(method.upper(), scheme, authority, path_qs, present | lower_headers(added))
    signature = rsa_sign(private_key, signature_base(inner, request))
    added["Signature-Input"] = sf_serialise({RFC9421_LABEL: inner})
    added["Signature"] = http_sf.ser({RFC9421_LABEL: signature})
    return added


def _rfc9421_digest(present: Mapping[str, str], body: bytes) -> dict[str, str]:
    if "content-digest" in present:
        _check_content_digest(present["content-digest"], body)
        return {}
    return {"Content-Digest": content_digest_header(body)}


# --- Verifying --------------------------------------------------------------------------


def parse_rfc9421(request: Request, body: bytes | None, now: datetime) -> ParsedSignature:
    label, inner = _first_signature_input(request.headers["signature-input"])
    signature = _signature_member(request.headers.get("signature"), label)
    key_id, algorithm = _check_rfc9421_params(inner[1], now)
    covered = _component_names(inner)
    _require_rfc9421_coverage(covered, request, body)
    base = signature_base(inner, request)
    if "content-digest" in covered:
        _check_content_digest(request.headers["content-digest"], body)
    return ParsedSignature(key_id, "rfc9421", algorithm, covered, base, signature)


def _first_signature_input(value: str) -> tuple[str, SfInnerList]:
    # Peers send one signature (Mastodon labels it sig1). With several, the first is
    # judged, and it must meet every requirement on its own.
    members = _sf_dictionary(value, "Signature-Input")
    if not members:
        raise SignatureError("Signature-Input header is empty")
    label, inner = next(iter(members.items()))
    if not isinstance(inner[0], list):
        raise SignatureError("Signature-Input header is malformed (expected a list)")
    return label, inner


def _signature_member(value: str | None, label: str) -> bytes:
    if value is None:
        raise SignatureError("Signature-Input comes without a Signature header")
    signature, _params = _sf_dictionary(value, "Signature").get(label, (None, {}))
    if not isinstance(signature, bytes) or not signature:
        raise SignatureError(f"Signature header has no signature labelled {label}")
    return signature


def _check_rfc9421_params(params: Mapping[str, Any], now: datetime) -> tuple[str, str | None]:
    algorithm = _sf_string_param(params, "alg")
    if algorithm is not None and algorithm != RFC9421_ALGORITHM:
        raise SignatureError(f"algorithm {algorithm} is not accepted; use {RFC9421_ALGORITHM}")
    key_id = _sf_string_param(params, "keyid")
    if not key_id:
        raise SignatureError("Signature-Input has no keyid")
    created = params.get("created")
    if type(created) is not int:
        raise SignatureError("Signature-Input has no created time")
    check_fresh(unix_time(created), now, "created")
    expires = params.get("expires")
    if expires is not None and (type(expires) is not int or unix_time(expires) < now):
        raise SignatureError("signature has expired")
    return key_id, algorithm


def _sf_string_param(params: Mapping[str, Any], name: str) -> str | None:
    # An http_sf Token is not a str, so `alg=rsa` is told apart from `alg="rsa"`.
    value = params.get(name)
    if value is not None and not isinstance(value, str):
        raise SignatureError(f"Signature-Input parameter {name} must be a string")
    return value


def _component_names(inner: SfInnerList) -> tuple[str, ...]:
    names: list[str] = []
    for name, params in inner[0]:
        # Parameters (;sf, ;key, ;req ...) are refused: no peer needs them for a request.
        if not isinstance(name, str) or params:
            raise SignatureError("covered components must be plain strings")
        if name != name.lower() or name in names:
            raise SignatureError(f"covered component {name} is not lower case or repeated")
        names.append(name)
    return tuple(names)


def _require_rfc9421_coverage(
    covered: tuple[str, ...], request: Request, body: bytes | None
) -> None:
    require_covered(covered, ("@method",) + (("content-digest",) if body else ()))
    if "@target-uri" in covered:
        return
    if not {"@path", "@authority"}.issubset(covered):
        raise SignatureError("signature must cover @target-uri, or @path and @authority")
    # Without @target-uri the query would travel unsigned, so it must be covered itself.
    if "?" in request.path_qs and "@query" not in covered:
        raise SignatureError("signature must cover @query when the target has a query")


def _check_content_digest(value: str, body: bytes | None) -> None:
    members = _sf_dictionary(value, "Content-Digest")
    if "sha-256" not in members:
        raise SignatureError("Content-Digest header has no sha-256 digest")
    for name, (digest, _params) in members.items():
        if name not in HASHES:
            continue
        if not isinstance(digest, bytes):
            raise SignatureError("Content-Digest header is malformed")
        compare_digest(digest, name, body, "Content-Digest")


_DERIVED_COMPONENTS: dict[str, Callable[[Request], str]] = {
    "@method": lambda request: request.method,
    "@target-uri": lambda request: f"{request.scheme}://{request.authority()}{request.path_qs}",
    "@authority": lambda request: request.authority(),
    "@scheme": lambda request: request.scheme,
    "@request-target": lambda request: request.path_qs,
    "@path": lambda request: request.path_qs.partition("?")[0],
    "@query": lambda request: "?" + request.path_qs.partition("?")[2],
}


def signature_base(inner: SfInnerList, request: Request) -> bytes:
    names = _component_names(inner)
    lines = [f"{http_sf.ser(name)}: {_component_value(name, request)}" for name in names]
    lines.append(f'"@signature-params": {sf_serialise(inner)}')
    return ascii_bytes("\n".join(lines))


def _component_value(name: str, request: Request) -> str:
    if not name.startswith("@"):
        return header_value(request.headers, name)
    if name not in _DERIVED_COMPONENTS:
        raise SignatureError(f"covered component {name} is not supported")
    return _DERIVED_COMPONENTS[name](request)


# --- Structured Fields ------------------------------------------------------------------


def _sf_dictionary(value: str, field_name: str) -> dict[str, _SfMember]:
    try:
        members = http_sf.parse(
            value.encode("ascii"), tltype="dictionary", on_duplicate_key=_sf_refuse_duplicate
        )
    except ValueError as exc:  # http_sf's StructuredFieldError, or a non-ASCII character
        raise SignatureError(f"{field_name} header is malformed ({exc})") from exc
    for bare in _sf_bare_values(members.values()):
        if not isinstance(bare, _SF_ACCEPTED):
            raise SignatureError(f"{field_name} header is malformed (unsupported value)")
        # http_sf forgives missing "=" padding (RFC 9651 4.2.7); we refuse it, as we
        # always have, so that a byte sequence has a single spelling.
        if isinstance(bare, bytes) and f":{b64(bare)}:" not in value:
            raise SignatureError(f"{field_name} is not valid base64")
    return members


def _sf_refuse_duplicate(key: str, _where: str) -> None:
    # RFC 8941 keeps the last; refusing avoids disputes between parsers.
    raise http_sf.StructuredFieldError(f"{key} given twice")


def _sf_bare_values(members: Iterable[_SfMember]) -> Iterator[Any]:
    """Every bare value in the members, their items and their parameters."""
    for value, params in members:
        yield from params.values()
        if isinstance(value, list):
            yield from _sf_bare_values(value)
        else:
            yield value


def sf_serialise(structure: dict[str, SfInnerList] | SfInnerList) -> str:
    try:
        if isinstance(structure, dict):
            return http_sf.ser(structure)
        return ser_innerlist(structure)
    except ValueError as exc:
        raise SignatureError("signature parameters must be printable ASCII") from exc
