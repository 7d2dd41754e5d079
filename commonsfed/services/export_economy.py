"""The part of a resident's archive about the neighbourhood's economies: their hours account
(balance and every entry), their pledges, the days they booked and their saved searches
(services.export puts them in the archive beside the rest)."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from commonsfed.config import Settings
from commonsfed.db import export_economy as q
from commonsfed.db import matching as matching_q
from commonsfed.db import timebank as ledger_q

ALL_ENTRIES = 1_000_000  # an archive holds the whole history

README_LINES = [
    "hours.json/.csv         your hours account: its balance and every entry",
    "pledges.json            your pledges towards group purchases and projects",
    "bookings.json           the days you asked to borrow, and what became of them",
    "saved_searches.json     your saved searches",
]


async def add_economy(conn: asyncpg.Connection, settings: Settings, archive,
                      account_id: int) -> None:  # fmt: skip
    await _hours(conn, archive, account_id)
    url = f"{settings.base_url}/listings/"
    archive.json(
        "pledges.json", [_pledge(row, url) for row in await q.pledges_of(conn, account_id)]
    )
    archive.json("bookings.json", [
        {"listing": {"title": row["title"], "url": url + row["uid"]}, "pickup_on": row["pickup_on"],
         "return_on": row["return_on"], "state": row["state"], "note": row["note"],
         "asked_at": row["created_at"]}
        for row in await q.bookings_of(conn, account_id)
    ])  # fmt: skip
    archive.json("saved_searches.json", [
        {"words": row["words"], "purpose": row["purpose"], "kinds": row["kinds"],
         "categories": row["categories"], "latitude": row["latitude"],
         "longitude": row["longitude"], "km": row["km"], "saved_at": row["created_at"]}
        for row in await matching_q.account_searches(conn, account_id)
    ])  # fmt: skip


async def _hours(conn, archive, account_id: int) -> None:
    hours_account = await ledger_q.resident_account_id(conn, account_id)
    entries = await ledger_q.history(conn, hours_account, ALL_ENTRIES) if hours_account else []
    balance = await ledger_q.balance_of(conn, account_id)
    lines = [
        {"at": e.created_at, "hours": str(e.amount), "balance_after": str(e.balance_after),
         "reason": e.reason, "with": _other(e), "listing": e.listing_title, "note": e.note}
        for e in reversed(entries)
    ]  # fmt: skip
    archive.json("hours.json", {"balance": str(balance), "entries": lines})
    archive.csv("hours.csv", ["at", "hours", "balance_after", "reason", "with", "listing", "note"],
                [list(line.values()) for line in lines])  # fmt: skip


def _other(entry) -> str | None:
    if entry.other_username:
        return f"@{entry.other_username}"
    return entry.other_remote or entry.other_node


def _pledge(row, url: str) -> dict[str, Any]:
    pledge = {"listing": {"title": row["title"], "url": url + row["uid"]}, "kind": row["kind"],
              "quantity": str(row["quantity"].normalize()), "updated_at": row["updated_at"]}  # fmt: skip
    if row["unit"] is not None:
        pledge["unit"] = row["unit"]
    if row["need"] is not None:
        pledge["need"] = orjson.loads(row["need"])
    return pledge
