"""Whom this node federates with: open federation with blocks, or an allow-list.

A block always wins. In allow-list mode only allowed domains may deliver to us or be
delivered to; in open mode everyone but the blocked may.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import asyncpg

from commonsfed.config import Settings
from commonsfed.db import policies as q


class DomainRefused(Exception):
    """This node does not federate with the domain; a 403 for peers."""


def domain_of(uri: str) -> str:
    return urlsplit(uri).netloc.lower()


async def is_allowed(conn: asyncpg.Connection, settings: Settings, domain: str) -> bool:
    domain = domain.lower()
    if domain == settings.domain:
        return True
    policy = await q.get_policy(conn, domain)
    if policy == "block":
        return False
    return settings.federation == "open" or policy == "allow"


async def check_domain(conn: asyncpg.Connection, settings: Settings, domain: str) -> None:
    if not await is_allowed(conn, settings, domain):
        raise DomainRefused(f"this node does not federate with {domain}")
