"""Queries on the settings an admin changes at run time, and their version number."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg
import orjson

SETTINGS_CHANNEL = "commonsfed_settings"


async def current_version(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT version FROM node_settings_version")


async def stored_values(conn: asyncpg.Connection) -> tuple[int, dict[str, Any]]:
    """The version and every stored setting, read in one statement so they agree."""
    row = await conn.fetchrow(
        """
        SELECT v.version,
               coalesce((SELECT jsonb_object_agg(name, value) FROM node_settings), '{}')::text
                   AS stored
        FROM node_settings_version AS v
        """
    )
    return row["version"], orjson.loads(row["stored"])


async def lock_version(conn: asyncpg.Connection) -> int:
    """In a transaction: the version, with its row locked until the commit, so two admins'
    changes go one after the other and each sees the values the other left."""
    return await conn.fetchval("SELECT version FROM node_settings_version FOR UPDATE")


async def store_values(
    conn: asyncpg.Connection, values: Mapping[str, Any], account_id: int | None
) -> int:
    """Store the values, raise the version and NOTIFY every process (on commit); the new
    version."""
    await conn.execute(
        """
        INSERT INTO node_settings (name, value, updated_by)
        SELECT name, value, $3 FROM unnest($1::text[], $2::jsonb[]) AS t (name, value)
        ON CONFLICT (name) DO UPDATE
            SET value = EXCLUDED.value, updated_at = now(), updated_by = EXCLUDED.updated_by
        """,
        list(values),
        [orjson.dumps(value).decode() for value in values.values()],
        account_id,
    )
    version = await conn.fetchval(
        "UPDATE node_settings_version SET version = version + 1 RETURNING version"
    )
    await conn.execute("SELECT pg_notify($1, $2)", SETTINGS_CHANNEL, str(version))
    return version
