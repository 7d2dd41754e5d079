"""What a page calls another node: the neighbourhood's name, as this node knows it.

A resident thinks "the Riverside neighbourhood", not "riverside.example.org": the name is the
other node's Group actor's (cached when its listings arrive through it, or when the Groups
follow each other), else the name its NodeInfo gave (kept in node_infos), else the host.
Names come from the other server: pages show them as text, never as markup.
"""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from commonsfed.db import neighbourhoods as q

MAX_NAME = 80  # a peer's name is shown on every card: a long one is cut


async def names_of(conn: asyncpg.Connection, domains: Iterable[str]) -> dict[str, str]:
    """domain -> its neighbourhood's name, the domain itself when no name is known."""
    wanted = sorted({domain for domain in domains if domain})
    known = await q.names(conn, wanted) if wanted else {}
    return {domain: _short(known.get(domain) or domain) for domain in wanted}


def _short(name: str) -> str:
    name = " ".join(name.split())
    return name if len(name) <= MAX_NAME else name[: MAX_NAME - 1] + "…"
