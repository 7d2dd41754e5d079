"""The event loop `serve` and `worker` run on: uvloop's (libuv) where it is installed, as
it is with the package on Linux and macOS, else asyncio's own.

The loop's own work (scheduling callbacks, reading and writing sockets) was the largest
part of the event loop thread's time in a fan-out (bench/fanout.py: 43 % of its samples in
asyncio's Python code); libuv does it in C. Everything the node uses of the loop (servers
on sockets it is handed, signal handlers, readers on a pipe, executors) works the same on
both, and the tests run on asyncio's.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's new_event_loop, or None (asyncio's default) where it is not installed."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run(main) on the fastest loop there is."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)


def freeze_start_objects() -> None:
    """Once the node has started: every object made so far (modules, compiled templates,
    the application) is moved out of the cyclic garbage collector's reach, so its
    collections scan only what the node makes while running. Those collections were 12 %
    of the event loop thread's time in a fan-out; objects made at start live as long as
    the process anyway."""
    gc.collect()
    gc.freeze()
