"""The settings an admin changes on the web while the node runs (/admin/settings).

They are stored in the database and reach every process through `commonsfed.live_settings`;
the environment's values (and the flags') are where they start. A change is all or nothing:
one bad field and nothing is saved. Each setting that changes is a line in the moderation
log, in the same transaction, with its value before and after.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from commonsfed.config import (
    FEDERATION_MODES,
    GROUP_FOLLOW_MODES,
    MAX_MATCH_KM,
    MAX_RULE,
    MAX_RULES,
    OSM_ATTRIBUTION,
    OSM_TILES,
    REGISTRATION_MODES,
    Settings,
    rules_problem,
    tile_url_problem,
)
from commonsfed.config_mail import email_problem
from commonsfed.db import node_settings as q
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.live_settings import RUNTIME_SETTINGS, LiveSettings
from commonsfed.models import Account
from commonsfed.services import moderation_log
from commonsfed.services.errors import NotAllowed, ValidationError

MAX_NAME = 100
MAX_DESCRIPTION = 2000
MAX_ATTRIBUTION = 300
_CHOICES = {
    "registration": REGISTRATION_MODES,
    "federation": FEDERATION_MODES,
    "group_follows": GROUP_FOLLOW_MODES,
    "oauth_password_grant": ("false", "true"),
}
_SWITCHES = ("oauth_password_grant",)  # on or off: shown as a choice, stored as a boolean
_MAP_SETTINGS = {"map_tiles": OSM_TILES, "map_attribution": OSM_ATTRIBUTION}  # and defaults
# the time bank's limits, whole hours: name -> (lowest, highest) allowed
_HOURS_SETTINGS = {"hours_min": (-10_000, 0), "hours_max": (0, 10_000),
                   "hours_clearing_limit": (0, 1_000_000)}  # fmt: skip
_KM_SETTINGS = {"match_km": (1, MAX_MATCH_KM)}  # whole km: name -> (lowest, highest)


@dataclass(frozen=True)
class SettingsForm:
    """The settings page's fields as text, as the admin sees and types them."""

    values: dict[str, str]

    @classmethod
    def of(cls, settings: Settings) -> SettingsForm:
        values = {name: str(getattr(settings, name)) for name in RUNTIME_SETTINGS}
        values["rules"] = "\n".join(settings.rules)
        for name in _SWITCHES:
            values[name] = "true" if getattr(settings, name) else "false"
        return cls(values)

    @classmethod
    def posted(cls, form: Mapping[str, Any]) -> SettingsForm:
        # a form without the map's fields (an older page, a script) leaves them as they are
        return cls({
            name: str(form.get(name, "")) for name in RUNTIME_SETTINGS
            if name in form or name not in (*_MAP_SETTINGS, *_HOURS_SETTINGS, *_KM_SETTINGS)
        })  # fmt: skip


def parse_form(form: SettingsForm) -> dict[str, Any]:
    """The values of a posted form, or ValidationError with a message for each bad field."""
    text = {name: value.strip() for name, value in form.values.items()}
    errors: dict[str, str] = {}
    for name, limit, message in (
        ("instance_name", MAX_NAME, N_("Give the node a name of 1 to %(limit)s characters.")),
        ("instance_description", MAX_DESCRIPTION,
         N_("Give the node a description of 1 to %(limit)s characters.")),
    ):  # fmt: skip
        if not 1 <= len(text[name]) <= limit:
            errors[name] = Text(message, limit=limit)
    rules = [line.strip() for line in form.values["rules"].splitlines() if line.strip()]
    if rules_problem(rules):
        errors["rules"] = _rules_error(rules)
    if text["contact_email"] and email_problem(text["contact_email"]):
        errors["contact_email"] = Text(
            N_("This is not an e-mail address such as admin@example.org (or leave it empty).")
        )
    _check_map(text, errors)
    hours = _check_numbers(text, errors, _HOURS_SETTINGS, HOURS_RANGE)
    hours |= _check_numbers(text, errors, _KM_SETTINGS, KM_RANGE)
    for name in _SWITCHES:  # a form without the field (an older page) leaves it off
        text[name] = text[name] or "false"
    for name, choices in _CHOICES.items():
        if text[name] not in choices:
            errors[name] = Text(N_("Choose one of %(choices)s."), choices=", ".join(choices))
    if errors:
        raise ValidationError(errors)
    return {**text, "rules": rules, **hours} | {name: text[name] == "true" for name in _SWITCHES}


