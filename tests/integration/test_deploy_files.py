"""deploy/: what can be checked of the container and systemd files without Docker or a
booted systemd. The compose file is read as Docker Compose reads it (YAML, anchors and merge
keys), the units by `systemd-analyze verify`, the compose Caddyfile by `caddy validate`; a
tool that is missing skips its test and says so."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = ("commonsfed.service", "commonsfed-worker.service")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def command_of(service: dict) -> str:
    command = service.get("command", "")
    return command if isinstance(command, str) else " ".join(command)


def test_compose__has_postgresql_web_worker_and_caddy(compose):
    services = compose["services"]

    assert set(services) == {"db", "web", "worker", "caddy"}
    assert services["db"]["image"].startswith("postgres:")
    assert services["caddy"]["image"].startswith("caddy:")
    assert "commonsfed serve" in command_of(services["web"])
    assert "commonsfed migrate" in command_of(services["web"])
    assert command_of(services["worker"]) == "commonsfed worker"


def test_compose__web_and_worker_share_the_database_and_the_data_folder(compose):
    web, worker = compose["services"]["web"], compose["services"]["worker"]

    for service in (web, worker):
        assert "@db/commonsfed" in service["environment"]["DATABASE_URL"]
        assert "data:/var/lib/commonsfed" in service["volumes"]
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
    # the web process leaves the queues to the worker
    assert "--no-worker" in command_of(web)
    assert compose["services"]["worker"]["depends_on"]["web"]["condition"] == "service_healthy"


def test_compose__caddy_reaches_the_node_on_loopback_with_the_nodes_name(compose):
    caddy, web = compose["services"]["caddy"], compose["services"]["web"]

    # in the web container's network: the node trusts X-Forwarded-For from loopback only
    assert caddy["network_mode"] == "service:web"
    assert web["environment"]["COMMONSFED_HOST"] == "127.0.0.1"
    assert {"80:80", "443:443"} <= set(web["ports"])
    assert "./compose.Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    assert "{$COMMONSFED_DOMAIN}" in (DEPLOY / "compose.Caddyfile").read_text()


def _server_options(caddyfile: str) -> list[str]:
    """The global options block, without comments or indentation."""
    block = caddyfile[caddyfile.index("{\n") : caddyfile.index("\n}\n")]
    lines = (line.split("#", 1)[0].strip() for line in block.splitlines())
    return [line for line in lines if line]


def test_compose_caddyfile__has_the_same_limits_as_the_caddyfile():
    shipped = _server_options((DEPLOY / "Caddyfile").read_text())
    compose = _server_options((DEPLOY / "compose.Caddyfile").read_text())

    assert compose == shipped
    assert "read_header 10s" in compose


def test_compose_caddyfile__is_valid_for_caddy(tmp_path):
    caddy = shutil.which("caddy")
    if not caddy:
        pytest.skip("caddy is not installed: install Debian's caddy (apt-get install caddy)")
    result = subprocess.run(
        [
            caddy,
            "validate",
            "--adapter",
            "caddyfile",
            "--config",
            str(DEPLOY / "compose.Caddyfile"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "HOME": str(tmp_path),
            "XDG_DATA_HOME": str(tmp_path),
            "XDG_CONFIG_HOME": str(tmp_path),
            "PATH": "/usr/bin:/bin",
            "COMMONSFED_DOMAIN": "north.test",
        },
    )

    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout + result.stderr


def _dockerfile_users(text: str) -> list[str]:
    return re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)


def test_dockerfile__runs_as_a_user_that_is_not_root():
    text = (DEPLOY / "Dockerfile").read_text()

    users = _dockerfile_users(text)
    assert users, "the Dockerfile has no USER: the node would run as root"
    assert users[-1] not in ("root", "0", "0:0")
    # the user is made in the image, without a home full of /etc/skel's dot files
    assert "useradd --system --uid 10001 --user-group --no-create-home" in text


def test_systemd_units__one_for_serve_and_one_for_the_worker():
    serve = (DEPLOY / "commonsfed.service").read_text()
    worker = (DEPLOY / "commonsfed-worker.service").read_text()

    assert re.search(r"^ExecStart=\S+/commonsfed serve --no-worker$", serve, re.MULTILINE)
    assert re.search(r"^ExecStart=\S+/commonsfed worker$", worker, re.MULTILINE)
    assert re.search(r"^After=.*commonsfed\.service", worker, re.MULTILINE)
    for unit in (serve, worker):
        assert "User=commonsfed" in unit


def test_systemd_units__pass_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.skip("systemd-analyze is not installed (Debian's systemd package has it)")
    # verify checks that ExecStart's program exists: this machine's commonsfed stands in
    # for /opt/commonsfed/bin/commonsfed
    program = Path(sys.executable).parent / "commonsfed"
    for name in UNITS:
        text = (DEPLOY / name).read_text().replace("/opt/commonsfed/bin/commonsfed", str(program))
        (tmp_path / name).write_text(text)

    result = subprocess.run(
        [analyze, "verify", "--man=no", *(str(tmp_path / name) for name in UNITS)],
        capture_output=True,
        text=True,
        timeout=60,
    )

    # verify exits 0 on unknown keys and bad values, which it only warns about
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""
