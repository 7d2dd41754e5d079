"""One host's deliveries go one after another over one kept-alive connection.

Sent all at once, a batch's five deliveries to a host without a shared inbox open five
connections to it (aiohttp opens one per request in flight); sent in turn, the first opens
one, and the others reuse it from the client's pool as each answer comes in, as Mastodon's
per-host persistent connections do. Hosts go in parallel, so a batch to many hosts keeps
as many connections busy as it has hosts.

A slow answer must not hold the rest of its host's deliveries: when one has had no answer
for `HAND_OFF`, the next goes without waiting for it, over another connection, up to `most`
at once (the HTTP client's limit a host, so that no delivery waits for a connection inside
the client, where the wait would count against its connect timeout).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import TypeVar

T = TypeVar("T")

# Longer than a peer that is up takes to answer a delivery (Mastodon: a few ms to queue it),
# short enough that a request left hanging delays the others a little only.
HAND_OFF = 0.5


class Lane:
    """Turns at one host: one delivery at a time, unless the ones in flight are slow.
    `turns` is how many there will be, when known: the last one is told it is the last."""

    def __init__(self, most: int, hand_off: float = HAND_OFF, turns: int = 0) -> None:
        self._most = most
        self._hand_off = hand_off
        self._free = asyncio.Semaphore(1)
        self._left = turns
        self.in_flight = 0

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[bool]:
        """A turn; what it yields says whether it is the last of the `turns` announced."""
        await self._free.acquire()
        self.in_flight += 1
        self._left -= 1
        handed_off = False

        def hand_off() -> None:
            nonlocal handed_off
            if self.in_flight < self._most:
                handed_off = True
                self._free.release()  # the next turn, beside this one

        timer = asyncio.get_running_loop().call_later(self._hand_off, hand_off)
        try:
            yield self._left == 0
        finally:
            timer.cancel()
            self.in_flight -= 1
            if not handed_off:
                self._free.release()


def by_host(items: Iterable[T], host: Callable[[T], str]) -> dict[str, list[T]]:
    grouped: dict[str, list[T]] = {}
    for item in items:
        grouped.setdefault(host(item), []).append(item)
    return grouped


def round_robin(groups: Sequence[Sequence[T]]) -> list[T]:
    """The first of every group, then the second of every group ...: signed in this order,
    every host's first delivery is ready early, so its connection opens (and its peer
    starts answering) while the rest of the batch is signed."""
    ordered: list[T] = []
    for n in range(max((len(group) for group in groups), default=0)):
        ordered.extend(group[n] for group in groups if n < len(group))
    return ordered
