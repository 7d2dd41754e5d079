"""Hours across three nodes under load and faults: 200 transfers proposed at once between
residents of north, south and east, every delivery passing through a proxy that drops some
requests (503) and loses the answer of others (the request arrives, the sender hears 503 and
sends it again), the workers retrying until everything is answered. Then every node's ledger
sums to zero, each pair of nodes' clearing balances mirror each other, no account is past
its limit, and no transfer is applied twice nor on one side only."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

import aiohttp
import orjson
import pytest
from aiohttp import web

from commonsfed.services import accounts, timebank_remote
from commonsfed.services.timebank import TransferRefused
from tests.builders import DEFAULT_PASSWORD
from tests.nodes import NAMES, bound_socket

TRANSFERS = 200
PEOPLE = 4  # on each node
CLEARING_LIMIT = 40
_HOP = {"content-length", "transfer-encoding", "connection", "keep-alive"}


class FlakyProxy:
    """Every node's HTTP client reaches every node (itself included) through this proxy, by
    the Host header; POSTs fail at random, before or after the node got them."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.ports: dict[str, int] = {}
        self.dropped = self.lost = 0
        self.sock = bound_socket()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.sock.getsockname()[1]}"

    async def start(self) -> None:
        app = web.Application(client_max_size=2**21)
        app.router.add_route("*", "/{tail:.*}", self.forward)
        self.session = aiohttp.ClientSession()
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.SockSite(self.runner, self.sock).start()

    async def close(self) -> None:
        await self.runner.cleanup()
        await self.session.close()

    async def forward(self, request: web.Request) -> web.Response:
        fault = self.rng.random() if request.method == "POST" else 1.0
        if fault < 0.15:
            self.dropped += 1
            return web.Response(status=503)
        host = request.headers["Host"].split(":")[0]
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        url = f"http://127.0.0.1:{self.ports[host]}{request.path_qs}"
        async with self.session.request(
            request.method, url, headers=headers, data=await request.read()
        ) as response:
            body = await response.read()
        if fault < 0.3:
            self.lost += 1
            return web.Response(status=503)
        kept = {k: v for k, v in response.headers.items() if k.lower() == "content-type"}
        return web.Response(status=response.status, body=body, headers=kept)


@pytest.fixture
async def proxy():
    flaky = FlakyProxy(seed=15)
    await flaky.start()
    yield flaky
    await flaky.close()


async def _people(node) -> list:
    return [
        await accounts.register(
            node.federation.pool, node.settings, username=f"{node.name[0]}{i}",
            email=f"{node.name[0]}{i}@example.org", password=DEFAULT_PASSWORD, by_admin=True,
        )
        for i in range(PEOPLE)
    ]  # fmt: skip


async def _due_now(nodes) -> None:
    """Time passes: every retry is due, and no host stays parked."""
    for node in nodes:
        await node.query("UPDATE deliveries SET next_try_at = now() WHERE state = 'pending'")
        await node.query("UPDATE inbox_items SET next_try_at = now() WHERE state = 'pending'")
        await node.query("UPDATE hosts SET parked_until = NULL, consecutive_failures = 0")


async def _work(nodes, rounds: int = 60) -> None:
    """Tick all workers of all nodes at once, round after round, with retries made due,
    until no delivery or inbox item is left pending."""
    for _ in range(rounds):
        busy = await asyncio.gather(*[w.tick() for node in nodes for w in node.workers])
        if not any(busy):
            pending = 0
            for node in nodes:
                pending += len(await node.query(
                    "SELECT 1 FROM deliveries WHERE state = 'pending' UNION ALL "
                    "SELECT 1 FROM inbox_items WHERE state = 'pending'"))  # fmt: skip
            if not pending:
                return
            await _due_now(nodes)
    raise AssertionError("the nodes did not settle")


async def _propose(node, payer, payee_uri: str, hours: str, local_pays: bool):
    try:
        return await timebank_remote.propose(
            node.federation, payer, payee_uri, hours, local_pays=local_pays
        )
    except TransferRefused:
        return None


