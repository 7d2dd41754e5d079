"""OAuth 2's ways to a token, as Mastodon (Doorkeeper) offers them: the authorization code
(with PKCE S256), the app's own client credentials, and the password grant when the node
allows it.

The authorize page checks a request with `check_client` and `check_request`; a resident's consent makes
a code (`create_code`) that lives ten minutes and is exchanged once (`exchange_code`). Each
refusal is an `OAuthError` whose `error` is RFC 6749's word for it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

import asyncpg

from commonsfed.config import Settings
from commonsfed.db import accounts as accounts_q
from commonsfed.db import oauth as q
from commonsfed.db.oauth import OAuthApp
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Account
from commonsfed.services import accounts
from commonsfed.services.errors import NotAllowed, RateLimited, ValidationError
from commonsfed.services.oauth import (
    IssuedToken,
    grants,
    hash_secret,
    new_secret,
    new_token,
    read_scopes,
)

CODE_LIFETIME = 600  # seconds, as Doorkeeper's default
# RFC 7636 4.1 and 4.2: 43 to 128 characters of the unreserved set
_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # base64url of a SHA-256, unpadded


class OAuthError(Exception):
    """A refused OAuth request: RFC 6749's `error` code and a description for the app."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


class UnknownClient(Exception):
    """An authorization request that cannot be sent back to the app (unknown client_id, or a
    redirect_uri the app did not register): the authorize page says so instead of
    redirecting anywhere."""


@dataclass(frozen=True)
class AuthorizationRequest:
    app: OAuthApp
    redirect_uri: str
    scopes: list[str]
    state: str | None
    code_challenge: str | None


def requested_scopes(app: OAuthApp, text: str | None) -> list[str]:
    """The scopes asked for, each within what the app registered (`read:statuses` is
    within `read`); OAuthError invalid_scope otherwise."""
    try:
        scopes = read_scopes(text)
    except ValidationError as exc:
        raise OAuthError("invalid_scope", exc.errors["scope"]) from None
    allowed = frozenset(app.scopes)
    outside = [scope for scope in scopes if not grants(allowed, scope)]
    if outside:
        raise OAuthError(
            "invalid_scope",
            f"The app did not register the scope {', '.join(outside)}; it registered "
            f"{' '.join(app.scopes)}.",
        )
    return scopes


async def check_client(pool: asyncpg.Pool, query: dict[str, str]) -> tuple[OAuthApp, str]:
    """The app and the redirect_uri of an authorization request, or UnknownClient when
    the answer cannot go back to the app."""
    async with pool.acquire() as conn:
        client_id = query.get("client_id") or ""
        app = await q.get_app(conn, client_id) if client_id else None
    if app is None:
        raise UnknownClient(N_("This app is not registered on this node (unknown client_id)."))
    redirect_uri = query.get("redirect_uri") or ""
    if redirect_uri not in app.redirect_uris:
        # compared exactly (RFC 6749 3.1.2.3): a near match could send a code elsewhere
        raise UnknownClient(
            N_("The app asked to be sent back to an address it did not register (redirect_uri).")
        )
    return app, redirect_uri


def check_request(app: OAuthApp, redirect_uri: str, query: dict[str, str]) -> AuthorizationRequest:
    """The rest of the request, for an app and redirect_uri already checked: OAuthError
    for what the app must hear about at its redirect_uri."""
    if query.get("response_type") != "code":
        raise OAuthError("unsupported_response_type", "response_type must be code.")
    scopes = requested_scopes(app, query.get("scope") or query.get("scopes"))
    return AuthorizationRequest(
        app, redirect_uri, scopes, query.get("state") or None, _challenge(query)
    )


def _challenge(query: dict[str, str]) -> str | None:
    challenge, method = query.get("code_challenge"), query.get("code_challenge_method")
    if not challenge:
        if method:
            raise OAuthError("invalid_request", "code_challenge_method without code_challenge.")
        return None
    if method != "S256":
        # `plain` (and no method, which means plain) hands the verifier to whoever sees
        # the URL; Mastodon 4.3 accepts S256 only
        raise OAuthError("invalid_request", "code_challenge_method must be S256.")
    if not _CHALLENGE.match(challenge):
        raise OAuthError("invalid_request", "code_challenge is not an S256 challenge.")
    return challenge


async def granted_before(
    pool: asyncpg.Pool, request: AuthorizationRequest, account: Account
) -> bool:
    """Whether the resident already let this app do all it asks now (a token of theirs
    for it has every scope asked): then the consent page is not shown again, as Mastodon
    skips it, unless the app asks for it (`force_login`)."""
    async with pool.acquire() as conn:
        return await q.holds_token_for(conn, account.id, request.app.id, request.scopes)


