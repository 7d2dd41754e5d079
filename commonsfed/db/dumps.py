"""PostgreSQL's own pg_dump and pg_restore, for `commonsfed backup` and `restore`.

Which programs: pg_dump refuses a server newer than itself ("server version mismatch"), and
pg_restore cannot read an archive written by a newer pg_dump ("unsupported version in file
header"). A machine may have several: the pgserver package carries PostgreSQL 16's, Debian
12's postgresql-client is 15, and /usr/lib/postgresql/<major>/bin may hold others. So:

- to dump, the OLDEST pg_dump that is at least the server's major version: an embedded 16
  server gets pgserver's 16, a managed 15 server Debian's 15, whose archive any pg_restore
  15 or newer reads;
- to restore, the NEWEST pg_restore, which must be at least the archive's pg_dump version.

Passwords never go on a command line (the process list shows it to every user): the URL is
passed without its password, which goes in PGPASSWORD.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import asyncpg

from commonsfed.db.pool import connect

_VERSION_RE = re.compile(r"\(PostgreSQL\) (\d+)")
_TIMEOUT = 6 * 3600  # seconds: a big database dumps slowly, a stuck one must still end


class DumpError(Exception):
    """pg_dump or pg_restore is missing, too old, or failed; the message says which and why."""


@dataclass(frozen=True)
class Tool:
    path: Path
    major: int


def _bindirs() -> list[Path]:
    """Every folder that may hold PostgreSQL's programs: pgserver's, PATH's, Debian's."""
    folders = []
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.origin:
        folders.append(Path(spec.origin).parent / "pginstall" / "bin")
    on_path = shutil.which("pg_dump")
    if on_path:
        folders.append(Path(on_path).resolve().parent)
    folders += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"))]
    return list(dict.fromkeys(folders))


def tool_major(path: Path) -> int | None:
    """The major version of a PostgreSQL program, or None when it does not run."""
    try:
        result = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION_RE.search(result.stdout)
    return int(match.group(1)) if match else None


def installed(program: str) -> list[Tool]:
    """Each copy of `program` (pg_dump, pg_restore) on this machine, by version."""
    tools = {}
    for folder in _bindirs():
        path = folder / program
        if path.is_file() and (major := tool_major(path)) is not None:
            tools.setdefault(major, Tool(path, major))
    return [tools[major] for major in sorted(tools)]


_INSTALL = (
    "install PostgreSQL's client programs (Debian: apt-get install "
    "postgresql-client-{major}, from apt.postgresql.org when Debian has none that new), "
    "or the pgserver package (PostgreSQL 16)"
)


def choose_dump_tool(tools: list[Tool], server_major: int) -> Tool:
    """The oldest pg_dump that can dump a server of `server_major` (see the module's doc)."""
    fit = [tool for tool in tools if tool.major >= server_major]
    if fit:
        return min(fit, key=lambda tool: tool.major)
    return _missing("pg_dump", tools, server_major, f"the database is PostgreSQL {server_major}")


def choose_restore_tool(tools: list[Tool], dump_major: int) -> Tool:
    """The newest pg_restore, if it reads an archive of pg_dump `dump_major`."""
    if tools and tools[-1].major >= dump_major:
        return tools[-1]
    return _missing(
        "pg_restore", tools, dump_major, f"the backup was written by pg_dump {dump_major}"
    )


def _missing(program: str, tools: list[Tool], major: int, why: str) -> Tool:
    found = ", ".join(f"{tool.major} ({tool.path})" for tool in tools)
    have = f"only {program} {found} here" if tools else f"no {program} found"
    raise DumpError(
        f"{why}, and {have}; it needs {program} {major} or newer: " + _INSTALL.format(major=major)
    )


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password, and the environment that carries the password."""
    parts = urlsplit(url)
    env = dict(os.environ)
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
        user = parts.username or ""
        host = parts.netloc.rpartition("@")[2]
        parts = parts._replace(netloc=f"{user}@{host}" if user else host)
    return parts.geturl(), env


def _run(tool: Tool, args: list[str], url: str) -> None:
    dbname, env = _libpq(url)
    command = [str(tool.path), *args, f"--dbname={dbname}"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=_TIMEOUT)
    except (OSError, subprocess.SubprocessError) as exc:
        raise DumpError(f"{tool.path.name} {tool.major} did not run: {exc}") from None
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        detail = lines[0] if lines else f"exit status {result.returncode}"
        raise DumpError(f"{tool.path.name} {tool.major} failed: {detail}")


def dump(url: str, server_major: int, target: Path) -> Tool:
    """The database at `url` into `target`, in pg_dump's custom format; the pg_dump used."""
    tool = choose_dump_tool(installed("pg_dump"), server_major)
    _run(tool, ["--format=custom", f"--file={target}"], url)
    return tool


def restore(url: str, dump_major: int, source: Path) -> Tool:
    """`source` into the (empty) database at `url`, in one transaction: a failure leaves
    it empty. Owners and grants are the restoring user's, who may not be the one who
    dumped (the embedded server's `postgres`, a managed server's `commonsfed`)."""
    tool = choose_restore_tool(installed("pg_restore"), dump_major)
    _run(
        tool,
        ["--no-owner", "--no-acl", "--single-transaction", "--exit-on-error", str(source)],
        url,
    )
    return tool


async def server_major(url: str) -> int:
    conn = await connect(url)
    try:
        return int(await conn.fetchval("SHOW server_version_num")) // 10000
    finally:
        await conn.close()


# what a new database holds already: none of it counts as content
_CONTENT = r"""
    SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND n.nspname !~ '^pg_(toast|temp)'
"""


async def is_empty(conn: asyncpg.Connection) -> bool:
    """True when the database holds no table, sequence, view or index of anyone's."""
    return await conn.fetchval(_CONTENT) == 0
