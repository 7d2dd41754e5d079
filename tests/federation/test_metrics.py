"""GET /metrics, read by prometheus-client's own parser after real traffic between nodes,
and refused to whoever is neither on this machine nor holding the token."""

from __future__ import annotations

import socket

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from commonsfed import serving
from commonsfed.app import create_app
from commonsfed.metrics import Metrics
from commonsfed.services import follows
from commonsfed.web.metrics import metrics_server
from tests.builders import register
from tests.nodes import settle

TOKEN = "a-metrics-token-of-32-characters"


async def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of the node's /metrics."""
    response = await client.get("/metrics", headers=headers)
    assert response.status == 200, await response.text()
    assert response.content_type == "text/plain"
    return parse(await response.text())


def parse(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics__count_a_follow_that_crosses_two_nodes(start_nodes):
    # Given two nodes whose residents have not met
    north, south = await start_nodes(2)
    await register(north.client, "alice")
    await register(south.client, "bob")
    before_north, before_south = await scrape(north.client), await scrape(south.client)

    # When alice follows bob: north delivers a signed Follow to south's inbox, south answers
    # with an Accept; and a peer POSTs an unsigned activity to south
    await follows.follow(north.federation, north.url("/users/alice"), "@bob@south.test")
    waiting = await scrape(north.client)
    await settle(north, south)
    unsigned = await south.client.post(
        "/inbox",
        data=b'{"id": "http://x.test/1", "type": "Like", "actor": "http://x.test/a"}',
        headers={"Content-Type": "application/activity+json"},
    )
    after_north, after_south = await scrape(north.client), await scrape(south.client)

    # Then the delivery waited in north's queue, then was done; south accepted it in its
    # inbox, counted under the inbox's route pattern, and refused the unsigned one
    assert value(waiting, "commonsfed_queue_depth", queue="deliveries") == 1
    assert value(before_north, "commonsfed_deliveries_total", outcome="done") == 0
    assert value(after_north, "commonsfed_deliveries_total", outcome="done") >= 1
    assert value(after_north, "commonsfed_queue_depth", queue="deliveries") == 0
    assert value(after_north, "commonsfed_queue_oldest_age_seconds", queue="deliveries") == 0
    assert value(after_north, "commonsfed_delivery_duration_seconds_count") >= 1
    assert value(
        after_south, "commonsfed_inbox_requests_total", outcome="accepted", reason=""
    ) > value(before_south, "commonsfed_inbox_requests_total", outcome="accepted", reason="")
    assert unsigned.status == 401
    assert (
        value(after_south, "commonsfed_inbox_requests_total", outcome="refused", reason="signature")
        == 1
    )
    assert value(after_south, "commonsfed_inbox_handle_duration_seconds_count", outcome="done") >= 1
    assert (
        value(
            after_south,
            "commonsfed_http_requests_total",
            method="POST",
            route="/inbox",
            status="202",
        )
        >= 1
    )
    assert (
        value(
            after_south,
            "commonsfed_http_request_duration_seconds_count",
            method="GET",
            route="/metrics",
        )
        >= 1
    )
    # the database pool of each process, as it is at the scrape
    assert value(after_south, "commonsfed_db_pool_max_connections") == 10
    assert value(after_south, "commonsfed_db_pool_connections", state="in_use") >= 0
    # and no raw paths as labels: a request for a listing that does not exist is counted
    # under its pattern
    await south.client.get("/listings/abcdefgh1234")
    routes = {dict(labels).get("route") for (name, labels) in (await scrape(south.client))}
    assert "/listings/{uid}" in routes
    assert not any(route and "abcdefgh1234" in route for route in routes)


async def test_metrics__a_proxied_client_without_a_token_is_refused(start_nodes):
    # Given a node behind a proxy on the same machine (Caddy, nginx): every connection comes
    # from loopback, with the client's address in X-Forwarded-For
    (north,) = await start_nodes(1)

    # When a client out there asks for the metrics
    response = await north.client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"})

    # Then it gets 403 and a reason, and no figures
    assert response.status == 403
    body = await response.json()
    assert "this machine only" in body["error"]
    assert "commonsfed_" not in await response.text()
    # and a token is no use where the node has none
    guessed = await north.client.get(
        "/metrics", headers={"X-Forwarded-For": "203.0.113.7", "Authorization": f"Bearer {TOKEN}"}
    )
    assert guessed.status == 401
    assert "no metrics token" in (await guessed.json())["error"]


async def test_metrics__the_token_lets_others_in_and_a_wrong_one_is_refused(start_nodes):
    # Given a node with a metrics token
    (north,) = await start_nodes(1, **{"north.test": {"metrics_token": TOKEN}})
    outside = {"X-Forwarded-For": "203.0.113.7"}

    # When clients from outside ask with no token, a wrong one, a Basic one, and the token
    missing = await north.client.get("/metrics", headers=outside)
    wrong = await north.client.get(
        "/metrics", headers={**outside, "Authorization": f"Bearer {TOKEN[:-1]}x"}
    )
    basic = await north.client.get("/metrics", headers={**outside, "Authorization": "Basic eDp5"})
    # a wrong token is refused even on this machine: a script with a stale token should know
    local_wrong = await north.client.get("/metrics", headers={"Authorization": "Bearer nope"})

    # Then only the token gets the figures
    for refused in (missing, wrong, basic, local_wrong):
        assert refused.status == 401
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        assert "error" in await refused.json()
    samples = await scrape(north.client, **outside, Authorization=f"Bearer {TOKEN}")
    assert ("commonsfed_queue_depth", (("queue", "inbox"),)) in samples


def _outward_address() -> str | None:
    """This machine's address on its network (not loopback), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # a documentation address: nothing is sent
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


async def test_metrics__a_client_on_the_network_is_refused(settings):
    # Given a node listening on the machine's network address, as with --host 0.0.0.0
    address = _outward_address()
    if address is None:
        pytest.skip("this machine has no network address besides loopback")
    client = TestClient(TestServer(create_app(settings), host=address))
    await client.start_server()
    try:
        # When a client connects to it over the network (not loopback)
        response = await client.get("/metrics")

        # Then it is refused: 403, with the reason
        assert response.status == 403
        assert "error" in await response.json()
    finally:
        await client.close()


async def test_metrics_server__the_worker_serves_its_own_counts(settings, database_url):
    # Given a worker's counts (a delivery done) and its metrics port
    from commonsfed.db.pool import close_pool, create_pool

    metrics = Metrics()
    metrics.count_delivery("done")
    sockets = serving.listen("127.0.0.1", 0)
    port = sockets[0].getsockname()[1]
    pool = await create_pool(database_url, max_size=2)
    try:
        async with (
            metrics_server(settings, pool, metrics, sockets),
            aiohttp.ClientSession() as session,
        ):
            # When Prometheus scrapes it, and a proxied client tries
            async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                text = await response.text()
            async with session.get(
                f"http://127.0.0.1:{port}/metrics", headers={"X-Forwarded-For": "203.0.113.7"}
            ) as proxied:
                proxied_status = proxied.status
    finally:
        await close_pool(pool)
        for sock in sockets:
            sock.close()

    # Then the delivery is there, with the queues read from the database
    samples = parse(text)
    assert value(samples, "commonsfed_deliveries_total", outcome="done") == 1
    assert ("commonsfed_queue_depth", (("queue", "mail"),)) in samples
    assert proxied_status == 403


def test_load_settings__the_metrics_token_and_port():
    from commonsfed.config import ConfigError, load_settings

    settings = load_settings(
        {"COMMONSFED_METRICS_TOKEN": TOKEN, "COMMONSFED_METRICS_PORT": "9101"}, need_domain=False
    )
    assert settings.metrics_token == TOKEN and settings.metrics_port == 9101
    assert TOKEN not in repr(settings)  # a password: never in a log line
    # a short token is refused, and the message does not repeat it
    with pytest.raises(ConfigError) as refused:
        load_settings({"COMMONSFED_METRICS_TOKEN": "short-secret"}, need_domain=False)
    assert refused.value.setting == "COMMONSFED_METRICS_TOKEN"
    assert "short-secret" not in str(refused.value)
    with pytest.raises(ConfigError, match="--metrics-port"):
        load_settings({}, {"metrics_port": "70000"}, need_domain=False)
