"""Sending queued mail: claim due mails, render them, hand them to the SMTP server, record
each outcome as it comes.

The queue is the `outgoing_mail` table (`db.mail`), worked as deliveries are
(`federation.delivery`): `fetch_next` / `process_one` / `classify`, a `tick()` that claims a
batch and sends it over one connection, claims under a short lease kept by `heartbeat()`
and fenced by a token (`federation.claims`), and a runner (`federation.workers`) that loops,
so tests step it and never sleep.

Each mail goes at most once per SMTP transaction that the server accepted: just before a
mail goes, its claim is renewed in the database (a worker that lost it to another sends
nothing), and right after the server's 250 it is recorded `sent`, in a transaction of its
own. Only a worker that dies between those two (or loses the database there) leaves a mail
that goes again once its lease ends.

What an attempt means:

- accepted: sent.
- the server was not reached, or the connection broke or timed out; a 4xx answer
  (greylisting, a full queue); and a 5xx about the node's own setup (authentication, the
  sender refused, STARTTLS missing): tried again by the schedule below, so that mail
  outlives an outage or a wrong password until an admin fixes it.
- a 5xx refusing the recipient or the message: given up (trying again cannot help), and so
  is a mail that cannot be rendered (a bug, logged) and one whose link has expired before
  it could go (`send_before`).

The schedule: the wait after the n-th failed attempt is 30 s * 2^(n-1), at most an hour
(Postfix's longest wait is about as long), each ±20 % jitter; given up once the next try
would come more than 48 hours after the mail was queued:

    failed attempt   wait      next attempt at
         1           30 s         0:00:30
         2           1 min        0:01:30
         3           2 min        0:03:30
         ...
         7           32 min       1:03:30
         8-53        1 h          2:03:30 ... 47:03:30
        54           -            given up: the next try would be past 48 h
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import aiosmtplib
import asyncpg
import orjson

from commonsfed.config import Settings
from commonsfed.db import mail as q
from commonsfed.federation import claims
from commonsfed.live_settings import refresh_settings
from commonsfed.services.mail import link_key, unsubscribe_token
from commonsfed.services.mail_transport import Send, Transport, compose, transport_for

log = logging.getLogger(__name__)

BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)
JITTER = 0.2
RETRY_WINDOW = timedelta(hours=48)


# --- Classifying ---------------------------------------------------------------------------

Kind = Literal["sent", "retry", "give_up"]


@dataclass(frozen=True)
class Outcome:
    kind: Kind
    next_try_at: datetime | None = None
    error: str | None = None


def backoff(attempts: int) -> timedelta:
    """The nominal wait after a failed attempt, when `attempts` attempts came before it."""
    return min(BASE_DELAY * 2 ** min(attempts, 30), MAX_DELAY)


def classify(
    error: BaseException | None,
    attempts: int,
    now: datetime,
    rand: Callable[[], float] = random.random,
    *,
    first_try_at: datetime,
) -> Outcome:
    """Judge one attempt by what went wrong (None: the server accepted the mail).
    `attempts`: attempts made before this one; `first_try_at`: when the mail was queued."""
    if error is None:
        return Outcome("sent")
    reason = describe(error)
    if not is_retryable(error):
        return Outcome("give_up", error=reason)
    next_try_at = now + backoff(attempts) * (1 + JITTER * (2 * rand() - 1))
    if next_try_at - first_try_at > RETRY_WINDOW:
        return Outcome("give_up", error=f"{reason}; gave up after {attempts + 1} attempts "
                                        "over two days")  # fmt: skip
    return Outcome("retry", next_try_at, reason)


def is_retryable(error: BaseException) -> bool:
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):  # every recipient refused
        return all(refused.code < 500 for refused in error.recipients)
    if isinstance(error, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError):
        return error.code < 500  # 5xx: this recipient, this message: never
    # any other answer (authentication, the sender, HELO), an SMTP server that lacks what we
    # need (STARTTLS), a network or TLS failure, a disk full (the dev mailbox)
    return isinstance(error, aiosmtplib.SMTPException | OSError | TimeoutError)


def describe(error: BaseException) -> str:
    """For the queue's `last_error` and the log: what the server or the network said (the
    SMTP password is in neither)."""
    text = str(error)
    return f"{type(error).__name__}: {text}"[:500] if text else type(error).__name__


# --- The worker ------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueuedMail:
    id: int
    account_id: int | None
    recipient: str
    template: str
    context: dict[str, Any]
    send_before: datetime | None
    attempts: int
    created_at: datetime
    claim: int
    language: str | None  # the recipient's, read as the mail is claimed (None: the node's)

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> QueuedMail:
        values = {name: row[name] for name in cls.__dataclass_fields__}
        return cls(**{**values, "context": orjson.loads(row["context"])})


def mail_workers(pool: asyncpg.Pool, settings: Settings) -> list[MailWorker]:
    """The mail worker for the entry points' worker lists; none when the node has no way to
    send mail (a public node without COMMONSFED_SMTP_URL), so its queue waits for one."""
    transport = transport_for(settings)
    return [MailWorker(pool, settings, transport)] if transport is not None else []


class MailWorker:
    """Claims, renders, sends and records mail. Drive it with `tick()`, and keep its claims
    alive with `heartbeat()` every `heartbeat_every` seconds while it ticks."""

    channel = q.MAIL_CHANNEL

    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: Settings,
        transport: Transport,
        *,
        lease: timedelta = claims.LEASE,
        heartbeat_every: timedelta = claims.HEARTBEAT_EVERY,
        batch: int = 20,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.transport = transport
        self.lease = lease
        self.heartbeat_every = heartbeat_every.total_seconds()
        self.batch = batch
        self._rand = rand
        self._claimed: list[QueuedMail] = []  # claimed by fetch_next, not yet handed out
        self._held: claims.Held[QueuedMail] = claims.Held("mails")
        self._link_key: bytes | None = None

    async def fetch_next(self) -> QueuedMail | None:
        """The next mail this worker holds, claiming a batch when it holds none."""
        if not self._claimed:
            self._claimed = await self._claim()
        return self._claimed.pop(0) if self._claimed else None

    async def process_one(self, mail: QueuedMail) -> Outcome | None:
        """Send one claimed mail over a connection of its own and record what became of it;
        None when another worker took it over meanwhile (then it is not sent here)."""
        return (await self._process([mail]))[0]

    async def tick(self) -> bool:
        """Claim a batch (or take what fetch_next left), send it over one connection, record
        each outcome as it comes. True when there was something to do."""
        await refresh_settings(self.settings, self.pool)  # the node's name, in every mail
        batch, self._claimed = self._claimed, []
        batch = batch or await self._claim()
        if batch:
            await self._process(batch)
        return bool(batch)

    async def heartbeat(self) -> int:
        """Renew the lease of every mail this worker holds; returns how many it still holds.
        Those another worker took over are let go (and not sent here)."""
        held = self._held.items()
        if not held:
            return 0
        async with self.pool.acquire() as conn:
            kept = await q.renew_claims(conn, [(m.id, m.claim) for m in held], self.lease)
        if self._held.renewed(held, kept):
            self._claimed = [m for m in self._claimed if m.id in self._held]
        return len(self._held)

    async def release_claims(self) -> int:
        """Give back what this worker holds and has not recorded (on shutdown)."""
        self._claimed = []
        held = self._held.let_go_all()
        if not held:
            return 0
        async with self.pool.acquire() as conn:
            return await q.release_claims(conn, [(m.id, m.claim) for m in held])

    async def _claim(self) -> list[QueuedMail]:
        async with self.pool.acquire() as conn:
            rows = await q.claim_due(conn, self.batch, self.lease)
        batch = [QueuedMail.from_row(row) for row in rows]
        self._held.hold(batch)
        return batch

    async def _process(self, batch: Sequence[QueuedMail]) -> list[Outcome | None]:
        outcomes: dict[int, Outcome | None] = {}
        try:
            async with self.transport.connect() as send:
                for mail in batch:
                    outcomes[mail.id] = await self._send_and_record(send, mail)
        except Exception as exc:
            if not isinstance(exc, aiosmtplib.SMTPException | OSError | TimeoutError):
                # the database failed, or a bug: what is not recorded is let go, so that the
                # heartbeat stops renewing it and it comes due again when its lease ends
                for mail in batch:
                    self._held.let_go(mail.id)
                raise
            # no connection, or it broke: the mails not sent yet are tried again later
            log.warning("mail: %s; %d mails not sent", describe(exc), len(batch) - len(outcomes))
            for mail in batch:
                if mail.id not in outcomes:
                    outcomes[mail.id] = await self._record(mail, self._judge(mail, exc))
        return [outcomes[mail.id] for mail in batch]

    async def _send_and_record(self, send: Send, mail: QueuedMail) -> Outcome | None:
        if mail.send_before is not None and _utcnow() >= mail.send_before:
            error = "its link expired before it could be sent"
            return await self._record(mail, Outcome("give_up", error=error))
        if not await self._still_ours(mail):
            return None
        try:
            message = compose(self.settings, mail_id=mail.id, recipient=mail.recipient,
                              template=mail.template, context=mail.context,
                              created_at=mail.created_at, language=mail.language,
                              unsubscribe_url=await self._unsubscribe_url(mail))  # fmt: skip
        except Exception as exc:  # a bug must cost one mail, never the queue
            log.exception("mail %d (%s) cannot be rendered", mail.id, mail.template)
            return await self._record(mail, Outcome("give_up", error=describe(exc)))
        try:
            await send(message)
        except (aiosmtplib.SMTPServerDisconnected, ConnectionError, TimeoutError):
            raise  # the connection is gone: this mail and the rest are retried
        except Exception as exc:
            return await self._record(mail, self._judge(mail, exc))
        return await self._record(mail, Outcome("sent"))

    def _judge(self, mail: QueuedMail, error: BaseException) -> Outcome:
        return classify(error, mail.attempts, _utcnow(), self._rand, first_try_at=mail.created_at)

    async def _still_ours(self, mail: QueuedMail) -> bool:
        """Renew the claim right before the mail goes: a worker that stalled past its lease
        finds the mail claimed by another, and lets it go unsent."""
        if mail.id not in self._held:
            return False
        async with self.pool.acquire() as conn:
            kept = await q.renew_claims(conn, [(mail.id, mail.claim)], self.lease)
        if mail.id not in kept and self._held.let_go(mail.id):
            log.warning("mail %d was taken over by another worker; not sent here", mail.id)
        return mail.id in kept

    async def _unsubscribe_url(self, mail: QueuedMail) -> str | None:
        choice = mail.context.get("choice") if mail.template == "notification" else None
        if choice is None or mail.account_id is None:
            return None
        if self._link_key is None:
            self._link_key = await link_key(self.pool)
        token = unsubscribe_token(self._link_key, mail.account_id, choice)
        return f"{self.settings.base_url}/mail/unsubscribe/{token}"

    async def _record(self, mail: QueuedMail, outcome: Outcome) -> Outcome | None:
        """Write one outcome at once (a sent mail is recorded within milliseconds of the
        server's answer); None when the claim was lost meanwhile and nothing was written."""
        if not self._held.let_go(mail.id):
            return None
        async with self.pool.acquire() as conn:
            if outcome.kind == "sent":
                recorded = await q.mark_sent(conn, mail.id, mail.claim)
            elif outcome.kind == "retry":
                recorded = await q.schedule_retry(
                    conn, mail.id, mail.claim, outcome.error or "", outcome.next_try_at
                )
            else:
                recorded = await q.mark_failed(conn, mail.id, mail.claim, outcome.error or "")
        if not recorded:
            log.warning("mail %d: outcome not recorded, another worker took it over", mail.id)
            return None
        if outcome.kind == "give_up":
            log.info("gave up mail %d (%s): %s", mail.id, mail.template, outcome.error)
        return outcome


def _utcnow() -> datetime:
    return datetime.now(UTC)
