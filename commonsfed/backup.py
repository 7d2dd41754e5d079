"""`commonsfed backup FILE` and `commonsfed restore FILE`: a whole node in one archive.

The archive is a gzip'd tar (`.tar.gz`, readable with `tar -tzf`) holding, in this order:

- `manifest.json`: what it is (format, commonsfed and PostgreSQL versions, the node's name,
  the newest migration, the database dump's size and SHA-256);
- `database.dump`: `pg_dump --format=custom` of the node's database, which holds the
  residents, listings, conversations and every actor's keys (see `db.dumps` for which
  pg_dump);
- `files/...`: the data folder but its embedded PostgreSQL: node.json (the node's record),
  secret.key (the session key), media/ (photos), exports/ and a dev node's mail/.

gzip at its fastest level: the dump is compressed by pg_dump already and photos by their
formats, so more effort buys little; gzip's trailer still tells a cut-short archive.

A restore reads and checks the whole archive before it touches anything, then fills an
empty data folder and an empty database; on any failure it takes out what it put in, so
the folder and the database are empty again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from commonsfed import __version__
from commonsfed.config import Settings
from commonsfed.datafolder import read_record
from commonsfed.db import dumps, migrate
from commonsfed.db.lifecycle import database_url
from commonsfed.db.pool import connect
from commonsfed.resources import migrations_dir

FORMAT = "commonsfed-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DUMP = "database.dump"
FILES = "files"
# in the data folder but not backed up: the embedded cluster (the dump stands for it), and
# what is not the node's (dot files a home folder gets from /etc/skel, a volume's lost+found)
_EMBEDDED = "postgres"
_NOT_THE_NODES = ("lost+found",)
_READ_ERRORS = (tarfile.TarError, EOFError, zlib.error, OSError, UnicodeDecodeError)


class BackupError(Exception):
    """The backup or restore cannot be done; the message says why and what to do."""


# --- backup ------------------------------------------------------------------------------


def backup(settings: Settings, target: Path) -> dict:
    """Write the node of `settings` into `target` (which must not exist); the manifest."""
    target = Path(target).resolve()
    if target.exists():
        raise BackupError(f"{target} exists already; give the backup a new name")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent} is not a folder")
    if target.is_relative_to(Path(settings.data_dir).resolve()):
        # each backup would hold the ones before it
        raise BackupError(f"{target} is inside the data folder; write backups elsewhere")
    with database_url(settings, prepare=False, create=False, direct=True) as url:
        try:
            return _dump_and_pack(settings, url, target)
        except OSError as exc:
            raise BackupError(f"cannot write {target}: {exc.strerror or exc}") from None


def _dump_and_pack(settings: Settings, url: str, target: Path) -> dict:
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".commonsfed-backup-") as tmp:
        dump_path = Path(tmp) / DUMP
        major = asyncio.run(dumps.server_major(url))
        tool = dumps.dump(url, major, dump_path)
        manifest = _manifest(settings, url, major, tool.major, dump_path)
        partial = Path(tmp) / "backup.partial"
        _write_archive(partial, manifest, dump_path, settings.data_dir)
        os.replace(partial, target)  # whole or not at all
    return manifest


def _manifest(settings: Settings, url: str, server: int, pg_dump: int, dump_path: Path) -> dict:
    record = read_record(settings.data_dir)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "commonsfed": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "domain": record.domain if record else settings.domain,
        "dev": record.dev if record else settings.dev,
        "postgresql": server,
        "pg_dump": pg_dump,
        "schema": asyncio.run(_newest_migration(url)),
        "dump_size": dump_path.stat().st_size,
        "dump_sha256": _sha256(dump_path),
    }


async def _newest_migration(url: str) -> int:
    conn = await connect(url)
    try:
        return max(map(int, await migrate.applied_versions(conn)), default=0)
    finally:
        await conn.close()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _write_archive(path: Path, manifest: dict, dump_path: Path, data_dir: Path) -> None:
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        body = json.dumps(manifest, indent=2).encode() + b"\n"
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime, info.mode = len(body), int(datetime.now(UTC).timestamp()), 0o600
        tar.addfile(info, io.BytesIO(body))
        tar.add(dump_path, DUMP)
        for file in node_files(data_dir):
            try:
                tar.add(file, f"{FILES}/{file.relative_to(data_dir).as_posix()}", recursive=False)
            except FileNotFoundError:
                pass  # removed meanwhile (an export past its week): the node forgot it too


def node_files(data_dir: Path) -> Iterator[Path]:
    """The node's files in its data folder: everything but the embedded database and what
    is not the node's (see above); regular files only, links not followed."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        return
    for entry in sorted(data_dir.iterdir()):
        if entry.name == _EMBEDDED or _not_the_nodes(entry.name):
            continue
        if entry.is_file() and not entry.is_symlink():
            yield entry
        elif entry.is_dir() and not entry.is_symlink():
            for folder, _, names in os.walk(entry):
                for name in sorted(names):
                    file = Path(folder) / name
                    if file.is_file() and not file.is_symlink():
                        yield file


