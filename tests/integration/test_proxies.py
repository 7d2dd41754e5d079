"""deploy/nginx.conf and deploy/Caddyfile, checked by the real programs.

nginx and Caddy run the shipped files in front of a real node (north.test) on loopback ports,
with a throwaway self-signed certificate in place of the one from Let's Encrypt: a request for
the node's name reaches the node, any other name is refused. Caddy also checks its file as
shipped with `caddy validate`. Both programs come from Debian (`apt-get install nginx caddy`; .ci/run installs them as root); where
one is missing its test is skipped and says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import re
import shutil
import ssl
import subprocess
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.nodes import free_port

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
NAME = "north.test"  # the node's name, in place of commons.example.org
WEBFINGER = f"/.well-known/webfinger?resource=acct:neighbourhood@{NAME}"


def self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "fullchain.pem", folder / "privkey.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def nginx_version(nginx: str) -> tuple[int, ...]:
    banner = subprocess.run([nginx, "-v"], capture_output=True, text=True).stderr
    return tuple(int(part) for part in re.search(r"nginx/([0-9.]+)", banner).group(1).split("."))


def nginx_site(nginx: str, folder: Path, node_port: int, http: int, https: int) -> str:
    """The shipped site file with this test's name, certificate and ports in it."""
    cert, key = self_signed(folder, NAME)
    site = (DEPLOY / "nginx.conf").read_text()
    site = site.replace("/etc/letsencrypt/live/commons.example.org/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/commons.example.org/privkey.pem", str(key))
    site = site.replace("commons.example.org", NAME)
    site = re.sub(r"\n *listen \[::\]:(80|443)[^;]*;", "", site)  # loopback IPv4 only
    site = re.sub(r"listen 80\b", f"listen 127.0.0.1:{http}", site)
    site = re.sub(r"listen 443\b", f"listen 127.0.0.1:{https}", site)
    site = site.replace(
        "proxy_pass http://127.0.0.1:8080;", f"proxy_pass http://127.0.0.1:{node_port};"
    )
    if nginx_version(nginx) < (1, 25, 1):  # as the file's own note says for older nginx
        site = site.replace("http2 on;", "")
    return site


def nginx_main(folder: Path, site: Path) -> str:
    """What /etc/nginx/nginx.conf does around a site file, with everything in `folder`."""
    return f"""
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {site};
}}
"""


@contextlib.asynccontextmanager
async def running(*command: str, env: dict[str, str] | None = None):
    """The proxy as a child process, started and (on the way out) stopped; the node it talks
    to runs in this event loop, so everything here waits without blocking it."""
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
        await asyncio.wait_for(process.wait(), 30)


