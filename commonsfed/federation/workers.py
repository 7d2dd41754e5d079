"""Running steppable workers: tick them while they find work, then wait for a NOTIFY.

A worker only has to offer `tick()` (do one step, True when it did something) and the
channel its producers NOTIFY; one that holds claims under a lease also offers `heartbeat()`,
called here every `heartbeat_every` seconds. Everything about waiting lives here, so tests
drive workers with `await worker.tick()` and `await worker.heartbeat()` and never sleep.

    serve:               task, stop = start_in_background(pool, workers)
                         ... await stop_background(task, stop)
    commonsfed worker:   await run_until_signalled(pool, workers)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import asyncpg

from commonsfed.db.pool import DATABASE_ERRORS, listening_connections

log = logging.getLogger(__name__)

IDLE_TIMEOUT = 30.0  # retries come due with no NOTIFY, so look at least this often
# On stop: seconds a tick in flight has to finish, then to end once cancelled, then to give
# claims back. Together with the pool's close (db.pool.CLOSE_TIMEOUT) well under the 10 s a
# service manager waits.
STOP_GRACE = 2.0
CANCEL_TIMEOUT = 1.0
TIDY_TIMEOUT = 1.5


@runtime_checkable
class Steppable(Protocol):
    channel: str

    async def tick(self) -> bool: ...


async def run_workers(
    pool: asyncpg.Pool,
    workers: Sequence[Steppable],
    stop: asyncio.Event,
    idle_timeout: float = IDLE_TIMEOUT,
    grace: float = STOP_GRACE,
) -> None:
    """Tick `workers` until `stop` is set; then a tick in flight gets `grace` seconds to
    finish, after which it is cancelled, and claims that workers hold and did not finish
    are given back (`release_claims`, where they have it; a claim not given back returns
    to the queue when its lease runs out).

    Each worker loops on its own (tick until idle, then wait for a NOTIFY on its channel,
    the idle timeout or stop), so a delivery tick held by a slow peer never delays the
    inbox worker. One connection listens for all of them. Workers that hold claims under a
    lease (`heartbeat`) have it called on their timer until their loops end, a tick being
    finished included.

    The grace is short, as `commonsfed worker` and `serve` must stop within seconds of a
    SIGTERM whatever a tick waits for: a peer that does not answer (up to the HTTP client's
    15 s), a table locked by a migration, a database that went away (60 s of
    command_timeout).
    """
    pairs = [(worker, asyncio.Event()) for worker in workers]
    # a connection of its own to PostgreSQL when a pooler is in front of the pool
    listener = _Listener(listening_connections(pool), [(w.channel, wake) for w, wake in pairs])
    beats = [asyncio.create_task(_beat(w)) for w in workers if hasattr(w, "heartbeat")]
    loops = asyncio.gather(*(_loop(w, wake, listener, stop, idle_timeout) for w, wake in pairs))
    try:
        await _until_stopped(loops, stop, grace)
    finally:
        for beat in beats:
            beat.cancel()
        if beats:
            await asyncio.wait(beats)
        await _tidy_up(listener, workers)


async def _until_stopped(
    loops: asyncio.Future[list[None]], stop: asyncio.Event, grace: float
) -> None:
    """Wait for the loops, which end soon after `stop`; cancel them `grace` seconds after
    it (or at once, if this is cancelled)."""
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({loops, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not loops.done():
            await asyncio.wait({loops}, timeout=grace)
    finally:
        stopped.cancel()
        if not loops.done():
            log.info("stopping: abandoning the work in flight after %g s", grace)
            loops.cancel()
            # a cancelled query still waits for PostgreSQL to confirm the cancel: not forever
            await asyncio.wait({loops}, timeout=CANCEL_TIMEOUT)
    if loops.done():
        with contextlib.suppress(asyncio.CancelledError):  # ours, above
            loops.result()


async def _tidy_up(listener: _Listener, workers: Sequence[Steppable]) -> None:
    """Stop listening and give claims back, unless the database keeps us waiting."""
    try:
        async with asyncio.timeout(TIDY_TIMEOUT):
            await listener.close()
            await _release(workers)
    except TimeoutError:
        log.warning(
            "stopping: the database did not answer in %g s; unfinished claims return to "
            "the queue when their leases run out",
            TIDY_TIMEOUT,
        )


async def _loop(
    worker: Steppable,
    wake: asyncio.Event,
    listener: _Listener,
    stop: asyncio.Event,
    idle_timeout: float,
) -> None:
    while not stop.is_set():
        await listener.ensure()
        wake.clear()  # before draining: a NOTIFY during the drain wakes the next wait
        await _drain(worker, stop)
        await _wait_for_any(wake, stop, idle_timeout)


async def _drain(worker: Steppable, stop: asyncio.Event) -> None:
    """Tick until the worker finds nothing to do (or we are told to stop).

    A failed tick ends the drain, so a broken database or a bug is retried after the
    idle wait rather than in a tight loop."""
    while not stop.is_set():
        try:
            if not await worker.tick():
                return
        except DATABASE_ERRORS as exc:
            log.warning("%s paused, the database failed: %s", type(worker).__name__, exc)
            return
        except Exception:
            log.exception("%s: a tick failed", type(worker).__name__)
            return


async def _beat(worker: Steppable) -> None:
    """Call `worker.heartbeat()` every `worker.heartbeat_every` seconds, until cancelled.
    A failed one is logged and the next comes on time: the lease outlasts two."""
    while True:
        await asyncio.sleep(worker.heartbeat_every)
        try:
            await worker.heartbeat()
        except DATABASE_ERRORS as exc:
            log.warning("%s: heartbeat failed, the database failed: %s", type(worker).__name__, exc)
        except Exception:
            log.exception("%s: a heartbeat failed", type(worker).__name__)


async def _wait_for_any(wake: asyncio.Event, stop: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def _release(workers: Sequence[Steppable]) -> None:
    for worker in workers:
        release = getattr(worker, "release_claims", None)
        if release is None:
            continue
        try:
            await release()
        except DATABASE_ERRORS as exc:  # their leases run out instead
            log.warning("could not release claims on shutdown: %s", exc)


class _Listener:
    """One pool connection kept for LISTEN on the workers' channels; set up again if the
    connection is lost (a database restart), in the meantime the idle timeout polls."""

    def __init__(self, pool: asyncpg.Pool, wakes: list[tuple[str, asyncio.Event]]) -> None:
        self._pool, self._wakes = pool, wakes
        self._channels = sorted({channel for channel, _ in wakes})
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()  # every worker's loop calls ensure()

    async def ensure(self) -> None:
        async with self._lock:
            if self._conn is None or self._conn.is_closed():
                await self._close()
                await self._open()

    async def _open(self) -> None:
        try:
            self._conn = await self._pool.acquire()
            for channel in self._channels:
                await self._conn.add_listener(channel, self._notified)
        except DATABASE_ERRORS as exc:
            log.warning("cannot listen for new work, polling instead: %s", exc)
            await self._close()

    def _notified(self, _conn: object, _pid: int, channel: str, _payload: str) -> None:
        for wanted, wake in self._wakes:
            if wanted == channel:
                wake.set()

    async def close(self) -> None:
        async with self._lock:
            await self._close()

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        with contextlib.suppress(*DATABASE_ERRORS):  # a lost connection has no listeners
            for channel in self._channels:
                await conn.remove_listener(channel, self._notified)
        try:
            await self._pool.release(conn)
        except DATABASE_ERRORS as exc:  # the pool is closed already
            log.debug("listening connection not released cleanly: %s", exc)


def start_in_background(
    pool: asyncpg.Pool,
    workers: Sequence[Steppable],
    idle_timeout: float = IDLE_TIMEOUT,
    grace: float = STOP_GRACE,
) -> tuple[asyncio.Task[None], asyncio.Event]:
    """Run the workers as a task of the running loop (serve's in-process worker).
    Stop them with `stop_background(task, stop)`."""
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_workers(pool, workers, stop, idle_timeout, grace), name="workers"
    )
    return task, stop


async def stop_background(task: asyncio.Task[None], stop: asyncio.Event) -> None:
    """Ask the workers to stop and wait until they have (a few seconds at most, see
    `run_workers`)."""
    stop.set()
    await task


async def run_until_signalled(
    pool: asyncpg.Pool, workers: Sequence[Steppable], idle_timeout: float = IDLE_TIMEOUT
) -> None:
    """Run the workers until SIGINT or SIGTERM (`commonsfed worker`), then stop cleanly."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    try:
        await run_workers(pool, workers, stop, idle_timeout)
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
