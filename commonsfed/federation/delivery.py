"""Delivering activities: claim due deliveries, sign, POST, classify the answer, record it.

The queue is the `deliveries` table (see `commonsfed.db.deliveries`), so any number of
workers in any number of processes share it. A worker is steppable, as microblog.pub's
`fetch_next_outgoing` / `process_next_outgoing` are: `tick()` claims a batch, sends it
and records each outcome as it comes in; a runner (`federation.workers`) loops over
`tick()` and calls `heartbeat()` on a timer, and tests call both directly, never sleeping.

Within a batch the three steps overlap, so that a fan-out uses every core: the batch is
signed in one thread per core (`federation.signing`), and each delivery is sent as soon as
it is signed and its host's turn comes (`federation.lanes`: one host's deliveries go one
after another over one kept-alive connection, hosts in parallel), while the outcomes that
came in are recorded. A claim takes a host's other due deliveries with the ones it claims,
so a host without a shared inbox gets its followers' deliveries over one connection.

Delivery is at least once: a worker that dies mid-batch leaves its claimed rows to come due
again when its lease ends, and what it sent but had not recorded goes twice. Two things keep
that small. The lease is short and renewed by the heartbeat while the batch is in flight
(`federation.claims`), so the rows of a dead worker wait less than a minute, not five. And
outcomes are written as they come in, not once the whole batch is done
(`DeliveryWorker._record_as_they_come`): a success is recorded a few milliseconds after the
peer's answer, in one transaction with whatever else answered meanwhile, so only the
answers of that moment can go twice.

What an answer means (INTEROP "Delivery", as Mastodon and microblog.pub judge it):

- 2xx: done.
- 429, 503: retry when `Retry-After` says (seconds or an HTTP date, at least 30 s, at
  most 6 h), or by the schedule below when it is missing or unreadable.
- other 5xx, 408, 401, timeouts, refused connections, other network errors: retry by the
  schedule. 401 because the peer may not have fetched our key yet (a race Mastodon's
  own delivery retries too).
- other 4xx (and 1xx, 3xx: an inbox that redirects cannot be followed, the signature
  covers the path): give up. So do `AddressNotAllowed` and any other refusal of ours.

The retry schedule: the wait after the n-th failed attempt is 30 s * 2^(n-1), at most 6 h,
each wait ±20 % jitter so that a peer back from an outage is not hit by every retry at
once. Nominal times (no jitter) from the first attempt:

    failed attempt   wait       next attempt at
         1           30 s          0:00:30
         2           1 min         0:01:30
         3           2 min         0:03:30
         4           4 min         0:07:30
         5           8 min         0:15:30
         6           16 min        0:31:30
         7           32 min        1:03:30
         8           1 h 04        2:07:30
         9           2 h 08        4:15:30
        10           4 h 16        8:31:30
        11-16        6 h          14:31:30 ... 44:31:30
        17           -             give up: the next try would be past 48 h

That is 17 attempts over about 44.5 hours: "about two days", as Mastodon retries. The
window counts from the delivery's `created_at`, so long Retry-After waits use it up too.

Hosts: a host that fails `PARK_AFTER_FAILURES` times in a row over more than
`PARK_AFTER` (6 failures over more than an hour) is parked: nothing is claimed for it
until `parked_until`. Then ONE delivery, its oldest due one, goes as a probe. A probe
that gets any answer (a host that answers with a 4xx is up, too) unparks the host; a
probe that fails parks it again, for as long as the host has been failing (so about
1 h, 2 h, 4 h ... at most a day). Any answer from a host resets its failures.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal

import aiohttp
import asyncpg
import orjson
from cryptography.hazmat.primitives.asymmetric import rsa

from commonsfed import signatures
from commonsfed.config import Settings
from commonsfed.db import deliveries as q
from commonsfed.federation import claims, lanes
from commonsfed.federation.context import Federation
from commonsfed.federation.keys import NoSigningKey, signing_key_pem
from commonsfed.federation.signing import Signer, shared_signer
from commonsfed.federation.transport import CONNECTIONS_PER_HOST, TransportError

# A batch to more hosts than this is a fan-out: see DeliveryWorker._closing_hosts.
FEW_HOSTS = 16

log = logging.getLogger(__name__)

AS2_CONTENT_TYPE = "application/activity+json"

# --- The schedule ------------------------------------------------------------------------

BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=6)
JITTER = 0.2  # each wait is 80 % to 120 % of the nominal one
RETRY_WINDOW = timedelta(hours=48)
MAX_RETRY_AFTER = timedelta(hours=6)

PARK_AFTER_FAILURES = 6
PARK_AFTER = timedelta(hours=1)
PARK_MAX = timedelta(days=1)

# Statuses worth trying again besides 5xx: 401 (the peer may not have our key yet),
# 408 (request timeout), 429 (rate limited).
RETRY_STATUSES = frozenset({401, 408, 429})
# Statuses whose Retry-After we honour.
RETRY_AFTER_STATUSES = frozenset({429, 503})
# The peer was not reached or did not answer in time; anything else raised is a refusal
# (AddressNotAllowed, NoSigningKey, a bad inbox URL ...) and trying again cannot help.
NETWORK_ERRORS: tuple[type[BaseException], ...] = (aiohttp.ClientError, OSError, TimeoutError)
_NOT_NETWORK: tuple[type[BaseException], ...] = (aiohttp.InvalidURL,)

_EXPECTED_ERRORS = (*NETWORK_ERRORS, TransportError, NoSigningKey, signatures.SignatureError)

_SECONDS = re.compile(r"[0-9]{1,12}")


def backoff(attempts: int) -> timedelta:
    """The nominal wait after a failed attempt, when `attempts` attempts came before it."""
    return min(BASE_DELAY * 2 ** min(attempts, 30), MAX_DELAY)


def nominal_elapsed(attempts: int) -> timedelta:
    """How long after the first attempt attempt number `attempts + 1` nominally comes."""
    return sum((backoff(n) for n in range(attempts)), timedelta())


def jittered(wait: timedelta, rand: Callable[[], float]) -> timedelta:
    return wait * (1 + JITTER * (2 * rand() - 1))


def retry_after_delay(value: str | None, now: datetime) -> timedelta | None:
    """The wait a Retry-After header asks for (RFC 9110: seconds or an HTTP date),
    clamped to 30 s .. 6 h; None when missing or unreadable."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):
        wait = timedelta(seconds=min(int(value), MAX_RETRY_AFTER.total_seconds()))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        wait = (when if when.tzinfo else when.replace(tzinfo=UTC)) - now
    return min(max(wait, BASE_DELAY), MAX_RETRY_AFTER)


