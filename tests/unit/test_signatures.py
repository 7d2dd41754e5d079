"""Unit tests for commonsfed.signatures: round trips, pinned known answers, and one test
per refusal, each sending the bad input."""

import base64
import hashlib
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding
from multidict import CIMultiDict, CIMultiDictProxy

from commonsfed.signatures import (
    SignatureError,
    content_digest_header,
    digest_header,
    generate_private_key,
    http_date,
    key_fingerprint,
    parse_signature,
    private_key_from_pem,
    private_key_to_pem,
    public_key_from_pem,
    public_key_to_pem,
    sign_cavage,
    sign_rfc9421,
    verify_request,
    verify_signature,
)

# Generated once with generate_private_key(); fixed so that signatures can be pinned
# (RSA PKCS#1 v1.5 is deterministic). Test-only: it signs nothing real.
KEY_PEM = """\
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDCRBM88IxTyb2k
pFN3eF2DgtvnIMbfNRudHmtO3a4ys0CisRzToUTYtpuB6R1b/JkOzJprosIdyyy5
MMUQPIAJV+K0RjVhZ1EGujWUiw6A/PPp64g4avpRB9fwIfn5fjusUUQUjTcxBeW+
UP8z7266HBM7OfJ5wLB3aAl7ybse3DGIJ+8QtilG1mvbuFs0hk76XvMaTFZMxv1u
ofMPufGXQXiu0crHWWt5ARKmogTQe9/BpUexd6XR4nq8FgltYuElBMCzSIuwg3wo
aPtMP6Ve0o47DzCW8vJRmeuXdDhL0MLENB8ddDeLHzRpXUw16JQXYUjPeotgk+dt
NS8ZG629AgMBAAECggEADVx4REM5K5QfDoFc2kU1jVOFQ2bONtDkxtAuSjzV+9e3
VNlApc+cOBmLJYq+gbKkZk+tOUT2++ya9VvE2gKHPd1FEugXSM091ewdvks4IqgD
MK4J7vNwpv0WnYYAtue3O/lU6OLzjlQdApN4kf5gS72dlv+7zSLzICtQJ6ruy0b0
DrMBTBtKR6ltv+sHQ0qJW2HzebV8VvMo7jd1TQgOLAixQyFLhH2JMXJZ57+qiwI9
RKsnqmrOHwR8YQBhibz18Osl3vizquPX/SmKqkmRbCgXhQa55kQyL+MWllUenm9g
s1BinxkKvLl2MdTHPShLtr0F/3QLc+At+JFyHCrvYQKBgQDo2PzO4plAufgBIA+2
JOTm92JwXCLOCnDutwEeRdtD6YC+9sCxxfdTw5RZ60JP2sK1lA+3i4SSSkVw0uZr
yYoVxH85VaGeYulXniJwhK0GDUqXx3PXYOBJTjLCX2r+JJGJB58Stjurwf74SB5u
qCOI09T33W7kbJDt8nc33W9OjQKBgQDVlQLb2a7uzOR4dSIIO+m5r7ViTeHa7UIo
bHenhi3lE5Bu/OXs+UIxNdV8qpZMRzT9JT1mQiZGK/+N33zh0JKHoN1JrjXmBzvB
8exc177wNYfeFITyhxWdvCOTzDqViDkrVBNymvrDZoUT3+B/cwvJ3QVjWR/nlusZ
7F0X05hn8QKBgGyQHu7mv8Vp77O2mxy1fvQhC4iPrLqcK6NhN+hBccXsLNbcfWNl
hbdMTPLPuY850+aNLfbJ2fnLHy1HZ5+BzBvyDc9RmZUbUOhFFpGXioRz1f+GQwB8
bpY/G3N8wYnUyvY003oJ9TBTtulT1ryJMGgvO/CFEZr282u9zNADMk5RAoGBAKf5
7OipuKo5XMrcHKrrK/QNHBO3exUqmmiefjC0F+5dR6/ymIaatxNq6n+EznYpXqRl
oHeHOQDhY7jZ9ybGWifvPXrQV7WVJMtxEFsolxPmlff0nWb9FOQcbsKz0bN/Eq9g
DXeKKgR54dnyrmauPaxCdxVep/gFOtwFiGXP1cKRAoGAaiCZ9fqcfhfauS4uCP91
S+rgzrscdOHFCf3TN5JZzXqXopBRCITilOrjz5GkstaHo/7Ap7TNSBFPfI6xOUOw
ZWt03QOUwzhuCzgoxPbo30chffL7AOHJVQcpHjmLa+mvq6dEo7ECnrXc7OMCarqC
vivR0hZIqG1R5lrHQxBMHQk=
-----END PRIVATE KEY-----
"""
KEY = private_key_from_pem(KEY_PEM)
PUBLIC = KEY.public_key()
KEY_ID = "https://alpha.example/users/alice#main-key"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
NOW_HTTP = "Wed, 01 May 2024 12:00:00 GMT"
NOW_UNIX = 1714564800
AS2 = "application/activity+json"
BODY = b'{"type":"Follow","actor":"https://alpha.example/users/alice"}'
BODY_SHA256 = "GHgmEnxo66pKuDc0mZXdN5Elt1PgRhVHhwI/6JQeafI="
INBOX = "https://beta.example/inbox"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _rsa_sign(text: str) -> str:
    return _b64(KEY.sign(text.encode("ascii"), padding.PKCS1v15(), hashes.SHA256()))


def _cavage_post(url: str = INBOX, body: bytes = BODY, now: datetime = NOW) -> dict[str, str]:
    headers = {"Content-Type": AS2}
    return headers | sign_cavage("POST", url, headers, body, KEY_ID, KEY, now)


def _cavage_get(url: str = "https://beta.example/users/bob", now: datetime = NOW) -> dict[str, str]:
    headers = {"Accept": AS2}
    return headers | sign_cavage("GET", url, headers, None, KEY_ID, KEY, now)


def _rfc9421_post(url: str = INBOX, body: bytes = BODY, now: datetime = NOW) -> dict[str, str]:
    headers = {"Content-Type": AS2, "Host": "beta.example"}
    return headers | sign_rfc9421("POST", url, headers, body, KEY_ID, KEY, now)


