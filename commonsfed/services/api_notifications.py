"""Notifications as the client API shows them: Mastodon's types for the node's kinds, who
caused each (the `account`), the status it is about, dismissing them, and the channel on
which each new one is announced for the streaming API.

The node's kinds map to Mastodon's as honestly as its types allow:

- an answer or a message is a `mention`: someone wrote to the resident, and the status is
  the message itself (a direct status, as the conversation's apps show it); a Note from the
  fediverse that mentions the resident is a `mention` too, with that Note;
- the listing author's decisions on the resident's answer (reserved for them, offered to
  them, released, declined, completed), an answer withdrawn, a listing closed while the
  resident waited in line, a pledge towards their group purchase, and a listing about to
  expire are about a listing whose state changes (its status's content says the new state, as
  the `Update` peers receive does): Mastodon's nearest type is `update`, "a status you
  interacted with was edited", which every app shows with the status, so a tap leads to
  the listing. `account` is who acted (the author, the respondent who withdrew, the
  neighbour who pledged), or the
  resident for their own listing's expiry;
- a moderators' notice (a listing removed) and an action against the account are a
  `moderation_warning` with an AccountWarning (Mastodon's `delete_statuses` for a removed
  listing; a limit is its `silence`; a lifted limit or suspension, which Mastodon never
  notifies, is `none` with the moderators' words);
- a new listing, here or of a federated neighbourhood, that matches one of the resident's
  listings or saved searches is a `status`, "someone posted a status", by its author;
- a follow is `follow`, a request to follow `follow_request`, a favourite `favourite`.

A notification whose account or status the node cannot show (an actor no longer cached, a
deleted Note) is left out of the apps' list, as an app cannot show a mention without its
status; it stays on the web page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import orjson

from commonsfed.config import Settings
from commonsfed.db import api_notifications as q
from commonsfed.models import Account
from commonsfed.services.api_accounts import AccountView, accounts_for_uris, resident_uri
from commonsfed.services.statuses import StatusView, statuses_by_id

# the node's kinds by Mastodon's type (see the module docstring)
KINDS_OF_TYPE: dict[str, tuple[str, ...]] = {
    "mention": ("new_answer", "new_message", "mention"),
    "update": ("reserved_for_you", "offered_to_you", "reservation_released", "declined",
               "completed", "withdrawn", "near_expiry", "listing_closed", "new_pledge",
               "loan_asked", "loan_confirmed", "loan_declined", "loan_pickup_soon",
               "loan_return_soon", "loan_overdue", "pledge_reached", "pledge_released",
               "hours_recorded", "hours_disputed", "hours_settled", "project_pledge",
               "project_funded", "project_missed", "project_hours"),
    "moderation_warning": ("moderation", "moderation_warning"),
    "status": ("listing_match", "saved_search_match"),
    "follow": ("follow",),
    "follow_request": ("follow_request",),
    "favourite": ("favourite",),
}  # fmt: skip
TYPE_OF_KIND = {kind: type_ for type_, kinds in KINDS_OF_TYPE.items() for kind in kinds}
# the types whose notification is about a status (an app cannot show one without it)
STATUS_TYPES = frozenset({"mention", "update", "favourite", "status"})

# Mastodon's AccountWarning actions for the moderators' actions here
WARNING_ACTIONS = {"warn": "none", "limit": "silence", "unlimit": "none", "suspend": "suspend",
                   "unsuspend": "none"}  # fmt: skip
LOG_ACTIONS = {"remove_listing": "delete_statuses"}

# The streaming API's way to learn of a new notification: `listen` on a connection of its
# own (migration 0029's trigger announces each one on CHANNEL when its transaction commits),
# then render it with api.notifications.notification_json, which answers None when the
# notification is not one the apps see.
CHANNEL = "api_notifications"


def announced(payload: str) -> tuple[int, int]:
    """(the resident's account id, the notification id) of a CHANNEL payload, which is
    `{"id": <notification id>, "account_id": <account id>}`."""
    event = orjson.loads(payload)
    return int(event["account_id"]), int(event["id"])


async def listen(
    conn: asyncpg.Connection, heard: Callable[[int, int], None]
) -> Callable[[], Awaitable[None]]:
    """Call `heard(account_id, notification_id)` for each new notification, from now on,
    for as long as `conn` (which must not go back to a pool while listening) is open;
    returns what stops it. `heard` runs in the event loop: it should only hand the ids on
    (to a queue, say)."""

    def on_payload(_conn, _pid, _channel, payload: str) -> None:
        heard(*announced(payload))

    await conn.add_listener(CHANNEL, on_payload)

    async def stop() -> None:
        await conn.remove_listener(CHANNEL, on_payload)

    return stop


async def follow_received(
    conn: asyncpg.Connection, followed_username: str, follower_uri: str, *, pending: bool
) -> None:
    """Tell the resident `followed_username` of a new follower (`pending`: a request they
    approve by hand), in the caller's transaction: a `follow` or `follow_request` for apps,
    a line on the web's page. Whatever makes a follow of a resident calls this once per new
    follow (the inbox's Follow handler does the same through db.api_notifications for
    followers from other servers); nobody is told for the neighbourhood's Group."""
    kind = "follow_request" if pending else "follow"
    await q.insert_follow(conn, followed_username, follower_uri, kind)


async def follow_ended(conn: asyncpg.Connection, followed_username: str, follower_uri: str) -> None:
    """The follow (or the request) is gone, and its notification with it, as on Mastodon."""
    await q.delete_follow(conn, followed_username, follower_uri, ("follow", "follow_request"))


@dataclass(frozen=True)
class WarningView:
    """Mastodon's AccountWarning: what the moderators did to the resident, and why."""

    id: int
    action: str  # Mastodon's: none, silence, suspend, delete_statuses...
    text: str
    created_at: datetime
    target: AccountView


@dataclass(frozen=True)
class NotificationView:
    id: int
    type: str  # Mastodon's
    created_at: datetime
    account: AccountView
    status: StatusView | None = None
    warning: WarningView | None = None


@dataclass(frozen=True)
class NotificationQuery:
    """Which notifications an app asks for: Mastodon's `types[]`, `exclude_types[]` (unknown
    types match nothing, as Mastodon ignores them) and `account_id`."""

    types: tuple[str, ...] = ()
    exclude_types: tuple[str, ...] = ()
    account_id: int | None = None

    @property
    def kinds(self) -> list[str]:
        wanted = self.types or tuple(KINDS_OF_TYPE)
        return [kind for type_ in wanted if type_ not in self.exclude_types
                for kind in KINDS_OF_TYPE.get(type_, ())]  # fmt: skip


async def _causer(conn, settings: Settings, query: NotificationQuery) -> str | None:
    if query.account_id is None:
        return None
    # an account the node does not know caused nothing: a URI that matches no row
    return await q.actor_uri_of(conn, settings.base_url, query.account_id) or "-"


async def notifications(
    conn: asyncpg.Connection,
    settings: Settings,
    account: Account,
    query: NotificationQuery,
    *,
    below: int | None = None,
    above: int | None = None,
    oldest_first: bool = False,
    limit: int = 20,
) -> tuple[list[asyncpg.Record], list[NotificationView]]:
    """A page of the resident's notifications: the rows (for the page's links) and the
    views of those an app can show, in the rows' order."""
    rows = await q.notifications_page(
        conn, settings.base_url, account.id, kinds=query.kinds,
        account_uri=await _causer(conn, settings, query), below=below, above=above,
        oldest_first=oldest_first, limit=limit,
    )  # fmt: skip
    return rows, await _views(conn, settings, account, rows)


async def notification(
    conn: asyncpg.Connection, settings: Settings, account: Account, notification_id: int
) -> NotificationView | None:
    """One of the resident's notifications, None when it is not theirs, dismissed, or not
    one an app can show."""
    row = await q.notification(conn, settings.base_url, account.id, notification_id)
    if row is None or row["kind"] not in TYPE_OF_KIND:
        return None
    views = await _views(conn, settings, account, [row])
    return views[0] if views else None


async def count_unread(
    conn: asyncpg.Connection,
    settings: Settings,
    account: Account,
    query: NotificationQuery,
    most: int,
) -> int:
    """Unread notifications (the web's count: seen on the web page, or dismissed)."""
    return await q.count_unread(
        conn, settings.base_url, account.id, kinds=query.kinds,
        account_uri=await _causer(conn, settings, query), most=most,
    )  # fmt: skip


async def dismiss(pool: asyncpg.Pool, account: Account, notification_id: int) -> bool:
    async with pool.acquire() as conn:
        return await q.dismiss(conn, account.id, notification_id)


async def clear(pool: asyncpg.Pool, account: Account) -> None:
    async with pool.acquire() as conn:
        await q.dismiss_all(conn, account.id)


# --- views ----------------------------------------------------------------------------------


async def _views(
    conn: asyncpg.Connection, settings: Settings, account: Account, rows: Sequence[asyncpg.Record]
) -> list[NotificationView]:
    """Views for rows of db.api_notifications, with their statuses and accounts fetched in
    one batch each."""
    status_ids = [row["status_id"] for row in rows if row["status_id"] is not None]
    statuses = await statuses_by_id(conn, settings, status_ids, account) if status_ids else {}
    me = resident_uri(settings, account.username)
    accounts = await accounts_for_uris(conn, settings, _uris(rows, me))
    views = []
    for row in rows:
        view = _view(row, accounts.get(row["account_uri"]), accounts.get(me), statuses)
        if view is not None:
            views.append(view)
    return views


def _uris(rows: Iterable[asyncpg.Record], me: str) -> set[str]:
    return {me} | {row["account_uri"] for row in rows if row["account_uri"]}


def _view(
    row: asyncpg.Record,
    causer: AccountView | None,
    me: AccountView | None,
    statuses: dict[int, StatusView],
) -> NotificationView | None:
    type_ = TYPE_OF_KIND.get(row["kind"])
    if type_ is None or causer is None or me is None:
        return None
    status = statuses.get(row["status_id"]) if row["status_id"] is not None else None
    if type_ in STATUS_TYPES and status is None:
        return None
    warning = _warning(row, me) if type_ == "moderation_warning" else None
    return NotificationView(id=row["id"], type=type_, created_at=row["created_at"],
                            account=causer, status=status, warning=warning)  # fmt: skip


def _warning(row: asyncpg.Record, me: AccountView) -> WarningView:
    if row["kind"] == "moderation":
        return WarningView(
            id=row["moderation_id"], action=LOG_ACTIONS.get(row["moderation_action"], "none"),
            text=row["moderation_reason"] or "", created_at=row["moderation_at"], target=me,
        )  # fmt: skip
    return WarningView(
        id=row["warning_id"], action=WARNING_ACTIONS.get(row["warning_action"], "none"),
        text=row["warning_text"], created_at=row["warning_at"], target=me,
    )  # fmt: skip
