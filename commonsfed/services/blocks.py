"""Blocks, mutes and hidden domains: what a resident keeps away from themselves.

Decisions:
- A block ends every dealing between the two, whichever way it went: the blocked person's
  answers to the resident's listings are declined (the line moves on as a decline moves it,
  and the next in line is told), the resident's own answers to theirs are withdrawn (a
  conversation in which one side may no longer write is no use to either), follows both
  ways end, and neither may answer the other or write to the other from then on
  (services.block_rules). A remote person's node gets a `Block` from the resident, undone
  with `Undo(Block)` on unblocking; Mastodon and GoToSocial end the follows on their side
  when it arrives, and a commonsfed node stops its resident from answering the blocker.
- A mute only hides: the person's listings (on /explore, the home page, the feeds a
  resident reads while logged in) and their mentions. Nothing is sent anywhere. Blocked
  people are hidden the same way.
- One row per person: blocking someone muted turns the mute into a block; muting someone
  blocked is refused (unblock first), so a mute never silently lifts a block.
- A hidden domain hides all of its people's listings and mentions from the resident, as
  muting each of them would. It refuses nothing: answers from there still arrive.
- Residents may block or mute at most MAX_PEOPLE people and hide MAX_DOMAINS domains: the
  pages that leave them out carry the lists in their queries.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from commonsfed.ap.activities import block_to_ap, undo_to_ap
from commonsfed.ap.actors import RemoteActor
from commonsfed.config import HOST_RE
from commonsfed.db import accounts as accounts_q
from commonsfed.db import activities as activities_q
from commonsfed.db import api_notifications as api_notes_q
from commonsfed.db import blocks as q
from commonsfed.db import follows as follows_q
from commonsfed.db import notifications as notes_q
from commonsfed.db.answers import conversations_between
from commonsfed.db.blocks import Blocked, Hidden
from commonsfed.federation import outbox
from commonsfed.federation.actors import ActorUnavailable, get_actor, lookup
from commonsfed.federation.context import Federation
from commonsfed.federation.fetch import FetchError
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Account
from commonsfed.services import answers
from commonsfed.services.errors import NotAllowed, ValidationError

MAX_PEOPLE = 1000
MAX_DOMAINS = 200
HOW = N_("Enter a handle like @bob (here) or @maria@mastodon.social, or a profile's address.")


@dataclass(frozen=True)
class Person:
    """Whom a resident named: a resident of this node, or a remote actor (fetched, cached)."""

    account: Account | None
    actor: RemoteActor | None

    @property
    def label(self) -> str:
        return f"@{self.account.username}" if self.account else self.actor.handle

    @property
    def target(self) -> dict:
        """The keyword arguments that name them in db.blocks."""
        if self.account is not None:
            return {"target_account_id": self.account.id}
        return {"target_actor_uri": self.actor.uri}


# --- finding the person ----------------------------------------------------------------------


def _local_name(fed: Federation, who: str) -> str | None:
    """The username `who` names on this node ("@bob", "bob", "@bob@this.host", this node's
    address for bob), or None when it names someone elsewhere."""
    if who.startswith(("https://", "http://")):
        if not fed.uris.is_local(who):
            return None
        return fed.uris.local_username(who) or ""
    name, _, host = who.removeprefix("@").partition("@")
    if host and host.lower() != fed.settings.domain.lower():
        return None
    return name


async def find_person(fed: Federation, account: Account, who: str) -> Person:
    """The person `who` names, for `account` to block or mute; ValidationError (field
    "who") for nobody, for themselves, or for a remote actor that cannot be fetched."""
    who = who.strip()
    if not who or len(who) > 2048:
        raise ValidationError({"who": HOW})
    name = _local_name(fed, who)
    if name is not None:
        return Person(await _resident(fed, account, name), None)
    try:
        is_url = who.startswith(("https://", "http://"))
        actor = await get_actor(fed, who) if is_url else await lookup(fed, who)
    except (FetchError, ActorUnavailable) as exc:
        raise ValidationError(
            {"who": Text(N_("Could not find %(who)s: %(problem)s"), who=who, problem=str(exc))}
        ) from None
    return Person(None, actor)


async def _resident(fed: Federation, account: Account, name: str) -> Account:
    async with fed.pool.acquire() as conn:
        other = await accounts_q.get_by_username(conn, name) if name else None
    if other is None or other.is_pending:
        raise ValidationError(
            {"who": Text(N_("There is no one called @%(name)s here. Enter a handle like @bob (here) "
                            "or @maria@mastodon.social, or a profile's address."), name=name)}
        )
    if other.id == account.id:
        raise ValidationError({"who": N_("That is you: you cannot block or mute yourself.")})
    return other


# --- blocking and muting ---------------------------------------------------------------------


async def block(fed: Federation, account: Account, who: str) -> Person:
    """`account` blocks the person `who` names (see the module docstring)."""
    person = await find_person(fed, account, who)
    settings = fed.settings
    me = fed.uris.user(account.username)
    async with fed.pool.acquire() as conn, conn.transaction():
        await _check_room(conn, account, person)
        await q.upsert_blocked(conn, account.id, "block", **person.target)
        row = await q.find_blocked(conn, account.id, **person.target)
        if person.actor is not None and row.activity_uri is None:
            activity = block_to_ap(me, person.actor.uri, settings)
            await outbox.publish(conn, settings, activity)
            await q.set_block_activity(conn, row.id, activity["id"])
        other = fed.uris.user(person.account.username) if person.account else person.actor.uri
        await follows_q.remove_follows_between(conn, me, other)
        # their follow's notification goes with the follow (as Mastodon clears a blocked
        # account's notifications)
        await api_notes_q.delete_follow(conn, account.username, other,
                                        ("follow", "follow_request"))  # fmt: skip
        await _end_conversations(conn, fed, account, person)
        await _forget_mentions(conn, account, person)
    return person


async def _end_conversations(conn, fed: Federation, account: Account, person: Person) -> None:
    other_id = person.account.id if person.account else None
    other_uri = person.actor.uri if person.actor else None
    between = await conversations_between(
        conn, account.id, other_account_id=other_id, other_actor_uri=other_uri
    )
    for conv in between:
        if conv.author_id == account.id:
            await answers.decline_within(conn, fed.settings, account, conv.id)
        else:
            await answers.withdraw_within(conn, fed.settings, account, conv.id)


async def _forget_mentions(conn, account: Account, person: Person) -> None:
    if person.actor is not None:
        await notes_q.delete_mentions(conn, account.id, actor_uri=person.actor.uri)


async def mute(fed: Federation, account: Account, who: str) -> Person:
    """`account` mutes the person `who` names: their listings and mentions are hidden."""
    person = await find_person(fed, account, who)
    async with fed.pool.acquire() as conn, conn.transaction():
        existing = await q.find_blocked(conn, account.id, **person.target)
        if existing is not None and existing.kind == "block":
            raise ValidationError(
                {"who": Text(N_("You block %(who)s, which hides them already. Unblock them first if "
                                "you only want to mute them."), who=person.label)}
            )  # fmt: skip
        await _check_room(conn, account, person)
        await q.upsert_blocked(conn, account.id, "mute", **person.target)
        await _forget_mentions(conn, account, person)
    return person


async def _check_room(conn, account: Account, person: Person) -> None:
    if await q.find_blocked(conn, account.id, **person.target) is not None:
        return  # one row per person: changing its kind takes no room
    if await q.count_people(conn, account.id) >= MAX_PEOPLE:
        raise ValidationError(
            {"who": Text(N_("You block or mute %(limit)s people already, as many as one can. "
                            "Unblock or unmute someone first."), limit=f"{MAX_PEOPLE:,}")}
        )  # fmt: skip


async def undo(fed: Federation, account: Account, row_id: int) -> Blocked:
    """Unblock or unmute; a remote person unblocked gets an `Undo` of the Block."""
    async with fed.pool.acquire() as conn, conn.transaction():
        row = await q.get_blocked(conn, account.id, row_id)
        if row is None or not await q.delete_blocked(conn, account.id, row_id):
            raise NotAllowed(N_("You do not block or mute this person (any more)."))
        sent = await activities_q.get_activity(conn, row.activity_uri) if row.activity_uri else None
        if sent is not None:
            me = fed.uris.user(account.username)
            await outbox.publish(conn, fed.settings, undo_to_ap(me, sent, fed.settings))
    return row


# --- hidden domains --------------------------------------------------------------------------


def read_domain(fed: Federation, text: str) -> str:
    """The domain in what a resident typed ("mastodon.social", "@maria@mastodon.social",
    "https://mastodon.social/@maria"), or ValidationError (field "domain")."""
    value = text.strip().lower()
    if "://" in value:
        value = value.split("://", 1)[1].split("/", 1)[0]
    domain = value.rpartition("@")[2]
    if not domain or not HOST_RE.match(domain):
        raise ValidationError({"domain": N_("Enter a domain like mastodon.social.")})
    if domain == fed.settings.domain.lower():
        raise ValidationError(
            {"domain": N_("That is this neighbourhood. Mute or block people here one by one.")}
        )
    return domain


async def hide_domain(fed: Federation, account: Account, text: str) -> str:
    domain = read_domain(fed, text)
    async with fed.pool.acquire() as conn, conn.transaction():
        if await q.count_domains(conn, account.id) >= MAX_DOMAINS:
            raise ValidationError(
                {"domain": Text(N_("You hide %(limit)s domains already, as many as one can. "
                                  "Show one of them again first."), limit=MAX_DOMAINS)}
            )  # fmt: skip
        await q.hide_domain(conn, account.id, domain)
        await notes_q.delete_mentions(conn, account.id, domain=domain)
    return domain


async def show_domain(pool: asyncpg.Pool, account: Account, domain: str) -> None:
    async with pool.acquire() as conn:
        if not await q.show_domain(conn, account.id, domain.strip().lower()):
            raise NotAllowed(N_("You do not hide this domain (any more)."))


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlocksView:
    blocked: list[Blocked]
    muted: list[Blocked]
    domains: list[str]


async def blocks_view(pool: asyncpg.Pool, account: Account) -> BlocksView:
    async with pool.acquire() as conn:
        people = await q.blocked_list(conn, account.id)
        domains = await q.hidden_domains(conn, account.id)
    return BlocksView(
        blocked=[row for row in people if row.kind == "block"],
        muted=[row for row in people if row.kind == "mute"],
        domains=[row["domain"] for row in domains],
    )


async def hidden_for(pool: asyncpg.Pool, viewer: Account | None) -> Hidden:
    """What `viewer`'s pages leave out; nothing for a visitor (no query at all)."""
    if viewer is None:
        return Hidden()
    async with pool.acquire() as conn:
        return await q.hidden_for(conn, viewer.id)
