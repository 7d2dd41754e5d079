"""Residents' accounts: register, log in, approve."""

from __future__ import annotations

import asyncio
import functools
import re
from datetime import timedelta

import asyncpg
from argon2 import Parameters, PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from commonsfed.config import Settings
from commonsfed.db import accounts as q
from commonsfed.db import sessions as sessions_q
from commonsfed.federation.keys import new_key_pair
from commonsfed.i18n import LANGUAGES, Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import ROLES, Account
from commonsfed.services import mail, moderation_log
from commonsfed.services.errors import NotAllowed, ValidationError
from commonsfed.services.throttle import too_many

USERNAME_RE = re.compile(r"^[a-z0-9_]{1,30}$")
# a pragmatic check: one @, no spaces, a dot in the domain; the real test is a mail that arrives
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")
PASSWORD_MIN = 10
PASSWORD_MAX = 1024  # argon2 hashes anything, but a megabyte password is only a way to burn CPU
# names that would shadow a route or an actor, or mislead neighbours
RESERVED = frozenset(
    {"actor", "admin", "administrator", "root", "system", "support", "moderator", "inbox",
     "outbox", "api", "static", "media", "well_known", "nodeinfo", "webfinger", "login",
     "logout", "register", "settings", "users", "listings", "null", "undefined"}
)

LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
DELETED = N_(
    "This account was deleted and cannot log in again. Its name stays retired; "
    "register a new account with another name to come back."
)
SUSPENDED = N_(
    "This account is suspended by the node's moderators and cannot log in; the mail they "
    "sent says why. Write to the node's admins if you think it is a mistake."
)

# argon2id with the library's defaults (RFC 9106 low-memory profile)
_hasher = PasswordHasher()


def use_password_parameters(parameters: Parameters) -> None:
    """Hash new passwords with other argon2 parameters: the test suite uses argon2-cffi's
    CHEAPEST profile (argon2id still, verified the same way), as Django's test settings use a
    fast hasher, so thousands of residents do not cost minutes. Hashes made before keep
    verifying: the parameters travel in each hash."""
    global _hasher
    _hasher = PasswordHasher.from_parameters(parameters)
    _dummy_hash.cache_clear()


@functools.cache
def _dummy_hash() -> str:
    # verifying against this when the account does not exist takes as long as a real check,
    # so response times do not tell which names exist
    return _hasher.hash("not a real password, only for timing")


def normalise_username(raw: str) -> str:
    return (raw or "").strip().lstrip("@").lower()


def check_username(username: str, settings: Settings) -> str | None:
    if not username:
        return N_("Choose a username.")
    if not USERNAME_RE.match(username):
        return N_("Use 1 to 30 characters: lower-case letters, digits or _.")
    if username in RESERVED or username == settings.neighbourhood_handle:
        return N_("This name is reserved; choose another.")
    return None


def check_email(email: str) -> str | None:
    if not EMAIL_RE.match(email) or len(email) > 254:
        return N_("Enter an email address like name@example.org.")
    return None


def check_password(password: str) -> str | None:
    if len(password) < PASSWORD_MIN:
        return Text(N_("Use at least %(limit)s characters."), limit=PASSWORD_MIN)
    if len(password) > PASSWORD_MAX:
        return Text(N_("Use at most %(limit)s characters."), limit=PASSWORD_MAX)
    return None


async def hash_password(password: str) -> str:
    # argon2 takes tens of milliseconds on purpose: keep it off the event loop
    return await asyncio.to_thread(_hasher.hash, password)


