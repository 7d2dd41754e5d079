"""The inbound handler table: what each (activity type, object type) does to the node.

GoToSocial's flat switch, as a dict: `handle_activity` resolves the object's type, looks the
pair up in HANDLERS, and answers "unhandled" for any pair that is not there. Each Handler is
split as activitypub-federation-rust splits it: `verify` only reads (the database, remote
fetches) and returns a plan, or None when there is nothing to do, or raises Refused or
Retry; `receive` writes the plan in one transaction.

The inbox has already checked the signature, that the signer is `activity["actor"]`, that
the activity id is on the actor's host and that we federate with that host. What is left
here is whether that actor may do this to that object.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from commonsfed.ap.activities import (
    CONTENT_TYPES,
    LISTING,
    ObjectError,
    RemoteObject,
    accept_to_ap,
    activity_type,
    object_type,
    reject_to_ap,
    remote_object_from_ap,
    same_host,
    valid_uri,
)
from commonsfed.ap.actors import ACTOR_TYPES, ActorError, RemoteActor, actor_from_ap
from commonsfed.ap.jsonld import JsonLdError, first_id, normalise
from commonsfed.db import api_notifications as api_notes_q
from commonsfed.db import blocks as blocks_q
from commonsfed.db import favourites as favourites_q
from commonsfed.db import follows as follows_q
from commonsfed.db import moderation as moderation_q
from commonsfed.db import notifications as notes_q
from commonsfed.db import objects as objects_q
from commonsfed.federation import answers as answers_in
from commonsfed.federation import flags, known, outbox
from commonsfed.federation import mentions as mentions_in
from commonsfed.federation.actors import (
    ActorUnavailable,
    KeyHolder,
    check_key,
    get_actor,
    save_actor,
)
from commonsfed.federation.context import Federation
from commonsfed.federation.errors import (  # noqa: F401  (Retry and fetch_failure re-exported)
    Refused,
    Retry,
    fetch_failure,
)
from commonsfed.federation.fetch import FetchError, Gone
from commonsfed.federation.policy import is_limited

log = logging.getLogger(__name__)

DONE, UNHANDLED = "done", "unhandled"
ANY = "*"  # as an object type: the handler takes any object (Like, Announce, Flag)


Verify = Callable[[Federation, dict[str, Any]], Awaitable[Any]]
Receive = Callable[[asyncpg.Connection, Federation, dict[str, Any], Any], Awaitable[None]]


@dataclass(frozen=True)
class Handler:
    verify: Verify  # reads only; returns the plan, or None for nothing to do
    receive: Receive  # runs inside the transaction handle_activity opens


async def handle_activity(
    fed: Federation, activity: dict[str, Any], actor: RemoteActor | None = None
) -> str:
    """Handle one verified, normalised activity: "done" or "unhandled"; raises Retry or
    Refused. `actor` is the signer when the caller has it at hand."""
    verified = await verify_activity(fed, activity, actor)
    if isinstance(verified, str):
        return verified
    handler, plan = verified
    async with fed.pool.acquire() as conn, conn.transaction():
        await handler.receive(conn, fed, activity, plan)
    return DONE


async def verify_activity(
    fed: Federation, activity: dict[str, Any], actor: RemoteActor | None = None
) -> tuple[Handler, Any] | str:
    """The reading half of `handle_activity`: the handler and the plan its `receive` is to
    write, or "done" (nothing to write) or "unhandled"; raises Retry or Refused. The inbox
    worker verifies a batch's activities this way, then writes their plans together."""
    _check_shape(fed, activity, actor)
    handler = await find_handler(fed, activity, actor)
    if handler is None:
        return UNHANDLED
    plan = await handler.verify(fed, activity)
    return DONE if plan is None else (handler, plan)