async def test_hours_network__concurrent_transfers_with_faults_stay_consistent(start_nodes, proxy):
    nodes = await start_nodes(
        3, others=dict.fromkeys(NAMES, proxy.address),
        **dict.fromkeys(NAMES, {"hours_clearing_limit": CLEARING_LIMIT}),
    )  # fmt: skip
    proxy.ports = {node.name: node.client.port for node in nodes}
    people = {node.name: await _people(node) for node in nodes}
    rng = random.Random(15)
    # every node fetches every other node's people once, so the burst below is about hours
    for node in nodes:
        for other in nodes:
            if other is not node:
                await _warm(node, other, people[other.name])

    jobs = []
    for _ in range(TRANSFERS):
        here, there = rng.sample(nodes, 2)
        payer, payee = rng.choice(people[here.name]), rng.choice(people[there.name])
        hours = rng.choice(["0.5", "1", "2", "3.25", "5"])
        uri = there.url(f"/users/{payee.username}")
        jobs.append(_propose(here, payer, uri, hours, rng.random() < 0.7))
    proposed = [event for event in await asyncio.gather(*jobs) if event]
    # some proposers send their Offer again under a new id, as one that lost its answer would
    again = await asyncio.gather(*[_propose_again(nodes, event) for event in proposed[::5]])
    await _work(nodes)

    await _check_ledgers(nodes)
    accepted = await _check_decisions(nodes, proposed)
    assert all(again)
    assert proxy.dropped and proxy.lost, "the proxy injected no faults"
    assert 0 < accepted < len(proposed), "some transfers should pass and some be refused"


async def _propose_again(nodes, event_id: str) -> bool:
    """Queue the event's Offer again, under a new id, to the same inbox."""
    from commonsfed.federation import outbox

    node = next(n for n in nodes if event_id.startswith(n.url("/")))
    [row] = await node.query("SELECT a.document, d.inbox FROM activities a "
                             "JOIN deliveries d ON d.activity_uri = a.uri "
                             "WHERE a.uri = $1", event_id + "/offer")  # fmt: skip
    offer = orjson.loads(row["document"])
    offer["id"] = event_id + "/offer-again"
    async with node.federation.pool.acquire() as conn, conn.transaction():
        await outbox.publish(conn, node.settings, offer, extra_inboxes=[row["inbox"]])
    return True


async def _warm(node, other, residents) -> None:
    from commonsfed.federation.actors import get_actor

    for person in residents:
        for _ in range(20):  # the proxy drops POSTs only; a GET may still meet a busy node
            try:
                await get_actor(node.federation, other.url(f"/users/{person.username}"))
                break
            except Exception:  # noqa: BLE001  (a fetch failure: try again)
                continue


async def _check_ledgers(nodes) -> None:
    clearing = {}
    for node in nodes:
        [row] = await node.query("""
            SELECT sum(balance) AS total, sum(held_out + held_in) AS held,
                   bool_and(balance = (SELECT coalesce(sum(amount), 0) FROM hours_entries e
                                       WHERE e.hours_account_id = a.id)) AS entries_match,
                   bool_and(kind = 'clearing' OR balance BETWEEN -20 AND 40) AS residents_in,
                   bool_and(kind = 'resident' OR abs(balance) <= $1) AS clearing_in
            FROM hours_accounts a
        """, CLEARING_LIMIT)  # fmt: skip
        assert row["total"] == 0 and row["held"] == 0, (node.name, dict(row))
        assert row["entries_match"] and row["residents_in"] and row["clearing_in"], dict(row)
        for account in await node.query("SELECT node, balance FROM hours_accounts "
                                        "WHERE kind = 'clearing'"):  # fmt: skip
            clearing[(node.name, account["node"])] = account["balance"]
    for (here, there), balance in clearing.items():
        assert clearing.get((there, here), Decimal(0)) == -balance, (here, there)


async def _check_decisions(nodes, proposed: list[str]) -> int:
    """Every proposal answered the same way on both sides, each accepted one applied once on
    each side; the number accepted."""
    decided: dict[str, set[str]] = {}
    for node in nodes:
        rows = await node.query("SELECT event_id, role, state, transfer_id IS NOT NULL AS "
                                "applied FROM hours_remote_transfers")  # fmt: skip
        for row in rows:
            assert row["state"] != "proposed", row
            assert row["applied"] == (row["state"] == "accepted")
            decided.setdefault(row["event_id"], set()).add(f"{row['role']}:{row['state']}")
        [counts] = await node.query("""
            SELECT count(*) AS transfers, count(DISTINCT event_id) AS events
            FROM hours_transfers WHERE event_id IS NOT NULL
        """)  # fmt: skip
        assert counts["transfers"] == counts["events"]
    assert set(decided) == set(proposed)
    for sides in decided.values():
        assert sides in ({"proposer:accepted", "responder:accepted"},
                         {"proposer:rejected", "responder:rejected"}), sides  # fmt: skip
    return sum("proposer:accepted" in sides for sides in decided.values())
