"""Helpers for the OAuth tests: an app registered through the API, and a resident's walk
through the real authorize page (the consent form, with its CSRF token)."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

from commonsfed.web.sessions import CSRF_FIELD

OOB = "urn:ietf:wg:oauth:2.0:oob"
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
_CODE = re.compile(r'id="code" readonly value="([^"]+)"')


async def register_app(client, redirect_uris=OOB, scopes="read write follow", **more) -> dict:
    response = await client.post(
        "/api/v1/apps",
        data={"client_name": "Test app", "redirect_uris": redirect_uris, "scopes": scopes, **more},
    )
    assert response.status == 200, await response.text()
    return await response.json()


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_query(app: dict, redirect_uri: str = OOB, scope: str = "read write follow",
                    **more: str) -> str:
    return urlencode({"client_id": app["client_id"], "redirect_uri": redirect_uri,
                      "response_type": "code", "scope": scope, **more})  # fmt: skip


def form_fields(page: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in _HIDDEN.findall(page)}


async def consent(client, path_qs: str, decision: str = "authorize"):
    """Open the authorize page as the logged-in resident and press a button; the answer
    (not followed)."""
    page = await client.get(path_qs)
    assert page.status == 200, await page.text()
    fields = form_fields(await page.text())
    assert CSRF_FIELD in fields
    return await client.post("/oauth/authorize", data={**fields, "decision": decision},
                             allow_redirects=False)  # fmt: skip


def code_from_page(page: str) -> str:
    match = _CODE.search(page)
    assert match, "the page shows no code"
    return html.unescape(match.group(1))


def query_of(location: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}
