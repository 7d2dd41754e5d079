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
    hosts = await recipient_hosts(conn, settings, activity, list(extra_inboxes))
    await deliveries_q.insert_deliveries(conn, activity["id"], list(hosts), hosts)
    return sorted(hosts)


def _without_bcc(activity: dict[str, Any]) -> dict[str, Any]:
    # bto and bcc choose recipients; they are never shown to them
    return {key: value for key, value in activity.items() if key not in ("bto", "bcc")}


async def recipient_inboxes(
    conn: asyncpg.Connection, settings: Settings, activity: dict[str, Any], extra: list[str]
) -> list[str]:
    return sorted(await recipient_hosts(conn, settings, activity, extra))


async def recipient_hosts(
    conn: asyncpg.Connection, settings: Settings, activity: dict[str, Any], extra: list[str]
) -> dict[str, str]:
    """The inboxes `activity` goes to, each with its host. Each inbox is parsed once: a
    listing to followers on 2,000 hosts parsed them some 8,000 times, half the time its
    publishing took."""
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
    here = uris.host.lower()
    hosts = {inbox: domain_of(inbox) for inbox in inboxes}
    remote = {
        inbox: host
        for inbox, host in hosts.items()
        if not (host == here and inbox.startswith(uris.base))  # LocalUris.is_local
    }
    allowed = await allowed_domains(conn, settings, set(remote.values()))
    return {inbox: host for inbox, host in remote.items() if host in allowed}