def _hand_cavage(covered: list[str], values: dict[str, str], params: str) -> str:
    """A Signature header built without our signer, to send what it would never make."""
    signing_string = "\n".join(f"{name}: {values[name]}" for name in covered)
    signature = _rsa_sign(signing_string)
    return f'keyId="{KEY_ID}",{params}headers="{" ".join(covered)}",signature="{signature}"'


POST_VALUES = {
    "(request-target)": "post /inbox",
    "host": "beta.example",
    "date": NOW_HTTP,
    "digest": f"SHA-256={BODY_SHA256}",
    "content-type": AS2,
    "accept": AS2,
    "(created)": str(NOW_UNIX),
}
POST_HEADERS = {
    "Host": "beta.example",
    "Date": NOW_HTTP,
    "Digest": f"SHA-256={BODY_SHA256}",
    "Content-Type": AS2,
}


def _hand_rfc9421(components: list[str], values: dict[str, str], params: str) -> dict[str, str]:
    """Signature-Input and Signature built without our signer."""
    inner = "(" + " ".join(f'"{name}"' for name in components) + ")" + params
    lines = [f'"{name}": {values[name]}' for name in components]
    base = "\n".join([*lines, f'"@signature-params": {inner}'])
    return {"Signature-Input": f"sig1={inner}", "Signature": f"sig1=:{_rsa_sign(base)}:"}


RFC9421_VALUES = {
    "@method": "POST",
    "@target-uri": "https://beta.example/inbox",
    "@authority": "beta.example",
    "@path": "/inbox",
    "@query": "?page=1",
    "content-digest": f"sha-256=:{BODY_SHA256}:",
}
RFC9421_PARAMS = f';created={NOW_UNIX};keyid="{KEY_ID}";alg="rsa-v1_5-sha256"'
RFC9421_HEADERS = {"Host": "beta.example", "Content-Digest": f"sha-256=:{BODY_SHA256}:"}


# --- Keys -----------------------------------------------------------------------------------


def test_generate_private_key__rsa_2048_e65537():
    key = generate_private_key()

    assert key.key_size == 2048
    assert key.public_key().public_numbers().e == 65537


def test_private_key_to_pem__pkcs8_round_trip():
    pem = private_key_to_pem(KEY)

    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert private_key_from_pem(pem).private_numbers() == KEY.private_numbers()


def test_private_key_from_pem__garbage_refused():
    with pytest.raises(SignatureError, match="private key"):
        private_key_from_pem("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----")


def test_public_key_to_pem__spki_from_private_or_public_key():
    pem = public_key_to_pem(KEY)

    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert public_key_to_pem(PUBLIC) == pem
    assert public_key_from_pem(pem).public_numbers() == PUBLIC.public_numbers()


def test_public_key_from_pem__pkcs1_accepted():
    pkcs1 = PUBLIC.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
    ).decode("ascii")
    assert pkcs1.startswith("-----BEGIN RSA PUBLIC KEY-----")

    assert public_key_from_pem(pkcs1).public_numbers() == PUBLIC.public_numbers()


def test_public_key_from_pem__garbage_refused():
    with pytest.raises(SignatureError, match="not a readable PEM"):
        public_key_from_pem("not a key")


def test_public_key_from_pem__non_rsa_refused():
    pem = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )

    with pytest.raises(SignatureError, match="not an RSA key"):
        public_key_from_pem(pem)


# --- Digests and dates ----------------------------------------------------------------------


def test_digest_header__known_answer():
    # SHA-256 of the empty string, upper case algorithm name as Mastodon sends it.
    assert digest_header(b"") == "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="


def test_content_digest_header__rfc9530_example():
    # RFC 9530 section 2, the example body {"hello": "world"}.
    expected = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"

    assert content_digest_header(b'{"hello": "world"}') == expected


def test_http_date__imf_fixdate_in_gmt():
    two_hours_east = timezone(timedelta(hours=2))

    assert http_date(NOW) == NOW_HTTP
    assert http_date(NOW.astimezone(two_hours_east)) == NOW_HTTP


# --- Known answers (pinned once; RSA PKCS#1 v1.5 signatures are deterministic) --------------


def test_sign_cavage__known_answer_get():
    added = sign_cavage(
        "GET", "https://beta.example/users/bob?page=2", {"Accept": AS2}, None, KEY_ID, KEY, NOW
    )

    assert added == {
        "Host": "beta.example",
        "Date": NOW_HTTP,
        "Signature": (
            f'keyId="{KEY_ID}",algorithm="rsa-sha256",'
            'headers="(request-target) host date accept",'
            'signature="a6SlzUI0JH99r0KpQ3LKFRFGxq5ACZONj9uWqx5MDLB+fO57cFr5OqT9gLcKrz6U5iKiGskb3V/w5qfVYOangBuZSTSTK89V5qGWOhES6pwEjOJ1i7rC1gBVj3roSb8e2bVCkDHOhb3uWlCMjtVybPR+7sBekricj5Yl5vMC+SrlnxpICXutGIsIYE9Ez1n/4x7cmOsR4rvW2fygogDv9rGvSpX6emyyuus5Gbn705RHGixO5Ywu9Etiyr5+tFKE4ftiCdrFgr7NMW17wY76bYzAY0xYdvw6btLj5YX8w2VbO+8yLYELveTWTyVYspW+nFIW9ZQOXQtGVPqeo84CUQ=="'
        ),
    }


