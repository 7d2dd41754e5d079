"""Thanks from other nodes, inbound (the Note's shape is in ap/thanks.py).

A `Create` of a Note with `thanksFor` is a thanks, never a mention or an answer; it is kept
(shown on the thanked resident's profile) only when:
- the Note is the sender's own (its id on the sender's host, `attributedTo` the sender);
- it mentions and addresses exactly one resident of this node;
- that resident and the sender completed an exchange about the listing `thanksFor` names
  (a conversation here in state `completed`), so nobody thanks a stranger onto a profile;
- the resident does not block the sender;
- it says something: its text is made plain (remote HTML is never shown as HTML) and cut to
  MAX_THANKS characters. One thanks per conversation and writer: another one is refused.
`Update` of that Note changes its text; `Delete` (by its writer) removes it.

`with_thanks(table)` puts these in front of the table's Create, Update and Delete of Notes,
which keep handling everything that is not a thanks (a Mastodon reply that mentions a
resident is still a mention).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from commonsfed.ap.activities import same_host, valid_uri
from commonsfed.ap.jsonld import first_id
from commonsfed.ap.thanks import ReceivedThanks, is_thanks, thanks_from_ap
from commonsfed.db import accounts as accounts_q
from commonsfed.db import answers as answers_q
from commonsfed.db import blocks as blocks_q
from commonsfed.db import thanks as q
from commonsfed.federation.answers import notify
from commonsfed.federation.context import Federation
from commonsfed.federation.errors import Refused
from commonsfed.federation.handlers import Handler

Table = Mapping[tuple[str, str | None], Handler]


@dataclass(frozen=True)
class NewThanks:
    conversation_id: int
    subject_id: int
    received: ReceivedThanks


@dataclass(frozen=True)
class ChangedThanks:
    thanks_id: int
    text: str | None  # None: removed


def _read(fed: Federation, activity: dict[str, Any]) -> ReceivedThanks:
    actor = activity["actor"]
    received = thanks_from_ap(activity["object"])
    if received is None:
        raise Refused("a thanks needs an id, attributedTo and thanksFor")
    if received.writer_uri != actor or not same_host(received.note_id, actor):
        raise Refused("a thanks is only accepted from the actor who wrote it, on its host")
    if not received.text:
        raise Refused("an empty thanks")
    return received


async def _subject(conn, fed: Federation, received: ReceivedThanks) -> int:
    local = {name for uri in received.subject_uris if (name := fed.uris.local_username(uri))}
    if len(local) != 1:
        raise Refused("a thanks mentions and addresses exactly one resident of this node")
    account = await accounts_q.get_by_username(conn, local.pop())
    if account is None:
        raise Refused("the thanked resident does not live here")
    return account.id


async def verify_create_thanks(fed: Federation, activity: dict[str, Any]) -> NewThanks | None:
    received = _read(fed, activity)
    async with fed.pool.acquire() as conn:
        known = await q.thanks_by_ap_id(conn, received.note_id)
        if known is not None:
            return None  # the same Create twice
        subject_id = await _subject(conn, fed, received)
        conversation_id = await q.completed_exchange(
            conn, received.listing_uri, fed.uris.listing_uid(received.listing_uri),
            received.writer_uri, subject_id,
        )  # fmt: skip
        if conversation_id is None:
            raise Refused("no completed exchange between the writer and the thanked resident")
        if await blocks_q.blocks_actor(conn, subject_id, received.writer_uri):
            return None
    return NewThanks(conversation_id, subject_id, received)


async def receive_new_thanks(
    conn: asyncpg.Connection, fed: Federation, activity: dict[str, Any], plan: NewThanks
) -> None:
    stored = await q.insert_thanks(
        conn, plan.conversation_id, body=plan.received.text, ap_id=plan.received.note_id,
        writer_actor_uri=plan.received.writer_uri, subject_account_id=plan.subject_id,
    )  # fmt: skip
    if stored is None:
        raise Refused("this writer thanked for this exchange already")
    conv = await answers_q.get_conversation(conn, plan.conversation_id)
    await notify(conn, plan.subject_id, "thanks", conv)


async def verify_update_thanks(fed: Federation, activity: dict[str, Any]) -> ChangedThanks | None:
    received = _read(fed, activity)
    async with fed.pool.acquire() as conn:
        known = await q.thanks_by_ap_id(conn, received.note_id)
    if known is None:
        return None  # never had it
    if known.writer_actor_uri != activity["actor"]:
        raise Refused("only its writer may change a thanks")
    return ChangedThanks(known.id, received.text)


async def _thanks_deleted(fed: Federation, activity: dict[str, Any]) -> ChangedThanks | None:
    """The thanks a Delete removes; None when its object is not a thanks we keep."""
    uri = valid_uri(first_id(activity.get("object")))
    if uri is None:
        return None
    async with fed.pool.acquire() as conn:
        known = await q.thanks_by_ap_id(conn, uri)
    if known is None:
        return None
    if known.writer_actor_uri != activity["actor"]:
        raise Refused("only its writer may delete a thanks")
    return ChangedThanks(known.id, None)


async def receive_changed_thanks(
    conn: asyncpg.Connection, fed: Federation, activity: dict[str, Any], plan: ChangedThanks
) -> None:
    if plan.text is None:
        await q.delete_thanks(conn, plan.thanks_id)
    else:
        await q.set_body(conn, plan.thanks_id, plan.text)


# --- in front of the table's handlers --------------------------------------------------------

_PLANS = {NewThanks: receive_new_thanks, ChangedThanks: receive_changed_thanks}


def _in_front(mine, theirs: Handler) -> Handler:
    """`mine(fed, activity)` answers (True, plan) for a thanks, (False, None) for the rest."""

    async def verify(fed: Federation, activity: dict[str, Any]) -> Any:
        handled, plan = await mine(fed, activity)
        return plan if handled else await theirs.verify(fed, activity)

    async def receive(conn, fed: Federation, activity: dict[str, Any], plan: Any) -> None:
        receive_thanks = _PLANS.get(type(plan))
        if receive_thanks is None:
            await theirs.receive(conn, fed, activity, plan)
        else:
            await receive_thanks(conn, fed, activity, plan)

    return Handler(verify, receive)


async def _create(fed: Federation, activity: dict[str, Any]) -> tuple[bool, Any]:
    if not is_thanks(activity.get("object")):
        return False, None
    return True, await verify_create_thanks(fed, activity)


async def _update(fed: Federation, activity: dict[str, Any]) -> tuple[bool, Any]:
    if not is_thanks(activity.get("object")):
        return False, None
    return True, await verify_update_thanks(fed, activity)


async def _delete(fed: Federation, activity: dict[str, Any]) -> tuple[bool, Any]:
    plan = await _thanks_deleted(fed, activity)
    return plan is not None, plan


def with_thanks(table: Table) -> dict[tuple[str, str | None], Handler]:
    """`table` with thanks handled in front of its Create, Update and Delete of Notes (a
    removed thanks' Delete names a Tombstone, or an id this node never kept as an object)."""
    result = dict(table)
    result[("Create", "Note")] = _in_front(_create, table[("Create", "Note")])
    result[("Update", "Note")] = _in_front(_update, table[("Update", "Note")])
    for kind in ("Note", "Tombstone", None):
        result[("Delete", kind)] = _in_front(_delete, table[("Delete", kind)])
    return result
