"""Photos that apps upload before the status that uses them (POST /api/v2/media).

Each goes through the same pipeline as a listing form's photo (services.photos: the type
read from the bytes, metadata stripped, resized, re-encoded) at once, so the upload is done
when it is answered, and is kept as the resident's pending upload. A listing posted with its
id takes the file as one of its photos; one no status used within KEEP_UNATTACHED is removed
with its file by the scheduled jobs, as Mastodon removes unattached media.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from commonsfed.config import Settings
from commonsfed.db import media as q
from commonsfed.models import Account
from commonsfed.services.errors import ValidationError
from commonsfed.services.photos import (
    PhotoRejected,
    Upload,
    process_upload,
    remove_photos,
    store_photos,
)
from commonsfed.services.statuses import MediaView

MAX_DESCRIPTION = 500  # as a listing photo's alt text
KEEP_UNATTACHED = timedelta(days=1)
PRUNE_BATCH = 500


def check_description(description: str) -> str:
    text = description.replace("\r\n", "\n").strip()
    if len(text) > MAX_DESCRIPTION:
        raise ValidationError(
            {"description": f"Use at most {MAX_DESCRIPTION} characters; this has {len(text)}."}
        )
    return text


def media_view(settings: Settings, row: asyncpg.Record) -> MediaView:
    url = f"{settings.base_url}/media/{row['filename']}"
    return MediaView(id=row["id"], url=url, description=row["alt"], width=row["width"],
                     height=row["height"], preview_url=url)  # fmt: skip


async def upload(
    pool: asyncpg.Pool, settings: Settings, account: Account, file: Upload, description: str
) -> MediaView:
    """Check, clean and store the photo; ValidationError with the pipeline's message."""
    alt = check_description(description)
    try:
        processed = await process_upload(file)
    except PhotoRejected as exc:
        raise ValidationError({"file": str(exc)}) from None
    [name] = await store_photos(settings, [processed])
    try:
        async with pool.acquire() as conn:
            row = await q.insert_upload(
                conn, account.id, name, alt, processed.width, processed.height
            )
    except BaseException:
        await remove_photos(settings, [name])
        raise
    return media_view(settings, row)


async def get(
    pool: asyncpg.Pool, settings: Settings, account: Account, upload_id: int
) -> MediaView | None:
    async with pool.acquire() as conn:
        row = await q.get_upload(conn, account.id, upload_id)
    return media_view(settings, row) if row else None


async def describe(
    pool: asyncpg.Pool, settings: Settings, account: Account, upload_id: int, description: str
) -> MediaView | None:
    """A new description for an upload not yet posted; None if there is none such."""
    alt = check_description(description)
    async with pool.acquire() as conn:
        row = await q.set_alt(conn, account.id, upload_id, alt)
    return media_view(settings, row) if row else None


async def pending(
    conn: asyncpg.Connection, account: Account, upload_ids: Sequence[int]
) -> list[asyncpg.Record]:
    """The resident's unposted uploads for a status, in the order given; ValidationError
    for an id that is not one (someone else's, posted already, or unknown)."""
    rows = {row["id"]: row for row in await q.unattached(conn, account.id, upload_ids)}
    missing = [str(each) for each in upload_ids if each not in rows]
    if missing:
        raise ValidationError(
            {"media_ids": f"No photo you uploaded and have not posted yet has the id "
                          f"{', '.join(missing)}."}
        )  # fmt: skip
    return [rows[each] for each in upload_ids]


async def prune(pool: asyncpg.Pool, settings: Settings, now: datetime) -> int:
    """Remove uploads no status used within KEEP_UNATTACHED, and their files."""
    total = 0
    async with pool.acquire() as conn:
        while names := await q.prune_unattached(conn, now - KEEP_UNATTACHED, PRUNE_BATCH):
            await remove_photos(settings, names)
            total += len(names)
            if len(names) < PRUNE_BATCH:
                break
    return total
