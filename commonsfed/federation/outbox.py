"""Publishing: an activity and its deliveries, written in the caller's transaction.

Recipients come from the activity's addressing: the local actor's followers collection
becomes its followers' inboxes, a remote actor its inbox (it must be cached: services look
actors up before they address them). One delivery per unique inbox, shared inbox first;
domains this node does not federate with get nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from commonsfed.ap.jsonld import as_list
from commonsfed.ap.uris import AS_PUBLIC, LocalUris
from commonsfed.config import Settings
from commonsfed.db import activities as activities_q
from commonsfed.db import deliveries as deliveries_q
from commonsfed.db import follows as follows_q
from commonsfed.federation.policy import allowed_domains, domain_of

_ADDRESSING = ("to", "cc", "bto", "bcc", "audience")


def new_activity_id(settings: Settings) -> str:
    return f"{settings.base_url}/activities/{uuid.uuid4()}"


def is_public(activity: dict[str, Any]) -> bool:
    return any(AS_PUBLIC in as_list(activity.get(key)) for key in ("to", "cc"))


async def publish(
    conn: asyncpg.Connection,
    settings: Settings,
    activity: dict[str, Any],
    *,
    extra_inboxes: list[str] = (),
) -> list[str]:
    """Store `activity` (which has id, type, actor and addressing) and queue its deliveries.
    Returns the inboxes it will go to. Call inside the service's transaction."""
    object_id = activity.get("object")
    object_id = object_id.get("id") if isinstance(object_id, dict) else object_id
    await activities_q.insert_activity(
        conn,
        uri=activity["id"],
        actor_uri=activity["actor"],
        type=activity["type"],
        object_uri=object_id if isinstance(object_id, str) else None,
        public=is_public(activity),
        document=_without_bcc(activity),
    )
    inboxes = await recipient_inboxes(conn, settings, activity, list(extra_inboxes))
    await deliveries_q.insert_deliveries(conn, activity["id"], inboxes)
    return inboxes


def _without_bcc(activity: dict[str, Any]) -> dict[str, Any]:
    # bto and bcc choose recipients; they are never shown to them
    return {key: value for key, value in activity.items() if key not in ("bto", "bcc")}


async def recipient_inboxes(
    conn: asyncpg.Connection, settings: Settings, activity: dict[str, Any], extra: list[str]
) -> list[str]:
    uris = LocalUris(settings.base_url)
    addressed = {
        uri
        for key in _ADDRESSING
        for uri in as_list(activity.get(key))
        if isinstance(uri, str) and uri != AS_PUBLIC
    }
    inboxes = set(extra)
    for uri in addressed:
        if uri.endswith("/followers") and uris.is_local(uri):
            inboxes |= set(await follows_q.follower_inboxes(conn, uri.removesuffix("/followers")))
    remote = [uri for uri in addressed if not uris.is_local(uri)]
    inboxes |= set(await follows_q.actor_inboxes(conn, remote))
    remote_inboxes = [inbox for inbox in inboxes if not uris.is_local(inbox)]
    allowed = await allowed_domains(conn, settings, {domain_of(i) for i in remote_inboxes})
    return sorted(inbox for inbox in remote_inboxes if domain_of(inbox) in allowed)
