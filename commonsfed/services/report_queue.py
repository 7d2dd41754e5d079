"""What moderators do with reports: the queue (open, resolved), one report with what it
names and its history, notes, resolve, reopen, and forwarding to another server.

Decisions:
- Notes, resolutions, reopenings, forwards and actions are lines of the moderation log
  (target_kind 'report', target the report's id), so a report's history is its log, and
  nothing a moderator does to a report goes unrecorded.
- Forwarding, as Mastodon forwards: only a resident's report about a person of another
  server, once, as a `Flag` from the instance actor (ap.reports.flag_to_ap) to that person's
  server, naming the person and the reported things that are on their server and carrying
  the comment, never the reporter. Reports about residents are this node's to judge.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import asyncpg

from commonsfed.ap.reports import flag_to_ap
from commonsfed.ap.uris import LocalUris
from commonsfed.config import Settings
from commonsfed.db import actors as actors_q
from commonsfed.db import listings as listings_q
from commonsfed.db import reports as q
from commonsfed.db.reports import Report
from commonsfed.federation import outbox
from commonsfed.federation.outbox import new_activity_id
from commonsfed.federation.policy import domain_of
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Account, ModerationEntry
from commonsfed.services import moderation_log
from commonsfed.services.errors import NotAllowed, ServiceError
from commonsfed.services.moderation import read_reason, require_moderator

PAGE = 50
# a report's code names as a moderator reads them (the pages translate them); a category a
# peer's Flag brought that is not ours is shown as it came
CATEGORY_NAMES = {"spam": N_("spam"), "scam": N_("scam"), "harassment": N_("harassment"),
                  "illegal": N_("illegal"), "other": N_("other")}  # fmt: skip
ABOUT_NAMES = {"listing": N_("listing"), "message": N_("message"), "person": N_("person")}
REPORTED_NAMES = {"person": N_("Reported person"), "listing": N_("Reported listing"),
                  "message": N_("Reported message"), "other": N_("Reported thing")}  # fmt: skip


class ReportNotFound(ServiceError):
    """No report has this id."""


@dataclass(frozen=True)
class Thing:
    """One thing a report names, as its page shows it."""

    kind: str  # person, listing, message, other
    label: str
    href: str | None = None  # where to see it
    admin_href: str | None = None  # where a moderator acts on the person
    gone: bool = False


@dataclass(frozen=True)
class ReportView:
    report: Report
    reporter: str  # "@ann", or the other server's name
    person: Thing | None
    things: list[Thing]
    notes: list[ModerationEntry]
    history: list[ModerationEntry]
    may_forward: bool
    removable_listing: str | None  # the uid of a listing here that a moderator may remove


async def queue(
    pool: asyncpg.Pool, moderator: Account, *, resolved: bool, before_id: int | None = None
) -> list[Report]:
    require_moderator(moderator)
    async with pool.acquire() as conn:
        return await q.list_reports(conn, resolved=resolved, limit=PAGE, before_id=before_id)


async def count_open(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        return await q.count_open(conn)


async def report_view(
    pool: asyncpg.Pool, settings: Settings, moderator: Account, report_id: int
) -> ReportView:
    require_moderator(moderator)
    uris = LocalUris(settings.base_url)
    async with pool.acquire() as conn:
        report = await _report(conn, report_id)
        person = await _person(conn, uris, report.target_actor_uri)
        things = [await _thing(conn, uris, report, uri) for uri in report.target_uris
                  if uri != report.target_actor_uri and report.about != "message"]  # fmt: skip
        if report.about == "message":  # its text as it was, kept on the report
            things.append(Thing("message", report.quoted, gone=report.message_id is None))
        listing_here = bool(report.listing_uid) and await listings_q.get_listing(
            conn, report.listing_uid) is not None  # fmt: skip
    history = await moderation_log.history(pool, "report", str(report.id))
    return ReportView(
        report=report, reporter=_reporter(report), person=person, things=things,
        notes=[entry for entry in history if entry.action == "add_note"], history=history,
        may_forward=_forward_refusal(report, uris) is None,
        removable_listing=report.listing_uid if listing_here and report.is_open else None,
    )  # fmt: skip


async def _report(conn: asyncpg.Connection, report_id: int, lock: bool = False) -> Report:
    report = await q.get_report(conn, report_id, for_update=lock)
    if report is None:
        raise ReportNotFound(Text(N_("There is no such report.")))
    return report


def _reporter(report: Report) -> str:
    if report.reporter_username:
        return f"@{report.reporter_username}"
    return Text(N_("the moderators of %(server)s"), server=domain_of(report.reporter_uri))


async def _person(conn, uris: LocalUris, uri: str | None) -> Thing | None:
    if uri is None:
        return None
    if name := uris.local_username(uri):
        return Thing("person", f"@{name}", f"/users/{name}", f"/admin/accounts/{name}")
    actor = await actors_q.get_remote_actor(conn, uri)
    label = actor.handle if actor and actor.preferred_username else uri
    return Thing("person", label, uri, "/admin/remote-actors?" + urlencode({"uri": uri}))


async def _thing(conn, uris: LocalUris, report: Report, uri: str) -> Thing:
    if (uid := uris.listing_uid(uri)) is not None:
        present = await listings_q.get_listing(conn, uid) is not None
        label = (Text(N_("the listing “%(title)s”"), title=report.quoted)
                 if uid == report.listing_uid else Text(N_("a listing")))  # fmt: skip
        return Thing("listing", label, f"/listings/{uid}", gone=not present)
    if uri == report.remote_listing_uri:
        href = "/network/listing?" + urlencode({"uri": uri})
        label = Text(
            N_("the listing “%(title)s” of %(server)s"), title=report.quoted, server=domain_of(uri)
        )
        return Thing("listing", label, href)
    return Thing("other", uri, uri if not uris.is_local(uri) else None)


# --- notes, resolve, reopen ----------------------------------------------------------------


async def add_note(pool: asyncpg.Pool, moderator: Account, report_id: int, text: str) -> None:
    require_moderator(moderator)
    text = read_reason(text, "note")
    async with pool.acquire() as conn, conn.transaction():
        report = await _report(conn, report_id, lock=True)
        await moderation_log.record(conn, moderator, "add_note", "report", str(report.id), text)


async def resolve(pool: asyncpg.Pool, moderator: Account, report_id: int, reason: str) -> None:
    require_moderator(moderator)
    reason = read_reason(reason)
    async with pool.acquire() as conn, conn.transaction():
        report = await _report(conn, report_id, lock=True)
        if not report.is_open:
            raise NotAllowed(Text(N_("This report is resolved already.")))
        await q.set_resolved(conn, report.id, True)
        await moderation_log.record(conn, moderator, "resolve", "report", str(report.id), reason)


async def reopen(pool: asyncpg.Pool, moderator: Account, report_id: int, reason: str = "") -> None:
    require_moderator(moderator)
    async with pool.acquire() as conn, conn.transaction():
        report = await _report(conn, report_id, lock=True)
        if report.is_open:
            raise NotAllowed(Text(N_("This report is open already.")))
        await q.set_resolved(conn, report.id, False)
        await moderation_log.record(conn, moderator, "reopen", "report", str(report.id), reason)


# --- forwarding ----------------------------------------------------------------------------


def _forward_refusal(report: Report, uris: LocalUris) -> str | None:
    """Why this report cannot be forwarded, or None."""
    if report.reporter_account_id is None:
        return Text(
            N_("This report came from another server; only residents' reports are forwarded.")
        )
    if report.target_actor_uri is None or uris.is_local(report.target_actor_uri):
        return Text(
            N_("This report is about a resident of this node: it is ours to judge, not to forward.")
        )
    if report.forwarded_at is not None:
        return Text(N_("This report has been forwarded already."))
    return None


async def forward(
    pool: asyncpg.Pool, settings: Settings, moderator: Account, report_id: int
) -> str:
    """Send the report to the reported person's server as a Flag from the instance actor;
    returns that server's name."""
    require_moderator(moderator)
    uris = LocalUris(settings.base_url)
    async with pool.acquire() as conn, conn.transaction():
        report = await _report(conn, report_id, lock=True)
        if refusal := _forward_refusal(report, uris):
            raise NotAllowed(refusal)
        actor = await actors_q.get_remote_actor(conn, report.target_actor_uri)
        if actor is None:
            raise NotAllowed(Text(N_("This node no longer knows the reported person's server.")))
        flag = flag_to_ap(new_activity_id(settings), uris.instance_actor, actor.uri,
                          report.target_uris, report.content)  # fmt: skip
        inbox = actor.shared_inbox or actor.inbox
        if not await outbox.publish(conn, settings, flag, extra_inboxes=[inbox]):
            raise NotAllowed(
                Text(N_("This node does not federate with %(server)s."), server=actor.domain)
            )
        await q.set_forwarded(conn, report.id)
        await moderation_log.record(conn, moderator, "forward", "report", str(report.id), "",
                                    {"to": actor.domain, "activity": flag["id"]})  # fmt: skip
    return actor.domain
