"""Quantities as FEP-0837 writes them: om2 measures with string values ("6"), read back
finite and within bounds. Pure."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

MAX_QUANTITY = Decimal(1_000_000_000)


def om2_quantity(unit: str, value: int | float) -> dict[str, str]:
    return {"hasUnit": unit, "hasNumericalValue": numeral(value)}


def numeral(value: int | float | Decimal) -> str:
    number = Decimal(str(value))
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def read_number(value: Any) -> int | float | None:
    """A quantity as peers send it (FEP-0837 writes "6"): finite, 0 to a billion, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    if isinstance(value, str) and len(value) > 32:
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not number.is_finite() or not 0 <= number <= MAX_QUANTITY:
        return None
    return int(number) if number == number.to_integral_value() else float(number)
