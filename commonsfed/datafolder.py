"""What a data folder records about the node that lives in it: its public name and whether it
is a dev node, in `node.json`, written by `serve` each time it starts.

Commands run later in the same folder (`user create`, `lookup`, `federate`, `block` ...) act
for that node, so they take its name and mode from the record instead of asking for the same
flags again. A folder whose node is public refuses dev mode, so a public node never quietly
turns into one that speaks plain http and fetches from loopback addresses.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

RECORD_NAME = "node.json"


class RecordError(Exception):
    """The record cannot be read or written; the message names the file and what to do."""


@dataclass(frozen=True)
class NodeRecord:
    domain: str
    dev: bool


def record_path(data_dir: Path) -> Path:
    return Path(data_dir) / RECORD_NAME


def read_record(data_dir: Path) -> NodeRecord | None:
    """The record in `data_dir`, or None when the folder has none (a new folder, or a node
    that has not been served since records began)."""
    path = record_path(data_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise RecordError(f"cannot be read ({exc}); {_REMEDY}") from None
    if not (
        isinstance(data, dict)
        and isinstance(data.get("domain"), str)
        and isinstance(data.get("dev"), bool)
    ):
        raise RecordError(f"is not a record of a node; {_REMEDY}")
    return NodeRecord(domain=data["domain"], dev=data["dev"])


_REMEDY = "remove it and start the node with `commonsfed serve`, which writes it again"


def write_record(data_dir: Path, record: NodeRecord) -> None:
    """Keep `record` in `data_dir`: written only when it changed, and replaced whole, so a
    crash leaves the old record or the new one, never half of one."""
    path = record_path(data_dir)
    try:
        if _unchanged(data_dir, record):
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{RECORD_NAME}.partial")
        partial.write_text(
            json.dumps({"domain": record.domain, "dev": record.dev}) + "\n", encoding="utf-8"
        )
        os.replace(partial, path)
    except OSError as exc:
        raise RecordError(f"cannot write {path}: {exc.strerror or exc}") from None


def _unchanged(data_dir: Path, record: NodeRecord) -> bool:
    try:
        return read_record(data_dir) == record
    except RecordError:
        return False  # a damaged record is replaced by a good one
