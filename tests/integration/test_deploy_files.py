"""deploy/: what can be checked of the container and systemd files without Docker or a
booted systemd. The compose file is read as Docker Compose reads it (YAML, anchors and merge
keys), the units by `systemd-analyze verify`, the compose Caddyfile by `caddy validate`; a
tool that is missing skips its test and says so."""

from __future__ import annotations

import configparser
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


# --- scaling out: several serve processes, PgBouncer ----------------------------------------


def _ini(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read_string((DEPLOY / name).read_text())
    return parser


POOL_KEYS = ("pool_mode", "auth_type", "auth_file", "default_pool_size", "max_client_conn",
             "idle_transaction_timeout", "listen_port")  # fmt: skip


def test_pgbouncer_ini__transaction_mode_the_same_pool_for_debian_and_compose():
    debian, compose = _ini("pgbouncer.ini"), _ini("compose.pgbouncer.ini")

    assert debian["pgbouncer"]["pool_mode"] == "transaction"
    assert [debian["pgbouncer"][key] for key in POOL_KEYS] == [
        compose["pgbouncer"][key] for key in POOL_KEYS
    ]
    # PostgreSQL on this machine for Debian's service; the db service for compose's
    assert debian["databases"]["commonsfed"].startswith("host=localhost port=5432 ")
    assert compose["databases"]["commonsfed"].startswith("host=db port=5432 ")
    assert debian["pgbouncer"]["listen_addr"] == "127.0.0.1"


def test_env_example__pooler_settings_point_at_pgbouncer_and_postgresql():
    env = (DEPLOY / "env.example").read_text()
    port = _ini("pgbouncer.ini")["pgbouncer"]["listen_port"]

    assert f"#DATABASE_URL=postgresql://commonsfed:CHANGE-ME@127.0.0.1:{port}/commonsfed" in env
    assert "#COMMONSFED_DATABASE_POOLER=true" in env
    assert (
        "#COMMONSFED_DATABASE_DIRECT_URL=postgresql://commonsfed:CHANGE-ME@127.0.0.1:5432/" in env
    )
    assert "#COMMONSFED_PROCESSES=" in env


def test_compose__web_takes_its_process_count_from_env(compose):
    web = compose["services"]["web"]

    assert web["environment"]["COMMONSFED_PROCESSES"] == "${COMMONSFED_PROCESSES:-1}"


def test_compose_pgbouncer__sends_web_and_worker_through_it():
    extra = yaml.safe_load((DEPLOY / "compose.pgbouncer.yaml").read_text())
    services = extra["services"]

    assert services["pgbouncer"]["build"]["dockerfile"] == "pgbouncer.Dockerfile"
    assert services["pgbouncer"]["depends_on"]["db"]["condition"] == "service_healthy"
    for name in ("web", "worker"):
        environment = services[name]["environment"]
        assert "@pgbouncer:6432/commonsfed" in environment["DATABASE_URL"]
        assert environment["COMMONSFED_DATABASE_POOLER"] == "true"
        assert "@db/commonsfed" in environment["COMMONSFED_DATABASE_DIRECT_URL"]
    dockerfile = (DEPLOY / "pgbouncer.Dockerfile").read_text()
    assert "COPY compose.pgbouncer.ini /etc/pgbouncer/pgbouncer.ini" in dockerfile
    assert _dockerfile_users(dockerfile)[-1] == "postgres"


def test_scale_out_doc__names_every_file_it_points_to():
    doc = (DEPLOY / "scale-out.md").read_text()

    for path in re.findall(r"`deploy/([\w.-]+)`", doc):
        assert (DEPLOY / path).is_file(), path
    assert "--processes N" in doc and "COMMONSFED_DATABASE_DIRECT_URL" in doc
