"""Queries on the outgoing mail queue, and the function that queues a notification's mail.

The queue is worked as the delivery queue is (see `db.deliveries`): a due row is claimed with
a lease (`locked_until`) and a token (`claim`, from the `queue_claims` sequence) under
`FOR UPDATE SKIP LOCKED`; renewing, finishing and releasing match on the token, so a worker
whose lease ran out cannot overwrite what another one claimed since. A row says what to
send (a template under templates/mail/ and its context), and the worker renders it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import orjson

MAIL_CHANNEL = "commonsfed_mail"

# What a resident may choose to get by mail (accounts.mail_notifications), and which
# notification kinds each choice covers. Kinds left out (near_expiry) are never mailed.
MAIL_CHOICES = ("answer", "decision", "message", "mention", "match")
CHOICE_OF_KIND = {
    "new_answer": "answer",
    "reserved_for_you": "decision",
    "offered_to_you": "decision",
    "reservation_released": "decision",
    "declined": "decision",
    "completed": "decision",
    "withdrawn": "decision",
    "listing_closed": "decision",
    "new_pledge": "answer",
    "loan_asked": "answer",
    "loan_confirmed": "decision",
    "loan_declined": "decision",
    "loan_pickup_soon": "decision",
    "loan_return_soon": "decision",
    "loan_overdue": "decision",
    "pledge_reached": "decision",
    "pledge_released": "decision",
    "project_pledge": "answer",
    "project_funded": "decision",
    "project_missed": "decision",
    "project_hours": "decision",
    "new_message": "message",
    "mention": "mention",
    "listing_match": "match",
    "saved_search_match": "match",
}


def _json(value: Mapping[str, Any]) -> str:
    return orjson.dumps(value).decode()


async def queue_mail(
    conn: asyncpg.Connection,
    *,
    recipient: str,
    template: str,
    context: Mapping[str, Any],
    account_id: int | None = None,
    send_before: datetime | None = None,
) -> int:
    """Queue one mail in the caller's transaction; the workers hear of it when it commits."""
    mail_id = await conn.fetchval(
        """
        INSERT INTO outgoing_mail (account_id, recipient, template, context, send_before)
        VALUES ($1, $2, $3, $4::jsonb, $5) RETURNING id
        """,
        account_id, recipient, template, _json(context), send_before,
    )  # fmt: skip
    await conn.execute(f"NOTIFY {MAIL_CHANNEL}")
    return mail_id


async def queue_notification_mail(
    conn: asyncpg.Connection, account_id: int, kind: str, about: Mapping[str, Any]
) -> bool:
    """Mail a resident about a notification, if they chose mail for its kind; in the
    caller's transaction. True when a mail was queued.

    `kind`: a notification kind (see CHOICE_OF_KIND; "mention" for a mention). `about`:
    what the mail shows (templates/mail/notification.*): `other_side` (who: "@bob",
    "@ann@elsewhere.example"), and `listing_title` and `path` (a path on this node, such as
    "/conversations/7") for the kinds about a listing; for a mention, `excerpt` (its text,
    plain) and `url` (the original). Mail goes only to a confirmed address of an active
    account: the node never mails an address its owner has not shown to be theirs.
    """
    choice = CHOICE_OF_KIND.get(kind)
    if choice is None:
        return False
    mail_id = await conn.fetchval(
        """
        INSERT INTO outgoing_mail (account_id, recipient, template, context)
        SELECT a.id, a.email, 'notification',
               $4::jsonb || jsonb_build_object('kind', $2::text, 'choice', $3::text,
                                               'username', a.username)
        FROM accounts a
        WHERE a.id = $1 AND a.status = 'active' AND a.email_confirmed_at IS NOT NULL
          AND $3 = ANY (a.mail_notifications)
        RETURNING id
        """,
        account_id, kind, choice, _json(about),
    )  # fmt: skip
    if mail_id is not None:
        await conn.execute(f"NOTIFY {MAIL_CHANNEL}")
    return mail_id is not None


# --- Claiming ----------------------------------------------------------------------------


async def claim_due(conn: asyncpg.Connection, limit: int, lease: timedelta) -> list[asyncpg.Record]:
    """Lease up to `limit` due mails, oldest first. Columns: id, account_id, recipient,
    template, context (JSON text), send_before, attempts, created_at, claim, and language (the
    recipient's choice now, so a mail goes out in the language they read)."""
    rows = await conn.fetch(
        """
        WITH due AS (
            SELECT id FROM outgoing_mail
            WHERE state = 'pending' AND next_try_at <= now()
              AND (locked_until IS NULL OR locked_until <= now())
            ORDER BY next_try_at, id
            LIMIT $1
            FOR UPDATE SKIP LOCKED
        )
        UPDATE outgoing_mail m
        SET locked_until = now() + $2::interval, claim = nextval('queue_claims')
        FROM due WHERE m.id = due.id
        RETURNING m.id, m.account_id, m.recipient, m.template, m.context::text AS context,
                  m.send_before, m.attempts, m.created_at, m.claim,
                  (SELECT a.language FROM accounts a WHERE a.id = m.account_id) AS language
        """,
        limit, lease,
    )  # fmt: skip
    return sorted(rows, key=lambda row: row["id"])


