"""Queries for what other nodes are called: their Group actor's name, their NodeInfo's."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg


async def names(conn: asyncpg.Connection, domains: Sequence[str]) -> dict[str, str]:
    """domain -> the name this node knows for it: the cached Group actor's name, else the
    kept NodeInfo's (fetched without error); domains with neither are left out."""
    rows = await conn.fetch(
        """
        SELECT d.domain,
               coalesce(
                   (SELECT nullif(btrim(ra.name), '') FROM remote_actors ra
                    WHERE ra.domain = d.domain AND ra.type = 'Group'
                    ORDER BY ra.fetched_at DESC LIMIT 1),
                   (SELECT nullif(btrim(ni.name), '') FROM node_infos ni
                    WHERE ni.domain = d.domain AND ni.error IS NULL)
               ) AS name
        FROM unnest($1::text[]) AS d(domain)
        """,
        list(domains),
    )
    return {row["domain"]: row["name"] for row in rows if row["name"]}