# --- Classifying ---------------------------------------------------------------------------

Kind = Literal["done", "retry", "give_up"]


@dataclass(frozen=True)
class Outcome:
    """What became of one attempt. `host_answered`: True when the host answered at all
    (it is up), False when it did not (it counts towards parking), None when we refused
    before sending (says nothing about the host)."""

    kind: Kind
    next_try_at: datetime | None = None
    status: int | None = None
    error: str | None = None
    host_answered: bool | None = None


def classify(
    status: int | None,
    error: BaseException | None,
    attempts: int,
    now: datetime,
    retry_after: str | None,
    rand: Callable[[], float] = random.random,
    *,
    first_try_at: datetime | None = None,
) -> Outcome:
    """Judge one attempt: the peer's `status`, or the `error` when there is none.

    `attempts`: attempts made before this one. `first_try_at`: when the delivery was
    first tried (its `created_at`); without it, the nominal schedule stands in.
    """
    answered = host_answered(status, error)
    if status is not None and 200 <= status < 300:
        return Outcome("done", status=status, host_answered=answered)
    reason = describe(status, error)
    if not is_retryable(status, error):
        return Outcome("give_up", status=status, error=reason, host_answered=answered)
    next_try_at = now + _wait(status, attempts, now, retry_after, rand)
    started = first_try_at or now - nominal_elapsed(attempts)
    if next_try_at - started > RETRY_WINDOW:
        reason = f"{reason}; gave up after {attempts + 1} attempts over two days"
        return Outcome("give_up", status=status, error=reason, host_answered=answered)
    return Outcome("retry", next_try_at, status, reason, answered)


