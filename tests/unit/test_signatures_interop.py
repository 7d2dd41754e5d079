"""Independent implementations check ours, in both directions, for GET and POST:
httpsig (draft-cavage, built on pycryptodome) and http_message_signatures (RFC 9421)."""

import base64
import hashlib
from dataclasses import dataclass

import httpsig
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    InvalidSignature,
    algorithms,
)

from commonsfed.signatures import (
    SignatureError,
    content_digest_header,
    generate_private_key,
    http_date,
    private_key_to_pem,
    public_key_to_pem,
    sign_cavage,
    sign_rfc9421,
    verify_request,
)

KEY_ID = "https://alpha.example/users/alice#main-key"
AS2 = "application/activity+json"
BODY = b'{"type":"Create","actor":"https://alpha.example/users/alice"}'
CAVAGE_GET = ["(request-target)", "host", "date", "accept"]
CAVAGE_POST = ["(request-target)", "host", "date", "digest", "content-type"]


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return generate_private_key()


def _sha256_digest(body: bytes) -> str:
    # Computed here rather than with digest_header(), so that httpsig's input is ours only
    # through the signature.
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


# --- httpsig checks sign_cavage ---------------------------------------------------------------


def _httpsig_verifies(headers, key, method: str, path: str, required: list[str]) -> bool:
    # httpsig reads the signature from "Authorization" unless told the header name.
    verifier = httpsig.HeaderVerifier(
        headers,
        public_key_to_pem(key),
        required_headers=required,
        method=method,
        path=path,
        sign_header="signature",
    )
    return verifier.verify()


def test_httpsig__verifies_sign_cavage_get(key):
    headers = {"Accept": AS2}
    headers |= sign_cavage(
        "GET", "https://beta.example/users/bob?page=2", headers, None, KEY_ID, key
    )

    assert _httpsig_verifies(headers, key, "GET", "/users/bob?page=2", CAVAGE_GET) is True


def test_httpsig__verifies_sign_cavage_post(key):
    headers = {"Content-Type": AS2}
    headers |= sign_cavage("POST", "https://beta.example/inbox", headers, BODY, KEY_ID, key)

    assert headers["Digest"] == _sha256_digest(BODY)
    assert _httpsig_verifies(headers, key, "POST", "/inbox", CAVAGE_POST) is True


def test_httpsig__refuses_sign_cavage_post_replayed_to_another_path(key):
    # The control: httpsig does say no, so the checks above are not vacuous.
    headers = {"Content-Type": AS2}
    headers |= sign_cavage("POST", "https://beta.example/inbox", headers, BODY, KEY_ID, key)

    assert _httpsig_verifies(headers, key, "POST", "/users/x/inbox", CAVAGE_POST) is False


# --- sign_cavage's verifier checks httpsig ---------------------------------------------------------


def _httpsig_signed(key, method: str, path: str, headers: dict, covered: list[str], **kwargs):
    signer = httpsig.HeaderSigner(
        KEY_ID, private_key_to_pem(key), algorithm="rsa-sha256", headers=covered, **kwargs
    )
    # httpsig returns its own dict with every header name lower-cased, which
    # our verifier must (and does) take as it comes.
    return signer.sign(headers, method=method, path=path)


def test_verify_request__accepts_httpsig_get(key):
    headers = {"Host": "beta.example", "Date": http_date(), "Accept": AS2}
    signed = _httpsig_signed(
        key, "GET", "/users/bob?page=2", headers, CAVAGE_GET, sign_header="signature"
    )

    parsed = verify_request("GET", "/users/bob?page=2", signed, None, key.public_key())

    assert parsed.key_id == KEY_ID
    assert parsed.covered == tuple(CAVAGE_GET)