async def find_handler(
    fed: Federation, activity: dict[str, Any], actor: RemoteActor | None = None
) -> Handler | None:
    kind = activity_type(activity)
    table = fed.handlers or HANDLERS
    if (kind, ANY) in table:
        return table[(kind, ANY)]
    if all(known != kind for known, _ in table):
        return None  # no need to look the object up
    return table.get((kind, await resolve_object_type(fed, activity, actor)))


def _check_shape(fed: Federation, activity: dict[str, Any], actor: RemoteActor | None) -> None:
    if valid_uri(activity.get("id")) is None or valid_uri(activity.get("actor")) is None:
        raise Refused("an activity needs an id and an actor, both http(s) URIs")
    if actor is not None and actor.uri != activity["actor"]:
        raise Refused(f"signed by {actor.uri}, not by the activity's actor")
    if fed.uris.is_local(activity["actor"]):
        raise Refused("a local actor's activities never come through an inbox")


# --- the object's type -------------------------------------------------------------------


async def resolve_object_type(
    fed: Federation, activity: dict[str, Any], actor: RemoteActor | None = None
) -> str | None:
    """The type of the activity's object: embedded, its own (LISTING for a listing); a bare
    id, what we know it to be; else None."""
    target = activity.get("object")
    if isinstance(target, list):
        target = target[0] if len(target) == 1 else None
    if isinstance(target, dict):
        return object_type(target)
    if valid_uri(target) is None:
        return None
    if actor is not None and target == actor.uri:
        return actor.type
    if local := _local_actor_type(fed, target):
        return local
    return await known.known_type(fed, target)


def _local_actor_type(fed: Federation, uri: str) -> str | None:
    """A local actor's type, by the shape of its URI: whether the resident exists is for
    `verify` to say, with a reason, rather than an "unhandled"."""
    if not fed.uris.is_local(uri):
        return None
    if uri == fed.uris.instance_actor:
        return "Application"
    name = fed.uris.local_username(uri)
    if name is None:
        return None
    return "Group" if name == fed.settings.neighbourhood_handle else "Person"


# --- Follow of a local actor -------------------------------------------------------------


@dataclass(frozen=True)
class FollowPlan:
    follower: RemoteActor
    followed: str
    state: str | None  # 'accepted' or 'pending'; None when the followed actor blocked them


async def verify_follow(fed: Federation, activity: dict[str, Any]) -> FollowPlan:
    followed = first_id(activity["object"])
    # the inbox cached the signer when it checked the signature: a cache read
    follower = await _remote_actor(fed, activity["actor"])
    async with fed.pool.acquire() as conn:
        # as Mastodon holds a silenced account's follows as requests
        by_hand = await _local_followee(conn, fed, followed) or await is_limited(
            conn, follower.domain)
        existing = await follows_q.get_follow(conn, follower.uri, followed)
        name = fed.uris.local_username(followed) or ""
        blocked = await blocks_q.username_blocks_actor(conn, name, follower.uri)
    if blocked:
        return FollowPlan(follower, followed, None)
    # Mastodon sends the Follow again to repair a follow it thinks lost: answer it again
    accepted = not by_hand or (existing is not None and existing["state"] == "accepted")
    return FollowPlan(follower, followed, "accepted" if accepted else "pending")


async def _local_followee(conn: asyncpg.Connection, fed: Federation, uri: str | None) -> bool:
    """Whether the local actor at `uri` approves followers by hand; Refused when there is
    no such actor."""
    name = fed.uris.local_username(uri) if uri and fed.uris.is_local(uri) else None
    if name is not None and name == fed.settings.neighbourhood_handle:
        # the Group accepts whoever reaches it (the inbox already refused the domains the
        # admin does not federate with), unless the admins decide whom it joins
        return fed.settings.group_follows == "manual"
    account = await follows_q.local_followee(conn, name) if name else None
    if account is None:
        raise Refused(f"{uri} is not an actor one can follow here")
    return account["manually_approves_followers"]


