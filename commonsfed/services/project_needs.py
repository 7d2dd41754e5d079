"""A neighbourhood project's needs: hours of work, materials (things with quantities) and
money (an amount in a currency, promised here and paid as the project says). Read from the
listing form, kept in the listing's details, shown with their progress. Pure: no database.

Decisions:
- The needs are a list in `details["needs"]`; a need's key is its position in the list
  (`#need-0` on the wire). Once someone has pledged, the list cannot change (the listing
  service refuses the edit), so a key always names the same need.
- A form names at most one need of hours, up to MAX_MATERIALS materials (one per line of a
  text box, "40 bricks") and at most one need of money; it must name at least one.
- Pledges go towards one need each, never beyond what it still needs: a project collects
  what it asks for, and a neighbour who wants to give more says so in a message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Protocol

from commonsfed.ap.projects import NeedOnWire
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_

NEED_KINDS = ("hours", "material", "money")
MAX_MATERIALS = 10
MAX_HOURS_NEEDED = Decimal(10_000)
MAX_MATERIAL = 100_000
MAX_MONEY = Decimal(1_000_000)
CENT = Decimal("0.01")
QUARTER_HOUR = Decimal("0.25")

_MATERIAL_LINE = re.compile(r"(?P<count>[0-9]{1,6})\s*(?:[x×]\s*)?(?P<what>\S.{0,79})")
_CURRENCY = re.compile(r"[A-Z]{3}")


class FormReader(Protocol):
    """What reading the needs asks of services.listing_forms.Form (no import: that module
    imports this one)."""

    errors: dict[str, Any]

    def raw(self, name: str) -> str: ...
    def fail(self, name: str, message: Any) -> None: ...
    def text(self, name: str, limit: int, missing: str | None = None) -> str: ...
    def day(self, name: str, missing: str | None = None, future: bool = False) -> Any: ...


@dataclass(frozen=True)
class Need:
    """One need of a project; `label` is a material's name, or money's currency code."""

    index: int
    kind: str  # hours, material, money
    quantity: Decimal
    label: str = ""

    @property
    def unit(self) -> str:
        """Its unit on the wire: om2's `hour` and `one`, or the currency's ISO code."""
        return {"hours": "hour", "material": "one"}.get(self.kind, self.label)

    def as_details(self) -> dict[str, Any]:
        number = (
            int(self.quantity)
            if self.quantity == self.quantity.to_integral()
            else str(self.quantity)
        )
        return {"kind": self.kind, "quantity": number, "label": self.label}


def needs_of(details: Mapping[str, Any]) -> list[Need]:
    """The needs a project's details keep (anything malformed is left out)."""
    needs = []
    for index, item in enumerate(details.get("needs") or []):
        if not isinstance(item, dict) or item.get("kind") not in NEED_KINDS:
            continue
        try:
            quantity = Decimal(str(item.get("quantity")))
        except InvalidOperation:
            continue
        if quantity.is_finite() and quantity > 0:
            needs.append(Need(index, item["kind"], quantity, str(item.get("label") or "")))
    return needs


# --- the form ------------------------------------------------------------------------------


def project_details(f: FormReader) -> tuple[dict, None]:
    """A project's own fields, checked; messages collect in f.errors. No common quantity."""
    goal = f.text("goal", 200, N_("Say what the project will achieve."))
    deadline = f.day("deadline", N_("Choose the last day for pledges."), future=True)
    needs = [*_hours_needed(f), *_materials(f), *_money(f)]
    if not needs and not {"hours_needed", "materials", "money_needed"} & set(f.errors):
        f.fail("hours_needed", N_("Say what the project needs: hours, materials or money."))
    needs = [Need(index, n.kind, n.quantity, n.label) for index, n in enumerate(needs)]
    asks_money = any(need.kind == "money" for need in needs)
    how_to_pay = f.text(
        "how_to_pay", 1000, N_("Say how pledgers pay: a bank account, cash at a meeting ...")
        if asks_money else None,
    )  # fmt: skip
    return {
        "goal": goal,
        "deadline": deadline.isoformat() if deadline else None,
        "needs": [need.as_details() for need in needs],
        "how_to_pay": how_to_pay if asks_money else "",
        "next_steps": f.text("next_steps", 1000),
    }, None


def _hours_needed(f: FormReader) -> list[Need]:
    if not f.raw("hours_needed"):
        return []
    hours = read_amount(f.raw("hours_needed"), QUARTER_HOUR, MAX_HOURS_NEEDED)
    if hours is None:
        f.fail("hours_needed", N_("Enter a number of hours from 0.25 to 10000, like 12.5."))
        return []
    return [Need(0, "hours", hours)]


