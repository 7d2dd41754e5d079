"""The inbox: accept a signed activity fast and store it once; a worker handles it later.

In the web process (activitypub-federation-rust's order: cheapest refusal first, and nothing
fetched for a peer we would refuse anyway):

    size (413) -> content type (415) -> JSON object with id, type, actor, within the
    size and recipient limits (400)
    -> signature (401) -> key owner is the actor (401) -> id on the actor's host (403)
    -> domain policy, suspended actor (403) -> INSERT ... ON CONFLICT DO NOTHING, with its
    NOTIFY -> 202

Nothing else runs there: no JSON-LD, no handler. The `InboxWorker` (`federation.inbox_worker`)
claims stored items, normalises them and hands them to the handler table.

Keys of busy peers are kept in memory (`KeyCache`), so the steady state verifies a signature
without asking PostgreSQL for the key; the one round trip left is the insert, which reads
the domain policy itself, and which a busy node shares between the activities that arrive
while the previous one runs (`Batches`), each still answered only once its row committed.
A cached key that fails falls back to `verify_request`, which
looks in PostgreSQL and re-fetches the actor once (the peer may have rotated its key).
Before anything is fetched, the key's host must pass `policy.check_domain`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import asyncpg
import orjson
from cryptography.hazmat.primitives.asymmetric import rsa

from commonsfed import signatures
from commonsfed.ap import jsonld
from commonsfed.ap.actors import RemoteActor
from commonsfed.config import Settings
from commonsfed.db import actors as actors_q
from commonsfed.db import inbox as q
from commonsfed.db.pool import DATABASE_ERRORS
from commonsfed.federation.context import Federation
from commonsfed.federation.policy import DomainRefused, check_domain, domain_of, permitted
from commonsfed.federation.verify import NotVerified, verify_request

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # the same cap as the app's client_max_size
AS2_CONTENT_TYPES = frozenset({"application/activity+json", "application/ld+json"})
# activity_id has a unique btree index, whose entries cannot pass ~2.7 kB; real ids are short
MAX_ID_LENGTH = 2048
# Addressees of one activity (to, cc, bto, bcc, audience, its object's included). Mastodon
# addresses followers as one collection, so real activities name a handful; the cap stays
# under jsonld.MAX_NODES, which would refuse such a list later anyway, but in the worker.
MAX_RECIPIENTS = 5_000
_ADDRESSING = ("to", "cc", "bto", "bcc", "audience")


# a refusal's reason as /metrics counts it, when the raise names none: by status
_REASONS = {
    400: "malformed",
    401: "signature",
    403: "forbidden",
    404: "no_such_actor",
    410: "actor_gone",
    413: "too_large",
    415: "content_type",
    503: "busy",
}


class InboxRefused(Exception):
    """The inbox will not take this request: `status` and a short message for the peer,
    and for a 503 the seconds after which to try again. `reason` is a code for /metrics
    (one of a few, unlike the message, which quotes the peer)."""

    def __init__(
        self,
        status: int,
        message: str,
        retry_after: int | None = None,
        *,
        reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after
        self.reason = reason or _REASONS.get(status, str(status))


class Dropped(Exception):
    """Answered 202 but not stored: see `is_self_delete`."""


# --- the request, before any I/O -------------------------------------------------------


def check_declared_size(content_length: int | None) -> None:
    """Refuse an announced oversize body before reading a byte of it."""
    if content_length is not None and content_length > MAX_BODY:
        raise InboxRefused(413, f"body larger than {MAX_BODY} bytes")


def check_body_size(size: int) -> None:
    """The same cap for a chunked body, checked while it streams in."""
    if size > MAX_BODY:
        raise InboxRefused(413, f"body larger than {MAX_BODY} bytes")


def check_content_type(value: str | None) -> None:
    # application/ld+json comes with a profile parameter (Mastodon sends the AS2 one);
    # any profile is accepted, as peers differ.
    mime = (value or "").partition(";")[0].strip().lower()
    if mime not in AS2_CONTENT_TYPES:
        shown = mime or "no content type"
        raise InboxRefused(415, f"{shown} is not accepted; send application/activity+json")


@dataclass(frozen=True)
class Incoming:
    """An activity as read from the body: enough to check and store it, nothing normalised."""

    id: str
    type: str
    actor: str
    document: dict[str, Any]


def parse_activity(body: bytes) -> Incoming:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InboxRefused(400, "body is not valid JSON", reason="not_json") from None
    if not isinstance(document, dict):
        raise InboxRefused(400, "body is not a JSON object", reason="not_json")
    activity_id = _required_string(document.get("id"), "id")
    kind = _required_string(document.get("type"), "type")
    actor = document.get("actor")
    actor = actor.get("id") if isinstance(actor, dict) else actor
    check_limits(document)
    return Incoming(activity_id, kind, _required_string(actor, "actor"), document)


def check_limits(document: dict[str, Any]) -> None:
    """The limits the worker would enforce, checked before the activity is stored, so a
    hostile document gets a fast 400 rather than a 202 and a refusal nobody sees."""
    try:
        jsonld.check_size(document)
    except jsonld.JsonLdError as exc:
        raise InboxRefused(400, str(exc), reason="too_big") from None
    count = recipient_count(document)
    if count > MAX_RECIPIENTS:
        raise InboxRefused(
            400,
            f"the activity addresses {count} recipients; at most {MAX_RECIPIENTS}",
            reason="too_many_recipients",
        )


def recipient_count(document: dict[str, Any]) -> int:
    """Entries in the addressing of the activity and of its embedded object."""
    inner = document.get("object")
    parts = (document, inner) if isinstance(inner, dict) else (document,)
    return sum(len(jsonld.as_list(part.get(key))) for part in parts for key in _ADDRESSING)


def _required_string(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise InboxRefused(400, f"the activity has no {name} (a string)")
    if len(value) > MAX_ID_LENGTH:
        raise InboxRefused(400, f"the activity's {name} is longer than {MAX_ID_LENGTH} characters")
    return value


def is_self_delete(incoming: Incoming) -> bool:
    """A Delete of the actor by itself: what Mastodon sends when an account is deleted.

    Its key can no longer be fetched (the actor answers 410), and Mastodon sends it to every
    server that ever knew the account, so it is accepted only when the key is already cached
    here and verifies; otherwise it is answered 202 and dropped: a 401 would only make the
    sender retry for days (Mastodon answers such Deletes 202 for the same reason), and an
    actor we never cached has nothing here to delete.
    """
    if incoming.type != "Delete":
        return False
    return jsonld.first_id(incoming.document.get("object")) == incoming.actor


# --- who signed it ---------------------------------------------------------------------


@dataclass(frozen=True)
class SignedRequest:
    method: str
    raw_path: str  # exactly as sent: the signature covers it
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class CachedKey:
    actor: RemoteActor
    public_key: rsa.RSAPublicKey
    expires: float  # time.monotonic()


class KeyCache:
    """Verified signers' keys, parsed, by key id; one per node (several share a test process).

    An entry is put only after its key verified a request, and one that fails is never
    trusted: the request goes the slow way (PostgreSQL, then one re-fetch). Entries expire so
    that an actor deleted or re-keyed in PostgreSQL by another process is read again.
    """

    def __init__(self, ttl: timedelta = timedelta(minutes=10), size: int = 10_000) -> None:
        self._ttl = ttl.total_seconds()
        self._size = size
        self._entries: dict[str, CachedKey] = {}

    def get(self, key_id: str) -> CachedKey | None:
        entry = self._entries.get(key_id)
        if entry is not None and entry.expires < time.monotonic():
            del self._entries[key_id]
            return None
        return entry

    def put(self, actor: RemoteActor) -> CachedKey:
        """Parse and keep `actor`'s key; SignatureError if its PEM is unreadable."""
        if len(self._entries) >= self._size:
            self._entries.clear()  # rare, and costs only one PostgreSQL read per peer
        entry = CachedKey(
            actor,
            signatures.public_key_from_pem(actor.public_key_pem),
            time.monotonic() + self._ttl,
        )
        self._entries[actor.key_id] = entry
        return entry

    def clear(self) -> None:
        self._entries.clear()