async def save(
    pool: asyncpg.Pool, settings: LiveSettings, admin: Account, form: SettingsForm
) -> list[str]:
    """Store what the admin changed and apply it in this process at once (the others follow
    at their next request or tick); the names of the settings that changed."""
    if not admin.is_admin:
        raise NotAllowed(Text(N_("Only the node's admins change its settings.")))
    values = parse_form(form)
    async with pool.acquire() as conn, conn.transaction():
        await q.lock_version(conn)
        version, stored = await q.stored_values(conn)
        before = settings.with_stored(stored)
        changes = {name: value for name, value in values.items()
                   if _comparable(getattr(before, name)) != value}  # fmt: skip
        if changes:
            version = await q.store_values(conn, changes, admin.id)
        for name, value in changes.items():
            await moderation_log.record(
                conn,
                admin,
                "change_setting",
                "setting",
                name,
                details={"from": _comparable(getattr(before, name)), "to": value},
            )
    settings.apply(version, {**stored, **changes})
    return list(changes)


def _check_map(text: dict[str, str], errors: dict[str, str]) -> None:
    """The map's tiles and attribution, where the form has them; left empty, OpenStreetMap's."""
    for name, default in _MAP_SETTINGS.items():
        if name in text:
            text[name] = text[name] or default
    problem = tile_url_problem(text["map_tiles"]) if "map_tiles" in text else None
    if problem:
        errors["map_tiles"] = Text(_TILE_PROBLEMS.get(problem, "The tile address %(problem)s."),
                                   problem=problem)  # fmt: skip
    if len(text.get("map_attribution", "")) > MAX_ATTRIBUTION:
        errors["map_attribution"] = Text(N_("Use at most %(limit)s characters."),
                                         limit=MAX_ATTRIBUTION)  # fmt: skip


HOURS_RANGE = N_("Give a whole number of hours from %(low)s to %(high)s.")
KM_RANGE = N_("Give a whole number of kilometres from %(low)s to %(high)s.")


def _check_numbers(
    text: dict[str, str], errors: dict[str, str], ranges: dict[str, tuple[int, int]], say: str
) -> dict[str, int]:
    """The whole numbers the form has of `ranges` (name -> lowest, highest)."""
    numbers = {}
    for name, (low, high) in ranges.items():
        if name not in text:
            continue
        try:
            numbers[name] = int(text[name])
        except ValueError:
            numbers[name] = low - 1
        if not low <= numbers[name] <= high:
            errors[name] = Text(say, low=low, high=high)
    return numbers


# config.tile_url_problem's answers (it also checks the environment, in English), as the
# settings page says them
_TILE_PROBLEMS = {
    "must be an https:// address of at most 500 characters":
        N_("The tile address must be an https:// address of at most 500 characters."),
    "must hold {z}, {x} and {y}, like https://tile.openstreetmap.org/{z}/{x}/{y}.png":
        N_("The tile address must hold {z}, {x} and {y}, like "
           "https://tile.openstreetmap.org/{z}/{x}/{y}.png."),
    "must not hold spaces, quotes or angle brackets":
        N_("The tile address must not hold spaces, quotes or angle brackets."),
}  # fmt: skip


def _rules_error(rules: list[str]) -> Text:
    """config.rules_problem's finding (it also checks the environment, in English), as the
    settings page says it."""
    if len(rules) > MAX_RULES:
        return Text(N_("%(count)s rules are too many; a node has at most %(limit)s."),
                    count=len(rules), limit=MAX_RULES)  # fmt: skip
    number, rule = next((n, r) for n, r in enumerate(rules, 1) if len(r) > MAX_RULE)
    return Text(N_("Rule %(number)s is %(length)s characters long; a rule has at most "
                   "%(limit)s, so say it shorter or split it."),
                number=number, length=len(rule), limit=MAX_RULE)  # fmt: skip


def _comparable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
