"""Photos of other nodes' listings, fetched by this node and served from its own address.

A visitor's browser never loads a picture from another server: that would tell the other
server (or its CDN) who looks at what, from which address. So the node fetches each photo
itself, through the federation's guarded session (no internal address, a size cap, image
types only), runs it through the same pipeline as a resident's upload (services.photos: only
real images, metadata stripped, at most MAX_SIDE pixels, re-encoded) and keeps it under
data/media/remote/<key>.<ext>, where `key` is a hash of the URL. Pages link to
/media/remote/<key>.<ext>.

- When: on the first view of a page that shows the photo, bounded by PAGE_WAIT for all the
  page's photos together (CARDS_WAIT for the first photos of a page of cards); a photo not there in time, or whose fetch failed, is left out and
  the page shows without it. A failure is remembered, and asked again after RETRY_AFTER.
- Whose: never from a domain the admins suspend, keep out (allow-list mode) or block with
  reject_media, judged on both the listing's domain and the photo's host.
- Sizes: the cached copy has the same renditions as a resident's photo (RENDITION_WIDTHS,
  services.photos), made with it, so cards offer them with `srcset`.
- How long: a photo is kept MAX_AGE after its fetch (then fetched again on a view); when the
  cache holds more than CACHE_MAX_BYTES, the least recently shown go first (`prune`, run by
  the scheduled jobs).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from commonsfed.ap.remote_listings import RemotePhoto
from commonsfed.config import Settings
from commonsfed.db import remote_media as q
from commonsfed.federation import policy
from commonsfed.federation.context import Federation
from commonsfed.federation.fetch import FetchError, fetch_image
from commonsfed.services.photos import (
    MAX_PHOTOS,
    MAX_UPLOAD_BYTES,
    PhotoRejected,
    ProcessedPhoto,
    media_dir,
    process_photo,
    rendition_name,
    with_renditions,
)

PAGE_WAIT = 5.0  # seconds a page waits for its photos' first fetch, all together
CARDS_WAIT = 2.0  # a page of cards waits less: a card without its picture is still a card
RETRY_AFTER = timedelta(hours=1)
MAX_AGE = timedelta(days=30)
CACHE_MAX_BYTES = 1024 * 1024 * 1024  # 1 GiB of remote photos, at most
MAX_DOWNLOAD_BYTES = MAX_UPLOAD_BYTES  # as a resident's own upload
PRUNE_BATCH = 500
NAME_RE = re.compile(r"^([0-9a-f]{32})\.(webp|jpg)$")
PATH_PREFIX = "/media/remote/"
_RUNNING: set[asyncio.Task] = set()


@dataclass(frozen=True)
class ShownPhoto:
    """A remote photo as a page shows it: from our own address."""

    src: str
    alt: str
    width: int | None
    height: int | None


def _now() -> datetime:
    return datetime.now(UTC)


def key_for(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:32]


def remote_dir(settings: Settings) -> Path:
    return media_dir(settings) / "remote"


def file_path(settings: Settings, name: str) -> Path | None:
    """Where a cached photo's name lives; None for anything else (so no path can escape)."""
    return remote_dir(settings) / name if NAME_RE.fullmatch(name) else None


def _src(row: asyncpg.Record) -> str:
    return f"{PATH_PREFIX}{row['key']}.{row['extension']}"


# --- whose media we take ---------------------------------------------------------------------


async def media_allowed(conn: asyncpg.Connection, settings: Settings, *urls: str) -> bool:
    """Whether this node takes media from the hosts of all `urls` (see the module docstring)."""
    for domain in {policy.domain_of(url) for url in urls}:
        if not await _takes_media(conn, settings, domain):
            return False
    return True


async def _takes_media(conn: asyncpg.Connection, settings: Settings, domain: str) -> bool:
    return await policy.is_allowed(conn, settings, domain) and not await policy.rejects_media(
        conn, domain
    )


async def _still_allowed(
    conn: asyncpg.Connection, settings: Settings, wanted: dict[str, str]
) -> dict[str, str]:
    """`wanted` (photo URL -> listing URI) without what comes from a domain whose media this
    node refuses now: a photo kept before the admins blocked its domain is not shown again
    (the scheduled jobs remove it when it expires). Each domain is judged once."""
    judged: dict[str, bool] = {}
    for domain in {policy.domain_of(u) for pair in wanted.items() for u in pair}:
        judged[domain] = await _takes_media(conn, settings, domain)
    return {
        url: uri
        for url, uri in wanted.items()
        if judged[policy.domain_of(url)] and judged[policy.domain_of(uri)]
    }


# --- fetching --------------------------------------------------------------------------------


async def cache_photo(fed: Federation, url: str, listing_uri: str, now: datetime) -> bool:
    """Fetch, check and keep one photo; True if it is kept. Nothing is asked of a host whose
    media this node refuses; a failure is remembered (see RETRY_AFTER)."""
    key, domain = key_for(url), policy.domain_of(url)
    async with fed.pool.acquire() as conn:
        if not await media_allowed(conn, fed.settings, url, listing_uri):
            return False
    try:
        data = await fetch_image(
            fed.session, fed.policy, url, max_bytes=MAX_DOWNLOAD_BYTES, dev=fed.settings.dev
        )
        photo = await asyncio.to_thread(process_photo, data)
    except (FetchError, PhotoRejected) as exc:
        async with fed.pool.acquire() as conn:
            await q.put_failure(conn, key, url, domain, str(exc), now)
        return False
    await asyncio.to_thread(_write, remote_dir(fed.settings), key, photo)
    async with fed.pool.acquire() as conn:
        await q.put_photo(
            conn, key, url, domain, extension=photo.extension, size=len(photo.data),
            width=photo.width, height=photo.height, now=now,
        )  # fmt: skip
    return True


