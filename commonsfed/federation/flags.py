"""A `Flag` from another server: a report for this node's moderators.

As Mastodon reads one (ActivityPub::Activity::Flag): a report is for the moderators of what
it names, so a Flag must name a resident, a listing or a message that is here (the other
URIs it names are kept as they came); the comment is its `content`; the reporter is the
Flag's actor, usually the other server's instance actor. A domain whose reports the admins
refuse (`domain_policies.reject_reports`) has its Flags dropped, as Mastodon drops them.
The inbox has already refused a Flag whose signer is not its actor, or whose id is on
another host than its actor.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from commonsfed.ap.reports import FlagError, flag_from_ap
from commonsfed.db import reports as q
from commonsfed.db.reports import NewReport
from commonsfed.federation.context import Federation
from commonsfed.federation.errors import Refused
from commonsfed.federation.policy import domain_of, rejects_reports


async def verify_flag(fed: Federation, activity: dict[str, Any]) -> NewReport | None:
    try:
        flag = flag_from_ap(activity)
    except FlagError as exc:
        raise Refused(str(exc)) from exc
    async with fed.pool.acquire() as conn:
        if await rejects_reports(conn, domain_of(activity["actor"])):
            return None
        named = [found for uri in flag.objects if (found := await _here(conn, fed, uri))]
    if not named:
        raise Refused("the Flag names nothing on this node")
    people = [actor for about, actor, _ in named if about == "person"]
    about, actor, extra = next(((a, p, e) for a, p, e in named if a != "person"), named[0])
    return NewReport(
        activity_uri=activity["id"], reporter_uri=activity["actor"], category="other",
        about=about, target_actor_uri=people[0] if people else actor,
        target_uris=flag.objects, content=flag.content, **extra,
    )  # fmt: skip


async def _here(conn: asyncpg.Connection, fed: Federation, uri: str) -> tuple | None:
    """(what it is, the person it is of, the report's columns that name it) for a resident,
    a listing or a sent message of this node; None for anything else."""
    if not fed.uris.is_local(uri):
        return None
    if (name := fed.uris.local_username(uri)) and (person := await q.local_person(conn, name)):
        return "person", fed.uris.user(person["username"]), {}
    if (uid := fed.uris.listing_uid(uri)) and (listing := await q.local_listing(conn, uid)):
        return ("listing", fed.uris.user(listing["author"]),
                {"listing_uid": uid, "quoted": listing["title"]})  # fmt: skip
    if message := await q.local_message_by_ap_id(conn, uri):
        return ("message", fed.uris.user(message["sender"]),
                {"message_id": message["id"], "quoted": message["body"]})  # fmt: skip
    return None


async def receive_flag(
    conn: asyncpg.Connection, fed: Federation, activity: dict[str, Any], report: NewReport
) -> None:
    await q.insert_report(conn, report)
