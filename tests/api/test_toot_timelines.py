"""The toot CLI (from PyPI, pinned, unmodified) reads a node's public timeline, its local
one and a tag's, logged in (through the password grant, which the node allows here) and
not: a real subprocess each time (see test_toot.py)."""

from __future__ import annotations

import pytest

from tests.api.live_node import live_node, start_live_node  # noqa: F401  (fixtures)
from tests.api.test_timelines import post
from tests.api.test_toot import _toot
from tests.builders import DEFAULT_PASSWORD, register_and_login

pytest.importorskip("toot")


async def test_toot__reads_the_public_local_and_tag_timelines(start_live_node, tmp_path):  # noqa: F811
    base, browser = await start_live_node(oauth_password_grant=True)
    await register_and_login(browser, "alice")
    await post(browser.app, "alice", "Garden shears", "tools")
    await post(browser.app, "alice", "Apple pie", "food")
    status, out = await _toot(
        tmp_path,
        "login_cli",
        "--instance",
        base,
        "--email",
        "alice@example.org",
        "--password",
        DEFAULT_PASSWORD,
    )
    assert status == 0, out
    status, out = await _toot(tmp_path, "timelines", "public", "--no-pager", "--no-clear")
    assert status == 0, out
    assert ("Garden shears" in out, "Apple pie" in out) == (True, True), out
    status, out = await _toot(tmp_path, "timelines", "public", "--local", "--no-pager",
                              "--no-clear")  # fmt: skip
    assert (status, "Garden shears" in out) == (0, True), out
    status, out = await _toot(tmp_path, "timelines", "tag", "tools", "--no-pager", "--no-clear")
    assert status == 0, out
    assert ("Garden shears" in out, "Apple pie" in out) == (True, False), out
