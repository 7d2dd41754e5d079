"""What counting every request for /metrics costs: the node's app against the same app
without its metrics middleware, in the same run.

    .venv/bin/python bench/metrics.py [--requests 3000] [--rounds 5]

PostgreSQL: TEST_DATABASE_URL when set, else an embedded one in a temporary folder (the app
needs one to start; the requests timed never reach it). Two requests, each through the whole
aiohttp app in process over a keep-alive connection: GET /static/style.css (the cheapest
page) and an unsigned inbox POST refused with 401 (the inbox's own counters as well). Each
round sends `--requests` of each to both apps, alternating, and the median round is shown in
microseconds per request, with the difference. Then the bookkeeping alone (labels, one
counter, one histogram), timed without any HTTP: what the middleware adds, unblurred by
the noise of whole requests. Then one scrape of /metrics with its database reads.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from _postgres import drop_database, make_database, postgres_server
from aiohttp.test_utils import TestClient, TestServer

from commonsfed.app import create_app
from commonsfed.config import Settings
from commonsfed.metrics import Metrics
from commonsfed.web.metrics import metrics_middleware

INBOX_BODY = b'{"id": "http://x.test/1", "type": "Like", "actor": "http://x.test/a"}'
AS2 = {"Content-Type": "application/activity+json"}


async def start(settings: Settings, with_metrics: bool) -> TestClient:
    app = create_app(settings)
    if not with_metrics:
        app.middlewares.remove(metrics_middleware)  # before the app starts and freezes them
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def static_page(client: TestClient) -> None:
    response = await client.get("/static/style.css")
    await response.read()
    assert response.status == 200


async def refused_inbox(client: TestClient) -> None:
    response = await client.post("/inbox", data=INBOX_BODY, headers=AS2)
    await response.read()
    assert response.status == 401


async def per_request_us(client: TestClient, request, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        await request(client)
    return (time.perf_counter() - started) / count * 1e6


async def compare(node: TestClient, bare: TestClient, request, args) -> tuple[float, float]:
    with_metrics, without = [], []
    for _ in range(args.rounds):
        with_metrics.append(await per_request_us(node, request, args.requests))
        without.append(await per_request_us(bare, request, args.requests))
    return statistics.median(with_metrics), statistics.median(without)


def bookkeeping_us(count: int = 200_000) -> float:
    """The middleware's own work for one request, as it does it."""
    metrics = Metrics()
    started = time.perf_counter()
    for _ in range(count):
        begun = time.perf_counter()
        metrics.http_requests.labels("GET", "/listings/{uid}", "200").inc()
        metrics.http_seconds.labels("GET", "/listings/{uid}").observe(time.perf_counter() - begun)
    return (time.perf_counter() - started) / count * 1e6


async def bench(server_url: str, folder: Path, args: argparse.Namespace) -> None:
    name, url = await make_database(server_url)
    settings = Settings(
        domain="bench.test",
        database_url=url,
        dev=True,
        secret="x" * 40,
        data_dir=folder / "data",
        run_worker=False,
    )
    try:
        node, bare = await start(settings, True), await start(settings, False)
        try:
            for label, request in (
                ("GET /static/style.css", static_page),
                ("POST /inbox, refused 401", refused_inbox),
            ):
                await per_request_us(node, request, 200)  # warm both up
                await per_request_us(bare, request, 200)
                counted, baseline = await compare(node, bare, request, args)
                print(
                    f"{label:28} {counted:7.1f} us/request counted, {baseline:7.1f} without "
                    f"(baseline, same run): {counted - baseline:+.1f} us "
                    f"({counted / baseline:.3f})"
                )
            print(f"{'bookkeeping alone':28} {bookkeeping_us():7.1f} us/request")
            started = time.perf_counter()
            response = await node.get("/metrics")
            text = await response.text()
            print(
                f"{'GET /metrics':28} {(time.perf_counter() - started) * 1000:7.1f} ms, "
                f"{len(text.splitlines())} lines"
            )
        finally:
            await node.close()
            await bare.close()
    finally:
        await drop_database(server_url, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with (
        postgres_server("bench-metrics-") as (server_url, _),
        tempfile.TemporaryDirectory(prefix="bench-metrics-data-") as folder,
    ):
        asyncio.run(bench(server_url, Path(folder), args))


if __name__ == "__main__":
    main()
