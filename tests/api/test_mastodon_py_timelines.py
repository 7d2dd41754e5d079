"""Mastodon.py (from PyPI, pinned, unmodified) reads a node's timelines and streams: the
local, tag and home timelines, their pages followed through the Link header
(`fetch_next`, `fetch_previous`), and a new listing arriving on its local stream.

Mastodon.py is synchronous: it runs in a thread against the node's loopback address (see
test_mastodon_py_login.py); its token is made as the token endpoint makes one."""

from __future__ import annotations

import asyncio
import queue

import pytest

from tests.api.conftest import token_for
from tests.api.live_node import live_node, start_live_node  # noqa: F401  (fixtures)
from tests.api.test_timelines import post
from tests.builders import register

mastodon = pytest.importorskip("mastodon")


def _client(base: str, token: str):
    return mastodon.Mastodon(access_token=token, api_base_url=base,
                             version_check_mode="created", ratelimit_method="throw")  # fmt: skip


def _texts(statuses) -> list[str]:
    return [status.content for status in statuses]


async def test_mastodon_py__reads_the_local_tag_and_home_timelines_page_by_page(live_node):  # noqa: F811
    base, browser = live_node
    await register(browser, "alice")
    for n, category in enumerate(["tools", "food", "tools", "books", "tools"]):
        await post(browser.app, "alice", f"Thing number {n}", category)
    api = await asyncio.to_thread(_client, base, await token_for(browser.app, "alice"))

    local = await asyncio.to_thread(api.timeline_local, limit=2)
    assert ["Thing number 4" in local[0].content, "Thing number 3" in local[1].content] == [
        True, True]  # fmt: skip
    older = await asyncio.to_thread(api.fetch_next, local)
    assert ["Thing number 2" in older[0].content, "Thing number 1" in older[1].content] == [
        True, True]  # fmt: skip
    newer = await asyncio.to_thread(api.fetch_previous, older)
    assert [status.id for status in newer] == [status.id for status in local]

    tools = await asyncio.to_thread(api.timeline_hashtag, "tools")
    assert len(tools) == 3
    assert all(status.tags[0].name == "tools" for status in tools)

    home = await asyncio.to_thread(api.timeline_home)
    assert len(home) == 5  # her own listings


async def test_mastodon_py__a_new_listing_arrives_on_its_local_stream(live_node):  # noqa: F811
    base, browser = live_node
    await register(browser, "alice")
    api = await asyncio.to_thread(_client, base, await token_for(browser.app, "alice"))
    heard: queue.Queue = queue.Queue()

    class Listener(mastodon.StreamListener):
        def on_update(self, status):
            heard.put(status)

    handle = await asyncio.to_thread(api.stream_local, Listener(), run_async=True)
    try:
        await asyncio.to_thread(_wait_until_open, handle)
        status_id = await post(browser.app, "alice", "Garden shears", "tools")
        status = await asyncio.to_thread(heard.get, timeout=1.0)
        assert str(status.id) == str(status_id)
        assert "Garden shears" in status.content
    finally:
        # Mastodon.py's close waits for its reading thread, which wakes at the next bytes
        closing = asyncio.create_task(asyncio.to_thread(handle.close))
        await post(browser.app, "alice", "A wake-up call", "food")
        await closing


def _wait_until_open(handle, within: float = 5.0) -> None:
    """Mastodon.py connects in its own thread; `is_receiving` says it has the stream."""
    import time

    deadline = time.monotonic() + within
    while not handle.is_receiving():
        assert time.monotonic() < deadline, "Mastodon.py did not connect"
        time.sleep(0.01)
