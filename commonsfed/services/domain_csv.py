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
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
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
        raise ImportRefused([RowError(0, Text(N_("The file is larger than %(limit)s KiB; split "
                                                 "it and import the parts."),
                                              limit=MAX_BYTES // 1024))])  # fmt: skip
    try:
        rows = _rows(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ImportRefused([RowError(0, Text(N_("The file is not UTF-8 text.")))]) from None
    except csv.Error as exc:
        raise ImportRefused([RowError(0, Text(N_("The file is not CSV: %(problem)s."),
                                              problem=exc))]) from None
    if not rows:
        raise ImportRefused([RowError(0, Text(N_("The file holds no domains.")))])
    header, rows = _header(rows)
    if len(rows) > MAX_ROWS:
        raise ImportRefused([RowError(0, Text(N_("The file has %(rows)s rows; import at most "
                                                 "%(limit)s at a time."),
                                              rows=f"{len(rows):,}", limit=f"{MAX_ROWS:,}"))])  # fmt: skip
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
            raise ImportRefused([RowError(line, Text(N_("The first line must be the header "
                                                        "%(header)s."),
                                                     header=",".join(HEADER)))])  # fmt: skip
        return ["#domain"], rows  # a plain list of domains, as Mastodon reads one
    unknown = [name for name in names if name not in HEADER]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if unknown or repeated:
        problem = (Text(N_("The header has an unknown column %(column)s; the columns are "
                           "%(header)s."), column=repr(unknown[0]), header=",".join(HEADER))
                   if unknown else
                   Text(N_("The header has column %(column)s twice; the columns are "
                           "%(header)s."), column=repeated[0], header=",".join(HEADER)))  # fmt: skip
        raise ImportRefused([RowError(line, problem)])
    return names, rows[1:]


def _read_rows(
    header: list[str], rows: list[tuple[int, list[str]]], settings: Settings
) -> list[DomainPolicy]:
    blocks, errors, seen = [], [], {}
    for line, fields in rows:
        try:
            block = _block(header, fields, settings)
        except ValueError as exc:
            errors.append(RowError(line, exc.args[0]))
            continue
        if block.domain in seen:
            errors.append(RowError(line, Text(N_("%(domain)s is on line %(line)s too."),
                                          domain=block.domain, line=seen[block.domain])))
            continue
        seen[block.domain] = line
        blocks.append(block)
    if errors:
        raise ImportRefused(errors)
    return blocks


def _block(header: list[str], fields: list[str], settings: Settings) -> DomainPolicy:
    """One row as a block; ValueError says what is wrong with it."""
    if len(fields) != len(header):
        raise ValueError(Text(N_("The row has %(fields)s columns where the header has "
                                 "%(columns)s; is a column missing, or a comma in an unquoted "
                                 "comment?"), fields=len(fields), columns=len(header)))  # fmt: skip
    row = dict(zip(header, fields, strict=True))
    severity = row.get("#severity", "suspend").strip().lower()
    if severity not in FROM_MASTODON:
        raise ValueError(Text(N_("Unknown severity %(severity)s: use suspend, silence or noop."),
                              severity=repr(severity[:30])))
    block = DomainPolicy(
        row["#domain"], "block", FROM_MASTODON[severity],
        reject_media=_flag(row, "#reject_media"), reject_reports=_flag(row, "#reject_reports"),
        public_comment=row.get("#public_comment", ""), obfuscate=_flag(row, "#obfuscate"),
    )  # fmt: skip
    try:
        return domains.check_block(block, settings)
    except ValidationError as exc:
        messages = list(exc.errors.values())
        raise ValueError(messages[0] if len(messages) == 1 else " ".join(messages)) from None


def _flag(row: dict[str, str], column: str) -> bool:
    value = row.get(column, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(Text(N_("%(column)s is %(value)s: use true or false."), column=column[1:],
                          value=repr(value[:30])))


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
