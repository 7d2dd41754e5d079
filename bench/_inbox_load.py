"""The load for bench/inbox.py, in a process of its own: signed requests, made and
serialised before any timing, written over keep-alive connections as fast as the server
answers (a burst) or at a steady rate (the mixed phase).

The load generator is not what is measured, so it does as little as it can: requests are
bytes already, and an answer is read as far as its status and Content-Length.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from commonsfed import signatures  # noqa: E402

NODE = "north.test"
ACTOR = "http://south.test/users/alice"
KEY_ID = ACTOR + "#main-key"
TEMPLATE = Path(__file__).resolve().parent.parent / "tests" / "data" / "mastodon_create_note.json"


# --- the load process --------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    body: bytes
    headers: dict[str, str]


def activity(number: int) -> dict:
    """A Mastodon Create Note, re-homed on south.test, with its own ids."""
    document = orjson.loads(
        TEMPLATE.read_bytes().replace(b"https://mastodon.example", b"http://south.test")
    )
    status = f"{ACTOR}/statuses/{number}-{uuid.uuid4().hex[:8]}"
    document["id"] = status + "/activity"
    document["object"] |= {"id": status, "atomUri": status}
    document.pop("signature")  # an LD signature we would not check anyway
    return document


def sign_range(private_pem: str, start: int, stop: int) -> list[Request]:
    key = signatures.private_key_from_pem(private_pem)
    url = f"http://{NODE}/inbox"
    requests = []
    for number in range(start, stop):
        body = orjson.dumps(activity(number))
        headers = {"Content-Type": "application/activity+json"}
        headers |= signatures.sign_cavage("POST", url, headers, body, KEY_ID, key)
        requests.append(Request(body, headers))
    return requests


def sign_all(private_pem: str, count: int, processes: int = 2) -> list[Request]:
    """Signing is slow (RSA, ~0.5 ms each), so it is spread over the machine's cores."""
    step = -(-count // processes)
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = pool.map(
            sign_range,
            [private_pem] * processes,
            range(0, count, step),
            [min(start + step, count) for start in range(0, count, step)],
        )
        return [request for part in parts for request in part]


def serialise(request: Request) -> bytes:
    """The whole HTTP/1.1 request as it goes on the wire, built before any timing."""
    head = ["POST /inbox HTTP/1.1"]
    head += [f"{name}: {value}" for name, value in request.headers.items()]
    head += [f"Content-Length: {len(request.body)}", "", ""]
    return "\r\n".join(head).encode("latin-1") + request.body


class AnswerError(Exception):
    """The server answered something this client does not read (no Content-Length)."""


Schedule = Iterator[tuple[float, bytes]]  # (when to send, by the loop's clock; the request)


class Sender(asyncio.Protocol):
    """One keep-alive connection: write a request, read its answer, write the next, at the
    time the schedule says (at once, when that time has passed)."""

    def __init__(self, pending: Schedule, statuses: Counter[int]) -> None:
        self._pending = pending
        self._statuses = statuses
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._loop = asyncio.get_running_loop()
        self.done: asyncio.Future[None] = self._loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._send_next()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        try:
            status = self._take_answer()
        except (AnswerError, ValueError) as exc:
            self._fail(exc)
            return
        if status is not None:
            self._statuses[status] += 1
            self._send_next()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(exc or ConnectionError("the server closed the connection"))

    def _send_next(self) -> None:
        due, request = next(self._pending, (0.0, None))
        if request is None:
            self.done.set_result(None)
            self._transport.close()
        elif due > self._loop.time():
            self._loop.call_at(due, self._write, request)
        else:
            self._transport.write(request)

    def _write(self, request: bytes) -> None:
        if not self._transport.is_closing():
            self._transport.write(request)

    def _take_answer(self) -> int | None:
        """The status of the answer in the buffer once it is complete, else None."""
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = bytes(self._buffer[:end]).lower()
        at = head.find(b"\r\ncontent-length:")
        if at < 0:
            raise AnswerError(f"an answer without Content-Length: {head[:200]!r}")
        stop = head.find(b"\r\n", at + 2)
        length = int(head[at + 17 : stop if stop > 0 else end])
        if len(self._buffer) < end + 4 + length:
            return None
        status = int(head[9:12])
        del self._buffer[: end + 4 + length]
        return status

    def _fail(self, exc: Exception) -> None:
        if not self.done.done():
            self.done.set_exception(exc)
        self._transport.abort()


async def post_all(
    port: int, requests: list[bytes], concurrency: int, rate: float | None = None
) -> tuple[Counter[int], float, float]:
    """(answers by status, seconds, this process's CPU seconds) for sending every request
    over `concurrency` keep-alive connections: as fast as the server answers, or `rate`
    a second (each request at its slot, or as soon as a connection is free after it)."""
    loop = asyncio.get_running_loop()
    statuses: Counter[int] = Counter()
    started, cpu = time.perf_counter(), time.process_time()
    start = loop.time()
    pending = ((start + n / rate if rate else 0.0, r) for n, r in enumerate(requests))
    connections = [
        await loop.create_connection(lambda: Sender(pending, statuses), "127.0.0.1", port)
        for _ in range(concurrency)
    ]
    await asyncio.gather(*(sender.done for _, sender in connections))
    return statuses, time.perf_counter() - started, time.process_time() - cpu


def load_process(pipe, private_pem: str, burst: int, steady: int, concurrency: int) -> None:
    """Sign and serialise everything, say so, then run each load the parent asks for: the
    same `burst` requests as fast as they are answered (("burst", port)), or the `steady`
    others at a rate (("steady", port, rate))."""
    signed = sign_all(private_pem, burst + steady)
    for request in signed:  # every request goes to north.test, whatever port it reaches
        request.headers["Host"] = NODE
    requests = [serialise(request) for request in signed]
    pipe.send(("signed", len(requests)))
    while (order := pipe.recv()) is not None:
        if order[0] == "burst":
            pipe.send(asyncio.run(post_all(order[1], requests[:burst], concurrency)))
        else:
            _, port, rate = order
            pipe.send(asyncio.run(post_all(port, requests[burst:], concurrency, rate)))
