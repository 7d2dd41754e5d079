"""Key pairs for local actors, and the node's own actors' keys kept in the database."""

from __future__ import annotations

import asyncio

import asyncpg

from commonsfed import signatures
from commonsfed.db import actors as q

INSTANCE, GROUP = "instance", "group"


async def new_key_pair() -> tuple[str, str]:
    """(private PEM, public PEM) for a new actor; RSA generation takes a while, so in a thread."""

    def generate() -> tuple[str, str]:
        key = signatures.generate_private_key()
        return signatures.private_key_to_pem(key), signatures.public_key_to_pem(key)

    return await asyncio.to_thread(generate)


async def node_keys(pool: asyncpg.Pool, role: str) -> tuple[str, str]:
    """(private PEM, public PEM) of the instance or group actor, made on first use."""
    async with pool.acquire() as conn:
        keys = await q.get_node_keys(conn, role)
        if keys is None:
            private, public = await new_key_pair()
            await q.insert_node_keys(conn, role, private, public)
            keys = await q.get_node_keys(conn, role)
    return keys
