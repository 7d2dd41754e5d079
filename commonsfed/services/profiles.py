"""A resident's profile: display name, bio, avatar, area of the neighbourhood, and up to four
fields (label and value; links verified with rel="me").

Saving checks every field first (one message per bad field, nothing written), processes the
avatar through the photo pipeline, checks the links that changed (federation/relme.py), writes
the avatar file, then in ONE transaction the profile and an `Update` of the Person. The
Update goes to the resident's followers, to the neighbourhood's followers (sibling nodes show
residents as the authors of the listings the neighbourhood announced), and blind-copied to
every remote actor holding a conversation with the resident, as listing Updates are to
respondents. An old avatar's file goes once the new profile is committed.

Every save sends the Update, as Mastodon does: peers that missed one catch up with the next.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from markupsafe import Markup

from commonsfed.ap.actors import LocalActor, actor_to_ap
from commonsfed.ap.profiles import Profile, field_to_ap, update_actor_to_ap
from commonsfed.ap.uris import LocalUris
from commonsfed.config import Settings
from commonsfed.db import actors as actors_q
from commonsfed.db import answers as answers_q
from commonsfed.db import profiles as q
from commonsfed.db.actors import RemoteProfileRow
from commonsfed.db.profiles import ProfileField, ResidentProfile
from commonsfed.federation import outbox
from commonsfed.federation.context import Federation
from commonsfed.federation.relme import verify_link
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Account
from commonsfed.services.errors import ValidationError
from commonsfed.services.listing_forms import Form, now_utc
from commonsfed.services.markdown import render_markdown, sanitise_html
from commonsfed.services.photos import (
    CONTENT_TYPES,
    PhotoRejected,
    ProcessedPhoto,
    Upload,
    process_upload,
    remove_photos,
    store_photos,
)

MAX_DISPLAY_NAME = 50
MAX_BIO = 500  # as Mastodon's
MAX_AREA = 100
MAX_FIELDS = 4  # as Mastodon's
MAX_FIELD_LABEL = 255  # as Mastodon's, for each of label and value
MAX_FIELD_VALUE = 255
FIELD_NAME_RE = re.compile(r"^field_(label|value)_([0-9]{1,3})$")
TOO_MANY_FIELDS = Text(N_("A profile has at most %(limit)s fields. Leave the others empty."),
                       limit=MAX_FIELDS)  # fmt: skip


@dataclass(frozen=True)
class ProfileChange:
    """What the form asks for, checked."""

    display_name: str
    bio: str
    area: str
    fields: list[ProfileField]  # not yet verified
    remove_avatar: bool


# --- reading the form ----------------------------------------------------------------------


def _line(f: Form, name: str, limit: int) -> str:
    """A one-line text: runs of spaces and line breaks become one space."""
    return " ".join(f.text(name, limit).split())


def _fields(f: Form) -> list[ProfileField]:
    fields = []
    for number in range(1, MAX_FIELDS + 1):
        label = _line(f, f"field_label_{number}", MAX_FIELD_LABEL)
        value = _line(f, f"field_value_{number}", MAX_FIELD_VALUE)
        if value and not label:
            f.fail(f"field_label_{number}", N_("Give this field a label, or leave both empty."))
        elif label and not value:
            f.fail(f"field_value_{number}", N_("Give this field a value, or leave both empty."))
        elif label and value:
            fields.append(ProfileField(label, value))
    if any(_beyond_the_form(name, f.raw(name)) for name in f.form):
        f.fail("fields", TOO_MANY_FIELDS)
    return fields


def _beyond_the_form(name: str, value: str) -> bool:
    match = FIELD_NAME_RE.match(name)
    return bool(match and value and not 1 <= int(match.group(2)) <= MAX_FIELDS)


def read_change(f: Form) -> ProfileChange:
    """The form's values; each bad one leaves its message in `f.errors`."""
    return ProfileChange(
        display_name=_line(f, "display_name", MAX_DISPLAY_NAME),
        bio=f.text("bio", MAX_BIO),
        area=_line(f, "area", MAX_AREA),
        fields=_fields(f),
        remove_avatar=bool(f.raw("remove_avatar")),
    )


async def _avatar(f: Form, upload: Upload | None) -> ProcessedPhoto | None:
    if upload is None or not (upload.data or upload.too_large):
        return None  # an empty file input: the avatar stays as it is
    try:
        return await process_upload(upload, square=True)
    except PhotoRejected as exc:
        f.fail("avatar", str(exc))
        return None


# --- saving --------------------------------------------------------------------------------