def test_sign_cavage__known_answer_post():
    added = sign_cavage("POST", INBOX, {"Content-Type": AS2}, BODY, KEY_ID, KEY, NOW)

    assert added == {
        "Host": "beta.example",
        "Date": NOW_HTTP,
        "Digest": f"SHA-256={BODY_SHA256}",
        "Signature": (
            f'keyId="{KEY_ID}",algorithm="rsa-sha256",'
            'headers="(request-target) host date digest content-type",'
            'signature="ZE+zHSxBZ6/u1Gtrcf6Gleue0MNQLnR3QyRUllJfDWmV2bhu8eCmheNBIB78gFpCS58fYJcG2Ey6N+Tqn3BeM7Jcp8hf5E0iivxyknNGS9Y64xWtYf7Gm1OkBqb6CV+VEo4GBA+9CmXMDcrheJwA897DQHzwTv2WoBFZLNOlZ/wuz7qns4Jl90dbmBbuZqR/+0u/wNiXHQocRBgKUak9aCQwZqPtiBbyzd2samo8tVIMprYzfRntct1t/uvgcNNQC+Xhd7MZ7Ctso0MMoBZK7aT0F0KrbOiYZ9dg4KA1jw+ag3YqGWqBdQM5L8dmKZjm/jNOgL3iCTQaqpRio0CvVg=="'
        ),
    }


def test_sign_cavage__signs_mastodons_signing_string():
    # The pinned signature is over exactly this text, written out by hand.
    signing_string = (
        "(request-target): post /inbox\n"
        "host: beta.example\n"
        f"date: {NOW_HTTP}\n"
        f"digest: SHA-256={BODY_SHA256}\n"
        f"content-type: {AS2}"
    )

    assert (
        _rsa_sign(signing_string)
        == "ZE+zHSxBZ6/u1Gtrcf6Gleue0MNQLnR3QyRUllJfDWmV2bhu8eCmheNBIB78gFpCS58fYJcG2Ey6N+Tqn3BeM7Jcp8hf5E0iivxyknNGS9Y64xWtYf7Gm1OkBqb6CV+VEo4GBA+9CmXMDcrheJwA897DQHzwTv2WoBFZLNOlZ/wuz7qns4Jl90dbmBbuZqR/+0u/wNiXHQocRBgKUak9aCQwZqPtiBbyzd2samo8tVIMprYzfRntct1t/uvgcNNQC+Xhd7MZ7Ctso0MMoBZK7aT0F0KrbOiYZ9dg4KA1jw+ag3YqGWqBdQM5L8dmKZjm/jNOgL3iCTQaqpRio0CvVg=="
    )


def test_sign_rfc9421__known_answer_post():
    added = sign_rfc9421("POST", INBOX, {"Content-Type": AS2}, BODY, KEY_ID, KEY, NOW)

    assert added == {
        "Content-Digest": f"sha-256=:{BODY_SHA256}:",
        "Signature-Input": (
            'sig1=("@method" "@target-uri" "content-digest");'
            f'created={NOW_UNIX};keyid="{KEY_ID}";alg="rsa-v1_5-sha256"'
        ),
        "Signature": "sig1=:hiWpXil2y/QVF9U3Jjt/wiCdBpz/PPEzJbg6b5NTaFEgK915u2pKPukBFxIz2uvu7A3JsUOOINDfMBz256SxO8fFjLrfq3numn5EOFSs/eOhggWHolaegRUCZVlC+rYnYomXI112DtHAtA+DTFP00Qqq7DP/WGONDwspi9GG7zE+e2JWPTAfWHLmvTrfXOpXg4W+Xq94/anOfqPHdKx4k/g9WyRzxO3JOWwVh2iusLEINEmm2zHwsSdTzVhBE5ALv79SdG/+nniJjKtEVhscqDyIk+JybtDS8f85TLSFc26pgWzO/bY85Yi9K49xPsEr/Oj4K1mrU7G+D/GV0W3wmA==:",
    }


def test_sign_rfc9421__signs_the_rfc9421_signature_base():
    base = (
        '"@method": POST\n'
        '"@target-uri": https://beta.example/inbox\n'
        f'"content-digest": sha-256=:{BODY_SHA256}:\n'
        '"@signature-params": ("@method" "@target-uri" "content-digest")'
        f';created={NOW_UNIX};keyid="{KEY_ID}";alg="rsa-v1_5-sha256"'
    )

    assert (
        _rsa_sign(base)
        == "hiWpXil2y/QVF9U3Jjt/wiCdBpz/PPEzJbg6b5NTaFEgK915u2pKPukBFxIz2uvu7A3JsUOOINDfMBz256SxO8fFjLrfq3numn5EOFSs/eOhggWHolaegRUCZVlC+rYnYomXI112DtHAtA+DTFP00Qqq7DP/WGONDwspi9GG7zE+e2JWPTAfWHLmvTrfXOpXg4W+Xq94/anOfqPHdKx4k/g9WyRzxO3JOWwVh2iusLEINEmm2zHwsSdTzVhBE5ALv79SdG/+nniJjKtEVhscqDyIk+JybtDS8f85TLSFc26pgWzO/bY85Yi9K49xPsEr/Oj4K1mrU7G+D/GV0W3wmA=="
    )


def test_sign_rfc9421__known_answer_get():
    added = sign_rfc9421(
        "GET", "https://beta.example/users/bob", {"Accept": AS2}, None, KEY_ID, KEY, NOW
    )

    assert added == {
        "Signature-Input": (
            f'sig1=("@method" "@target-uri");created={NOW_UNIX};'
            f'keyid="{KEY_ID}";alg="rsa-v1_5-sha256"'
        ),
        "Signature": "sig1=:DEUbkKkAuMT7qXbddVJwlbxO8vHze/GN1G8ARXoNKS9Q8pSPnVKjgVloThQmfk5zns79wl4NLAIS/TEUc6SfpNkXGHmLhh9ISmezNi8g/MnLvBdBRQAbiGQIZNCPi+LzJnaiOF3kCOKNiJh6r6nnD2Ae+diKDmRQdgVoo8MzsmXObCMae+5YDGav73j8AimyYvHl/cVM4R1h0VK+qPDt4XSi3o61YbssAkuQPB7EF9OaQuzySi5Acl48591u+oMX4MPFCXVsdSK5xmG/kYeWlDe0qRX81+3GiG3Go2UAylxsId2grvODsfreo84mIB1ts88GMudC3Ag+xlKzU4xySQ==:",
    }


# --- Signing details ---------------------------------------------------------------------------