def _materials(f: FormReader) -> list[Need]:
    lines = [line.strip() for line in f.raw("materials").splitlines() if line.strip()]
    if len(lines) > MAX_MATERIALS:
        f.fail("materials", Text(N_("Name at most %(count)s materials."), count=MAX_MATERIALS))
        return []
    needs = []
    for line in lines:
        match = _MATERIAL_LINE.fullmatch(line)
        count = int(match["count"]) if match else 0
        if not match or not 1 <= count <= MAX_MATERIAL:
            f.fail("materials", Text(
                N_("Write each material on a line of its own, a number and then what, like "
                   "“40 bricks” (not “%(line)s”)."), line=line[:80],
            ))  # fmt: skip
            return []
        needs.append(Need(0, "material", Decimal(count), " ".join(match["what"].split())))
    return needs


def _money(f: FormReader) -> list[Need]:
    if not f.raw("money_needed"):
        return []
    amount = read_amount(f.raw("money_needed"), CENT, MAX_MONEY)
    if amount is None:
        f.fail("money_needed", N_("Enter an amount from 0.01 to 1000000, like 20 or 12.50."))
    currency = f.raw("currency").upper()
    if not _CURRENCY.fullmatch(currency):
        f.fail("currency", N_("Give the currency's three-letter code, like EUR."))
    return [Need(0, "money", amount, currency)] if amount is not None else []


def read_amount(text: str, low: Decimal, high: Decimal) -> Decimal | None:
    """A decimal number as people type it ("12.5", "12,5"), rounded to cents, or None when
    it is not one from `low` to `high`."""
    text = text.strip().replace(",", ".")
    if not re.fullmatch(r"[0-9]{1,9}(\.[0-9]{1,6})?", text):
        return None
    amount = Decimal(text).quantize(CENT, rounding=ROUND_HALF_UP)
    return amount if low <= amount <= high else None


def form_values(details: Mapping[str, Any]) -> dict[str, str]:
    """A project's needs back into the form's fields."""
    values = {"hours_needed": "", "materials": "", "money_needed": "", "currency": "EUR"}
    materials = []
    for need in needs_of(details):
        if need.kind == "hours":
            values["hours_needed"] = amount_text(need.quantity)
        elif need.kind == "material":
            materials.append(f"{amount_text(need.quantity)} {need.label}")
        else:
            values["money_needed"], values["currency"] = amount_text(need.quantity), need.label
    values["materials"] = "\n".join(materials)
    return values


def amount_text(amount: Decimal) -> str:
    """12 for 12.00, 12.5 for 12.50, 99.95 as it is."""
    if amount == amount.to_integral():
        return str(int(amount))
    return format(amount.normalize(), "f")


# --- progress ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """How far one need is: pledged of needed, and what is still needed."""

    need: Need
    pledged: Decimal

    @property
    def left(self) -> Decimal:
        return max(self.need.quantity - self.pledged, Decimal(0))

    @property
    def met(self) -> bool:
        return self.pledged >= self.need.quantity

    @property
    def pledged_text(self) -> str:
        return amount_text(self.pledged)

    @property
    def needed_text(self) -> str:
        return amount_text(self.need.quantity)

    @property
    def left_text(self) -> str:
        return amount_text(self.left)

    @property
    def percent(self) -> int:
        return min(int(self.pledged * 100 / self.need.quantity), 100)


def progress(details: Mapping[str, Any], pledged: Mapping[int, Decimal]) -> list[Progress]:
    return [Progress(need, pledged.get(need.index, Decimal(0))) for need in needs_of(details)]


def all_met(items: list[Progress]) -> bool:
    return bool(items) and all(item.met for item in items)


def wire_needs(details: Mapping[str, Any], pledged: Mapping[int, Decimal]) -> list[NeedOnWire]:
    """The needs as ap.projects sends them, with what is still needed."""
    return [
        NeedOnWire(
            index=item.need.index,
            kind=item.need.kind,
            name=_wire_name(item.need),
            unit=item.need.unit,
            quantity=_number(item.need.quantity),
            left=_number(item.left),
        )  # fmt: skip
        for item in progress(details, pledged)
    ]


def _wire_name(need: Need) -> str:
    return {"hours": "Hours of work", "money": f"Money ({need.label})"}.get(need.kind, need.label)


def _number(amount: Decimal) -> int | float:
    return int(amount) if amount == amount.to_integral() else float(amount)
