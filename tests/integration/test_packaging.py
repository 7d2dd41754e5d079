"""A non-editable install carries templates/ and migrations/ and runs outside the checkout;
building it is quiet."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.integration.test_migrations import cli_env

ROOT = Path(__file__).resolve().parents[2]

# one pytest-xdist worker builds the wheel once for both tests (`--dist loadgroup`)
pytestmark = pytest.mark.xdist_group("wheel")


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> tuple[Path, str]:
    """`pip wheel` of a copy of the checkout with the venv's setuptools (offline): the wheel,
    and all that the build printed."""
    # setuptools builds in the source tree (build/, *.egg-info): build from a copy, so that
    # test runs at the same time never share those folders
    source = tmp_path_factory.mktemp("source") / "commonsfed"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".*", "build", "dist", "*.egg-info", "__pycache__", "tests", "node_modules", "data"))
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(source)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    return next(out.glob("commonsfed-*.whl")), result.stdout + result.stderr


@pytest.fixture(scope="module")
def wheel(build) -> Path:
    return build[0]


def test_wheel__builds_without_a_warning(build):
    # setuptools' warnings are classes named ...Warning (SetuptoolsDeprecationWarning about
    # the license table, "Package ... is absent from the `packages` configuration" ...)
    warnings = re.findall(r"\w+Warning\b.*", build[1])

    assert warnings == []


def test_wheel__carries_the_license(wheel):
    archive = zipfile.ZipFile(wheel)
    metadata = archive.read("commonsfed-0.1.0.dist-info/METADATA").decode()

    assert "License-Expression: AGPL-3.0-or-later" in metadata
    license_text = archive.read("commonsfed-0.1.0.dist-info/licenses/LICENSE").decode()
    assert "GNU AFFERO GENERAL PUBLIC LICENSE" in license_text


def test_wheel__ships_templates_migrations_static_and_contexts(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())

    assert "commonsfed/templates/base.html" in names
    assert "commonsfed/templates/admin/accounts.html" in names
    assert "commonsfed/migrations/0001_accounts.sql" in names
    assert "commonsfed/web/static/style.css" in names
    assert "commonsfed/ap/contexts/activitystreams.json" in names


def test_wheel__ships_leaflet_with_its_licence(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())

    for name in ("leaflet.js", "leaflet.css", "LICENSE", "images/marker-icon.png"):
        assert f"commonsfed/web/static/vendor/leaflet/{name}" in names
    assert "commonsfed/web/static/map.js" in names


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_installed_wheel__serves_from_outside_the_checkout(wheel, tmp_path, database_url):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(wheel)], check=True, capture_output=True, timeout=300)
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    # the installed copy comes first on the path, ahead of the checkout's editable install
    env = cli_env(PYTHONPATH=str(target), DATABASE_URL=database_url)
    where = subprocess.run([sys.executable, "-c", "import commonsfed; print(commonsfed.__file__)"],
                           env=env, cwd=workdir, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(target))

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "commonsfed", "serve", "--dev", "--port", str(port)],
        env=env, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        home = wait_for(f"http://127.0.0.1:{port}/", server)
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert "<h1>A commonsfed neighbourhood</h1>" in home


def wait_for(url: str, server: subprocess.Popen, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the node exited: {server.stderr.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read().decode()
        except OSError:
            time.sleep(0.2)  # polling a child process that is starting, not a worker
    raise AssertionError(f"{url} did not answer in {seconds}s")


def test_wheel__ships_the_french_catalog_compiled(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())

    assert "commonsfed/locale/fr/LC_MESSAGES/messages.mo" in names
