"""Who signed an incoming request: parse the signature, find the key, verify.

The key comes from the cache; when it fails to verify, the actor is fetched again once,
since the remote may have rotated its key (INTEROP: re-fetch once, then refuse).
"""

from __future__ import annotations

from collections.abc import Mapping

from commonsfed import signatures
from commonsfed.ap.actors import RemoteActor
from commonsfed.federation.actors import actor_for_key
from commonsfed.federation.context import Federation
from commonsfed.federation.fetch import FetchError


class NotVerified(Exception):
    """The request is unsigned, badly signed, or its key cannot be had; a 401 with this text."""


async def verify_request(
    fed: Federation, method: str, raw_path: str, headers: Mapping[str, str], body: bytes | None
) -> RemoteActor:
    try:
        parsed = signatures.parse_signature(
            method,
            raw_path,
            headers,
            body,
            scheme=fed.settings.scheme,
            for_authority=fed.settings.domain,
        )
    except signatures.SignatureError as exc:
        raise NotVerified(str(exc)) from None
    actor = await _actor(fed, parsed.key_id, refresh=False)
    if _verifies(parsed, actor):
        return actor
    actor = await _actor(fed, parsed.key_id, refresh=True)
    if _verifies(parsed, actor):
        return actor
    raise NotVerified("signature does not verify")


async def _actor(fed: Federation, key_id: str, refresh: bool) -> RemoteActor:
    try:
        return await actor_for_key(fed, key_id, refresh=refresh)
    except FetchError as exc:
        raise NotVerified(f"cannot get the key {key_id}: {exc}") from None


def _verifies(parsed: signatures.ParsedSignature, actor: RemoteActor) -> bool:
    try:
        signatures.verify_signature(parsed, signatures.public_key_from_pem(actor.public_key_pem))
    except signatures.SignatureError:
        return False
    return True