def parse_signature(fed: Federation, request: SignedRequest) -> signatures.ParsedSignature:
    """Every signature check that needs no key: presence, Date, Digest against the body."""
    try:
        return signatures.parse_signature(
            request.method,
            request.raw_path,
            request.headers,
            request.body,
            scheme=fed.settings.scheme,
            for_authority=fed.settings.domain,
        )
    except signatures.SignatureError as exc:
        raise InboxRefused(401, str(exc)) from None


def _verifies(parsed: signatures.ParsedSignature, key: rsa.RSAPublicKey) -> bool:
    try:
        signatures.verify_signature(parsed, key)
    except signatures.SignatureError:
        return False
    return True


def host_of(uri: str) -> str | None:
    """`domain_of`, or None for what is not a URL (urlsplit refuses `http://[x`)."""
    try:
        return domain_of(uri)
    except ValueError:
        return None


async def check_key_domain(fed: Federation, key_id: str) -> None:
    """Refuse a blocked (or, in allow-list mode, unlisted) key host before fetching its key."""
    domain = host_of(key_id)
    if not domain:
        raise InboxRefused(401, "the signature's keyId is not a URL")
    async with fed.pool.acquire() as conn:
        try:
            await check_domain(conn, fed.settings, domain)
        except DomainRefused as exc:
            raise InboxRefused(403, str(exc), reason="domain_policy") from None


