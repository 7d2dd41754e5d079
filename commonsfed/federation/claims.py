"""Claims on queued rows: a short lease kept alive by a heartbeat, and a token that fences.

Both queues (deliveries, inbox items) are worked the same way. A worker claims rows: each
gets a `claim` token (from one sequence, never reused) and a lease, `locked_until`. While
the worker holds them, its runner calls `heartbeat()` every `HEARTBEAT_EVERY`, which moves
the lease of every row the worker still holds `LEASE` ahead. Every query that renews,
finishes or releases a row matches on its `claim`, not on `locked_until`:

- the lease can be short, so the rows of a worker that died (killed, its machine gone) come
  due again soon after its last heartbeat, not five minutes later: `LEASE` after it at most,
  so a busy worker takes them over within a minute, an idle one when it next looks
  (`federation.workers.IDLE_TIMEOUT`);
- a lease renewed in flight cannot be the fencing token too: the worker would lose track
  of its own rows at every renewal. The token stays put while the lease moves;
- a worker that stalled past its lease (a long pause, a lost network) and whose rows
  another worker claimed meanwhile finds out at its next heartbeat: the rows no longer
  carry its token, so it lets them go, says so once, and records nothing for them. Had it
  no heartbeat left to run, its finishing queries would still miss, for the same reason.

`LEASE` is three heartbeats, so a claim survives two that come late (a busy event loop, a
slow round trip to PostgreSQL) before anyone else may take it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Generic, Protocol, TypeVar

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=45)
HEARTBEAT_EVERY = LEASE / 3


class Claimed(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def claim(self) -> int: ...


T = TypeVar("T", bound=Claimed)


class Held(Generic[T]):
    """What a worker holds, from its claim until it records an outcome or lets it go.

    `let_go` comes before an outcome is written, never after: a heartbeat running while the
    write is on its way then neither renews the row nor takes the write's effect for a claim
    lost to another worker.
    """

    def __init__(self, noun: str) -> None:
        self._noun = noun  # "deliveries", "inbox items": for the warning
        self._held: dict[int, T] = {}

    def __len__(self) -> int:
        return len(self._held)

    def __contains__(self, item_id: int) -> bool:
        return item_id in self._held

    def hold(self, items: Iterable[T]) -> None:
        self._held.update((item.id, item) for item in items)

    def items(self) -> list[T]:
        return list(self._held.values())

    def let_go(self, item_id: int) -> bool:
        """Stop holding a row, to record its outcome or to release it. False when it was
        not held (a heartbeat found it taken over): then there is nothing to record."""
        return self._held.pop(item_id, None) is not None

    def let_go_all(self) -> list[T]:
        items, self._held = self.items(), {}
        return items

    def renewed(self, sent: Iterable[T], kept: set[int]) -> list[T]:
        """After a heartbeat over `sent`: let go of the rows it did not renew (`kept` has the
        ids it did) and which are still held, and warn once. Returns them."""
        lost = [item for item in sent if item.id not in kept and self._held.get(item.id) is item]
        for item in lost:
            del self._held[item.id]
        if lost:
            log.warning(
                "%s no longer this worker's: %d (taken over by another worker after this "
                "one stalled past its lease, or dropped); their outcomes here are not recorded",
                self._noun,
                len(lost),
            )
        return lost