def _wait(
    status: int | None,
    attempts: int,
    now: datetime,
    retry_after: str | None,
    rand: Callable[[], float],
) -> timedelta:
    asked = retry_after_delay(retry_after, now) if status in RETRY_AFTER_STATUSES else None
    return asked if asked is not None else jittered(backoff(attempts), rand)


def is_retryable(status: int | None, error: BaseException | None) -> bool:
    if status is not None:
        return status >= 500 or status in RETRY_STATUSES
    return _is_network_error(error)


def _is_network_error(error: BaseException | None) -> bool:
    return isinstance(error, NETWORK_ERRORS) and not isinstance(error, _NOT_NETWORK)


def host_answered(status: int | None, error: BaseException | None) -> bool | None:
    if status is None:
        return False if _is_network_error(error) else None
    return not (status >= 500 or status in (408, 429))


def describe(status: int | None, error: BaseException | None) -> str:
    if status is not None:
        return f"HTTP {status}"
    text = str(error) if error is not None else ""
    name = type(error).__name__ if error is not None else "no answer"
    return f"{name}: {text}"[:500] if text else name


def park_until(failures: int, failing_since: datetime, now: datetime) -> datetime | None:
    """Until when a failing host is parked, or None while it is still tried as usual.

    Parked for as long as it has been failing, at most PARK_MAX: each failed probe about
    doubles the next park."""
    failing_for = now - failing_since
    if failures < PARK_AFTER_FAILURES or failing_for <= PARK_AFTER:
        return None
    return now + min(failing_for, PARK_MAX)


# --- The worker ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """A claimed delivery. `claim` is the token our claim set: the renewing and finishing
    queries match on it, so a late worker cannot overwrite a newer claim's result."""

    id: int
    activity_uri: str
    inbox: str
    host: str
    attempts: int
    created_at: datetime
    claim: int
    actor_uri: str
    document: str  # the activity, as JSON text from the database
    probe: bool = False

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Delivery:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})

    @property
    def key_id(self) -> str:
        return f"{self.actor_uri}#main-key"


SigningKey = rsa.RSAPrivateKey | Exception  # the key, or why there is none


