"""Queries on activities published by local actors."""

from __future__ import annotations

import asyncpg
import orjson


async def insert_activity(
    conn: asyncpg.Connection, *, uri: str, actor_uri: str, type: str, object_uri: str | None,
    public: bool, document: dict,
) -> None:
    await conn.execute(
        """
        INSERT INTO activities (uri, actor_uri, type, object_uri, public, document)
        VALUES ($1, $2, $3, $4, $5, $6::jsonb)
        """,
        uri, actor_uri, type, object_uri, public, orjson.dumps(document).decode(),
    )


async def get_activity(conn: asyncpg.Connection, uri: str) -> dict | None:
    document = await conn.fetchval("SELECT document FROM activities WHERE uri = $1", uri)
    return orjson.loads(document) if document else None


async def get_public_activity(conn: asyncpg.Connection, uri: str) -> dict | None:
    document = await conn.fetchval(
        "SELECT document FROM activities WHERE uri = $1 AND public", uri
    )
    return orjson.loads(document) if document else None


async def latest_accept_of(conn: asyncpg.Connection, object_uri: str) -> dict | None:
    """The last Accept this node sent of `object_uri` (an Offer), as sent."""
    document = await conn.fetchval(
        """
        SELECT document FROM activities WHERE type = 'Accept' AND object_uri = $1
        ORDER BY id DESC LIMIT 1
        """,
        object_uri,
    )
    return orjson.loads(document) if document else None
