"""Statuses as entities for a viewer: the one place every endpoint that returns statuses
(a status, a timeline, a notification's, a conversation's last) turns views into JSON, so
that the viewer's own flags (favourited, bookmarked) and the counts are the same everywhere."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from commonsfed.api import entities
from commonsfed.config import Settings
from commonsfed.models import Account
from commonsfed.services.favourites import flags_for
from commonsfed.services.statuses import StatusView


async def statuses_json(
    conn: asyncpg.Connection,
    settings: Settings,
    views: Sequence[StatusView],
    viewer: Account | None,
) -> list[dict[str, Any]]:
    """The Status entities of `views`, in their order, as `viewer` (or a visitor) sees them;
    a handful of queries for the whole page (services.favourites.flags_for)."""
    flags = await flags_for(conn, settings, views, viewer)
    return [
        entities.status(
            view,
            settings,
            favourited=view.id in flags.favourited,
            bookmarked=view.id in flags.bookmarked,
            favourites_count=(flags.favourites or {}).get(view.id, 0),
            replies_count=(flags.replies or {}).get(view.id, 0),
        )  # fmt: skip
        for view in views
    ]
