"""The toot CLI (from PyPI, pinned, unmodified) logs in to a running node and reads who it
is. `toot login` is its way without a browser at hand: it prints the authorize URL and reads
the code from stdin, which a resident's browser (the test) gets from the real authorize
page. toot takes an http:// address as given, so a dev node needs nothing special.

Each toot run is a real subprocess with its own HOME and XDG config folder."""

from __future__ import annotations

import asyncio
import os
import sys
from urllib.parse import urlsplit

import pytest

from tests.api.live_node import live_node, start_live_node  # noqa: F401  (fixtures)
from tests.api.oauth_flow import code_from_page, consent
from tests.builders import DEFAULT_PASSWORD, register_and_login

pytest.importorskip("toot")
DEADLINE = 60  # seconds for one toot run: it starts Python and makes a few requests


def _env(tmp_path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in ("XDG_CONFIG_HOME", "TOOT_CONFIG_DIR")}  # fmt: skip
    return env | {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"),
                  "NO_COLOR": "1", "TERM": "dumb"}  # fmt: skip


async def _toot(tmp_path, *args: str, stdin: str = "") -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "toot", *args, env=_env(tmp_path), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(stdin.encode()), DEADLINE)
    return proc.returncode, out.decode()


async def _read_until_url(stream: asyncio.StreamReader, base: str) -> str:
    seen = []
    while True:
        line = (await stream.readline()).decode()
        if not line:
            raise AssertionError("toot ended without a login URL: " + "".join(seen))
        seen.append(line)
        if line.startswith(base + "/oauth/authorize"):
            return line.strip()


async def test_toot__logs_in_with_the_code_from_the_authorize_page(live_node, tmp_path):  # noqa: F811
    base, browser = live_node
    await register_and_login(browser, "alice")
    # Given `toot login`, which prints the URL to open and waits for the code
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "toot", "login", "--instance", base, env=_env(tmp_path),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        url = await asyncio.wait_for(_read_until_url(proc.stdout, base), DEADLINE)
        # When alice opens it (toot asks for /oauth/authorize/ with a slash), authorises
        # toot, and pastes the code
        parts = urlsplit(url)
        response = await consent(browser, f"{parts.path}?{parts.query}")
        code = code_from_page(await response.text())
        out, _ = await asyncio.wait_for(proc.communicate(f"n\n{code}\n".encode()), DEADLINE)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    # Then toot is logged in as alice
    assert proc.returncode == 0, out.decode()
    assert "Successfully logged in" in out.decode()
    status, out = await _toot(tmp_path, "whoami")
    assert status == 0, out
    assert "@alice" in out


async def test_toot__login_cli_uses_the_password_grant_when_the_node_allows_it(
    start_live_node, tmp_path  # noqa: F811
):
    base, browser = await start_live_node(oauth_password_grant=True)
    await register_and_login(browser, "alice")
    status, out = await _toot(tmp_path, "login_cli", "--instance", base,
                              "--email", "alice@example.org", "--password", DEFAULT_PASSWORD)
    assert status == 0, out
    status, out = await _toot(tmp_path, "whoami")
    assert (status, "@alice" in out) == (0, True), out


async def test_toot__login_cli_fails_while_the_password_grant_is_off(live_node, tmp_path):  # noqa: F811
    base, browser = live_node
    await register_and_login(browser, "alice")
    status, out = await _toot(tmp_path, "login_cli", "--instance", base,
                              "--email", "alice@example.org", "--password", DEFAULT_PASSWORD)
    assert status != 0
    assert "Login failed" in out
