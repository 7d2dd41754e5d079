"""`commonsfed serve --processes N`: N server processes on one port, and their parent.

One Python process serves on one core; a node given more cores runs more processes. Each
child is a whole `serve` (its application, its pool, its connection caps) that binds a
socket of its own to the port with SO_REUSEPORT, and Linux hands each new connection to one
of the listening sockets (by a hash of the addresses and ports), so no process accepts for
the others and none waits on a shared accept queue. The parent only starts and watches them;
it started the embedded PostgreSQL, or checked the external one's schema, before.

Every child runs the in-process workers too (unless `run_worker` is off): the queues are
claimed with FOR UPDATE SKIP LOCKED, so any number of workers share them and no item is
handled twice, and a node that accepts on N cores then handles on N cores as well; a
worker that only listens costs a connection and a query every `federation.workers`
IDLE_TIMEOUT. (Mail, exports and the scheduled jobs are claimed the same way.)

Stopping: SIGTERM or SIGINT to the parent closes the pipe each child holds; a child stops
as `serve` does on a signal (seconds: see `commonsfed.serving`) and the parent waits for
them, killing any still there after STOP_WAIT. A signal that reaches the children as well
(systemd's default KillMode=control-group, Ctrl-C in a terminal) is the same request, not
a second one, since the pipe is not a signal. A pipe whose parent died closes too, so
children never outlive it.

A child that exits by itself (it crashed, was killed, lost its port) is reported in one
line; the parent then stops the others and exits with status 1, so that the service manager
restarts the whole node (systemd's Restart=on-failure, compose's restart policy). Restarting
one child here would hide a crash loop (a database that refuses every start) behind a node
that looks up.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
import sys
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from commonsfed.config import Settings
from commonsfed.serving import STOP_TIMEOUT

log = logging.getLogger(__name__)

# A child's own stop is bounded by serving.STOP_TIMEOUT; past this the parent kills it.
STOP_WAIT = STOP_TIMEOUT + 1.0
LOG_FORMAT = "%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"
_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# how a child asked to stop may end: by itself, or by the service manager's signal that
# came before the child had set its own handlers (it was still starting)
_STOPPED = (0, -signal.SIGTERM, -signal.SIGINT)


@dataclass
class Child:
    number: int
    process: BaseProcess
    stop_pipe: Connection  # the parent's end: closing it asks the child to stop

    @property
    def name(self) -> str:
        return f"serve process {self.number} (pid {self.process.pid})"


def run(settings: Settings) -> int:
    """Start `settings.processes` children serving `settings` (its database_url set) on
    its host and port; return the exit status once they have all stopped: 0 when asked to
    stop and every child stopped cleanly, 1 when one exited by itself or failed."""
    return asyncio.run(_supervise(settings))


async def _supervise(settings: Settings) -> int:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for signum in _SIGNALS:
        loop.add_signal_handler(signum, _on_signal, loop, stopping)
    children = [_start(settings, number) for number in range(1, settings.processes + 1)]
    exited: asyncio.Queue[Child] = asyncio.Queue()
    for child in children:
        loop.add_reader(child.process.sentinel, _on_exit, loop, child, exited)
    log.info("started %d serve processes on port %d", len(children), settings.port)
    status = 0
    try:
        first = await _first_of(exited.get(), stopping.wait())
        if isinstance(first, Child):
            log.error("%s %s; stopping the others", first.name, _how(first.process.exitcode))
            status = 1
        status = max(status, await _stop_all(children, exited, first))
    finally:
        for signum in _SIGNALS:
            loop.remove_signal_handler(signum)
    return status


def _start(settings: Settings, number: int) -> Child:
    # spawn, not fork: a fresh interpreter, with nothing of the parent's state (its event
    # loop, the embedded PostgreSQL's handles) copied into it
    context = multiprocessing.get_context("spawn")
    child_end, parent_end = context.Pipe(duplex=False)
    process = context.Process(
        target=child_main, args=(settings, child_end), name=f"serve-{number}", daemon=False
    )
    process.start()
    child_end.close()  # the child's copy is its own: the pipe closes with the parent's end
    return Child(number, process, parent_end)


def _on_signal(loop: asyncio.AbstractEventLoop, stopping: asyncio.Event) -> None:
    """The first signal asks the children to stop; a second ends the parent at once (the
    children follow: their pipes close with it)."""
    stopping.set()
    for signum in _SIGNALS:
        loop.remove_signal_handler(signum)


def _on_exit(loop: asyncio.AbstractEventLoop, child: Child, exited: asyncio.Queue) -> None:
    loop.remove_reader(child.process.sentinel)  # once: a dead child's sentinel stays readable
    child.process.join()
    exited.put_nowait(child)


async def _first_of(*waits):
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        return next(iter(done)).result()
    finally:
        for task in tasks:
            task.cancel()


async def _stop_all(children: list[Child], exited: asyncio.Queue, first: object) -> int:
    """Ask every child to stop and wait for them (STOP_WAIT at most, then kill the rest);
    1 if one of them did not stop cleanly."""
    gone = {first.number} if isinstance(first, Child) else set()
    for child in children:
        child.stop_pipe.close()
    status = 0
    try:
        async with asyncio.timeout(STOP_WAIT):
            while len(gone) < len(children):
                child = await exited.get()
                gone.add(child.number)
                if child.process.exitcode not in _STOPPED:
                    log.error("%s %s while stopping", child.name, _how(child.process.exitcode))
                    status = 1
    except TimeoutError:
        for child in children:
            if child.number not in gone:
                log.error("%s did not stop in %g s; killed", child.name, STOP_WAIT)
                child.process.kill()
                child.process.join()
        status = 1
    return status


def _how(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"was killed by {signal.Signals(-exitcode).name}"
    return f"exited with status {exitcode}"


def child_main(settings: Settings, stop_pipe: Connection) -> None:
    """One child: `serve` on its own SO_REUSEPORT socket until its pipe closes or a signal
    comes. A failure is one line, as the command's own, and exit status 1."""
    from commonsfed import serving
    from commonsfed.app import create_app
    from commonsfed.cli import _FAILURES

    logging.basicConfig(format=LOG_FORMAT, level=settings.log_level)
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    try:
        sockets = serving.listen(settings.host, settings.port, reuse_port=True)
        try:
            serving.serve(create_app(settings), settings, sockets, stop_when=stop_pipe)
        finally:
            for sock in sockets:
                sock.close()
    except _FAILURES as exc:
        print(f"commonsfed: error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:  # a Ctrl-C before serving set its own handlers
        sys.exit(130)
