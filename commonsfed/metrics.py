"""What a node counts for Prometheus: one `Metrics` per process, in a registry of its own.

Each `serve` process and each `commonsfed worker` counts what it did itself, from zero at
its start: a node run as several processes is several Prometheus targets, which `sum()`
adds up (see README, "Metrics"). prometheus-client's multiprocess mode, which shares
counters through files between the forks of one server (gunicorn), does not fit: our
processes are started on their own, often on other machines. What every process sees the
same, the queues in PostgreSQL and their age, is read at scrape time (`set_queues`).

A registry per `Metrics` rather than prometheus-client's global one, so that the several
nodes a test runs in one process keep their counts apart.

Label values are bounded: routes are their patterns (`/listings/{uid}`), methods and
statuses are few, inbox refusal reasons are codes (`federation.inbox.InboxRefused.reason`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

# seconds: an inbox POST takes about 0.3 ms, a page some ms, a delivery up to its timeout
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
QUEUES = ("inbox", "deliveries", "mail", "exports")


class Metrics:
    """The node's counters, histograms and gauges; `render()` is the /metrics text."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        ProcessCollector(registry=registry)  # CPU, memory, open files of this process
        self.http_requests = Counter(
            "commonsfed_http_requests",
            "HTTP requests answered, by route pattern and status",
            ("method", "route", "status"),
            registry=registry,
        )
        self.http_seconds = Histogram(
            "commonsfed_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ("method", "route"),
            buckets=_BUCKETS,
            registry=registry,
        )
        self.inbox_requests = Counter(
            "commonsfed_inbox_requests",
            "Activities POSTed to the inboxes, by outcome "
            "(accepted, duplicate, dropped, refused, error) and refusal reason",
            ("outcome", "reason"),
            registry=registry,
        )
        self.inbox_seconds = Histogram(
            "commonsfed_inbox_request_duration_seconds",
            "Time to accept or refuse an inbox POST",
            ("outcome",),
            buckets=_BUCKETS,
            registry=registry,
        )
        self.inbox_handled = Histogram(
            "commonsfed_inbox_handle_duration_seconds",
            "Time a worker took to handle a stored activity (the wave of its batch that "
            "held it), by outcome (done, unhandled, pending: retried later, failed)",
            ("outcome",),
            buckets=_BUCKETS,
            registry=registry,
        )
        self.deliveries = Counter(
            "commonsfed_deliveries",
            "Delivery attempts, by outcome (done, retry, give_up)",
            ("outcome",),
            registry=registry,
        )
        self.delivery_seconds = Histogram(
            "commonsfed_delivery_duration_seconds",
            "Time from sending a delivery to its answer",
            buckets=_BUCKETS,
            registry=registry,
        )
        self._queue_gauges(registry)
        self._pool_gauges(registry)

    def _queue_gauges(self, registry: CollectorRegistry) -> None:
        self.queue_depth = Gauge(
            "commonsfed_queue_depth",
            "Items waiting in a queue (read from PostgreSQL)",
            ("queue",),
            registry=registry,
        )
        self.queue_oldest = Gauge(
            "commonsfed_queue_oldest_age_seconds",
            "Age of the oldest item waiting in a queue, 0 when it is empty",
            ("queue",),
            registry=registry,
        )
        for queue in QUEUES:  # every series present from the first scrape
            self.queue_depth.labels(queue)
            self.queue_oldest.labels(queue)

    def _pool_gauges(self, registry: CollectorRegistry) -> None:
        self.pool_connections = Gauge(
            "commonsfed_db_pool_connections",
            "Database connections of this process's pool, by state (in_use, idle)",
            ("state",),
            registry=registry,
        )
        self.pool_max = Gauge(
            "commonsfed_db_pool_max_connections",
            "The most connections the pool opens",
            registry=registry,
        )

    def count_delivery(self, outcome: str) -> None:
        self.deliveries.labels(outcome).inc()

    def set_queues(self, rows: Iterable[Mapping]) -> None:
        """Rows of (queue, depth, oldest_age) as `db.queues.queue_depths` reads them."""
        for row in rows:
            self.queue_depth.labels(row["queue"]).set(row["depth"])
            self.queue_oldest.labels(row["queue"]).set(row["oldest_age"] or 0)

    def set_pool(self, size: int, idle: int, max_size: int) -> None:
        self.pool_connections.labels("in_use").set(size - idle)
        self.pool_connections.labels("idle").set(idle)
        self.pool_max.set(max_size)

    def render(self) -> bytes:
        return generate_latest(self.registry)
