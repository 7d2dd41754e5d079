"""A resident's export: one zip of their account, which they download from their settings.

What it holds (README.txt in the archive says the same to its reader):

- profile.json: the account as it is here (never the password hash nor the keys);
- listings.json and listings.csv, with each listing's photos under photos/ and its history;
- answers.json and answers.csv: the answers they gave, here and on other nodes, with their
  messages; conversations.json and conversations.csv: the answers their listings got;
  messages.csv: every message of both, one a line;
- actor.json and outbox.json: their ActivityPub actor and every activity they published,
  as other servers received them;
- hours.json and hours.csv, pledges.json, bookings.json, saved_searches.json: their hours
  account, pledges, loan bookings and saved searches (services.export_economy).

Small accounts get the archive at once, built while they wait; a larger one is queued and
built by the workers (`ExportWorker`, a steppable queue like the others), the page lists it
when it is ready, and the resident is mailed (at a confirmed address) that it is. Archives are kept for `KEEP` and then pruned by the hourly job.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import random
import secrets
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from commonsfed.ap.actors import actor_to_ap
from commonsfed.ap.jsonld import OUR_CONTEXT
from commonsfed.config import Settings
from commonsfed.db import accounts as accounts_q
from commonsfed.db import answers as answers_q
from commonsfed.db import exports as q
from commonsfed.db import listings as listings_q
from commonsfed.db import mail as mail_q
from commonsfed.federation import claims
from commonsfed.live_settings import refresh_settings
from commonsfed.models import Account, Export
from commonsfed.services import actors
from commonsfed.services.export_economy import README_LINES as ECONOMY_README
from commonsfed.services.export_economy import add_economy
from commonsfed.services.photos import media_path

log = logging.getLogger(__name__)

KEEP = timedelta(days=7)
# listings and messages together: an archive this small is built while its resident waits
BUILD_NOW_UNDER = 300
MAX_ATTEMPTS = 3
FIRST_RETRY = timedelta(minutes=1)


def exports_dir(settings: Settings) -> Path:
    return settings.data_dir / "exports"


def archive_path(settings: Settings, filename: str) -> Path:
    return exports_dir(settings) / filename


# --- what residents do ---------------------------------------------------------------------


async def request_export(
    pool: asyncpg.Pool,
    settings: Settings,
    account: Account,
    *,
    build_now_under: int = BUILD_NOW_UNDER,
) -> Export:
    """Ask for an archive: built now when the account has fewer than `build_now_under`
    listings and messages, else queued (one at a time per resident: asking again while one
    is being made returns that one)."""
    async with pool.acquire() as conn:
        export, new = await q.request_export(conn, account.id)
        small = new and await q.account_size(conn, account.id) < build_now_under
    if small:
        worker = ExportWorker(pool, settings)
        worker.mail_when_ready = False
        claimed = await worker.fetch_next(export.id)
        if claimed is not None:  # else a worker took it first, and builds it
            await worker.process_one(claimed)
            async with pool.acquire() as conn:
                export = await q.get_export(conn, export.id) or export
    return export


async def exports_of(pool: asyncpg.Pool, account: Account) -> list[Export]:
    async with pool.acquire() as conn:
        return await q.account_exports(conn, account.id)


async def download(pool: asyncpg.Pool, settings: Settings, account: Account, filename: str):
    """The path of one of the account's finished archives, or None."""
    async with pool.acquire() as conn:
        export = await q.done_export(conn, account.id, filename)
    path = archive_path(settings, filename) if export else None
    return path if path is not None and path.is_file() else None


async def prune(pool: asyncpg.Pool, settings: Settings, now: datetime) -> int:
    """Forget archives older than KEEP, files and rows; how many went."""
    async with pool.acquire() as conn:
        names = await q.prune_exports(conn, now - KEEP)

    def remove() -> None:
        for name in names:
            archive_path(settings, name).unlink(missing_ok=True)

    await asyncio.to_thread(remove)
    return len(names)


# --- what goes in ----------------------------------------------------------------------------


@dataclass
class Archive:
    """The files of an archive: their contents, and photos to copy from the media folder."""

    files: dict[str, bytes] = field(default_factory=dict)
    photos: dict[str, Path] = field(default_factory=dict)  # name in the archive -> file
    missing: list[str] = field(default_factory=list)  # photos no longer on disk

    def json(self, name: str, value: Any) -> None:
        self.files[name] = orjson.dumps(value, option=orjson.OPT_INDENT_2)

    def csv(self, name: str, header: list[str], rows: list[list[Any]]) -> None:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows([[_cell(value) for value in row] for row in rows])
        self.files[name] = out.getvalue().encode()


