"""Favourites and bookmarks of statuses, and what a viewer sees of them on every status.

- A favourite is a Like, kept in the reactions table like the Likes other servers send
  (keyed by the actor's and the object's URIs). A listing of this node: its author is
  notified (unless they favourited their own). A status from another server: a signed Like
  goes to its author's server, and an Undo when it is taken back, as Mastodon sends them.
- Messages are not favourited: they are a private conversation, not something to applaud.
- A bookmark is the resident's alone: nothing federates, nobody is told.
- Blocks apply as to answers: no favourite between people who block each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from commonsfed.ap.activities import like_to_ap, undo_to_ap
from commonsfed.config import Settings
from commonsfed.db import activities as activities_q
from commonsfed.db import favourites as q
from commonsfed.db import objects as objects_q
from commonsfed.db import statuses as statuses_q
from commonsfed.federation import outbox
from commonsfed.federation.context import Federation
from commonsfed.models import Account
from commonsfed.services import block_rules
from commonsfed.services.api_accounts import AccountView, accounts_for_uris, resident_uri
from commonsfed.services.errors import ValidationError
from commonsfed.services.statuses import StatusView

NOT_FAVOURITED = "Messages are private: only listings and posts can be favourited."


@dataclass(frozen=True)
class Flags:
    """What one viewer sees on a set of statuses: their own favourites and bookmarks, and
    the counts."""

    favourited: frozenset[int] = frozenset()
    bookmarked: frozenset[int] = frozenset()
    favourites: dict[int, int] | None = None
    replies: dict[int, int] | None = None


async def flags_for(
    conn: asyncpg.Connection,
    settings: Settings,
    views: Sequence[StatusView],
    viewer: Account | None,
) -> Flags:
    """Four queries for any number of statuses."""
    if not views:
        return Flags()
    uris = {view.uri: view.id for view in views}
    counts = await q.like_counts(conn, list(uris))
    favourites = {uris[uri]: count for uri, count in counts.items()}
    if viewer is None:
        return Flags(favourites=favourites)
    ids = [view.id for view in views]
    mine = await q.liked(conn, resident_uri(settings, viewer.username), list(uris))
    return Flags(
        favourited=frozenset(uris[uri] for uri in mine),
        bookmarked=frozenset(await q.bookmarked(conn, viewer.id, ids)),
        favourites=favourites,
        replies=await statuses_q.replies_counts(conn, ids, viewer.id),
    )


# --- favourites ----------------------------------------------------------------------------


async def favourite(fed: Federation, account: Account, view: StatusView) -> None:
    """`account` favourites the status `view` (once; again changes nothing)."""
    if view.conversation_id is not None:
        raise ValidationError({"id": NOT_FAVOURITED})
    settings, me = fed.settings, resident_uri(fed.settings, account.username)
    async with fed.pool.acquire() as conn, conn.transaction():
        await _check_blocks(conn, settings, account, view)
        if await objects_q.find_reaction(conn, "Like", me, view.uri) is not None:
            return
        if view.listing_uid is not None:
            await objects_q.insert_reaction(conn, outbox.new_activity_id(settings), "Like",
                                            me, view.uri)  # fmt: skip
            if view.account.id != account.id:
                await q.insert_favourite_notice(conn, view.listing_uid, me)
            return
        like = like_to_ap(me, view.uri, view.account.uri, settings,
                          new_id=outbox.new_activity_id)  # fmt: skip
        await objects_q.insert_reaction(conn, like["id"], "Like", me, view.uri)
        await outbox.publish(conn, settings, like)


async def _check_blocks(conn, settings: Settings, account: Account, view: StatusView) -> None:
    author = view.account
    if author.id == account.id:
        return
    if view.listing_uid is not None:
        await block_rules.check_account(conn, account, author.id, f"@{author.acct}")
    else:
        await block_rules.check_actor(conn, settings, account, author.uri, f"@{author.acct}")


async def unfavourite(fed: Federation, account: Account, view: StatusView) -> None:
    """Take a favourite back: an Undo of the Like where one went out."""
    settings, me = fed.settings, resident_uri(fed.settings, account.username)
    async with fed.pool.acquire() as conn, conn.transaction():
        row = await objects_q.find_reaction(conn, "Like", me, view.uri)
        if row is None:
            return
        await objects_q.delete_reaction(conn, row["activity_uri"], me)
        if view.listing_uid is not None:
            await q.delete_favourite_notice(conn, view.listing_uid, me)
            return
        sent = await activities_q.get_activity(conn, row["activity_uri"])
        if sent is not None:
            undo = undo_to_ap(me, sent, settings, new_id=outbox.new_activity_id)
            await outbox.publish(conn, settings, undo)


async def favourites_page(
    pool: asyncpg.Pool,
    settings: Settings,
    account: Account,
    page: tuple[int | None, int | None, int, bool],
) -> list[tuple[int, int]]:
    """(favourite id, status id) of the resident's favourites, page by page."""
    async with pool.acquire() as conn:
        return await q.favourites_page(
            conn, resident_uri(settings, account.username), settings.base_url, page
        )


async def favourited_by(
    pool: asyncpg.Pool, settings: Settings, view: StatusView, limit: int
) -> list[AccountView]:
    """Who favourited the status, the latest first (those the node knows)."""
    async with pool.acquire() as conn:
        uris = await q.likers(conn, view.uri, limit)
        found = await accounts_for_uris(conn, settings, set(uris))
    return [found[uri] for uri in uris if uri in found]


# --- bookmarks -----------------------------------------------------------------------------


async def bookmark(pool: asyncpg.Pool, account: Account, view: StatusView) -> None:
    async with pool.acquire() as conn:
        await q.add_bookmark(conn, account.id, view.id)


async def unbookmark(pool: asyncpg.Pool, account: Account, view: StatusView) -> None:
    async with pool.acquire() as conn:
        await q.remove_bookmark(conn, account.id, view.id)


async def bookmarks_page(
    pool: asyncpg.Pool, account: Account, page: tuple[int | None, int | None, int, bool]
) -> list[tuple[int, int]]:
    async with pool.acquire() as conn:
        return await q.bookmarks_page(conn, account.id, page)
