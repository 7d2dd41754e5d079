"""The public /about page: who runs the node, its rules, and the domains it moderates."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import asyncpg

from commonsfed.db import about as q
from commonsfed.i18n import gettext_noop as N_

# shown with |t: translated on the page, in its reader's language
SEVERITY_NAMES = {"limit": N_("Limited"), "suspend": N_("Suspended")}


@dataclass(frozen=True)
class ModeratedDomain:
    domain: str  # as shown: with letters hidden when the admin chose so
    digest: str  # SHA-256 of the real name, so a visitor can check a guess
    severity: str
    comment: str

    @property
    def severity_name(self) -> str:
        return SEVERITY_NAMES.get(self.severity, self.severity)


def public_domain(domain: str, obfuscate: bool) -> str:
    """The domain as /about shows it. Obfuscated as Mastodon does it, so a domain reads the
    same on both: a quarter of the letters (rounded down) stay at each end, the dots stay,
    every other letter becomes *."""
    if not obfuscate:
        return domain
    keep = len(domain) // 4
    return "".join(
        "*" if keep < i < len(domain) - keep and char != "." else char
        for i, char in enumerate(domain)
    )


async def moderated_domains(pool: asyncpg.Pool) -> list[ModeratedDomain]:
    async with pool.acquire() as conn:
        rows = await q.public_blocks(conn)
    return [
        ModeratedDomain(
            domain=public_domain(row["domain"], row["obfuscate"]),
            digest=hashlib.sha256(row["domain"].encode()).hexdigest(),
            severity=row["severity"],
            comment=row["public_comment"],
        )
        for row in rows
    ]
