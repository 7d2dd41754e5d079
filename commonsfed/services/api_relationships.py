"""What a resident is to other accounts, for the client API: follows, blocks, mutes and
hidden domains, read in batches (a page of 40 accounts is a handful of queries) and changed
through the services that own them (services.follows federates a follow of a remote person
or another neighbourhood; services.blocks ends what a block ends).

Decisions:
- Residents follow each other, and their own neighbourhood's Group, without any activity:
  both ends live here, so the follows row is all there is (pending when the followed
  resident approves followers by hand, as a locked Mastodon account is asked).
- Following, unfollowing, blocking and their undoing are idempotent as in Mastodon: asking
  again answers the relationship as it stands.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import asyncpg

from commonsfed.db import api_accounts as q
from commonsfed.db import blocks as blocks_q
from commonsfed.db import follows as follows_q
from commonsfed.federation.context import Federation
from commonsfed.models import Account
from commonsfed.services import api_notifications, blocks, follows
from commonsfed.services.api_accounts import (
    AccountView,
    accounts_for_uris,
    group_uri,
    resident_uri,
)
from commonsfed.services.errors import NotAllowed, ValidationError

MAX_RELATIONSHIPS = 100  # ids in one relationships request, as far as they are read


class UnknownAccount(LookupError):
    """No account the node knows has this id (a deleted resident included)."""


@dataclass(frozen=True)
class RelationshipView:
    id: int
    following: bool = False
    showing_reblogs: bool = False  # a follow (or the request) shows what they boost
    followed_by: bool = False
    requested: bool = False
    requested_by: bool = False
    blocking: bool = False
    blocked_by: bool = False
    muting: bool = False
    domain_blocking: bool = False


@dataclass(frozen=True)
class Target:
    """The account an id names: its actor URI, and the resident behind it if any."""

    id: int
    uri: str
    resident: asyncpg.Record | None  # id, username, manually_approves_followers, status
    group: bool

    @property
    def suspended(self) -> bool:
        return self.resident is not None and self.resident["status"] == "suspended"

    @property
    def remote(self) -> bool:
        return self.resident is None and not self.group


@dataclass(frozen=True)
class AccountPage:
    """Accounts of a list, with the cursor of each (the list's own row id)."""

    accounts: list[AccountView]
    cursors: list[int]


def me(fed: Federation, account: Account) -> str:
    return resident_uri(fed.settings, account.username)


async def target(fed: Federation, api_id: int) -> Target:
    async with fed.pool.acquire() as conn:
        uris = await q.uris_of_ids(conn, fed.settings.base_url, group_uri(fed.settings), [api_id])
        if api_id not in uris:
            raise UnknownAccount(api_id)
        local = fed.uris.is_local(uris[api_id])
        resident = await q.resident_row(conn, api_id) if local else None
    uri = uris[api_id]
    return Target(api_id, uri, resident, uri == group_uri(fed.settings))


# --- reading ---------------------------------------------------------------------------------


async def relationships(
    fed: Federation, account: Account, ids: list[int]
) -> list[RelationshipView]:
    """The resident's relationship to each account these ids name, in their order; ids that
    name nobody are left out (as Mastodon leaves them out)."""
    mine = me(fed, account)
    settings = fed.settings
    async with fed.pool.acquire() as conn:
        uris = await q.uris_of_ids(conn, settings.base_url, group_uri(settings), ids)
        remote = [uri for uri in uris.values() if not fed.uris.is_local(uri)]
        local_ids = [each for each, uri in uris.items() if fed.uris.is_local(uri)]
        follows_rows = await q.follows_between(conn, mine, list(uris.values()))
        kept = await q.blocked_rows(conn, account.id, local_ids, remote)
        blocking_residents, blocking_actors = await q.blockers_of(
            conn, account.id, mine, local_ids, remote
        )
        domains = await q.hidden_domains_among(conn, account.id, [_domain(u) for u in remote])
    out = {(row["follower_uri"], row["followed_uri"]): row["state"] for row in follows_rows}
    kinds = {row["target_account_id"] or row["target_actor_uri"]: row["kind"] for row in kept}
    views = []
    for each in dict.fromkeys(ids):
        uri = uris.get(each)
        if uri is None:
            continue
        theirs, ours = out.get((uri, mine)), out.get((mine, uri))
        kind = kinds.get(each) or kinds.get(uri)
        views.append(RelationshipView(
            id=each, following=ours == "accepted", requested=ours == "pending",
            showing_reblogs=ours is not None,
            followed_by=theirs == "accepted", requested_by=theirs == "pending",
            blocking=kind == "block", muting=kind in ("block", "mute"),
            blocked_by=each in blocking_residents or uri in blocking_actors,
            domain_blocking=_domain(uri) in domains,
        ))  # fmt: skip
    return views


def _domain(uri: str) -> str:
    return (urlsplit(uri).hostname or "").lower()


async def relationship(fed: Federation, account: Account, api_id: int) -> RelationshipView:
    [view] = await relationships(fed, account, [api_id])
    return view


async def _accounts_in_order(conn, fed: Federation, rows) -> AccountPage:
    found = await accounts_for_uris(conn, fed.settings, [row["uri"] for row in rows])
    shown = [(found[row["uri"]], row["id"]) for row in rows if row["uri"] in found]
    return AccountPage([view for view, _ in shown], [cursor for _, cursor in shown])


async def follow_list(
    fed: Federation, api_id: int, direction: str, page, state: str = "accepted"
) -> AccountPage:
    """A page of the followers or the following of an account (accepted follows), newest
    follow first; `page` is an api.paging PageRequest. A suspended resident's are hidden,
    as Mastodon hides them."""
    found = await target(fed, api_id)
    if found.suspended:
        return AccountPage([], [])
    async with fed.pool.acquire() as conn:
        rows = await q.follow_page(
            conn, found.uri, direction, state, max_id=page.max_id, after=page.after,
            oldest_first=page.oldest_first, limit=page.limit,
        )  # fmt: skip
        rows = list(reversed(rows)) if page.oldest_first else rows
        return await _accounts_in_order(conn, fed, rows)


async def follow_requests(fed: Federation, account: Account, page) -> AccountPage:
    """Who asks to follow the resident (who approves followers by hand)."""
    return await follow_list(fed, account.id, "followers", page, state="pending")


async def blocked_list(fed: Federation, account: Account, kind: str, page) -> AccountPage:
    """The people the resident blocks (kind "block") or only mutes ("mute")."""
    async with fed.pool.acquire() as conn:
        rows = await q.blocked_page(
            conn, fed.settings.base_url, account.id, kind, max_id=page.max_id,
            after=page.after, oldest_first=page.oldest_first, limit=page.limit,
        )  # fmt: skip
        rows = list(reversed(rows)) if page.oldest_first else rows
        return await _accounts_in_order(conn, fed, rows)


# --- following -------------------------------------------------------------------------------


async def follow(fed: Federation, account: Account, api_id: int) -> RelationshipView:
    """The resident follows the account: a resident here, their neighbourhood's Group, a
    person elsewhere or another neighbourhood (these two with a signed Follow)."""
    found = await target(fed, api_id)
    mine = me(fed, account)
    if found.uri == mine:
        raise NotAllowed("You cannot follow yourself.")
    if found.remote:
        async with fed.pool.acquire() as conn:
            known = await follows_q.get_follow(conn, mine, found.uri)
        if known is None:
            await follows.follow(fed, mine, found.uri)
        return await relationship(fed, account, api_id)
    if found.suspended:
        raise NotAllowed("This account is suspended.")
    async with fed.pool.acquire() as conn, conn.transaction():
        if found.resident is not None and await blocks_q.blocks_account(
            conn, found.resident["id"], account.id
        ):
            raise NotAllowed("This resident does not let you follow them.")
        if await follows_q.get_follow(conn, mine, found.uri) is None:
            waits = found.resident is not None and found.resident["manually_approves_followers"]
            state = "pending" if waits else "accepted"
            await follows_q.upsert_follow(conn, mine, found.uri, state, None)
            if found.resident is not None:  # the Group is told of nobody
                await api_notifications.follow_received(
                    conn, found.resident["username"], mine, pending=waits
                )
    return await relationship(fed, account, api_id)


async def unfollow(fed: Federation, account: Account, api_id: int) -> RelationshipView:
    """The follow (or the request) ends; an Undo goes to a remote account."""
    found = await target(fed, api_id)
    mine = me(fed, account)
    async with fed.pool.acquire() as conn, conn.transaction():
        known = await follows_q.get_follow(conn, mine, found.uri)
        if known is not None and not found.remote:
            await follows_q.remove_follow(conn, mine, found.uri)
            if found.resident is not None:
                await api_notifications.follow_ended(conn, found.resident["username"], mine)
    if known is not None and found.remote:
        await follows.unfollow(fed, mine, found.uri)
    return await relationship(fed, account, api_id)


async def answer_request(
    fed: Federation, account: Account, api_id: int, accept: bool
) -> RelationshipView:
    """The resident lets a follower in, or turns them away (an Accept or Reject goes to a
    remote one)."""
    found = await target(fed, api_id)
    mine = me(fed, account)
    async with fed.pool.acquire() as conn:
        row = await follows_q.get_follow(conn, found.uri, mine)
    if row is None or row["state"] != "pending":
        raise UnknownAccount(api_id)  # no such request: Mastodon answers 404
    if found.remote:
        answer = follows.approve_follower if accept else follows.reject_follower
        await answer(fed, mine, found.uri)
    else:
        async with fed.pool.acquire() as conn, conn.transaction():
            if accept:
                await follows_q.accept_follow(conn, found.uri, mine)
            else:
                await follows_q.remove_follow(conn, found.uri, mine)
            # the request is answered: its notification goes, as a remote one's does
            await api_notifications.follow_ended(conn, account.username, found.uri)
    return await relationship(fed, account, api_id)


# --- blocking and muting ---------------------------------------------------------------------


def _who(found: Target) -> str:
    """How services.blocks is told whom: a resident's handle, a remote actor's URI."""
    if found.group:
        raise ValidationError({"who": "The neighbourhood cannot be blocked or muted."})
    return f"@{found.resident['username']}" if found.resident is not None else found.uri


async def block(fed: Federation, account: Account, api_id: int, kind: str) -> RelationshipView:
    """Block (kind "block") or mute ("mute") the account, through services.blocks."""
    found = await target(fed, api_id)
    if found.resident is not None and found.resident["id"] == account.id:
        raise ValidationError({"who": f"That is you: you cannot {kind} yourself."})
    action = blocks.block if kind == "block" else blocks.mute
    async with fed.pool.acquire() as conn:
        existing = await blocks_q.find_blocked(conn, account.id, **_target_keys(found))
    if existing is None or (kind == "block" and existing.kind != "block"):
        await action(fed, account, _who(found))
    return await relationship(fed, account, api_id)


async def unblock(fed: Federation, account: Account, api_id: int, kind: str) -> RelationshipView:
    """Unblock (kind "block") or unmute ("mute"); a block is not lifted by unmuting."""
    found = await target(fed, api_id)
    async with fed.pool.acquire() as conn:
        existing = await blocks_q.find_blocked(conn, account.id, **_target_keys(found))
    if existing is not None and existing.kind == kind:
        await blocks.undo(fed, account, existing.id)
    return await relationship(fed, account, api_id)


def _target_keys(found: Target) -> dict:
    if found.resident is not None:
        return {"target_account_id": found.resident["id"]}
    return {"target_actor_uri": found.uri}


# --- hidden domains --------------------------------------------------------------------------


async def hidden_domains(pool: asyncpg.Pool, account: Account) -> list[str]:
    async with pool.acquire() as conn:
        return [row["domain"] for row in await blocks_q.hidden_domains(conn, account.id)]


async def hide_domain(fed: Federation, account: Account, text: str) -> None:
    domain = blocks.read_domain(fed, text)
    if domain not in await hidden_domains(fed.pool, account):
        await blocks.hide_domain(fed, account, domain)


async def show_domain(fed: Federation, account: Account, text: str) -> None:
    domain = blocks.read_domain(fed, text)
    if domain in await hidden_domains(fed.pool, account):
        await blocks.show_domain(fed.pool, account, domain)
