"""Plain row dataclasses: what the database hands the rest of the code. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


def from_row(cls, row: Any):
    """Build a dataclass from an asyncpg Record (or None)."""
    if row is None:
        return None
    return cls(**{name: row[name] for name in cls.__dataclass_fields__})


ROLES = ("admin", "moderator", "none")  # an admin moderates too; see Account.is_moderator


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    email: str
    status: str
    role: str  # admin, moderator or none (see ROLES)
    display_name: str
    created_at: datetime
    email_confirmed_at: datetime | None = None  # None: not confirmed (see services.email)
    language: str | None = None  # None: the reader's browser's, else the node's (i18n)

    @property
    def email_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def is_admin(self) -> bool:
        """Changes the node's settings and federation, and moderates."""
        return self.role == "admin"

    @property
    def is_moderator(self) -> bool:
        """Acts on reports and accounts: moderators and admins."""
        return self.role in ("admin", "moderator")

    @property
    def is_pending(self) -> bool:
        return self.status == "pending"


@dataclass(frozen=True)
class AccountSession:
    """A place where a resident is logged in (the token itself is never read back)."""

    id: int
    user_agent: str
    address: str
    created_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class Export:
    """A resident's archive of their account: made by the workers, kept for a week."""

    id: int
    account_id: int
    state: str  # pending, done, failed
    filename: str | None
    size: int | None
    attempts: int
    error: str | None
    created_at: datetime
    finished_at: datetime | None


PURPOSES = ("offer", "request")
KINDS = ("give", "lend", "swap", "service", "ride", "stay", "group_purchase",
         "pay_it_forward", "shared", "project")
STATES = ("open", "reserved", "completed", "withdrawn", "expired")
OPEN_STATES = ("open", "reserved")


@dataclass(frozen=True)
class ListingPhoto:
    id: int
    listing_id: int
    filename: str  # server-made, under the data folder's media/
    alt: str
    width: int
    height: int
    position: int


@dataclass(frozen=True)
class Listing:
    """An offer or a request. `details` holds what only its kind asks for:
    lend: loan_days, return_by; ride: origin, destination, departure, seats;
    stay: arrival, departure, places; group_purchase: target_quantity, deadline, unit;
    pay_it_forward: portions; service: hours; project: goal, deadline, needs (a list, see
    services.project_needs), how_to_pay, next_steps."""

    id: int
    uid: str  # the public id in URLs: /listings/<uid>
    author_id: int
    author_username: str
    purpose: str
    kind: str
    title: str
    description: str  # Markdown, as typed
    category: str  # a category slug
    quantity: int | None
    available_quantity: int | None
    place: str
    latitude: float | None
    longitude: float | None
    available_from: datetime | None
    available_until: datetime | None
    expires_at: datetime | None  # None: a standing offer that never expires
    state: str
    details: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    language: str | None = None  # what the author wrote in (contentMap's key); None: unknown

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


@dataclass(frozen=True)
class ModerationEntry:
    """One line of the moderation log: who did what to what, when and why."""

    id: int
    moderator_id: int | None  # None: the node itself, or a moderator whose account is gone
    moderator_name: str
    action: str
    target_kind: str  # account, remote_actor, listing, message, report, domain, setting, place
    target: str
    reason: str
    details: dict
    created_at: datetime


@dataclass(frozen=True)
class Place:
    """A place of the neighbourhood an admin named, with its rounded coordinates."""

    id: int
    name: str
    latitude: float
    longitude: float
    position: int
    created_at: datetime


SEVERITIES = ("suspend", "limit", "none")  # of a domain block, as Mastodon has them


@dataclass(frozen=True)
class DomainPolicy:
    """The admin's decision about another domain: a block (with Mastodon's severity and
    rejections) or, in allow-list federation, an allowance. `note` is the private reason;
    `public_comment` is what /about shows."""

    domain: str
    policy: str  # block or allow
    severity: str = "suspend"  # of a block: suspend, limit or none (see SEVERITIES)
    reject_media: bool = False
    reject_reports: bool = False
    public_comment: str = ""
    obfuscate: bool = False
    note: str = ""
    created_at: datetime | None = None
