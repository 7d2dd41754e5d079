"""The connection pool, and errors that name the database without its password."""

from __future__ import annotations

import asyncio
import logging
import socket
from urllib.parse import parse_qs, unquote, urlsplit

import asyncpg

from commonsfed.config import Settings

log = logging.getLogger(__name__)


class DatabaseUnavailable(Exception):
    """The database cannot be reached or refused us; the message is safe to print."""


def describe_url(url: str) -> str:
    """'database "x" on host:port', never the user's password."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    host = parts.hostname or (query.get("host") or ["localhost"])[0]
    port = parts.port or int((query.get("port") or ["5432"])[0])
    database = unquote(parts.path.lstrip("/")) or (query.get("dbname") or ["postgres"])[0]
    where = host if host.startswith("/") else f"{host}:{port}"
    return f'database "{database}" on {where}'


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return parts._replace(path="/" + database).geturl()


def _reason(exc: BaseException) -> str:
    if isinstance(
        exc, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError
    ):
        return "authentication failed"
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return "it does not exist"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return "host name not found"
    # asyncpg's messages never carry the password; keep only the first line
    return (str(exc).splitlines() or [type(exc).__name__])[0]


# everything that means "the database did not answer": the server side, the socket, and
# asyncpg's own state errors when a connection is cut mid-query
DATABASE_ERRORS = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)
_CONNECT_ERRORS = DATABASE_ERRORS

# Of those, what says the database is down, restarting, cut off or out of room, rather than
# that a statement was wrong: the node answers these 503 with Retry-After, not 500.
UNAVAILABLE_ERRORS = (
    OSError,
    asyncio.TimeoutError,  # a connect, or command_timeout
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.OperatorInterventionError,  # class 57: shutting down, starting up, cancelled
    asyncpg.InsufficientResourcesError,  # class 53: too many connections, disk full
    asyncpg.InterfaceError,  # the connection closed under a query
    asyncpg.InternalClientError,  # asyncpg's state after a connection was cut mid-query
)


_CONNECT_TIMEOUT = 10


async def connect(url: str) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(url, timeout=_CONNECT_TIMEOUT)
    except _CONNECT_ERRORS as exc:
        raise DatabaseUnavailable(f"cannot use {describe_url(url)}: {_reason(exc)}") from None


class PoolConnection(asyncpg.Connection):
    """A pool's connection, which knows whether it took session state that outlives its
    queries (LISTEN), so that releasing it only then pays for a reset."""

    __slots__ = ("_session_state",)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._session_state = False

    async def add_listener(self, channel, callback) -> None:
        self._session_state = True  # before LISTEN: a failed LISTEN is reset as well
        await super().add_listener(channel, callback)

    def needs_reset(self) -> None:
        """Mark session state taken by hand (SET, an advisory lock, LISTEN by SQL)."""
        self._session_state = True


async def _reset_if_needed(conn: PoolConnection) -> None:
    """asyncpg's own reset (unlock advisory locks, close cursors, UNLISTEN *, RESET ALL)
    is one more round trip on every release, about 50 us of CPU with PostgreSQL's share:
    a quarter of an inbox insert's. The pool's users run statements and transactions,
    which leave nothing behind (asyncpg still rolls back an open transaction and drops the
    listener callbacks on every release), so the full reset runs only after a LISTEN
    (the workers' listener) or `needs_reset`. Code that needs SET, an advisory lock or
    a cursor WITH HOLD says so with `needs_reset`, or uses a connection of its own."""
    if conn._session_state:
        await conn.execute(conn.get_reset_query())
        conn._session_state = False


CLOSE_TIMEOUT = 2.0


async def close_pool(pool: asyncpg.Pool, within: float = CLOSE_TIMEOUT) -> None:
    """Close `pool`, and within `within` seconds: asyncpg's Pool.close() waits for every
    connection to come back, which one held by a query stuck behind a lock, or sent to a
    server that went away, does only at command_timeout (60 s). Past `within` the pool is
    terminated: its connections are closed under whatever they were doing."""
    _direct.pop(id(pool), None)
    try:
        await asyncio.wait_for(pool.close(), within)
    except TimeoutError:
        log.warning("database connections still in use after %g s: closed under them", within)
        pool.terminate()  # asyncpg did on the cancellation already; saying so costs nothing


# asyncpg's default: the statements a connection prepared, kept by their text
STATEMENT_CACHE = 100


async def create_pool(
    url: str,
    min_size: int = 1,
    max_size: int = 10,
    *,
    pooler: bool = False,
    direct_url: str | None = None,
) -> asyncpg.Pool:
    """A pool on `url`. `pooler`: `url` is a pooler in transaction mode (PgBouncer's
    pool_mode = transaction), which hands each transaction to whichever server connection
    is free: a statement asyncpg prepared and cached on one is missing on the next ("does
    not exist") or, prepared again, already there ("already exists"); PgBouncer 1.18
    (Debian 12's) does not track them, so the cache is off and every query is prepared
    unnamed and run in the same exchange. `direct_url`: PostgreSQL itself, where the pool's
    listeners open connections of their own (`listening_connections`)."""
    try:
        pool = await asyncpg.create_pool(
            url,
            min_size=min_size,
            max_size=max_size,
            timeout=_CONNECT_TIMEOUT,
            command_timeout=60,
            statement_cache_size=0 if pooler else STATEMENT_CACHE,
            connection_class=PoolConnection,
            reset=_reset_if_needed,
        )
    except _CONNECT_ERRORS as exc:
        raise DatabaseUnavailable(f"cannot use {describe_url(url)}: {_reason(exc)}") from None
    if direct_url:
        _direct[id(pool)] = (pool, DirectConnections(direct_url))
    return pool


async def node_pool(settings: Settings, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """The node's pool, as its settings say: on database_url, through a pooler or not."""
    return await create_pool(
        settings.database_url,
        min_size,
        max_size,
        pooler=settings.database_pooler,
        direct_url=settings.database_direct_url,
    )


class DirectConnections:
    """Connections of their own to PostgreSQL itself, taken and given back as a pool's are:
    for LISTEN, which a pooler in transaction mode cannot carry (a LISTEN sent through it
    is heard by whichever client next gets that server connection, or by none)."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def acquire(self) -> asyncpg.Connection:
        # asyncpg's own errors, as a pool's acquire raises them (the listeners catch those)
        return await asyncpg.connect(self.url, timeout=_CONNECT_TIMEOUT)

    async def release(self, conn: asyncpg.Connection) -> None:
        await conn.close(timeout=CLOSE_TIMEOUT)


# the pools made with a `direct_url` (by id: asyncpg's Pool takes no attributes nor weak
# references), with where their listeners connect; close_pool forgets them
_direct: dict[int, tuple[asyncpg.Pool, DirectConnections]] = {}


def listening_connections(pool: asyncpg.Pool) -> asyncpg.Pool | DirectConnections:
    """Where to take a connection that will LISTEN: `pool` itself, unless it was made with
    a `direct_url` (a pooler is in front of it): then PostgreSQL itself, a connection of
    its own."""
    entry = _direct.get(id(pool))
    return entry[1] if entry is not None and entry[0] is pool else pool
