"""A neighbourhood project on the wire. Pure: no database, no network.

The project goes out as any listing does (ap.listings: a Note with FEP-0837 inline, purpose
`request`, kind `project`, its deadline as `endTime`), and its needs go with it: `needs`
(commonsfed:needs) lists one Valueflows `Intent` per need, with the id `<listing>#need-<n>`,
the project's author as `receiver`, what it needs as `resourceQuantity` (om2 `hour` for
hours, `one` for a material named by `name`, an ISO 4217 code for money) and what is still
needed as `availableQuantity`. `vf:resourceClassifiedAs` says which kind of need it is
(NEED_NS + hours, material or money).

A pledge from another node is an FEP-0837 Offer(Agreement) whose commitment `satisfies`
one need's Intent, with the quantity pledged; the deadline answers it with Accept (the
project is funded) or Reject (it is not). The readable content lists the needs with what is
pledged so far, for servers that read only `content`. A project of another node has its
needs read back by ap.remote_listings.needs_from_ap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from commonsfed.ap.quantities import numeral, om2_quantity

NEED_NS = "https://commonsfed.org/ns/need#"
NEED_KINDS = ("hours", "material", "money")
CLASSIFIED_AS = "vf:resourceClassifiedAs"
MAX_NEEDS = 20  # read back, at most
MAX_NAME = 120
_NEED_FRAGMENT = re.compile(r"need-([0-9]{1,2})")
_ACTIONS = {"hours": "work", "material": "transfer", "money": "transfer"}


@dataclass(frozen=True)
class NeedOnWire:
    """One need as it travels: its position, kind, name, unit, needed and still needed."""

    index: int
    kind: str
    name: str
    unit: str
    quantity: int | float
    left: int | float | None


def need_fragment(index: int) -> str:
    return f"need-{index}"


def need_index(intent_uri: str) -> int | None:
    """The need an Offer's commitment names (`<listing>#need-2` -> 2), else None."""
    match = _NEED_FRAGMENT.fullmatch(intent_uri.partition("#")[2])
    return int(match[1]) if match else None


def needs_to_ap(
    needs: list[NeedOnWire], listing_url: str, author_uri: str, finished: bool
) -> list[dict[str, Any]]:
    intents = []
    for need in needs:
        intent: dict[str, Any] = {
            "id": f"{listing_url}#{need_fragment(need.index)}",
            "type": "Intent",
            "name": need.name,
            "action": _ACTIONS[need.kind],
            CLASSIFIED_AS: [NEED_NS + need.kind],
            "resourceQuantity": om2_quantity(need.unit, need.quantity),
            "receiver": author_uri,
        }
        if need.left is not None:
            intent["availableQuantity"] = om2_quantity(need.unit, need.left)
        if finished:
            intent["vf:finished"] = True
        intents.append(intent)
    return intents


def needs_lines(needs: list[NeedOnWire], goal: str, deadline: str) -> list[str]:
    """The project's lines in the readable content: goal, deadline, each need's progress."""
    lines = [f"Goal: {goal}"] if goal else []
    if deadline:
        lines.append(f"Pledges until: {deadline}")
    for need in needs:
        amount = numeral(need.quantity)
        needed = {"hours": f"{amount} hours of work", "material": f"{amount} × {need.name}"}.get(
            need.kind, f"{amount} {need.unit}"
        )
        if need.left is not None:
            pledged = Decimal(str(need.quantity)) - Decimal(str(need.left))
            needed += f" ({numeral(pledged)} pledged)"
        lines.append(f"Needs: {needed}")
    return lines
