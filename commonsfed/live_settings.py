"""The node's settings as they are now: the environment's and the flags', with what an admin
changed on the web (/admin/settings, stored in the node_settings table) on top.

Each process (every `serve` process, every `commonsfed worker`) holds one `LiveSettings` and
hands it wherever a `Settings` goes: `app[SETTINGS]`, the templates, `Federation.settings`,
the workers. It answers every attribute of `Settings` with the current value, so code
written against `Settings` reads what is true now without knowing it changes.

It stays current this way:
- every request (web.middlewares.settings_middleware) and every tick of the inbox, mail
  and export workers (the ones that read these settings) calls `refresh`, which reads the
  database only when it has to;
- a `serve` process LISTENs on `commonsfed_settings`: a change NOTIFYs on commit, which
  marks the settings stale, and the next request or tick reads them again. While it
  listens and hears nothing, `refresh` costs nothing (but asks anyway every
  `RECHECK_SECONDS`, in case a notification was lost);
- a process that does not listen (a `commonsfed worker`, whose small pool has no
  connection to spare, or a `serve` whose listening connection was lost) compares the
  database's version number at every `refresh`: a change is never missed there, for one
  small query;
- the process that saves a change applies it at once (`apply`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from typing import Any

import asyncpg

from commonsfed.config import ConfigError, Settings, parse_setting
from commonsfed.db import node_settings as q
from commonsfed.db.pool import DATABASE_ERRORS, DirectConnections, listening_connections

log = logging.getLogger(__name__)

# what an admin may change at run time; every other setting is fixed for the process's life
RUNTIME_SETTINGS = (
    "instance_name",
    "instance_description",
    "rules",
    "contact_email",
    "registration",
    "federation",
    "group_follows",
    "oauth_password_grant",
    "map_tiles",
    "map_attribution",
    "hours_min",
    "hours_max",
    "hours_clearing_limit",
    "match_km",
)
RECHECK_SECONDS = 60.0
RELISTEN_SECONDS = 5.0  # after a failed LISTEN, wait this long before the next try


class LiveSettings:
    """`Settings` that follow the database; see the module's docstring."""

    def __init__(self, initial: Settings) -> None:
        self._initial = initial
        self._now = initial
        self.version: int | None = None  # None: the database not read yet
        self._stale = True
        self._checked_at = 0.0
        self._conn: asyncpg.Connection | None = None
        self._lost = False  # the listening connection closed (asyncpg then takes it back)
        self._listen_pool: asyncpg.Pool | DirectConnections | None = None
        self._listen_failed_at = 0.0

    @classmethod
    def wrap(cls, settings: Settings | LiveSettings) -> LiveSettings:
        return settings if isinstance(settings, LiveSettings) else cls(settings)

    def __getattr__(self, name: str) -> Any:
        # only for names not found on this object: every field and property of Settings
        return getattr(self._now, name)

    def __repr__(self) -> str:
        return f"LiveSettings(version={self.version}, {self._now!r})"

    @property
    def now(self) -> Settings:
        return self._now

    @property
    def initial(self) -> Settings:
        """The environment's and the flags' values: what the settings page starts from."""
        return self._initial

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._lost

    def with_stored(self, stored: Mapping[str, Any]) -> Settings:
        """The initial settings with the stored values (by setting name) on top; a value that
        is not a good one (written around the settings page) is logged and left out."""
        changes = {}
        for name in RUNTIME_SETTINGS:
            if name not in stored:
                continue
            try:
                changes[name] = parse_setting(name, stored[name], f"node_settings.{name}")
            except ConfigError as exc:
                log.warning("ignoring a stored setting: %s", exc)
        return replace(self._initial, **changes)

    def apply(self, version: int, stored: Mapping[str, Any]) -> None:
        """Take the stored values of `version` (unless newer ones are held already)."""
        if self.version is not None and version < self.version:
            return  # an older read finished after a newer one
        self._now = self.with_stored(stored)
        self.version = version

    async def refresh(self, pool: asyncpg.Pool) -> Settings:
        """The settings of now: read again when a NOTIFY said so, when not listening, or
        every RECHECK_SECONDS."""
        fresh = time.monotonic() - self._checked_at < RECHECK_SECONDS
        if self.listening and not self._stale and fresh:
            return self._now
        if self._listen_pool is not None and not self.listening:
            await self._relisten()
        async with pool.acquire() as conn:
            await self.refresh_with(conn)
        return self._now

    async def refresh_with(self, conn: asyncpg.Connection) -> None:
        self._stale = False  # before reading: a NOTIFY during the read marks it again
        self._checked_at = time.monotonic()
        if await q.current_version(conn) != self.version:
            self.apply(*await q.stored_values(conn))

    @contextlib.asynccontextmanager
    async def listening_on(self, pool: asyncpg.Pool) -> AsyncIterator[None]:
        """LISTEN for changes (on a connection of `pool`) while inside; a lost connection is
        set up again by a later `refresh`."""
        # a connection of its own to PostgreSQL when a pooler is in front of the pool
        self._listen_pool = listening_connections(pool)
        await self._listen()
        try:
            yield
        finally:
            await self._unlisten()
            self._listen_pool = None

    async def _relisten(self) -> None:
        if time.monotonic() - self._listen_failed_at >= RELISTEN_SECONDS:
            await self._unlisten()
            await self._listen()

    async def _listen(self) -> None:
        assert self._listen_pool is not None
        conn = None
        try:
            conn = await self._listen_pool.acquire()
            await conn.add_listener(q.SETTINGS_CHANNEL, self._notified)
            conn.add_termination_listener(self._terminated)
        except DATABASE_ERRORS as exc:
            log.warning("cannot listen for changed settings, asking at every request: %s", exc)
            self._listen_failed_at = time.monotonic()
            if conn is not None:
                await self._release(conn)
            return
        # what changed while nobody listened is read at the next refresh
        self._conn, self._stale, self._lost = conn, True, False

    def _terminated(self, _conn: object) -> None:
        self._lost = True

    def _notified(self, _conn: object, _pid: int, _channel: str, _payload: str) -> None:
        self._stale = True

    async def _unlisten(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._lost:
            return  # asyncpg's pool took a lost connection back itself
        with contextlib.suppress(*DATABASE_ERRORS):
            await conn.remove_listener(q.SETTINGS_CHANNEL, self._notified)
            conn.remove_termination_listener(self._terminated)
        await self._release(conn)

    async def _release(self, conn: asyncpg.Connection) -> None:
        assert self._listen_pool is not None
        try:
            await self._listen_pool.release(conn)
        except DATABASE_ERRORS as exc:
            log.debug("listening connection not released cleanly: %s", exc)


async def refresh_settings(settings: Settings | LiveSettings, pool: asyncpg.Pool) -> None:
    """For a worker's tick: bring `settings` up to date, when they are live ones."""
    if isinstance(settings, LiveSettings):
        await settings.refresh(pool)