def _cell(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


async def collect(pool: asyncpg.Pool, settings: Settings, account_id: int) -> Archive:
    archive = Archive()
    async with pool.acquire() as conn:
        record = await q.account_record(conn, account_id)
        if record is None:
            raise LookupError(f"account {account_id} is gone")
        archive.json("profile.json", _profile(settings, archive, record))
        await _listings(conn, settings, archive, account_id)
        await _conversations(conn, settings, archive, account_id)
        await add_economy(conn, settings, archive, account_id)
    await _actor(pool, settings, archive, record["username"])
    archive.files["README.txt"] = _readme(settings, record["username"], archive.missing)
    return archive


def _profile(settings: Settings, archive: Archive, record) -> dict[str, Any]:
    profile = {**dict(record), "fields": orjson.loads(record["fields"])}
    avatar = profile.pop("avatar_filename")
    profile["avatar"] = _photo(settings, archive, avatar) if avatar else None
    return profile


def _photo(settings: Settings, archive: Archive, filename: str) -> str:
    """Put a media file in the archive (photos/...): its name there."""
    path = media_path(settings, filename)
    if path is not None and path.is_file():
        archive.photos[f"photos/{filename}"] = path
    else:
        archive.missing.append(filename)
    return f"photos/{filename}"


async def _listings(conn, settings: Settings, archive: Archive, account_id: int) -> None:
    entries, rows = [], []
    for listing in await listings_q.listings_by_author(conn, account_id):
        photos = await listings_q.listing_photos(conn, listing.id)
        for photo in photos:
            _photo(settings, archive, photo.filename)
        events = await listings_q.listing_events(conn, listing.id)
        entries.append(_listing_entry(settings, listing, photos, events))
        rows.append([listing.uid, f"{settings.base_url}/listings/{listing.uid}", listing.purpose,
                     listing.kind, listing.title, listing.category, listing.state, listing.place,
                     listing.quantity, listing.available_quantity, listing.created_at,
                     listing.updated_at, listing.expires_at, listing.description])  # fmt: skip
    archive.json("listings.json", entries)
    archive.csv("listings.csv", _LISTING_HEADER, rows)


_LISTING_HEADER = ["uid", "url", "purpose", "kind", "title", "category", "state", "place",
                   "quantity", "available_quantity", "created_at", "updated_at", "expires_at",
                   "description"]  # fmt: skip


def _listing_entry(settings: Settings, listing, photos, events) -> dict[str, Any]:
    entry = {name: getattr(listing, name) for name in listing.__dataclass_fields__
             if name not in ("id", "author_id")}  # fmt: skip
    entry["url"] = f"{settings.base_url}/listings/{listing.uid}"
    entry["photos"] = [{"file": f"photos/{p.filename}", "alt": p.alt} for p in photos]
    entry["history"] = [dict(event) for event in events]
    return entry


async def _conversations(conn, settings: Settings, archive: Archive, account_id: int) -> None:
    answered = await answers_q.respondent_conversations(conn, account_id)
    received = [
        conversation
        for listing in await listings_q.listings_by_author(conn, account_id)
        for conversation in await answers_q.listing_conversations(conn, listing.id)
    ]
    messages: list[list[Any]] = []
    for name, conversations in (("answers", answered), ("conversations", received)):
        entries = []
        for conversation in conversations:
            said = await answers_q.conversation_messages(conn, conversation.id)
            entries.append(_conversation_entry(settings, conversation, said))
            messages += [[conversation.id, conversation.listing_title, m.sender_name,
                          m.created_at, m.body] for m in said]  # fmt: skip
        archive.json(f"{name}.json", entries)
        archive.csv(f"{name}.csv", _CONVERSATION_HEADER, [
            [c.id, c.listing_title, _listing_url(settings, c), c.author_username,
             c.respondent_name, c.state, c.created_at] for c in conversations])  # fmt: skip
    archive.csv("messages.csv", ["conversation", "listing", "from", "at", "text"], messages)


_CONVERSATION_HEADER = ["conversation", "listing", "listing_url", "author", "respondent",
                        "state", "created_at"]  # fmt: skip


def _listing_url(settings: Settings, conversation) -> str:
    if conversation.remote_listing_uri:
        return conversation.remote_listing_uri
    return f"{settings.base_url}/listings/{conversation.listing_uid}"


def _conversation_entry(settings: Settings, conversation, said) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "listing": {"title": conversation.listing_title,
                    "url": _listing_url(settings, conversation),
                    "author": conversation.author_username},  # fmt: skip
        "respondent": conversation.respondent_name,
        "state": conversation.state,
        "created_at": conversation.created_at,
        "messages": [{"from": m.sender_name, "at": m.created_at, "text": m.body} for m in said],
    }


async def _actor(pool: asyncpg.Pool, settings: Settings, archive: Archive, username: str) -> None:
    local = await actors.local_actor(pool, settings, username)
    uris = actors.local_uris(settings)
    archive.json("actor.json", actor_to_ap(local, uris))
    async with pool.acquire() as conn:
        activities = await q.activities_by_actor(conn, local.uri)
    archive.json("outbox.json", {
        "@context": OUR_CONTEXT, "id": uris.outbox(local.uri), "type": "OrderedCollection",
        "totalItems": len(activities), "orderedItems": activities,
    })  # fmt: skip


