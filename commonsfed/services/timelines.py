"""Timelines for the client API: home, public, a tag's, and a resident's messages.

Decisions:
- Every listing is a status, whatever its state (a completed or withdrawn one says so in its
  content), as Mastodon's timelines keep every post; removed listings and deleted remote
  objects are gone from the tables, and a tombstoned remote object never shows.
- Public: this neighbourhood's listings (`local`), other nodes' (`remote`), or both; the
  residents the moderators limited or suspended and the domains limited or suspended stay
  out, as they stay out of /explore, and the viewer's blocks, mutes and hidden domains too.
- Tag: a category: the listings here in that category and the listings from other nodes
  that carry the hashtag.
- Home: the resident's own listings, those of the residents and remote people they follow,
  every listing of the neighbourhoods they follow (a node's Group announces each public
  listing of its node, so following it is hearing every listing on its domain; following
  this node's own Group is hearing every local listing), and the messages of their
  conversations. A limited resident they follow still shows (Mastodon shows a limited
  account to its followers); a suspended one does not.
- One `Timeline` value says what a timeline reads, so the streaming API asks the same
  question of one new status ("would this timeline show it?") that a page answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import asyncpg

from commonsfed.config import Settings
from commonsfed.db import timelines as q
from commonsfed.db.timelines import Bounds, Sources
from commonsfed.models import Account
from commonsfed.services import statuses
from commonsfed.services.statuses import StatusView

TAG_LIMIT = 4  # `any[]` tags besides the path's, as Mastodon caps them


@dataclass(frozen=True)
class Timeline:
    """What a timeline reads, before the viewer's own lists are applied."""

    name: str  # home, public, tag, direct
    local: bool = True
    remote: bool = True
    tags: tuple[str, ...] | None = None
    all_tags: tuple[str, ...] = ()
    no_tags: tuple[str, ...] = ()
    only_media: bool = False


def public(*, local: bool = False, remote: bool = False, only_media: bool = False) -> Timeline:
    """`local`: this neighbourhood's listings only; `remote`: other nodes' only."""
    return Timeline("public", local=not remote or local, remote=not local or remote,
                    only_media=only_media)  # fmt: skip


def tag(
    names: Sequence[str],
    *,
    local: bool = False,
    only_media: bool = False,
    all_of: Sequence[str] = (),
    none_of: Sequence[str] = (),
) -> Timeline:
    """Statuses with any of `names` (the path's tag and `any[]`), all of `all_of` and none
    of `none_of`, as Mastodon's tag timeline reads `any[]`, `all[]` and `none[]`."""
    return Timeline(
        "tag", remote=not local, only_media=only_media, tags=_tags(names)[: TAG_LIMIT + 1],
        all_tags=_tags(all_of)[:TAG_LIMIT], no_tags=_tags(none_of)[:TAG_LIMIT],
    )  # fmt: skip


def _tags(names: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name.lstrip("#").lower() for name in names if name))


HOME = Timeline("home")
DIRECT = Timeline("direct", local=False, remote=False)


async def sources(
    conn: asyncpg.Connection, settings: Settings, timeline: Timeline, viewer: Account | None
) -> Sources:
    """The timeline as `viewer` reads it: with what they block, mute or hide left out."""
    users = f"{settings.base_url}/users/"
    home = timeline.name == "home"
    facts = await q.viewer_facts(
        conn, viewer.id if viewer else None,
        users + viewer.username if home and viewer else None,
        users, users + settings.neighbourhood_handle,
    )  # fmt: skip
    base = Sources(
        local=timeline.local, remote=timeline.remote, tags=timeline.tags,
        all_tags=timeline.all_tags, no_tags=timeline.no_tags,
        only_media=timeline.only_media, hidden_actors=facts.hidden.actors,
        hidden_domains=facts.hidden.domains,
    )  # fmt: skip
    if timeline.name == "direct":
        assert viewer is not None, "the direct timeline is a resident's"
        return replace(base, messages_of=viewer.id)
    if home:
        assert viewer is not None, "the home timeline is a resident's"
        return _home(base, facts, viewer)
    mine = {viewer.id} if viewer else set()
    out = (set(facts.hidden.accounts) | facts.limited | facts.suspended) - mine
    return replace(base, hidden_authors=tuple(sorted(out)))


def _home(base: Sources, facts: q.ViewerFacts, viewer: Account) -> Sources:
    blocked = set(facts.hidden.accounts) | facts.suspended
    residents = (set(facts.residents) | {viewer.id}) - blocked
    if facts.own_group:
        # every resident's, but the moderators' limited ones only when followed themselves
        authors, out = None, (blocked | facts.limited) - residents
    else:
        authors, out = tuple(sorted(residents)), blocked
    return replace(
        base, local_authors=authors, hidden_authors=tuple(sorted(out - {viewer.id})),
        remote_actors=facts.actors, remote_domains=facts.group_domains,
        public_place=False, messages_of=viewer.id,
    )  # fmt: skip


@dataclass(frozen=True)
class Page:
    views: list[StatusView]  # newest first


async def page(
    conn: asyncpg.Connection,
    settings: Settings,
    timeline: Timeline,
    viewer: Account | None,
    bounds: Bounds,
) -> Page:
    """One page of `timeline` as `viewer` sees it, built in a few batch queries."""
    found = await sources(conn, settings, timeline, viewer)
    ids = await q.page_ids(conn, found, bounds)
    views = await statuses.statuses_by_id(conn, settings, ids, viewer)
    return Page([views[status_id] for status_id in ids if status_id in views])


async def shows(
    conn: asyncpg.Connection,
    settings: Settings,
    timeline: Timeline,
    viewer: Account | None,
    status_id: int,
) -> StatusView | None:
    """The status with `status_id` when `timeline` shows it to `viewer`, else None: the
    same question a page answers, asked of one status (the streaming API)."""
    bounds = Bounds(below=status_id + 1, above=status_id - 1, limit=1)
    found = await page(conn, settings, timeline, viewer, bounds)
    return found.views[0] if found.views else None