async def authenticate(
    fed: Federation, keys: KeyCache, request: SignedRequest, incoming: Incoming
) -> RemoteActor:
    """The actor whose key signed `request`; InboxRefused(401) when there is none."""
    parsed = parse_signature(fed, request)
    cached = keys.get(parsed.key_id)
    if cached is not None and _verifies(parsed, cached.public_key):
        return cached.actor
    if is_self_delete(incoming):
        return await _self_delete_signer(fed, keys, parsed)
    await check_key_domain(fed, parsed.key_id)
    try:
        actor = await verify_request(
            fed, request.method, request.raw_path, request.headers, request.body
        )
    except NotVerified as exc:
        raise InboxRefused(401, str(exc)) from None
    _remember(keys, actor)
    return actor


async def _self_delete_signer(
    fed: Federation, keys: KeyCache, parsed: signatures.ParsedSignature
) -> RemoteActor:
    """The signer of a self-Delete from the caches only; never fetched (see is_self_delete)."""
    async with fed.pool.acquire() as conn:
        actor = await actors_q.get_remote_actor_by_key(conn, parsed.key_id)
    if actor is None:
        raise Dropped(f"Delete of an actor we never cached ({parsed.key_id})")
    entry = _remember(keys, actor)
    if entry is None or not _verifies(parsed, entry.public_key):
        raise Dropped(f"Delete signed by {parsed.key_id} does not verify with the cached key")
    return actor


def _remember(keys: KeyCache, actor: RemoteActor) -> CachedKey | None:
    try:
        return keys.put(actor)
    except signatures.SignatureError:
        return None  # verify_request reads the PEM the same way, so this does not happen


# --- what the signer may say -------------------------------------------------------------


def check_signer_is_actor(signer: RemoteActor, incoming: Incoming) -> None:
    """Only the actor itself may sign its activity, else anyone could speak for anyone."""
    if signer.uri != incoming.actor:
        raise InboxRefused(
            401,
            f"signed by {signer.uri}, but the actor is {incoming.actor}",
            reason="signer_not_actor",
        )


def check_id_on_actor_host(incoming: Incoming) -> None:
    """An actor mints ids on its own server only; a foreign id could overwrite another's."""
    # the actor is the signer's own URI by now, so it parses; a broken id does not match it
    if host_of(incoming.id) != domain_of(incoming.actor):
        raise InboxRefused(
            403,
            f"activity id {incoming.id} is not on {domain_of(incoming.actor)}",
            reason="foreign_id",
        )


