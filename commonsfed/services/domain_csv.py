"""Domain blocks in and out as Mastodon's CSV: the file an admin exports from Mastodon
(Administration, Federation, "Export") imports here, and ours imports there.

The format, as Mastodon writes and reads it: a header line
`#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate`, one block a
line, severities `suspend`, `silence` (our "limit") and `noop` (our "none"), booleans
`true`/`false`. Mastodon also reads a file without the header as a plain list of domains,
each suspended, and columns left out of the header take their defaults; so does this.
Mastodon reads at most 20,000 rows of a file; so does this.

An import is all or nothing: every bad row is reported with its line and what is wrong,
and nothing of the file is imported until they are fixed. Domains blocked already are left
as they are (Mastodon skips them too), so an import never weakens a block by surprise.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace

import asyncpg

from commonsfed.config import Settings
from commonsfed.db import policies as q
from commonsfed.models import Account, DomainPolicy
from commonsfed.services import domains
from commonsfed.services.errors import ServiceError, ValidationError

HEADER = ("#domain", "#severity", "#reject_media", "#reject_reports", "#public_comment",
          "#obfuscate")  # fmt: skip
TO_MASTODON = {"suspend": "suspend", "limit": "silence", "none": "noop"}
FROM_MASTODON = {name: ours for ours, name in TO_MASTODON.items()}
MAX_ROWS = 20_000  # Mastodon's own limit on one import
MAX_BYTES = 900 * 1024  # under the 1 MiB a form may send, so the admin gets this message
_TRUE = ("true", "t", "1", "yes", "on")
_FALSE = ("false", "f", "0", "no", "off", "")


@dataclass(frozen=True)
class RowError:
    line: int  # 1 is the file's first line; 0 for the file as a whole
    message: str


class ImportRefused(ServiceError):
    """The file has bad rows: nothing was imported. `errors` names each one."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("; ".join(f"line {e.line}: {e.message}" if e.line else e.message
                                   for e in errors[:5]))  # fmt: skip
        self.errors = errors


@dataclass(frozen=True)
class ImportResult:
    added: list[str]
    kept: list[str]  # blocked before the import, left as they were


# --- export --------------------------------------------------------------------------------


