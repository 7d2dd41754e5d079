"""What a batch of inbox items names, read once for the whole batch.

The inbox worker handles its items in batches (`federation.inbox_batch`). Before their
verifies run, it reads in a few set-based queries what they would otherwise each read on
their own: the remote objects and tombstones their objects' ids name, and the types of the
objects they give by id only. The verifies read those through the functions below, which
answer from the batch's `Known` for an id it covers and ask the database for any other (a
handler called on its own, outside a batch, has no `Known`: `Federation.known` is None).

What `Known` holds is as fresh as a query at the start of the wave: the items of one wave
never name the same id (see `inbox_batch.waves`), so none of them writes what another one
read here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import asyncpg

from commonsfed.db import objects as objects_q

if TYPE_CHECKING:
    from commonsfed.federation.context import Federation


@dataclass(frozen=True)
class Known:
    uris: frozenset[str]  # the ids whose objects and tombstones were read
    objects: dict[str, asyncpg.Record] = field(default_factory=dict)
    tombstones: frozenset[tuple[str, str]] = frozenset()  # (uri, the actor that deleted it)
    typed: frozenset[str] = frozenset()  # the ids whose types were read
    types: dict[str, str] = field(default_factory=dict)

    @classmethod
    async def read(
        cls, conn: asyncpg.Connection, uris: Iterable[str], by_id: Iterable[str] = ()
    ) -> Known:
        """Objects and tombstones for `uris`; types for `by_id` (objects given by id only)."""
        uris, by_id = frozenset(uris), frozenset(by_id)
        objects, tombstones = (
            await objects_q.remote_objects_and_tombstones(conn, sorted(uris)) if uris else ({}, set())
        )
        types = await objects_q.known_types(conn, sorted(by_id)) if by_id else {}
        return cls(uris, objects, frozenset(tombstones), by_id, types)


async def stored_object(fed: Federation, uri: str) -> asyncpg.Record | None:
    """The remote object stored under `uri` (uri, type, attributed_to, is_listing), or None."""
    known = fed.known
    if known is not None and uri in known.uris:
        return known.objects.get(uri)
    async with fed.pool.acquire() as conn:
        return await objects_q.get_remote_object(conn, uri)


async def tombstoned(fed: Federation, uri: str, author: str) -> bool:
    """Whether `author` deleted `uri` (see `db.objects.is_tombstoned`)."""
    known = fed.known
    if known is not None and uri in known.uris:
        return (uri, author) in known.tombstones
    async with fed.pool.acquire() as conn:
        return await objects_q.is_tombstoned(conn, uri, author)


async def known_type(fed: Federation, uri: str) -> str | None:
    """What this node knows `uri` to be (see `db.objects.known_type`), or None."""
    known = fed.known
    if known is not None and uri in known.typed:
        return known.types.get(uri)
    async with fed.pool.acquire() as conn:
        return await objects_q.known_type(conn, uri)
