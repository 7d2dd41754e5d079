"""A trial node as a newcomer runs it: `make run PORT=...` or `serve --dev --port ...`, then
the admin commands in the same data folder, with no flags repeated.

Real processes: `serve` (and make) started here, each command a process of its own. The
databases come from the test's PostgreSQL (DATABASE_URL), so no cluster is made per node;
what a command learns from the data folder is the same either way.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
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


def serve(folder: Path, port: int, database_url: str) -> subprocess.Popen:
    # no worker: what the commands queue stays in the queue for `queue` to show
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "commonsfed",
            "serve",
            "--dev",
            "--port",
            str(port),
            "--data-dir",
            str(folder),
            "--no-worker",
        ],
        env=cli_env(DATABASE_URL=database_url),
        cwd=folder.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def command(folder: Path, database_url: str, *args: str) -> subprocess.Popen:
    """A command as a newcomer types it after `serve --dev`: the data folder, nothing more."""
    return subprocess.Popen(
        [sys.executable, "-m", "commonsfed", *args, "--data-dir", str(folder)],
        env=cli_env(DATABASE_URL=database_url),
        cwd=folder.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err


def test_dev_node__lookup_federate_and_block_take_the_node_from_its_folder(make_database, tmp_path):
    here, there = tmp_path / "here", tmp_path / "there"
    here_db = make_database()
    here_port, there_port = free_port(), free_port()
    nodes = [serve(here, here_port, here_db), serve(there, there_port, make_database())]
    try:
        for node, port in zip(nodes, (here_port, there_port), strict=True):
            wait_for(f"http://127.0.0.1:{port}/healthz", node)

        # three processes at once: each spends most of its second importing
        looked_up, federated, blocked = map(
            finish,
            [
                command(here, here_db, "lookup", f"@neighbourhood@localhost:{there_port}"),
                command(here, here_db, "federate", f"localhost:{there_port}"),
                command(here, here_db, "block", "spam.example"),
            ],
        )
        queued = finish(command(here, here_db, "queue"))
    finally:
        for node in nodes:
            node.terminate()
            node.wait(timeout=30)

    assert looked_up[0] == 0, looked_up[2]
    assert f"id: http://localhost:{there_port}/users/neighbourhood" in looked_up[1]
    assert federated[0] == 0, federated[2]
    assert f"asked to follow http://localhost:{there_port}/users/neighbourhood" in federated[1]
    assert blocked[0] == 0 and "blocked spam.example" in blocked[1], blocked[2]
    # the Follow waits in here's queue (no worker), bound for there's inbox
    assert f"localhost:{there_port}: 1 pending" in queued[1], queued
