"""Mastodon's entities, as JSON-ready dicts, from the services' views.

Field by field as Mastodon documents them (docs.joinmastodon.org/entities), including the
ones this node has nothing for (`emojis: []`, `poll: null`): apps index into them without
checking. Ids are strings, times ISO 8601 in UTC with milliseconds, as Mastodon sends them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

from commonsfed import __version__
from commonsfed.config import Settings
from commonsfed.db.markers import Marker
from commonsfed.db.oauth import OAuthApp
from commonsfed.services.api_accounts import AccountView
from commonsfed.services.instance import IMAGE_TYPES, MAX_CHARACTERS, InstanceView
from commonsfed.services.oauth import IssuedToken
from commonsfed.services.statuses import MediaView, StatusView


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


# --- accounts and relationships ------------------------------------------------------------


def account(view: AccountView, settings: Settings) -> dict[str, Any]:
    avatar = view.avatar or f"{settings.base_url}/static/avatar.png"
    header = f"{settings.base_url}/static/header.png"
    return {
        "id": str(view.id),
        "username": view.username,
        "acct": view.acct,
        "url": view.url,
        "uri": view.uri,
        "display_name": view.display_name,
        "note": view.note_html,
        "avatar": avatar,
        "avatar_static": avatar,
        "header": header,
        "header_static": header,
        "locked": view.locked,
        "fields": [
            {"name": field.name, "value": field.value_html, "verified_at": iso(field.verified_at)}
            for field in view.fields
        ],
        "emojis": [],
        "bot": view.bot,
        "group": view.group,
        "discoverable": True,
        "indexable": True,
        "noindex": False,
        "hide_collections": False,
        "suspended": view.suspended,
        "limited": False,
        "created_at": iso(view.created_at),
        "last_status_at": _day(view.last_status_at),
        "statuses_count": view.statuses_count,
        "followers_count": view.followers_count,
        "following_count": view.following_count,
        "roles": [],
    }


def credential_account(
    view: AccountView,
    settings: Settings,
    *,
    note_source: str,
    fields_source: list[tuple[str, str]],
    follow_requests_count: int = 0,
) -> dict[str, Any]:
    """The resident's own account (verify_credentials, update_credentials): the Account with
    `source`, what the profile form holds as typed."""
    entity = account(view, settings)
    entity["source"] = {
        "note": note_source,
        "fields": [
            {"name": name, "value": value, "verified_at": None} for name, value in fields_source
        ],  # fmt: skip
        "privacy": "public",
        "sensitive": False,
        "language": None,
        "follow_requests_count": follow_requests_count,
        "hide_collections": False,
        "discoverable": True,
        "indexable": True,
    }
    entity["role"] = {
        "id": "-99",
        "name": "",
        "color": "",
        "permissions": "0",
        "highlighted": False,
    }
    return entity


# --- statuses, media, tags ------------------------------------------------------------------


def mention(view: AccountView) -> dict[str, Any]:
    return {"id": str(view.id), "username": view.username, "url": view.url, "acct": view.acct}


def media(view: MediaView) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if view.width and view.height:
        size = {"width": view.width, "height": view.height, "size": f"{view.width}x{view.height}",
                "aspect": round(view.width / view.height, 4)}  # fmt: skip
        meta = {"original": size, "small": size}
    return {
        "id": str(view.id),
        "type": "image",
        "url": view.url,
        "preview_url": view.preview_url or view.url,
        "remote_url": view.remote_url,
        "preview_remote_url": None,
        "text_url": None,
        "meta": meta,
        "description": view.description or None,
        "blurhash": None,
    }


def tag(name: str, settings: Settings, *, following: bool | None = None) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "name": name,
        "url": f"{settings.base_url}/tags/{quote(name, safe='')}",
        "history": [],
    }
    if following is not None:
        entity["following"] = following
    return entity


def status(
    view: StatusView,
    settings: Settings,
    *,
    favourited: bool = False,
    bookmarked: bool = False,
    favourites_count: int = 0,
    replies_count: int = 0,
) -> dict[str, Any]:
    """The Status; the flags are the viewer's (false for a visitor), as Mastodon sends
    them only to a logged-in app but every app reads them."""
    return {
        "id": str(view.id),
        "uri": view.uri,
        "url": view.url,
        "created_at": iso(view.created_at),
        "edited_at": iso(view.edited_at),
        "account": account(view.account, settings),
        "content": view.content_html,
        "visibility": view.visibility,
        "sensitive": False,
        "spoiler_text": "",
        "media_attachments": [media(item) for item in view.media],
        "application": None,
        "mentions": [mention(other) for other in view.mentions],
        "tags": [tag(name, settings) for name in view.tags],
        "emojis": [],
        "reblogs_count": 0,
        "favourites_count": favourites_count,
        "replies_count": replies_count,
        "in_reply_to_id": str(view.in_reply_to_id) if view.in_reply_to_id else None,
        "in_reply_to_account_id": (
            str(view.in_reply_to_account_id) if view.in_reply_to_account_id else None
        ),
        "reblog": None,
        "poll": None,
        "card": None,
        "language": None,
        "text": None,
        "favourited": favourited,
        "reblogged": False,
        "muted": False,
        "bookmarked": bookmarked,
        "pinned": False,
        "filtered": [],
    }


# --- notifications and conversations -------------------------------------------------------


# --- the instance, apps and tokens ----------------------------------------------------------


def _streaming(settings: Settings) -> str:
    return ("wss://" if settings.scheme == "https" else "ws://") + settings.domain


def _media_configuration(view: InstanceView) -> dict[str, Any]:
    return {
        "supported_mime_types": list(IMAGE_TYPES),
        "description_limit": 1500,
        "image_size_limit": view.max_image_bytes,
        "image_matrix_limit": view.max_image_pixels,
        # photos only: no video, and so no room for any
        "video_size_limit": 0,
        "video_frame_rate_limit": 0,
        "video_matrix_limit": 0,
    }


def _configuration(view: InstanceView) -> dict[str, Any]:
    """The limits apps check before posting. Polls are Mastodon's but not the node's:
    present, with zeros, as apps index into them."""
    return {
        "accounts": {"max_featured_tags": 0, "max_pinned_statuses": 0},
        "statuses": {
            "max_characters": MAX_CHARACTERS,
            "max_media_attachments": view.max_media,
            "characters_reserved_per_url": 23,
        },  # fmt: skip
        "media_attachments": _media_configuration(view),
        "polls": {
            "max_options": 0,
            "max_characters_per_option": 0,
            "min_expiration": 0,
            "max_expiration": 0,
        },  # fmt: skip
    }


def _version() -> str:
    # Mastodon.py and other apps read the Mastodon version from the front of this string
    return f"4.3.0 (compatible; commonsfed {__version__})"


def instance_v2(view: InstanceView) -> dict[str, Any]:
    settings = view.settings
    thumbnail = f"{settings.base_url}/static/header.png"
    contact = account(view.contact, settings) if view.contact else None
    configuration = _configuration(view) | {
        "urls": {"streaming": _streaming(settings), "status": None},
        "vapid": {"public_key": ""},
        "translation": {"enabled": False},
    }
    return {
        "domain": settings.domain,
        "title": settings.instance_name,
        "version": _version(),
        "source_url": "https://pypi.org/project/commonsfed/",
        "description": settings.instance_description,
        "usage": {"users": {"active_month": view.usage.active_month}},
        "thumbnail": {"url": thumbnail, "blurhash": None, "versions": {}},
        "icon": [],
        "languages": ["en"],
        "configuration": configuration,
        "registrations": {
            "enabled": settings.registration != "closed",
            "approval_required": settings.registration == "approval",
            "message": None,
            "url": None,
        },
        "api_versions": {"mastodon": 2},
        "contact": {"email": settings.contact_email, "account": contact},
        "rules": [rule(number, text) for number, text in enumerate(settings.rules, 1)],
    }


def instance_v1(view: InstanceView) -> dict[str, Any]:
    settings = view.settings
    return {
        "uri": settings.domain,
        "title": settings.instance_name,
        "short_description": settings.instance_description,
        "description": settings.instance_description,
        "email": settings.contact_email,
        "version": _version(),
        "urls": {"streaming_api": _streaming(settings)},
        "stats": {
            "user_count": view.usage.users_total,
            "status_count": view.usage.local_posts,
            "domain_count": view.domain_count,
        },  # fmt: skip
        "thumbnail": f"{settings.base_url}/static/header.png",
        "languages": ["en"],
        "registrations": settings.registration != "closed",
        "approval_required": settings.registration == "approval",
        "invites_enabled": False,
        "configuration": _configuration(view),
        "contact_account": account(view.contact, settings) if view.contact else None,
        "rules": [rule(number, text) for number, text in enumerate(settings.rules, 1)],
    }


def application(app: OAuthApp, *, client_secret: str | None = None) -> dict[str, Any]:
    """The Application; with `client_secret` the CredentialApplication that registration
    answers (the only time the secret is shown). No Web Push here: `vapid_key` is empty."""
    entity: dict[str, Any] = {
        "id": str(app.id),
        "name": app.name,
        "website": app.website,
        "scopes": list(app.scopes),
        # the older single field: Mastodon joins the URIs with newlines
        "redirect_uri": "\n".join(app.redirect_uris),
        "redirect_uris": list(app.redirect_uris),
        "vapid_key": "",
    }
    if client_secret is not None:
        entity |= {"client_id": app.client_id, "client_secret": client_secret,
                   "client_secret_expires_at": 0}  # fmt: skip
    return entity


def token(issued: IssuedToken) -> dict[str, Any]:
    return {
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "scope": " ".join(issued.scopes),
        "created_at": int(issued.created_at.timestamp()),
    }


def rule(number: int, text: str) -> dict[str, Any]:
    return {"id": str(number), "text": text, "hint": ""}


def marker(found: Marker) -> dict[str, Any]:
    return {
        "last_read_id": found.last_read_id,
        "version": found.version,
        "updated_at": iso(found.updated_at),
    }
