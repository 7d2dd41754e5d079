"""Plain row dataclasses: what the database hands the rest of the code. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


def from_row(cls, row: Any):
    """Build a dataclass from an asyncpg Record (or None)."""
    if row is None:
        return None
    return cls(**{name: row[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    email: str
    status: str
    is_admin: bool
    display_name: str
    created_at: datetime

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def is_pending(self) -> bool:
        return self.status == "pending"