class DeliveryWorker:
    """Claims, signs, sends and records deliveries. Drive it with `tick()`, and keep its
    claims alive with `heartbeat()` every `heartbeat_every` seconds while it ticks."""

    channel = q.DELIVERY_CHANNEL

    def __init__(
        self,
        federation: Federation,
        *,
        lease: timedelta = claims.LEASE,
        heartbeat_every: timedelta = claims.HEARTBEAT_EVERY,
        batch: int = 200,
        per_host: int = 16,
        rand: Callable[[], float] = random.random,
        signer: Signer | None = None,
    ) -> None:
        self.federation = federation
        self.lease = lease
        self.heartbeat_every = heartbeat_every.total_seconds()
        self.batch = batch
        self.per_host = per_host  # a host's due deliveries claimed with one of them, at most
        self._rand = rand
        self._claimed: list[Delivery] = []  # claimed by fetch_next, not yet handed out
        self._held: claims.Held[Delivery] = claims.Held("deliveries")  # claimed, not recorded
        self._keys = _KeyCache()
        self._signer = signer or shared_signer()

    async def fetch_next(self) -> Delivery | None:
        """The next delivery this worker holds, claiming a batch when it holds none."""
        if not self._claimed:
            self._claimed = await self._claim()
        return self._claimed.pop(0) if self._claimed else None

    async def process_one(self, delivery: Delivery) -> Outcome:
        """Sign and send one claimed delivery, and record what became of it."""
        (outcome,) = await self._process([delivery])
        return outcome

    async def tick(self) -> bool:
        """Claim a batch (or take what fetch_next left), send it, record it.
        True when there was something to do."""
        batch, self._claimed = self._claimed, []
        batch = batch or await self._claim()
        if batch:
            await self._process(batch)
        return bool(batch)

    async def heartbeat(self) -> int:
        """Renew the lease of every delivery this worker holds (claimed, not yet recorded);
        returns how many it still holds. Those another worker took over are let go, with
        one warning: their outcomes here are not recorded, and the ones not yet sent are
        not sent."""
        held = self._held.items()
        if not held:
            return 0
        rows = [(d.id, d.claim, d.host if d.probe else None) for d in held]
        async with self.federation.pool.acquire() as conn:
            kept = await q.renew_claims(conn, rows, self.lease)
        if self._held.renewed(held, kept):
            self._claimed = [d for d in self._claimed if d.id in self._held]
        return len(self._held)

    async def release_claims(self) -> int:
        """Give back what this worker holds and has not recorded (on shutdown, once its
        ticks have ended): due again at once, with no attempt counted."""
        self._claimed = []
        held = self._held.let_go_all()
        if not held:
            return 0
        async with self.federation.pool.acquire() as conn:
            return await q.release_claims(conn, [(d.id, d.claim) for d in held])

    async def _claim(self) -> list[Delivery]:
        async with self.federation.pool.acquire() as conn:
            rows = await q.claim_due(conn, self.batch, self.lease, self.per_host)
        batch = [Delivery.from_row(row) for row in rows]
        self._held.hold(batch)
        return batch

    async def _process(self, batch: Sequence[Delivery]) -> list[Outcome]:
        try:
            return await self._send_and_record(batch)
        except Exception:
            # What failed to be recorded (the database is gone, a bug) is let go, so that
            # the heartbeat stops renewing it: its leases run out and it is tried again.
            # A cancelled tick (shutdown) keeps it, for `release_claims` to give back.
            for delivery in batch:
                self._held.let_go(delivery.id)
            raise

    async def _send_and_record(self, batch: Sequence[Delivery]) -> list[Outcome]:
        keys = await self._signing_keys({d.actor_uri for d in batch})
        documents = {d.activity_uri: d.document for d in batch}  # one body an activity
        bodies = {uri: _body(document) for uri, document in documents.items()}
        hosts = lanes.by_host(batch, lambda d: d.host)
        # Signed on every core (federation.signing), first deliveries of every host first;
        # each is sent as soon as it is signed and its host's lane is free, so signing,
        # sending and recording overlap instead of following one another
        signing = self._signer.sign(
            lanes.round_robin(list(hosts.values())),
            lambda d: _sign(d, keys[d.actor_uri], bodies[d.activity_uri]),
            lambda d: d.id,
        )
        closing = self._closing_hosts(hosts)
        turns = {
            host: lanes.Lane(CONNECTIONS_PER_HOST, turns=len(group) if host in closing else 0)
            for host, group in hosts.items()
        }
        sends = {
            asyncio.create_task(
                self._send_in_turn(d, signing[d.id], turns[d.host], bodies[d.activity_uri])
            ): d
            for d in batch
        }
        try:
            outcomes = await self._record_as_they_come(sends)
        finally:
            for future in signing.values():
                future.cancel()  # no-op for those signed; the rest are not waited for
        return [outcomes[d.id] for d in batch]

    def _closing_hosts(self, hosts: dict[str, list[Delivery]]) -> set[str]:
        """The hosts whose connection closes after their last delivery of the batch: in a
        batch to more than FEW_HOSTS hosts (a fan-out), those whose due deliveries the claim
        took all of (it takes up to `per_host` more with the first). Kept alive, they would
        idle with nothing to send, thousands of sockets and their memory for
        KEEPALIVE_SECONDS after a fan-out; a batch to a few hosts keeps its connections for
        the next one."""
        if len(hosts) <= FEW_HOSTS:
            return set()
        return {host for host, group in hosts.items() if len(group) <= self.per_host}

    async def _send_in_turn(
        self, delivery: Delivery, signing: asyncio.Future[Signed], lane: lanes.Lane, body: bytes
    ) -> Outcome:
        headers = await signing
        async with lane.turn() as last:
            if last and not isinstance(headers, Exception):
                headers = headers | {"Connection": "close"}
            return await self._deliver(delivery, headers, body)

    async def _record_as_they_come(
        self, sends: dict[asyncio.Task[Outcome], Delivery]
    ) -> dict[int, Outcome]:
        """Record outcomes as the sends finish: wait for one, then write it with every other
        that has finished meanwhile, in one transaction. The answers that come in while a
        write is on its way make the next one (group commit, as `federation.inbox.Batches`
        stores activities), so each is recorded within a write's time of its answer. A
        write apiece (a commit and its round trips) cost bench/delivery.py about 0.4 ms
        more of our CPU per delivery, more than signing it, and half its rate; grouped, a
        quick peer's batch of 100 goes in two or three writes. Returns the outcomes by id."""
        outcomes: dict[int, Outcome] = {}
        waiting = set(sends)
        try:
            while waiting:
                finished, waiting = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                pairs = [(sends[task], task.result()) for task in finished]
                outcomes.update((d.id, outcome) for d, outcome in pairs)
                await self._record(pairs)
        finally:
            for task in waiting:  # the tick was cancelled, or a write failed
                task.cancel()
        return outcomes

    async def _signing_keys(self, actors: set[str]) -> dict[str, SigningKey]:
        settings = self.federation.settings
        async with self.federation.pool.acquire() as conn:
            return {actor: await self._keys.get(conn, settings, actor) for actor in actors}

    async def _deliver(self, delivery: Delivery, headers: Signed, body: bytes) -> Outcome:
        started = time.perf_counter()
        status, retry_after, error = await self._attempt(delivery, headers, body)
        self.federation.metrics.delivery_seconds.observe(time.perf_counter() - started)
        return classify(
            status,
            error,
            delivery.attempts,
            _utcnow(),
            retry_after,
            self._rand,
            first_try_at=delivery.created_at,
        )

    async def _attempt(
        self, delivery: Delivery, headers: Signed, body: bytes
    ) -> tuple[int | None, str | None, BaseException | None]:
        """(status, Retry-After, None) from the peer, or (None, None, what went wrong)."""
        if isinstance(headers, Exception):
            return None, None, headers
        try:
            return *await self._post(delivery.inbox, headers, body), None
        except _EXPECTED_ERRORS as exc:
            return None, None, exc
        except Exception as exc:  # a bug must cost one delivery, never the whole queue
            log.exception("delivering %s to %s failed", delivery.activity_uri, delivery.inbox)
            return None, None, exc

    async def _post(
        self, inbox: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, str | None]:
        session = self.federation.session
        async with session.post(
            inbox, data=body, headers=headers, allow_redirects=False
        ) as response:
            # read the (short) answer, so that the connection goes back to the pool
            await response.content.read(_MAX_ANSWER)
            return response.status, response.headers.get("Retry-After")

    async def _record(self, pairs: Sequence[Pair]) -> None:
        """Write outcomes that came in together, and what they say about their hosts, in one
        transaction. A delivery a heartbeat found taken over is left to its new owner."""
        for _, outcome in pairs:  # attempts made, recorded here or not
            self.federation.metrics.count_delivery(outcome.kind)
        pairs = [(d, o) for d, o in pairs if self._held.let_go(d.id)]
        if not pairs:
            return
        async with self.federation.pool.acquire() as conn, conn.transaction():
            await q.commit_without_waiting(conn)
            recorded = await _record_deliveries(conn, pairs)
            results = _host_results(pairs)
            if results:
                await _park_failing(conn, await q.record_host_results(conn, results))
        if recorded < len(pairs):
            log.warning(
                "%d delivery outcomes not recorded: their claims ran out and another worker "
                "took them over",
                len(pairs) - recorded,
            )
        _log_outcomes(pairs)


