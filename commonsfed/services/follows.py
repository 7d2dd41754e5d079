"""Following: residents follow remote actors, neighbourhoods follow each other.

Remote actors are looked up (fetched, verified, cached) before the transaction, so the
transaction only writes: the follow row, the activity and its deliveries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from commonsfed.ap import activities as ap_activities
from commonsfed.ap.actors import RemoteActor
from commonsfed.config import HOST_RE
from commonsfed.db import activities as activities_q
from commonsfed.db import actors as actors_q
from commonsfed.db import api_notifications as api_notes_q
from commonsfed.db import follows as follows_q
from commonsfed.federation import outbox
from commonsfed.federation.actors import ActorUnavailable, lookup
from commonsfed.federation.context import Federation
from commonsfed.federation.fetch import FetchError
from commonsfed.federation.nodeinfo import fetch_nodeinfo, on_domain
from commonsfed.models import Account
from commonsfed.services import domains
from commonsfed.services.errors import NotAllowed, ValidationError


def resident_uri(fed: Federation, account: Account) -> str:
    return fed.uris.user(account.username)


FOLLOWS_PAGE = 100


@dataclass(frozen=True)
class Person:
    uri: str
    label: str  # @name@host when the actor is cached, else its URI
    state: str


@dataclass(frozen=True)
class PeopleList:
    people: list[Person]
    older: int | None  # the cursor of the next (older) page, None on the last


@dataclass(frozen=True)
class FollowsView:
    following: PeopleList
    followers: PeopleList
    requests: PeopleList  # followers waiting for approval


async def follows_view(
    fed: Federation,
    account: Account,
    *,
    following_before: int | None = None,
    followers_before: int | None = None,
    requests_before: int | None = None,
) -> FollowsView:
    """A resident's follows page: three lists, each paged on its own, newest first."""
    me = resident_uri(fed, account)
    async with fed.pool.acquire() as conn:

        async def page(direction: str, states: tuple[str, ...], before: int | None) -> PeopleList:
            rows = await actors_q.follow_list(conn, me, direction, states=states, before=before,
                                              limit=FOLLOWS_PAGE + 1)
            shown = rows[:FOLLOWS_PAGE]
            older = shown[-1]["id"] if len(rows) > FOLLOWS_PAGE else None
            return PeopleList([_person(row) for row in shown], older)

        return FollowsView(
            following=await page("following", ("accepted", "pending"), following_before),
            followers=await page("followers", ("accepted",), followers_before),
            requests=await page("followers", ("pending",), requests_before),
        )


def _person(row) -> Person:
    label = (f"@{row['preferred_username']}@{row['domain']}" if row["preferred_username"]
             else row["uri"])
    return Person(row["uri"], label, row["state"])


def group_uri(fed: Federation) -> str:
    return fed.uris.user(fed.settings.neighbourhood_handle)


async def _remote(fed: Federation, target: str, field: str = "handle") -> RemoteActor:
    try:
        remote = await lookup(fed, target)
    except (FetchError, ActorUnavailable) as exc:
        raise ValidationError({field: f"Could not find {target}: {exc}"}) from None
    if fed.uris.is_local(remote.uri):
        raise ValidationError({field: "That account is on this node."})
    return remote


async def follow(fed: Federation, follower_uri: str, target: str) -> RemoteActor:
    """`follower_uri` (a local actor) asks to follow `target` (a handle or actor URL)."""
    remote = await _remote(fed, target)
    async with fed.pool.acquire() as conn, conn.transaction():
        if await follows_q.get_follow(conn, follower_uri, remote.uri):
            raise ValidationError({"handle": f"You already follow {remote.handle}, or asked to."})
        activity = ap_activities.follow_to_ap(follower_uri, remote.uri, fed.settings)
        await follows_q.upsert_follow(conn, follower_uri, remote.uri, "pending", activity["id"])
        await outbox.publish(conn, fed.settings, activity)
    return remote


async def unfollow(fed: Federation, follower_uri: str, followed_uri: str) -> None:
    async with fed.pool.acquire() as conn, conn.transaction():
        row = await follows_q.get_follow(conn, follower_uri, followed_uri)
        if row is None:
            raise NotAllowed("You do not follow this account.")
        original = await _follow_activity(conn, row, follower_uri, followed_uri)
        await follows_q.remove_follow(conn, follower_uri, followed_uri)
        undo = ap_activities.undo_to_ap(follower_uri, original, fed.settings)
        await outbox.publish(conn, fed.settings, undo)


async def _follow_activity(conn, row, follower_uri: str, followed_uri: str) -> dict[str, Any]:
    stored = await activities_q.get_activity(conn, row["activity_id"]) if row["activity_id"] else None
    return stored or {"id": row["activity_id"], "type": "Follow", "actor": follower_uri,
                      "object": followed_uri}