def test_verify_request__accepts_httpsig_post(key):
    headers = {"Host": "beta.example", "Date": http_date(), "Content-Type": AS2}
    headers["Digest"] = _sha256_digest(BODY)
    signed = _httpsig_signed(key, "POST", "/inbox", headers, CAVAGE_POST, sign_header="signature")

    parsed = verify_request("POST", "/inbox", signed, BODY, key.public_key())

    assert parsed.covered == tuple(CAVAGE_POST)


def test_verify_request__accepts_httpsig_authorization_form(key):
    # httpsig's default: the parameters go in "Authorization: Signature ...".
    headers = {"Host": "beta.example", "Date": http_date(), "Content-Type": AS2}
    headers["Digest"] = _sha256_digest(BODY)
    signed = _httpsig_signed(key, "POST", "/inbox", headers, CAVAGE_POST)
    assert signed["authorization"].startswith("Signature ")

    verify_request("POST", "/inbox", signed, BODY, key.public_key())


def test_verify_request__accepts_httpsig_signature_relabelled_hs2019(key):
    # httpsig 1.3 predates hs2019 (its Signer asserts the algorithm is one of six
    # classic names). For an RSA key, hs2019 is rsa-sha256 on the wire as Mastodon
    # reads it, so an httpsig rsa-sha256 signature relabelled hs2019 must verify.
    headers = {"Host": "beta.example", "Date": http_date(), "Content-Type": AS2}
    headers["Digest"] = _sha256_digest(BODY)
    signed = _httpsig_signed(key, "POST", "/inbox", headers, CAVAGE_POST, sign_header="signature")
    signed["signature"] = signed["signature"].replace('"rsa-sha256"', '"hs2019"')

    parsed = verify_request("POST", "/inbox", signed, BODY, key.public_key())

    assert parsed.algorithm == "hs2019"


def test_verify_request__refuses_httpsig_hmac_sha256(key):
    # httpsig's default algorithm is a shared-secret HMAC: never acceptable between servers.
    headers = {"Host": "beta.example", "Date": http_date(), "Content-Type": AS2}
    headers["Digest"] = _sha256_digest(BODY)
    signer = httpsig.HeaderSigner(KEY_ID, "shared secret", headers=CAVAGE_POST)
    signed = signer.sign(headers, method="POST", path="/inbox")

    with pytest.raises(SignatureError, match="algorithm hmac-sha256 is not accepted"):
        verify_request("POST", "/inbox", signed, BODY, key.public_key())


def test_verify_request__refuses_httpsig_post_with_tampered_body(key):
    headers = {"Host": "beta.example", "Date": http_date(), "Content-Type": AS2}
    headers["Digest"] = _sha256_digest(BODY)
    signed = _httpsig_signed(key, "POST", "/inbox", headers, CAVAGE_POST, sign_header="signature")

    with pytest.raises(SignatureError, match="Digest does not match the body"):
        verify_request("POST", "/inbox", signed, BODY + b"!", key.public_key())


# --- http_message_signatures checks sign_rfc9421, and the reverse ----------------------------


@dataclass
class _Message:
    """The request shape http_message_signatures reads: method, absolute URL, headers."""

    method: str
    url: str
    headers: dict[str, str]


class _Keys(HTTPSignatureKeyResolver):
    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self.key = key

    def resolve_public_key(self, key_id: str) -> rsa.RSAPublicKey:
        assert key_id == KEY_ID
        return self.key.public_key()

    def resolve_private_key(self, key_id: str) -> rsa.RSAPrivateKey:
        assert key_id == KEY_ID
        return self.key


def _their_verifier(key) -> HTTPMessageVerifier:
    # http_message_signatures allows only 5 s of clock skew and refuses a `created` in
    # the future, so these tests sign with the real clock, never a pinned date.
    return HTTPMessageVerifier(
        signature_algorithm=algorithms.RSA_V1_5_SHA256, key_resolver=_Keys(key)
    )


def _their_signer(key, algorithm=algorithms.RSA_V1_5_SHA256) -> HTTPMessageSigner:
    return HTTPMessageSigner(signature_algorithm=algorithm, key_resolver=_Keys(key))