def test_sign_cavage__host_keeps_non_default_port_only():
    on_8443 = sign_cavage("GET", "https://Beta.Example:8443/x", {}, None, KEY_ID, KEY, NOW)
    on_443 = sign_cavage("GET", "https://beta.example:443/x", {}, None, KEY_ID, KEY, NOW)
    on_80 = sign_cavage("GET", "http://beta.example:80/x", {}, None, KEY_ID, KEY, NOW)

    assert on_8443["Host"] == "beta.example:8443"
    assert on_443["Host"] == "beta.example"
    assert on_80["Host"] == "beta.example"


def test_sign_cavage__keeps_callers_date_and_host():
    headers = {"date": "Wed, 01 May 2024 11:59:00 GMT", "HOST": "beta.example"}

    added = sign_cavage("GET", "https://beta.example/x", headers, None, KEY_ID, KEY, NOW)

    assert set(added) == {"Signature"}
    verify_request("GET", "/x", headers | added, None, PUBLIC, now=NOW)


def test_sign_cavage__get_without_accept_covers_three_headers():
    added = sign_cavage("GET", "https://beta.example/x", {}, None, KEY_ID, KEY, NOW)

    assert 'headers="(request-target) host date"' in added["Signature"]


def test_sign_cavage__callers_lower_case_digest_kept():
    headers = {"Content-Type": AS2, "Digest": f"sha-256={BODY_SHA256}"}

    added = sign_cavage("POST", INBOX, headers, BODY, KEY_ID, KEY, NOW)

    assert "Digest" not in added
    verify_request("POST", "/inbox", headers | added, BODY, PUBLIC, now=NOW)


def test_sign_cavage__callers_wrong_digest_refused():
    headers = {"Content-Type": AS2, "Digest": digest_header(b"something else")}

    with pytest.raises(SignatureError, match="Digest does not match the body"):
        sign_cavage("POST", INBOX, headers, BODY, KEY_ID, KEY, NOW)


def test_sign_cavage__key_id_with_quote_refused():
    with pytest.raises(SignatureError, match="keyId"):
        sign_cavage("GET", INBOX, {}, None, 'https://a.example/"x', KEY, NOW)


def test_sign_cavage__relative_url_refused():
    with pytest.raises(SignatureError, match="absolute"):
        sign_cavage("GET", "/inbox", {}, None, KEY_ID, KEY, NOW)


# --- Round trips ----------------------------------------------------------------------------------


def test_verify_request__cavage_get_round_trip():
    headers = _cavage_get()

    parsed = verify_request("GET", "/users/bob", headers, None, PUBLIC, now=NOW)

    assert parsed.key_id == KEY_ID
    assert parsed.scheme == "cavage"
    assert parsed.covered == ("(request-target)", "host", "date", "accept")


def test_verify_request__cavage_post_round_trip():
    parsed = verify_request("POST", "/inbox", _cavage_post(), BODY, PUBLIC, now=NOW)

    assert parsed.key_id == KEY_ID
    assert parsed.covered == ("(request-target)", "host", "date", "digest", "content-type")


def test_verify_request__rfc9421_get_round_trip():
    headers = {"Host": "beta.example"}
    headers |= sign_rfc9421("GET", "https://beta.example/users/bob", {}, None, KEY_ID, KEY, NOW)

    parsed = verify_request("GET", "/users/bob", headers, b"", PUBLIC, now=NOW)

    assert parsed.key_id == KEY_ID
    assert parsed.scheme == "rfc9421"
    assert parsed.covered == ("@method", "@target-uri")


def test_verify_request__rfc9421_post_round_trip():
    parsed = verify_request("POST", "/inbox", _rfc9421_post(), BODY, PUBLIC, now=NOW)

    assert parsed.scheme == "rfc9421"
    assert parsed.algorithm == "rsa-v1_5-sha256"
    assert parsed.covered == ("@method", "@target-uri", "content-digest")


def test_verify_request__two_phase_with_key_lookup_between():
    parsed = parse_signature("POST", "/inbox", _cavage_post(), BODY, now=NOW)
    key = {KEY_ID: public_key_from_pem(public_key_to_pem(KEY))}[parsed.key_id]

    verify_signature(parsed, key)


def test_verify_request__non_default_port_round_trip():
    headers = _cavage_post(url="http://beta.example:8080/inbox")

    verify_request("POST", "/inbox", headers, BODY, PUBLIC, scheme="http", now=NOW)


def test_verify_request__rfc9421_non_default_port_round_trip():
    headers = sign_rfc9421("POST", "http://beta.example:8080/inbox", {}, BODY, KEY_ID, KEY, NOW)
    headers["Host"] = "beta.example:8080"

    verify_request("POST", "/inbox", headers, BODY, PUBLIC, scheme="http", now=NOW)


# --- The host it was signed for ---------------------------------------------------------------


@pytest.mark.parametrize("ours", ["beta.example", "BETA.example", "beta.example:443"])
def test_verify_request__for_our_own_authority_accepted(ours):
    verify_request("POST", "/inbox", _cavage_post(), BODY, PUBLIC, for_authority=ours, now=NOW)
    verify_request("POST", "/inbox", _rfc9421_post(), BODY, PUBLIC, for_authority=ours, now=NOW)


@pytest.mark.parametrize("sign", [_cavage_post, _rfc9421_post])
def test_verify_request__signed_for_another_authority_refused(sign):
    # a request beta.example received, replayed to gamma.example with its Host unchanged
    with pytest.raises(SignatureError, match="is for beta.example, not for gamma.example"):
        verify_request(
            "POST", "/inbox", sign(), BODY, PUBLIC, for_authority="gamma.example", now=NOW
        )


def test_verify_request__port_is_part_of_the_authority():
    headers = _cavage_post(url="http://beta.example:8080/inbox")

    with pytest.raises(SignatureError, match="not for beta.example:8081"):
        verify_request(
            "POST", "/inbox", headers, BODY, PUBLIC, scheme="http",
            for_authority="beta.example:8081", now=NOW,
        )  # fmt: skip


# --- Body and digest -------------------------------------------------------------------------------


