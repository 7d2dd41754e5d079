"""The admins' decisions about other domains: blocks with Mastodon's severities, and in
allow-list federation the domains allowed.

What each severity means is told in `federation.policy`; what a block does at once is here:
a suspension ends every follow with the domain, drops the deliveries waiting for it and the
content it sent (its notes and listings, reactions, mentions, what waits in the inbox);
a limit or a block of severity "none" changes what the node shows and keeps the follows.
Every change is written to the moderation log in the transaction that makes it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import asyncpg

from commonsfed.config import HOST_RE, Settings
from commonsfed.db import deliveries as deliveries_q
from commonsfed.db import policies as q
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import SEVERITIES, Account, DomainPolicy
from commonsfed.services import moderation_log
from commonsfed.services.errors import NotAllowed, ValidationError

MAX_PUBLIC_COMMENT = 1000  # characters: /about shows it beside the domain
MAX_DOMAIN = 253


@dataclass(frozen=True)
class BlockOutcome:
    block: DomainPolicy
    changed: bool  # False when the domain was blocked before (an edit)
    follows_ended: int = 0
    deliveries_dropped: int = 0
    objects_dropped: int = 0


def require_admin(account: Account | None) -> None:
    """None is the shell (`commonsfed block`), which speaks for the node's admins."""
    if account is not None and not account.is_admin:
        raise NotAllowed(Text(N_("Only the node's admins decide which domains it federates with.")))


def parse_domain(value: str, settings: Settings | None = None, field: str = "domain") -> str:
    """A domain as the admin typed it (any case, an internationalised name, a final dot),
    in the form the node compares: lower case, ASCII. With `settings`, the node's own
    domain is refused."""
    text = str(value).strip().lower().removesuffix(".")
    if not text:
        raise ValidationError({field: Text(N_("Give a domain, like spam.example."))})
    try:
        domain = text.encode("idna").decode("ascii")
    except UnicodeError:
        domain = ""
    if len(domain) > MAX_DOMAIN or not HOST_RE.match(domain):
        raise ValidationError({field: Text(N_("%(typed)s is not a domain like "
                                              "commons.example.org."),
                                           typed=repr(str(value).strip()[:100]))})  # fmt: skip
    if settings is not None and domain == settings.domain:
        raise ValidationError({field: Text(N_("%(domain)s is this node's own domain."),
                                           domain=domain)})
    return domain


def check_block(block: DomainPolicy, settings: Settings, field: str = "domain") -> DomainPolicy:
    """The block with its domain normalised and its fields checked; ValidationError says
    what is wrong, by field."""
    domain = parse_domain(block.domain, settings, field)
    errors = {}
    if block.severity not in SEVERITIES:
        errors["severity"] = Text(N_("A severity is one of %(severities)s."),
                                  severities=", ".join(SEVERITIES))
    public_comment = block.public_comment.strip()
    if len(public_comment) > MAX_PUBLIC_COMMENT:
        errors["public_comment"] = Text(N_("Keep the public comment under %(limit)s characters."),
                                        limit=MAX_PUBLIC_COMMENT)
    if errors:
        raise ValidationError(errors)
    note = block.note.strip()[: moderation_log.MAX_REASON]
    return replace(block, domain=domain, policy="block", public_comment=public_comment, note=note)


async def block_domain(
    pool: asyncpg.Pool, settings: Settings, admin: Account | None, block: DomainPolicy
) -> BlockOutcome:
    """Block `block.domain` as given (a new block, or a change to one); `block.note` is the
    private reason, written to the moderation log too."""
    require_admin(admin)
    block = check_block(block, settings)
    async with pool.acquire() as conn, conn.transaction():
        return await apply_block(conn, admin, block)