async def renew_claims(
    conn: asyncpg.Connection, claims: Sequence[tuple[int, int]], lease: timedelta
) -> set[int]:
    """(id, claim) rows still under that claim get `lease` more; returns their ids."""
    rows = await conn.fetch(
        """
        UPDATE outgoing_mail m SET locked_until = now() + $3::interval
        FROM unnest($1::bigint[], $2::bigint[]) AS u(id, claim)
        WHERE m.id = u.id AND m.claim = u.claim AND m.state = 'pending'
        RETURNING m.id
        """,
        [c[0] for c in claims], [c[1] for c in claims], lease,
    )  # fmt: skip
    return {row["id"] for row in rows}


async def release_claims(conn: asyncpg.Connection, claims: Sequence[tuple[int, int]]) -> int:
    """Give back claimed (id, claim) rows with no attempt counted (a worker stopping)."""
    result = await conn.execute(
        """
        UPDATE outgoing_mail m SET locked_until = NULL, claim = NULL
        FROM unnest($1::bigint[], $2::bigint[]) AS u(id, claim)
        WHERE m.id = u.id AND m.claim = u.claim AND m.state = 'pending'
        """,
        [c[0] for c in claims], [c[1] for c in claims],
    )  # fmt: skip
    return _count(result)


# --- Finishing -----------------------------------------------------------------------------
# Each matches on the claim: False when the row was claimed by another worker since.


async def mark_sent(conn: asyncpg.Connection, mail_id: int, claim: int) -> bool:
    result = await conn.execute(
        """
        UPDATE outgoing_mail SET state = 'sent', attempts = attempts + 1, finished_at = now(),
            locked_until = NULL, claim = NULL, last_error = NULL
        WHERE id = $1 AND claim = $2 AND state = 'pending'
        """,
        mail_id, claim,
    )  # fmt: skip
    return _count(result) == 1


async def schedule_retry(
    conn: asyncpg.Connection, mail_id: int, claim: int, error: str, next_try_at: datetime
) -> bool:
    result = await conn.execute(
        """
        UPDATE outgoing_mail SET attempts = attempts + 1, next_try_at = $4,
            locked_until = NULL, claim = NULL, last_error = $3
        WHERE id = $1 AND claim = $2 AND state = 'pending'
        """,
        mail_id, claim, error, next_try_at,
    )  # fmt: skip
    return _count(result) == 1


async def mark_failed(conn: asyncpg.Connection, mail_id: int, claim: int, error: str) -> bool:
    result = await conn.execute(
        """
        UPDATE outgoing_mail SET state = 'failed', attempts = attempts + 1,
            finished_at = now(), locked_until = NULL, claim = NULL, last_error = $3
        WHERE id = $1 AND claim = $2 AND state = 'pending'
        """,
        mail_id, claim, error,
    )  # fmt: skip
    return _count(result) == 1


def _count(status: str) -> int:
    return int(status.rsplit(" ", 1)[-1])


# --- Keeping it small -------------------------------------------------------------------------


async def prune_finished(
    conn: asyncpg.Connection, sent_before: datetime, failed_before: datetime, limit: int
) -> int:
    """Delete up to `limit` mails finished long enough ago (they hold addresses and links)."""
    return await conn.fetchval(
        """
        WITH gone AS (
            DELETE FROM outgoing_mail WHERE id IN (
                SELECT id FROM outgoing_mail
                WHERE (state = 'sent' AND finished_at < $1)
                   OR (state = 'failed' AND finished_at < $2)
                LIMIT $3
            )
            RETURNING 1
        )
        SELECT count(*)::int FROM gone
        """,
        sent_before, failed_before, limit,
    )  # fmt: skip


async def give_up_unclaimed(conn: asyncpg.Connection, created_before: datetime) -> int:
    """Give up pending mail that no worker ever tried and that is older than the retry
    window: a node whose processes have no mail server (COMMONSFED_SMTP_URL unset) queues
    notifications that nothing sends."""
    result = await conn.execute(
        """
        UPDATE outgoing_mail SET state = 'failed', finished_at = now(),
            last_error = 'never sent: no worker with a mail server (COMMONSFED_SMTP_URL) took it'
        WHERE state = 'pending' AND attempts = 0 AND created_at < $1
          AND (locked_until IS NULL OR locked_until <= now())
        """,
        created_before,
    )
    return _count(result)


async def pending_count(conn: asyncpg.Connection) -> asyncpg.Record:
    """For `commonsfed queue`: pending, retrying (pending, tried before), failed; and the
    last error of a pending one."""
    return await conn.fetchrow(
        """
        SELECT count(*) FILTER (WHERE state = 'pending') AS pending,
               count(*) FILTER (WHERE state = 'pending' AND attempts > 0) AS retrying,
               count(*) FILTER (WHERE state = 'failed') AS failed,
               (SELECT last_error FROM outgoing_mail WHERE state = 'pending'
                  AND last_error IS NOT NULL ORDER BY next_try_at DESC LIMIT 1) AS last_error
        FROM outgoing_mail WHERE state <> 'sent'
        """
    )


# --- The node's signing key for links in mail ------------------------------------------------


async def node_secret(conn: asyncpg.Connection, name: str, fresh: bytes) -> bytes:
    """The node's secret called `name`; `fresh` becomes it if there is none yet (the first
    of several processes to ask wins, and the others read what it wrote)."""
    await conn.execute(
        "INSERT INTO node_secrets (name, secret) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        name, fresh,
    )  # fmt: skip
    return await conn.fetchval("SELECT secret FROM node_secrets WHERE name = $1", name)