def _write(folder: Path, key: str, photo: ProcessedPhoto) -> None:
    """Write the photo and its renditions (services.photos) through temporary names, so a
    reader never finds half a file; the renditions first, so a photo found has them."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{key}.{photo.extension}"
    for data, target in [
        *((r.data, rendition_name(name, r.width)) for r in photo.renditions),
        (photo.data, name),
    ]:
        partial = folder / f".{target}.{os.getpid()}.part"
        partial.write_bytes(data)
        os.replace(partial, folder / target)


def _wanted(row: asyncpg.Record | None, now: datetime) -> bool:
    """Whether a photo should be fetched now: never fetched, expired, or failed long ago."""
    if row is None:
        return True
    if row["failed_at"] is not None and row["failed_at"] >= now - RETRY_AFTER:
        return False
    return row["extension"] is None or row["fetched_at"] < now - MAX_AGE


async def _ensure(
    fed: Federation, wanted: dict[str, str], now: datetime, wait: float
) -> dict[str, asyncpg.Record]:
    """Fetch what is missing among `wanted` (photo URL -> its listing's URI), waiting at
    most `wait` seconds; the cached rows among them, by URL, marked as used now."""
    async with fed.pool.acquire() as conn:
        wanted = await _still_allowed(conn, fed.settings, wanted)
        keys = {url: key_for(url) for url in wanted}
        rows = await q.get_all(conn, list(keys.values()))
    folder = remote_dir(fed.settings)
    missing = [
        url
        for url, key in keys.items()
        if _wanted(rows.get(key), now) or not _has_file(folder, rows[key])
    ]
    if missing:
        tasks = [_start(cache_photo(fed, url, wanted[url], now)) for url in missing]
        await asyncio.wait(tasks, timeout=wait)
    async with fed.pool.acquire() as conn:
        found = await q.get_many(conn, list(keys.values()))
        found = {key: row for key, row in found.items() if _has_file(folder, row)}
        await q.touch(conn, list(found), now)
    return {url: found[key] for url, key in keys.items() if key in found}


def _has_file(folder: Path, row: asyncpg.Record) -> bool:
    """A failure has no file; a photo's may be gone with a backup restored without it."""
    return row["extension"] is None or (folder / f"{row['key']}.{row['extension']}").is_file()


def _start(fetch: Coroutine[Any, Any, bool]) -> asyncio.Task:
    """A fetch that carries on when the page stops waiting (the next view finds it done),
    kept referenced until it ends, as asyncio asks of tasks nobody awaits."""
    task = asyncio.ensure_future(fetch)
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
    return task


async def photos_for(
    fed: Federation,
    listing_uri: str,
    photos: Sequence[RemotePhoto],
    *,
    wait: float = PAGE_WAIT,
    now: datetime | None = None,
) -> list[ShownPhoto]:
    """A remote listing's photos as its page shows them, fetching those not cached yet."""
    photos = list(photos)[:MAX_PHOTOS]
    found = await _ensure(fed, {photo.url: listing_uri for photo in photos}, now or _now(), wait)
    return [
        ShownPhoto(_src(row), photo.alt, row["width"], row["height"])
        for photo in photos
        if (row := found.get(photo.url)) is not None
    ]


async def thumbnails(
    fed: Federation,
    first_photos: dict[str, RemotePhoto],
    *,
    wait: float = CARDS_WAIT,
    now: datetime | None = None,
) -> dict[str, ShownPhoto]:
    """For a page of cards: listing URI -> its first photo's cached copy,
    fetching those not cached yet (all together, waiting at most `wait` seconds)."""
    wanted = {photo.url: uri for uri, photo in first_photos.items()}
    found = await _ensure(fed, wanted, now or _now(), wait)
    return {
        uri: ShownPhoto(_src(row), photo.alt, row["width"], row["height"])
        for uri, photo in first_photos.items()
        if (row := found.get(photo.url)) is not None
    }


# --- pruning ---------------------------------------------------------------------------------


async def prune(
    pool: asyncpg.Pool, settings: Settings, now: datetime, cap: int = CACHE_MAX_BYTES
) -> int:
    """Remove expired photos and old failures, then the least recently shown photos while
    the cache holds more than `cap` bytes. Returns how many went."""
    total = 0
    async with pool.acquire() as conn:
        while rows := await q.delete_expired(conn, now - MAX_AGE, now - RETRY_AFTER, PRUNE_BATCH):
            await asyncio.to_thread(_remove_files, settings, rows)
            total += len(rows)
            if len(rows) < PRUNE_BATCH:
                break
        if await q.total_size(conn) > cap:
            rows = await q.delete_beyond(conn, cap)
            await asyncio.to_thread(_remove_files, settings, rows)
            total += len(rows)
    return total


def _remove_files(settings: Settings, rows: Sequence[asyncpg.Record]) -> None:
    for row in rows:
        if row["extension"]:
            for file in with_renditions(remote_dir(settings) / f"{row['key']}.{row['extension']}"):
                file.unlink(missing_ok=True)