_MAX_ANSWER = 64 * 1024


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _body(document: str) -> bytes:
    return orjson.dumps(orjson.loads(document))


Signed = dict[str, str] | Exception  # the headers to send, or why there are none


def _sign(delivery: Delivery, key: SigningKey, body: bytes) -> Signed:
    """The headers of the POST, signed as Mastodon signs (draft-cavage, rsa-sha256)."""
    if isinstance(key, Exception):
        return key
    headers = {"Content-Type": AS2_CONTENT_TYPE}
    try:
        signed = signatures.sign_cavage("POST", delivery.inbox, headers, body, delivery.key_id, key)
    except signatures.SignatureError as exc:  # an inbox URL we cannot sign for
        return exc
    return headers | signed


class _KeyCache:
    """PEM -> key object: parsing an RSA PEM takes milliseconds, signing much less.
    The PEM itself is read per batch, so a key that changes is picked up at once."""

    _MAX = 256

    def __init__(self) -> None:
        self._by_pem: dict[str, rsa.RSAPrivateKey] = {}

    async def get(self, conn: asyncpg.Connection, settings: Settings, actor_uri: str) -> SigningKey:
        try:
            pem = await signing_key_pem(conn, settings, actor_uri)
            return self._by_pem.get(pem) or self._load(pem)
        except (NoSigningKey, signatures.SignatureError) as exc:
            return exc

    def _load(self, pem: str) -> rsa.RSAPrivateKey:
        if len(self._by_pem) >= self._MAX:
            self._by_pem.pop(next(iter(self._by_pem)))
        self._by_pem[pem] = signatures.private_key_from_pem(pem)
        return self._by_pem[pem]