class WakeUps:
    """When the inbox's inserts NOTIFY the workers: at most about once per `window`.

    A transaction that sent a NOTIFY takes one lock for the whole PostgreSQL server at
    commit and holds it through the WAL flush (async.c, PreCommit_Notify), so notifying
    commits cannot be flushed together: a NOTIFY on every insert halved the inserts a second
    we measured. Waking the workers once per window is as good, since a woken worker drains
    the queue.

    An insert carries the NOTIFY itself when none was sent in the last window (a quiet
    node: no added delay). Otherwise, once its row has committed, a NOTIFY is scheduled
    for the end of the window unless one is already scheduled and not yet started; either
    way a NOTIFY starts after the row is visible, so no row waits for the workers' poll.
    """

    def __init__(self, window: timedelta = timedelta(milliseconds=50)) -> None:
        self._window = window.total_seconds()
        self._quiet_until = 0.0  # time.monotonic(); before it, inserts do not NOTIFY
        self._scheduled = False
        self._sending: set[asyncio.Task[None]] = set()  # kept, or the loop may drop them

    def lead(self) -> bool:
        """Whether the next insert should carry the NOTIFY itself."""
        now = time.monotonic()
        if now < self._quiet_until:
            return False
        self._quiet_until = now + self._window
        return True

    def follow(self, pool: asyncpg.Pool) -> None:
        """A row stored without NOTIFY has committed: see that a NOTIFY comes after it."""
        if self._scheduled:
            return  # not started yet, so it starts after this commit
        self._scheduled = True
        delay = max(self._quiet_until - time.monotonic(), 0.0)
        asyncio.get_running_loop().call_later(delay, self._start, pool)

    def _start(self, pool: asyncpg.Pool) -> None:
        self._scheduled = False
        self._quiet_until = time.monotonic() + self._window
        task = asyncio.create_task(_notify(pool))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)


async def _notify(pool: asyncpg.Pool) -> None:
    if pool.is_closing():
        return  # the node is stopping: the workers' idle poll finds the rows
    try:
        async with pool.acquire() as conn:
            await q.notify_workers(conn)
    except DATABASE_ERRORS as exc:  # the workers' idle poll finds the rows anyway
        log.warning("could not wake the inbox workers: %s", exc)


# A batch that fails with these is stored one row at a time: a row jsonb cannot hold (a
# \u0000 escape) fails only its own request; and two batches (of two web processes) that
# hold the same two activities in opposite orders deadlock on the unique index, which one
# row at a time cannot.
_ONE_ROW_AT_A_TIME = (asyncpg.UntranslatableCharacterError, asyncpg.DeadlockDetectedError)


# Activities waiting for a statement beyond which the inbox answers 503: several full
# statements' worth, which a healthy database clears in a few milliseconds.
MAX_WAITING = 500
BUSY_RETRY_AFTER = 10  # seconds


@dataclass
class _Waiting:
    item: q.NewItem
    result: asyncio.Future[str]


class Batches:
    """Stores accepted activities, several to a statement when they arrive faster than one
    insert's round trip (group commit, as PostgreSQL does for WAL flushes).

    A commit, its WAL flush and a round trip cost far more than a row: a busy peer's
    activities one statement each spent about twice the CPU a row, PostgreSQL's and ours,
    that they cost in statements of 5 to 25. No request waits for a batch to fill: an
    activity is sent at once when fewer than `in_flight` statements are running, and
    otherwise goes with the next one, which takes whatever is waiting. So a quiet node
    stores each activity alone, as before, and a busy one in batches about the size of its
    backlog. Each request is answered only once its own row has committed, with its own
    result; a batch that fails as a whole for one row's sake is stored one row at a time
    (`_ONE_ROW_AT_A_TIME`), so only that row's request fails.
    """

    def __init__(self, in_flight: int = 2, size: int = 100, max_waiting: int | None = None) -> None:
        self._in_flight = in_flight
        self._size = size
        self._max_waiting = MAX_WAITING if max_waiting is None else max_waiting
        self._waiting: list[_Waiting] = []
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()  # kept, or the loop may drop them

    async def store(self, fed: Federation, wake: WakeUps, item: q.NewItem) -> str:
        """One of "stored", "duplicate" or "refused" (see `db.inbox.insert_items`).

        Backpressure: when `max_waiting` activities already wait for a statement (the
        database is slow or a table locked), this one is refused at once with a 503 and
        Retry-After, which peers retry, rather than held until the sender times out."""
        if len(self._waiting) >= self._max_waiting:
            raise InboxRefused(503, "the inbox is busy; try again shortly", BUSY_RETRY_AFTER)
        result = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(item, result))
        if self._running < self._in_flight:
            self._running += 1
            task = asyncio.create_task(self._send(fed, wake))  # not cancelled with a request
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await result

    async def _send(self, fed: Federation, wake: WakeUps) -> None:
        try:
            while self._waiting:
                await self._insert(fed, wake, self._take())
        finally:
            self._running -= 1

    def _take(self) -> list[_Waiting]:
        """The oldest waiting items, up to `size`, with distinct activity ids: a second copy
        of one (a retry racing the first try) waits for the next batch, where it is a plain
        duplicate."""
        batch: list[_Waiting] = []
        ids: set[str] = set()
        kept: list[_Waiting] = []
        for waiting in self._waiting:
            if len(batch) < self._size and waiting.item.activity_id not in ids:
                ids.add(waiting.item.activity_id)
                batch.append(waiting)
            else:
                kept.append(waiting)
        self._waiting = kept
        return batch

    async def _insert(self, fed: Federation, wake: WakeUps, batch: list[_Waiting]) -> None:
        notify = wake.lead()
        try:
            async with fed.pool.acquire() as conn:
                results = await q.insert_items(
                    conn,
                    [waiting.item for waiting in batch],
                    permitted=open_policies(fed.settings),
                    notify=notify,
                )
        except _ONE_ROW_AT_A_TIME as exc:
            if len(batch) == 1:
                _answer(batch[0], exc)
            else:
                for waiting in batch:
                    await self._insert(fed, wake, [waiting])
            return
        except Exception as exc:  # the database failed: each request answers it as before
            for waiting in batch:
                _answer(waiting, exc)
            return
        except asyncio.CancelledError:  # the loop is closing: so are the requests
            for waiting in batch:
                waiting.result.cancel()
            raise
        for waiting, result in zip(batch, results, strict=True):
            _answer(waiting, result)
        if "stored" in results and not notify:
            wake.follow(fed.pool)


