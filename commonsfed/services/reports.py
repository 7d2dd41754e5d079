"""Residents report a listing, a message or a person, of this node or another, to the
node's moderators (services.report_queue is what the moderators do with them).

Decisions:
- A report is about one thing, named by the form the Report link leads to: a listing here
  (`listing`, its uid), a listing of another node that this node keeps (`listing_uri`), a
  message in one of the resident's own conversations (`message`, its id), or a person
  (`person`: a resident's name, or the address of a remote person this node has seen). A
  report about nothing (no such thing, a thing the resident cannot see) or about oneself
  is refused, and nothing is stored.
- Categories are Mastodon's, with scam and harassment apart, as a sharing economy meets
  them most; the comment is at most MAX_COMMENT characters, as on Mastodon.
- A resident files at most REPORTS_PER_WINDOW reports in REPORT_WINDOW, and one open report
  per thing: a report is a moderator's time, and the throttle keeps one angry resident from
  filling the queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import asyncpg

from commonsfed.ap import remote_listings
from commonsfed.ap.uris import LocalUris
from commonsfed.config import Settings
from commonsfed.db import actors as actors_q
from commonsfed.db import objects as objects_q
from commonsfed.db import reports as q
from commonsfed.db.reports import NewReport
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Account
from commonsfed.services.errors import ValidationError
from commonsfed.services.throttle import too_many

CATEGORIES = {
    "spam": N_("Spam"),
    "scam": N_("A scam or fraud"),
    "harassment": N_("Harassment or abuse"),
    "illegal": N_("Something illegal"),
    "other": N_("Something else"),
}
MAX_COMMENT = 1000
MAX_QUOTED = 5000
REPORT_WINDOW = timedelta(hours=1)
REPORTS_PER_WINDOW = 10
SUBJECT_FIELDS = ("listing", "listing_uri", "message", "person")


@dataclass(frozen=True)
class Subject:
    """What a report is about, found and checked; `label` says it on the form."""

    about: str  # listing, message or person
    label: str
    target_actor_uri: str
    target_uris: list[str]
    fields: dict[str, str]  # the form field that names it, to send back with the report
    columns: dict[str, Any] = field(default_factory=dict)  # listing_uid, message_id, quoted

    @property
    def query(self) -> str:
        return urlencode(self.fields)


def _nothing(message: str) -> ValidationError:
    return ValidationError({"subject": message})


async def find_subject(
    pool: asyncpg.Pool, settings: Settings, account: Account, form: Mapping[str, Any]
) -> Subject:
    """The thing `form` names, if it is there and the resident may report it; else a
    ValidationError (key "subject") that says why not."""
    given = {name: str(form.get(name, "")).strip() for name in SUBJECT_FIELDS}
    given = {name: value for name, value in given.items() if value}
    if len(given) != 1:
        raise _nothing(Text(N_("Choose one listing, message or person to report.")))
    [(name, value)] = given.items()
    uris = LocalUris(settings.base_url)
    async with pool.acquire() as conn:
        subject = await _FINDERS[name](conn, uris, account, value)
    if subject.target_actor_uri == uris.user(account.username):
        raise _nothing(Text(N_("That is your own: you cannot report yourself.")))
    return subject


async def _listing(conn, uris: LocalUris, account: Account, uid: str) -> Subject:
    listing = await q.local_listing(conn, uid) if len(uid) <= 64 else None
    if listing is None:
        raise _nothing(Text(N_("There is no such listing here (it may have been removed).")))
    return Subject(
        "listing", Text(N_("the listing “%(title)s” by @%(author)s"), title=listing["title"],
                        author=listing["author"]),
        uris.user(listing["author"]), [uris.user(listing["author"]), uris.listing(uid)],
        {"listing": uid}, {"listing_uid": uid, "quoted": listing["title"]},
    )  # fmt: skip


async def _remote_listing(conn, uris: LocalUris, account: Account, uri: str) -> Subject:
    document = await objects_q.get_remote_document(conn, uri) if len(uri) <= 2048 else None
    remote = remote_listings.listing_from_ap(document) if document else None
    if remote is None:
        raise _nothing(Text(N_("This node knows no such listing of another node.")))
    author = await actors_q.get_remote_actor(conn, remote.author_uri)
    handle = author.handle if author and author.preferred_username else remote.author_uri
    return Subject(
        "listing", Text(N_("the listing “%(title)s” by %(author)s"), title=remote.title,
                        author=handle), remote.author_uri,
        [remote.author_uri, remote.uri], {"listing_uri": uri},
        {"remote_listing_uri": remote.uri, "quoted": remote.title},
    )  # fmt: skip


async def _message(conn, uris: LocalUris, account: Account, value: str) -> Subject:
    row = (
        await q.message_for_report(conn, int(value))
        if value.isdigit() and len(value) < 18
        else None
    )
    parties = (row["respondent_account_id"], row["listing_author_id"]) if row else ()
    if row is None or account.id not in parties or row["kind"] != "message":
        raise _nothing(Text(N_("There is no such message in your conversations.")))
    if row["sender_account_id"] == account.id:
        raise _nothing(Text(N_("That message is your own: you cannot report yourself.")))
    sender = row["sender_actor_uri"] or uris.user(row["sender_username"])
    objects = [row["ap_id"]] if row["ap_id"] else []
    name = f"@{row['sender_username']}" if row["sender_username"] else sender
    return Subject(
        "message", Text(N_("a message from %(name)s"), name=name), sender, [sender, *objects], {"message": value},
        {"message_id": row["id"], "quoted": row["body"][:MAX_QUOTED]},
    )  # fmt: skip


async def _person(conn, uris: LocalUris, account: Account, who: str) -> Subject:
    if who.startswith(("https://", "http://")) and not uris.is_local(who):
        actor = await actors_q.get_remote_actor(conn, who) if len(who) <= 2048 else None
        if actor is None:
            raise _nothing(Text(N_("This node knows no such person.")))
        label = actor.handle if actor.preferred_username else actor.uri
        return Subject("person", label, actor.uri, [actor.uri], {"person": who},
                       {"quoted": label})  # fmt: skip
    name = uris.local_username(who) if who.startswith("http") else who.removeprefix("@")
    name = (name or "").removesuffix(f"@{uris.host}")
    person = await q.local_person(conn, name) if 0 < len(name) <= 64 else None
    if person is None:
        raise _nothing(Text(N_("There is no such person here.")))
    actor = uris.user(person["username"])
    return Subject("person", f"@{person['username']}", actor, [actor],
                   {"person": person["username"]}, {"quoted": f"@{person['username']}"})  # fmt: skip


_FINDERS = {
    "listing": _listing,
    "listing_uri": _remote_listing,
    "message": _message,
    "person": _person,
}


# --- filing ----------------------------------------------------------------------------------


def _read(form: Mapping[str, Any]) -> tuple[str, str]:
    category = str(form.get("category", ""))
    comment = str(form.get("comment", "")).strip()
    errors = {}
    if category not in CATEGORIES:
        errors["category"] = Text(N_("Choose what is wrong: one of the kinds listed."))
    if len(comment) > MAX_COMMENT:
        errors["comment"] = Text(
            N_("Keep the comment to %(limit)s characters (it has %(count)s)."),
            limit=MAX_COMMENT,
            count=len(comment),
        )
    if errors:
        raise ValidationError(errors)
    return category, comment


async def file_report(
    pool: asyncpg.Pool,
    settings: Settings,
    account: Account,
    form: Mapping[str, Any],
    *,
    now: datetime | None = None,
) -> int:
    """File the resident's report of what `form` names; returns its id. Raises
    ValidationError (bad category, comment too long, nothing to report) or RateLimited."""
    subject = await find_subject(pool, settings, account, form)
    category, comment = _read(form)
    async with pool.acquire() as conn, conn.transaction():
        await _throttle(conn, account, now or datetime.now(UTC))
        if await q.open_duplicate(conn, account.id, subject.about, subject.target_uris):
            raise _nothing(
                Text(N_("You have reported this already; the moderators have your report."))
            )
        return await q.insert_report(conn, NewReport(
            reporter_uri=LocalUris(settings.base_url).user(account.username),
            reporter_account_id=account.id, category=category, about=subject.about,
            target_actor_uri=subject.target_actor_uri, target_uris=subject.target_uris,
            content=comment, **subject.columns,
        ))  # fmt: skip


async def _throttle(conn: asyncpg.Connection, account: Account, now: datetime) -> None:
    # the row lock orders two reports sent at once by the same resident
    await q.lock_reporter(conn, account.id)
    count, oldest = await q.recent_by(conn, account.id, REPORT_WINDOW)
    if count >= REPORTS_PER_WINDOW and oldest is not None:
        wait = max(oldest + REPORT_WINDOW - now, timedelta(seconds=1))
        raise too_many("reports", wait)
