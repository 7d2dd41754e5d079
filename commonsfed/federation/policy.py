"""Whom this node federates with: open federation with blocks, or an allow-list.

A domain block has Mastodon's severities. `suspend` refuses everything from the domain
(and services.domains drops what it sent before); `limit` lets it in but keeps its content
out of public places (/explore, search) and makes its follows wait for approval, as
Mastodon's "silence" does; `none` only applies the block's rejections: `reject_media`
(its actors' pictures are not shown) and `reject_reports` (its Flags are dropped).

In allow-list mode only allowed domains may deliver to us or be delivered to; in open mode
everyone but the suspended may. A suspension always wins.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import asyncpg

from commonsfed.config import Settings
from commonsfed.db import policies as q
from commonsfed.models import DomainPolicy

# What the inbox's insert compares (db.inbox reads it in SQL): the domain's policy, with a
# block that is not a suspension read as "limited"; "" for a domain with no policy.
LIMITED = "limited"


class DomainRefused(Exception):
    """This node does not federate with the domain; a 403 for peers."""


_NETLOC = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([^/?#\\\s\[\]]*)")


def domain_of(uri: str) -> str:
    """The URI's host (and port), lower-cased: urlsplit's netloc, read by a pattern when
    the URI has the usual shape (a listing to 10,000 followers asks 10,000 times, and
    urlsplit took a third of its publishing); urlsplit itself for anything else (an IPv6
    literal included, whose brackets urlsplit checks, raising ValueError)."""
    match = _NETLOC.match(uri)
    if match is not None and (match.end() == len(uri) or uri[match.end()] in "/?#"):
        return match.group(1).lower()
    return urlsplit(uri).netloc.lower()


def permitted(settings: Settings) -> list[str]:
    """The policies (as the inbox reads them, see LIMITED) that let a domain in."""
    return ["", "allow", LIMITED] if settings.federation == "open" else ["allow"]


async def is_allowed(conn: asyncpg.Connection, settings: Settings, domain: str) -> bool:
    domain = domain.lower()
    if domain == settings.domain:
        return True
    return _allows(settings, await q.get_domain_policy(conn, domain))


async def allowed_domains(
    conn: asyncpg.Connection, settings: Settings, domains: set[str]
) -> set[str]:
    """Those of `domains` this node federates with, in one query: a listing to followers on
    2,000 hosts asks about 2,000 domains inside its publishing transaction."""
    wanted = {domain.lower() for domain in domains}
    decisions = await q.domain_policies(conn, sorted(wanted))
    return {
        domain
        for domain in wanted
        if domain == settings.domain or _allows(settings, decisions.get(domain))
    }


def _allows(settings: Settings, decision: DomainPolicy | None) -> bool:
    if decision is None:
        return "" in permitted(settings)
    if decision.policy == "block" and decision.severity != "suspend":
        return LIMITED in permitted(settings)
    return decision.policy in permitted(settings)


async def check_domain(conn: asyncpg.Connection, settings: Settings, domain: str) -> None:
    if not await is_allowed(conn, settings, domain):
        raise DomainRefused(f"this node does not federate with {domain}")


async def is_limited(conn: asyncpg.Connection, domain: str) -> bool:
    """Whether `domain` is limited: its follows wait for approval, its content stays out
    of public places."""
    decision = await q.get_domain_policy(conn, domain.lower())
    return decision is not None and decision.policy == "block" and decision.severity == "limit"


async def rejects_reports(conn: asyncpg.Connection, domain: str) -> bool:
    """Whether the admins block `domain` with reject_reports: its Flags are dropped, as
    Mastodon drops them, without a word to the sender."""
    return await q.domain_flag(conn, domain.lower(), "reject_reports")


async def rejects_media(conn: asyncpg.Connection, domain: str) -> bool:
    """Whether the admins block `domain` with reject_media: its pictures are not shown."""
    return await q.domain_flag(conn, domain.lower(), "reject_media")