async def create_code(pool: asyncpg.Pool, request: AuthorizationRequest, account: Account) -> str:
    """A code for what the resident authorised (shown once, kept hashed)."""
    code = new_secret()
    async with pool.acquire() as conn, conn.transaction():
        await q.delete_expired_codes(conn)
        await q.insert_code(
            conn, hash_secret(code), request.app.id, account.id, request.redirect_uri,
            request.scopes, request.code_challenge, CODE_LIFETIME,
        )  # fmt: skip
    return code


def _bad_grant(description: str) -> OAuthError:
    return OAuthError("invalid_grant", description)


async def exchange_code(
    pool: asyncpg.Pool, app: OAuthApp, code: str, redirect_uri: str, verifier: str | None
) -> IssuedToken:
    """The token for a code: once, by the app it was made for, with the same redirect_uri
    and, when the code was asked for with a challenge, the verifier that matches it.

    Any try uses the code up, a refused one too (a code is a one-time thing). A code used a
    second time also ends the token it gave (RFC 6749 4.1.2): it was seen by someone else."""
    async with pool.acquire() as conn:
        async with conn.transaction():
            found = await q.take_code(conn, hash_secret(code)) if code else None
            if found is not None and found.app_id == app.id and found.used_at is not None:
                await q.delete_token_of_code(conn, found.id)
            refusal = _refusal(found, app, redirect_uri, verifier)
            if refusal is None:
                assert found is not None
                refusal = await _still_active(conn, found.account_id)
            if refusal is None:
                issued = await new_token(conn, app.id, found.account_id, found.scopes)
                await q.link_token(conn, found.id, issued.token_id)
                return issued
        raise refusal


def _refusal(
    found: q.AuthorizationCode | None, app: OAuthApp, redirect_uri: str, verifier: str | None
) -> OAuthError | None:
    if found is None or found.app_id != app.id:
        return _bad_grant("The authorization code is not valid.")
    if found.used_at is not None:
        return _bad_grant("The authorization code was used already.")
    if found.expired:
        return _bad_grant("The authorization code has expired.")
    if redirect_uri != found.redirect_uri:
        return _bad_grant("redirect_uri is not the one the code was asked for.")
    if found.code_challenge is not None and not verifier_matches(verifier, found.code_challenge):
        return _bad_grant("code_verifier does not match the code_challenge.")
    return None


async def _still_active(conn: asyncpg.Connection, account_id: int) -> OAuthError | None:
    account = await accounts_q.get_account(conn, account_id)
    if account is None or not account.is_active:
        return _bad_grant("The account that authorised the app cannot use the node.")
    return None


def verifier_matches(verifier: str | None, challenge: str) -> bool:
    if not verifier or not _VERIFIER.match(verifier):
        return False
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return hmac.compare_digest(expected, challenge)


async def client_credentials(pool: asyncpg.Pool, app: OAuthApp, scope: str | None) -> IssuedToken:
    """The app's own token (no resident): for what apps read before anyone logs in."""
    scopes = requested_scopes(app, scope)
    async with pool.acquire() as conn:
        return await new_token(conn, app.id, None, scopes)


async def password_grant(
    pool: asyncpg.Pool,
    settings: Settings,
    app: OAuthApp,
    login: str,
    password: str,
    scope: str | None,
    address: str,
) -> IssuedToken:
    """A resident's token for their name (or e-mail address, which Mastodon asks for) and
    password, when the node allows it: through the same check as the login page, so the
    same throttling applies."""
    if not settings.oauth_password_grant:
        raise OAuthError(
            "unsupported_grant_type",
            "This node does not take passwords from apps; log in through the authorize page.",
        )
    scopes = requested_scopes(app, scope)
    username = await _username_for(pool, login)
    try:
        account = await accounts.authenticate(pool, username, password, address)
    except RateLimited as exc:
        raise OAuthError("invalid_grant", str(exc), status=429) from None
    except NotAllowed as exc:
        raise _bad_grant(str(exc)) from None
    async with pool.acquire() as conn:
        return await new_token(conn, app.id, account.id, scopes)


async def _username_for(pool: asyncpg.Pool, login: str) -> str:
    if "@" not in login.strip("@"):
        return login
    async with pool.acquire() as conn:
        found = await accounts_q.get_by_email(conn, login.strip().lower())
    return found.username if found else login
