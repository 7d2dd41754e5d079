"""Moderators suspend a remote person, and lift it.

Suspended, a remote person's activities are refused at the inbox with 403 and a reason
(`db.inbox.insert_items` reads `suspended_actors` in the statement that stores an
activity), and what they had here goes, in the transaction that suspends them: their
listings and notes, their likes and announces, their answers and messages (each
conversation they were in closes with a line that says why, as when they delete their
account), the mentions of residents they wrote, and follows either way (their node gets a
Reject of each of their follows, as Mastodon sends). Lifting the suspension lets their
activities in again; what went stays gone, as in Mastodon, whose
suspension of a remote account also ends its follows for good.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from commonsfed.ap.activities import reject_to_ap
from commonsfed.ap.uris import LocalUris
from commonsfed.config import Settings
from commonsfed.db import actors as actors_q
from commonsfed.db import answers as answers_q
from commonsfed.db import follows as follows_q
from commonsfed.db import moderation as q
from commonsfed.db import objects as objects_q
from commonsfed.federation import outbox
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Account
from commonsfed.services import answers, moderation_log
from commonsfed.services.account_actions import check_moderator, check_reason
from commonsfed.services.errors import NotAllowed, ValidationError

MAX_URI = 2048


@dataclass(frozen=True)
class RemotePerson:
    """What the moderators' page shows of a remote person."""

    uri: str
    cached: asyncpg.Record | None  # None: never cached here (or forgotten)
    suspended_at: datetime | None
    objects: int
    answers: int
    messages: int
    follows: int

    @property
    def content(self) -> int:
        return self.objects + self.answers + self.messages + self.follows


def check_uri(settings: Settings, uri: str) -> str:
    uri = (uri or "").strip()
    if not uri.startswith(("https://", "http://")) or len(uri) > MAX_URI or " " in uri:
        raise ValidationError({"uri": Text(N_("Give the person's id: an https:// address."))})
    if LocalUris(settings.base_url).is_local(uri):
        raise ValidationError({"uri": Text(N_("This is a resident here: see their account page."))})
    return uri


async def person(pool: asyncpg.Pool, settings: Settings, uri: str) -> RemotePerson:
    uri = check_uri(settings, uri)
    async with pool.acquire() as conn:
        counts = await q.actor_content(conn, uri)
        return RemotePerson(
            uri, await q.cached_actor(conn, uri), await q.actor_suspended_at(conn, uri),
            **dict(counts),
        )  # fmt: skip


async def suspend(
    pool: asyncpg.Pool, settings: Settings, moderator: Account, uri: str, reason: str
) -> None:
    """Suspend the remote person `uri` for `reason` (see the module's docstring)."""
    check_moderator(moderator)
    uri, reason = check_uri(settings, uri), check_reason(reason)
    async with pool.acquire() as conn, conn.transaction():
        if not await q.suspend_actor(conn, uri, moderator.id):
            raise NotAllowed(Text(N_("%(uri)s is suspended already."), uri=uri))
        counts = dict(await q.actor_content(conn, uri))
        await remove_content(conn, settings, uri)
        await moderation_log.record(conn, moderator, "suspend", "remote_actor", uri, reason,
                                    {"removed": sum(counts.values())})  # fmt: skip


async def unsuspend(
    pool: asyncpg.Pool, settings: Settings, moderator: Account, uri: str, reason: str
) -> None:
    check_moderator(moderator)
    uri, reason = check_uri(settings, uri), check_reason(reason)
    async with pool.acquire() as conn, conn.transaction():
        if not await q.unsuspend_actor(conn, uri):
            raise NotAllowed(Text(N_("%(uri)s is not suspended."), uri=uri))
        await moderation_log.record(conn, moderator, "unsuspend", "remote_actor", uri, reason)


async def remove_content(conn: asyncpg.Connection, settings: Settings, uri: str) -> None:
    """What the person had here, in the caller's transaction: as their own Delete of
    themselves would take it (services.answer_inbox), but the cached actor stays."""
    cached = await actors_q.get_remote_actor(conn, uri)
    name = cached.handle if cached is not None and cached.preferred_username else uri
    for conv in await answers_q.conversations_of_actor(conn, uri):
        if conv.is_remote_listing:
            await answers.author_left(conn, settings, conv, name, answers.SUSPENDED)
        else:
            await answers.respondent_left(conn, settings, conv.id, name, answers.SUSPENDED)
    await _reject_follows(conn, settings, uri)
    await follows_q.remove_follows_of_actor(conn, uri)
    await q.delete_mentions_by(conn, uri)
    await objects_q.forget_actor_content(conn, uri)


async def _reject_follows(conn: asyncpg.Connection, settings: Settings, uri: str) -> None:
    """Tell their node that they no longer follow anyone here, as Mastodon does when it
    suspends a remote account (a Reject of each Follow), so it stops counting them as
    followers. Residents' follows of them go without a word: their node may go on
    delivering, and the inbox refuses it."""
    uris = LocalUris(settings.base_url)
    for row in await q.follows_by(conn, uri):
        if not uris.is_local(row["followed_uri"]) or row["activity_id"] is None:
            continue
        follow = {"id": row["activity_id"], "type": "Follow", "actor": uri,
                  "object": row["followed_uri"]}  # fmt: skip
        await outbox.publish(conn, settings, reject_to_ap(row["followed_uri"], follow, settings))