# --- Recording -------------------------------------------------------------------------------

Pair = tuple[Delivery, Outcome]


async def _record_deliveries(conn: asyncpg.Connection, pairs: Sequence[Pair]) -> int:
    """Write each delivery's outcome; returns how many rows were still under our claim."""
    done = [(d.id, d.claim, o.status) for d, o in pairs if o.kind == "done"]
    retry = [
        (d.id, d.claim, o.status, o.error, o.next_try_at) for d, o in pairs if o.kind == "retry"
    ]
    failed = [(d.id, d.claim, o.status, o.error) for d, o in pairs if o.kind == "give_up"]
    recorded = 0
    if done:
        recorded += await q.mark_done(conn, done)
    if retry:
        recorded += await q.schedule_retries(conn, retry)
    if failed:
        recorded += await q.mark_failed(conn, failed)
    return recorded


def _host_results(pairs: Sequence[Pair]) -> list[tuple[str, bool, int, str | None]]:
    """(host, answered, failures, last error) for each host these outcomes say something
    about. Outcomes are written in the order they came in, so a host's failures add up
    over the writes of a batch, and count those since its last answer."""
    seen: dict[str, tuple[bool, int, str | None]] = {}
    for delivery, outcome in pairs:
        if outcome.host_answered is None:
            continue
        answered, failures, error = seen.get(delivery.host, (False, 0, None))
        if outcome.host_answered:
            seen[delivery.host] = (True, 0, None)
        elif not answered:
            seen[delivery.host] = (False, failures + 1, outcome.error)
    return [(host, *result) for host, result in seen.items()]


async def _park_failing(conn: asyncpg.Connection, hosts: Sequence[asyncpg.Record]) -> None:
    for host in hosts:
        if not host["consecutive_failures"]:
            continue
        now = host["now"]
        until = park_until(host["consecutive_failures"], host["failing_since"], now)
        if until is None:
            continue
        await q.park_host(conn, host["host"], until)
        stale = await q.fail_stale_for_host(
            conn, host["host"], now - RETRY_WINDOW, "gave up: the host kept failing for two days"
        )
        log.warning(
            "parked %s until %s after %d failures since %s (%d stale deliveries given up)",
            host["host"],
            until,
            host["consecutive_failures"],
            host["failing_since"],
            stale,
        )


def _log_outcomes(pairs: Sequence[Pair]) -> None:
    for delivery, outcome in pairs:
        if outcome.kind == "give_up":
            log.info(
                "gave up delivering %s to %s: %s",
                delivery.activity_uri,
                delivery.inbox,
                outcome.error,
            )
        elif delivery.probe and outcome.host_answered:
            log.info("%s answers again: unparked", delivery.host)
