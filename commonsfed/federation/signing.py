"""Signing a batch of deliveries on every core, while the event loop sends what is signed.

An RSA-2048 signature is the largest part of a delivery's CPU time (about 0.27 ms here,
against about 0.15 ms for the HTTP client and the recording), and OpenSSL makes it with
Python's lock released (the `cryptography` package lets other threads run meanwhile), so
threads sign in parallel: two sign about 1.8 times as fast as one. A batch is split into
one share per thread, each thread signing its share in order and handing its signatures
to the event loop a few at a time, so that the first sends start after a few signatures,
not after the whole batch, and signing goes on beside the sending (`DeliveryWorker`).

Each share goes to a thread of its own (one single-thread executor per share), so a batch
of any size is spread the same way whatever the threads' timing, and `signed_by` counts
what each thread signed (the tests read it).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Signatures a thread makes before it hands them to the event loop: each hand-over wakes the
# loop (a write to its self-pipe), so one per signature would cost the loop more than it saves.
HAND_OVER_EVERY = 4
# Threads a core: a thread waits for Python's lock between its RSA operations (building the
# string to sign, the headers, the hand-over) while the event loop holds it, so with one a
# core the cores idle meanwhile. bench/fanout.py, 10,000 deliveries on 2 cores: 5.2-5.8 s
# with two threads a core, 6.5-6.9 s with one, 10.8 s with one thread in all.
THREADS_PER_CORE = 2


def cores() -> int:
    """The cores this process may run on (the CPU affinity, as a container limits it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


class Signer(Generic[T, R]):
    """Runs `sign(item)` for a batch's items in `threads` threads, one share each. What
    `sign` raises becomes that item's result (as `_sign` returns why there is no signature),
    so that no send waits for a signature that never comes."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads or cores() * THREADS_PER_CORE
        self._executors = [
            ThreadPoolExecutor(1, thread_name_prefix=f"commonsfed-sign-{n}")
            for n in range(self.threads)
        ]
        self._lock = threading.Lock()
        self.pid = os.getpid()
        self.signed_by: Counter[str] = Counter()  # thread name -> signatures made

    def sign(
        self, items: Sequence[T], sign: Callable[[T], R], key: Callable[[T], int]
    ) -> dict[int, asyncio.Future[R]]:
        """Start signing `items`; returns a future per item, by `key(item)`, each done as
        soon as that item is signed. Item n goes to thread n % threads, so items early in
        `items` are signed first whatever the batch's length."""
        loop = asyncio.get_running_loop()
        futures = {key(item): loop.create_future() for item in items}
        for n, executor in enumerate(self._executors):
            share = items[n :: self.threads]
            if share:
                executor.submit(self._sign_share, loop, share, sign, key, futures)
        return futures

    def close(self) -> None:
        for executor in self._executors:
            executor.shutdown(wait=False, cancel_futures=True)

    def _sign_share(
        self,
        loop: asyncio.AbstractEventLoop,
        share: Sequence[T],
        sign: Callable[[T], R],
        key: Callable[[T], int],
        futures: dict[int, asyncio.Future[R]],
    ) -> None:
        made: list[tuple[asyncio.Future[R], R]] = []
        for n, item in enumerate(share, 1):
            made.append((futures[key(item)], _signed(sign, item)))
            if n % HAND_OVER_EVERY == 0 or n == len(share):
                if not _hand_over(loop, made):
                    break
                made = []
        with self._lock:
            self.signed_by[threading.current_thread().name] += len(share)


def _signed(sign: Callable[[T], R], item: T) -> R | Exception:
    try:
        return sign(item)
    except Exception as exc:  # a bug must cost one delivery, never the batch
        return exc


def _hand_over(loop: asyncio.AbstractEventLoop, made: list[tuple[asyncio.Future, object]]) -> bool:
    """Give signatures to the loop; False when the loop is closed (the node stopped)."""
    try:
        loop.call_soon_threadsafe(_settle, made)
    except RuntimeError:
        return False
    return True


def _settle(made: list[tuple[asyncio.Future, object]]) -> None:
    for future, result in made:
        if not future.done():  # a cancelled tick cancelled the sends waiting for it
            future.set_result(result)


_shared: Signer | None = None
_shared_lock = threading.Lock()


def shared_signer() -> Signer:
    """The process's signer, made at first use (after a fork, so each process has its own
    threads): one for every worker of the process, so that they never sign on more threads
    than THREADS_PER_CORE a core."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared.pid != os.getpid():
            _shared = Signer()
        return _shared
