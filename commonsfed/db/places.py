"""Queries on the neighbourhood's named places (migration 0032)."""

from __future__ import annotations

import asyncpg

from commonsfed.models import Place

COLUMNS = "id, name, latitude, longitude, position, created_at"


def _place(row: asyncpg.Record | None) -> Place | None:
    return Place(**dict(row)) if row else None


async def all_places(conn: asyncpg.Connection) -> list[Place]:
    rows = await conn.fetch(f"SELECT {COLUMNS} FROM places ORDER BY position, lower(name), id")
    return [Place(**dict(row)) for row in rows]


async def get_place(
    conn: asyncpg.Connection, place_id: int, *, for_update: bool = False
) -> Place | None:
    lock = " FOR UPDATE" if for_update else ""
    return _place(
        await conn.fetchrow(f"SELECT {COLUMNS} FROM places WHERE id = $1{lock}", place_id)
    )


async def insert_place(
    conn: asyncpg.Connection, name: str, latitude: float, longitude: float
) -> Place | None:
    """The new place, or None when one of that name (whatever its case) exists already."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO places (name, latitude, longitude, position)
        VALUES ($1, $2, $3, (SELECT coalesce(max(position) + 1, 0) FROM places))
        ON CONFLICT ((lower(name))) DO NOTHING
        RETURNING {COLUMNS}
        """,
        name, latitude, longitude,
    )  # fmt: skip
    return _place(row)


async def update_place(
    conn: asyncpg.Connection, place_id: int, name: str, latitude: float, longitude: float
) -> Place | None:
    """The place as changed; None when another place has the name already."""
    try:
        async with conn.transaction():
            row = await conn.fetchrow(
                f"""
                UPDATE places SET name = $2, latitude = $3, longitude = $4
                WHERE id = $1 RETURNING {COLUMNS}
                """,
                place_id, name, latitude, longitude,
            )  # fmt: skip
    except asyncpg.UniqueViolationError:
        return None
    return _place(row)


async def delete_place(conn: asyncpg.Connection, place_id: int) -> Place | None:
    row = await conn.fetchrow(f"DELETE FROM places WHERE id = $1 RETURNING {COLUMNS}", place_id)
    return _place(row)