def test_verify_request__tampered_body_refused():
    headers = _cavage_post()

    with pytest.raises(SignatureError, match="Digest does not match the body"):
        verify_request("POST", "/inbox", headers, BODY + b" ", PUBLIC, now=NOW)


def test_verify_request__wrong_digest_refused():
    headers = _cavage_post() | {"Digest": digest_header(b"{}")}

    with pytest.raises(SignatureError, match="Digest does not match the body"):
        verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__missing_digest_on_a_body_refused():
    # Signed as a GET would be, then sent with a body: the body is not covered.
    headers = sign_cavage("POST", INBOX, {}, None, KEY_ID, KEY, NOW)

    with pytest.raises(SignatureError, match="must cover digest"):
        verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__digest_name_lower_case_accepted():
    values = POST_VALUES | {"digest": f"sha-256={BODY_SHA256}"}
    covered = ["(request-target)", "host", "date", "digest"]
    headers = POST_HEADERS | {"Digest": values["digest"]}
    headers["Signature"] = _hand_cavage(covered, values, 'algorithm="rsa-sha256",')

    verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__several_digests_with_sha256_accepted():
    sha512 = _b64(hashlib.sha512(BODY).digest())
    values = POST_VALUES | {"digest": f"SHA-512={sha512}, SHA-256={BODY_SHA256}"}
    covered = ["(request-target)", "host", "date", "digest"]
    headers = POST_HEADERS | {"Digest": values["digest"]}
    headers["Signature"] = _hand_cavage(covered, values, 'algorithm="rsa-sha256",')

    verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__several_digests_with_a_wrong_one_refused():
    wrong_512 = _b64(hashlib.sha512(b"other").digest())
    values = POST_VALUES | {"digest": f"SHA-512={wrong_512}, SHA-256={BODY_SHA256}"}
    covered = ["(request-target)", "host", "date", "digest"]
    headers = POST_HEADERS | {"Digest": values["digest"]}
    headers["Signature"] = _hand_cavage(covered, values, 'algorithm="rsa-sha256",')

    with pytest.raises(SignatureError, match="Digest does not match"):
        verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__digest_without_sha256_refused():
    sha512 = _b64(hashlib.sha512(BODY).digest())
    values = POST_VALUES | {"digest": f"SHA-512={sha512}"}
    covered = ["(request-target)", "host", "date", "digest"]
    headers = POST_HEADERS | {"Digest": values["digest"]}
    headers["Signature"] = _hand_cavage(covered, values, 'algorithm="rsa-sha256",')

    with pytest.raises(SignatureError, match="no SHA-256"):
        verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__digest_not_base64_refused():
    headers = _cavage_post() | {"Digest": "SHA-256=not*base64!"}

    with pytest.raises(SignatureError, match="Digest is not valid base64"):
        verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


# --- Dates ------------------------------------------------------------------------------------


def test_verify_request__date_1h04_behind_accepted():
    headers = _cavage_post(now=NOW - timedelta(hours=1, minutes=4))

    verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__stale_date_1h06_behind_refused():
    headers = _cavage_post(now=NOW - timedelta(hours=1, minutes=6))

    with pytest.raises(SignatureError, match="Date is more than 1 hour 5 minutes old"):
        verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__future_date_1h01_ahead_refused():
    headers = _cavage_post(now=NOW + timedelta(hours=1, minutes=1))

    with pytest.raises(SignatureError, match="Date is more than 1 hour in the future"):
        verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__date_59_minutes_ahead_accepted():
    headers = _cavage_post(now=NOW + timedelta(minutes=59))

    verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__unparseable_date_refused():
    values = POST_VALUES | {"date": "yesterday"}
    covered = ["(request-target)", "host", "date", "digest"]
    headers = POST_HEADERS | {"Date": "yesterday"}
    headers["Signature"] = _hand_cavage(covered, values, 'algorithm="rsa-sha256",')

    with pytest.raises(SignatureError, match="not a valid HTTP date"):
        verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


# --- Covered headers and algorithms ---------------------------------------------------------------


@pytest.mark.parametrize("left_out", ["(request-target)", "host", "date"])
def test_verify_request__required_header_not_covered_refused(left_out):
    covered = [n for n in ["(request-target)", "host", "date", "digest"] if n != left_out]
    headers = POST_HEADERS | {"Signature": _hand_cavage(covered, POST_VALUES, "")}

    with pytest.raises(SignatureError, match=rf"must cover {re.escape(left_out)}"):
        verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__no_headers_parameter_refused():
    # Without headers="...", draft-cavage signs only (created): far too little.
    signature = _rsa_sign(f"(created): {NOW_UNIX}")
    headers = POST_HEADERS | {"Signature": f'keyId="{KEY_ID}",signature="{signature}"'}

    with pytest.raises(SignatureError, match="must cover"):
        verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__covered_header_missing_from_request_refused():
    covered = ["(request-target)", "host", "date", "digest", "accept"]
    headers = POST_HEADERS | {"Signature": _hand_cavage(covered, POST_VALUES, "")}

    with pytest.raises(SignatureError, match="covers accept, which the request lacks"):
        verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


@pytest.mark.parametrize("algorithm", ["hmac-sha256", "rsa-sha1", "rsa-sha512", "ecdsa-sha256"])
def test_verify_request__unknown_algorithm_refused(algorithm):
    covered = ["(request-target)", "host", "date", "digest"]
    signature = _hand_cavage(covered, POST_VALUES, f'algorithm="{algorithm}",')
    headers = POST_HEADERS | {"Signature": signature}

    with pytest.raises(SignatureError, match=f"algorithm {algorithm} is not accepted"):
        verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__hs2019_accepted():
    covered = ["(request-target)", "host", "date", "digest"]
    headers = POST_HEADERS | {
        "Signature": _hand_cavage(covered, POST_VALUES, 'algorithm="hs2019",')
    }

    parsed = verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)

    assert parsed.algorithm == "hs2019"


