"""Accounts as the client API shows them: a resident, a person on another server (from the
actor cache), or the neighbourhood's Group, which apps show as Mastodon shows groups.

`AccountView` carries what api/entities.py needs for Mastodon's Account entity, its HTML
sanitised (a remote actor's) or rendered from Markdown (a resident's bio)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg
import orjson

from commonsfed.ap.activities import parse_time
from commonsfed.config import Settings
from commonsfed.db import api_accounts as q
from commonsfed.db import profiles as profiles_q
from commonsfed.db.api_accounts import FIRST_OTHER_ID
from commonsfed.db.profiles import ResidentProfile
from commonsfed.federation.context import Federation
from commonsfed.federation.keys import GROUP, node_keys
from commonsfed.models import Account
from commonsfed.services import profiles
from commonsfed.services.errors import ValidationError
from commonsfed.services.markdown import render_markdown, sanitise_html
from commonsfed.services.photos import Upload

BOT_TYPES = frozenset({"Service", "Application"})


@dataclass(frozen=True)
class FieldView:
    name: str
    value_html: str
    verified_at: datetime | None = None


@dataclass(frozen=True)
class AccountView:
    id: int
    username: str
    acct: str  # "alice" here, "bob@south.example" elsewhere (Mastodon's acct)
    uri: str
    url: str
    display_name: str
    note_html: str
    avatar: str | None  # an http(s) URL, or None for the node's default picture
    created_at: datetime
    locked: bool
    bot: bool
    group: bool
    local: bool
    fields: tuple[FieldView, ...] = ()
    followers_count: int = 0
    following_count: int = 0
    statuses_count: int = 0
    last_status_at: date | None = None
    suspended: bool = False


def resident_uri(settings: Settings, username: str) -> str:
    return f"{settings.base_url}/users/{username}"


def _local(settings: Settings, row: asyncpg.Record, fields: Iterable) -> AccountView:
    avatar = row["avatar_filename"]
    last = row["last_status_at"]
    return AccountView(
        id=row["id"], username=row["username"], acct=row["username"],
        uri=resident_uri(settings, row["username"]), url=resident_uri(settings, row["username"]),
        display_name=row["display_name"], note_html=render_markdown(row["summary"] or ""),
        avatar=f"{settings.base_url}/media/{avatar}" if avatar else None,
        created_at=row["created_at"], locked=row["manually_approves_followers"], bot=False,
        group=False, local=True,
        fields=tuple(FieldView(f["label"], sanitise_html(_field_html(f["value"])),
                               f["verified_at"]) for f in fields),
        followers_count=row["followers_count"], following_count=row["following_count"],
        statuses_count=row["statuses_count"], last_status_at=last.date() if last else None,
        suspended=row["status"] == "suspended",
    )  # fmt: skip


def _field_html(value: str) -> str:
    """A field's value as Mastodon shows it: a link when it is one."""
    if value.startswith(("https://", "http://")) and " " not in value:
        escaped = value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
        return f'<a href="{escaped}" rel="me nofollow noopener" target="_blank">{escaped}</a>'
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _remote(row: asyncpg.Record) -> AccountView:
    username = row["preferred_username"] or row["uri"].rstrip("/").rpartition("/")[2]
    fields = orjson.loads(row["fields"]) if row["fields"] else []
    created = parse_time(row["published"]) or row["fetched_at"]
    url = row["url"] if isinstance(row["url"], str) and row["url"].startswith("http") else None
    return AccountView(
        id=row["api_id"], username=username, acct=f"{username}@{row['domain']}",
        uri=row["uri"], url=url or row["uri"], display_name=row["name"] or "",
        note_html=sanitise_html(row["summary"] or ""), avatar=row["icon_url"],
        created_at=created, locked=row["locked"], bot=row["type"] in BOT_TYPES,
        group=row["type"] == "Group", local=False,
        fields=tuple(FieldView(f["name"], sanitise_html(f["value"])) for f in fields),
    )  # fmt: skip


async def _locals(conn, settings: Settings, ids: Sequence[int]) -> list[AccountView]:
    return await local_views(conn, settings, await q.local_accounts(conn, settings.base_url, ids))


async def group_account(pool: asyncpg.Pool, settings: Settings) -> AccountView:
    """The neighbourhood's Group: the account that announces every listing of the node."""
    await node_keys(pool, GROUP)  # the Group's row (and so its id) is made on first use
    async with pool.acquire() as conn:
        return await _group(conn, settings)