def test_http_message_signatures__verifies_sign_rfc9421_post(key):
    headers = {"Content-Type": AS2}
    headers |= sign_rfc9421("POST", "https://beta.example/inbox", headers, BODY, KEY_ID, key)
    message = _Message("POST", "https://beta.example/inbox", headers)

    results = _their_verifier(key).verify(
        message, body=BODY, require_components=("@method", "@target-uri", "content-digest")
    )

    assert [result.label for result in results] == ["sig1"]
    assert results[0].parameters["keyid"] == KEY_ID
    assert results[0].body == BODY


def test_http_message_signatures__verifies_sign_rfc9421_get(key):
    url = "https://beta.example/users/bob?page=2"
    headers = sign_rfc9421("GET", url, {"Accept": AS2}, None, KEY_ID, key)
    message = _Message("GET", url, {"Accept": AS2} | headers)

    results = _their_verifier(key).verify(message, require_components=("@method", "@target-uri"))

    assert results[0].covered_components['"@target-uri"'] == url


def test_http_message_signatures__refuses_sign_rfc9421_replayed_to_another_path(key):
    # The control: the library does say no, so the checks above are not vacuous.
    headers = sign_rfc9421("POST", "https://beta.example/inbox", {}, BODY, KEY_ID, key)
    message = _Message("POST", "https://beta.example/users/x/inbox", headers)

    with pytest.raises(InvalidSignature):
        _their_verifier(key).verify(message, body=BODY)


def test_verify_request__accepts_http_message_signatures_post(key):
    message = _Message("POST", "https://beta.example/inbox", {"Host": "beta.example"})
    _their_signer(key).sign(
        message,
        key_id=KEY_ID,
        label="sig1",
        covered_component_ids=("@method", "@target-uri"),
        body=BODY,
    )
    assert message.headers["Content-Digest"] == content_digest_header(BODY)

    parsed = verify_request("POST", "/inbox", message.headers, BODY, key.public_key())

    assert parsed.scheme == "rfc9421"
    assert parsed.covered == ("@method", "@target-uri", "content-digest")


def test_verify_request__accepts_http_message_signatures_defaults(key):
    # The library's defaults: label "pyhms", covering @method @authority @target-uri.
    message = _Message("GET", "https://beta.example/users/bob", {"Accept": AS2})
    _their_signer(key).sign(message, key_id=KEY_ID)

    parsed = verify_request(
        "GET", "/users/bob", message.headers, None, key.public_key(), authority="beta.example"
    )

    assert parsed.covered == ("@method", "@authority", "@target-uri")


def test_verify_request__accepts_http_message_signatures_path_authority_query(key):
    message = _Message("GET", "https://beta.example/outbox?page=2", {"Host": "beta.example"})
    covered = ("@method", "@authority", "@path", "@query")
    _their_signer(key).sign(message, key_id=KEY_ID, covered_component_ids=covered)

    parsed = verify_request("GET", "/outbox?page=2", message.headers, None, key.public_key())

    assert parsed.covered == covered


def test_verify_request__refuses_http_message_signatures_tampered_body(key):
    message = _Message("POST", "https://beta.example/inbox", {"Host": "beta.example"})
    _their_signer(key).sign(message, key_id=KEY_ID, body=BODY)

    with pytest.raises(SignatureError, match="Content-Digest does not match the body"):
        verify_request("POST", "/inbox", message.headers, BODY + b"!", key.public_key())


def test_verify_request__refuses_http_message_signatures_rsa_pss(key):
    message = _Message("POST", "https://beta.example/inbox", {"Host": "beta.example"})
    _their_signer(key, algorithms.RSA_PSS_SHA512).sign(message, key_id=KEY_ID, body=BODY)

    with pytest.raises(SignatureError, match="algorithm rsa-pss-sha512 is not accepted"):
        verify_request("POST", "/inbox", message.headers, BODY, key.public_key())