def test_verify_request__hs2019_with_created_accepted():
    covered = ["(request-target)", "(created)", "host", "date", "digest"]
    params = f'algorithm="hs2019",created={NOW_UNIX},'
    headers = POST_HEADERS | {"Signature": _hand_cavage(covered, POST_VALUES, params)}

    verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__hs2019_stale_created_refused():
    stale = NOW_UNIX - 2 * 3600
    covered = ["(request-target)", "(created)", "host", "date", "digest"]
    values = POST_VALUES | {"(created)": str(stale)}
    params = f'algorithm="hs2019",created={stale},'
    headers = POST_HEADERS | {"Signature": _hand_cavage(covered, values, params)}

    with pytest.raises(SignatureError, match="created is more than 1 hour 5 minutes old"):
        verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__created_with_rsa_sha256_refused():
    covered = ["(request-target)", "(created)", "host", "date", "digest"]
    params = f'algorithm="rsa-sha256",created={NOW_UNIX},'
    headers = POST_HEADERS | {"Signature": _hand_cavage(covered, POST_VALUES, params)}

    with pytest.raises(SignatureError, match="need algorithm hs2019"):
        verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__absent_algorithm_accepted():
    covered = ["(request-target)", "host", "date", "digest"]
    headers = POST_HEADERS | {"Signature": _hand_cavage(covered, POST_VALUES, "")}

    parsed = verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)

    assert parsed.algorithm is None


# --- Request target ----------------------------------------------------------------------------