def _not_the_nodes(name: str) -> bool:
    return name.startswith(".") or name in _NOT_THE_NODES


# --- restore -----------------------------------------------------------------------------


def restore(settings: Settings, source: Path) -> dict:
    """Bring the node in `source` back into the empty data folder (and, with DATABASE_URL,
    the empty database) of `settings`; the manifest."""
    source = Path(source)
    data_dir = Path(settings.data_dir).resolve()
    check_empty_folder(data_dir)
    if settings.database_url:
        asyncio.run(check_empty_database(settings.direct_url))
    try:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=data_dir.parent, prefix=".commonsfed-restore-") as tmp:
            manifest = unpack(source, Path(tmp))
            with _undo_on_failure(data_dir):
                _put_files(Path(tmp) / FILES, data_dir)
                _restore_database(replace(settings, data_dir=data_dir), manifest, Path(tmp) / DUMP)
    except OSError as exc:  # the disk, not the archive: no room, no right to write there
        raise BackupError(f"cannot restore into {data_dir}: {exc.strerror or exc}") from None
    return manifest


def check_empty_folder(data_dir: Path) -> None:
    if not data_dir.exists():
        return
    if not data_dir.is_dir():
        raise BackupError(f"{data_dir} is not a folder")
    held = [entry.name for entry in data_dir.iterdir() if not _not_the_nodes(entry.name)]
    if held:
        raise BackupError(
            f"the data folder {data_dir} is not empty (it holds {', '.join(sorted(held)[:3])}"
            f"{' ...' if len(held) > 3 else ''}); restore into an empty folder (--data-dir)"
        )


async def check_empty_database(url: str) -> None:
    from commonsfed.db.pool import describe_url

    conn = await connect(url)
    try:
        empty = await dumps.is_empty(conn)
    finally:
        await conn.close()
    if not empty:
        raise BackupError(
            f"the {describe_url(url)} is not empty; restore into a new, empty database "
            "(createdb), never over a node's"
        )


def _restore_database(settings: Settings, manifest: dict, dump_path: Path) -> None:
    # no migrations before the restore (the dump brings its schema); the embedded server
    # and its empty database are made here when the folder has none
    with database_url(settings, prepare=False, create=True, direct=True) as url:
        if not settings.database_url:
            asyncio.run(check_empty_database(url))
        dumps.restore(url, manifest["pg_dump"], dump_path)


@contextlib.contextmanager
def _undo_on_failure(data_dir: Path) -> Iterator[None]:
    """The data folder was empty (or missing): on a failure, make it so again."""
    existed = data_dir.exists()
    try:
        yield
    except BaseException:
        if existed:
            for entry in data_dir.iterdir():
                if not _not_the_nodes(entry.name):
                    _remove(entry)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
        raise


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        entry.unlink(missing_ok=True)


