"""Where the shipped templates, migrations and static files are.

In a wheel they sit inside the package (commonsfed/templates, commonsfed/migrations); in a
source checkout they are at the top of the repository, beside the package.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"commonsfed cannot find its {name}/ folder; reinstall the package")


def templates_dir() -> Path:
    return _find("templates")


def migrations_dir() -> Path:
    return _find("migrations")


def static_dir() -> Path:
    return _PACKAGE / "web" / "static"
