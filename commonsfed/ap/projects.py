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
pledged so far, for servers that read only `content`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from commonsfed.ap.activities import valid_uri
from commonsfed.ap.jsonld import as_list
from commonsfed.ap.quantities import numeral, om2_quantity, read_number

NEED_NS = "https://commonsfed.org/ns/need#"
NEED_KINDS = ("hours", "material", "money")
CLASSIFIED_AS = "vf:resourceClassifiedAs"
MAX_NEEDS = 20
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


# --- read back -----------------------------------------------------------------------------


def needs_from_ap(document: Mapping[str, Any], listing_uri: str) -> list[NeedOnWire]:
    """The needs a project of another node names (its `needs`), each with an Intent id
    under the listing's own; what cannot be read is left out."""
    needs = []
    for item in as_list(document.get("needs"))[:MAX_NEEDS]:
        need = _need_from_ap(item, listing_uri)
        if need is not None:
            needs.append(need)
    return needs


def _need_from_ap(item: Any, listing_uri: str) -> NeedOnWire | None:
    if not isinstance(item, dict):
        return None
    uri = valid_uri(item.get("id")) or ""
    base, _, _ = uri.partition("#")
    index = need_index(uri)
    if base != listing_uri or index is None:
        return None
    kind = _kind(item)
    unit, quantity = _measure(item.get("resourceQuantity"))
    if kind is None or unit is None or quantity is None or quantity <= 0:
        return None
    name = item.get("name") if isinstance(item.get("name"), str) else ""
    left = _measure(item.get("availableQuantity"))[1]
    return NeedOnWire(index, kind, " ".join(name.split())[:MAX_NAME], unit[:16], quantity, left)


def _kind(item: Mapping[str, Any]) -> str | None:
    for value in as_list(item.get(CLASSIFIED_AS) or item.get("resourceClassifiedAs"))[:8]:
        if isinstance(value, str) and value.startswith(NEED_NS):
            kind = value[len(NEED_NS) :]
            if kind in NEED_KINDS:
                return kind
    return None


def _measure(value: Any) -> tuple[str | None, int | float | None]:
    measure = next((item for item in as_list(value) if isinstance(item, dict)), None)
    if measure is None:
        return None, None
    unit = measure.get("hasUnit")
    unit = unit[4:] if isinstance(unit, str) and unit.startswith("om2:") else unit
    if not isinstance(unit, str) or not re.fullmatch(r"[A-Za-z]{1,16}", unit):
        return None, None
    return unit, read_number(measure.get("hasNumericalValue"))