def _put_files(unpacked: Path, data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    if not unpacked.is_dir():
        return
    for entry in unpacked.iterdir():
        shutil.move(entry, data_dir / entry.name)


# --- reading an archive ------------------------------------------------------------------


def unpack(source: Path, into: Path) -> dict:
    """Check `source` whole and unpack it into `into`; its manifest. Nothing is trusted
    before it is checked: names must be ours and stay inside `into`, the dump must match
    the manifest's digest."""
    if not source.is_file():
        raise BackupError(f"{source} does not exist or is not a file")
    try:
        tar = tarfile.open(source, "r:gz")
    except (tarfile.ReadError, OSError, EOFError) as exc:
        if _disk_error(exc):
            raise BackupError(f"cannot read {source}: {exc.strerror}") from None
        raise _not_a_backup(source, f"not a .tar.gz archive: {exc}") from None
    try:
        with tar:
            manifest = _read_manifest(tar, source)
            _extract_rest(tar, into, source)
    except BackupError:
        raise
    except _READ_ERRORS as exc:
        if _disk_error(exc):
            raise  # restore() names the folder
        raise BackupError(
            f"{source} is damaged or cut short ({exc or type(exc).__name__}); "
            "take the backup again, or copy it whole"
        ) from None
    _check_dump(into / DUMP, manifest, source)
    return manifest


def _disk_error(exc: BaseException) -> bool:
    """An error of the disk (no room, no permission), not of the archive's content: those
    carry an errno, gzip's and tar's own errors do not."""
    return isinstance(exc, OSError) and exc.errno is not None


def _not_a_backup(source: Path, why: str) -> BackupError:
    return BackupError(f"{source} is not a commonsfed backup ({why})")


def _read_manifest(tar: tarfile.TarFile, source: Path) -> dict:
    first = tar.next()
    if first is None or first.name != MANIFEST or not first.isfile() or first.size > 65536:
        raise _not_a_backup(source, f"it does not begin with {MANIFEST}")
    try:
        manifest = json.loads(tar.extractfile(first).read())
    except ValueError:
        raise _not_a_backup(source, f"its {MANIFEST} is not JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _not_a_backup(source, f"its {MANIFEST} is not one of ours")
    return _check_manifest(manifest, source)


def _check_manifest(manifest: dict, source: Path) -> dict:
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"{source} is a backup of format {manifest.get('format_version')}, "
            f"which commonsfed {__version__} does not read; use a newer one"
        )
    for name, kind in (
        ("pg_dump", int),
        ("schema", int),
        ("dump_size", int),
        ("dump_sha256", str),
        ("domain", str),
    ):
        if not isinstance(manifest.get(name), kind):
            raise _not_a_backup(source, f"its {MANIFEST} lacks {name}")
    known = max((int(m.version) for m in migrate.discover(migrations_dir())), default=0)
    if manifest["schema"] > known:
        raise BackupError(
            f"{source} comes from a newer commonsfed ({manifest['commonsfed']}, database "
            f"schema {manifest['schema']}); install that version or newer to restore it"
        )
    return manifest


def _extract_rest(tar: tarfile.TarFile, into: Path, source: Path) -> None:
    for member in tar:  # from the start again: the manifest, already read, comes first
        if member is tar.members[0]:
            continue
        name = member.name
        inside = name == DUMP or name.startswith(f"{FILES}/")
        parts = Path(name).parts
        if not inside or ".." in parts or name.startswith("/"):
            raise _not_a_backup(source, f"it holds {name!r}")
        if not (member.isfile() or member.isdir()):
            raise _not_a_backup(source, f"{name!r} is neither a file nor a folder")
        tar.extract(member, into, **_SAFE)


# Python's own check of names, links and modes where it has one (3.11.4 and newer)
_SAFE = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}


def _check_dump(path: Path, manifest: dict, source: Path) -> None:
    if not path.is_file():
        raise BackupError(f"{source} is damaged or cut short (it holds no {DUMP})")
    if path.stat().st_size != manifest["dump_size"] or _sha256(path) != manifest["dump_sha256"]:
        raise BackupError(f"{source} is damaged: its {DUMP} does not match its manifest")
