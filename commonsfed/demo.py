"""`commonsfed demo`: three federated neighbourhoods on one machine, filled with examples,
so anyone sees the network working in a minute.

One embedded PostgreSQL in the demo's folder holds one database per node; the three nodes
run in this one process, on three consecutive ports of loopback (8081-8083 unless told),
as dev nodes named `localhost:<port>`, so they reach each other over plain http. What they
hold is made through the services (see `commonsfed.demo_seed`), and the federation workers
are stepped until the nodes have heard everything from each other before the addresses are
printed; then each node runs its workers in the background, as `serve` does.

The folder (./demo-data unless told) is kept between runs: a second run starts the same
three nodes on the data of the first, with what visitors did since. `--fresh` (or a folder
whose seeding was interrupted) makes it anew. A folder that holds something else is never
touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from aiohttp import web

from commonsfed import serving
from commonsfed.app import create_app, node_workers
from commonsfed.config import Settings
from commonsfed.db.embedded import EmbeddedPostgres, ensure_database
from commonsfed.db.lifecycle import apply_migrations
from commonsfed.demo_folder import prepare_folder, write_marker
from commonsfed.demo_seed import DEMO_PASSWORD, NEIGHBOURHOODS, Neighbourhood, SeedNode, seed
from commonsfed.federation.context import Federation
from commonsfed.federation.delivery import DeliveryWorker
from commonsfed.federation.inbox_worker import InboxWorker
from commonsfed.federation.workers import start_in_background, stop_background
from commonsfed.web.keys import FEDERATION

log = logging.getLogger(__name__)

FIRST_PORT = 8081
DEFAULT_FOLDER = Path("demo-data")
SETTLE_ROUNDS = 300
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class DemoOptions:
    folder: Path = DEFAULT_FOLDER
    first_port: int = FIRST_PORT
    host: str = "127.0.0.1"
    fresh: bool = False
    out: TextIO | None = field(default=None, repr=False)  # the addresses' stream; stdout

    @property
    def ports(self) -> list[int]:
        return [self.first_port + n for n in range(len(NEIGHBOURHOODS))]


def run_demo(options: DemoOptions) -> int:
    """Start, seed (once), print, serve until SIGINT or SIGTERM; everything stopped after."""
    sockets = _listen_all(options)  # first: a port in use is one line, and nothing to undo
    server = EmbeddedPostgres(options.folder)
    try:
        with _terminate_as_interrupt():
            seeded = prepare_folder(options.folder, options.first_port, fresh=options.fresh)
            server_url = server.start()
        asyncio.run(_run(options, server_url, sockets, seeded))
    finally:
        server.stop()
        for sock in (sock for group in sockets for sock in group):
            sock.close()
    return 0


def _listen_all(options: DemoOptions) -> list[list[socket.socket]]:
    groups: list[list[socket.socket]] = []
    try:
        for port in options.ports:
            groups.append(serving.listen(options.host, port))
    except serving.ListenError:
        for sock in (sock for group in groups for sock in group):
            sock.close()
        raise
    return groups


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """While the database starts (before the event loop takes the signals over), SIGTERM
    ends the demo as Ctrl-C does, through the same clean-up, instead of killing it with a
    PostgreSQL left running."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    before = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


# --- the nodes -----------------------------------------------------------------------------


@dataclass
class DemoNode:
    plan: Neighbourhood
    settings: Settings
    runner: web.AppRunner

    @property
    def federation(self) -> Federation:
        return self.runner.app[FEDERATION]


def node_settings(options: DemoOptions, plan: Neighbourhood, port: int, url: str) -> Settings:
    resolve = {f"localhost:{p}": f"{options.host}:{p}" for p in options.ports}
    return Settings(
        domain=f"localhost:{port}", host=options.host, port=port, database_url=url,
        data_dir=options.folder / plan.slug, instance_name=plan.name,
        instance_description=plan.description, rules=plan.rules, dev=True, resolve=resolve,
        run_worker=False,  # started here once the nodes have settled
        access_log=False,
    )  # fmt: skip