async def receive_follow(
    conn: asyncpg.Connection, fed: Federation, activity: dict[str, Any], plan: FollowPlan
) -> None:
    if plan.state is None:
        await _send_answer(
            conn, fed, reject_to_ap(plan.followed, activity, fed.settings), plan.follower
        )
        return
    before = await follows_q.get_follow(conn, plan.follower.uri, plan.followed)
    await follows_q.upsert_follow(
        conn, plan.follower.uri, plan.followed, plan.state, activity["id"]
    )
    if before is None:  # not a Follow sent again to repair one (see verify_follow)
        await _tell_followed(conn, fed, plan)
    if plan.state == "accepted":
        await _send_answer(
            conn, fed, accept_to_ap(plan.followed, activity, fed.settings), plan.follower
        )


async def _tell_followed(conn: asyncpg.Connection, fed: Federation, plan: FollowPlan) -> None:
    """A followed resident hears of a new follower, or of a request to approve (nobody is
    told for the Group)."""
    name = fed.uris.local_username(plan.followed)
    if name and name != fed.settings.neighbourhood_handle:
        kind = "follow" if plan.state == "accepted" else "follow_request"
        await api_notes_q.insert_follow(conn, name, plan.follower.uri, kind)


async def _send_answer(
    conn: asyncpg.Connection, fed: Federation, answer: dict[str, Any], follower: RemoteActor
) -> None:
    # the same inbox publish() finds for the `to`, so there is one delivery, not two
    inbox = follower.shared_inbox or follower.inbox
    await outbox.publish(conn, fed.settings, answer, extra_inboxes=[inbox])


# --- Accept / Reject of a Follow a local actor sent --------------------------------------


async def verify_follow_answer(fed: Federation, activity: dict[str, Any]) -> asyncpg.Record | None:
    actor = activity["actor"]
    follow_id, follow = _inner(activity)
    if follow and first_id(follow.get("object")) != actor:
        raise Refused("only the followed actor may accept or reject a Follow")
    async with fed.pool.acquire() as conn:
        row = await follows_q.get_follow_by_activity(conn, follow_id) if follow_id else None
        if row is None and follow:
            # some servers answer with a Follow they rebuilt: match by who follows whom
            row = await follows_q.get_follow(conn, first_id(follow.get("actor")) or "", actor)
    if row is None:
        return None
    if row["followed_uri"] != actor or not fed.uris.is_local(row["follower_uri"]):
        raise Refused("only the followed actor may accept or reject a Follow")
    return row


async def receive_accept(
    conn: asyncpg.Connection, fed: Federation, activity: dict[str, Any], row: asyncpg.Record
) -> None:
    await follows_q.accept_follow(conn, row["follower_uri"], row["followed_uri"])


async def receive_reject(
    conn: asyncpg.Connection, fed: Federation, activity: dict[str, Any], row: asyncpg.Record
) -> None:
    await follows_q.remove_follow(conn, row["follower_uri"], row["followed_uri"])


# --- Undo --------------------------------------------------------------------------------


async def verify_undo_follow(fed: Federation, activity: dict[str, Any]) -> asyncpg.Record | None:
    actor = activity["actor"]
    follow_id, follow = _inner_of(activity, actor)
    async with fed.pool.acquire() as conn:
        row = await follows_q.get_follow_by_activity(conn, follow_id) if follow_id else None
        if row is None and follow:
            row = await follows_q.get_follow(conn, actor, first_id(follow.get("object")) or "")
    if row is not None and row["follower_uri"] != actor:
        raise Refused("only the follower may undo a Follow")
    return row


async def receive_undo_follow(
    conn: asyncpg.Connection, fed: Federation, activity: dict[str, Any], row: asyncpg.Record
) -> None:
    await follows_q.remove_follow(conn, row["follower_uri"], row["followed_uri"])
    name = fed.uris.local_username(row["followed_uri"])
    if name:  # the follow's notification goes with it, as on Mastodon
        await api_notes_q.delete_follow(
            conn, name, row["follower_uri"], ("follow", "follow_request"))


