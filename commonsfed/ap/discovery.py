"""WebFinger, host-meta and NodeInfo documents."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import quoteattr

AS2_TYPE = "application/activity+json"
NODEINFO_PROFILE = "http://nodeinfo.diaspora.software/ns/schema/{version}"
NODEINFO_VERSIONS = ("2.0", "2.1")


def webfinger_to_jrd(subject: str, actor_uri: str, profile_url: str) -> dict[str, Any]:
    return {
        "subject": subject,
        "aliases": [actor_uri, profile_url] if profile_url != actor_uri else [actor_uri],
        "links": [
            {"rel": "self", "type": AS2_TYPE, "href": actor_uri},
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html",
             "href": profile_url},
        ],
    }


def host_meta_xrd(base_url: str) -> str:
    template = quoteattr(f"{base_url}/.well-known/webfinger?resource={{uri}}")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" type="application/xrd+xml" template={template}/>\n'
        "</XRD>\n"
    )


def host_meta_json(base_url: str) -> dict[str, Any]:
    return {"links": [{"rel": "lrdd", "type": "application/jrd+json",
                       "template": f"{base_url}/.well-known/webfinger?resource={{uri}}"}]}


def nodeinfo_links(base_url: str) -> dict[str, Any]:
    return {"links": [
        {"rel": NODEINFO_PROFILE.format(version=version),
         "href": f"{base_url}/nodeinfo/{version}"}
        for version in NODEINFO_VERSIONS
    ]}


@dataclass(frozen=True)
class Usage:
    users_total: int
    active_month: int
    active_halfyear: int
    local_posts: int


def nodeinfo_to_json(
    version: str, software_version: str, usage: Usage, open_registrations: bool,
    metadata: dict[str, Any],
) -> dict[str, Any]:
    software = {"name": "commonsfed", "version": software_version}
    if version == "2.1":  # 2.0's schema allows only name and version here
        software |= {"repository": "https://codeberg.org/commonsfed/commonsfed",
                     "homepage": "https://commonsfed.org"}
    return {
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": ["atom1.0", "rss2.0"]},
        "openRegistrations": open_registrations,
        "usage": {
            "users": {"total": usage.users_total, "activeMonth": usage.active_month,
                      "activeHalfyear": usage.active_halfyear},
            "localPosts": usage.local_posts,
        },
        "metadata": metadata,
    }