async def _run(options: DemoOptions, server_url: str, sockets: list, seeded: bool) -> None:
    stopping = _stop_on_signals()
    nodes: list[DemoNode] = []
    background = []
    try:
        if not await serving.unless_stopped(stopping, _start(options, server_url, sockets, nodes)):
            return
        if not await serving.unless_stopped(stopping, _fill(options, nodes, seeded)):
            return
        for node in nodes:
            fed = node.federation
            background.append(start_in_background(fed.pool, node_workers(fed)))
        print_addresses(options, nodes, reused=seeded)
        await stopping.wait()
    finally:
        # the three at once: each takes a few seconds of grace at most (see serving)
        await asyncio.gather(*(stop_background(task, stop) for task, stop in background))
        await asyncio.gather(*(_clean_up(node.runner) for node in nodes))
        for signum in _SIGNALS:
            asyncio.get_running_loop().remove_signal_handler(signum)


async def _start(options: DemoOptions, server_url: str, sockets: list, nodes: list) -> None:
    """Each node's database (made and migrated), app and listening sites."""
    # the three databases at once: migrating one keeps about one core busy
    urls = await asyncio.gather(*(_database(server_url, plan) for plan in NEIGHBOURHOODS))
    for plan, port, group, url in zip(NEIGHBOURHOODS, options.ports, sockets, urls, strict=True):
        settings = node_settings(options, plan, port, url)
        runner = web.AppRunner(create_app(settings), shutdown_timeout=serving.REQUEST_GRACE,
                               access_log=None)  # fmt: skip
        await runner.setup()
        nodes.append(DemoNode(plan, settings, runner))
        for sock in group:
            await web.SockSite(runner, sock).start()


async def _database(server_url: str, plan: Neighbourhood) -> str:
    url = await ensure_database(server_url, "demo_" + plan.slug.replace("-", "_"))
    await apply_migrations(url)
    return url


async def _fill(options: DemoOptions, nodes: list[DemoNode], seeded: bool) -> None:
    feds = [node.federation for node in nodes]

    async def settle() -> None:
        await settle_workers(feds)

    if not seeded:
        await seed([SeedNode(node.plan, node.federation) for node in nodes], settle)
        write_marker(options.folder, options.first_port, seeded=True)
    await settle()


async def settle_workers(feds: list[Federation], rounds: int = SETTLE_ROUNDS) -> None:
    """Step every node's delivery and inbox workers until none has anything left to do
    (deliveries due later, retries, are not waited for)."""
    workers = [worker for fed in feds for worker in (DeliveryWorker(fed), InboxWorker(fed))]
    for _ in range(rounds):
        if not any([await worker.tick() for worker in workers]):
            return
    log.warning("the nodes still had work after %d rounds; the workers carry on", rounds)


def print_addresses(options: DemoOptions, nodes: list[DemoNode], *, reused: bool) -> None:
    made = "started again on the data of the last run" if reused else "made now"
    lines = [f"Three federated neighbourhoods are running ({made}; data in "
             f"{options.folder.resolve()}):", ""]  # fmt: skip
    for node in nodes:
        plan = node.plan
        lines.append(
            f"  {plan.name:<11} {node.settings.base_url:<23} admin: {plan.admin:<5} "
            f"residents: {', '.join(plan.residents[1:])}"
        )
    lines += ["", f"Every account's password is {DEMO_PASSWORD}. Press Ctrl-C to stop."]
    print("\n".join(lines), file=options.out or sys.stdout, flush=True)


# --- stopping ------------------------------------------------------------------------------


def _stop_on_signals() -> asyncio.Event:
    """An event set by the first SIGINT or SIGTERM; a second one ends the process at once."""
    loop, stopping = asyncio.get_running_loop(), asyncio.Event()

    def stop() -> None:
        stopping.set()
        for signum in _SIGNALS:
            loop.remove_signal_handler(signum)

    for signum in _SIGNALS:
        loop.add_signal_handler(signum, stop)
    return stopping


async def _clean_up(runner: web.AppRunner) -> None:
    try:
        async with asyncio.timeout(serving.STOP_TIMEOUT):
            await runner.cleanup()
    except TimeoutError:
        log.warning("a node did not stop cleanly in %g s; leaving the rest", serving.STOP_TIMEOUT)
