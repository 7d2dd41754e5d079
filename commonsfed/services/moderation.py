"""Moderators' actions on content: removing a listing, with a reason.

Decisions:
- A moderator removes a listing as its author does (services.listings.remove_in): a `Delete`
  with a Tombstone goes to everyone who had it, the row and all that hangs off it go, the id
  answers 410 Gone. The reason is required: the author is told it, and the log keeps it.
- The author is told in the app (a notification that points at the log's line) and by mail,
  whatever they chose for notification mail: as Mastodon sends its warnings, a moderators'
  decision about one's account or content is account mail, not a notification one can turn
  off. It goes to the account's address while the account is active.
- Removed from a report, the report is resolved by the same transaction, and its history
  says so; every open report about the listing is resolved with it.
"""

from __future__ import annotations

import asyncpg

from commonsfed.config import Settings
from commonsfed.db import accounts as accounts_q
from commonsfed.db import listings as listings_q
from commonsfed.db import mail as mail_q
from commonsfed.db import notifications as notes_q
from commonsfed.db import reports as reports_q
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Account, Listing
from commonsfed.services import moderation_log
from commonsfed.services.errors import NotAllowed, ValidationError
from commonsfed.services.listings import ListingNotFound, remove_in
from commonsfed.services.photos import remove_photos


def require_moderator(account: Account) -> None:
    if not account.is_moderator:
        raise NotAllowed(Text(N_("Only the node's moderators and admins can do this.")))


def read_reason(reason: str, what: str = "reason") -> str:
    """The reason a moderator gave: required, and at most moderation_log.MAX_REASON long."""
    reason = reason.strip()
    if not reason:
        raise ValidationError(
            {what: Text(N_("Say why: the person concerned is told, and the log keeps it."))}
        )
    if len(reason) > moderation_log.MAX_REASON:
        raise ValidationError(
            {what: Text(N_("Keep it to %(limit)s characters."), limit=moderation_log.MAX_REASON)}
        )
    return reason


async def remove_listing(
    pool: asyncpg.Pool,
    settings: Settings,
    moderator: Account,
    uid: str,
    reason: str,
    *,
    report_id: int | None = None,
) -> None:
    """Remove a listing for a reason, tell its author why, log it; resolve the open reports
    about it (`report_id`: the report the moderator acted from, which must name it)."""
    require_moderator(moderator)
    reason = read_reason(reason)
    async with pool.acquire() as conn, conn.transaction():
        if report_id is not None:
            report = await reports_q.get_report(conn, report_id, for_update=True)
            if report is None or report.listing_uid != uid:
                raise NotAllowed(Text(N_("That report is not about this listing.")))
        listing = await listings_q.get_listing(conn, uid, for_update=True)
        if listing is None:
            raise ListingNotFound(
                Text(N_("There is no such listing (it may have been removed already)."))
            )
        photos = await remove_in(conn, settings, listing)
        entry = await moderation_log.record(
            conn, moderator, "remove_listing", "listing", uid, reason,
            {"title": listing.title, "author": listing.author_username, "report": report_id},
        )  # fmt: skip
        await _tell_author(conn, listing, entry.id, reason)
        for open_id in await reports_q.open_reports_about_listing(conn, uid):
            await reports_q.set_resolved(conn, open_id, True)
            await moderation_log.record(
                conn, moderator, "remove_listing", "report", str(open_id), reason,
                {"listing": uid, "title": listing.title, "resolved": True},
            )  # fmt: skip
    await remove_photos(settings, photos)


async def _tell_author(
    conn: asyncpg.Connection, listing: Listing, entry_id: int, reason: str
) -> None:
    await notes_q.insert_moderation_notice(conn, listing.author_id, entry_id)
    author = await accounts_q.get_account(conn, listing.author_id)
    if author is None or not author.is_active or not author.email:
        return
    await mail_q.queue_mail(
        conn, recipient=author.email, template="moderation_notice", account_id=author.id,
        context={"username": author.username, "action": "remove_listing",
                 "title": listing.title, "reason": reason},
    )  # fmt: skip