async def update_profile(
    fed: Federation, account: Account, form: Mapping[str, Any], avatar: Upload | None
) -> ResidentProfile:
    """Check the form, verify its links, then save the profile and send its Update.
    ValidationError (by field) when anything is wrong; then nothing changes."""
    f = Form(form, now_utc())
    change = read_change(f)
    photo = await _avatar(f, avatar)
    if f.errors:
        raise ValidationError(f.errors)
    async with fed.pool.acquire() as conn:
        before = await q.get_fields(conn, account.id)
    fields = await verified(fed, fed.uris.user(account.username), change.fields, before)
    names = await store_photos(fed.settings, [photo] if photo else [])
    try:
        async with fed.pool.acquire() as conn, conn.transaction():
            old = await q.lock_avatar(conn, account.id)
            kept = None if change.remove_avatar else old
            avatar_name = names[0] if names else kept
            await q.save_profile(
                conn, account.id, display_name=change.display_name, bio=change.bio,
                area=change.area, avatar_filename=avatar_name, fields=fields,
            )  # fmt: skip
            await publish_profile(conn, fed.settings, account.id)
            saved = await q.get_profile(conn, account.id)
    except BaseException:
        await remove_photos(fed.settings, names)
        raise
    if old and old != avatar_name:
        await remove_photos(fed.settings, [old])
    return saved


async def verified(
    fed: Federation, profile_url: str, fields: list[ProfileField], before: list[ProfileField]
) -> list[ProfileField]:
    """`fields` with the moment each link was verified: kept for a link verified before and
    unchanged, checked now (all at once) for any other link, None for plain text."""
    known = {field.value: field.verified_at for field in before if field.verified_at}
    now = datetime.now(UTC)

    async def check(field: ProfileField) -> ProfileField:
        if field.link is None:
            return field
        if field.value in known:
            return ProfileField(field.label, field.value, known[field.value])
        ok = await verify_link(fed, field.link, profile_url)
        return ProfileField(field.label, field.value, now if ok else None)

    return list(await asyncio.gather(*(check(field) for field in fields)))


async def publish_profile(conn: asyncpg.Connection, settings: Settings, account_id: int) -> None:
    """The Update of the resident's Person, in the caller's transaction."""
    uris = LocalUris(settings.base_url)
    profile = await q.get_profile(conn, account_id)
    row = await actors_q.get_account_profile(conn, profile.username)
    document = actor_to_ap(resident_actor(settings, row, profile), uris)
    group = uris.user(settings.neighbourhood_handle)
    update = update_actor_to_ap(
        document, outbox.new_activity_id(settings),
        cc=[uris.followers(document["id"]), uris.followers(group)],
        bcc=await answers_q.remote_partners(conn, account_id),
    )  # fmt: skip
    await outbox.publish(conn, settings, update)


# --- reading -------------------------------------------------------------------------------


def resident_actor(settings: Settings, row: asyncpg.Record, profile: ResidentProfile) -> LocalActor:
    """A resident as their Person actor: `row` from db.actors.get_account_profile."""
    uri = LocalUris(settings.base_url).user(row["username"])
    return LocalActor(
        uri=uri, type="Person", username=row["username"], name=profile.name,
        summary=render_markdown(profile.bio), public_key_pem=row["public_key_pem"], url=uri,
        published=row["created_at"], profile=ap_profile(settings, profile),
        manually_approves_followers=row["manually_approves_followers"],
    )  # fmt: skip


def ap_profile(settings: Settings, profile: ResidentProfile) -> Profile:
    avatar = profile.avatar_filename
    return Profile(
        icon_url=f"{settings.base_url}/media/{avatar}" if avatar else None,
        icon_media_type=CONTENT_TYPES[avatar.rsplit(".", 1)[1]] if avatar else None,
        area=profile.area,
        fields=tuple(field_to_ap(field.label, field.value) for field in profile.fields),
    )


async def get_profile(pool: asyncpg.Pool, account_id: int) -> ResidentProfile | None:
    async with pool.acquire() as conn:
        return await q.get_profile(conn, account_id)


async def profile_of(pool: asyncpg.Pool, username: str) -> ResidentProfile | None:
    async with pool.acquire() as conn:
        account_id = await q.account_id_of(conn, username)
        return await q.get_profile(conn, account_id) if account_id else None


@dataclass(frozen=True)
class RemotePerson:
    """A cached remote actor as a page shows it: its HTML sanitised (Markup, so templates
    print it as is), its avatar an http(s) URL (the page's CSP allows only https images)."""

    uri: str
    handle: str
    name: str
    icon_url: str | None
    area: str
    summary_html: Markup
    fields: tuple[tuple[str, Markup], ...]  # (label, value)


def remote_person(row: RemoteProfileRow) -> RemotePerson:
    handle = f"@{row.preferred_username}@{row.domain}" if row.preferred_username else row.uri
    return RemotePerson(
        uri=row.uri, handle=handle, name=row.name or row.preferred_username or row.uri,
        icon_url=row.profile.icon_url, area=row.profile.area,
        summary_html=Markup(sanitise_html(row.summary or "")),
        fields=tuple((f.name, Markup(sanitise_html(f.value))) for f in row.profile.fields),
    )  # fmt: skip


async def remote_profile(pool: asyncpg.Pool, uri: str) -> RemotePerson | None:
    """What a cached remote actor shows of itself, ready for a page; None if not cached."""
    async with pool.acquire() as conn:
        row = await actors_q.get_remote_profile(conn, uri)
    return remote_person(row) if row else None