async def apply_block(
    conn: asyncpg.Connection, admin: Account | None, block: DomainPolicy, *,
    suspend_now: bool = True,
) -> BlockOutcome:
    """Write a checked block and do what its severity does at once, in the caller's
    transaction. Without `suspend_now` the caller runs `suspend` itself, for many domains
    at once (an import)."""
    before = await q.lock_domain_policy(conn, block.domain)
    await q.put_block(conn, block)
    outcome = BlockOutcome(block, changed=before is None or before.policy != "block")
    if block.severity == "suspend" and suspend_now:
        follows_ended, deliveries_dropped, objects_dropped = await suspend(conn, [block.domain])
        outcome = replace(outcome, follows_ended=follows_ended,
                          deliveries_dropped=deliveries_dropped, objects_dropped=objects_dropped)
    action = "block_domain" if outcome.changed else "change_domain_block"
    await moderation_log.record(conn, admin, action, "domain", block.domain, block.note,
                                _details(block, outcome))  # fmt: skip
    return outcome


async def suspend(conn: asyncpg.Connection, suspended: list[str]) -> tuple[int, int, int]:
    """What suspending `suspended` does at once: (follows ended, deliveries dropped, notes
    and listings dropped)."""
    follows_ended = await q.sever_follows_with_domains(conn, suspended)
    deliveries_dropped = 0
    for domain in suspended:  # by the (host, state) index: one cheap statement a domain
        deliveries_dropped += await deliveries_q.drop_pending_for_host(conn, domain)
    return follows_ended, deliveries_dropped, await q.drop_domain_content(conn, suspended)


def _details(block: DomainPolicy, outcome: BlockOutcome) -> dict:
    details = {"severity": block.severity}
    for flag in ("reject_media", "reject_reports", "obfuscate"):
        if getattr(block, flag):
            details[flag] = True
    if block.public_comment:
        details["public_comment"] = block.public_comment
    for count in ("follows_ended", "deliveries_dropped", "objects_dropped"):
        if getattr(outcome, count):
            details[count] = getattr(outcome, count)
    return details


async def unblock_domain(
    pool: asyncpg.Pool, settings: Settings, admin: Account | None, domain: str, reason: str = ""
) -> bool:
    """Lift the block of `domain`; False when it was not blocked. Follows ended and content
    dropped by a suspension do not come back."""
    require_admin(admin)
    domain = parse_domain(domain)
    async with pool.acquire() as conn, conn.transaction():
        before = await q.lock_domain_policy(conn, domain)
        if before is None or before.policy != "block":
            return False
        await q.remove_policy(conn, domain, "block")
        await moderation_log.record(conn, admin, "unblock_domain", "domain", domain, reason,
                                    {"severity": before.severity})  # fmt: skip
    return True


async def allow_domain(
    pool: asyncpg.Pool, settings: Settings, admin: Account | None, domain: str, reason: str = ""
) -> bool:
    """In allow-list federation, let `domain` deliver to us and be delivered to; False when
    it was allowed already. A blocked domain must be unblocked first."""
    require_admin(admin)
    domain = parse_domain(domain, settings)
    async with pool.acquire() as conn, conn.transaction():
        before = await q.lock_domain_policy(conn, domain)
        if before is not None and before.policy == "block":
            raise ValidationError({"domain": Text(N_("%(domain)s is blocked; lift the block first."),
                                                  domain=domain)})
        if before is not None:
            return False
        await q.set_policy(conn, domain, "allow", reason.strip()[: moderation_log.MAX_REASON])
        await moderation_log.record(conn, admin, "allow_domain", "domain", domain, reason)
    return True


async def disallow_domain(
    pool: asyncpg.Pool, settings: Settings, admin: Account | None, domain: str, reason: str = ""
) -> bool:
    """Take `domain` off the allow-list; False when it was not on it."""
    require_admin(admin)
    domain = parse_domain(domain)
    async with pool.acquire() as conn, conn.transaction():
        if not await q.remove_policy(conn, domain, "allow"):
            return False
        await moderation_log.record(conn, admin, "disallow_domain", "domain", domain, reason)
    return True


async def domain_policies(pool: asyncpg.Pool, policy: str | None = None) -> list[DomainPolicy]:
    async with pool.acquire() as conn:
        return await q.list_policies(conn, policy)


async def domain_policy(pool: asyncpg.Pool, domain: str) -> DomainPolicy | None:
    async with pool.acquire() as conn:
        return await q.get_domain_policy(conn, domain)