async def _group(conn: asyncpg.Connection, settings: Settings) -> AccountView:
    uri = group_uri(settings)
    api_id = await q.group_api_id(conn)
    counts = await q.group_counts(conn, uri)
    last = counts["last_status_at"]
    return AccountView(
        id=api_id, username=settings.neighbourhood_handle, acct=settings.neighbourhood_handle,
        uri=uri, url=settings.base_url, display_name=settings.instance_name,
        note_html=render_markdown(settings.instance_description or ""), avatar=None,
        created_at=counts["created_at"] or datetime.now(UTC),
        locked=settings.group_follows == "manual", bot=False, group=True, local=True,
        followers_count=counts["followers_count"], following_count=counts["following_count"],
        statuses_count=counts["statuses_count"], last_status_at=last.date() if last else None,
    )  # fmt: skip


def group_uri(settings: Settings) -> str:
    return resident_uri(settings, settings.neighbourhood_handle)


async def account_by_id(pool: asyncpg.Pool, settings: Settings, api_id: int) -> AccountView | None:
    """The account with this API id, if the node knows it."""
    if api_id < FIRST_OTHER_ID:
        async with pool.acquire() as conn:
            found = await _locals(conn, settings, [api_id])
        return found[0] if found else None
    async with pool.acquire() as conn:
        row = await q.remote_account_by_id(conn, api_id)
        group_id = None if row else await q.group_api_id(conn)
    if row is not None:
        return _remote(row)
    return await group_account(pool, settings) if api_id == group_id else None


async def local_account(
    pool: asyncpg.Pool, settings: Settings, username: str
) -> AccountView | None:
    """A resident by username (or the Group by its handle)."""
    if username.lower() == settings.neighbourhood_handle:
        return await group_account(pool, settings)
    async with pool.acquire() as conn:
        row = await q.local_account_named(conn, settings.base_url, username)
        if row is None:
            return None
        found = await _locals(conn, settings, [row["id"]])
    return found[0] if found else None


async def accounts_for_uris(
    conn: asyncpg.Connection, settings: Settings, uris: Iterable[str]
) -> dict[str, AccountView]:
    """The accounts of these actor URIs, local and remote, as far as the node knows them
    (in one query per kind, for a page of statuses)."""
    wanted = set(uris)
    prefix = f"{settings.base_url}/users/"
    found: dict[str, AccountView] = {}
    if group_uri(settings) in wanted:
        wanted.discard(group_uri(settings))
        found[group_uri(settings)] = await _group(conn, settings)
    local_names = {uri[len(prefix) :] for uri in wanted if uri.startswith(prefix)}
    if local_names:
        ids = await q.ids_of_usernames(conn, list(local_names))
        for view in await _locals(conn, settings, ids):
            found[view.uri] = view
    remote = [uri for uri in wanted if not uri.startswith(prefix)]
    if remote:
        for row in await q.remote_accounts_by_uri(conn, remote):
            found[row["uri"]] = _remote(row)
    return found


async def profile_source(pool: asyncpg.Pool, account_id: int) -> ResidentProfile:
    """The resident's profile as typed (the `source` of their own Account)."""
    async with pool.acquire() as conn:
        profile = await profiles_q.get_profile(conn, account_id)
    if profile is None:
        raise LookupError(account_id)
    return profile


async def local_views(
    conn, settings: Settings, rows: Sequence[asyncpg.Record]
) -> list[AccountView]:
    """Residents' rows (as db.api_accounts selects them) as accounts, with their fields."""
    fields: dict[int, list] = {}
    for field in await q.profile_fields(conn, [row["id"] for row in rows]):
        fields.setdefault(field["account_id"], []).append(field)
    return [_local(settings, row, fields.get(row["id"], ())) for row in rows]


# --- an account's statuses -------------------------------------------------------------------


