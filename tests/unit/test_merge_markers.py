"""No file of the project keeps the markers of an unfinished merge: a README that showed
`<<<<<<< HEAD` to its readers was how this test came about."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEXT = {".py", ".md", ".html", ".sql", ".toml", ".cfg", ".txt", ".js", ".css", ".po", ".pot"}
MARKER = re.compile(r"^(<{7} |>{7} |={7}$)", re.MULTILINE)
SKIP = {".git", ".venv", "node_modules", "__pycache__", "build", "dist"}


def _files():
    for path in ROOT.rglob("*"):
        if SKIP.isdisjoint(path.relative_to(ROOT).parts) and path.suffix in TEXT:
            if path.is_file():
                yield path
    for name in ("Makefile", ".ci/run"):
        yield ROOT / name


def test_no_file_keeps_merge_markers():
    found = [
        f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, match.start()) + 1}"
        for path in _files()
        for text in [path.read_text(encoding="utf-8", errors="replace")]
        for match in MARKER.finditer(text)
    ]
    assert found == []


def test_the_marker_pattern_finds_a_conflict():
    conflict = "a\n<<<<<<< HEAD\nours\n=======\ntheirs\n>>>>>>> branch\n"
    assert len(MARKER.findall(conflict)) == 3
