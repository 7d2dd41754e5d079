"""A resident deletes their account.

The password is confirmed first; then everything happens in one transaction, so a failure
leaves nothing half done (only files, photos and export archives, go after it has
committed):

- each of their listings is removed as they would remove it themselves
  (`listings.remove_in`): a Delete with a Tombstone to everyone who had it, and its id
  answers 410 from then on; the conversations about it go with it, as they do then;
- their answers to other residents' listings: their messages go, they leave the line as
  one who withdraws does (the next in line is offered the listing), and a system line
  closes the conversation, which its author keeps, as Mastodon keeps one's own side of the
  direct messages of a deleted account. Their answers to listings of other nodes go whole
  (nobody here is left in them); the Delete below closes the other side's;
- their pledges towards open group purchases are taken back;
- a Delete of the Person goes to everyone who knows them: their followers, whom they
  follow, every remote actor in a conversation with them, and the nodes that follow the
  neighbourhood (which saw their listings); each inbox once, shared inboxes first
  (`outbox.publish`);
- what the activities kept of what they wrote goes: their Offers and direct messages, the
  Creates and Updates of their listings, the Group's Announces of them;
- follows, blocks, notifications, sessions, exports and the personal columns of the row
  are erased (`db.account_deletion.erase_personal_data`). The row stays as a tombstone: its username
  is never given out again, its actor answers 410 Gone.

The key pair is the one thing kept: the farewell's deliveries are signed when the workers
send them, perhaps over two days of retries. The scheduled job (`erase_spent_keys`)
erases it once none of them waits any more.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from commonsfed.ap.actors import delete_actor_to_ap
from commonsfed.ap.uris import LocalUris
from commonsfed.config import Settings
from commonsfed.db import account_deletion as q
from commonsfed.db import accounts as accounts_q
from commonsfed.db import answers as answers_q
from commonsfed.db import listings as listings_q
from commonsfed.db import loans as loans_q
from commonsfed.db import profiles as profiles_q
from commonsfed.federation import outbox
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Account
from commonsfed.services import answers, mail
from commonsfed.services.accounts import confirm_password
from commonsfed.services.errors import ServiceError, ValidationError
from commonsfed.services.export import archive_path
from commonsfed.services.listing_federation import publish_updated
from commonsfed.services.listings import remove_in
from commonsfed.services.photos import media_path, with_renditions


class AccountGone(ServiceError):
    """The account was deleted already (a second request, a second tab)."""


GONE = N_("This account has been deleted already.")


async def delete_account(
    pool: asyncpg.Pool, settings: Settings, account: Account, *, password: str, address: str
) -> None:
    """Delete `account` for good (see the module's docstring). ValidationError for the
    `password` field when it is not theirs, RateLimited after too many wrong ones (as
    logins are), AccountGone when a request before this one deleted it."""
    async with pool.acquire() as conn:
        current = await accounts_q.get_account(conn, account.id)
        if current is None or current.status == "deleted":
            raise AccountGone(GONE)
        try:
            await confirm_password(conn, account, password, address, "password")
        except ValidationError:
            # a request a moment before (a double click) may have deleted the account,
            # and its password with it, since it was read above
            if await _gone(conn, account.id):
                raise AccountGone(GONE) from None
            raise
        async with conn.transaction():
            if not await q.lock_active(conn, account.id):
                raise AccountGone(GONE)
            files = await erase_in(conn, settings, account)
            # after the erasure, which forgets every mail of theirs: this one still goes
            if current.email_confirmed:
                await mail.queue_account_deleted(conn, current)
    await remove_files(files)


async def _gone(conn: asyncpg.Connection, account_id: int) -> bool:
    current = await accounts_q.get_account(conn, account_id)
    return current is None or current.status == "deleted"


async def erase_in(conn: asyncpg.Connection, settings: Settings, account: Account) -> list[Path]:
    """Everything the deletion does but the password check and the farewell mail, in the
    caller's transaction, the account's row locked (`db.account_deletion.lock_active`);
    returns the files to remove (`remove_files`) once it commits. A suspension that ran out
    its days ends the account here too (services.account_actions)."""
    avatar = await profiles_q.lock_avatar(conn, account.id)
    files = await _farewell(conn, settings, account)
    return files + [path for path in [media_path(settings, avatar or "")] if path]


async def _farewell(conn: asyncpg.Connection, settings: Settings, account: Account) -> list[Path]:
    """Everything but the password check and the files, in the caller's transaction;
    returns the files to remove once it commits."""
    uris = LocalUris(settings.base_url)
    me = uris.user(account.username)
    listings = [
        await listings_q.get_listing(conn, listing.uid, for_update=True)
        for listing in await listings_q.listings_by_author(conn, account.id)
    ]
    partners = [
        uri for uri in await q.remote_partners(conn, account.id, me) if not uris.is_local(uri)
    ]
    await q.erase_activities(conn, me, [uris.listing(listing.uid) for listing in listings])
    photos = []
    for listing in listings:
        photos += await remove_in(conn, settings, listing)
    await _leave_conversations(conn, settings, account)
    await _take_back_pledges(conn, settings, account)
    await _publish_delete(conn, settings, me, partners)
    archives = await q.forget_exports(conn, account.id)
    await q.forget_links(conn, account.id, me)
    borrowed = await loans_q.listings_borrowed(conn, account.id)
    await q.erase_personal_data(conn, account.id)  # their bookings with it
    for uid in borrowed:  # the days they held are free: the lenders' Updates say so
        await publish_updated(conn, settings, uid)
    files = [media_path(settings, name) for name in photos]
    photo_files = [file for path in files if path for file in with_renditions(path)]
    return photo_files + [archive_path(settings, name) for name in archives]


async def remove_files(files: list[Path]) -> None:
    def remove() -> None:
        for path in files:
            path.unlink(missing_ok=True)

    await asyncio.to_thread(remove)


async def _leave_conversations(
    conn: asyncpg.Connection, settings: Settings, account: Account
) -> None:
    # in the order of their listings, the order every change locks listings in
    mine = await answers_q.respondent_conversations(conn, account.id)
    for conv in sorted(mine, key=lambda conv: (conv.listing_id or 0, conv.id)):
        if conv.is_remote_listing:
            await answers_q.delete_conversation(conn, conv.id)
        else:
            await answers.respondent_left(conn, settings, conv.id, f"@{account.username}")


async def _take_back_pledges(
    conn: asyncpg.Connection, settings: Settings, account: Account
) -> None:
    """As a pledge of 0 does: what is still needed grows by it, and peers hear."""
    for uid in await q.open_pledges(conn, account.id):
        listing = await listings_q.get_listing(conn, uid, for_update=True)
        await listings_q.delete_pledge(conn, listing.id, account.id)
        total, _ = await listings_q.pledged(conn, listing.id, None)
        await listings_q.set_available_quantity(conn, listing.id, max(listing.quantity - total, 0))
        await publish_updated(conn, settings, uid)


async def _publish_delete(
    conn: asyncpg.Connection, settings: Settings, me: str, partners: list[str]
) -> None:
    """The Delete of the Person, before the follows it is addressed by are erased."""
    uris = LocalUris(settings.base_url)
    group = uris.user(settings.neighbourhood_handle)
    delete = delete_actor_to_ap(
        me,
        outbox.new_activity_id(settings),
        cc=[uris.followers(me), uris.followers(group)],
        bcc=partners,
    )
    await outbox.publish(conn, settings, delete)


async def erase_spent_keys(pool: asyncpg.Pool, settings: Settings) -> int:
    """The scheduled job: erase the key pairs of deleted accounts whose farewell deliveries
    are all done or given up. Returns how many were erased."""
    async with pool.acquire() as conn:
        return await q.erase_spent_keys(conn, settings.base_url)
