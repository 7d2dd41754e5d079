"""Handling a batch of stored activities: what the inbox worker does with what it claimed.

One item at a time, an activity cost the worker some eight round trips to PostgreSQL and a
commit of its own (claim, signer, tombstone, object, BEGIN, INSERT, COMMIT, finish), and
the waits, not the work, set the pace. A batch shares them:

1. each item is read as JSON-LD on its own (one that cannot be read fails alone);
2. the batch's signers are read in one query;
3. the batch is cut into waves (`waves`): an item whose footprint (the ids it reads or
   writes, see `footprint`) meets one of an earlier item of the wave starts the next wave,
   so a Create and the Delete of the same note, or a Follow and its Undo, are still handled
   in the order they came, each seeing what the one before it wrote;
4. for a wave, what its verifies would each read (objects, tombstones, the types of objects
   given by id) is read in a few set-based queries (`federation.known.Known`), then every
   verify of the wave runs at once: one that fetches from a slow peer holds up the wave,
   not each item behind it in turn;
5. the plans are written in one transaction. When one write fails, that transaction is
   rolled back and each plan is written in a transaction of its own, so the failure is
   only its own item's;
6. the wave's outcomes are recorded together (the worker's `record`), as the wave ends.

The handler table keeps its verify/receive split (`federation.handlers`): verifies only
read, receives only write, so a wave's writes can share a transaction.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from commonsfed.ap import jsonld
from commonsfed.ap.actors import RemoteActor
from commonsfed.ap.jsonld import first_id
from commonsfed.db import actors as actors_q
from commonsfed.federation.context import Federation
from commonsfed.federation.errors import Refused, Retry
from commonsfed.federation.known import Known

log = logging.getLogger(__name__)

# Retries start at a minute and double up to six hours; after a day an item is failed.
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY_DELAY = timedelta(hours=6)
GIVE_UP_AFTER = timedelta(days=1)
MAX_ERROR = 500

Handle = Callable[[Federation, dict[str, Any], RemoteActor | None], Awaitable[str]]
# A database that stops answering is not the activity's fault: try again later.
_INFRASTRUCTURE_ERRORS = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.ConnectionDoesNotExistError,
)
# The activities whose object's id names a remote object or its tombstone, which their
# verifies look up (`federation.known`).
_OBJECT_READERS = frozenset({"Create", "Update", "Delete", "Announce"})


@dataclass(frozen=True)
class InboxItem:
    id: int
    activity_id: str
    actor_uri: str
    activity: dict[str, Any]
    attempts: int  # including this claim
    received_at: datetime
    claim: int  # this claim's token, which renewing and finishing must still match


@dataclass(frozen=True)
class Outcome:
    state: str  # done, unhandled, failed, or pending (retry at `next_try_at`)
    error: str | None = None
    next_try_at: datetime | None = None


DONE = Outcome("done")

Record = Callable[[Sequence[tuple[InboxItem, Outcome]]], Awaitable[None]]


def activity_pair(activity: dict[str, Any]) -> tuple[str, str | None]:
    """(type, object type) as the handler table keys it; None for an object given by URI."""
    obj = activity.get("object")
    object_type = obj.get("type") if isinstance(obj, dict) else None
    return str(activity.get("type")), None if object_type is None else str(object_type)


def retry_at(item: InboxItem, now: datetime, jitter: float | None = None) -> datetime | None:
    """When to try again after a temporary failure, or None once a day has gone by.

    Jitter spreads the retries of a burst (a peer that was down) so they do not come back
    together."""
    jitter = random.uniform(0.8, 1.2) if jitter is None else jitter
    delay = min(FIRST_RETRY * 2 ** max(item.attempts - 1, 0), MAX_RETRY_DELAY) * jitter
    when = now + delay
    return None if when - item.received_at > GIVE_UP_AFTER else when


def short(text: str) -> str:
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"


# --- footprints and waves ------------------------------------------------------------------


# Activities whose order among one actor's others does not matter beyond the ids they name:
# the bulk of what arrives. Any other (a Follow, an Accept, an Offer, an Undo, a Block...)
# is taken in its actor's order, after what came before it.
_BY_IDS = frozenset({"Create", "Update", "Delete", "Like", "Announce"})


@dataclass(frozen=True)
class Footprint:
    """What an activity's verify may read that an earlier item's receive writes: the ids
    its object, target and result name (and, for an embedded object, its own object: an
    Undo's Follow names whom it followed); and the whole actor, for an activity about its
    actor itself (an Update or Delete of the actor) or of a type outside `_BY_IDS`. Replies
    need no more: what two replies to one listing both write (an answer, the automatic
    message) is decided by their receives, under the listing's lock or a unique key, as
    when two workers handle them at once."""

    ids: frozenset[str] = frozenset()
    actor: str = ""
    whole_actor: bool = False


def footprint(activity: dict[str, Any]) -> Footprint:
    actor = str(activity.get("actor") or "")
    obj = activity.get("object")
    ids = {first_id(activity.get(key)) for key in ("object", "target", "result")}
    for embedded in jsonld.as_list(obj):
        if isinstance(embedded, dict):
            ids.add(first_id(embedded.get("object")))
    whole_actor = first_id(obj) == actor or activity.get("type") not in _BY_IDS
    return Footprint(frozenset(i for i in ids if i), actor, whole_actor)


@dataclass
class Job:
    """One item of a batch on its way through: its document once read, its handler and
    plan once verified, its outcome once known."""

    item: InboxItem
    document: dict[str, Any] | None = None
    footprint: Footprint = field(default_factory=Footprint)
    outcome: Outcome | None = None
    handler: Any = None  # federation.handlers.Handler
    plan: Any = None


def waves(jobs: Sequence[Job]) -> Iterator[list[Job]]:
    """The jobs in order, cut where one's footprint meets an earlier one's of the same wave."""
    wave: list[Job] = []
    ids: set[str] = set()
    actors: set[str] = set()
    whole: set[str] = set()
    for job in jobs:
        mark = job.footprint
        if wave and (
            mark.ids & ids or mark.actor in whole or (mark.whole_actor and mark.actor in actors)
        ):
            yield wave
            wave, ids, actors, whole = [], set(), set(), set()
        wave.append(job)
        ids |= mark.ids
        actors.add(mark.actor)
        if mark.whole_actor:
            whole.add(mark.actor)
    if wave:
        yield wave


# --- the batch -----------------------------------------------------------------------------


class Batch:
    """Handles claimed items and hands each wave's outcomes to `record`. `handle`, when
    given, stands in for the whole handler table (verify and receive) for every item."""

    def __init__(self, fed: Federation, record: Record, handle: Handle | None = None) -> None:
        self.fed = fed
        self._record = record
        self._handle = handle

    async def run(self, items: Sequence[InboxItem]) -> list[Outcome]:
        jobs = [_read(item) for item in items]
        signers = await self._signers(jobs)
        for wave in waves(jobs):
            started = asyncio.get_running_loop().time()
            await self._run_wave(wave, signers)
            seconds = asyncio.get_running_loop().time() - started
            for job in wave:
                self.fed.metrics.inbox_handled.labels(job.outcome.state).observe(seconds)
            await self._record([(job.item, job.outcome) for job in wave])
        return [job.outcome for job in jobs]

    async def _signers(self, jobs: Sequence[Job]) -> dict[str, RemoteActor]:
        # the web process verified the signers and cached them; handlers need their inboxes
        wanted = sorted({job.item.actor_uri for job in jobs if job.outcome is None})
        if not wanted:
            return {}
        async with self.fed.pool.acquire() as conn:
            return await actors_q.get_remote_actors(conn, wanted)

    async def _run_wave(self, wave: list[Job], signers: dict[str, RemoteActor]) -> None:
        open_jobs = [job for job in wave if job.outcome is None]
        if not open_jobs:
            return
        fed = await self._with_known(open_jobs)
        await asyncio.gather(
            *(self._verify(fed, job, signers.get(job.item.actor_uri)) for job in open_jobs)
        )
        await self._write(fed, [job for job in open_jobs if job.outcome is None])

    async def _with_known(self, jobs: Sequence[Job]) -> Federation:
        """The federation with what these jobs' verifies would read (`federation.known`)."""
        if self._handle is not None:
            return self.fed
        objects, by_id = set(), set()
        for job in jobs:
            target = job.document.get("object")
            uri = first_id(target)
            if uri is None or self.fed.uris.is_local(uri):
                continue
            if job.document.get("type") in _OBJECT_READERS:
                objects.add(uri)
            if isinstance(target, str) and uri != job.item.actor_uri:
                by_id.add(uri)
        if not objects and not by_id:
            return self.fed
        async with self.fed.pool.acquire() as conn:
            known = await Known.read(conn, objects, by_id)
        return dataclasses.replace(self.fed, known=known)

    async def _verify(self, fed: Federation, job: Job, signer: RemoteActor | None) -> None:
        try:
            if self._handle is not None:
                job.outcome = classify(await self._handle(fed, job.document, signer), job)
                return
            verified = await _handlers().verify_activity(fed, job.document, signer)
        except Exception as exc:
            job.outcome = judge(job.item, exc)
            return
        if isinstance(verified, str):
            job.outcome = classify(verified, job)
        else:
            job.handler, job.plan = verified

    async def _write(self, fed: Federation, jobs: list[Job]) -> None:
        """Every plan in one transaction; if one fails, each in a transaction of its own."""
        if not jobs:
            return
        try:
            async with fed.pool.acquire() as conn, conn.transaction():
                for job in jobs:
                    await job.handler.receive(conn, fed, job.document, job.plan)
        except Exception as exc:
            if len(jobs) == 1:
                jobs[0].outcome = judge(jobs[0].item, exc)
                return
            log.info("a batch's writes failed together (%s): writing them one by one", exc)
            for job in jobs:
                await _write_one(fed, job)
            return
        for job in jobs:
            job.outcome = DONE


async def _write_one(fed: Federation, job: Job) -> None:
    try:
        async with fed.pool.acquire() as conn, conn.transaction():
            await job.handler.receive(conn, fed, job.document, job.plan)
    except Exception as exc:
        job.outcome = judge(job.item, exc)
    else:
        job.outcome = DONE


def _read(item: InboxItem) -> Job:
    try:
        document = jsonld.normalise(item.activity)
    except jsonld.JsonLdError as exc:
        return Job(item, outcome=Outcome("failed", short(f"not readable as JSON-LD: {exc}")))
    # The inbox verified the signer as this very id; an embedded actor object (some
    # servers send one) is never trusted, and the handlers read `actor` as a URI.
    document = {**document, "actor": item.actor_uri}
    return Job(item, document, footprint(document))


def _handlers():
    # Imported on first use: the handlers pull in the services, which the web process's
    # inbox never needs.
    from commonsfed.federation import handlers

    return handlers


# --- judging ---------------------------------------------------------------------------------


def classify(result: str, job: Job) -> Outcome:
    """The outcome of a handler's answer: "done", or anything else is unhandled."""
    if result == "done":
        return DONE
    kind, object_type = activity_pair(job.document)
    # never dropped silently: admins see the pair in `commonsfed queue`
    return Outcome("unhandled", short(f"no handler for ({kind}, {object_type or '-'})"))


def judge(item: InboxItem, exc: Exception) -> Outcome:
    """The outcome of an item whose verify or write raised `exc`."""
    if isinstance(exc, Retry):
        return _retry(item, f"temporary failure: {exc}")
    if isinstance(exc, _INFRASTRUCTURE_ERRORS):
        return _retry(item, f"database unavailable: {exc}")
    if isinstance(exc, Refused):
        return Outcome("failed", short(f"refused: {exc}"))
    log.error("inbox item %d (%s) failed", item.id, item.activity_id, exc_info=exc)
    return Outcome("failed", short(f"{type(exc).__name__}: {exc}"))


def _retry(item: InboxItem, error: str) -> Outcome:
    when = retry_at(item, datetime.now(UTC))
    if when is None:
        return Outcome("failed", short(f"gave up after {item.attempts} tries: {error}"))
    return Outcome("pending", short(error), when)