async def account_status_ids(
    conn: asyncpg.Connection, settings: Settings, view: AccountView, page, *,
    tag: str | None = None, only_media: bool = False,
) -> list[int]:  # fmt: skip
    """The status ids of a page of the account's listings, newest first (a resident's own,
    the listings the node keeps from a remote actor, every listing here for the Group);
    `page` is an api.paging PageRequest."""
    paging = {"tag": tag, "only_media": only_media, "max_id": page.max_id, "after": page.after,
              "oldest_first": page.oldest_first, "limit": page.limit}  # fmt: skip
    if view.group:
        ids = await q.listing_status_ids(conn, None, **paging)
    elif view.local:
        ids = await q.listing_status_ids(conn, view.id, **paging)
    else:
        ids = await q.remote_status_ids(conn, view.uri, **paging)
    return list(reversed(ids)) if page.oldest_first else ids


# --- finding accounts ------------------------------------------------------------------------


async def lookup(pool: asyncpg.Pool, settings: Settings, acct: str) -> AccountView | None:
    """The account `acct` names ("alice", "alice@this.host", "bob@south.example", with or
    without a leading @): a resident or the Group, or a cached remote actor."""
    name, _, host = acct.strip().removeprefix("@").partition("@")
    if not name or "@" in host:
        return None
    if not host or host.lower() == settings.domain.lower():
        return await local_account(pool, settings, name)
    async with pool.acquire() as conn:
        row = await q.remote_account_by_handle(conn, name, host)
    return _remote(row) if row else None


async def search_accounts(
    pool: asyncpg.Pool, settings: Settings, text: str, limit: int, offset: int = 0
) -> list[AccountView]:
    """Accounts whose name or handle starts with `text`: the Group, residents, then people
    from the actor cache ("name@domain" searches that domain's)."""
    text = text.strip().removeprefix("@")
    name, _, domain = text.partition("@")
    if not name:
        return []
    found: list[AccountView] = []
    here = not domain or domain.lower() == settings.domain.lower()
    if here and offset == 0 and settings.neighbourhood_handle.startswith(name.lower()):
        found.append(await group_account(pool, settings))
    async with pool.acquire() as conn:
        if here:
            rows = await q.search_residents(conn, settings.base_url, name, limit, offset)
            found += await local_views(conn, settings, rows)
        if len(found) < limit:
            rows = await q.search_remote(
                conn, name, None if here else domain.lower(), limit - len(found), offset
            )
            found += [_remote(row) for row in rows]
    return found[:limit]


# --- the resident's own profile --------------------------------------------------------------


@dataclass(frozen=True)
class CredentialsChange:
    """What an app asks to change; None (or an absent field) leaves it as it is."""

    display_name: str | None = None
    note: str | None = None
    fields: list[tuple[str, str]] | None = None
    locked: bool | None = None


# the profile form's field names (services.profiles) as Mastodon's parameters name them
_API_FIELD = {"bio": "note", "fields": "fields_attributes"}


def _profile_form(profile: ResidentProfile, change: CredentialsChange) -> dict[str, str]:
    fields = change.fields if change.fields is not None else [
        (field.label, field.value) for field in profile.fields
    ]  # fmt: skip
    name, note = change.display_name, change.note
    form = {
        "display_name": profile.display_name if name is None else name,
        "bio": profile.bio if note is None else note,
        "area": profile.area,
    }
    for number, (label, value) in enumerate(fields, start=1):
        form[f"field_label_{number}"], form[f"field_value_{number}"] = label, value
    return form


def api_errors(errors: dict[str, str]) -> dict[str, str]:
    """A profile's errors under the names Mastodon's parameters have."""
    named = {}
    for field, message in errors.items():
        key = "fields_attributes" if field.startswith("field_") else _API_FIELD.get(field, field)
        named.setdefault(key, message)
    return named


async def update_credentials(
    fed: Federation, account: Account, change: CredentialsChange, avatar: Upload | None
) -> None:
    """Save the resident's profile through services.profiles (which checks it and sends
    the Update), then whether they approve followers by hand."""
    profile = await profile_source(fed.pool, account.id)
    try:
        await profiles.update_profile(fed, account, _profile_form(profile, change), avatar)
    except ValidationError as exc:
        raise ValidationError(api_errors(exc.errors)) from None
    if change.locked is not None:
        async with fed.pool.acquire() as conn, conn.transaction():
            await q.set_locked(conn, account.id, change.locked)
            await profiles.publish_profile(conn, fed.settings, account.id)


async def follow_requests_count(pool: asyncpg.Pool, uri: str) -> int:
    async with pool.acquire() as conn:
        return await q.follow_requests_count(conn, uri)
