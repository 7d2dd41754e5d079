"""Another node's NodeInfo: found through /.well-known/nodeinfo on its own domain, fetched
through the node's guarded client (no internal addresses, a deadline, a size cap)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from commonsfed.federation.context import Federation
from commonsfed.federation.fetch import FetchError, fetch_jrd

MAX_TEXT = 2000  # characters kept of a name or description: a page shows them


@dataclass(frozen=True)
class NodeSummary:
    """What a node says of itself, as an admin reads it."""

    name: str
    description: str
    software: str
    users: int | None


async def fetch_nodeinfo(fed: Federation, domain: str) -> dict[str, Any]:
    """The NodeInfo document of `domain` (2.1 preferred); FetchError says why not."""
    links = await fetch_jrd(fed.session, fed.policy,
                            f"{fed.settings.scheme}://{domain}/.well-known/nodeinfo",
                            dev=fed.settings.dev)  # fmt: skip
    return await fetch_jrd(fed.session, fed.policy, nodeinfo_href(links, domain),
                           dev=fed.settings.dev)  # fmt: skip


def nodeinfo_href(links: dict, domain: str) -> str:
    """The NodeInfo document's address, 2.1 preferred; only on `domain` itself."""
    found = [
        (str(link.get("rel", "")), link["href"]) for link in links.get("links") or []
        if isinstance(link, dict) and "nodeinfo" in str(link.get("rel", ""))
        and isinstance(link.get("href"), str) and on_domain(link["href"], domain)
    ]  # fmt: skip
    newest = [href for rel, href in found if rel.endswith("/schema/2.1")]
    if not found:
        raise FetchError(f"no NodeInfo link on {domain}")
    return (newest or [href for _, href in found])[0]


def on_domain(url: str, domain: str) -> bool:
    try:
        return urlsplit(url).netloc.lower() == domain
    except ValueError:
        return False


def summary_from_nodeinfo(document: dict[str, Any]) -> NodeSummary:
    """Name and description as Mastodon, GoToSocial, Misskey and commonsfed give them (in
    `metadata.nodeName` and `metadata.nodeDescription`), and the number of users."""
    metadata = document.get("metadata") if isinstance(document.get("metadata"), dict) else {}
    software = document.get("software") if isinstance(document.get("software"), dict) else {}
    usage = document.get("usage") if isinstance(document.get("usage"), dict) else {}
    users = usage.get("users") if isinstance(usage.get("users"), dict) else {}
    total = users.get("total")
    return NodeSummary(
        name=_text(metadata.get("nodeName")),
        description=_text(metadata.get("nodeDescription")),
        software=" ".join(filter(None, (_text(software.get("name"))[:50],
                                        _text(software.get("version"))[:50]))),
        users=total if isinstance(total, int) and not isinstance(total, bool) and total >= 0
        else None,
    )  # fmt: skip


def _text(value: Any) -> str:
    return value.strip()[:MAX_TEXT] if isinstance(value, str) else ""
