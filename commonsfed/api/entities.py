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
from commonsfed.services.api_conversations import ConversationView
from commonsfed.services.api_notifications import NotificationView, WarningView
from commonsfed.services.api_relationships import RelationshipView
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
    """The Account. A suspended one keeps its name and counts but shows nothing of itself
    (no display name, bio, fields or picture), as Mastodon shows one."""
    shown = not view.suspended
    avatar = (view.avatar if shown else None) or f"{settings.base_url}/static/avatar.png"
    header = f"{settings.base_url}/static/header.png"
    entity = {
        "id": str(view.id),
        "username": view.username,
        "acct": view.acct,
        "url": view.url,
        "uri": view.uri,
        "display_name": view.display_name if shown else "",
        "note": view.note_html if shown else "",
        "avatar": avatar,
        "avatar_static": avatar,
        "header": header,
        "header_static": header,
        "locked": view.locked and shown,
        "fields": [
            {"name": field.name, "value": field.value_html, "verified_at": iso(field.verified_at)}
            for field in (view.fields if shown else ())
        ],
        "emojis": [],
        "bot": view.bot and shown,
        "group": view.group,
        "discoverable": shown,
        "indexable": shown,
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
    if view.local:  # Mastodon tells a search engine's wish only for its own accounts
        entity["noindex"] = False
    return entity


def relationship(view: RelationshipView) -> dict[str, Any]:
    return {
        "id": str(view.id),
        "following": view.following,
        "showing_reblogs": view.showing_reblogs,
        "notifying": False,
        "languages": None,
        "followed_by": view.followed_by,
        "blocking": view.blocking,
        "blocked_by": view.blocked_by,
        "muting": view.muting,
        "muting_notifications": view.muting,
        "requested": view.requested,
        "requested_by": view.requested_by,
        "domain_blocking": view.domain_blocking,
        "endorsed": False,
        "note": "",
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
        "language": view.language,
        "text": None,
        "favourited": favourited,
        "reblogged": False,
        "muted": False,
        "bookmarked": bookmarked,
        "pinned": False,
        "filtered": [],
    }


# --- notifications and conversations -------------------------------------------------------


def account_warning(view: WarningView, settings: Settings) -> dict[str, Any]:
    """Mastodon's AccountWarning (a moderation_warning notification's); nothing here is
    appealed through the API, and a removed listing is gone, so no status is named."""
    return {
        "id": str(view.id),
        "action": view.action,
        "text": view.text,
        "status_ids": [],
        "target_account": account(view.target, settings),
        "appeal": None,
        "created_at": iso(view.created_at),
    }


def notification(
    view: NotificationView, settings: Settings, status_json: dict[str, Any] | None
) -> dict[str, Any]:
    """The Notification; `status_json` is its status as api/render.py made it for the
    resident. As Mastodon, `status` is there only for a type about a status, and each
    notification is its own group (`group_key`, read by the grouped API's apps)."""
    entity: dict[str, Any] = {
        "id": str(view.id),
        "type": view.type,
        "group_key": f"ungrouped-{view.id}",
        "created_at": iso(view.created_at),
        "account": account(view.account, settings),
    }
    if view.status is not None:
        entity["status"] = status_json
    if view.warning is not None:
        entity["moderation_warning"] = account_warning(view.warning, settings)
    return entity


def notification_group(view: NotificationView, settings: Settings) -> dict[str, Any]:
    """The grouped API's NotificationGroup for one notification: this node groups none
    (every group is `ungrouped-<id>`, which Mastodon's apps show as a single notification);
    its account and status are in the results' `accounts` and `statuses`."""
    entity: dict[str, Any] = {
        "group_key": f"ungrouped-{view.id}",
        "notifications_count": 1,
        "type": view.type,
        "most_recent_notification_id": str(view.id),
        "page_min_id": str(view.id),
        "page_max_id": str(view.id),
        "latest_page_notification_at": iso(view.created_at),
        "sample_account_ids": [str(view.account.id)],
    }
    if view.status is not None:
        entity["status_id"] = str(view.status.id)
    if view.warning is not None:
        entity["moderation_warning"] = account_warning(view.warning, settings)
    return entity


def conversation(
    view: ConversationView, settings: Settings, last_status_json: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "id": str(view.id),
        "unread": view.unread,
        "accounts": [account(other, settings) for other in view.accounts],
        "last_status": last_status_json,
    }


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