async def verify_undo_reaction(fed: Federation, activity: dict[str, Any]) -> asyncpg.Record | None:
    actor = activity["actor"]
    reaction_id, reaction = _inner_of(activity, actor)
    async with fed.pool.acquire() as conn:
        row = await objects_q.get_reaction(conn, reaction_id) if reaction_id else None
        if row is None and reaction:
            row = await objects_q.find_reaction(
                conn, activity_type(reaction) or "", actor, first_id(reaction.get("object")) or ""
            )
    if row is not None and row["actor_uri"] != actor:
        raise Refused("only the actor who reacted may undo it")
    return row


async def receive_undo_reaction(
    conn: asyncpg.Connection, fed: Federation, activity: dict[str, Any], row: asyncpg.Record
) -> None:
    await objects_q.delete_reaction(conn, row["activity_uri"], row["actor_uri"])
    uid = fed.uris.listing_uid(row["object_uri"])
    if row["kind"] == "Like" and uid:
        await favourites_q.delete_favourite_notice(conn, uid, row["actor_uri"])


async def verify_undo_block(fed: Federation, activity: dict[str, Any]) -> asyncpg.Record | None:
    actor = activity["actor"]
    block_id, block = _inner_of(activity, actor)
    async with fed.pool.acquire() as conn:
        row = await objects_q.get_actor_block_by_activity(conn, block_id) if block_id else None
        if row is None and block:
            row = await objects_q.get_actor_block(conn, actor, first_id(block.get("object")) or "")
    if row is not None and row["blocker_uri"] != actor:
        raise Refused("only the blocker may undo a Block")
    return row


async def receive_undo_block(
    conn: asyncpg.Connection, fed: Federation, activity: dict[str, Any], row: asyncpg.Record
) -> None:
    await objects_q.delete_actor_block(conn, row["blocker_uri"], row["blocked_uri"])