def test_verify_request__replayed_to_another_path_refused():
    headers = _cavage_post(url="https://beta.example/inbox")

    with pytest.raises(SignatureError, match="signature does not verify"):
        verify_request("POST", "/users/x/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__rfc9421_replayed_to_another_path_refused():
    headers = _rfc9421_post(url="https://beta.example/inbox")

    with pytest.raises(SignatureError, match="signature does not verify"):
        verify_request("POST", "/users/x/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__replayed_to_another_host_refused():
    headers = _cavage_post() | {"Host": "gamma.example"}

    with pytest.raises(SignatureError, match="signature does not verify"):
        verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__query_string_is_part_of_the_request_target():
    headers = _cavage_get(url="https://beta.example/outbox?page=1")

    parsed = verify_request("GET", "/outbox?page=1", headers, None, PUBLIC, now=NOW)
    assert parsed.signed_data.startswith(b"(request-target): get /outbox?page=1\n")
    with pytest.raises(SignatureError, match="signature does not verify"):
        verify_request("GET", "/outbox?page=2", headers, None, PUBLIC, now=NOW)
    with pytest.raises(SignatureError, match="signature does not verify"):
        verify_request("GET", "/outbox", headers, None, PUBLIC, now=NOW)


def test_verify_request__other_method_refused():
    headers = _cavage_post()

    with pytest.raises(SignatureError, match="signature does not verify"):
        verify_request("PUT", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__authority_stands_in_for_a_rewritten_host():
    # Behind a reverse proxy that rewrote Host, the caller names its public authority.
    headers = _cavage_post() | {"Host": "127.0.0.1:8000"}

    verify_request("POST", "/inbox", headers, BODY, PUBLIC, authority="beta.example", now=NOW)


def test_verify_request__rfc9421_authority_stands_in_for_a_rewritten_host():
    headers = _rfc9421_post() | {"Host": "127.0.0.1:8000"}

    verify_request("POST", "/inbox", headers, BODY, PUBLIC, authority="beta.example", now=NOW)


def test_parse_signature__path_not_starting_with_slash_refused():
    with pytest.raises(SignatureError, match="must be a path"):
        parse_signature("POST", "https://beta.example/inbox", _cavage_post(), BODY, now=NOW)


# --- Header forms --------------------------------------------------------------------------------


def test_verify_request__header_names_in_any_case():
    headers = {name.swapcase(): value for name, value in _cavage_post().items()}

    verify_request("post", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__cimultidictproxy_headers():
    # What aiohttp hands a handler as request.headers.
    headers = CIMultiDictProxy(CIMultiDict(_cavage_post()))

    verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__repeated_header_joined_with_comma():
    # HTTP joins repeated fields with ", " and the signer signed the joined value.
    values = POST_VALUES | {"accept": f"{AS2}, application/ld+json"}
    covered = ["(request-target)", "host", "date", "digest", "accept"]
    headers = CIMultiDict(POST_HEADERS)
    headers.add("Accept", AS2)
    headers.add("Accept", "application/ld+json")
    headers["Signature"] = _hand_cavage(covered, values, 'algorithm="rsa-sha256",')

    verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__authorization_signature_form_accepted():
    headers = _cavage_post()
    headers["Authorization"] = "Signature " + headers.pop("Signature")

    parsed = verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)

    assert parsed.key_id == KEY_ID


def test_verify_request__authorization_other_scheme_is_not_a_signature():
    headers = _cavage_post()
    headers["Authorization"] = "Bearer " + headers.pop("Signature")

    with pytest.raises(SignatureError, match="request is not signed"):
        verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__unsigned_refused():
    with pytest.raises(SignatureError, match="request is not signed"):
        verify_request("POST", "/inbox", POST_HEADERS, BODY, PUBLIC, now=NOW)


def test_verify_request__escaped_quote_in_key_id_is_unescaped():
    # RFC 7235 quoted-string: a backslash escapes the next character.
    signature = _hand_cavage(["(request-target)", "host", "date", "digest"], POST_VALUES, "")
    signature = signature.replace(f'keyId="{KEY_ID}"', 'keyId="https://a.example/\\"k\\""')
    headers = POST_HEADERS | {"Signature": signature}

    parsed = parse_signature("POST", "/inbox", headers, BODY, now=NOW)

    assert parsed.key_id == 'https://a.example/"k"'


COVERED = 'headers="(request-target) host date digest"'
MALFORMED_SIGNATURES = [
    pytest.param(
        f'keyId="https://a.example/k,algorithm="rsa-sha256",{COVERED},signature="AAAA"',
        "Signature header is malformed",
        id="unterminated quote",
    ),
    pytest.param(
        f'keyId="https://a.example/k"x,{COVERED},signature="AAAA"',
        "Signature header is malformed",
        id="text after a value",
    ),
    pytest.param(
        f'keyId="https://a.example/k",{COVERED},signature',
        "Signature header is malformed",
        id="no equals sign",
    ),
    pytest.param(
        f'algorithm="rsa-sha256",{COVERED},signature="AAAA"',
        "Signature header has no keyId",
        id="missing keyId",
    ),
    pytest.param(
        f'keyId="https://a.example/k",{COVERED}',
        "Signature header has no signature",
        id="missing signature",
    ),
    pytest.param(
        f'keyId="https://a.example/k",{COVERED},signature=""',
        "Signature header has no signature",
        id="empty signature",
    ),
    pytest.param(
        f'keyId="a",keyId="b",{COVERED},signature="AAAA"',
        "Signature header repeats keyid",
        id="repeated keyId",
    ),
    pytest.param(
        f'keyId="https://a.example/k",{COVERED},signature="@@@@"',
        "signature is not valid base64",
        id="signature not base64",
    ),
    pytest.param(
        f'keyId="https://a.example/k",{COVERED},signature="AAA"',
        "signature is not valid base64",
        id="signature badly padded",
    ),
]


@pytest.mark.parametrize(("value", "reason"), MALFORMED_SIGNATURES)
def test_parse_signature__malformed_signature_header_refused(value, reason):
    headers = POST_HEADERS | {"Signature": value}

    with pytest.raises(SignatureError, match=reason):
        parse_signature("POST", "/inbox", headers, BODY, now=NOW)


def test_verify_request__header_value_with_line_break_refused():
    # A line break could forge a further line of the signing string.
    covered = ["(request-target)", "host", "date", "digest", "accept"]
    values = POST_VALUES | {"accept": f"{AS2}\ndigest: x"}
    headers = POST_HEADERS | {"Accept": values["accept"]}
    headers["Signature"] = _hand_cavage(covered, values, "")

    with pytest.raises(SignatureError, match="line break"):
        verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


# --- Keys at verification --------------------------------------------------------------------------


def test_verify_request__wrong_key_refused():
    other = generate_private_key().public_key()

    with pytest.raises(SignatureError, match="signature does not verify"):
        verify_request("POST", "/inbox", _cavage_post(), BODY, other, now=NOW)


def test_verify_request__rfc9421_wrong_key_refused():
    other = generate_private_key().public_key()

    with pytest.raises(SignatureError, match="signature does not verify"):
        verify_request("POST", "/inbox", _rfc9421_post(), BODY, other, now=NOW)


def test_verify_signature__non_rsa_key_refused():
    parsed = parse_signature("POST", "/inbox", _cavage_post(), BODY, now=NOW)
    ed_key = ed25519.Ed25519PrivateKey.generate().public_key()

    with pytest.raises(SignatureError, match="not an RSA public key"):
        verify_signature(parsed, ed_key)


# --- RFC 9421 refusals ---------------------------------------------------------------------------


def test_verify_request__rfc9421_path_and_authority_accepted():
    components = ["@method", "@path", "@authority", "content-digest"]
    headers = RFC9421_HEADERS | _hand_rfc9421(components, RFC9421_VALUES, RFC9421_PARAMS)

    parsed = verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)

    assert parsed.covered == tuple(components)


def test_verify_request__rfc9421_path_without_authority_refused():
    components = ["@method", "@path", "content-digest"]
    headers = RFC9421_HEADERS | _hand_rfc9421(components, RFC9421_VALUES, RFC9421_PARAMS)

    with pytest.raises(SignatureError, match="must cover @target-uri, or @path and @authority"):
        verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__rfc9421_path_and_authority_with_unsigned_query_refused():
    components = ["@method", "@path", "@authority", "content-digest"]
    headers = RFC9421_HEADERS | _hand_rfc9421(components, RFC9421_VALUES, RFC9421_PARAMS)

    with pytest.raises(SignatureError, match="must cover @query"):
        verify_request("POST", "/inbox?page=1", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__rfc9421_missing_method_refused():
    components = ["@target-uri", "content-digest"]
    headers = RFC9421_HEADERS | _hand_rfc9421(components, RFC9421_VALUES, RFC9421_PARAMS)

    with pytest.raises(SignatureError, match="must cover @method"):
        verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__rfc9421_missing_content_digest_on_a_body_refused():
    components = ["@method", "@target-uri"]
    headers = RFC9421_HEADERS | _hand_rfc9421(components, RFC9421_VALUES, RFC9421_PARAMS)

    with pytest.raises(SignatureError, match="must cover content-digest"):
        verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__rfc9421_tampered_body_refused():
    with pytest.raises(SignatureError, match="Content-Digest does not match the body"):
        verify_request("POST", "/inbox", _rfc9421_post(), BODY + b" ", PUBLIC, now=NOW)


def test_verify_request__rfc9421_sha512_checked_too():
    wrong_512 = _b64(hashlib.sha512(b"other").digest())
    digest = f"sha-256=:{BODY_SHA256}:, sha-512=:{wrong_512}:"
    values = RFC9421_VALUES | {"content-digest": digest}
    components = ["@method", "@target-uri", "content-digest"]
    headers = RFC9421_HEADERS | {"Content-Digest": digest}
    headers |= _hand_rfc9421(components, values, RFC9421_PARAMS)

    with pytest.raises(SignatureError, match="Content-Digest does not match the body"):
        verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__rfc9421_content_digest_without_sha256_refused():
    sha512 = _b64(hashlib.sha512(BODY).digest())
    values = RFC9421_VALUES | {"content-digest": f"sha-512=:{sha512}:"}
    components = ["@method", "@target-uri", "content-digest"]
    headers = RFC9421_HEADERS | {"Content-Digest": values["content-digest"]}
    headers |= _hand_rfc9421(components, values, RFC9421_PARAMS)

    with pytest.raises(SignatureError, match="no sha-256 digest"):
        verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


@pytest.mark.parametrize("alg", ["rsa-pss-sha512", "ed25519", "hmac-sha256"])
def test_verify_request__rfc9421_other_algorithm_refused(alg):
    params = RFC9421_PARAMS.replace("rsa-v1_5-sha256", alg)
    components = ["@method", "@target-uri", "content-digest"]
    headers = RFC9421_HEADERS | _hand_rfc9421(components, RFC9421_VALUES, params)

    with pytest.raises(SignatureError, match=f"algorithm {alg} is not accepted"):
        verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__rfc9421_absent_alg_accepted():
    params = f';created={NOW_UNIX};keyid="{KEY_ID}"'
    components = ["@method", "@target-uri", "content-digest"]
    headers = RFC9421_HEADERS | _hand_rfc9421(components, RFC9421_VALUES, params)

    parsed = verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)

    assert parsed.algorithm is None


def test_verify_request__rfc9421_missing_created_refused():
    params = f';keyid="{KEY_ID}";alg="rsa-v1_5-sha256"'
    components = ["@method", "@target-uri", "content-digest"]
    headers = RFC9421_HEADERS | _hand_rfc9421(components, RFC9421_VALUES, params)

    with pytest.raises(SignatureError, match="no created time"):
        verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__rfc9421_created_1h04_behind_accepted():
    headers = _rfc9421_post(now=NOW - timedelta(hours=1, minutes=4))

    verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__rfc9421_stale_created_refused():
    headers = _rfc9421_post(now=NOW - timedelta(hours=1, minutes=6))

    with pytest.raises(SignatureError, match="created is more than 1 hour 5 minutes old"):
        verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__rfc9421_future_created_refused():
    headers = _rfc9421_post(now=NOW + timedelta(hours=1, minutes=1))

    with pytest.raises(SignatureError, match="created is more than 1 hour in the future"):
        verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__rfc9421_expired_refused():
    params = RFC9421_PARAMS + f";expires={NOW_UNIX - 1}"
    components = ["@method", "@target-uri", "content-digest"]
    headers = RFC9421_HEADERS | _hand_rfc9421(components, RFC9421_VALUES, params)

    with pytest.raises(SignatureError, match="signature has expired"):
        verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__rfc9421_covered_header_missing_from_request_refused():
    components = ["@method", "@target-uri", "content-digest", "content-type"]
    values = RFC9421_VALUES | {"content-type": AS2}
    headers = RFC9421_HEADERS | _hand_rfc9421(components, values, RFC9421_PARAMS)

    with pytest.raises(SignatureError, match="covers content-type, which the request lacks"):
        verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__rfc9421_without_host_refused():
    headers = _rfc9421_post()
    del headers["Host"]

    with pytest.raises(SignatureError, match="no Host header"):
        verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


def test_verify_request__rfc9421_lower_case_header_names():
    headers = {name.lower(): value for name, value in _rfc9421_post().items()}

    verify_request("POST", "/inbox", headers, BODY, PUBLIC, now=NOW)


MALFORMED_RFC9421 = [
    pytest.param(
        {"Signature-Input": f'sig1="@method"{RFC9421_PARAMS}'},
        r"Signature-Input header is malformed \(expected a list\)",
        id="input not a list",
    ),
    pytest.param(
        {"Signature-Input": f'sig1=("@method" "@target-uri"{RFC9421_PARAMS}'},
        "Signature-Input header is malformed",
        id="unterminated list",
    ),
    pytest.param(
        {"Signature-Input": f'sig1=("@method" "@target-uri" "content-digest";sf){RFC9421_PARAMS}'},
        "covered components must be plain strings",
        id="component with parameters",
    ),
    pytest.param(
        {"Signature-Input": f"sig1=(@method){RFC9421_PARAMS}"},
        "Signature-Input header is malformed",
        id="component as a token",
    ),
    pytest.param(
        {"Signature-Input": f'sig1=("@method" "@method" "@target-uri"){RFC9421_PARAMS}'},
        "not lower case or repeated",
        id="component repeated",
    ),
    pytest.param(
        {"Signature-Input": f'sig1=("@method" "@target-uri");created={NOW_UNIX};keyid=abc'},
        "keyid must be a string",
        id="keyid as a token",
    ),
    pytest.param(
        {"Signature-Input": f'sig1=("@method" "@target-uri");created={NOW_UNIX}'},
        "Signature-Input has no keyid",
        id="no keyid",
    ),
    pytest.param(
        {"Signature-Input": 'sig1=("@method" "@target-uri");created=1.5;keyid="k"'},
        "Signature-Input header is malformed",
        id="decimal created",
    ),
    pytest.param(
        {"Signature": 'sig1="abc"'},
        "Signature header has no signature labelled sig1",
        id="signature not a byte sequence",
    ),
    pytest.param(
        {"Signature": "sig2=:AAAA:"},
        "Signature header has no signature labelled sig1",
        id="signature for another label",
    ),
    pytest.param(
        {"Signature": "sig1=:@@@@:"},
        "Signature header is malformed",
        id="signature not base64",
    ),
    pytest.param(
        {"Signature": "sig1=:AAA:"},
        "Signature is not valid base64",
        id="signature badly padded",
    ),
    pytest.param(
        {"Signature": None},
        "without a Signature header",
        id="no signature header",
    ),
    pytest.param(
        {"Signature": "sig1=:AAAA:,"},
        "Signature header is malformed",
        id="trailing comma",
    ),
]


@pytest.mark.parametrize(("change", "reason"), MALFORMED_RFC9421)
def test_parse_signature__malformed_rfc9421_refused(change, reason):
    headers = _rfc9421_post() | change
    headers = {name: value for name, value in headers.items() if value is not None}

    with pytest.raises(SignatureError, match=reason):
        parse_signature("POST", "/inbox", headers, BODY, now=NOW)


def test_key_fingerprint__is_stable_and_differs_between_keys():
    other = generate_private_key().public_key()

    first = key_fingerprint(PUBLIC)

    assert first == key_fingerprint(public_key_from_pem(public_key_to_pem(KEY)))
    assert first != key_fingerprint(other)
    assert len(first) == 43 and "=" not in first