def blocks_to_csv(blocks: list[DomainPolicy]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")  # Ruby's CSV, which Mastodon uses, ends lines so
    writer.writerow(HEADER)
    for block in blocks:
        writer.writerow([block.domain, TO_MASTODON[block.severity], _bool(block.reject_media),
                         _bool(block.reject_reports), block.public_comment,
                         _bool(block.obfuscate)])  # fmt: skip
    return out.getvalue()


def _bool(value: bool) -> str:
    return "true" if value else "false"


async def export_blocks(pool: asyncpg.Pool, admin: Account | None) -> str:
    domains.require_admin(admin)
    return blocks_to_csv(await domains.domain_policies(pool, "block"))


# --- import --------------------------------------------------------------------------------


def blocks_from_csv(data: bytes, settings: Settings) -> list[DomainPolicy]:
    """The blocks of a Mastodon CSV file; ImportRefused names every bad row."""
    if len(data) > MAX_BYTES:
        raise ImportRefused([RowError(0, f"The file is larger than {MAX_BYTES // 1024} KiB; "
                                         "split it and import the parts.")])  # fmt: skip
    try:
        rows = _rows(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ImportRefused([RowError(0, "The file is not UTF-8 text.")]) from None
    except csv.Error as exc:
        raise ImportRefused([RowError(0, f"The file is not CSV: {exc}.")]) from None
    if not rows:
        raise ImportRefused([RowError(0, "The file holds no domains.")])
    header, rows = _header(rows)
    if len(rows) > MAX_ROWS:
        raise ImportRefused([RowError(0, f"The file has {len(rows):,} rows; import at most "
                                         f"{MAX_ROWS:,} at a time.")])  # fmt: skip
    return _read_rows(header, rows, settings)


def _rows(text: str) -> list[tuple[int, list[str]]]:
    """(line where the row starts, its fields), blank lines left out."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows, start = [], 1
    for fields in reader:
        if any(field.strip() for field in fields):
            rows.append((start, fields))
        start = reader.line_num + 1
    return rows


def _header(rows: list[tuple[int, list[str]]]) -> tuple[list[str], list[tuple[int, list[str]]]]:
    line, first = rows[0]
    names = [name.strip().lower() for name in first]
    if names[0] != "#domain":
        if any(len(fields) > 1 for _, fields in rows):
            raise ImportRefused([RowError(line, "The first line must be the header "
                                                f"{','.join(HEADER)}.")])  # fmt: skip
        return ["#domain"], rows  # a plain list of domains, as Mastodon reads one
    unknown = [name for name in names if name not in HEADER]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if unknown or repeated:
        what = f"unknown column {unknown[0]!r}" if unknown else f"column {repeated[0]} twice"
        raise ImportRefused([RowError(line, f"The header has {what}; the columns are "
                                            f"{','.join(HEADER)}.")])  # fmt: skip
    return names, rows[1:]


def _read_rows(
    header: list[str], rows: list[tuple[int, list[str]]], settings: Settings
) -> list[DomainPolicy]:
    blocks, errors, seen = [], [], {}
    for line, fields in rows:
        try:
            block = _block(header, fields, settings)
        except ValueError as exc:
            errors.append(RowError(line, str(exc)))
            continue
        if block.domain in seen:
            errors.append(RowError(line, f"{block.domain} is on line {seen[block.domain]} too."))
            continue
        seen[block.domain] = line
        blocks.append(block)
    if errors:
        raise ImportRefused(errors)
    return blocks


def _block(header: list[str], fields: list[str], settings: Settings) -> DomainPolicy:
    """One row as a block; ValueError says what is wrong with it."""
    if len(fields) != len(header):
        raise ValueError(f"The row has {len(fields)} columns where the header has "
                         f"{len(header)}; is a column missing, or a comma in an unquoted "
                         "comment?")  # fmt: skip
    row = dict(zip(header, fields, strict=True))
    severity = row.get("#severity", "suspend").strip().lower()
    if severity not in FROM_MASTODON:
        raise ValueError(f"Unknown severity {severity[:30]!r}: use suspend, silence or noop.")
    block = DomainPolicy(
        row["#domain"], "block", FROM_MASTODON[severity],
        reject_media=_flag(row, "#reject_media"), reject_reports=_flag(row, "#reject_reports"),
        public_comment=row.get("#public_comment", ""), obfuscate=_flag(row, "#obfuscate"),
    )  # fmt: skip
    try:
        return domains.check_block(block, settings)
    except ValidationError as exc:
        raise ValueError(" ".join(exc.errors.values())) from None


def _flag(row: dict[str, str], column: str) -> bool:
    value = row.get(column, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{column[1:]} is {value[:30]!r}: use true or false.")


async def import_blocks(
    pool: asyncpg.Pool, settings: Settings, admin: Account | None, data: bytes, filename: str
) -> ImportResult:
    """Import every block of the file in one transaction, or none (ImportRefused)."""
    domains.require_admin(admin)
    blocks = blocks_from_csv(data, settings)
    note = f"Imported from {filename.strip()[:200] or 'a CSV file'}"
    added, kept = [], []
    async with pool.acquire() as conn, conn.transaction():
        for block in blocks:
            before = await q.lock_domain_policy(conn, block.domain)
            if before is not None and before.policy == "block":
                kept.append(block.domain)
                continue
            await domains.apply_block(conn, admin, replace(block, note=note), suspend_now=False)
            added.append(block.domain)
        new = set(added)
        await domains.suspend(conn, [block.domain for block in blocks
                                     if block.severity == "suspend" and block.domain in new])
    return ImportResult(added, kept)
