"""Profiles on the wire: what a Person shows of itself beyond its name and addresses.

Mastodon's shape, which the fediverse reads: `summary` (HTML), `icon` (an Image), and
`attachment` of `PropertyValue`s, `{"type": "PropertyValue", "name": label, "value": HTML}`,
the value a link when it is one. The terms PropertyValue and value are schema.org's, defined
in OUR_CONTEXT as Mastodon defines them. A resident's area of the neighbourhood travels as
`location`, a Place with a name (AS2's own terms; other software ignores it).

Remote documents are hostile: what is read is capped here, and whoever shows it sanitises
the HTML (summary, field values) first.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from commonsfed.ap.jsonld import OUR_CONTEXT, PUBLIC, as_list

# What we keep of a remote profile. Mastodon shows 4 fields and Misskey 16; Mastodon caps a
# remote field's name and value at 2,047 characters each (MAX_CHARACTERS_COMPAT).
MAX_REMOTE_FIELDS = 16
MAX_REMOTE_FIELD_CHARS = 2047
MAX_REMOTE_SUMMARY_CHARS = 10_000
MAX_REMOTE_AREA_CHARS = 100
MAX_URL_CHARS = 2048
# a link in a field: rel="me" tells the linked page's rel-me check (Mastodon's, IndieWeb's)
# that this profile claims it
FIELD_LINK_REL = "me nofollow noopener noreferrer"


@dataclass(frozen=True)
class PropertyValue:
    name: str  # plain text
    value: str  # HTML


@dataclass(frozen=True)
class Profile:
    icon_url: str | None = None
    icon_media_type: str | None = None
    area: str = ""
    fields: tuple[PropertyValue, ...] = ()


NO_PROFILE = Profile()


def field_link(value: str) -> str | None:
    """`value` when it is a whole http(s) URL a person can follow, else None.

    As Mastodon's Account::Field#verifiable?: an http(s) URL with a host and no user name or
    password; plain ASCII only, so a look-alike host in another script never passes.
    """
    if not value.isascii() or len(value) > MAX_URL_CHARS or any(c.isspace() for c in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None:
        return None
    return value


def field_to_ap(label: str, value: str) -> PropertyValue:
    """A resident's field as Mastodon sends one: a link as <a rel="me">, else plain text."""
    link = field_link(value)
    if link is None:
        return PropertyValue(label, html.escape(value))
    shown = html.escape(link.split("://", 1)[1])
    return PropertyValue(
        label,
        f'<a href="{html.escape(link)}" target="_blank" rel="{FIELD_LINK_REL}" translate="no">'
        f"{shown}</a>",
    )


def profile_to_ap(profile: Profile) -> dict[str, Any]:
    """The profile's part of an actor document: only what is set."""
    document: dict[str, Any] = {}
    if profile.icon_url:
        document["icon"] = {"type": "Image", "url": profile.icon_url}
        if profile.icon_media_type:
            document["icon"]["mediaType"] = profile.icon_media_type
    if profile.fields:
        document["attachment"] = [
            {"type": "PropertyValue", "name": field.name, "value": field.value}
            for field in profile.fields
        ]
    if profile.area:
        document["location"] = {"type": "Place", "name": profile.area}
    return document


def update_actor_to_ap(
    actor: dict[str, Any], activity_id: str, cc: list[str], bcc: list[str]
) -> dict[str, Any]:
    """An Update of an actor's own document, public (as Mastodon sends it), `cc` its
    followers, blind copies to whoever else should refresh their copy."""
    update: dict[str, Any] = {
        "@context": OUR_CONTEXT,
        "id": activity_id,
        "type": "Update",
        "actor": actor["id"],
        "to": [PUBLIC],
        "cc": cc,
        "object": {key: value for key, value in actor.items() if key != "@context"},
    }
    if bcc:
        update["bcc"] = bcc
    return update


# --- reading a remote actor's profile ------------------------------------------------------


def summary_from_ap(document: dict[str, Any]) -> str | None:
    return _capped(document.get("summary"), MAX_REMOTE_SUMMARY_CHARS)


def profile_from_ap(document: dict[str, Any]) -> Profile:
    """What a (normalised) remote actor document shows of itself; anything malformed is
    left out, never refused: an actor without a usable avatar is still an actor."""
    location = next((item for item in as_list(document.get("location"))
                     if isinstance(item, dict)), {})  # fmt: skip
    icon_url, media_type = _icon(document.get("icon"))
    return Profile(
        icon_url=icon_url,
        icon_media_type=media_type,
        area=_capped(location.get("name"), MAX_REMOTE_AREA_CHARS) or "",
        fields=_fields(document.get("attachment")),
    )


def _capped(value: Any, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) else None


def _icon(value: Any) -> tuple[str | None, str | None]:
    """The first http(s) URL of an icon: an Image (whose url is a string, a Link or a list
    of them, as Pleroma sends), or a bare URL."""
    for item in as_list(value)[:4]:
        image = item if isinstance(item, dict) else {"url": item}
        for url in as_list(image.get("url"))[:4]:
            href = url.get("href") if isinstance(url, dict) else url
            if isinstance(href, str) and len(href) <= MAX_URL_CHARS and _is_http(href):
                media_type = image.get("mediaType")
                return href, media_type if isinstance(media_type, str) else None
    return None, None


def _is_http(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _fields(attachments: Any) -> tuple[PropertyValue, ...]:
    fields = []
    for item in as_list(attachments)[: MAX_REMOTE_FIELDS * 4]:
        if not isinstance(item, dict) or "PropertyValue" not in as_list(item.get("type")):
            continue  # Mastodon's IdentityProof, images, links
        name = _capped(item.get("name"), MAX_REMOTE_FIELD_CHARS)
        value = _capped(item.get("value"), MAX_REMOTE_FIELD_CHARS)
        if name and value is not None:
            fields.append(PropertyValue(name, value))
        if len(fields) == MAX_REMOTE_FIELDS:
            break
    return tuple(fields)