def _received_follow(row, follower_uri: str, followed_uri: str) -> dict[str, Any]:
    """The Follow a peer sent, as its answer must name it (Mastodon matches it by id)."""
    return {"id": row["activity_id"], "type": "Follow", "actor": follower_uri,
            "object": followed_uri}


async def approve_follower(fed: Federation, followed_uri: str, follower_uri: str) -> None:
    """A resident who approves followers by hand lets one in: Accept goes out."""
    async with fed.pool.acquire() as conn, conn.transaction():
        await approve_in(conn, fed, followed_uri, follower_uri)


async def approve_in(conn, fed: Federation, followed_uri: str, follower_uri: str) -> None:
    """`approve_follower` in the caller's transaction."""
    row = await follows_q.get_follow(conn, follower_uri, followed_uri)
    if row is None or row["state"] != "pending":
        raise NotAllowed("There is no such follow request.")
    await follows_q.accept_follow(conn, follower_uri, followed_uri)
    await _request_answered(fed, conn, followed_uri, follower_uri)
    accept = ap_activities.accept_to_ap(
        followed_uri, _received_follow(row, follower_uri, followed_uri), fed.settings)
    await outbox.publish(conn, fed.settings, accept)


async def reject_follower(fed: Federation, followed_uri: str, follower_uri: str) -> None:
    async with fed.pool.acquire() as conn, conn.transaction():
        await reject_in(conn, fed, followed_uri, follower_uri)


async def reject_in(conn, fed: Federation, followed_uri: str, follower_uri: str) -> None:
    """`reject_follower` in the caller's transaction: the follow goes, Reject goes out."""
    row = await follows_q.get_follow(conn, follower_uri, followed_uri)
    if row is None:
        raise NotAllowed("There is no such follower.")
    await follows_q.remove_follow(conn, follower_uri, followed_uri)
    await _request_answered(fed, conn, followed_uri, follower_uri)
    reject = ap_activities.reject_to_ap(
        followed_uri, _received_follow(row, follower_uri, followed_uri), fed.settings)
    await outbox.publish(conn, fed.settings, reject)


async def _request_answered(fed: Federation, conn, followed_uri: str, follower_uri: str) -> None:
    """The follow request's notification goes once it is answered, as on Mastodon (the
    apps' list of requests is where it was answered)."""
    name = fed.uris.local_username(followed_uri)
    if name:
        await api_notes_q.delete_follow(conn, name, follower_uri, ("follow_request",))


# --- Neighbourhoods joining each other ---------------------------------------------------


async def neighbourhood_of(fed: Federation, domain_or_handle: str) -> RemoteActor:
    """The Group actor of another node: by handle, or by the domain's NodeInfo."""
    if "@" in domain_or_handle:
        return await _remote(fed, domain_or_handle, "domain")
    domain = domain_or_handle.strip().lower()
    try:
        info = await fetch_nodeinfo(fed, domain)
    except FetchError as exc:
        raise ValidationError({"domain": f"{domain} did not answer NodeInfo: {exc}"}) from None
    actor_uri = (info.get("metadata") or {}).get("neighbourhood")
    if not isinstance(actor_uri, str):
        raise ValidationError({"domain": f"{domain} does not name a neighbourhood actor"})
    if not on_domain(actor_uri, domain):
        # else any node could make ours follow (and, in allow-list mode, hear) a third one
        raise ValidationError({"domain": f"{domain} names a neighbourhood on another host"})
    return await _remote(fed, actor_uri, "domain")


async def federate(fed: Federation, domain_or_handle: str) -> RemoteActor:
    """This neighbourhood's Group actor follows the other's; in allow-list mode the domain
    is allowed too (an admin who federates with a node means to hear from it)."""
    if fed.settings.federation == "allowlist":
        # refused for a blocked domain: federating never lifts a block by the way
        await domains.allow_domain(fed.pool, fed.settings, None, _domain(domain_or_handle),
                                   "federated")  # fmt: skip
    remote = await neighbourhood_of(fed, domain_or_handle)
    await follow(fed, group_uri(fed), remote.uri)
    return remote


async def unfederate(fed: Federation, domain_or_handle: str) -> RemoteActor:
    remote = await neighbourhood_of(fed, domain_or_handle)
    await unfollow(fed, group_uri(fed), remote.uri)
    return remote


def _domain(domain_or_handle: str) -> str:
    domain = domain_or_handle.strip().lower().rpartition("@")[2]
    if not HOST_RE.match(domain):
        raise ValidationError({"domain": f"{domain_or_handle!r} is not a domain like "
                                         "commons.example.org"})
    return domain