def _answer(waiting: _Waiting, outcome: str | BaseException) -> None:
    if waiting.result.done():
        return  # its request was cancelled (the peer hung up); the row is stored anyway
    if isinstance(outcome, BaseException):
        waiting.result.set_exception(outcome)
    else:
        waiting.result.set_result(outcome)


@dataclass
class NodeInbox:
    """What one node's inboxes keep between requests (several nodes share a test process)."""

    keys: KeyCache = field(default_factory=KeyCache)
    wake: WakeUps = field(default_factory=WakeUps)
    batches: Batches = field(default_factory=Batches)


def open_policies(settings: Settings) -> list[str]:
    """The policies ("" for none) under which `policy.is_allowed` lets another domain in,
    so the insert can apply the rule itself."""
    return permitted(settings)


def permitted_policies(settings: Settings, domain: str) -> list[str] | None:
    """`open_policies`, or None for no gate (our own domain).
    test_inbox checks the two agree with `policy.is_allowed` for every mode and policy."""
    if domain == settings.domain:
        return None
    return open_policies(settings)


async def store(
    fed: Federation, inbox: NodeInbox, signer: RemoteActor, incoming: Incoming, body: bytes
) -> bool:
    """Domain policy and the idempotent insert in one statement (shared with other requests
    when busy, see `Batches`); True when new."""
    item = q.NewItem(
        incoming.id,
        incoming.actor,
        body.decode(),  # the body as sent: it parsed as JSON, so PostgreSQL reads it as is
        domain=signer.domain,
        gated=permitted_policies(fed.settings, signer.domain) is not None,
    )
    try:
        result = await inbox.batches.store(fed, inbox.wake, item)
    except asyncpg.UntranslatableCharacterError:
        # valid JSON that jsonb cannot hold: a \u0000 escape
        raise InboxRefused(400, "the activity contains a NUL character") from None
    if result == "refused":
        raise InboxRefused(
            403, f"this node does not federate with {signer.domain}", reason="domain_policy"
        )
    if result == "suspended":
        raise InboxRefused(
            403, f"{incoming.actor} is suspended on this node", reason="suspended_actor"
        )
    return result == "stored"


async def receive(fed: Federation, inbox: NodeInbox, request: SignedRequest) -> bool:
    """Run every check on a read body, then store; True when new, False when seen before.

    Raises InboxRefused with the status to answer, or Dropped (answer 202, store nothing).
    """
    incoming = parse_activity(request.body)
    signer = await authenticate(fed, inbox.keys, request, incoming)
    check_signer_is_actor(signer, incoming)
    check_id_on_actor_host(incoming)
    return await store(fed, inbox, signer, incoming, request.body)