def _readme(settings: Settings, username: str, missing: list[str]) -> bytes:
    lines = [
        f"The account @{username}@{settings.domain} on {settings.instance_name},",
        f"exported {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "profile.json            the account as it was then (its avatar under photos/)",
        "listings.json/.csv      your offers and requests; photos/ holds their photos",
        "answers.json/.csv       the answers you gave, with their messages",
        "conversations.json/.csv the answers your listings got, with their messages",
        "messages.csv            every message of both, one a line",
        "actor.json              your ActivityPub actor, as other servers see it",
        "outbox.json             every activity you published, as other servers got it",
        *ECONOMY_README,
    ]
    if missing:
        lines += ["", "Photos no longer on the node's disk: " + ", ".join(missing)]
    return ("\n".join(lines) + "\n").encode()


def write_zip(path: Path, archive: Archive) -> int:
    """Write the archive next to `path` and move it there whole; returns its size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for name, content in archive.files.items():
            zipped.writestr(name, content)
        for name, source in archive.photos.items():
            zipped.write(source, name, compress_type=zipfile.ZIP_STORED)  # already compressed
    partial.replace(path)
    return path.stat().st_size


async def _mail_ready(conn: asyncpg.Connection, settings: Settings, account_id: int) -> None:
    """Tell the resident that a queued archive is ready, at their confirmed address."""
    account = await accounts_q.get_account(conn, account_id)
    if account is None or not account.email_confirmed:
        return
    await mail_q.queue_mail(
        conn,
        recipient=account.email,
        template="export_ready",
        context={"username": account.username, "keep_days": KEEP.days,
                 "link": f"{settings.base_url}/settings/export"},  # fmt: skip
        account_id=account.id,
    )


# --- the queue -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimedExport:
    id: int
    account_id: int
    attempts: int
    claim: int


class ExportWorker:
    """Builds queued archives, one per tick (see federation.workers for the loop and the
    heartbeat timer, federation.claims for the lease and its token)."""

    channel = q.EXPORTS_CHANNEL

    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: Settings,
        *,
        lease: timedelta = claims.LEASE,
        heartbeat_every: timedelta = claims.HEARTBEAT_EVERY,
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.lease = lease
        self.heartbeat_every = heartbeat_every.total_seconds()
        self.mail_when_ready = True  # not when the resident waits for it on the page
        self._held: claims.Held[ClaimedExport] = claims.Held("exports")

    async def fetch_next(self, export_id: int | None = None) -> ClaimedExport | None:
        async with self.pool.acquire() as conn:
            row = await q.claim_export(conn, self.lease, export_id)
        if row is None:
            return None
        claimed = ClaimedExport(**dict(row))
        self._held.hold([claimed])
        return claimed

    async def process_one(self, claimed: ClaimedExport) -> str:
        """Build the archive and record the outcome: "done", "retry" or "failed"."""
        filename = f"{secrets.token_urlsafe(16)}.zip"
        try:
            archive = await collect(self.pool, self.settings, claimed.account_id)
            path = archive_path(self.settings, filename)
            size = await asyncio.to_thread(write_zip, path, archive)
        except Exception as exc:  # a bug or a full disk: tried again, then given up
            log.exception("export %d failed", claimed.id)
            return await self._retry(claimed, f"{type(exc).__name__}: {exc}"[:500])
        if not self._held.let_go(claimed.id):
            await asyncio.to_thread(path.unlink, True)  # another worker builds it now
            return "lost"
        async with self.pool.acquire() as conn, conn.transaction():
            kept = await q.finish_export(conn, claimed.id, claimed.claim, filename, size)
            if kept and self.mail_when_ready:
                await _mail_ready(conn, self.settings, claimed.account_id)
        if not kept:
            await asyncio.to_thread(path.unlink, True)
        return "done" if kept else "lost"

    async def tick(self) -> bool:
        await refresh_settings(self.settings, self.pool)  # the node's name, in the archive
        claimed = await self.fetch_next()
        if claimed is None:
            return False
        await self.process_one(claimed)
        return True

    async def heartbeat(self) -> int:
        held = self._held.items()
        if held:
            async with self.pool.acquire() as conn:
                kept = await q.renew_exports(conn, [(e.id, e.claim) for e in held], self.lease)
            self._held.renewed(held, kept)
        return len(self._held)

    async def release_claims(self) -> int:
        held = self._held.let_go_all()
        async with self.pool.acquire() as conn:
            return await q.release_exports(conn, [(e.id, e.claim) for e in held])

    async def _retry(self, claimed: ClaimedExport, error: str) -> str:
        if not self._held.let_go(claimed.id):
            return "lost"
        when = None
        if claimed.attempts < MAX_ATTEMPTS:
            wait = FIRST_RETRY * 4 ** (claimed.attempts - 1) * random.uniform(0.8, 1.2)
            when = datetime.now(UTC) + wait
        async with self.pool.acquire() as conn:
            await q.retry_export(conn, claimed.id, claimed.claim, when, error)
        return "retry" if when else "failed"
