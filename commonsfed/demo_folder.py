"""The folder of `commonsfed demo`: kept between runs, made anew when asked (or when the
last run stopped before its seeding finished), and never one that holds something else.

`demo.json` in it records the first port the demo was made for (the nodes' names, and so
every id they made, carry their ports) and whether its seeding finished.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

MARKER = "demo.json"


class DemoError(Exception):
    """The demo cannot start in this folder or on these ports; the message says what to do."""


def prepare_folder(folder: Path, first_port: int, *, fresh: bool) -> bool:
    """Make the folder ready; True when it holds a finished demo to start again."""
    record = read_marker(folder)
    if record is None and folder.exists() and any(folder.iterdir()):
        raise DemoError(
            f"{folder.resolve()} is not empty and holds no demo; give the demo a folder of "
            "its own (--data-dir)"
        )
    if record and record["first_port"] != first_port and not fresh:
        first = record["first_port"]
        raise DemoError(
            f"the demo in {folder.resolve()} was made for ports {first}-{first + 2}; run it "
            f"with --first-port {first}, or add --fresh to make it anew"
        )
    if record and (fresh or not record["seeded"]):
        shutil.rmtree(folder)
        record = None
    folder.mkdir(parents=True, exist_ok=True)
    if record is None:
        write_marker(folder, first_port, seeded=False)
    return bool(record and record["seeded"])


def read_marker(folder: Path) -> dict | None:
    try:
        record = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise DemoError(f"{folder / MARKER} cannot be read ({exc}); remove the folder") from None
    if not isinstance(record, dict) or not isinstance(record.get("first_port"), int):
        raise DemoError(f"{folder / MARKER} is not a demo's record; remove the folder")
    return record


def write_marker(folder: Path, first_port: int, *, seeded: bool) -> None:
    text = json.dumps({"first_port": first_port, "seeded": seeded}) + "\n"
    (folder / MARKER).write_text(text, encoding="utf-8")
