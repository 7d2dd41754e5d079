"""A trial node as a newcomer runs it: `make run PORT=...`.

A real process (make, and the node it starts); the database comes from the test's PostgreSQL
(DATABASE_URL), so no cluster is made for the node.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.integration.test_migrations import cli_env
from tests.integration.test_packaging import wait_for
from tests.nodes import free_port

ROOT = Path(__file__).resolve().parents[2]


def make_env(**extra: str) -> dict[str, str]:
    # a make inside `make test` must not join the outer make's jobs
    env = cli_env(**extra)
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        env.pop(name, None)
    return env


def installed_by_make() -> bool:
    """Whether make finds the checkout's .venv up to date: else `make run` would install first."""
    if not shutil.which("make"):
        return False
    up_to_date = subprocess.run(
        ["make", "-q", "-C", str(ROOT), "install"], env=make_env(), capture_output=True, timeout=60
    )
    return up_to_date.returncode == 0


def fetch_json(url: str, accept: str = "application/json") -> dict:
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def test_make_run__port_moves_the_trial_node_and_its_names(database_url, tmp_path):
    if not installed_by_make():
        pytest.skip("the checkout's .venv is not installed by make (run `make install`)")
    port = free_port()

    node = subprocess.Popen(
        ["make", "--no-print-directory", "-C", str(ROOT), "run", f"PORT={port}"],
        env=make_env(DATABASE_URL=database_url, COMMONSFED_DATA_DIR=str(tmp_path / "data")),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/healthz", node)
        webfinger = fetch_json(
            f"{base}/.well-known/webfinger?resource=acct:neighbourhood@localhost:{port}"
        )
        actor = fetch_json(f"{base}/users/neighbourhood", "application/activity+json")
    finally:
        os.killpg(node.pid, signal.SIGTERM)  # make and the node it started
        node.wait(timeout=30)

    assert webfinger["subject"] == f"acct:neighbourhood@localhost:{port}"
    assert actor["id"] == f"http://localhost:{port}/users/neighbourhood"