async def wait_for_port(port: int, process, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise AssertionError(f"the proxy exited: {(await process.stderr.read()).decode()}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)  # polling a child process that is starting, not a worker
    raise AssertionError(f"nothing listens on {port} after {seconds}s")


async def ask(port: int, host: str, *, sni: str | None = None, cafile: Path | None = None) -> str:
    """Send GET WEBFINGER with this Host header (over TLS with this SNI when `sni` is given)
    and return the status line, or "" when the connection is closed without an answer.
    Without `cafile` any certificate is taken, so that only the server can refuse."""
    context = None
    if sni is not None:
        context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
        if cafile is None:
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=context, server_hostname=sni
    )
    try:
        writer.write(
            f"GET {WEBFINGER} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        return (await asyncio.wait_for(reader.readline(), 10)).decode().strip()
    finally:
        writer.close()


@pytest.fixture
def nginx() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if not found:
        pytest.skip("nginx is not installed: install Debian's nginx (apt-get install nginx)")
    return found


async def test_nginx_conf__serves_the_nodes_name_and_refuses_any_other(
    nginx, start_nodes, tmp_path
):
    (node,) = await start_nodes(1)
    node_port = int(node.settings.resolve[NAME].rpartition(":")[2])
    http, https = free_port(), free_port()
    site = tmp_path / "commonsfed.conf"
    site.write_text(nginx_site(nginx, tmp_path, node_port, http, https))
    main = tmp_path / "nginx.conf"
    main.write_text(nginx_main(tmp_path, site))
    async with running(nginx, "-t", "-p", str(tmp_path), "-c", str(main)) as checked:
        _, errors = await asyncio.wait_for(checked.communicate(), 30)
    assert checked.returncode == 0, errors.decode()

    async with running(nginx, "-p", str(tmp_path), "-c", str(main), "-g", "daemon off;") as proxy:
        await wait_for_port(https, proxy)
        cafile = tmp_path / "fullchain.pem"

        to_the_node = await ask(https, NAME, sni=NAME, cafile=cafile)
        other_host = await ask(https, "south.test", sni=NAME, cafile=cafile)
        with pytest.raises(ssl.SSLError, match="UNRECOGNIZED_NAME"):
            await ask(https, "south.test", sni="south.test")
        redirect = await ask(http, NAME)
        other_plain = await ask(http, "south.test")

    assert to_the_node == "HTTP/1.1 200 OK"
    assert other_host == ""  # closed unanswered (444): the node never saw it
    assert redirect == "HTTP/1.1 301 Moved Permanently"
    assert other_plain == ""


@pytest.fixture
def caddy() -> str:
    found = shutil.which("caddy")
    if not found:
        pytest.skip("caddy is not installed: install Debian's caddy (apt-get install caddy)")
    return found


def caddy_env(folder: Path) -> dict[str, str]:
    # Caddy keeps its local certificate authority and its last config under $HOME
    return {
        "HOME": str(folder),
        "XDG_DATA_HOME": str(folder),
        "XDG_CONFIG_HOME": str(folder),
        "PATH": "/usr/bin:/bin",
    }


def caddy_site(folder: Path, node_port: int, http: int, https: int) -> str:
    """The shipped Caddyfile with this test's name, certificate and ports, and no admin
    endpoint (its fixed port 2019 would clash with other test runs)."""
    cert, key = self_signed(folder, NAME)
    site = (DEPLOY / "Caddyfile").read_text()
    site = site.replace(
        "{\n\tservers {",
        "{\n\tadmin off\n\tdefault_bind 127.0.0.1\n"
        f"\thttp_port {http}\n\thttps_port {https}\n\tservers {{",
        1,
    )
    site = site.replace("commons.example.org {", f"{NAME} {{\n\ttls {cert} {key}")
    return site.replace("reverse_proxy 127.0.0.1:8080", f"reverse_proxy 127.0.0.1:{node_port}")


def test_caddyfile__is_valid_for_caddy(caddy, tmp_path):
    result = subprocess.run(
        [caddy, "validate", "--adapter", "caddyfile", "--config", str(DEPLOY / "Caddyfile")],
        capture_output=True,
        text=True,
        timeout=60,
        env=caddy_env(tmp_path),
    )

    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout + result.stderr


async def test_caddyfile__serves_the_nodes_name_and_refuses_any_other(caddy, start_nodes, tmp_path):
    (node,) = await start_nodes(1)
    node_port = int(node.settings.resolve[NAME].rpartition(":")[2])
    http, https = free_port(), free_port()
    config = tmp_path / "Caddyfile"
    config.write_text(caddy_site(tmp_path, node_port, http, https))

    command = (caddy, "run", "--adapter", "caddyfile", "--config", str(config))
    async with running(*command, env=caddy_env(tmp_path)) as proxy:
        await wait_for_port(https, proxy)
        cafile = tmp_path / "fullchain.pem"

        to_the_node = await ask(https, NAME, sni=NAME, cafile=cafile)
        other_host = await ask(https, "south.test", sni=NAME, cafile=cafile)
        with pytest.raises(ssl.SSLError):
            await ask(https, "south.test", sni="south.test")

    assert to_the_node == "HTTP/1.1 200 OK"
    assert other_host == "HTTP/1.1 421 Misdirected Request"
