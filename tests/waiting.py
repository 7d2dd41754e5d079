"""Waiting for a state that no event in this process announces: a child process's exit,
what PostgreSQL's sessions are doing, a server's connections seen from outside."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable


async def until(condition: Callable[[], bool | Awaitable[bool]], within: float = 10.0) -> None:
    """Return once `condition()` (a function or a coroutine function) is true; TimeoutError
    after `within` seconds."""
    async with asyncio.timeout(within):
        while True:
            value = condition()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return
            await asyncio.sleep(0.02)