def _inner(activity: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The inner activity's id, and the inner activity when it came embedded (else {})."""
    inner = activity["object"]
    return first_id(inner), inner if isinstance(inner, dict) else {}


def _inner_of(activity: dict[str, Any], actor: str) -> tuple[str | None, dict[str, Any]]:
    """As `_inner`, refusing an embedded activity that someone else sent."""
    inner_id, inner = _inner(activity)
    if inner and first_id(inner.get("actor")) != actor:
        raise Refused(f"{activity_type(activity)} of an activity someone else sent")
    return inner_id, inner


# --- Like and Announce -------------------------------------------------------------------


@dataclass(frozen=True)
class Reaction:
    activity_uri: str
    kind: str
    actor_uri: str
    object_uri: str


async def verify_like(fed: Federation, activity: dict[str, Any]) -> Reaction:
    # a Like needs only the object's id: nothing the sender embeds is kept
    object_uri = valid_uri(first_id(activity.get("object")))
    if object_uri is None:
        raise Refused(f"a {activity_type(activity)} names no object")
    return Reaction(activity["id"], activity_type(activity), activity["actor"], object_uri)


async def receive_reaction(
    conn: asyncpg.Connection, fed: Federation, activity: dict[str, Any], plan: Reaction
) -> None:
    added = await objects_q.insert_reaction(
        conn, plan.activity_uri, plan.kind, plan.actor_uri, plan.object_uri
    )
    uid = fed.uris.listing_uid(plan.object_uri)
    if added and plan.kind == "Like" and uid:  # a favourite of a listing here: its author hears
        await favourites_q.insert_favourite_notice(conn, uid, plan.actor_uri)


@dataclass(frozen=True)
class AnnouncePlan:
    reaction: Reaction
    announced: RemoteObject | None  # a note or listing we did not have, to keep


async def verify_announce(fed: Federation, activity: dict[str, Any]) -> AnnouncePlan:
    reaction = await verify_like(fed, activity)
    announced = await _announced_object(fed, activity, reaction.object_uri)
    if announced is not None and not await _know_author(fed, announced.attributed_to):
        announced = None  # its author's account is gone, and with it what they wrote
    if announced is not None and await _suspended(fed, announced.attributed_to):
        announced = None  # the moderators suspended its author: nothing of theirs is kept
    return AnnouncePlan(reaction, announced)


async def _suspended(fed: Federation, uri: str) -> bool:
    async with fed.pool.acquire() as conn:
        return await moderation_q.actor_suspended_at(conn, uri) is not None


async def _know_author(fed: Federation, uri: str) -> bool:
    """Cache the author of an object that first reaches us announced, as Mastodon resolves
    the author of a boosted post: their later Delete of it, or of themselves, is signed
    with their key, which cannot be fetched once their account is gone (its actor answers
    410), so only a key cached now lets us take it. Best effort: the object is kept even
    when its author cannot be fetched just now; False only when the author is gone (410)."""
    try:
        await get_actor(fed, uri)
    except Gone:
        return False
    except FetchError as exc:
        log.info("announced object's author %s not cached: %s", uri, exc)
    return True


async def _announced_object(
    fed: Federation, activity: dict[str, Any], uri: str
) -> RemoteObject | None:
    """The announced object when it is new to us and worth keeping, from a source we trust:
    as embedded when it lives on the announcer's host, else fetched from its origin."""
    if fed.uris.is_local(uri):
        return None
    if await known.stored_object(fed, uri):
        return None
    document = activity["object"]
    if not (isinstance(document, dict) and same_host(uri, activity["actor"])):
        document = await _fetch_object(fed, uri)
    if object_type(document) not in (*CONTENT_TYPES, LISTING):
        return None
    announced = _read_object(document)
    if not same_host(announced.attributed_to, announced.uri):
        raise Refused(f"{uri} names an author on another host")
    if await known.tombstoned(fed, uri, announced.attributed_to):
        return None  # its author deleted it: an Announce does not bring it back
    return announced


async def receive_announce(
    conn: asyncpg.Connection, fed: Federation, activity: dict[str, Any], plan: AnnouncePlan
) -> None:
    if plan.announced is not None:
        await objects_q.insert_remote_object(conn, plan.announced)
    await receive_reaction(conn, fed, activity, plan.reaction)


# --- Create, Update, Delete of notes and listings ----------------------------------------


async def verify_create(fed: Federation, activity: dict[str, Any]) -> RemoteObject | None:
    created = _owned_object(activity)
    if await known.tombstoned(fed, created.uri, created.attributed_to):
        return None  # its author's Delete came first
    if await known.stored_object(fed, created.uri):
        return None  # we have it: a Create is not an Update
    return created


async def receive_create(
    conn: asyncpg.Connection, fed: Federation, activity: dict[str, Any], created: RemoteObject
) -> None:
    await objects_q.insert_remote_object(conn, created)


async def verify_update(fed: Federation, activity: dict[str, Any]) -> RemoteObject | None:
    updated = _owned_object(activity)
    stored = await known.stored_object(fed, updated.uri)
    if stored is None:
        return None  # never had it, or deleted: nothing to update
    if stored["attributed_to"] != updated.attributed_to:
        raise Refused(f"only the author may update {updated.uri}")
    return updated


async def receive_update(
    conn: asyncpg.Connection, fed: Federation, activity: dict[str, Any], updated: RemoteObject
) -> None:
    if await objects_q.update_remote_object(conn, updated):
        await answers_in.remote_listing_changed(conn, updated)


@dataclass(frozen=True)
class NotePlan:
    created: RemoteObject | None  # None: we have it already
    mentions: mentions_in.MentionPlan | None  # the residents it speaks to


async def verify_create_note(
    fed: Federation, activity: dict[str, Any]
) -> NotePlan | answers_in.IncomingAnswer | answers_in.IncomingMessage | None:
    """A direct Note about an answer goes to its conversation (and is not kept as a remote
    object: it is private); any other Note is kept as Create keeps it, and the residents it
    mentions (or whose listing it replies to publicly) are told."""
    plan = await answers_in.verify_direct_note(fed, activity)
    if plan is not None:
        return plan
    created = await verify_create(fed, activity)
    mentions = await mentions_in.verify_mentions(fed, activity)
    return NotePlan(created, mentions) if created or mentions else None


async def receive_create_note(
    conn: asyncpg.Connection, fed: Federation, activity: dict[str, Any], plan: Any
) -> None:
    if not isinstance(plan, NotePlan):
        await answers_in.receive_direct_note(conn, fed, activity, plan)
        return
    if plan.created is not None:
        await receive_create(conn, fed, activity, plan.created)
    if plan.mentions is not None:
        await mentions_in.receive_mentions(conn, fed, plan.mentions)


def _owned_object(activity: dict[str, Any]) -> RemoteObject:
    """The embedded object, trusted as sent only because the actor wrote it on its own host."""
    actor = activity["actor"]
    owned = _read_object(activity["object"])
    if not same_host(owned.uri, actor):
        raise Refused(f"{owned.uri} lives on another host than {actor}")
    if owned.attributed_to != actor:
        raise Refused(f"{owned.uri} is attributed to someone other than {actor}")
    return owned


def _read_object(document: Any) -> RemoteObject:
    if not isinstance(document, dict):
        raise Refused("expected an embedded object")
    try:
        return remote_object_from_ap(document)
    except ObjectError as exc:
        raise Refused(str(exc)) from exc


async def verify_delete_object(fed: Federation, activity: dict[str, Any]) -> str | None:
    actor = activity["actor"]
    uri = valid_uri(first_id(activity["object"]))
    if uri is None:
        raise Refused("a Delete names no object")
    if uri == actor:
        return None  # an actor we never cached left: nothing to forget
    stored = await known.stored_object(fed, uri)
    if stored is not None and stored["attributed_to"] != actor:
        raise Refused(f"only the author may delete {uri}")
    if stored is None and not same_host(uri, actor):
        # a tombstone blocks the object for good, so only its own host may leave one
        raise Refused(f"{uri} lives on another host than {actor}")
    return uri


async def receive_delete_object(
    conn: asyncpg.Connection, fed: Federation, activity: dict[str, Any], uri: str
) -> None:
    await objects_q.delete_remote_object(conn, uri, activity["actor"])
    await answers_in.remote_listing_deleted(conn, uri, activity["actor"])
    await notes_q.delete_mentions_of(conn, uri, activity["actor"])


# --- Update and Delete of an actor -------------------------------------------------------


@dataclass(frozen=True)
class ActorUpdate:
    actor: RemoteActor
    document: dict[str, Any]
    key_holder: KeyHolder | None  # another cached actor that held the key it names


async def verify_update_actor(fed: Federation, activity: dict[str, Any]) -> ActorUpdate:
    document = activity["object"]
    if not isinstance(document, dict) or document.get("id") != activity["actor"]:
        raise Refused("an actor may only update itself")
    try:
        actor = actor_from_ap(document)
    except ActorError as exc:
        raise Refused(str(exc)) from exc
    try:
        return ActorUpdate(actor, document, await check_key(fed, actor))
    except FetchError as exc:
        raise fetch_failure(exc) from exc


async def receive_update_actor(
    conn: asyncpg.Connection, fed: Federation, activity: dict[str, Any], plan: ActorUpdate
) -> None:
    try:
        await save_actor(conn, plan.actor, plan.document, plan.key_holder)
    except ActorUnavailable as exc:  # another writer took the key between verify and now
        raise Retry(str(exc)) from exc


async def verify_delete_actor(fed: Federation, activity: dict[str, Any]) -> str:
    if first_id(activity["object"]) != activity["actor"]:
        raise Refused("an actor may only delete itself")
    return activity["actor"]


async def receive_delete_actor(
    conn: asyncpg.Connection, fed: Federation, activity: dict[str, Any], uri: str
) -> None:
    await follows_q.remove_follows_of_actor(conn, uri)
    await objects_q.forget_remote_actor(conn, uri)


# --- Block ---------------------------------------------------------------------------------


async def verify_block(fed: Federation, activity: dict[str, Any]) -> str:
    blocked = first_id(activity["object"])
    async with fed.pool.acquire() as conn:
        await _local_followee(conn, fed, blocked)  # refuses anyone but a local actor
    return blocked


async def receive_block(
    conn: asyncpg.Connection, fed: Federation, activity: dict[str, Any], blocked: str
) -> None:
    await objects_q.insert_actor_block(conn, activity["actor"], blocked, activity["id"])
    await follows_q.remove_follows_between(conn, activity["actor"], blocked)


# --- remote documents --------------------------------------------------------------------


async def _remote_actor(fed: Federation, uri: str) -> RemoteActor:
    try:
        return await get_actor(fed, uri)
    except FetchError as exc:
        raise fetch_failure(exc) from exc


async def _fetch_object(fed: Federation, uri: str) -> dict[str, Any]:
    """`uri` from its origin, signed as the instance actor, normalised."""
    try:
        fetched = await fed.fetch(uri)
        return normalise(fetched.document)
    except FetchError as exc:
        raise fetch_failure(exc) from exc
    except JsonLdError as exc:
        raise Refused(f"{uri}: {exc}") from exc


# --- the table ---------------------------------------------------------------------------

_FOLLOW = Handler(verify_follow, receive_follow)
_CREATE = Handler(verify_create, receive_create)
_UPDATE = Handler(verify_update, receive_update)
_UPDATE_ACTOR = Handler(verify_update_actor, receive_update_actor)
_DELETE_OBJECT = Handler(verify_delete_object, receive_delete_object)
_DELETE_ACTOR = Handler(verify_delete_actor, receive_delete_actor)
_UNDO_REACTION = Handler(verify_undo_reaction, receive_undo_reaction)
_BLOCK = Handler(verify_block, receive_block)
_KEPT_TYPES = (*CONTENT_TYPES, LISTING)
_DECISION = Handler(answers_in.verify_offer_answer, answers_in.receive_decision)

HANDLERS: dict[tuple[str, str | None], Handler] = {
    ("Follow", "Person"): _FOLLOW,
    ("Follow", "Group"): _FOLLOW,
    ("Accept", "Follow"): Handler(verify_follow_answer, receive_accept),
    ("Reject", "Follow"): Handler(verify_follow_answer, receive_reject),
    ("Undo", "Follow"): Handler(verify_undo_follow, receive_undo_follow),
    ("Undo", "Like"): _UNDO_REACTION,
    ("Undo", "Announce"): _UNDO_REACTION,
    ("Undo", "Block"): Handler(verify_undo_block, receive_undo_block),
    ("Like", ANY): Handler(verify_like, receive_reaction),
    ("Announce", ANY): Handler(verify_announce, receive_announce),
    **{("Create", kind): _CREATE for kind in _KEPT_TYPES},
    ("Create", "Note"): Handler(verify_create_note, receive_create_note),
    ("Offer", "Agreement"): Handler(answers_in.verify_offer, answers_in.receive_answer),
    ("Accept", "Offer"): _DECISION,
    ("Reject", "Offer"): _DECISION,
    ("Undo", "Accept"): Handler(answers_in.verify_undo_accept, answers_in.receive_decision),
    **{("Update", kind): _UPDATE for kind in _KEPT_TYPES},
    **{("Update", kind): _UPDATE_ACTOR for kind in ACTOR_TYPES},
    # None: an id we never saw, perhaps deleted before its Create reaches us
    **{("Delete", kind): _DELETE_OBJECT for kind in (*_KEPT_TYPES, "Tombstone", None)},
    **{("Delete", kind): _DELETE_ACTOR for kind in ACTOR_TYPES},
    ("Flag", ANY): Handler(flags.verify_flag, flags.receive_flag),
    ("Block", "Person"): _BLOCK,
    ("Block", "Group"): _BLOCK,
}