async def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(_hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def register(
    pool: asyncpg.Pool,
    settings: Settings,
    *,
    username: str,
    email: str,
    password: str,
    role: str = "none",
    by_admin: bool = False,
) -> Account:
    """Create an account; by the registration mode unless an admin creates it."""
    if not by_admin and settings.registration == "closed":
        raise NotAllowed(N_("Registration is closed on this node."))
    username, email = normalise_username(username), (email or "").strip()
    errors = _field_errors(username, email, password or "", settings)
    async with pool.acquire() as conn:
        errors |= await _uniqueness_errors(conn, username, email, errors)
        if errors:
            raise ValidationError(errors)
        status = "pending" if settings.registration == "approval" and not by_admin else "active"
        password_hash = await hash_password(password)
        keys = await new_key_pair()
        try:
            async with conn.transaction():
                # an admin vouches for the address they type; anyone else confirms theirs
                account = await q.insert_account(
                    conn, username=username, email=email, password_hash=password_hash,
                    status=status, role=role, keys=keys, email_confirmed=by_admin,
                )
                if not by_admin and settings.mail_transport is not None:
                    await mail.queue_confirmation(conn, settings, account, email)
                return account
        except asyncpg.UniqueViolationError:
            # two people registered the same name at the same moment; one of them gets this
            raise ValidationError({"username": N_("This username is taken.")}) from None


def _field_errors(username: str, email: str, password: str, settings: Settings) -> dict[str, str]:
    checks = {
        "username": check_username(username, settings),
        "email": check_email(email),
        "password": check_password(password),
    }
    return {field: message for field, message in checks.items() if message}


async def _uniqueness_errors(conn, username: str, email: str, errors: dict) -> dict[str, str]:
    found = {}
    if "username" not in errors and await q.username_taken(conn, username):
        found["username"] = N_("This username is taken.")
    if "email" not in errors and await q.email_taken(conn, email):
        found["email"] = N_("An account with this email address exists already.")
    return found


async def authenticate(pool: asyncpg.Pool, username: str, password: str, address: str) -> Account:
    """The account whose password this is, or NotAllowed / RateLimited with a message."""
    username = normalise_username(username)
    async with pool.acquire() as conn:
        await _check_not_throttled(conn, username, address)
        account = await q.get_by_username(conn, username) if username else None
        if account is not None and account.status == "deleted":
            raise NotAllowed(DELETED)  # its password is erased: nothing left to compare
        stored = await q.get_password_hash(conn, account.id) if account else None
        if not await _password_matches(stored or _dummy_hash(), password or "") or not stored:
            await q.record_login_failure(conn, username or "-", address)
            raise NotAllowed(N_("Wrong username or password."))
        await q.clear_login_failures(conn, username)
        account = _check_status(account)
        await q.touch_last_seen(conn, account.id)
    return account


async def _check_not_throttled(
    conn: asyncpg.Connection, username: str, address: str, what: str = "failed logins"
) -> None:
    """Guessing passwords is slowed per account and per address: RateLimited past the limits,
    saying when the next try is allowed."""
    wait = await q.login_retry_after(
        conn, username, address, LOGIN_WINDOW, MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_ADDRESS
    )
    if wait is not None and wait > timedelta(0):
        raise too_many(what, wait)


async def change_password(
    pool: asyncpg.Pool,
    account: Account,
    *,
    current: str,
    new: str,
    repeated: str,
    address: str,
    keep_session_id: int | None,
) -> int:
    """Set a new password, the current one given; every session but `keep_session_id` ends
    (whoever else knew the old password is logged out), and so does a reset link mailed
    before (`db.accounts.set_password_hash`). Returns how many sessions ended.
    ValidationError by field, or RateLimited after too many wrong current passwords (the
    same count as failed logins, so a borrowed session cannot guess at leisure)."""
    errors = new_password_errors(new, repeated)
    async with pool.acquire() as conn:
        if problem := await check_current_password(conn, account, current, address):
            errors = {"current_password": problem} | errors
        if errors:
            raise ValidationError(errors)
        password_hash = await hash_password(new)
        async with conn.transaction():
            await q.set_password_hash(conn, account.id, password_hash)
            return await sessions_q.delete_other_sessions(conn, account.id, keep_session_id)


def new_password_errors(new: str, repeated: str) -> dict[str, str]:
    """A new password typed twice: its problems by field (new_password, repeated_password)."""
    if problem := check_password(new or ""):
        return {"new_password": problem}
    if new != repeated:
        return {"repeated_password": N_("The two new passwords differ.")}
    return {}


async def check_current_password(
    conn: asyncpg.Connection, account: Account, current: str, address: str
) -> str | None:
    """What is wrong with the current password a logged-in resident typed (None: it is
    right). RateLimited after too many wrong ones: the same count as failed logins, so a
    borrowed session cannot guess at leisure."""
    await _check_not_throttled(conn, account.username, address, "wrong passwords")
    stored = await q.get_password_hash(conn, account.id)
    if not stored or not await _password_matches(stored, current or ""):
        await q.record_login_failure(conn, account.username, address)
        return N_("This is not your current password.")
    return None


async def confirm_password(
    conn: asyncpg.Connection, account: Account, password: str, address: str, field: str
) -> None:
    """That `password` is the account's, before something that cannot be undone: else a
    ValidationError for `field`, or RateLimited (see `check_current_password`)."""
    if await check_current_password(conn, account, password, address):
        raise ValidationError({field: N_("This is not your password.")})


def _check_status(account: Account) -> Account:
    if account.is_pending:
        raise NotAllowed(N_("Your account is waiting for an admin's approval."))
    if not account.is_active:
        raise NotAllowed(SUSPENDED)
    return account


async def approve(pool: asyncpg.Pool, username: str) -> Account:
    async with pool.acquire() as conn:
        account = await q.approve(conn, normalise_username(username))
        if account is None:
            existing = await q.get_by_username(conn, normalise_username(username))
            if existing is None:
                raise NotAllowed(f"There is no account named {username!r}.")
            raise NotAllowed(f"{existing.username} is not waiting for approval.")
    return account


async def set_role(
    pool: asyncpg.Pool, username: str, role: str, by: Account | None = None
) -> Account:
    """Make a resident an admin, a moderator or neither (`by` None: from the shell). The
    change is in the moderation log; an admin cannot take away the node's last admin."""
    if by is not None and not by.is_admin:
        raise NotAllowed("Only the node's admins change roles.")
    if role not in ROLES:
        raise NotAllowed(f"A role is one of {', '.join(ROLES)}, not {role!r}.")
    async with pool.acquire() as conn, conn.transaction():
        before = await q.get_by_username(conn, normalise_username(username))
        if before is None or before.status == "deleted":
            raise NotAllowed(f"There is no account named {username!r}.")
        if before.is_admin and role != "admin" and await q.admin_count(conn) == 1:
            raise NotAllowed(f"{before.username} is the node's only admin; make another first.")
        account = await q.set_role(conn, before.username, role)
        await moderation_log.record(conn, by, "set_role", "account", account.username,
                                    details={"from": before.role, "to": role})  # fmt: skip
    return account


async def set_language(pool: asyncpg.Pool, account: Account, language: str) -> None:
    """The language a resident reads the node and their mail in (the footer's switch)."""
    if language not in LANGUAGES:
        raise ValidationError({"language": N_("Choose one of the node's languages.")})
    async with pool.acquire() as conn:
        await q.set_language(conn, account.id, language)


async def get_by_username(pool: asyncpg.Pool, username: str) -> Account | None:
    async with pool.acquire() as conn:
        return await q.get_by_username(conn, normalise_username(username))


async def get_account(pool: asyncpg.Pool, account_id: int) -> Account | None:
    async with pool.acquire() as conn:
        return await q.get_account(conn, account_id)


async def pending_accounts(pool: asyncpg.Pool) -> list[Account]:
    async with pool.acquire() as conn:
        return await q.pending_accounts(conn)
